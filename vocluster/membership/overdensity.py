"""Find the most significant compact overdensity in astrometric space.

A 3-D histogram is smoothed at a cluster scale and at a background scale; the cell
with the largest excess over the background, in units of the background's Poisson
noise, marks the cluster. Works the same on 3k or 500k stars, in well under a second.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from vocluster.errors import InputError


def _robust_scale(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    centre = np.median(x, axis=0)
    scale = 1.4826 * np.median(np.abs(x - centre), axis=0)
    return centre, np.where(scale > 0, scale, 1.0)


def find_overdensity(x: np.ndarray, errors: np.ndarray, max_bins: int = 64,
                     max_cells: int = 96**3,
                     scales: tuple[float, ...] = (1.0, 2.0, 4.0), background_ratio: float = 5.0,
                     precise_fraction: float = 0.6, min_contrast: float = 3.0) -> np.ndarray:
    """Seed weights (0/1) for the stars in the strongest compact overdensity of `x`.

    Only the most precise `precise_fraction` of stars are histogrammed: faint stars
    with large errors blur a cluster into the field. The grid has at most `max_bins` per
    axis and `max_cells` in all (64 per axis in 3-D, 31 in 4-D, 15 in 5-D).
    Several smoothing scales (in bins) are tried, each against a background
    `background_ratio` times broader.
    """
    if len(x) < 20:
        raise InputError(f"only {len(x)} usable stars: too few to find a cluster")
    relative_error = np.linalg.norm(errors / np.maximum(np.std(x, axis=0), 1e-9), axis=1)
    precise = relative_error <= np.quantile(relative_error, precise_fraction)
    centre, scale = _robust_scale(x[precise])
    z = (x - centre) / scale
    lo = np.quantile(z[precise], 0.001, axis=0)
    hi = np.quantile(z[precise], 0.999, axis=0)
    pad = 0.1 * (hi - lo)
    n_bins = min(max_bins, int(max_cells ** (1.0 / z.shape[1]) + 1e-9))
    edges = [np.linspace(lo[k] - pad[k], hi[k] + pad[k], n_bins + 1) for k in range(z.shape[1])]
    counts, _ = np.histogramdd(z[precise], bins=edges)
    best_score, best_cell, best_scale = 0.0, None, scales[0]
    for small in scales:
        cluster_scale = gaussian_filter(counts, small, mode="constant")
        background = gaussian_filter(counts, small * background_ratio, mode="constant")
        significance = (cluster_scale - background) / np.sqrt(background + 1.0)
        # A broad field peak also stands out in Poisson terms; a cluster is also contrasted.
        significance[cluster_scale < min_contrast * background] = 0.0
        # The field's own mode (distant stars piling up near zero motion) is not a cluster.
        mode = np.array(np.unravel_index(np.argmax(background), background.shape))
        grid = np.indices(counts.shape)
        distance = np.sqrt(sum((grid[k] - mode[k]) ** 2 for k in range(counts.ndim)))
        significance[distance <= 2.0 * small * background_ratio] = 0.0
        cell = np.unravel_index(np.argmax(significance), significance.shape)
        if significance[cell] > best_score:
            best_score, best_cell, best_scale = float(significance[cell]), cell, small
    if best_cell is None:
        raise InputError("no compact overdensity found in proper motion and parallax")
    peak_z = np.array([(edges[k][i] + edges[k][i + 1]) / 2 for k, i in enumerate(best_cell)])
    width = np.array([e[1] - e[0] for e in edges])
    near = np.all(np.abs(z - peak_z) <= 2.0 * best_scale * width, axis=1) & precise
    if near.sum() < 5:
        raise InputError("no compact overdensity found in proper motion and parallax")
    return near.astype(float)
