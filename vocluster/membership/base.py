"""Shared shape of every membership method (scikit-learn estimator API).

A method only has to group the stars (`_group`). This base then picks the group
that is the cluster (the one holding the seed stars) and, unless told not to, turns it
into calibrated probabilities with the cluster/field mixture.

The seed is a detected candidate (detection.py: HDBSCAN in 5-D, ranked by
significance): blind, the `candidate`-th most significant one; with catalogue values,
the candidate those values agree with best, or else the stars near the values
themselves (a cluster too sparse to be detected on its own). With a position as well,
both are taken only near it: far away, motion and parallax cannot tell two distant
groups apart, and thousands of faint field stars agree with the values within their
errors.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod

import numpy as np
from scipy.stats import chi2
from sklearn.base import BaseEstimator, ClusterMixin, clone
from sklearn.utils.validation import check_array, check_is_fitted

from vocluster.membership.detection import Candidate, DetectionSpace
from vocluster.membership.mixture import (
    MIN_SEED_WEIGHT,
    ClusterFieldMixture,
    log_gaussian_with_errors,
)
from vocluster.membership.perspective import KMS_PER_MASYR_KPC

# A star agrees with catalogue values when it lies inside their 99% region.
SEED_AGREEMENT_QUANTILE = 0.99
# Hunt & Reffert keep clusters whose CST exceeds 3 sigma and trust those above 5; random
# HDBSCAN groups in real fields reach 3-4 sigma, so 5 is where a cluster is claimed.
MIN_SIGNIFICANCE = 5.0
# Physical bounds on a cluster's intrinsic spread (see mixture.py): internal velocities of
# open clusters and their escaping halos stay within a few km/s, their depth within a few
# tens of pc; the floors stand for Gaia's small-scale systematics (~0.02 mas, mas/yr).
MAX_INTERNAL_VELOCITY_KMS = 4.0
MAX_DEPTH_PC = 20.0
PM_SYSTEMATIC_FLOOR = 0.05
PARALLAX_SYSTEMATIC_FLOOR = 0.03
# A found cluster's mean parallax must match catalogue values within 3x this (mas, or
# this fraction of the parallax, whichever is larger).
# Half-number radii of open clusters stay below ~20 pc (HR23); the sky term's half-number
# radius is capped at this, seen from the cluster's distance (parallax floored for noise).
MAX_RADIUS_PC = 25.0
MIN_SKY_PARALLAX = 0.02
# Seeded from catalogue values and a position, the seed is the agreeing stars within this
# many pc of the position (or two catalogue r50s): a cluster's core, not its halo.
SEED_RADIUS_PC = 10.0
MEAN_PARALLAX_TOLERANCE = 0.1
MEAN_PARALLAX_FRACTION = 0.05
# ... and its mean proper motion within 3x this (mas/yr), or what this velocity (km/s) is
# at the catalogue's parallax, whichever is larger.
MEAN_PM_TOLERANCE = 0.1
MEAN_VELOCITY_TOLERANCE_KMS = 2.0


def intrinsic_spread_limit(parallax: float, proper_motion: float = 0.0) -> tuple[float, float]:
    """Largest intrinsic (pm, parallax) standard deviation of a cluster at `parallax` (mas)
    moving at `proper_motion` (mas/yr, total).

    A star's proper motion is its tangential velocity times its parallax, so a cluster's
    depth spreads its members' proper motions by the same fraction as their parallaxes:
    a 5000 Msun cluster at 100 pc moving at 450 mas/yr shows +-20 mas/yr from depth alone,
    against 8 mas/yr from internal velocities. The checks of a list's observed spread
    (sanity, detection) add that term here; the mixture, which fits the correlation,
    caps the two apart (MembershipEstimator._depth_shear). Far away the term vanishes.
    """
    plx = max(parallax, 0.0)
    depth_fraction = plx * MAX_DEPTH_PC / 1000.0
    internal = MAX_INTERNAL_VELOCITY_KMS * plx / KMS_PER_MASYR_KPC
    pm = max(float(np.hypot(internal, abs(proper_motion) * depth_fraction)), PM_SYSTEMATIC_FLOOR)
    return pm, max(plx * depth_fraction, PARALLAX_SYSTEMATIC_FLOOR)


def angular_size(size_pc: float, parallax: float) -> float:
    """Degrees that `size_pc` spans at `parallax` (mas; floored at MIN_SKY_PARALLAX)."""
    return float(np.degrees(size_pc * max(parallax, MIN_SKY_PARALLAX) / 1000.0))


def target_reach(parallax: float, r50: float | None) -> float:
    """How far (deg) a cluster's centre can lie from its catalogue position: its largest
    size (MAX_RADIUS_PC) at its distance, or three catalogue r50s, whichever is larger."""
    return max(angular_size(MAX_RADIUS_PC, parallax), 3.0 * (r50 or 0.0))


def robust_standardise(x: np.ndarray) -> np.ndarray:
    """Median/IQR scaling: Gaia tails (high-pm stars) must not set the scale."""
    centre = np.median(x, axis=0)
    q75, q25 = np.percentile(x, [75, 25], axis=0)
    iqr = np.where(q75 - q25 > 0, q75 - q25, 1.0)
    return (x - centre) / iqr


def catalogue_seed_stars(x: np.ndarray, errors: np.ndarray, mean: np.ndarray,
                   spread: np.ndarray) -> np.ndarray:
    """1 for stars whose features agree with the catalogue values within 99%, else 0."""
    cov = np.diag(spread**2)
    log_density = log_gaussian_with_errors(x, mean, cov, errors**2)
    peak = log_gaussian_with_errors(mean[None], mean, cov, np.zeros((1, len(mean))))
    limit = chi2.ppf(SEED_AGREEMENT_QUANTILE, len(mean))  # as many dimensions as features
    return (log_density - peak[0] > -0.5 * limit).astype(float)


def choose_target_group(soft: np.ndarray, seed_stars: np.ndarray) -> int:
    """The group holding most seed stars, penalised by its size (captures, but stays pure)."""
    captured = seed_stars @ soft
    size = soft.sum(axis=0)
    score = captured / np.sqrt(np.maximum(size, 1.0))
    return int(np.argmax(score))


class MembershipEstimator(ClusterMixin, BaseEstimator, metaclass=ABCMeta):
    """Base: fit(X, X_err, positions) -> predict_proba [P(field), P(cluster)], predict 0/1.

    `target_mean`/`target_spread` (feature units) point at the cluster from a
    catalogue; without them the `candidate`-th most significant detection is the target
    (1 = the strongest); candidates below `min_significance` sigma are not clusters.
    `target_sky` = (xi, eta, parallax, r50): where the cluster is on the sky (deg, in the
    frame of the positions given to `fit`), its catalogue parallax (mas) and r50 (deg, NaN
    when not catalogued). A candidate or a fit centred beyond `target_reach` of it is
    another group, and a seed from the values alone is taken near it.
    """

    def __init__(self, target_mean=None, target_spread=None, calibrate: bool = True,
                 random_state: int = 0, candidate: int = 1,
                 min_significance: float = MIN_SIGNIFICANCE,
                 mixture: ClusterFieldMixture | None = None, target_sky=None) -> None:
        self.target_mean = target_mean
        self.target_spread = target_spread
        self.target_sky = target_sky
        self.calibrate = calibrate
        self.random_state = random_state
        self.candidate = candidate
        self.min_significance = min_significance
        self.mixture = mixture

    @abstractmethod
    def _group(self, x: np.ndarray, errors: np.ndarray, seed_stars: np.ndarray,
               positions: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Return (labels with -1 for noise, soft assignment matrix n x groups)."""

    def _seed_stars(self, x: np.ndarray, errors: np.ndarray, positions: np.ndarray | None,
                    seed_columns: list[int] | None, astrometry_columns) -> np.ndarray:
        """0/1 weights of the seed stars (the cluster's core; not the random seed).
        Records `candidates_` and the chosen `candidate_index_`."""
        columns = list(range(x.shape[1])) if seed_columns is None else list(seed_columns)
        self.detection_ = DetectionSpace(x[:, columns], errors[:, columns], positions,
                                         self.random_state)
        kinematic = None if astrometry_columns is None else tuple(
            columns.index(c) for c in astrometry_columns)
        self.candidates_ = self.detection_.candidates(astrometry_columns=kinematic)
        significant = [c for c in self.candidates_ if c.significance >= self.min_significance]
        seed_stars = np.zeros(len(x))
        if self.target_mean is not None:
            chosen = self._agreeing_candidate(significant, columns)
            if chosen is None:
                self.candidate_index_ = None
                return self._catalogue_seed_stars(x, errors, positions)
        else:
            if not significant:
                why = (f"the strongest group ({self.candidates_[0].size} stars) is "
                       f"{self.candidates_[0].significance:.1f} sigma, "
                       f"{self.min_significance:g} needed" if self.candidates_
                       else self.detection_.refusal())
                raise ValueError(f"no significant cluster in this table: {why}; given the "
                                 "cluster's catalogue values (a target name, or its proper "
                                 "motion and parallax) it is fitted where they put it")
            if not 1 <= self.candidate <= len(significant):
                raise ValueError(f"candidate {self.candidate} asked for, but only "
                                 f"{len(significant)} significant candidate(s) were found")
            chosen = significant[self.candidate - 1]
        self.candidate_index_ = self.candidates_.index(chosen) + 1
        seed_stars[chosen.members] = 1.0
        return seed_stars

    def _agreeing_candidate(self, candidates: list[Candidate], columns: list[int]
                            ) -> Candidate | None:
        """The candidate whose centre agrees best with the catalogue values (within 3 of
        their tolerances on every axis). Nearest, not most significant: a rich neighbour
        inside the tolerance must not win over the cluster the values describe."""
        mean = np.asarray(self.target_mean, dtype=float)[columns]
        spread = self._mean_tolerance()[columns]
        best, best_offset = None, 3.0
        for found in candidates:
            if not self._near_target_on_sky(found):
                continue
            sem = found.std / np.sqrt(found.size)
            offset = float(np.max(np.abs(found.mean - mean) / np.hypot(spread, sem)))
            if offset <= best_offset:
                best, best_offset = found, offset
        return best

    def _offset_from_target(self, centre: np.ndarray) -> float:
        """Angular distance (deg) of a sky centre from the target's position."""
        return float(np.hypot(centre[0] - self.target_sky[0], centre[1] - self.target_sky[1]))

    def _target_r50(self) -> float | None:
        r50 = self.target_sky[3]
        return None if np.isnan(r50) else float(r50)

    def _near_target_on_sky(self, found: Candidate) -> bool:
        """Whether a candidate's centre is within the target's reach (always, without a
        target position): far away, any distant group agrees with the values in motion and
        parallax, but only the cluster is where the catalogue puts it."""
        if self.target_sky is None or found.sky_centre is None:
            return True
        reach = target_reach(self.target_sky[2], self._target_r50())
        return self._offset_from_target(found.sky_centre) <= reach

    def _mean_tolerance(self) -> np.ndarray:
        """How far a cluster's mean may sit from the catalogue values and still be that
        cluster. The seed spread (generous, to catch members) is used, except in the
        astrometry: a catalogue's mean parallax is good to a few hundredths of a mas, so a
        cluster 0.5 mas or 5% away is another cluster (the Pleiades is not a 100 pc
        cluster). Its mean proper motion is good to a few hundredths of a mas/yr too, while
        the seed's spread is floored at 0.3 mas/yr (members' errors, not the mean's): far
        away that let a group 0.85 mas/yr (40 km/s at 10 kpc) off the catalogue's motion
        pass as the cluster, a confident list of field stars."""
        tolerance = np.array(self._target_spread(), dtype=float)
        if self._astrometry is not None:
            pmra, pmdec, plx = self._astrometry
            parallax = abs(self.target_mean[plx])
            tolerance[plx] = min(tolerance[plx], max(MEAN_PARALLAX_TOLERANCE,
                                                     MEAN_PARALLAX_FRACTION * parallax))
            pm = max(MEAN_PM_TOLERANCE, MEAN_VELOCITY_TOLERANCE_KMS * parallax / KMS_PER_MASYR_KPC)
            tolerance[[pmra, pmdec]] = np.minimum(tolerance[[pmra, pmdec]], pm)
        return tolerance

    def _target_spread(self) -> np.ndarray:
        mean = np.asarray(self.target_mean, dtype=float)
        return (np.asarray(self.target_spread, dtype=float) if self.target_spread is not None
                else 0.1 * np.maximum(np.abs(mean), 1.0))

    def _catalogue_seed_stars(self, x: np.ndarray, errors: np.ndarray,
                              positions: np.ndarray | None) -> np.ndarray:
        """The stars that agree with the values, near the target's position when known.

        For a distant cluster too sparse to be detected, thousands of faint field stars
        agree with its values within their errors; the cluster's own stars are the few
        among them that are also where it is. Seeded with all of them, the mixture settles
        on the field's faint population instead of the cluster.
        """
        seed_stars = catalogue_seed_stars(x, errors, np.asarray(self.target_mean, dtype=float),
                                          self._target_spread())
        where = ""
        if self.target_sky is not None and positions is not None:
            radius = max(angular_size(SEED_RADIUS_PC, self.target_sky[2]),
                         2.0 * (self._target_r50() or 0.0))
            seed_stars *= np.hypot(positions[:, 0] - self.target_sky[0],
                                   positions[:, 1] - self.target_sky[1]) <= radius
            where = f" within {radius:.2g} deg of its position"
        if seed_stars.sum() < 5:
            raise ValueError(f"no cluster at the target's catalogue values in this table: "
                             f"fewer than 5 stars agree with them{where}")
        return seed_stars

    def fit(self, X, y=None, *, X_err=None, positions=None, magnitudes=None,
            seed_columns=None, astrometry_columns=None,
            sky_directions=None, colours=None) -> MembershipEstimator:
        """Find the cluster among the rows of X and its members' probabilities.

        Parameters
        ----------
        X : array of shape (n_stars, n_features)
            The features (for example pmra, pmdec, parallax); finite.
        y : ignored
        X_err : array of shape (n_stars, n_features), optional
            Each feature's measurement error (>= 0); zero when not given.
        positions : array of shape (n_stars, 2), optional
            Tangent-plane offsets (deg) for the sky terms of detection and calibration.
        magnitudes : array of shape (n_stars,), optional
            G (NaN where unknown): the calibrated field then depends on brightness.
        seed_columns : list of int, optional
            The columns of X to detect the cluster in (default: all).
        astrometry_columns : (int, int, int), optional
            Where (pmra, pmdec, parallax) are in X, so that the cluster's intrinsic spread
            is bounded physically and its motion follows perspective.
        sky_directions : PerspectiveMotion, optional
            The rows' directions, for the perspective model of the calibrated cluster.
        colours : array of shape (n_stars,), optional
            BP-RP (NaN where unknown), with `magnitudes`: the calibrated cluster then
            lies on one sequence in the colour-magnitude diagram.

        Returns
        -------
        self
            With `membership_` (P(cluster) per row), `labels_` (the method's groups, -1
            for noise), `target_group_`, `candidates_` and, when calibrated, `mixture_`
            (raw: `calibrated_check_`, the mixture's probabilities as a check).
        """
        x = check_array(X, dtype=float, ensure_min_samples=5)
        errors = np.zeros_like(x) if X_err is None else check_array(X_err, dtype=float)
        if errors.shape != x.shape:
            raise ValueError(f"X_err has shape {errors.shape}, X {x.shape}")
        if np.any(errors < 0):
            raise ValueError("X_err holds negative errors")
        if positions is not None:
            positions = check_array(positions, dtype=float)
            if positions.shape != (len(x), 2):
                raise ValueError(f"positions must be ({len(x)}, 2), not {positions.shape}")
        if magnitudes is not None:
            magnitudes = check_array(magnitudes, dtype=float, ensure_2d=False,
                                     ensure_all_finite="allow-nan")
            if magnitudes.shape != (len(x),):
                raise ValueError(f"magnitudes must have {len(x)} values")
        if colours is not None:
            colours = check_array(colours, dtype=float, ensure_2d=False,
                                  ensure_all_finite="allow-nan")
            if colours.shape != (len(x),):
                raise ValueError(f"colours must have {len(x)} values")
        self.n_features_in_ = x.shape[1]
        self._astrometry = astrometry_columns
        seed_stars = self._seed_stars(x, errors, positions, seed_columns, astrometry_columns)
        self.labels_, soft = self._group(x, errors, seed_stars, positions)
        self.target_group_ = choose_target_group(soft, seed_stars)
        self.raw_membership_ = np.clip(soft[:, self.target_group_], 0.0, 1.0)
        # Start from the stars both the method's group and the seed hold: a method that
        # lumps the cluster with part of the field cannot drag the mixture off it.
        start = self.raw_membership_ * seed_stars
        if start.sum() < MIN_SEED_WEIGHT:
            raise ValueError(f"the method's target group and the seed share fewer than "
                             f"{MIN_SEED_WEIGHT:g} stars: it did not group the cluster's stars "
                             f"together")
        if self.calibrate:
            self.mixture_ = self._fit_mixture(x, errors, start, positions, magnitudes,
                                              sky_directions, astrometry_columns, colours)
            self.membership_ = self.mixture_.membership_
            self._check_target_found(errors)
            self.calibrated_check_ = None
        else:
            self.mixture_ = None
            self.membership_ = self.raw_membership_
            self.calibrated_check_ = self._calibrated_check(
                x, errors, start, positions, magnitudes, sky_directions, astrometry_columns,
                colours)
        return self

    def _calibrated_check(self, x: np.ndarray, errors: np.ndarray, start: np.ndarray,
                          positions, magnitudes, sky_directions, astrometry_columns,
                          colours) -> np.ndarray | None:
        """A raw run's calibrated probabilities, fitted from the same start, to say how many
        of its members are field stars (sanity.field_share); None when they cannot be fitted.

        A raw method has no model of the field, so nothing in its own output says how many
        field stars it took in: far away, where errors dwarf the cluster's spread and the
        method's sky term keeps every pick near the cluster, raw DEC returned 97 stars in
        Berkeley 29's range for 22 published, half of them (by this figure) field stars,
        with nothing in its spreads or its sky concentration to show it. The mixture is
        the one part of the project whose probabilities are checked against injections.
        """
        try:
            return self._fit_mixture(x, errors, start, positions, magnitudes, sky_directions,
                                     astrometry_columns, colours).membership_
        except ValueError:  # a mixture that cannot be fitted checks nothing: said as such
            return None

    def _fit_mixture(self, x: np.ndarray, errors: np.ndarray, start: np.ndarray,
                     positions: np.ndarray | None, magnitudes: np.ndarray | None,
                     sky_directions, astrometry_columns,
                     colours: np.ndarray | None = None) -> ClusterFieldMixture:
        """The calibration mixture from `start`, refitted with half the largest sky size
        (down to an eighth) while the cluster's half-number radius ends at that largest size.

        A fit that wants to be larger than a bound cluster can be is not fitting a
        cluster: it is absorbing a wide population at the cluster's distance that shares
        its motion (the field far away, an association), and a 3 kpc cluster of 337 stars
        came out 0.44 deg = 23 pc wide with 1,200 "members". Whatever cluster is there is
        smaller, and is fitted again so.
        """
        sky_limit = self._sky_limit(x, start, astrometry_columns)
        spread_limit = self._spread_limit(x, start, astrometry_columns)
        depth_shear = self._depth_shear(x, start, astrometry_columns)
        template = ClusterFieldMixture() if self.mixture is None else self.mixture
        variances = errors**2
        for _ in range(4):
            mixture = clone(template).set_params(random_state=self.random_state).fit(
                x, variances, start, positions, magnitudes, spread_limit, sky_limit,
                sky_directions, astrometry_columns, depth_shear, colours)
            r50 = mixture.fit_.sky_r50
            if sky_limit is None or r50 is None or r50 < 0.99 * sky_limit:
                break
            sky_limit = sky_limit / 2.0
        return mixture

    @staticmethod
    def _spread_limit(x: np.ndarray, start: np.ndarray, astrometry_columns
                      ) -> np.ndarray | None:
        """Per-feature cap on the intrinsic spread, from the seed's median parallax (proper
        motion: internal velocities only, as depth is allowed for by `_depth_shear`)."""
        if astrometry_columns is None:
            return None
        pm_col, pmdec_col, plx_col = astrometry_columns
        parallax = float(np.median(x[start > 0.5, plx_col])) if (start > 0.5).any() else 0.0
        pm_limit, plx_limit = intrinsic_spread_limit(parallax)
        limit = np.full(x.shape[1], np.inf)
        limit[[pm_col, pmdec_col]] = pm_limit
        limit[plx_col] = plx_limit
        return limit

    @staticmethod
    def _depth_shear(x: np.ndarray, start: np.ndarray, astrometry_columns
                     ) -> np.ndarray | None:
        """The direction along which a nearby cluster's depth spreads its stars.

        Proper motion is tangential velocity times parallax: a member 5% nearer than the
        centre moves 5% faster, so a 100 pc cluster moving at 450 mas/yr spreads by +-20
        mas/yr from depth alone, against 8 mas/yr that internal velocities allow, and a
        cap on proper motion alone cut 30% of such a cluster (an injection into the
        Pleiades cone). The mixture therefore caps proper motion after the part that
        follows parallax (mean proper motion / mean parallax per mas) is taken out, and
        parallax by the depth cap, so the two together allow exactly the depth's spread.
        Only where depth, not Gaia's systematic floor, sets the parallax cap: beyond a
        kpc or so a floor-sized "depth" would allow field-sized proper-motion spreads.
        """
        if astrometry_columns is None or not (start > 0.5).any():
            return None
        pm_col, pmdec_col, plx_col = astrometry_columns
        seed = x[start > 0.5]
        parallax = float(np.median(seed[:, plx_col]))
        if intrinsic_spread_limit(parallax)[1] <= PARALLAX_SYSTEMATIC_FLOOR:
            return None
        shear = np.eye(x.shape[1])
        shear[[pm_col, pmdec_col], plx_col] = np.median(seed[:, [pm_col, pmdec_col]],
                                                        axis=0) / parallax
        return shear

    @staticmethod
    def _sky_limit(x: np.ndarray, start: np.ndarray, astrometry_columns) -> float | None:
        """Largest half-number radius (deg) a bound cluster can have at the seed's parallax:
        MAX_RADIUS_PC seen from its distance. A "cluster" spread over the whole cone of a
        10 kpc field would be hundreds of pc across: that is the field's distant stars."""
        if astrometry_columns is None or not (start > 0.5).any():
            return None
        return angular_size(MAX_RADIUS_PC, float(np.median(x[start > 0.5,
                                                                astrometry_columns[2]])))

    def _check_target_found(self, errors: np.ndarray) -> None:
        """A few field stars near the catalogue values are not the cluster, nor is a group
        elsewhere on the sky: say so.

        The sky check: far away, motion and parallax agree within their tolerances for any
        distant group (at 10 kpc, 0.9 mas/yr is 40 km/s), while the sky does not: a bound
        cluster's centre cannot lie farther from the catalogue's than `target_reach` at the
        fitted parallax.
        """
        fit = self.mixture_.fit_
        if self.target_sky is not None and fit.sky_centre is not None:
            parallax = (float(fit.mean[self._astrometry[2]]) if self._astrometry is not None
                        else self.target_sky[2])
            reach = target_reach(parallax, self._target_r50())
            offset = self._offset_from_target(fit.sky_centre)
            if offset > reach:
                raise ValueError(f"no cluster at the target's position in this table: the "
                                 f"fit's centre lies {offset:.2f} deg from it, farther than a "
                                 f"cluster at {parallax:.3g} mas can reach ({reach:.2f} deg)")
        if self.target_mean is None or self.target_spread is None:
            return
        offset = np.abs(fit.mean - np.asarray(self.target_mean, dtype=float))
        if np.any(offset > 3.0 * np.hypot(self._mean_tolerance(), self._fit_sem(errors))):
            found = ", ".join(f"{v:.2f}" for v in fit.mean)
            raise ValueError(f"no cluster at the target's catalogue values in this table "
                             f"(the fit drifted to {found})")

    def _fit_sem(self, errors: np.ndarray) -> np.ndarray:
        """Standard error of the fitted cluster mean: its members' spread (intrinsic plus
        their errors) over the square root of their number."""
        weight = self.membership_
        n = max(float(weight.sum()), 1.0)
        noise = (weight @ errors**2) / n
        return np.sqrt((np.diag(self.mixture_.fit_.cov) + noise) / n)

    def predict_proba(self, X=None) -> np.ndarray:
        """[P(field), P(cluster)] of the fitted rows (the methods are transductive)."""
        check_is_fitted(self, "membership_")
        if X is not None:
            x = check_array(X, dtype=float)
            if x.shape != (len(self.membership_), self.n_features_in_):
                raise ValueError(f"membership is transductive: predict_proba needs the "
                                 f"{len(self.membership_)} x {self.n_features_in_} fitted rows, "
                                 f"not {x.shape[0]} x {x.shape[1]}")
        return np.column_stack([1.0 - self.membership_, self.membership_])

    def predict(self, X=None) -> np.ndarray:
        """1 for members (P(cluster) >= 0.5), 0 for the field, of the fitted rows."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def fit_predict(self, X, y=None, **kwargs) -> np.ndarray:
        """The method's group of each row (`labels_`, -1 for noise), as ClusterMixin has it;
        `predict()` afterwards gives members against field."""
        return self.fit(X, y, **kwargs).labels_
