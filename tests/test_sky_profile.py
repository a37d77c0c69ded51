"""The mixture's sky term: the cluster's EFF profile, its outer slope fitted from the data."""

import numpy as np
import pytest

from vocluster.membership.spatial import ClusterOnFootprint


def _eff_positions(rng, n: int, r50: float, slope: float) -> np.ndarray:
    """Positions drawn from the surface density (1 + R^2/a^2)^(-slope/2) with half-number
    radius r50 (inverting N(<R) = 1 - (1 + R^2/a^2)^(1 - slope/2))."""
    a = r50 / np.sqrt(2.0 ** (2.0 / (slope - 2.0)) - 1.0)
    radius = a * np.sqrt((1.0 - rng.uniform(size=n)) ** (1.0 / (1.0 - slope / 2.0)) - 1.0)
    angle = rng.uniform(0, 2 * np.pi, n)
    return np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])


@pytest.mark.parametrize("slope, fitted", [(3.0, 4.0), (4.0, 4.0), (6.0, 6.0), (8.0, 8.0)])
def test_the_outer_slope_and_r50_are_recovered(slope, fitted):
    """A Plummer cluster (slope 4) and ones that thin out faster, like King clusters
    towards their tidal radius (6, 8), each in a uniform field of 4,000 stars; a cluster
    with a heavier halo (3) is given Plummer's slope, the shallowest allowed."""
    rng = np.random.default_rng(int(slope))
    cluster = _eff_positions(rng, 1500, 0.1, slope)
    field = rng.uniform(-1.0, 1.0, (4000, 2))
    positions = np.concatenate([cluster, field])
    inside = np.abs(positions).max(axis=1) <= 1.0
    positions = positions[inside]
    membership = np.concatenate([np.ones(len(cluster)), np.zeros(len(field))])[inside]
    sky = ClusterOnFootprint(positions)
    for _ in range(5):
        sky.update(membership)
    assert sky.slope == pytest.approx(fitted, rel=0.15)
    assert sky.r50 == pytest.approx(0.1, rel=0.15)
    assert np.hypot(*sky.centre) < 0.01


def test_a_steep_cluster_gives_its_outskirts_a_smaller_share_than_plummer_would():
    """Beyond 3 r50 of a steep cluster, Plummer's R^-4 tail claims field stars as members
    that the fitted profile leaves to the field."""
    rng = np.random.default_rng(5)
    cluster = _eff_positions(rng, 1000, 0.1, 8.0)
    positions = np.concatenate([cluster[np.abs(cluster).max(axis=1) <= 1.0],
                                rng.uniform(-1.0, 1.0, (4000, 2))])
    membership = (np.arange(len(positions)) < len(positions) - 4000).astype(float)
    fitted, plummer = ClusterOnFootprint(positions), ClusterOnFootprint(positions)
    for _ in range(5):
        fitted.update(membership)
        plummer.update(membership, fit_slope=False)
    far = np.hypot(*positions.T) > 0.3
    weight = membership.mean()
    assert plummer.slope == 4.0
    assert (fitted.cluster_share(weight, membership)[far].mean()
            < 0.5 * plummer.cluster_share(weight, membership)[far].mean())
