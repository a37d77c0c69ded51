"""Membership from a table to a table: the pure core every adapter (CLI, SAMP, HTTP) calls.

No I/O here: the input table comes in, the same table with `member_prob`, `is_member`
and `group_id` goes out, with the summary and the run's metadata attached.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
from astropy.table import MaskedColumn, Table

from vocluster import __version__
from vocluster.core.features import FEATURES, build_features, resolve_feature_names
from vocluster.core.known_clusters import KnownCluster, lookup_cluster
from vocluster.core.quality import QualityCuts, usable_rows
from vocluster.core.sample import GaiaSample, load_sample, sky_centre, tangent_plane
from vocluster.core.summary import ClusterSummary, summarise
from vocluster.errors import InputError
from vocluster.membership import AUTO_METHOD, METHODS, make_estimator, sanity
from vocluster.membership.base import MIN_SIGNIFICANCE, MembershipEstimator
from vocluster.membership.mixture import ClusterFieldMixture
from vocluster.membership.perspective import KMS_PER_MASYR_KPC, PerspectiveMotion

MIN_USABLE_ROWS = 20
# Internal velocity spread (km/s) and parallax spread used to turn catalogue values into
# a seed region; generous on purpose: the mixture fits the real spread afterwards.
SEED_VELOCITY_KMS = 2.0


@dataclass(frozen=True)
class Target:
    """Catalogue values that say which group is the cluster."""

    name: str | None = None
    pmra: float | None = None
    pmdec: float | None = None
    parallax: float | None = None
    ra: float | None = None
    dec: float | None = None
    r50: float | None = None

    @classmethod
    def from_known(cls, cluster: KnownCluster) -> Target:
        return cls(cluster.name, cluster.pmra, cluster.pmdec, cluster.parallax, cluster.ra,
                   cluster.dec, cluster.r50)

    @property
    def has_astrometry(self) -> bool:
        return None not in (self.pmra, self.pmdec, self.parallax)


@dataclass
class MembershipOptions:
    method: str = "auto"
    features: str = "astrometric"
    target: Target | None = None
    threshold: float = 0.5
    seed: int = 0
    device: str = "auto"
    cuts: QualityCuts = field(default_factory=QualityCuts)
    quantile_filter: tuple[float, float] | None = None
    calibrate: bool = True
    use_sky: bool = True
    field_by_magnitude: bool = True
    cluster_sequence: bool = True    # BP-RP: members lie on one sequence (photometry.py)
    candidate: int = 1
    force: bool = False
    release: str | None = None
    columns: dict[str, str] | None = None  # quantity -> column name, for odd names

    def check(self) -> MembershipOptions:
        """Refuse settings no run can use, in the same words wherever they were set (CLI,
        Python, SAMP, the jobs page's form), before any work is done."""
        if not 0.0 <= self.threshold <= 1.0:  # NaN fails too
            raise InputError(f"threshold must be between 0 and 1, got {self.threshold}")
        if self.method not in ("auto", *METHODS):
            raise InputError(f"unknown method {self.method!r}; choose auto or "
                             f"{', '.join(METHODS)}")
        return self


@dataclass
class MembershipResult:
    table: Table
    summary: ClusterSummary
    estimator: MembershipEstimator
    metadata: dict[str, object]


def resolve_target(name: str | None = None, pm: tuple[float, float] | None = None,
                   parallax: float | None = None,
                   lookup: Callable[[str], KnownCluster] = lookup_cluster) -> Target | None:
    """The cluster to look for: a name, or catalogue values, or None (blind).

    Parameters
    ----------
    name : str, optional
        A cluster name or alias (`"Pleiades"`, `"NGC 2682"`).
    pm : (float, float), optional
        Catalogue proper motion (pmra, pmdec) in mas/yr; needs `parallax`.
    parallax : float, optional
        Catalogue parallax in mas; needs `pm`.
    lookup : callable, optional
        Turns a name into catalogue values: the built-in table by default; the CLI
        passes `ClusterResolver.lookup`, which also asks the published catalogues
        over TAP and SIMBAD.

    Returns
    -------
    Target or None
        None when neither a name nor values are given (blind detection).

    Raises
    ------
    InputError
        A name together with values, only one of pm and parallax, or an unknown name.

    Examples
    --------
    >>> from vocluster.membership import resolve_target
    >>> resolve_target("Pleiades").name
    'Melotte 22'
    >>> resolve_target(pm=(-7.0, -1.0), parallax=2.5).parallax
    2.5
    """
    if name and (pm is not None or parallax is not None):
        raise InputError("give either a target name or catalogue values (pm and plx), not both")
    if name:
        return Target.from_known(lookup(name))
    if pm is None and parallax is None:
        return None
    if pm is None or parallax is None:
        raise InputError("catalogue values need both pm (pmra, pmdec) and plx")
    return Target(None, float(pm[0]), float(pm[1]), float(parallax))


def _as_table(data) -> Table:
    if isinstance(data, Table):
        return data.copy(copy_data=False)
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency
        pd = None
    if pd is not None and isinstance(data, pd.DataFrame):
        return Table.from_pandas(data)
    raise InputError(f"expected an astropy Table or pandas DataFrame, got {type(data).__name__}")


def _target_in_feature_space(target: Target, names: tuple[str, ...]) -> tuple[np.ndarray,
                                                                               np.ndarray]:
    """Catalogue values and a seed spread, pushed through the same feature functions."""
    plx = max(target.parallax, 0.05)
    pm_spread = max(SEED_VELOCITY_KMS * plx / KMS_PER_MASYR_KPC, 0.3)
    one = {"pmra": np.array([target.pmra]), "pmdec": np.array([target.pmdec]),
           "parallax": np.array([target.parallax]), "pmra_error": np.array([pm_spread]),
           "pmdec_error": np.array([pm_spread]),
           "parallax_error": np.array([0.1 * plx + 0.1]),
           "xi": np.array([0.0]), "eta": np.array([0.0])}
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.array([FEATURES[n].value(one)[0] for n in names])
        spread = np.array([FEATURES[n].error(one)[0] for n in names])
    if any(FEATURES[n].needs_positions for n in names):
        sky = np.array([FEATURES[n].needs_positions for n in names])
        spread[sky] = max(target.r50 or 1.0, 0.05)
    return mean, np.maximum(spread, 1e-3)


def _projection_centre(sample: GaiaSample, target: Target | None) -> tuple[float, float] | None:
    if not sample.has_positions:
        return None
    if target is not None and target.ra is not None and target.dec is not None:
        return target.ra, target.dec
    return sky_centre(sample.values["ra"], sample.values["dec"])


def _astrometry_columns(names: tuple[str, ...]) -> tuple[int, int, int] | None:
    """Indices of pmra, pmdec and parallax among the features, when all three are there."""
    if not {"pmra", "pmdec", "parallax"} <= set(names):
        return None
    return names.index("pmra"), names.index("pmdec"), names.index("parallax")


def _quantile_filter(features: np.ndarray, member: np.ndarray, bounds: tuple[float, float]
                     ) -> np.ndarray:
    """Thesis filter: drop members outside the [lo, hi] quantiles of any feature."""
    lo = np.quantile(features[member], bounds[0], axis=0)
    hi = np.quantile(features[member], bounds[1], axis=0)
    inside = np.all((features >= lo) & (features <= hi), axis=1)
    return member & inside


def _target_sky(target: Target | None, positions: np.ndarray | None
                ) -> tuple[float, float, float, float] | None:
    """The target's place in the estimator's sky frame (centred on it), its catalogue
    parallax and r50 (see MembershipEstimator)."""
    if target is None or target.ra is None or positions is None or not target.has_astrometry:
        return None
    return 0.0, 0.0, float(target.parallax), np.nan if target.r50 is None else float(target.r50)


def _estimator_params(options: MembershipOptions, method: str,
                      target_mean: np.ndarray | None, target_spread: np.ndarray | None,
                      target_sky: tuple[float, float, float, float] | None) -> dict:
    params = {"target_mean": target_mean, "target_spread": target_spread,
              "target_sky": target_sky,
              "calibrate": options.calibrate, "random_state": options.seed,
              "candidate": options.candidate,
              "min_significance": -np.inf if options.force else MIN_SIGNIFICANCE,
              "mixture": ClusterFieldMixture(use_sky=options.use_sky,
                                             use_magnitudes=options.field_by_magnitude,
                                             use_colours=options.cluster_sequence)}
    if method == "dec":
        params["device"] = options.device
    return params


def find_members(data, options: MembershipOptions | None = None, *, target: str | None = None,
                 pm: tuple[float, float] | None = None, plx: float | None = None,
                 **settings) -> MembershipResult:
    """Membership probabilities for a table of Gaia sources.

    Parameters
    ----------
    data : astropy Table or pandas DataFrame
        Gaia archive, VizieR or UCD-labelled columns: pmra, pmdec, parallax (errors,
        RA/Dec and G when present; errors are estimated from G when absent).
    options : MembershipOptions, optional
        Every setting at once; not together with the keywords below.
    target : str, optional
        A cluster name looked up in the catalogue (its mean motion and parallax).
    pm, plx : (float, float), float, optional
        Catalogue values instead of a name (mas/yr, mas).
    **settings
        Any MembershipOptions field: method, threshold, candidate, force, seed, ...

    Returns
    -------
    MembershipResult
        `table` (the input with member_prob, is_member, group_id and the run's metadata),
        `summary` (count, mean astrometry with errors, centre, r50, distance, radial
        velocity), `estimator` (the fitted scikit-learn estimator), `metadata`.

    Raises
    ------
    InputError
        Unusable columns or settings, or no significant, bound cluster (with the reason;
        `force=True` returns the best group anyway and says so in the warnings).

    Notes
    -----
    Without a target the cluster is found blind: the `candidate`-th most significant
    detection (HDBSCAN in 5-D, ranked like Hunt & Reffert's significance test).

    Examples
    --------
    >>> from astropy.table import Table
    >>> from vocluster.membership import find_members
    >>> cone = Table.read("pleiades_cone.vot")                       # doctest: +SKIP
    >>> result = find_members(cone, target="Pleiades")               # doctest: +SKIP
    >>> result = find_members(cone, pm=(20.1, -45.5), plx=7.35, method="dec")  # doctest: +SKIP
    >>> result.table["member_prob"], result.summary.n_members        # doctest: +SKIP
    """
    if options is not None and (settings or target or pm is not None or plx is not None):
        raise InputError("give either a MembershipOptions or keyword settings, not both")
    if options is None:
        unknown = set(settings) - set(MembershipOptions.__dataclass_fields__)
        if unknown:
            raise InputError(f"unknown setting(s) {', '.join(sorted(unknown))}; see "
                             f"MembershipOptions")
        if target is not None or pm is not None or plx is not None:
            settings["target"] = resolve_target(target, pm, plx)
        options = MembershipOptions(**settings)
    options.check()
    table = _as_table(data)
    if len(table) == 0:
        raise InputError("the input table is empty")
    names = resolve_feature_names(options.features)
    target = options.target
    sample = load_sample(table, require_positions=any(FEATURES[n].needs_positions for n in names),
                         release=options.release, columns=options.columns)
    centre = _projection_centre(sample, target)
    matrix = build_features(sample, names, centre)
    usable = usable_rows(sample, matrix.values, options.cuts)
    if usable.sum() < MIN_USABLE_ROWS:
        raise InputError(f"only {int(usable.sum())} rows have finite {', '.join(names)} after "
                         f"cuts; at least {MIN_USABLE_ROWS} are needed")
    method = AUTO_METHOD if options.method == "auto" else options.method
    target_mean = target_spread = None
    if target is not None and target.has_astrometry:
        target_mean, target_spread = _target_in_feature_space(target, names)
    positions = directions = None
    if options.use_sky and centre is not None:
        ra, dec = sample.values["ra"][usable], sample.values["dec"][usable]
        positions = tangent_plane(ra, dec, *centre)
        directions = PerspectiveMotion(ra, dec, *centre)
    magnitudes = None
    if options.field_by_magnitude and "phot_g_mean_mag" in sample.values:
        magnitudes = sample.values["phot_g_mean_mag"][usable]
    colours = sample.values["bp_rp"][usable] if "bp_rp" in sample.values else None
    try:
        estimator = make_estimator(method, **_estimator_params(
            options, method, target_mean, target_spread, _target_sky(target, positions)))
        estimator.fit(matrix.values[usable], X_err=matrix.errors[usable], positions=positions,
                      magnitudes=magnitudes, colours=colours,
                      seed_columns=[i for i, n in enumerate(names)
                                    if not FEATURES[n].needs_positions],
                      astrometry_columns=_astrometry_columns(names), sky_directions=directions)
    except ValueError as exc:
        raise InputError(f"{method}: {exc}") from exc

    prob = np.full(len(table), np.nan)
    prob[usable] = estimator.membership_
    member = np.zeros(len(table), dtype=bool)
    member[usable] = estimator.membership_ >= options.threshold
    if options.quantile_filter is not None and member.any():
        kept = _quantile_filter(matrix.values, member, options.quantile_filter)
        prob[member & ~kept] = 0.0
        member = kept
    groups = np.full(len(table), -1, dtype=int)
    groups[usable] = estimator.labels_

    out = table.copy(copy_data=True)
    out["member_prob"] = MaskedColumn(prob, mask=~usable, dtype=float,
                                      description="Probability of cluster membership",
                                      meta={"ucd": "stat.probability"})
    out["is_member"] = MaskedColumn(member, dtype=bool,
                                    description=f"member_prob >= {options.threshold}",
                                    meta={"ucd": "meta.code.class"})
    out["group_id"] = MaskedColumn(groups, dtype=np.int32,
                                   description="Group found by the method; -1 = field/noise",
                                   meta={"ucd": "meta.id;src.class"})
    summary = summarise(sample, member, prob, estimator, names)
    kinematic_names = tuple(n for n in names if not FEATURES[n].needs_positions)
    try:
        figures = sanity.assess(estimator.detection_.significance_of(member[usable]),
                                {k: v[usable] for k, v in sample.values.items()},
                                member[usable], positions, options.force, len(table),
                                raw_field_share=None if options.calibrate else
                                sanity.field_share(member[usable],
                                                   estimator.calibrated_check_),
                                n_tested=estimator.detection_.tested_members(member[usable]))
    except sanity.NotACluster as exc:
        raise InputError(str(exc)) from exc
    metadata = {
        "software": f"vocluster {__version__}",
        "method": method,
        "method_requested": options.method,
        "features": ",".join(names),
        "seed": options.seed,
        "threshold": options.threshold,
        "calibrated": options.calibrate,
        "sky_term": positions is not None,
        "field_given_g": estimator.mixture_ is not None
        and estimator.mixture_.field_uses_magnitude_,
        "cluster_sequence": estimator.mixture_ is not None and estimator.mixture_.uses_colours_,
        "target": (target.name or "manual") if target else
        f"candidate {options.candidate} of the blind detection",
        "candidate": estimator.candidate_index_ or "none: stars near the catalogue values",
        "candidates": " | ".join(f"{k}: {c.describe(kinematic_names)}"
                                 for k, c in enumerate(estimator.candidates_[:10], 1)) or "none",
        **figures,
        "target_values": "" if target is None else ", ".join(
            f"{k}={v}" for k, v in asdict(target).items() if v is not None and k != "name"),
        "quality_cuts": ", ".join(f"{k}={v}" for k, v in options.cuts.describe().items()) or "none",
        "quantile_filter": "none" if options.quantile_filter is None
        else f"{options.quantile_filter[0]}/{options.quantile_filter[1]}",
        "n_rows": len(table),
        "n_fitted": int(usable.sum()),
        "notes": "; ".join(sample.notes) or "none",
        "errors_estimated": sample.errors_estimated,
        "warnings": "; ".join(sample.notes + sanity.warnings(figures, int(usable.sum()))) or "none",
        "target_group": int(estimator.target_group_),
    }
    out.meta.update({f"vocluster_{k}": v for k, v in metadata.items()})
    out.meta.update({f"vocluster_summary_{k}": v for k, v in summary.as_dict().items()
                     if v is not None})
    return MembershipResult(out, summary, estimator, metadata)
