"""Perspective: a cluster's proper motion changes across the sky, and by how much is physics.

All members of a cluster share one space velocity V, but each sees it projected onto its
own local (east, north) directions, so their proper motions differ with position even
with no internal motion at all. For the Praesepe (186 pc, 38 mas/yr, v_r = 35 km/s) the
members 2 degrees from the centre move 1-1.5 mas/yr differently from those at the centre:
twice the cluster's real internal dispersion. A mixture that ignores this sees a broad
cluster and takes in the field stars around it.

Exactly (no small-angle approximation), with p, q the local east and north unit vectors
and r the line of sight, the proper motion of a star in direction i is

    mu_i = M_i mu_0 + w c_i,   M_i = [[p0.p_i, q0.p_i], [p0.q_i, q0.q_i]],
                               c_i = (r0.p_i, r0.q_i),

where mu_0 is the proper motion at a reference direction 0 and w = parallax * v_r / 4.74
is the radial velocity in proper-motion units. The model is linear in (mu_0, w), so it
costs one extra least-squares parameter, independent of the distance: for a distant
cluster c_i is tiny and the term vanishes by itself. The fitted w is an astrometric
radial velocity (Dravins et al. 1999), reported when the lever arm measures it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KMS_PER_MASYR_KPC = 4.74047
# Open clusters move at |v_r| < ~120 km/s; a fit that wants more is following the field.
MAX_RADIAL_VELOCITY_KMS = 120.0


def local_basis(ra_deg: np.ndarray, dec_deg: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit vectors (east p, north q, line of sight r) for each direction, shape (n, 3)."""
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    p = np.column_stack([-np.sin(ra), np.cos(ra), np.zeros_like(ra)])
    q = np.column_stack([-np.sin(dec) * np.cos(ra), -np.sin(dec) * np.sin(ra), np.cos(dec)])
    r = np.column_stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)])
    return p, q, r


@dataclass
class RadialVelocity:
    """The astrometric radial velocity of a fitted cluster (km/s) and its error."""

    value: float
    error: float


class PerspectiveMotion:
    """Where each star's cluster proper motion lies, given the motion at the reference."""

    def __init__(self, ra: np.ndarray, dec: np.ndarray, ra0: float, dec0: float) -> None:
        p, q, _ = local_basis(np.asarray(ra, dtype=float), np.asarray(dec, dtype=float))
        p0, q0, r0 = (v[0] for v in local_basis(np.array([ra0]), np.array([dec0])))
        self.matrix = np.stack([np.column_stack([p @ p0, p @ q0]),
                                np.column_stack([q @ p0, q @ q0])], axis=1)  # (n, 2, 2)
        self.radial = np.column_stack([p @ r0, q @ r0])                   # (n, 2)
        self.w = 0.0
        self.w_error = np.inf

    def shift(self, pm0: np.ndarray) -> np.ndarray:
        """Each star's expected cluster proper motion minus pm0 (n, 2), at the current w."""
        return (self.matrix @ pm0) - pm0 + self.w * self.radial

    def update(self, rows: np.ndarray, pm: np.ndarray, pm_variance: np.ndarray,
               weights: np.ndarray, pm0: np.ndarray, parallax: float) -> None:
        """Weighted least-squares w from the motions of `rows` (pm_variance: intrinsic plus
        measurement, per star and axis), bounded by MAX_RADIAL_VELOCITY_KMS."""
        radial = self.radial[rows]
        residual = pm - self.matrix[rows] @ pm0
        inverse = weights[:, None] / pm_variance
        information = float(np.sum(inverse * radial**2))
        if information <= 0:
            return
        bound = max(parallax, 0.0) * MAX_RADIAL_VELOCITY_KMS / KMS_PER_MASYR_KPC
        self.w = float(np.clip(np.sum(inverse * radial * residual) / information,
                               -bound, bound))
        self.w_error = float(1.0 / np.sqrt(information))

    def radial_velocity(self, parallax: float) -> RadialVelocity | None:
        """v_r = 4.74 w / parallax, or None where the parallax cannot convert it."""
        if parallax <= 0 or not np.isfinite(self.w_error):
            return None
        scale = KMS_PER_MASYR_KPC / parallax
        return RadialVelocity(self.w * scale, self.w_error * scale)
