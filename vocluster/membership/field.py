"""Field term of the cluster/field mixture: the field's astrometry given each star's magnitude.

A bright field star is usually a nearby one, with a large parallax and proper motion; a
faint one is usually distant. One density for all magnitudes is too thin near a nearby
cluster for bright stars and too broad for faint ones, so bright field stars that
happen to move like the cluster were called members. The field is therefore a Gaussian
mixture in (features, G) and enters as p(features | G) = p(features, G) / p(G); the
cluster's kinematics do not depend on G, so its term is unchanged. Rows without G use
the mixture's marginal p(features).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.special import logsumexp
from sklearn.mixture import GaussianMixture

_LOG_2PI = np.log(2.0 * np.pi)
_MIN_KNOWN_FRACTION = 0.5


def _marginal_log_density(points: np.ndarray, gmm: GaussianMixture, dims: slice) -> np.ndarray:
    """log of the mixture's marginal density over the dimensions `dims`."""
    parts = []
    for weight, mean, cov in zip(gmm.weights_, gmm.means_, gmm.covariances_, strict=True):
        sub = np.atleast_2d(cov[dims, dims])
        chol = np.linalg.cholesky(sub)
        solved = np.linalg.solve(chol, (points - mean[dims]).T)
        log_det = 2.0 * np.sum(np.log(np.diag(chol)))
        parts.append(np.log(weight) - 0.5 * (np.sum(solved**2, axis=0) + log_det
                                             + sub.shape[0] * _LOG_2PI))
    return logsumexp(np.array(parts), axis=0)


class ClusterMagnitudes:
    """The cluster's own G distribution: a smoothed, membership-weighted histogram."""

    def __init__(self, magnitudes: np.ndarray, bin_width: float = 0.25, smoothing: float = 0.5,
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
    """Gaussian mixture of the field, in (features, G) when magnitudes are known."""

    def __init__(self, n_components: int, sample_size: int, rng: np.random.Generator,
                 tol: float = 1e-2) -> None:
        # tol on the mean log-likelihood: 1e-2 halves the EM steps of sklearn's 1e-3, which
        # buys a sample twice as large (less seed-to-seed jitter) in the same time.
        self.n_components = n_components
        self.sample_size = sample_size
        self.tol = tol
        self.rng = rng
        self.gmm: GaussianMixture | None = None
        self.uses_magnitude = False

    def fit(self, x: np.ndarray, magnitudes: np.ndarray | None, field: np.ndarray) -> FieldModel:
        """(Re)fit on a sample of the rows marked `field`, starting from the last fit.

        Starting from the previous fit converges in a few steps and does not wander to
        another local optimum, so the result hardly depends on the seed.
        """
        known = np.ones(len(x), dtype=bool)
        if magnitudes is not None:
            known = np.isfinite(magnitudes)
            self.uses_magnitude = bool(known[field].mean() >= _MIN_KNOWN_FRACTION)
        points = np.column_stack([x, magnitudes]) if self.uses_magnitude else x
        idx = np.flatnonzero(field & known if self.uses_magnitude else field)
        if len(idx) > self.sample_size:
            idx = np.sort(self.rng.choice(idx, self.sample_size, replace=False))
        k = int(min(self.n_components, max(1, len(idx) // 50)))
        start = {}
        if self.gmm is not None and self.gmm.n_components == k:
            start = {"weights_init": self.gmm.weights_, "means_init": self.gmm.means_,
                     "precisions_init": self.gmm.precisions_}
        self.gmm = GaussianMixture(k, covariance_type="full", reg_covar=1e-4, max_iter=200,
                                   tol=self.tol,
                                   random_state=int(self.rng.integers(2**31 - 1)), **start)
        self.gmm.fit(points[idx])
        return self

    def log_density(self, x: np.ndarray, magnitudes: np.ndarray | None) -> np.ndarray:
        """log p(features, G) per row (log p(features) where G is unknown or unused)."""
        d = x.shape[1]
        if not self.uses_magnitude:
            return self.gmm.score_samples(x)
        known = np.isfinite(magnitudes)
        out = np.empty(len(x))
        if known.any():
            out[known] = self.gmm.score_samples(np.column_stack([x[known], magnitudes[known]]))
        if (~known).any():
            out[~known] = _marginal_log_density(x[~known], self.gmm, slice(0, d))
        return out
