"""Magnitude terms of the cluster/field mixture: the field's astrometry depends on G.

A bright field star is usually a nearby one, with a large parallax and proper motion; a
faint one is usually distant. One field density for all magnitudes is too thin near a
nearby cluster for bright stars and too broad for faint ones. So the field's features
given G come from a Gaussian mixture in (features, G), times the field's own G histogram,
and the cluster, whose kinematics do not depend on G, brings its own G distribution (its
luminosity function, measured from the members).
Both sides then describe the same (features, G) data; rows without G drop G on both
sides (the field's marginal in the features, no G term for the cluster).

The field's colours given G and parallax (`FieldColours`) are a smoothed histogram, not
one more dimension of the mixture: see there why.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.special import logsumexp
from sklearn.mixture import GaussianMixture

_LOG_2PI = np.log(2.0 * np.pi)
# The field's G histogram is smoothed by 0.25 mag: thousands of stars define it, and the
# completeness edge it must follow is about that sharp.
FIELD_G_SMOOTHING = 0.25
# EM steps of a refit (which starts from the last fit and only has to fill the hole the
# cluster left): on real fields it settles in 5-11, with or without BP-RP; on the
# synthetic 50k cone, whose field colours come in a few narrow sequences, BP-RP made it
# creep on for 50-64 steps (2.5 s) at no gain in the membership.
REFIT_MAX_ITER = 25
# FieldColours: BP-RP in 0.05-mag bins smoothed by one bin (sharper than any cluster's
# sequence), G in 0.25-mag bins, parallax in equal-count bins of the field, linear
# between bin centres; a sparse cell is shrunk towards its G slice's colours, and a slice
# towards all the field's, by this many stars.
COLOUR_BIN = 0.05
COLOUR_G_BIN = 0.25
PARALLAX_BINS = 8
PRIOR_STARS = 20.0


def _marginal_log_density(points: np.ndarray, gmm: GaussianMixture, dims: list[int]
                          ) -> np.ndarray:
    """log density of the mixture marginalised to its dimensions `dims` (points' columns)."""
    parts = []
    for weight, mean, cov in zip(gmm.weights_, gmm.means_, gmm.covariances_, strict=True):
        chol = np.linalg.cholesky(cov[np.ix_(dims, dims)])
        solved = np.linalg.solve(chol, (points - mean[dims]).T)
        log_det = 2.0 * np.sum(np.log(np.diag(chol)))
        parts.append(np.log(weight) - 0.5 * (np.sum(solved**2, axis=0) + log_det
                                             + len(dims) * _LOG_2PI))
    return logsumexp(np.array(parts), axis=0)


def _bin_index(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)


def _between(values: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lower centre's index, share of the upper one) of each value; flat beyond the ends."""
    position = np.interp(values, centres, np.arange(len(centres), dtype=float))
    low = np.floor(position).astype(int)
    return low, position - low


class MagnitudeHistogram:
    """A G distribution as a smoothed, weighted histogram (the cluster's or the field's).

    A histogram follows a survey's sharp completeness edge; Gaussians in G cannot, so
    both sides of the mixture measure their G distributions this way.
    """

    def __init__(self, magnitudes: np.ndarray, smoothing: float, floor: float,
                 renormalise_at_edges: bool, bin_width: float = 0.25) -> None:
        self.known = np.isfinite(magnitudes)
        g = magnitudes[self.known]
        self.edges = np.arange(g.min() - 1.0, g.max() + 1.0 + bin_width, bin_width)
        self.cell = _bin_index(g, self.edges)
        self.bin_width = bin_width
        self.sigma_bins = smoothing / bin_width
        self.floor = floor
        # With `renormalise_at_edges`, the kernel is renormalised inside the table's own G
        # range, so no density spills past the survey's limit (and none is missing just
        # inside it).
        self.inside = np.ones(len(self.edges) - 1)
        self.coverage = self.inside
        if renormalise_at_edges:
            self.inside = np.zeros(len(self.edges) - 1)
            self.inside[self.cell.min():self.cell.max() + 1] = 1.0
            self.coverage = np.maximum(
                gaussian_filter1d(self.inside, self.sigma_bins, mode="constant"), 1e-12)

    def binned_density(self, weights: np.ndarray) -> np.ndarray:
        """p(G) in each bin from the rows' weights."""
        counts = np.bincount(self.cell, weights=weights[self.known],
                             minlength=len(self.edges) - 1)
        smooth = gaussian_filter1d(counts, self.sigma_bins, mode="constant")
        smooth = smooth / self.coverage * self.inside
        density = smooth / max(smooth.sum(), 1e-12) / self.bin_width
        # Stars can be anywhere in G (a few strays, unresolved binaries): never exactly 0.
        uniform = 1.0 / (self.edges[-1] - self.edges[0])
        return (1 - self.floor) * density + self.floor * uniform

    def log_density(self, weights: np.ndarray) -> np.ndarray:
        """log p(G) per row from the rows' weights; 0 where G is unknown."""
        out = np.zeros(len(weights))
        out[self.known] = np.log(self.binned_density(weights)[self.cell])
        return out

    def log_density_at(self, magnitudes: np.ndarray, density: np.ndarray) -> np.ndarray:
        """log of a binned density at any G (the edge bins beyond the range)."""
        return np.log(density[_bin_index(magnitudes, self.edges)])


class ClusterMagnitudes(MagnitudeHistogram):
    """The cluster's own G distribution, weighted by membership.

    Smoothed by a 1-mag Gaussian: a cluster's luminosity function follows its mass
    function and changes slowly with G. A narrower kernel (0.5 mag) let a sparse distant
    cluster's histogram follow the faint field stars it had claimed, which then looked
    more like members still (120 true members counted as 160-200). Not renormalised at
    the table's G limits: with a kernel this wide, that would extrapolate the last bins
    from one side, from the few faint stars a sparse cluster holds, which are mostly the
    field stars it claimed (the Berkeley 29 preset then counted 1.24 times its members,
    against 0.96 without).
    """

    def __init__(self, magnitudes: np.ndarray) -> None:
        super().__init__(magnitudes, smoothing=1.0, floor=0.01, renormalise_at_edges=False)


class FieldColours:
    """p(BP-RP | G, parallax) of the field: a smoothed histogram of the field's rows.

    At the cluster's distance and magnitude the field's own stars lie on the field's main
    sequence, close to the cluster's; how many of them do is what the colour term must
    weigh a star on the cluster's sequence against. With BP-RP as one more dimension of
    the field's 8 Gaussians, the field's colours at a given G and parallax came out too
    broad: the mixture cannot follow the main sequence of the field at every distance at
    once. Field stars that sat on the cluster's sequence then looked rarer in the field
    than they were, and got the colour term's credit: among the field stars near them in
    G, parallax and motion, colours like theirs were 1.3-1.45 times as common as the
    mixture said. A histogram conditioned on G and parallax follows the field's
    sequences as they are; the parallax is binned at the field's quantiles, so the bins
    suit any field, and the first fit's kinematic hole around the cluster hardly changes
    the colours of the stars at its parallax. On 9 clusters injected into the Pleiades
    cone (500-1500 pc x 300-3000 solar masses), stars given p 0.43 / 0.57 / 0.72 were
    members 31 / 47 / 68% of the time with the mixture's colours, and 38 / 50 / 72% with
    the histogram (ECE over p >= 0.05: 0.0096 -> 0.0058).
    """

    def __init__(self, magnitudes: np.ndarray, colours: np.ndarray,
                 parallax: np.ndarray | None) -> None:
        self.known = np.isfinite(magnitudes) & np.isfinite(colours)
        if parallax is not None:
            self.known &= np.isfinite(parallax)
        g, c = magnitudes[self.known], colours[self.known]
        # The bins span the bulk of the values (beyond it, the edge bins): one row with a
        # wild G or colour (1e6) must not make the table hold billions of empty bins.
        low, high = np.quantile(c, [0.001, 0.999])
        self.colour_edges = np.arange(low - 0.5, high + 0.5 + COLOUR_BIN, COLOUR_BIN)
        g_low, g_high = np.quantile(g, [0.001, 0.999])
        g_edges = np.arange(g_low, g_high + 2 * COLOUR_G_BIN, COLOUR_G_BIN)
        self.g_centres = 0.5 * (g_edges[1:] + g_edges[:-1])
        self.parallax_centres = np.zeros(1)
        parallax_index = np.zeros(len(g), dtype=int)
        plx = None if parallax is None else parallax[self.known]
        quantiles = np.linspace(0, 1, PARALLAX_BINS + 1)
        edges = np.zeros(1) if plx is None else np.unique(np.quantile(plx, quantiles))
        if len(edges) > 1:  # else one parallax bin: all the stars share one value
            parallax_index = _bin_index(plx, edges)
            self.parallax_centres = np.array([  # medians: the outer bins reach far
                np.median(plx[parallax_index == i]) if np.any(parallax_index == i)
                else 0.5 * (edges[i] + edges[i + 1]) for i in range(len(edges) - 1)])
        self.shape = (len(self.g_centres), len(self.parallax_centres),
                      len(self.colour_edges) - 1)
        self.cell = np.ravel_multi_index(
            (_bin_index(g, g_edges), parallax_index, _bin_index(c, self.colour_edges)),
            self.shape)
        self.table = np.ones(self.shape) / (self.shape[2] * COLOUR_BIN)

    def fit(self, field: np.ndarray) -> None:
        """Measure the histogram from the rows marked `field` (all of them, not a sample)."""
        counts = np.bincount(self.cell, weights=field[self.known].astype(float),
                             minlength=int(np.prod(self.shape))).reshape(self.shape)
        smooth = gaussian_filter1d(counts, 1.0, axis=2, mode="constant")
        # A cell borrows from its G slice, and a slice from all G: where the cluster is
        # most of the stars (the bright end of a nearby cluster), the field's colours are
        # then those of its stars elsewhere, never nothing.
        every_g = smooth.sum(axis=(0, 1))
        every_g = every_g / max(every_g.sum(), 1e-12)
        g_slice = smooth.sum(axis=1, keepdims=True)
        g_slice = ((g_slice + PRIOR_STARS * every_g)
                   / (g_slice.sum(axis=2, keepdims=True) + PRIOR_STARS))
        per_cell = smooth.sum(axis=2, keepdims=True)
        self.table = (smooth + PRIOR_STARS * g_slice) / (per_cell + PRIOR_STARS) / COLOUR_BIN

    def log_density(self, magnitudes: np.ndarray, colours: np.ndarray,
                    parallax: np.ndarray | None) -> np.ndarray:
        """log p(BP-RP | G, parallax) of rows that have all three: linear between the
        centres of the G and parallax bins, so that the density has no steps there."""
        colour = _bin_index(colours, self.colour_edges)
        g_low, g_share = _between(magnitudes, self.g_centres)
        p_low, p_share = _between(np.zeros(len(magnitudes)) if parallax is None else parallax,
                                  self.parallax_centres)
        density = np.zeros(len(magnitudes))
        for g_step, g_weight in ((0, 1 - g_share), (1, g_share)):
            g_bin = np.minimum(g_low + g_step, self.shape[0] - 1)
            for p_step, p_weight in ((0, 1 - p_share), (1, p_share)):
                p_bin = np.minimum(p_low + p_step, self.shape[1] - 1)
                density += g_weight * p_weight * self.table[g_bin, p_bin, colour]
        return np.log(np.maximum(density, 1e-300))


class FieldModel:
    """Gaussian mixture of the field, in (features, G) when magnitudes are given, with the
    field's own G histogram in place of the mixture's G marginal, and its colours given G
    and parallax from `FieldColours` (see `log_density`)."""

    def __init__(self, n_components: int, sample_size: int, rng: np.random.Generator,
                 tol: float = 1e-2, refit_tol: float = 1e-3,
                 parallax_column: int | None = None) -> None:
        # tol on the mean log-likelihood: 1e-2 halves the EM steps of sklearn's 1e-3 on the
        # first fit, which buys a sample twice as large (less seed-to-seed jitter) in the
        # same time. A refit starts from the last fit and must move only where the rows
        # changed (the hole the first fit left at the cluster's motion): that is a small
        # part of the data, and its first EM step changes the mean log-likelihood by less
        # than 1e-2, so at that tolerance the refit would stop at once and keep the hole.
        # The Berkeley 29 preset (8 data seeds) counted 1.31x its members with 1e-2 on the
        # refit and 0.93x with 1e-3.
        self.n_components = n_components
        self.sample_size = sample_size
        self.tol = tol
        self.refit_tol = refit_tol
        self.rng = rng
        self.parallax_column = parallax_column  # of the features, to condition colours on
        self.gmm: GaussianMixture | None = None
        self.magnitudes: MagnitudeHistogram | None = None
        self.g_density: np.ndarray | None = None
        self.colours: FieldColours | None = None

    def _parallax(self, x: np.ndarray) -> np.ndarray | None:
        return None if self.parallax_column is None else x[:, self.parallax_column]

    def fit(self, x: np.ndarray, magnitudes: np.ndarray | None, field: np.ndarray,
            colours: np.ndarray | None = None) -> FieldModel:
        """(Re)fit on a sample of the rows marked `field`, starting from the last fit;
        `colours` (BP-RP, with `magnitudes` only) get the field's colour histogram.

        Starting from the previous fit converges in a few steps and does not wander to
        another local optimum, so the result hardly depends on the seed.
        """
        points = x if magnitudes is None else np.column_stack([x, magnitudes])
        finite = np.isfinite(points).all(axis=1)
        idx = np.flatnonzero(field & finite)
        if len(idx) < 10 * points.shape[1]:
            raise ValueError(f"only {len(idx)} stars are left outside the cluster to model the "
                             "field: the table is mostly one group, or the cluster the seed "
                             "gave is the field itself")
        if len(idx) > self.sample_size:
            idx = np.sort(self.rng.choice(idx, self.sample_size, replace=False))
        k = int(min(self.n_components, max(1, len(idx) // 50)))
        start, tol, max_iter = {}, self.tol, 200
        if self.gmm is not None and self.gmm.n_components == k:
            start = {"weights_init": self.gmm.weights_, "means_init": self.gmm.means_,
                     "precisions_init": self.gmm.precisions_}
            tol, max_iter = self.refit_tol, REFIT_MAX_ITER
        self.gmm = GaussianMixture(k, covariance_type="full", reg_covar=1e-4, max_iter=max_iter,
                                   tol=tol,
                                   random_state=int(self.rng.integers(2**31 - 1)), **start)
        self.gmm.fit(points[idx])
        if magnitudes is not None:
            if self.magnitudes is None:
                self.magnitudes = MagnitudeHistogram(magnitudes, FIELD_G_SMOOTHING, floor=1e-3,
                                                     renormalise_at_edges=True)
            self.g_density = self.magnitudes.binned_density((field & finite).astype(float))
            if colours is not None:
                if self.colours is None:
                    self.colours = FieldColours(magnitudes, colours, self._parallax(x))
                self.colours.fit(field)
        return self

    def log_density(self, x: np.ndarray, magnitudes: np.ndarray | None,
                    colours: np.ndarray | None = None,
                    colour_outliers: tuple[float, float] | None = None) -> np.ndarray:
        """log p(features, G[, BP-RP]) per row; the dimensions a row lacks (or the fit did
        not use) are marginalised out.

        With G: the mixture's p(features | G) times the field's measured G histogram. The
        mixture's own p(G), a sum of Gaussians, cannot follow the sharp completeness edge
        at the faint end: it spills past the edge and is too thin just before it, where a
        distant cluster's faint stars are, and 2.4 times too many faint field stars there
        looked like members in a G < 22 field.

        With BP-RP as well: times p(BP-RP | G, parallax) of `FieldColours`, of which
        `colour_outliers` = (share, log density) is spread like the cluster's off-sequence
        colours (photometry.py). Gaia's BP and RP fluxes of faint or crowded stars go
        wrong for field stars as often as for members; with outliers on the cluster's
        side only, a field star whose colour lay in the field's tails looked like a
        member with a bad colour (in the Pleiades cone, field stars at G 20.5-21, 30-40
        sequence widths off it and with 2 mas parallax errors, got p 0.4-0.45).
        """
        d = x.shape[1]
        if magnitudes is None:
            return self.gmm.score_samples(x)
        known = np.isfinite(magnitudes)
        out = np.empty(len(x))
        if known.any():
            g = magnitudes[known]
            out[known] = (self.gmm.score_samples(np.column_stack([x[known], g]))
                          + self.magnitudes.log_density_at(g, self.g_density)
                          - _marginal_log_density(g[:, None], self.gmm, [d]))
        if self.colours is not None and colours is not None:
            rows = known & np.isfinite(colours)
            parallax = self._parallax(x)
            log_colour = self.colours.log_density(
                magnitudes[rows], colours[rows], None if parallax is None else parallax[rows])
            if colour_outliers is not None:
                share, log_outlier = colour_outliers
                log_colour = np.logaddexp(np.log1p(-share) + log_colour,
                                          np.log(share) + log_outlier)
            out[rows] += log_colour
        if not known.all():
            out[~known] = _marginal_log_density(x[~known], self.gmm, list(range(d)))
        return out
