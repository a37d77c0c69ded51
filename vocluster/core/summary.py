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
        ]


def _mean_sem(values: np.ndarray) -> tuple[float | None, float | None]:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None, None
    sem = float(np.std(values, ddof=1) / np.sqrt(values.size)) if values.size > 1 else None
    return float(np.mean(values)), sem


def summarise(sample: GaiaSample, member: np.ndarray, prob: np.ndarray, estimator,
              feature_names: tuple[str, ...]) -> ClusterSummary:
    """Member count, mean astrometry with standard errors, centre, r50, fitted spread."""
    stats = {k: _mean_sem(sample.values[k][member]) for k in ("pmra", "pmdec", "parallax")}
    ra = dec = r50 = None
    if sample.has_positions and member.sum() > 0:
        ra, dec = sky_centre(sample.values["ra"][member], sample.values["dec"][member])
        offsets = tangent_plane(sample.values["ra"][member], sample.values["dec"][member], ra, dec)
        r50 = float(np.median(np.hypot(offsets[:, 0], offsets[:, 1])))
    pm_disp = plx_disp = None
    mixture = getattr(estimator, "mixture_", None)
    if mixture is not None and tuple(feature_names[:3]) == ("pmra", "pmdec", "parallax"):
        variances = np.diag(mixture.fit_.cov)
        pm_disp = float(np.sqrt(0.5 * (variances[0] + variances[1])))
        plx_disp = float(np.sqrt(variances[2]))
    return ClusterSummary(
        n_members=int(member.sum()), expected_members=float(np.nansum(prob)),
        pmra=stats["pmra"][0], pmra_sem=stats["pmra"][1],
        pmdec=stats["pmdec"][0], pmdec_sem=stats["pmdec"][1],
        parallax=stats["parallax"][0], parallax_sem=stats["parallax"][1],
        ra=ra, dec=dec, r50_deg=r50,
        intrinsic_pm_dispersion=pm_disp, intrinsic_parallax_dispersion=plx_disp,
    )
