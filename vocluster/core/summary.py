"""The numbers a paper's table reports for a cluster, from its members."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from vocluster.core.sample import GaiaSample, sky_centre, tangent_plane


@dataclass
class ClusterSummary:
    n_members: int
    expected_members: float
    pmra: float | None
    pmra_sem: float | None
    pmdec: float | None
    pmdec_sem: float | None
    parallax: float | None
    parallax_sem: float | None
    ra: float | None
    dec: float | None
    r50_deg: float | None
    intrinsic_pm_dispersion: float | None
    intrinsic_parallax_dispersion: float | None
    distance_pc: float | None = None
    distance_error_pc: float | None = None
    parallax_zero_point: float | None = None
    radial_velocity_kms: float | None = None
    radial_velocity_error_kms: float | None = None

    def as_dict(self) -> dict[str, float | int | None]:
        return asdict(self)

    def lines(self) -> list[str]:
        """Human-readable, like the thesis tables."""
        def fmt(value, sem=None, unit=""):
            if value is None:
                return "n/a"
            return f"{value:.3f}" + (f" +/- {sem:.3f}" if sem is not None else "") + unit
        return [
            f"members (p >= threshold): {self.n_members}   expected (sum of p): "
            f"{self.expected_members:.1f}",
            f"pmra     {fmt(self.pmra, self.pmra_sem, ' mas/yr')}",
            f"pmdec    {fmt(self.pmdec, self.pmdec_sem, ' mas/yr')}",
            f"parallax {fmt(self.parallax, self.parallax_sem, ' mas')}",
            f"centre   RA {fmt(self.ra)}  Dec {fmt(self.dec)} deg   r50 {fmt(self.r50_deg)} deg",
            f"distance {fmt(self.distance_pc, self.distance_error_pc, ' pc')} (1 / parallax, "
            f"zero-point {fmt(self.parallax_zero_point, unit=' mas')} removed)",
            f"v_r      {fmt(self.radial_velocity_kms, self.radial_velocity_error_kms, ' km/s')}"
            " (astrometric: from the perspective change of proper motion across the field)",
        ]


def _weighted_mean(values: np.ndarray, errors: np.ndarray) -> tuple[float | None, float | None]:
    """Mean and its standard error, each star weighted by 1 / (intrinsic^2 + error^2).

    A plain mean lets the many faint members with 0.5 mas errors outweigh the few bright
    ones measured to 0.02 mas; weighting by the total variance (the cluster's own spread,
    found by the method of moments, plus each star's error) gives the bright stars their
    due without pretending the cluster has no depth.
    """
    ok = np.isfinite(values) & np.isfinite(errors)
    values, variance = values[ok], errors[ok] ** 2
    if values.size < 2:
        return (float(values[0]) if values.size else None), None
    intrinsic = max(float(np.var(values, ddof=1) - np.mean(variance)), 0.0)
    for _ in range(3):  # the moments estimate refined with the weighted mean
        weight = 1.0 / (intrinsic + variance + 1e-12)
        mean = float(np.sum(weight * values) / weight.sum())
        excess = (values - mean) ** 2 - variance
        intrinsic = max(float(np.sum(weight**2 * excess) / np.sum(weight**2)), 0.0)
    weight = 1.0 / (intrinsic + variance + 1e-12)
    return float(np.sum(weight * values) / weight.sum()), float(np.sqrt(1.0 / weight.sum()))


# Global parallax zero-points (mas) subtracted before inverting the mean parallax:
# Lindegren et al. 2021 (EDR3/DR3 quasars, median -0.017), Lindegren et al. 2018 (DR2, -0.029).
PARALLAX_ZERO_POINT = {"dr3": -0.017, "dr2": -0.029}
# Systematic floor on a cluster's mean parallax, added in quadrature to its statistical
# error: the angular covariance of Gaia parallaxes at small scales (DR3: 10 uas,
# Maiz Apellaniz et al. 2021; DR2: 43 uas, Lindegren et al. 2018).
PARALLAX_SYSTEMATIC = {"dr3": 0.010, "dr2": 0.043}
# Summary values as typed VOTable PARAMs: (unit, UCD)
PARAM_UNITS = {
    "n_members": (None, "meta.number"), "expected_members": (None, "meta.number"),
    "pmra": ("mas/yr", "pos.pm;pos.eq.ra"), "pmra_sem": ("mas/yr", "stat.error;pos.pm;pos.eq.ra"),
    "pmdec": ("mas/yr", "pos.pm;pos.eq.dec"),
    "pmdec_sem": ("mas/yr", "stat.error;pos.pm;pos.eq.dec"),
    "parallax": ("mas", "pos.parallax.trig"), "parallax_sem": ("mas", "stat.error;pos.parallax"),
    "ra": ("deg", "pos.eq.ra"), "dec": ("deg", "pos.eq.dec"), "r50_deg": ("deg", "phys.angSize"),
    "intrinsic_pm_dispersion": ("mas/yr", "phys.veloc.dispersion"),
    "intrinsic_parallax_dispersion": ("mas", "stat.stdev;pos.parallax"),
    "distance_pc": ("pc", "pos.distance"), "distance_error_pc": ("pc", "stat.error;pos.distance"),
    "parallax_zero_point": ("mas", "pos.parallax;arith.zp"),
    "radial_velocity_kms": ("km/s", "phys.veloc;pos.heliocentric"),
    "radial_velocity_error_kms": ("km/s", "stat.error;phys.veloc;pos.heliocentric"),
}
# The astrometric radial velocity is reported only when the field's lever arm measures
# it to this formal error (km/s): wide fields of nearby clusters, not distant ones.
MAX_RADIAL_VELOCITY_ERROR = 10.0


def distance_from_parallax(parallax: float | None, error: float | None, release: str
                           ) -> tuple[float | None, float | None, float]:
    """Distance (pc) and its error (statistical and systematic) from a cluster's mean
    parallax, the zero-point removed; None where the corrected parallax is not
    significantly positive (then 1/parallax is no distance)."""
    zero_point = PARALLAX_ZERO_POINT.get(release, PARALLAX_ZERO_POINT["dr3"])
    if parallax is None:
        return None, None, zero_point
    corrected = parallax - zero_point
    sigma = float(np.hypot(error or 0.0, PARALLAX_SYSTEMATIC.get(release, 0.010)))
    if corrected <= 0 or corrected < 5 * sigma:
        return None, None, zero_point
    return 1000.0 / corrected, 1000.0 * sigma / corrected**2, zero_point


def summarise(sample: GaiaSample, member: np.ndarray, prob: np.ndarray, estimator,
              feature_names: tuple[str, ...]) -> ClusterSummary:
    """Member count, error-weighted mean astrometry with errors, centre, r50, fitted spread."""
    stats = {k: _weighted_mean(sample.values[k][member], sample.values[f"{k}_error"][member])
             for k in ("pmra", "pmdec", "parallax")}
    ra = dec = r50 = None
    if sample.has_positions and member.sum() > 0:
        ra, dec = sky_centre(sample.values["ra"][member], sample.values["dec"][member])
        offsets = tangent_plane(sample.values["ra"][member], sample.values["dec"][member], ra, dec)
        r50 = float(np.median(np.hypot(offsets[:, 0], offsets[:, 1])))
    pm_disp = plx_disp = radial = None
    mixture = getattr(estimator, "mixture_", None)
    if mixture is not None and tuple(feature_names[:3]) == ("pmra", "pmdec", "parallax"):
        variances = np.diag(mixture.fit_.cov)
        pm_disp = float(np.sqrt(0.5 * (variances[0] + variances[1])))
        plx_disp = float(np.sqrt(variances[2]))
        if mixture.fit_.motion is not None and stats["parallax"][0] is not None:
            radial = mixture.fit_.motion.radial_velocity(stats["parallax"][0])
    if radial is not None and not radial.error <= MAX_RADIAL_VELOCITY_ERROR:
        radial = None
    return ClusterSummary(
        n_members=int(member.sum()), expected_members=float(np.nansum(prob)),
        pmra=stats["pmra"][0], pmra_sem=stats["pmra"][1],
        pmdec=stats["pmdec"][0], pmdec_sem=stats["pmdec"][1],
        parallax=stats["parallax"][0], parallax_sem=stats["parallax"][1],
        ra=ra, dec=dec, r50_deg=r50,
        intrinsic_pm_dispersion=pm_disp, intrinsic_parallax_dispersion=plx_disp,
        radial_velocity_kms=None if radial is None else radial.value,
        radial_velocity_error_kms=None if radial is None else radial.error,
        **dict(zip(("distance_pc", "distance_error_pc", "parallax_zero_point"),
                   distance_from_parallax(stats["parallax"][0], stats["parallax"][1],
                                          sample.release), strict=True)),
    )
