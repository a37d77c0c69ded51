"""The colour term of the cluster/field mixture: a cluster's stars lie on one sequence.

Members of a cluster share age, distance, metallicity and (nearly) extinction, so at a
given G they have nearly one BP-RP colour; field stars that happen to share the
cluster's motion and parallax within their errors come from every distance and
population and spread across the colour-magnitude diagram. Beyond a kpc, or in a deep
field, motion and parallax alone cannot tell the faint members (G 19-21, errors of ~1
mas/yr) from such field stars: in the Pleiades cone, a 300-solar-mass cluster injected
at 1 kpc lost 23 of 250 members and took 12 field stars, exactly as its probabilities
said (F1 0.93); the colours separate many of them.

The cluster side is p(BP-RP | G, cluster): a Gaussian about the sequence's colour at G
with the sequence's own width there (both measured from the members, weighted by
membership, in 0.5-mag bins of G: the width takes in photometric errors and
differential reddening as they are at that G); a band between it and the equal-mass
binary sequence for the unresolved binaries (their share fitted); and a small share
spread over the table's colours (blue stragglers, bad BP/RP photometry of a crowded
star), so that a colour never vetoes a member alone. The field
side is the field's colours given each star's G and parallax, a smoothed histogram of
the field's own stars (field.py, FieldColours): a field star at the cluster's distance
and magnitude lies on the field's main sequence there, near the cluster's, and is
judged so. Bad colours are the field's too: the same share of its
colours is spread alike, so a colour far from both never speaks for the cluster.
Rows without a colour drop the term on both sides.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

# Colours of the cluster side off the sequence (binaries, stragglers, bad photometry).
OFF_SEQUENCE_SHARE = 0.05
# Unresolved binaries: a share of the members (fitted, within these bounds, from a first
# guess) lies between the single-star sequence and the equal-mass binaries, which are
# 0.75 mag brighter at the colour of one of their stars.
BINARY_SHARE_START, BINARY_SHARE_RANGE = 0.3, (0.05, 0.7)
EQUAL_MASS_BINARY = 2.5 * np.log10(2.0)
# Bins of G in which the sequence's colour and width are measured.
BIN_WIDTH = 0.5
# Membership weight a bin needs to give the sequence a point; across thinner bins the
# sequence runs straight between its neighbours' points.
MIN_BIN_WEIGHT = 3.0
# No sequence is narrower than this (mag): Gaia's colour calibration and the spread of
# a real cluster's single stars.
MIN_WIDTH = 0.02
_SIGMA_PER_MAD = 1.4826


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, q * cumulative[-1])])


class ClusterSequence:
    """p(colour | G) of the cluster, remeasured from the membership when the mixture asks
    (`update`: at its EM steps 1, 2, 4, 8...)."""

    def __init__(self, magnitudes: np.ndarray, colours: np.ndarray) -> None:
        self.known = np.isfinite(magnitudes) & np.isfinite(colours)
        self.g = magnitudes[self.known]
        self.colour = colours[self.known]
        self.edges = np.arange(self.g.min(), self.g.max() + BIN_WIDTH, BIN_WIDTH)
        self.cell = np.clip(np.searchsorted(self.edges, self.g, side="right") - 1, 0,
                            max(len(self.edges) - 2, 0))
        low, high = np.quantile(self.colour, [0.001, 0.999])
        self.log_uniform = -np.log(max(high - low, 0.5))
        self.binary_share = BINARY_SHARE_START
        # Each known row's chance, were it a member, of being a single star on the
        # sequence (not a binary, not off it): the weight it gets when the sequence is
        # measured, from the last update (all ones until then).
        self.single_ = np.ones(len(self.g))
        self.log_density_ = np.zeros(len(magnitudes))

    @property
    def outliers(self) -> tuple[float, float]:
        """(share, log density) of the colours off any sequence: the field has them too
        (FieldModel.log_density)."""
        return OFF_SEQUENCE_SHARE, self.log_uniform

    def _measured_bins(self, weights: np.ndarray) -> np.ndarray:
        """The G bins holding enough membership weight to give the sequence a point."""
        per_bin = np.bincount(self.cell, weights=weights, minlength=max(len(self.edges) - 1, 1))
        return np.flatnonzero(per_bin >= MIN_BIN_WEIGHT)

    def sequence(self, membership: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """The sequence's colour and width at each known row's G, and the colour of the
        equal-mass binaries there (the single stars' colour 0.75 mag fainter, never bluer
        than the sequence); None when no bin holds enough members to measure one.

        Each bin with enough members gives a point (weighted median G, weighted median
        colour), and the sequence runs straight between those points: a faint main
        sequence reddens by up to 0.4 mag per magnitude, so one colour per 0.5-mag bin
        would put the bin's edges a tenth of a magnitude off it. The width is the weighted
        median absolute offset from that line (x 1.4826), bin by bin, interpolated alike.

        Both are measured from the single stars: each member weighted by its chance of
        being one (`single_`). Unresolved binaries all lie to the red of the sequence, so
        a median over every member puts the sequence too red and too wide, and field
        stars to its blue then look more like members than they are (9 injections into
        the Pleiades cone with DR3's colour noise: over the rows given 0.05 <= p < 0.97,
        the probabilities' sum exceeded the members by 122, and now by 103).
        """
        measured = self._measured_bins(membership[self.known])
        if not len(measured):
            return None
        # (+1e-12: a bin whose members are all far off the sequence still has weights)
        weights = membership[self.known] * (self.single_ + 1e-12)
        bins = [self.cell == cell for cell in measured]
        g_points = np.array([_weighted_quantile(self.g[b], weights[b], 0.5) for b in bins])
        c_points = np.array([_weighted_quantile(self.colour[b], weights[b], 0.5) for b in bins])
        centre = np.interp(self.g, g_points, c_points)
        offset = np.abs(self.colour - centre)
        w_points = np.array([_SIGMA_PER_MAD * _weighted_quantile(offset[b], weights[b], 0.5)
                             for b in bins])
        width = np.maximum(np.interp(self.g, g_points, w_points), MIN_WIDTH)
        # Binaries lie to the red: where the measured sequence turns blue towards faint G
        # (DR3 overestimates faint BP fluxes, Riello et al. 2021: the Pleiades' members
        # run 0.5 mag bluer from G 20.2 to 20.8), the single stars 0.75 mag fainter are no
        # guide to the binaries' colour, which a brighter system's flux keeps red, and a
        # band reaching to the blue took in the field stars there (p 0.4-0.7 at 2-3
        # widths to the blue in an injection at 500 pc, none of them members).
        binary = np.maximum(np.interp(self.g + EQUAL_MASS_BINARY, g_points, c_points), centre)
        return centre, width, binary

    def coverage(self, membership: np.ndarray) -> np.ndarray:
        """Rows (of the whole table) with a colour and a G inside the range where the
        members trace their sequence, from its brightest to its faintest measured bin.

        Outside it the sequence is unknown, and extrapolating it is wrong: a main
        sequence bends and reddens towards faint M dwarfs, and a 1,000-solar-mass cluster
        injected at 300 pc into the M67 field lost 44 of its 107 members at G = 20-21 to a
        sequence held flat past its last bin (F1 0.998 -> 0.938, while its probabilities
        promised 9 missed). There the colour is left out on both sides; the next field
        refit measures the sequence again from the members the astrometry found there.
        """
        covered = np.zeros(len(membership), dtype=bool)
        measured = self._measured_bins(membership[self.known])
        if len(measured):
            inside = (self.cell >= measured[0]) & (self.cell <= measured[-1])
            covered[np.flatnonzero(self.known)[inside]] = True
        return covered

    def update(self, membership: np.ndarray, covered: np.ndarray) -> None:
        """Measure the sequence from `membership` and set `log_density_`, log p(colour |
        G, cluster) on the `covered` rows (see `coverage`), 0 elsewhere; it holds until
        the next update, so the mixture's EM sees a fixed term between updates and
        converges (measured at every step, the moving sequence and binary share kept the
        likelihood from settling, and a Pleiades fit ran to its step limit: 20 s).

        The binaries' share is re-estimated here too (an EM step of its own): the stars'
        posterior of lying in the binary band, weighted by membership.
        """
        out = np.zeros(len(membership))
        self.log_density_ = out
        measured = self.sequence(membership)
        if measured is None:
            return
        rows = covered[self.known]
        centre, width, binary = (values[rows] for values in measured)
        colour = self.colour[rows]
        single = np.exp(-0.5 * ((colour - centre) / width) ** 2) / (width * np.sqrt(2 * np.pi))
        # Unresolved binaries: uniform between the single and the equal-mass sequence,
        # blurred by the width (where the two are closer than the width: the single star's).
        span = binary - centre
        band = np.where(span > width,
                        (ndtr((colour - centre) / width) - ndtr((colour - binary) / width))
                        / np.maximum(span, 1e-12), single)
        on_sequence = (1.0 - self.binary_share) * single + self.binary_share * band
        density = ((1.0 - OFF_SEQUENCE_SHARE) * on_sequence
                   + OFF_SEQUENCE_SHARE * np.exp(self.log_uniform))
        on_sequence_per_density = (1.0 - OFF_SEQUENCE_SHARE) / density
        self.single_[rows] = (1.0 - self.binary_share) * single * on_sequence_per_density
        weights = membership[self.known][rows]
        if weights.sum() > 0:
            in_band = self.binary_share * band * on_sequence_per_density
            self.binary_share = float(np.clip(weights @ in_band / weights.sum()
                                              / (1.0 - OFF_SEQUENCE_SHARE), *BINARY_SHARE_RANGE))
        out[np.flatnonzero(self.known)[rows]] = np.log(density)
