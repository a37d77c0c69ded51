"""How complete and how clean is a membership run? Measured by injecting known clusters.

Against a real cluster, truth is another method's list. Simulated clusters with a
realistic population, observed like the field (datasets/injection.py) and injected into
the user's own table, are a truth that favours no method. Each injection is run with
the user's settings: with catalogue values, the injected cluster's true mean motion
and parallax are given (as a user would give a catalogue's); blind, the detection must
find it among its candidates on its own. Per star this gives completeness and
contamination as functions of G; per cluster, F1 against distance and size; over all
rows with p >= 0.05, the reliability of the probabilities (at p = 0 nearly every row is
right, so an error averaged over all rows says nothing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import numpy as np
from astropy.table import Table

from vocluster.core.sample import GaiaSample, load_sample, sky_centre, tangent_plane
from vocluster.datasets.injection import ClusterSpec, inject, simulate
from vocluster.errors import InputError
from vocluster.membership.base import intrinsic_spread_limit
from vocluster.membership.pipeline import MembershipOptions, MembershipResult, Target, find_members

MIN_PROBABILITY = 0.05
G_BINS = np.arange(8.0, 22.5, 1.0)
P_BINS = np.array([0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.9, 0.95, 1.0001])


@dataclass
class Injection:
    """One injected cluster and what the membership run made of it."""

    spec: ClusterSpec
    n_injected: int
    status: str                  # "found", or why not
    n_members: int = 0
    true_positives: int = 0
    g: np.ndarray | None = None          # G of the injected stars
    recovered: np.ndarray | None = None  # is_member of the injected stars
    member_g: np.ndarray | None = None   # G of every member
    member_true: np.ndarray | None = None
    p: np.ndarray | None = None          # rows with p >= MIN_PROBABILITY
    p_true: np.ndarray | None = None

    @property
    def precision(self) -> float:
        return self.true_positives / self.n_members if self.n_members else 0.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.n_injected if self.n_injected else 0.0

    @property
    def f1(self) -> float:
        total = self.n_members + self.n_injected
        return 2 * self.true_positives / total if total else 0.0

    def row(self) -> dict[str, object]:
        return {**asdict(self.spec), "parallax": self.spec.parallax,
                "r_tidal_deg": round(self.spec.r_tidal_deg, 4),
                "n_injected": self.n_injected, "status": self.status,
                "n_members": self.n_members, "precision": round(self.precision, 4),
                "recall": round(self.recall, 4), "f1": round(self.f1, 4)}


class Footprint:
    """Where injected stars could have been observed at all: the field's cone, and the
    parallax range a table cut in parallax (e.g. plx > 3.3 mas) still holds."""

    def __init__(self, sample: GaiaSample) -> None:
        self.centre = sky_centre(sample.values["ra"], sample.values["dec"])
        offsets = tangent_plane(sample.values["ra"], sample.values["dec"], *self.centre)
        self.radius = float(np.quantile(np.hypot(*offsets.T), 0.999))
        self.parallax_range = (float(np.nanmin(sample.values["parallax"])),
                               float(np.nanmax(sample.values["parallax"])))

    def inside(self, ra: np.ndarray, dec: np.ndarray, margin: float = 0.0) -> np.ndarray:
        offsets = tangent_plane(np.atleast_1d(ra), np.atleast_1d(dec), *self.centre)
        return np.hypot(*offsets.T) <= self.radius - margin

    def observable(self, stars: Table) -> np.ndarray:
        parallax = np.asarray(stars["parallax"])
        return (self.inside(np.asarray(stars["ra"]), np.asarray(stars["dec"]))
                & (parallax >= self.parallax_range[0]) & (parallax <= self.parallax_range[1]))

    def holds(self, distance_pc: float) -> bool:
        """Whether a cluster at this distance has its parallax inside the table's range."""
        return self.parallax_range[0] <= 1000.0 / distance_pc <= self.parallax_range[1]

    def distances(self, wanted: tuple[float, float]) -> tuple[float, float]:
        """`wanted` (pc) limited to where a cluster's parallax lies inside the table's."""
        low, high = self.parallax_range
        near = max(wanted[0], 1000.0 / high) if high > 0 else wanted[0]
        far = min(wanted[1], 1000.0 / low) if low > 0 else wanted[1]
        if near >= far:
            raise InputError(f"the table's parallaxes ({low:.2f} to {high:.2f} mas) leave no "
                             f"room for clusters at {wanted[0]:g}-{wanted[1]:g} pc")
        return near, far


