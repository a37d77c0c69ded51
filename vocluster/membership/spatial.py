"""Sky term of the cluster/field mixture: an EFF cluster over the field's real footprint.

The field density on the sky is measured from the data itself (a histogram weighted
by 1 - membership), so cones cut by archive row limits, HEALPix holes or survey
edges are handled without assuming a uniform disc.

The cluster's surface density is Elson, Fall & Freeman's (1987) (1 + R^2/a^2)^(-slope/2),
the Plummer profile (slope 4) with its outer slope fitted too. With the Plummer slope
fixed, stars beyond twice the half-number radius of simulated King clusters injected into
the Pleiades cone were members far less often than their probabilities said (p 0.72: 43%,
p 0.86: 63%), since a King cluster thins out faster than R^-4 towards its tidal radius;
with the slope fitted, 67% and 88% (1 and 3 kpc, 300-3000 solar masses; the reliability
inside twice r50 was already right and stays so). The slope is never shallower than
Plummer's (SLOPE_RANGE).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

_SUPERSAMPLE = 5
# The outer slope's range: never shallower than Plummer's, whose tail was already too
# heavy for King clusters (from 2.5 up, twin clusters at 12 kpc 0.5 deg apart were
# fitted as one: a shallow tail reached the other twin); beyond 12 it is a Gaussian
# core for all the data can tell.
SLOPE_RANGE = (4.0, 12.0)
PLUMMER_SLOPE = 4.0


class ClusterOnFootprint:
    """Cluster surface density (1 + R^2/a^2)^(-slope/2) and field density, both on the
    footprint; the half-number radius is kept below `max_r50` (deg), a bound cluster's
    largest size."""

    def __init__(self, positions: np.ndarray, max_r50: float | None = None) -> None:
        self.positions = positions
        self.max_r50 = max_r50
        n_side = int(np.clip(np.sqrt(len(positions) / 100.0), 4, 48))
        lo = positions.min(axis=0)
        hi = positions.max(axis=0)
        span = np.maximum(hi - lo, 1e-6)
        self.edges = [np.linspace(lo[k] - 1e-9 * span[k], hi[k] + 1e-9 * span[k], n_side + 1)
                      for k in range(2)]
        self.cell_area = float(np.prod([e[1] - e[0] for e in self.edges]))
        counts, _, _ = np.histogram2d(positions[:, 0], positions[:, 1], bins=self.edges)
        self.footprint = counts > 0
        self.cell_of = tuple(
            np.clip(np.searchsorted(self.edges[k], positions[:, k], side="right") - 1, 0,
                    n_side - 1)
            for k in range(2)
        )
        offsets = (np.arange(_SUPERSAMPLE) + 0.5) / _SUPERSAMPLE
        sub = [(e[:-1, None] + offsets * (e[1] - e[0])).ravel() for e in self.edges]
        gx, gy = np.meshgrid(sub[0], sub[1], indexing="ij")
        covered = np.repeat(np.repeat(self.footprint, _SUPERSAMPLE, 0), _SUPERSAMPLE, 1)
        self._grid = np.column_stack([gx[covered], gy[covered]])
        self._grid_area = self.cell_area / _SUPERSAMPLE**2
        self.centre = np.median(positions, axis=0)
        self.r50 = float(max(span.max() / 6.0, 1e-3))
        if max_r50 is not None:
            self.r50 = min(self.r50, max(max_r50, 1e-3))
        self.slope = PLUMMER_SLOPE

    @property
    def scale(self) -> float:
        """The profile's scale a (deg)."""
        return self.r50 / _r50_per_scale(self.slope)

    def _log_density(self, radius2: np.ndarray, grid_radius2: np.ndarray, r50: float,
                     slope: float) -> np.ndarray:
        """log of the normalised profile at squared distances `radius2` from the centre,
        normalised over the footprint's grid (its squared distances `grid_radius2`)."""
        scale2 = (r50 / _r50_per_scale(slope)) ** 2
        norm = np.exp(-0.5 * slope * np.log1p(grid_radius2 / scale2)).sum() * self._grid_area
        return -0.5 * slope * np.log1p(radius2 / scale2) - np.log(norm + 1e-300)

    def _radius2(self, points: np.ndarray) -> np.ndarray:
        return np.sum((points - self.centre) ** 2, axis=1)

    def cluster_log_density(self) -> np.ndarray:
        return self._log_density(self._radius2(self.positions), self._radius2(self._grid),
                                 self.r50, self.slope)

    def field_log_density(self, membership: np.ndarray) -> np.ndarray:
        weights, _, _ = np.histogram2d(self.positions[:, 0], self.positions[:, 1],
                                       bins=self.edges, weights=1.0 - membership)
        total = max(weights.sum(), 1e-12)
        density = np.maximum(weights, 0.5) / (total * self.cell_area)
        return np.log(density[self.cell_of])

    def cluster_share(self, weight: float, membership: np.ndarray) -> np.ndarray:
        """The cluster's share of the sky density at each row, from position alone."""
        log_a = np.log(weight) + self.cluster_log_density()
        log_b = np.log1p(-weight) + self.field_log_density(membership)
        return np.exp(log_a - np.logaddexp(log_a, log_b))

    def update(self, membership: np.ndarray, fit_slope: bool = True) -> None:
        """Weighted maximum-likelihood centre, half-number radius and outer slope.

        The centre is the profile's own maximum-likelihood step: a mean weighted by
        membership / (a^2 + r^2), so stars far out count little. A plain weighted mean is
        the Gaussian's step: there tens of thousands of field stars with p ~ 0.002 across
        the cone weigh as much as a sparse cluster's core and pull the centre to the
        footprint's middle or to a richer group elsewhere, and the cluster is lost.
        """
        if membership.sum() < 3:
            return
        offset2 = np.sum((self.positions - self.centre) ** 2, axis=1)
        weight = membership / (self.scale**2 + offset2)
        self.centre = (weight[:, None] * self.positions).sum(axis=0) / weight.sum()
        heavy = membership > 1e-4
        radius2, w = self._radius2(self.positions[heavy]), membership[heavy]
        grid_radius2 = self._radius2(self._grid)

        span = max(e[-1] - e[0] for e in self.edges)
        largest = 5 * span if self.max_r50 is None else min(5 * span, self.max_r50)
        largest = max(largest, 2e-3)

        def negative_loglike(r50: float, slope: float) -> float:
            return -float(np.sum(w * self._log_density(radius2, grid_radius2, r50, slope)))

        # The half-number radius, then the slope at that radius: in (r50, slope) the
        # likelihood has no long ridge (in (a, slope) it has, a and the slope trading off
        # against each other, and the EM took three times the steps).
        best = minimize_scalar(lambda log_r50: negative_loglike(np.exp(log_r50), self.slope),
                               bounds=(np.log(1e-3), np.log(largest)), method="bounded",
                               options={"xatol": 1e-3})
        self.r50 = float(np.exp(best.x))
        if not fit_slope:
            return
        steep = minimize_scalar(lambda slope: negative_loglike(self.r50, slope),
                                bounds=SLOPE_RANGE, method="bounded", options={"xatol": 1e-2})
        self.slope = float(steep.x)


def _r50_per_scale(slope: float) -> float:
    """Half-number radius over the scale a of a surface density (1 + R^2/a^2)^(-slope/2)
    (1 for Plummer's slope 4)."""
    return float(np.sqrt(2.0 ** (2.0 / (slope - 2.0)) - 1.0))
