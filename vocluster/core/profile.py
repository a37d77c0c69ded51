"""The cluster's radial surface-density profile and its Plummer fit, from membership.

Each star counts with its membership probability, so the profile needs no threshold and
the field adds nothing where p is near 0. Annuli are equal in the number of members
(not in radius), so the sparse halo is binned as finely as its counts allow; the
Poisson error of an annulus is sqrt(sum p^2). The fitted model is Plummer's projected
profile Sigma(r) = Sigma0 (1 + r^2 / a^2)^-2, whose a is also its half-number radius.
Only annuli inside the table's footprint are used: beyond the cone the counts fall for
want of data, not of stars, and the fit would shrink the cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import curve_fit

from vocluster.core.sample import tangent_plane


@dataclass(frozen=True)
class RadialProfile:
    radius: np.ndarray     # deg, annulus centres
    density: np.ndarray    # members per deg^2
    error: np.ndarray
    plummer_a: float | None  # deg, None when the fit failed or had too few annuli
    plummer_sigma0: float | None
    footprint_radius: float  # deg, where the table's data stop

    def model(self, radius: np.ndarray) -> np.ndarray:
        return plummer(radius, self.plummer_sigma0 or 0.0, self.plummer_a or 1.0)


def plummer(radius: np.ndarray, sigma0: float, a: float) -> np.ndarray:
    return sigma0 * (1.0 + (radius / a) ** 2) ** -2


def radial_profile(ra: np.ndarray, dec: np.ndarray, prob: np.ndarray,
                   n_annuli: int = 12) -> RadialProfile | None:
    """The profile about the members' median position; None with fewer than 10 members."""
    ok = np.isfinite(ra) & np.isfinite(dec) & np.isfinite(prob)
    weight = np.where(ok, prob, 0.0)
    if weight.sum() < 10:
        return None
    member = ok & (prob >= 0.5)
    centre = (float(np.median(ra[member])), float(np.median(dec[member])))
    xy = tangent_plane(ra[ok], dec[ok], *centre)
    radius_all = np.hypot(*xy.T)
    # the footprint: the radius within which the table still has stars all round
    table_centre = np.median(xy, axis=0)
    footprint = float(np.quantile(np.hypot(*(xy - table_centre).T), 0.99)
                      - np.hypot(*table_centre))
    weight = weight[ok]
    inside = radius_all <= footprint
    cumulative = np.cumsum(weight[inside][np.argsort(radius_all[inside])])
    edges_at = np.searchsorted(cumulative, np.linspace(0, cumulative[-1], n_annuli + 1)[1:-1])
    sorted_r = np.sort(radius_all[inside])
    edges = np.unique(np.concatenate([[0.0], sorted_r[edges_at], [footprint]]))
    counts, _ = np.histogram(radius_all, bins=edges, weights=weight)
    variance, _ = np.histogram(radius_all, bins=edges, weights=weight**2)
    area = np.pi * np.diff(edges**2)
    centres = 0.5 * (edges[1:] + edges[:-1])
    density, error = counts / area, np.sqrt(np.maximum(variance, 1e-12)) / area
    sigma0 = a = None
    if len(centres) >= 4:
        try:
            guess = (float(density[0]), float(np.median(radius_all[member])))
            (sigma0, a), _ = curve_fit(plummer, centres, density, p0=guess, sigma=error,
                                       bounds=([0.0, 1e-4], [np.inf, 10 * footprint]))
            sigma0, a = float(sigma0), float(a)
        except (RuntimeError, ValueError):  # no convergence: the profile is drawn unfitted
            sigma0 = a = None
    return RadialProfile(centres, density, error, a, sigma0, footprint)