def field_like_motion(sample: GaiaSample, parallax: float, rng: np.random.Generator,
                      avoid: tuple[float, float] | None) -> tuple[float, float]:
    """The proper motion of a precise field star at about this parallax (so the injected
    cluster moves as the field at its distance does: the hard, realistic case), kept away
    from the real cluster's motion."""
    v = sample.values
    near = (np.abs(v["parallax"] - parallax) < 0.2 * parallax + 0.05) & (
        v["parallax_error"] < 0.2 * parallax + 0.05)
    pool = np.flatnonzero(near & np.isfinite(v["pmra"]) & np.isfinite(v["pmdec"]))
    if pool.size == 0:
        pool = np.flatnonzero(np.isfinite(v["pmra"]) & np.isfinite(v["pmdec"]))
    for _ in range(100):
        k = rng.choice(pool)
        pm = (float(v["pmra"][k]), float(v["pmdec"][k]))
        if avoid is None or np.hypot(pm[0] - avoid[0], pm[1] - avoid[1]) > 2.0:
            return pm
    return pm


def plan_injections(sample: GaiaSample, n: int, distance: tuple[float, float],
                    mass: tuple[float, float], seed: int,
                    real: MembershipResult | None = None) -> list[ClusterSpec]:
    """`n` clusters log-uniform in distance and mass (see `injections_at`)."""
    rng = np.random.default_rng(seed)
    distance = Footprint(sample).distances(distance)
    pairs = [(float(np.exp(rng.uniform(*np.log(distance)))),
              float(np.exp(rng.uniform(*np.log(mass))))) for _ in range(n)]
    return injections_at(sample, pairs, seed, real)


def injections_at(sample: GaiaSample, pairs: list[tuple[float, float]], seed: int,
                  real: MembershipResult | None = None) -> list[ClusterSpec]:
    """Clusters at the given (distance pc, mass) pairs, placed inside the footprint, away
    from the real cluster on the sky and in proper motion, moving like the field at their
    distance, with ages and extinctions drawn as for Galactic open clusters."""
    rng = np.random.default_rng(seed)
    footprint = Footprint(sample)
    avoid = None
    if real is not None and real.summary.n_members:
        avoid = (real.summary.pmra, real.summary.pmdec)
    specs = []
    for d, m in pairs:
        ra, dec = _place(sample, footprint, rng, real)
        pmra, pmdec = field_like_motion(sample, 1000.0 / d, rng, avoid)
        specs.append(ClusterSpec(ra, dec, d, pmra, pmdec, m, log_age=float(rng.uniform(7.5, 9.5)),
                                 extinction=float(rng.uniform(0.1, 1.0))))
    return specs


def like_found(sample: GaiaSample, real: MembershipResult, n: int, seed: int
               ) -> list[ClusterSpec]:
    """Clones of the found cluster (its distance and member count) elsewhere in the field,
    moving differently from it by a few times what its own spread allows."""
    rng = np.random.default_rng(seed)
    footprint = Footprint(sample)
    s = real.summary
    parallax = max(s.parallax, 0.05)
    offset = max(1.5, 6.0 * intrinsic_spread_limit(parallax)[0])
    probe = simulate(ClusterSpec(s.ra, s.dec, 1000.0 / parallax, s.pmra, s.pmdec,
                                 2.0 * s.n_members), sample, seed)
    mass = 2.0 * s.n_members * s.n_members / max(len(probe), 1)
    specs = []
    for _ in range(n):
        ra, dec = _place(sample, footprint, rng, real)
        angle = rng.uniform(0, 2 * np.pi)
        specs.append(ClusterSpec(ra, dec, 1000.0 / parallax, s.pmra + offset * np.cos(angle),
                                 s.pmdec + offset * np.sin(angle), mass))
    return specs


def _place(sample: GaiaSample, footprint: Footprint, rng: np.random.Generator,
           real: MembershipResult | None) -> tuple[float, float]:
    """A random field star's position inside the cone, away from the real cluster."""
    v = sample.values
    inner = np.flatnonzero(footprint.inside(v["ra"], v["dec"], margin=0.2 * footprint.radius))
    for _ in range(100):
        k = rng.choice(inner)
        ra, dec = float(v["ra"][k]), float(v["dec"][k])
        if real is None or real.summary.ra is None:
            return ra, dec
        offset = tangent_plane(np.array([ra]), np.array([dec]), real.summary.ra,
                               real.summary.dec)
        if np.hypot(*offset[0]) > 2.0 * (real.summary.r50_deg or 0.0):
            return ra, dec
    return ra, dec


