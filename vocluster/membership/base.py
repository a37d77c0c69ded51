"""Shared shape of every membership method (scikit-learn estimator API).

A method only has to group the stars (`_group`). This base then picks the group
that is the cluster (the one holding the seed stars: catalogue values or the
strongest overdensity) and, unless told not to, turns it into calibrated
probabilities with the cluster/field mixture.
"""

from __future__ import annotations

from abc import abstractmethod

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin

from vocluster.membership.mixture import ClusterFieldMixture, log_gaussian_with_errors
from vocluster.membership.overdensity import find_overdensity

_CHI2_3D_99 = 11.34


def robust_standardise(x: np.ndarray) -> np.ndarray:
    """Median/IQR scaling: Gaia tails (high-pm stars) must not set the scale."""
    centre = np.median(x, axis=0)
    q75, q25 = np.percentile(x, [75, 25], axis=0)
    iqr = np.where(q75 - q25 > 0, q75 - q25, 1.0)
    return (x - centre) / iqr


def catalogue_seed(x: np.ndarray, errors: np.ndarray, mean: np.ndarray,
                   spread: np.ndarray) -> np.ndarray:
    """1 for stars whose features agree with the catalogue values within 99%, else 0."""
    cov = np.diag(spread**2)
    log_density = log_gaussian_with_errors(x, mean, cov, errors**2)
    peak = log_gaussian_with_errors(mean[None], mean, cov, np.zeros((1, len(mean))))
    return (log_density - peak[0] > -0.5 * _CHI2_3D_99).astype(float)


def choose_target_group(soft: np.ndarray, seed: np.ndarray) -> int:
    """The group holding most seed stars, penalised by its size (captures, but stays pure)."""
    captured = seed @ soft
    size = soft.sum(axis=0)
    score = captured / np.sqrt(np.maximum(size, 1.0))
    return int(np.argmax(score))


class MembershipEstimator(ClusterMixin, BaseEstimator):
    """Base: fit(X, X_err, positions) -> predict_proba [P(field), P(cluster)], predict 0/1.

    `target_mean`/`target_spread` (feature units) point at the cluster from a
    catalogue; without them the strongest compact overdensity is the target.
    """

    def __init__(self, target_mean=None, target_spread=None, calibrate: bool = True,
                 random_state: int = 0) -> None:
        self.target_mean = target_mean
        self.target_spread = target_spread
        self.calibrate = calibrate
        self.random_state = random_state

    @abstractmethod
    def _group(self, x: np.ndarray, errors: np.ndarray, seed: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
        """Return (labels with -1 for noise, soft assignment matrix n x groups)."""

    def _seed(self, x: np.ndarray, errors: np.ndarray, seed_columns: list[int] | None
              ) -> np.ndarray:
        if self.target_mean is not None:
            mean = np.asarray(self.target_mean, dtype=float)
            spread = (np.asarray(self.target_spread, dtype=float) if self.target_spread is not None
                      else 0.1 * np.maximum(np.abs(mean), 1.0))
            seed = catalogue_seed(x, errors, mean, spread)
            if seed.sum() < 5:
                raise ValueError("fewer than 5 stars agree with the target's catalogue values")
            return seed
        # Sky offsets spread an extended cluster over the whole cone: look for the
        # overdensity in the kinematic columns only.
        columns = slice(None) if seed_columns is None else list(seed_columns)
        return find_overdensity(x[:, columns], errors[:, columns])

    def fit(self, X, y=None, *, X_err=None, positions=None, magnitudes=None,
            seed_columns=None) -> MembershipEstimator:
        """`seed_columns`: the columns of X to find the overdensity in (default: all)."""
        x = np.asarray(X, dtype=float)
        errors = np.zeros_like(x) if X_err is None else np.asarray(X_err, dtype=float)
        seed = self._seed(x, errors, seed_columns)
        self.labels_, soft = self._group(x, errors, seed)
        self.target_group_ = choose_target_group(soft, seed)
        self.raw_membership_ = np.clip(soft[:, self.target_group_], 0.0, 1.0)
        if self.calibrate:
            # Start from the stars both the method's group and the seed hold: a method that
            # lumps the cluster with part of the field cannot drag the mixture off it.
            start = self.raw_membership_ * seed
            if start.sum() < 5:
                raise ValueError("the method's target group and the seed share fewer than 5 "
                                 "stars")
            self.mixture_ = ClusterFieldMixture(random_state=self.random_state).fit(
                x, errors**2, start, positions,
                None if magnitudes is None else np.asarray(magnitudes, dtype=float))
            self.membership_ = self.mixture_.membership_
            self._check_target_found()
        else:
            self.mixture_ = None
            self.membership_ = self.raw_membership_
        return self

    def _check_target_found(self) -> None:
        """A few field stars near the catalogue values are not the cluster: say so."""
        if self.target_mean is None or self.target_spread is None:
            return
        offset = np.abs(self.mixture_.fit_.mean - np.asarray(self.target_mean, dtype=float))
        if np.any(offset > 3.0 * np.asarray(self.target_spread, dtype=float)):
            found = ", ".join(f"{v:.2f}" for v in self.mixture_.fit_.mean)
            raise ValueError(f"no cluster at the target's catalogue values in this table "
                             f"(the fit drifted to {found})")

    def predict_proba(self, X=None) -> np.ndarray:
        """[P(field), P(cluster)] of the fitted rows (the methods are transductive)."""
        if X is not None and len(X) != len(self.membership_):
            raise ValueError("membership is transductive: predict_proba needs the fitted rows")
        return np.column_stack([1.0 - self.membership_, self.membership_])

    def predict(self, X=None) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def fit_predict(self, X, y=None, **kwargs) -> np.ndarray:
        return self.fit(X, **kwargs).predict()
