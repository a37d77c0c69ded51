"""The PAndAS-like simulator: seeded, displayed like the released stamps, clusters resolved."""

import numpy as np
from scipy.ndimage import maximum_filter

from vocluster.datasets.ground_stamps import simulate_ground_stamps


def _sky(image: np.ndarray) -> tuple[float, float]:
    """Median and robust sigma of the top rows, away from the centred object."""
    edge = image[:16]
    level = float(np.median(edge))
    return level, float(1.4826 * np.median(np.abs(edge - level)))


def _resolved_stars(image: np.ndarray, inner: float = 8.0, outer: float = 40.0) -> int:
    """Unsaturated local maxima 5 sigma above the sky, in an annulus about the centre."""
    level, sigma = _sky(image)
    y, x = np.indices(image.shape)
    r = np.hypot(x - image.shape[1] / 2, y - image.shape[0] / 2)
    peaks = ((image == maximum_filter(image, 5)) & (image > level + 5 * sigma) & (image < 255)
             & (r > inner) & (r < outer))
    return int(peaks.sum())


def test_the_simulator_is_seeded_and_shows_both_classes():
    first, again = simulate_ground_stamps(12, seed=4), simulate_ground_stamps(12, seed=4)
    np.testing.assert_array_equal(first.stamps, again.stamps)
    assert not np.array_equal(first.stamps, simulate_ground_stamps(12, seed=5).stamps)
    assert first.stamps.shape == (12, 1, 128, 128) and first.stamps.dtype == np.float32
    assert set(first.labels) == {1, 2} and len(first.groups) == len(first.kinds) == 12


def test_stamps_are_displayed_like_the_released_pngs():
    """8-bit values, the sky a little below a quarter of the range, bright cores at 255,
    and sky noise correlated between neighbouring pixels (the released stamps: 0.81)."""
    stamps = simulate_ground_stamps(30, seed=1).stamps[:, 0]
    assert stamps.min() >= 0 and stamps.max() <= 255
    np.testing.assert_array_equal(stamps, np.round(stamps))
    levels = np.array([_sky(image)[0] for image in stamps])
    assert 30 <= np.median(levels) <= 70
    assert np.mean([(image >= 255).any() for image in stamps]) > 0.5
    rows = stamps[:, :16] - levels[:, None, None]
    lag_one = np.mean(rows[:, :, 1:] * rows[:, :, :-1]) / np.mean(rows**2)
    assert 0.6 < lag_one < 0.95


def test_clusters_resolve_into_stars_and_galaxies_do_not():
    simulated = simulate_ground_stamps(80, seed=2)
    counts = np.array([_resolved_stars(image[0]) for image in simulated.stamps])
    clusters, galaxies = counts[simulated.labels == 1], counts[simulated.labels == 2]
    assert np.median(clusters) >= np.median(galaxies) + 2