def run_injection(field: Table, sample: GaiaSample, spec: ClusterSpec,
                  options: MembershipOptions, seed: int, injected_id: int = 1) -> Injection:
    """Simulate, inject, and run membership with the user's settings."""
    stars = simulate(spec, sample, seed)
    stars = stars[Footprint(sample).observable(stars)]
    table = inject(field, sample, stars, injected_id)
    truth = np.asarray(table["injected_id"].filled(0)) == injected_id
    n_injected = int(truth.sum())
    if n_injected < 5:
        return Injection(spec, n_injected, "fewer than 5 stars observed")
    guided = options.target is not None
    target = Target("injected", spec.pmra, spec.pmdec, spec.parallax, spec.ra, spec.dec)
    try:
        result = find_members(table, replace(options, target=target if guided else None))
        if not guided:
            result = _blind_candidate(table, options, result, truth)
    except InputError as exc:
        return Injection(spec, n_injected, f"refused: {exc}")
    if result is None:
        return Injection(spec, n_injected, "not among the detected candidates")
    prob = np.asarray(result.table["member_prob"].filled(0.0))
    member = np.asarray(result.table["is_member"].filled(False))
    g = np.asarray(result.table[sample.columns["phot_g_mean_mag"]], dtype=float)
    kept = prob >= MIN_PROBABILITY
    return Injection(spec, n_injected, "found", int(member.sum()), int((member & truth).sum()),
                     g[truth], member[truth], g[member], truth[member], prob[kept], truth[kept])


def _blind_candidate(table: Table, options: MembershipOptions, result: MembershipResult,
                     truth: np.ndarray) -> MembershipResult | None:
    """The blind run whose candidate is the injected cluster (rerun with its number): the
    significant candidate holding the most injected stars, if they are most of it. Matched
    by its stars, not by its mean motion: a nearby cluster wider than the cone has a median
    proper motion several mas/yr from its centre's (perspective)."""
    fitted = np.isfinite(np.asarray(result.table["member_prob"].filled(np.nan), dtype=float))
    injected = truth[fitted]
    significant = [c for c in result.estimator.candidates_
                   if c.significance >= result.estimator.min_significance]
    mostly_injected = [c for c in significant if injected[c.members].mean() > 0.5]
    if not mostly_injected:
        return None
    found = max(mostly_injected, key=lambda c: int(injected[c.members].sum()))
    rank = significant.index(found) + 1
    if rank == result.estimator.candidate_index_:
        return result
    return find_members(table, replace(options, candidate=rank))


def validate(field: Table, sample: GaiaSample, options: MembershipOptions,
             specs: list[ClusterSpec], seed: int,
             progress: Callable[[int, int], None] | None = None) -> list[Injection]:
    """One injection per spec, each into the untouched field, with the same settings."""
    out = []
    for k, spec in enumerate(specs, 1):
        out.append(run_injection(field, sample, spec, options, seed + k))
        if progress is not None:
            progress(k, len(specs))
    return out


