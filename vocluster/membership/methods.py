"""The classical methods: the calibrated mixture, K-Means, Gaussian mixture and HDBSCAN."""

from __future__ import annotations

import numpy as np
from sklearn.cluster import HDBSCAN, KMeans
from sklearn.mixture import GaussianMixture

from vocluster.membership.base import MIN_SIGNIFICANCE, MembershipEstimator, robust_standardise
from vocluster.membership.detection import detection_space
from vocluster.membership.mixture import MIN_SEED_WEIGHT, ClusterFieldMixture
from vocluster.membership.seeded import cluster_scaled, seeded_centroids
from vocluster.membership.soft import student_t_assignment, target_distribution

# Hunt & Reffert's min_samples, for when the default smoothing finds no group holding the
# seed.
FINE_MIN_SAMPLES = 10


def subsample(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    return np.arange(n) if n <= size else np.sort(rng.choice(n, size, replace=False))


class MixtureMembership(MembershipEstimator):
    """Default: the seed (catalogue values or detected candidate) straight into the mixture."""

    def _group(self, x, errors, seed_stars, positions):
        labels = np.where(seed_stars > 0, 0, -1)
        return labels, seed_stars[:, None]


class KMeansMembership(MembershipEstimator):
    """K-Means seeded by the density clustering (seeded.py), in the cluster-scaled 5-D
    space DEC uses, with DEC's sharpened Student's t assignment as membership: DEC
    without the autoencoder, so what the deep embedding adds can be seen."""

    def __init__(self, n_clusters: int | None = None, target_mean=None,
                 target_spread=None, calibrate: bool = True, random_state: int = 0,
                 candidate: int = 1, min_significance: float = MIN_SIGNIFICANCE,
                 mixture: ClusterFieldMixture | None = None, target_sky=None) -> None:
        super().__init__(target_mean, target_spread, calibrate, random_state, candidate,
                         min_significance, mixture, target_sky)
        self.n_clusters = n_clusters

    def _group(self, x, errors, seed_stars, positions):
        z = cluster_scaled(detection_space(x, positions), seed_stars,
                           n_sky_axes=0 if positions is None else 2)
        centres = seeded_centroids(z, np.linalg.norm(z, axis=1), seed_stars, self.n_clusters,
                                   self.random_state)
        self.n_clusters_ = len(centres)
        model = KMeans(len(centres), init=centres, n_init=1,
                       random_state=self.random_state).fit(z)
        q = student_t_assignment(z, model.cluster_centers_)
        return model.labels_, target_distribution(q)


class GMMMembership(MembershipEstimator):
    """Gaussian mixture with k chosen by BIC (fitted on a subsample, applied to all)."""

    def __init__(self, max_components: int = 10, fit_sample: int = 20000, target_mean=None,
                 target_spread=None, calibrate: bool = True, random_state: int = 0,
                 candidate: int = 1, min_significance: float = MIN_SIGNIFICANCE,
                 mixture: ClusterFieldMixture | None = None, target_sky=None) -> None:
        super().__init__(target_mean, target_spread, calibrate, random_state, candidate,
                         min_significance, mixture, target_sky)
        self.max_components = max_components
        self.fit_sample = fit_sample

    def _group(self, x, errors, seed_stars, positions):
        rng = np.random.default_rng(self.random_state)
        z = robust_standardise(x)
        idx = subsample(len(z), self.fit_sample, rng)
        best, best_bic = None, np.inf
        for k in range(1, self.max_components + 1):
            gmm = GaussianMixture(k, covariance_type="full", random_state=self.random_state,
                                  reg_covar=1e-5).fit(z[idx])
            bic = gmm.bic(z[idx])
            if bic < best_bic:
                best, best_bic = gmm, bic
        self.n_components_ = best.n_components
        return best.predict(z), best.predict_proba(z)


class HDBSCANMembership(MembershipEstimator):
    """scikit-learn HDBSCAN; its soft probability in the star's own group as membership.

    The density is smoothed over `min_samples` neighbours (scikit-learn's default: the
    minimum cluster size). When no group then holds the seed, the run is repeated with
    Hunt & Reffert's finer `FINE_MIN_SAMPLES`: on Praesepe's table (35% members) the
    smoothed cluster and field merged into the root of HDBSCAN's tree, which it never
    selects, and no group was found; the finer density separates them. Finer from the
    start lost an injected cluster (1 kpc, 241 stars) in the Pleiades' deep cone, which
    the smoothed density finds.
    """

    def __init__(self, min_cluster_size: int = 100, min_samples: int | None = None,
                 target_mean=None, target_spread=None, calibrate: bool = True,
                 random_state: int = 0, candidate: int = 1,
                 min_significance: float = MIN_SIGNIFICANCE,
                 mixture: ClusterFieldMixture | None = None, target_sky=None) -> None:
        super().__init__(target_mean, target_spread, calibrate, random_state, candidate,
                         min_significance, mixture, target_sky)
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples

    def _group(self, x, errors, seed_stars, positions):
        z = robust_standardise(x)
        size = min(self.min_cluster_size, max(5, len(z) // 10))
        labels, soft = self._hdbscan(z, size, self.min_samples)
        if (seed_stars @ soft).max(initial=0.0) < MIN_SEED_WEIGHT:
            labels, soft = self._hdbscan(z, size, FINE_MIN_SAMPLES)
        return labels, soft

    @staticmethod
    def _hdbscan(z: np.ndarray, size: int, min_samples: int | None
                 ) -> tuple[np.ndarray, np.ndarray]:
        model = HDBSCAN(min_cluster_size=size, min_samples=min_samples, copy=True).fit(z)
        labels = model.labels_
        soft = np.zeros((len(z), max(labels.max() + 1, 1)))
        clustered = labels >= 0
        soft[np.flatnonzero(clustered), labels[clustered]] = model.probabilities_[clustered]
        return labels, soft
