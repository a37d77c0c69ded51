"""The radial profile and its Plummer fit, on a cluster larger than its cone."""

import numpy as np

from vocluster.core.profile import radial_profile


def test_plummer_fit_recovers_the_scale_of_a_cluster_cut_by_its_cone():
    rng = np.random.default_rng(3)
    a, cone = 0.3, 0.45  # the cone holds only 69% of the cluster
    u = rng.uniform(0, cone**2 / (cone**2 + a**2), 1500)
    r = a * np.sqrt(u / (1 - u))
    angle = rng.uniform(0, 2 * np.pi, 1500)
    field_r = cone * np.sqrt(rng.uniform(0, 1, 6000))
    field_angle = rng.uniform(0, 2 * np.pi, 6000)
    x = np.concatenate([r * np.cos(angle), field_r * np.cos(field_angle)])
    y = np.concatenate([r * np.sin(angle), field_r * np.sin(field_angle)])
    prob = np.concatenate([np.full(1500, 0.97), np.full(6000, 0.005)])
    profile = radial_profile(120.0 + x / np.cos(np.radians(-30.0)), -30.0 + y, prob)
    assert abs(profile.plummer_a - a) / a < 0.2
    assert profile.footprint_radius < cone * 1.01
    members_r50 = np.median(r)  # what a median of the members inside the cone gives
    assert members_r50 < 0.8 * a < profile.plummer_a  # the fit sees past the cut
    assert np.all(np.diff(profile.radius) > 0) and np.all(profile.error > 0)


def test_too_few_members_give_no_profile():
    assert radial_profile(np.zeros(5), np.zeros(5), np.ones(5)) is None
