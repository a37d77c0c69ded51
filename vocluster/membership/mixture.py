"""Calibrated cluster-versus-field mixture: the step that turns a group into probabilities.

The cluster is one Gaussian whose intrinsic covariance is deconvolved from each star's
own errors (extreme deconvolution, Bovy et al. 2011), so a faint star with a 1 mas/yr
error is judged against a correspondingly broader cluster. The field is a Gaussian
mixture fitted to the stars that are not members (those away from the cluster on the
sky where the table has room for it, see `_far_rows`), as a density of the features
(and BP-RP where known) given each star's G magnitude when G is known (field.py), while
the cluster's colours follow its own sequence in the colour-magnitude diagram
(photometry.py); optionally an EFF sky profile (spatial.py) competes with the field's
measured footprint, and the cluster's mean proper motion follows each star's position
as perspective demands (perspective.py). The posterior of
the cluster component is the membership probability: it is what the fitted model says, not a score.

Two physical guards keep the cluster a cluster on deep and distant fields:

- Its parameters (mean, intrinsic covariance, sky profile) are learned from the precise
  stars only (every error at most a quarter of the field's spread). In a G < 21 field
  most stars have errors larger than a distant cluster's whole extent; weighted in,
  their sheer number drags the mean and inflates the covariance until the "cluster" is
  the field's faint population. Every star still gets its posterior, judged against
  the cluster convolved with its own errors.
- Its intrinsic spread is capped (`max_intrinsic_std`, given by the caller from the
  cluster's distance: a few km/s in proper motion, a few tens of pc in depth). A bound
  cluster cannot be wider than that; a component that wants to be is fitting the field.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import chi2
from sklearn.base import BaseEstimator

from vocluster.membership.field import ClusterMagnitudes, FieldModel
from vocluster.membership.perspective import PerspectiveMotion
from vocluster.membership.photometry import ClusterSequence
from vocluster.membership.spatial import ClusterOnFootprint

_LOG_2PI = np.log(2.0 * np.pi)
# The seed weight a cluster must hold to be fitted at all (a few stars at least).
MIN_SEED_WEIGHT = 5.0
_MIN_KNOWN_MAGNITUDES = 0.5
# The field is learned away from the cluster where the cluster's sky share is below 5%,
# if that leaves at least 500 rows and a fifth of the table.
_FAR_SHARE, _MIN_FAR_ROWS, _MIN_FAR_FRACTION = 0.05, 500, 0.2


def cap_spread(cov: np.ndarray, max_std: np.ndarray | None,
               shear: np.ndarray | None = None) -> np.ndarray:
    """Shrink each axis of `cov` to at most `max_std`, keeping the correlations.

    With `shear` (features = shear @ capped coordinates), the caps apply in the sheared
    coordinates: with the depth shear, proper motion is capped after the part of it that
    follows parallax is taken out (see MembershipEstimator._depth_shear)."""
    if max_std is None:
        return cov
    if shear is not None:
        inverse = np.linalg.inv(shear)
        return shear @ cap_spread(inverse @ cov @ inverse.T, max_std) @ shear.T
    std = np.sqrt(np.diag(cov))
    factor = np.minimum(1.0, np.asarray(max_std) / np.maximum(std, 1e-12))
    return cov * factor[:, None] * factor[None, :]


def robust_sigma(values: np.ndarray) -> np.ndarray:
    """Per-column spread from the interquartile range (Gaussian sigma units)."""
    q75, q25 = np.percentile(values, [75, 25], axis=0)
    return np.maximum((q75 - q25) / 1.349, 1e-9)


def precise_rows(x: np.ndarray, variances: np.ndarray, fraction: float = 0.25,
                 at_least: float = 0.2) -> np.ndarray:
    """Rows whose every error is at most `fraction` of the table's robust spread in it.

    Only such a star can tell the cluster from the field by its own astrometry; a star
    whose error is as large as the field's whole spread says nothing about where the
    cluster is. Never fewer than the most precise `at_least` of the table.
    """
    worst = np.max(np.sqrt(variances) / robust_sigma(x), axis=1)
    return worst <= max(fraction, float(np.quantile(worst, at_least)))


def log_gaussian_with_errors(x: np.ndarray, mean: np.ndarray, cov: np.ndarray,
                             variances: np.ndarray) -> np.ndarray:
    """log N(x_i | mean, cov + diag(variances_i)) for every row at once.

    Every row has its own d x d covariance (d is 2-5 here). The Cholesky factors and the
    forward substitution are therefore computed entry by entry, each entry for all rows in
    one array operation: numpy's batched LAPACK calls spend most of their time on per-matrix
    overhead at this size, and took 10x as long (0.6 s of a 50k-star fit) for the same
    values to 1e-15.
    """
    d = len(mean)
    chol: list[list[np.ndarray]] = [[np.empty(0)] * d for _ in range(d)]  # lower triangle
    for j in range(d):
        chol[j][j] = np.sqrt(cov[j, j] + variances[:, j] - sum(chol[j][k] ** 2 for k in range(j)))
        for i in range(j + 1, d):
            chol[i][j] = (cov[i, j] - sum(chol[i][k] * chol[j][k] for k in range(j))) / chol[j][j]
    diff = x - mean
    solved: list[np.ndarray] = []
    for i in range(d):
        solved.append((diff[:, i] - sum(chol[i][k] * solved[k] for k in range(i))) / chol[i][i])
    log_det = 2.0 * sum(np.log(chol[i][i]) for i in range(d))
    return -0.5 * (sum(value**2 for value in solved) + log_det + d * _LOG_2PI)


def deconvolved_moments(x: np.ndarray, variances: np.ndarray, weights: np.ndarray,
                        mean: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One extreme-deconvolution M-step for a single Gaussian (weighted)."""
    d = len(mean)
    total = cov[None] + variances[:, :, None] * np.eye(d)[None]
    gain = cov[None] @ np.linalg.inv(total)                     # Sigma T^-1
    expected = mean + (gain @ (x - mean)[:, :, None])[:, :, 0]  # b_i
    spread = cov[None] - gain @ cov[None]                       # B_i
    w = weights / weights.sum()
    new_mean = w @ expected
    centred = expected - new_mean
    new_cov = np.einsum("i,ij,ik->jk", w, centred, centred) + np.einsum("i,ijk->jk", w, spread)
    return new_mean, new_cov + 1e-9 * np.eye(d)