def binned_rate(values: np.ndarray, hits: np.ndarray, edges: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """(rate of `hits` per bin of `values`, count per bin); NaN where a bin is empty."""
    index = np.digitize(values, edges) - 1
    ok = (index >= 0) & (index < len(edges) - 1)
    counts = np.bincount(index[ok], minlength=len(edges) - 1)
    sums = np.bincount(index[ok], weights=hits[ok].astype(float), minlength=len(edges) - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan), counts


def report(injections: list[Injection]) -> dict[str, object]:
    """Completeness and contamination against G, F1 against distance and size, and the
    reliability of the probabilities (rows with p >= 0.05)."""
    found = [i for i in injections if i.status == "found"]

    def cat(name: str) -> np.ndarray:
        return np.concatenate([getattr(i, name) for i in found]) if found else np.array([])

    completeness, n_injected = binned_rate(cat("g"), cat("recovered"), G_BINS)
    purity, n_members = binned_rate(cat("member_g"), cat("member_true"), G_BINS)
    p, p_true = cat("p"), cat("p_true")
    observed, n_p = binned_rate(p, p_true, P_BINS)
    mean_p, _ = binned_rate(p, p, P_BINS)
    filled = n_p > 0
    ece = float(np.sum(n_p[filled] * np.abs(observed[filled] - mean_p[filled]))
                / max(n_p.sum(), 1))
    return {
        "n_injections": len(injections), "n_found": len(found),
        "median_f1": float(np.median([i.f1 for i in injections])) if injections else None,
        "g_bins": G_BINS.tolist(),
        "completeness_by_g": _listed(completeness), "injected_by_g": n_injected.tolist(),
        "contamination_by_g": _listed(1.0 - purity), "members_by_g": n_members.tolist(),
        "probability_bins": P_BINS.tolist(), "mean_probability": _listed(mean_p),
        "observed_member_fraction": _listed(observed), "rows_per_probability_bin": n_p.tolist(),
        "expected_calibration_error": round(ece, 4),
        "clusters": [i.row() for i in injections],
    }


def _listed(values: np.ndarray) -> list[float | None]:
    return [None if not np.isfinite(v) else round(float(v), 4) for v in values]


def run_validation(field: Table, options: MembershipOptions, n_clusters: int,
                   distance: tuple[float, float], mass: tuple[float, float], clones: bool,
                   seed: int, progress: Callable[[str], None] | None = None
                   ) -> tuple[dict[str, object], Table]:
    """The whole validation of a field (CLI and SAMP): find its real cluster, plan the
    injections away from it (or clones of it), run them, and report.

    Parameters
    ----------
    field : Table
        The user's Gaia table (positions, astrometry, G).
    options : MembershipOptions
        The membership settings to validate; every injection runs with exactly these.
    n_clusters : int
        How many simulated clusters to inject, one at a time.
    distance, mass : (float, float)
        Ranges (pc, solar masses) the injected clusters are drawn from.
    clones : bool
        Inject clones of the cluster found in the field instead (`--like-found`).
    seed : int
        Random seed of the plan and the simulations.
    progress : callable, optional
        Called with a message per injection.

    Returns
    -------
    (dict, Table)
        The report (completeness and contamination by G, F1 by distance and size,
        reliability and its expected calibration error) and one row per injected
        cluster; the table's metadata holds the ECE and the median F1.
    """
    say = progress or (lambda message: None)
    if n_clusters < 1:
        raise InputError("the number of injected clusters must be at least 1")
    sample = load_sample(field, require_positions=True, release=options.release,
                         columns=options.columns)
    if "phot_g_mean_mag" not in sample.values:
        raise InputError("validation needs G magnitudes in the field table")
    say("finding the real cluster first, to inject away from it")
    try:
        real = find_members(field, options)
    except InputError as exc:
        if clones:
            raise InputError(f"clones need a cluster in the field: {exc}") from exc
        real = None
    specs = (like_found(sample, real, n_clusters, seed) if clones
             else plan_injections(sample, n_clusters, distance, mass, seed, real))
    injections = validate(field, sample, options, specs, seed,
                          progress=lambda k, n: say(f"injection {k}/{n} done"))
    result = report(injections)
    # A cluster as large as the table on the sky cannot stand out there: only its motion
    # and parallax set it apart (in the Berkeley 29 box, 0.3 deg, clusters of 1,000 solar
    # masses at 2-3 kpc, 0.26-0.36 deg in tidal radius, were found as unbound field).
    radius = Footprint(sample).radius
    result["footprint_radius_deg"] = round(radius, 4)
    result["filling_the_footprint"] = sum(i.spec.r_tidal_deg >= radius for i in injections)
    clusters = Table(rows=result["clusters"])
    clusters.meta.update({
        "vocluster_validate_expected_calibration_error": result["expected_calibration_error"],
        "vocluster_validate_median_f1": result["median_f1"],
        "vocluster_validate_found": f"{result['n_found']} of {result['n_injections']}",
        "vocluster_validate_footprint_radius_deg": result["footprint_radius_deg"]})
    return result, clusters


def summary_line(result: dict[str, object]) -> str:
    line = (f"{result['n_found']} of {result['n_injections']} injected clusters found; "
            f"median F1 {result['median_f1']:.3f}; expected calibration error "
            f"{result['expected_calibration_error']:.3f} (rows with p >= 0.05)")
    filling = result.get("filling_the_footprint", 0)
    if filling:
        line += (f"; {filling} of them as large as the table on the sky (tidal radius >= "
                 f"{result['footprint_radius_deg']:.2f} deg): there only motion and parallax "
                 "can set a cluster apart, so a larger cone tests them fairly")
    return line
