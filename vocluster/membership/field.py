"""Magnitude terms of the cluster/field mixture: the field's astrometry depends on G.

A bright field star is usually a nearby one, with a large parallax and proper motion; a
faint one is usually distant. One field density for all magnitudes is too thin near a
nearby cluster for bright stars and too broad for faint ones. So the field is a
Gaussian mixture in (features, G), and the cluster, whose kinematics do not depend on
G, brings its own G distribution (its luminosity function, measured from the members).
Both sides then describe the same (features, G) data; rows without G drop G on both
sides (the field's marginal in the features, no G term for the cluster).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.special import logsumexp
from sklearn.mixture import GaussianMixture

_LOG_2PI = np.log(2.0 * np.pi)


def _leading_marginal_log_density(points: np.ndarray, gmm: GaussianMixture) -> np.ndarray:
    """log density of the mixture marginalised to its first points.shape[1] dimensions."""
    d = points.shape[1]
    parts = []
    for weight, mean, cov in zip(gmm.weights_, gmm.means_, gmm.covariances_, strict=True):
        chol = np.linalg.cholesky(cov[:d, :d])
        solved = np.linalg.solve(chol, (points - mean[:d]).T)
        log_det = 2.0 * np.sum(np.log(np.diag(chol)))
        parts.append(np.log(weight) - 0.5 * (np.sum(solved**2, axis=0) + log_det
                                             + d * _LOG_2PI))
    return logsumexp(np.array(parts), axis=0)


class ClusterMagnitudes:
    """The cluster's own G distribution: a smoothed, membership-weighted histogram.

    Smoothed by a 1-mag Gaussian: a cluster's luminosity function follows its mass
    function and changes slowly with G. A narrower kernel (0.5 mag) let a sparse distant
    cluster's histogram follow the faint field stars it had claimed, which then looked
    more like members still (120 true members counted as 160-200).
    """

    def __init__(self, magnitudes: np.ndarray, bin_width: float = 0.25, smoothing: float = 1.0,
                 floor: float = 0.01) -> None:
        self.known = np.isfinite(magnitudes)
        g = magnitudes[self.known]
        self.edges = np.arange(g.min() - 1.0, g.max() + 1.0 + bin_width, bin_width)
        self.cell = np.clip(np.searchsorted(self.edges, g, side="right") - 1, 0,
                            len(self.edges) - 2)
        self.bin_width = bin_width
        self.sigma_bins = smoothing / bin_width
        self.floor = floor

    def log_density(self, membership: np.ndarray) -> np.ndarray:
        """log p(G | cluster) per row; 0 where G is unknown (the field side drops G too)."""
        counts = np.bincount(self.cell, weights=membership[self.known],
                             minlength=len(self.edges) - 1)
        smooth = gaussian_filter1d(counts, self.sigma_bins, mode="constant")
        density = smooth / max(smooth.sum(), 1e-12) / self.bin_width
        # Members can be anywhere in G (a few strays, unresolved binaries): never exactly 0.
        uniform = 1.0 / (self.edges[-1] - self.edges[0])
        density = (1 - self.floor) * density + self.floor * uniform
        out = np.zeros(len(membership))
        out[self.known] = np.log(density[self.cell])
        return out


class FieldModel:
    """Gaussian mixture of the field, in (features, G) when magnitudes are given."""

    def __init__(self, n_components: int, sample_size: int, rng: np.random.Generator,
                 tol: float = 1e-2, refit_tol: float = 1e-3) -> None:
        # tol on the mean log-likelihood: 1e-2 halves the EM steps of sklearn's 1e-3 on the
        # first fit, which buys a sample twice as large (less seed-to-seed jitter) in the
        # same time. A refit starts from the last fit and must move only where the rows
        # changed (the hole the first fit left at the cluster's motion): that is a small
        # part of the data, and its first EM step changes the mean log-likelihood by less
        # than 1e-2, so at that tolerance the refit would stop at once and keep the hole.
        # The Berkeley 29 preset (8 data seeds) counted 1.31x its members with 1e-2 on the
        # refit and 0.94x with 1e-3.
        self.n_components = n_components
        self.sample_size = sample_size
        self.tol = tol
        self.refit_tol = refit_tol
        self.rng = rng
        self.gmm: GaussianMixture | None = None

    def fit(self, x: np.ndarray, magnitudes: np.ndarray | None, field: np.ndarray) -> FieldModel:
        """(Re)fit on a sample of the rows marked `field`, starting from the last fit.

        Starting from the previous fit converges in a few steps and does not wander to
        another local optimum, so the result hardly depends on the seed.
        """
        points = x if magnitudes is None else np.column_stack([x, magnitudes])
        idx = np.flatnonzero(field & np.isfinite(points).all(axis=1))
        if len(idx) < 10 * points.shape[1]:
            raise ValueError(f"only {len(idx)} stars are left outside the cluster to model the "
                             "field: the table is mostly one group, or the cluster the seed "
                             "gave is the field itself")
        if len(idx) > self.sample_size:
            idx = np.sort(self.rng.choice(idx, self.sample_size, replace=False))
        k = int(min(self.n_components, max(1, len(idx) // 50)))
        start, tol = {}, self.tol
        if self.gmm is not None and self.gmm.n_components == k:
            start = {"weights_init": self.gmm.weights_, "means_init": self.gmm.means_,
                     "precisions_init": self.gmm.precisions_}
            tol = self.refit_tol
        self.gmm = GaussianMixture(k, covariance_type="full", reg_covar=1e-4, max_iter=200,
                                   tol=tol,
                                   random_state=int(self.rng.integers(2**31 - 1)), **start)
        self.gmm.fit(points[idx])
        return self

    def log_density(self, x: np.ndarray, magnitudes: np.ndarray | None) -> np.ndarray:
        """log p(features, G) per row; log p(features) where G is unknown or not used."""
        if magnitudes is None:
            return self.gmm.score_samples(x)
        known = np.isfinite(magnitudes)
        out = np.empty(len(x))
        if known.any():
            out[known] = self.gmm.score_samples(np.column_stack([x[known], magnitudes[known]]))
        if not known.all():
            out[~known] = _leading_marginal_log_density(x[~known], self.gmm)
        return out