@dataclass
class MixtureFit:
    """Parameters of the fitted cluster component."""

    mean: np.ndarray
    cov: np.ndarray
    weight: float
    log_likelihood: float
    n_iter: int
    sky_centre: np.ndarray | None
    sky_r50: float | None
    motion: PerspectiveMotion | None


def _far_rows(sky: ClusterOnFootprint, weight: float,
              membership: np.ndarray) -> np.ndarray | None:
    """Rows away from the cluster on the sky (its share of the sky density there below
    `_FAR_SHARE`); None when too few are left to model the field.

    The field's motions, parallaxes and magnitudes hardly change across a cone, while a
    cluster is concentrated on the sky, so the stars away from it show the field as it is
    at the cluster's place too. Chosen by their features alone (non-members), the field
    rows miss exactly the faint field stars that move like the cluster: at low S/N, where
    motion and parallax cannot tell them apart, the field is then too thin at the
    cluster's motion, and faint field stars near the centre become "members" (a distant
    cluster counted twice over).
    """
    far = sky.cluster_share(weight, membership) < _FAR_SHARE
    if far.sum() < max(_MIN_FAR_ROWS, _MIN_FAR_FRACTION * len(membership)):
        return None  # a cluster that fills the cone: the field comes from the features
    return far


class ClusterFieldMixture(BaseEstimator):
    """EM for cluster (deconvolved Gaussian) + field (GMM) [+ EFF sky term].

    Call `fit(X, variances, seed_weights, positions, magnitudes)`; `membership_` holds the
    posterior cluster probability of each row. A scikit-learn estimator so that its
    settings, the sky and magnitude switches included, are parameters a membership
    estimator records (`get_params(deep=True)`: `mixture__use_sky`...).
    """

    def __init__(self, n_field_components: int = 8, field_sample: int = 30000,
                 n_field_refits: int = 2, exclude_above: float = 0.05, max_iter: int = 300,
                 tol: float = 1e-7, use_sky: bool = True, use_magnitudes: bool = True,
                 use_colours: bool = True, random_state: int = 0) -> None:
        self.n_field_components = n_field_components
        self.field_sample = field_sample
        self.n_field_refits = n_field_refits
        self.exclude_above = exclude_above
        self.max_iter = max_iter
        self.tol = tol
        self.use_sky = use_sky
        self.use_magnitudes = use_magnitudes
        self.use_colours = use_colours
        self.random_state = random_state

    def _field_rows(self, membership: np.ndarray, precise: np.ndarray,
                    rng: np.random.Generator, far: np.ndarray | None) -> np.ndarray:
        """Rows that teach the field after the first fit.

        Away from the cluster on the sky (`far`, see `_far_rows`), every star by its
        chance 1 - p. Where the cluster fills the table: precise non-members, and imprecise
        rows by chance 1 - p. A precise star with p > 0.05 is kept out outright (sampled by
        1 - p, half-members would teach the field the cluster's edge). An imprecise star's
        p says little about it, so it enters with its field probability: leaving all of
        them out would empty the field exactly where the cluster is, and faint field stars
        there would become "members" because the field no longer claims them.
        """
        by_chance = rng.uniform(size=len(membership)) < 1.0 - membership
        if far is not None:
            return far & by_chance
        return (precise & (membership <= self.exclude_above)) | (~precise & by_chance)

    @staticmethod
    def _first_field_rows(x: np.ndarray, mean: np.ndarray, cov: np.ndarray,
                          variances: np.ndarray, seed: np.ndarray,
                          far: np.ndarray | None) -> np.ndarray:
        """Rows that teach the first field fit: outside a broadened region around the seed.

        A seed may hold only the cluster's core, so a region of 4x its covariance is kept
        out, or the field would learn the cluster's halo. Judged with each star's errors
        where the field comes from the features alone; away from the cluster on the sky
        (`far`), without them: there a faint star is kept out only if it moves like the
        cluster, not merely because its errors cannot rule that out (nearly every faint
        star's errors cannot).
        """
        errors = variances if far is None else np.zeros_like(variances)
        broad = log_gaussian_with_errors(x, mean, 4.0 * cov, errors)
        peak = log_gaussian_with_errors(mean[None], mean, 4.0 * cov, np.zeros((1, len(mean))))
        outside = (seed <= 0) & (peak[0] - broad >= 0.5 * chi2.ppf(0.999, len(mean)))
        return outside if far is None else outside & far

    def fit(self, x: np.ndarray, variances: np.ndarray, seed_weights: np.ndarray,
            positions: np.ndarray | None = None, magnitudes: np.ndarray | None = None,
            max_intrinsic_std: np.ndarray | None = None,
            max_sky_r50: float | None = None, motion: PerspectiveMotion | None = None,
            astrometry_columns: tuple[int, int, int] | None = None,
            depth_shear: np.ndarray | None = None, colours: np.ndarray | None = None
            ) -> ClusterFieldMixture:
        """`magnitudes` (G, NaN where unknown) make the field density depend on brightness,
        and `colours` (BP-RP, NaN where unknown) add the cluster's sequence (photometry.py);
        `max_intrinsic_std` (per feature; in the coordinates `depth_shear` maps to the
        features, when given) bounds the cluster's intrinsic spread and
        `max_sky_r50` (deg) its size on the sky; `motion` with `astrometry_columns`
        (pmra, pmdec, parallax in x) lets the cluster's proper motion follow perspective."""
        if seed_weights.sum() < MIN_SEED_WEIGHT:
            raise ValueError(f"the seed group has fewer than {MIN_SEED_WEIGHT:g} stars")
        if not self.use_sky:
            positions = motion = None
        if not self.use_magnitudes:
            magnitudes = None
        rng = np.random.default_rng(self.random_state)
        w = seed_weights.astype(float)
        mean = (w @ x) / w.sum()
        centred = x - mean
        cov = cap_spread((w[:, None] * centred).T @ centred / w.sum() + 1e-6 * np.eye(x.shape[1]),
                         max_intrinsic_std, depth_shear)
        precise = precise_rows(x, variances)
        perspective = _Perspective(motion, astrometry_columns, x.shape)
        offset = perspective.offset(mean)
        weight = float(np.clip(w.sum() / len(x), 1e-4, 0.5))
        sky = ClusterOnFootprint(positions, max_sky_r50) if positions is not None else None
        if sky is not None:
            sky.update(w)
        membership = np.clip(w, 0.0, 1.0)
        log_like, n_iter = -np.inf, 0
        if magnitudes is not None and np.isfinite(magnitudes).mean() < _MIN_KNOWN_MAGNITUDES:
            magnitudes = None  # too few G values to learn how the field depends on G
        if not self.use_colours or magnitudes is None or colours is None or (
                np.isfinite(colours) & np.isfinite(magnitudes)).mean() < _MIN_KNOWN_MAGNITUDES:
            colours = None  # a sequence needs G, and enough colours to teach the field
        field = FieldModel(self.n_field_components, self.field_sample, rng,
                           parallax_column=None if astrometry_columns is None
                           else astrometry_columns[2])
        cluster_g = None if magnitudes is None else ClusterMagnitudes(magnitudes)
        sequence = None if colours is None else ClusterSequence(magnitudes, colours)
        for refit in range(self.n_field_refits):
            far = None if sky is None else _far_rows(sky, weight, membership)
            if refit == 0:
                rows = self._first_field_rows(x - offset, mean, cov, variances, membership, far)
            else:
                rows = self._field_rows(membership, precise, rng, far)
            field.fit(x, magnitudes, rows, colours)
            covered = None
            if sequence is not None:
                covered = sequence.coverage(membership)
                sequence.update(membership, covered)
            log_field = field.log_density(
                x, magnitudes, None if covered is None else np.where(covered, colours, np.nan),
                None if sequence is None else sequence.outliers)
            for n_iter in range(1, self.max_iter + 1):
                log_cluster = log_gaussian_with_errors(x - offset, mean, cov, variances)
                log_a = np.log(weight) + log_cluster
                if cluster_g is not None:
                    log_a = log_a + cluster_g.log_density(membership)
                if sequence is not None:
                    log_a = log_a + sequence.log_density_
                log_b = np.log1p(-weight) + log_field
                if sky is not None:
                    log_a = log_a + sky.cluster_log_density()
                    log_b = log_b + sky.field_log_density(membership)
                total = np.logaddexp(log_a, log_b)
                membership = np.exp(log_a - total)
                new_log_like = float(total.sum())
                converged = abs(new_log_like - log_like) < self.tol * len(x)
                log_like = new_log_like
                if converged:
                    break
                weight = float(np.clip(membership.mean(), 1e-6, 1 - 1e-6))
                defining = membership * precise
                if defining.sum() < MIN_SEED_WEIGHT:
                    defining = membership  # too few precise members: use them all
                active = defining > 1e-5
                mean, cov = deconvolved_moments((x - offset)[active], variances[active],
                                                defining[active], mean, cov)
                cov = cap_spread(cov, max_intrinsic_std, depth_shear)
                perspective.update(x, variances, defining, active, mean, cov)
                offset = perspective.offset(mean)
                if sky is not None:
                    # The outer slope at steps 1, 2, 4, 8...: refitted at every step, its
                    # optimiser's tolerance moved the likelihood by more than `tol` each
                    # time, and M67's fit ran to max_iter (5.9 s instead of 1.3 s).
                    sky.update(defining, fit_slope=n_iter & (n_iter - 1) == 0)
                if sequence is not None and n_iter & (n_iter - 1) == 0:
                    sequence.update(membership, covered)  # at steps 1, 2, 4, 8... too
        self.membership_ = membership
        self.field_uses_magnitude_ = magnitudes is not None
        self.uses_colours_ = colours is not None
        self.fit_ = MixtureFit(mean=mean, cov=cov, weight=weight, log_likelihood=log_like,
                               n_iter=n_iter,
                               sky_centre=None if sky is None else sky.centre,
                               sky_r50=None if sky is None else sky.r50,
                               motion=perspective.motion)
        return self


class _Perspective:
    """The mixture's view of PerspectiveMotion: per-row offsets of the cluster mean in
    feature space (zero everywhere without a motion model or astrometry columns)."""

    def __init__(self, motion: PerspectiveMotion | None,
                 astrometry_columns: tuple[int, int, int] | None, shape: tuple[int, int]) -> None:
        self.motion = motion if astrometry_columns is not None else None
        self.columns = astrometry_columns
        self.zero = np.zeros(shape)

    def offset(self, mean: np.ndarray) -> np.ndarray | float:
        if self.motion is None:
            return 0.0
        pm = list(self.columns[:2])
        offset = self.zero.copy()
        offset[:, pm] = self.motion.shift(mean[pm])
        return offset

    def update(self, x: np.ndarray, variances: np.ndarray, weights: np.ndarray,
               active: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> None:
        if self.motion is None:
            return
        pm, plx = list(self.columns[:2]), self.columns[2]
        self.motion.update(active, x[active][:, pm], variances[active][:, pm] + np.diag(cov)[pm],
                           weights[active], mean[pm], float(mean[plx]))
