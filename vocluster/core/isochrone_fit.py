"""An isochrone through the members' colour-magnitude diagram: age and extinction.

The astrometry already gives the distance, so the distance modulus is fixed by the
members' mean parallax; what the CMD adds is the age (the turn-off, the giants, the
pre-main-sequence) and the extinction (a shift along the reddening vector). Both are
fitted on a grid of PARSEC isochrones of near-solar metallicity, by the members' robust
distance to the curve in the CMD: each star counts at most `CAP` (in units of the
tolerances below), so unresolved binaries 0.75 mag above the sequence, the few field
stars among the members and white dwarfs cannot pull the fit.

Extinction in the Gaia bands for A_V, mean coefficients for FGK stars (Casagrande &
VandenBerg 2018, MNRAS 479, L102): A_G = 0.789 A_V, E(BP-RP) = 0.413 A_V. They vary by
about 10% with temperature, which matters only for the most reddened clusters.

Only stars with G < `G_LIMIT` and an absolute G brighter than `ABSOLUTE_G_LIMIT` enter:
fainter ones have colours too uncertain (and estimated errors where the table has none)
to place a sequence, and the models' M-dwarf colours are known to be off by 0.1-0.3 mag
in BP-RP; with hundreds of M dwarfs against a dozen turn-off stars, that offset would
decide the fit (Praesepe came out 110 Myr old with A_V 0.38 from them). Solar metallicity is an
assumption said on the plot: metal-poor clusters (old, outer disc) come out too young or
too reddened by a few tenths.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

A_G_PER_AV = 0.789
E_BPRP_PER_AV = 0.413
G_LIMIT = 18.0
ABSOLUTE_G_LIMIT = 8.0  # about K7 V: the models' colours hold above this
MIN_STARS = 15
COLOUR_TOLERANCE = 0.05   # mag: the colour scatter of a well-measured sequence
MAGNITUDE_TOLERANCE = 0.25  # mag: depth, photometric scatter and binaries along G
CAP = 3.0                 # in tolerances: beyond this a star is not on any isochrone
A_V_GRID = np.round(np.arange(0.0, 4.001, 0.02), 3)
# PARSEC phases kept: pre-main sequence to early AGB (no TP-AGB, post-AGB or remnants)
PHASES = range(0, 8)
POINTS_PER_MAG = 40  # the curve is densified so nearest-point distances are distances


@dataclass
class IsochroneFit:
    """Best-fitting isochrone: log age, A_V, its curve in the observed CMD, and how many
    members it was fitted to."""

    log_age: float
    a_v: float
    metallicity: float
    distance_modulus: float
    colour: np.ndarray
    magnitude: np.ndarray
    n_stars: int
    median_offset: float

    def describe(self) -> str:
        age = 10 ** (self.log_age - 6)
        age_text = f"{age / 1000:.1f} Gyr" if age >= 1000 else f"{age:.0f} Myr"
        return (f"PARSEC [M/H] = {self.metallicity:+.2f}: log age {self.log_age:.2f} "
                f"({age_text}), A_V {self.a_v:.2f}, (m-M)_0 {self.distance_modulus:.2f} "
                f"from the parallax; fitted to {self.n_stars} members with G < {G_LIMIT:g}, "
                f"M_G < {ABSOLUTE_G_LIMIT:g}")


def _densified(colour: np.ndarray, magnitude: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points along the curve no more than 1/POINTS_PER_MAG apart in the scaled CMD."""
    step = np.hypot(np.diff(colour) / COLOUR_TOLERANCE, np.diff(magnitude) / MAGNITUDE_TOLERANCE)
    extra = np.maximum(1, np.ceil(step * MAGNITUDE_TOLERANCE * POINTS_PER_MAG).astype(int))
    t = np.concatenate([[0.0], np.cumsum(extra)])
    fine = np.arange(t[-1] + 1)
    return np.interp(fine, t, colour), np.interp(fine, t, magnitude)


def fit_isochrone(g: np.ndarray, bp_rp: np.ndarray, prob: np.ndarray,
                  distance_pc: float | None, isochrones) -> IsochroneFit | None:
    """The best (log age, A_V) for the members (prob >= 0.5) on a grid of isochrones.

    `distance_pc` is the cluster's astrometric distance (None where its parallax does
    not measure one: then no fit is made, since age and distance would be degenerate).
    `isochrones` is a table (pandas DataFrame) with logAge, MH, label, Gmag, G_BPmag,
    G_RPmag, of one metallicity. Returns None when fewer than MIN_STARS members qualify.
    """
    if distance_pc is None or not distance_pc > 0:
        return None
    distance_modulus = 5 * np.log10(distance_pc) - 5
    use = ((prob >= 0.5) & np.isfinite(g) & np.isfinite(bp_rp) & (g < G_LIMIT)
           & (g - distance_modulus < ABSOLUTE_G_LIMIT))
    if use.sum() < MIN_STARS:
        return None
    stars = np.column_stack([bp_rp[use] / COLOUR_TOLERANCE, g[use] / MAGNITUDE_TOLERANCE])
    shifts = np.column_stack([E_BPRP_PER_AV * A_V_GRID / COLOUR_TOLERANCE,
                              A_G_PER_AV * A_V_GRID / MAGNITUDE_TOLERANCE])
    best = None
    for log_age, curve in isochrones[isochrones["label"].isin(PHASES)].groupby("logAge"):
        colour, magnitude = _densified(np.asarray(curve["G_BPmag"] - curve["G_RPmag"]),
                                       np.asarray(curve["Gmag"]) + distance_modulus)
        tree = cKDTree(np.column_stack([colour / COLOUR_TOLERANCE,
                                        magnitude / MAGNITUDE_TOLERANCE]))
        # extinction moves the curve by `shift`: the same as moving the stars back by it
        moved = stars[None, :, :] - shifts[:, None, :]
        distance, _ = tree.query(moved.reshape(-1, 2), distance_upper_bound=CAP)
        cost = np.minimum(distance, CAP).reshape(len(A_V_GRID), -1).sum(axis=1)
        k = int(np.argmin(cost))
        if best is None or cost[k] < best[0]:
            best = (cost[k], float(log_age), float(A_V_GRID[k]), colour, magnitude)
    if best is None:
        return None
    _, log_age, a_v, colour, magnitude = best
    colour = colour + E_BPRP_PER_AV * a_v
    magnitude = magnitude + A_G_PER_AV * a_v
    tree = cKDTree(np.column_stack([colour / COLOUR_TOLERANCE, magnitude / MAGNITUDE_TOLERANCE]))
    offsets, _ = tree.query(stars)
    return IsochroneFit(log_age, a_v, float(np.median(isochrones["MH"])), distance_modulus,
                        colour, magnitude, int(use.sum()), float(np.median(offsets)))
