"""The colour term of the calibrated mixture: a cluster's members lie on one sequence in
the colour-magnitude diagram, field stars that share its motion within their errors do not."""

import numpy as np
import pytest
from helpers import f1_score
from test_real_field_cases import BOX, _stars, _table

from vocluster.membership.field import FieldColours
from vocluster.membership.photometry import MIN_WIDTH, ClusterSequence
from vocluster.membership.pipeline import MembershipOptions, Target, find_members


def _sequence_colour(g: np.ndarray) -> np.ndarray:
    return 0.6 + 0.12 * (g - 14)


def test_the_sequence_is_measured_from_the_members_and_judges_colours_by_it():
    rng = np.random.default_rng(0)
    g = rng.uniform(14, 21, 3000)
    member = np.arange(3000) < 400
    colour = np.where(member, _sequence_colour(g) + rng.normal(0, 0.05, 3000),
                      rng.uniform(0.4, 2.6, 3000))
    colour[::50] = np.nan  # no BP-RP for some stars
    sequence = ClusterSequence(g, colour)
    centres, widths, _ = sequence.sequence(member.astype(float))
    known = np.isfinite(colour)
    offsets = np.abs(centres - _sequence_colour(g[known]))
    assert np.median(offsets) < 0.02 and offsets.max() < 0.06  # flat past the end bins
    assert np.all(widths >= MIN_WIDTH) and np.median(widths) == pytest.approx(0.05, abs=0.015)
    covered = sequence.coverage(member.astype(float))
    assert np.array_equal(covered, np.isfinite(colour))
    sequence.update(member.astype(float), covered)
    log_p = sequence.log_density_
    assert np.all(log_p[np.isnan(colour)] == 0)  # no colour: no term
    on = np.abs(colour - _sequence_colour(g)) < 0.05
    off = np.abs(colour - _sequence_colour(g)) > 0.5
    assert np.median(log_p[on]) > np.median(log_p[off]) + 3
    # Members only brighter than G = 18: fainter, the sequence is unknown, not extrapolated.
    bright = member & (g < 18)
    covered = sequence.coverage(bright.astype(float))
    assert not covered[g > 18.5].any() and covered[(g < 17.5) & np.isfinite(colour)].all()
    sequence.update(bright.astype(float), covered)
    assert np.all(sequence.log_density_[g > 18.5] == 0)
    assert sequence.sequence(np.zeros(3000)) is None  # no members, no sequence
    sequence.update(np.zeros(3000), np.ones(3000, bool))
    assert np.all(sequence.log_density_ == 0)


def test_unresolved_binaries_in_the_band_above_the_sequence_are_not_called_off_it():
    rng = np.random.default_rng(3)
    n_members, n_field = 1000, 3000
    single_g = rng.uniform(14, 21, n_members)
    colour = _sequence_colour(single_g) + rng.normal(0, 0.03, n_members)
    binary = rng.uniform(size=n_members) < 0.35
    g = single_g - np.where(binary, rng.uniform(0, 0.75, n_members), 0.0)  # brighter
    g = np.concatenate([g, rng.uniform(14, 21, n_field)])
    colour = np.concatenate([colour, rng.uniform(0.4, 2.6, n_field)])
    member = (np.arange(n_members + n_field) < n_members).astype(float)
    sequence = ClusterSequence(g, colour)
    covered = sequence.coverage(member)
    for _ in range(10):
        sequence.update(member, covered)
    log_p = sequence.log_density_
    # Binaries only slightly brighter than their single star pass as single stars (the
    # measured width takes them in), so the fitted share is below the true 0.35.
    assert 0.05 < sequence.binary_share < 0.45
    binaries = np.flatnonzero(binary)
    far_off = n_members + np.flatnonzero(
        np.abs(colour[n_members:] - _sequence_colour(g[n_members:])) > 0.5)
    assert np.median(log_p[binaries]) > np.median(log_p[far_off]) + 2


def test_a_sequence_turning_blue_at_the_faint_end_keeps_its_binaries_to_the_red():
    """DR3 overestimates faint BP fluxes, so a real sequence turns blue at the faint end
    (the Pleiades' members by 0.5 mag from G 20.2 to 20.8). The single stars 0.75 mag
    fainter are then bluer, yet binaries stay red of the sequence: a field star to its
    blue must not pass for a binary."""
    rng = np.random.default_rng(5)

    def turning(g):
        return np.where(g < 19.5, _sequence_colour(g), _sequence_colour(19.5) - (g - 19.5))

    g_members = rng.uniform(14, 21, 2000)
    probes = np.array([19.8, 19.8])
    g = np.concatenate([g_members, rng.uniform(14, 21, 3000), probes])
    colour = np.concatenate([turning(g_members) + rng.normal(0, 0.1, 2000),
                             rng.uniform(0.4, 2.6, 3000), turning(probes) + np.array([0.0, -0.3])])
    member = (np.arange(len(g)) < 2000).astype(float)
    sequence = ClusterSequence(g, colour)
    covered = sequence.coverage(member)
    for _ in range(5):
        sequence.update(member, covered)
    centres, _, binaries = sequence.sequence(member)
    assert np.all(binaries >= centres)
    on_sequence, three_widths_blue = sequence.log_density_[-2:]
    assert on_sequence - three_widths_blue > 3  # as a Gaussian's tail, not a binary band


@pytest.mark.parametrize("seed", [1, 2])
def test_faint_members_of_a_distant_cluster_are_told_from_comoving_field_stars_by_colour(seed):
    """A 4 kpc cluster whose faint members' errors (1 mas/yr at G = 21) cover the field's
    motions: with BP-RP the mixture keeps the members on the sequence and drops the field
    stars off it, and its probabilities still count what they claim."""
    rng = np.random.default_rng(seed)
    field = _stars(rng, 6000, 100.0, 10.0, (BOX / 2, BOX / 2), (0.3, -0.8), 1.0, 0.3, 0.25,
                   (14, 21))
    field["bp_rp"] = rng.uniform(0.4, 2.6, 6000)
    cluster = _stars(rng, 150, 100.0, 10.0, 0.03, (0.6, -1.1), 0.03, 0.25, 0.01, (14, 21))
    cluster["bp_rp"] = _sequence_colour(cluster["phot_g_mean_mag"]) + rng.normal(0, 0.05, 150)
    table, truth = _table(field, cluster)
    target = Target("distant", 0.6, -1.1, 0.25, 100.0, 10.0)
    scores = {}
    for use in (False, True):
        result = find_members(table, MembershipOptions(target=target, cluster_sequence=use))
        assert result.metadata["cluster_sequence"] is use
        p = np.asarray(result.table["member_prob"].filled(0.0))
        member = p >= 0.5
        scores[use] = f1_score(truth, member)
        if use:
            assert abs(p[member].sum() - (member & truth).sum()) <= 0.1 * member.sum()
    assert scores[True] >= 0.9 and scores[True] >= scores[False] + 0.05, scores


def test_a_field_star_with_a_wild_colour_is_not_taken_for_a_member_with_a_bad_colour():
    """Faint field stars moving like a distant cluster within their errors, whose BP-RP
    went wrong (far outside the field's colours): the colour must not make them look more
    like members than their astrometry does. Bad photometry is the field's as well as the
    cluster's; with it on the cluster's side only, their colours counted for the cluster."""
    rng = np.random.default_rng(4)
    field = _stars(rng, 6000, 100.0, 10.0, (BOX / 2, BOX / 2), (0.3, -0.8), 1.0, 0.3, 0.25,
                   (14, 21))
    field["bp_rp"] = rng.uniform(0.4, 2.6, 6000)
    cluster = _stars(rng, 150, 100.0, 10.0, 0.03, (0.6, -1.1), 0.03, 0.25, 0.01, (14, 21))
    cluster["bp_rp"] = _sequence_colour(cluster["phot_g_mean_mag"]) + rng.normal(0, 0.05, 150)
    wild = _stars(rng, 40, 100.0, 10.0, 0.1, (0.6, -1.1), 0.03, 0.25, 0.01, (20, 21))
    wild["bp_rp"] = np.where(rng.uniform(size=40) < 0.5, rng.uniform(-1.0, 0.0, 40),
                             rng.uniform(3.2, 4.5, 40))
    table, _ = _table(field, cluster, wild)
    is_wild = np.arange(len(table)) >= 6150
    target = Target("distant", 0.6, -1.1, 0.25, 100.0, 10.0)
    mean_p = {}
    for use in (False, True):
        result = find_members(table, MembershipOptions(target=target, cluster_sequence=use))
        mean_p[use] = float(np.asarray(result.table["member_prob"].filled(0.0))[is_wild].mean())
    assert mean_p[True] <= mean_p[False] + 0.02, mean_p


def test_the_fields_colours_follow_its_sequence_at_each_parallax():
    """p(BP-RP | G, parallax) of the field: nearby and distant field stars of one G have
    different colours, and the field's density at the cluster's distance must be the one
    of the field's own sequence there, as sharp as it is (a Gaussian mixture in colour
    spread it, and field stars on the cluster's sequence got the colour's credit)."""
    rng = np.random.default_rng(0)
    n = 40_000
    g = rng.uniform(14, 20, n)
    near = rng.random(n) < 0.5
    parallax = np.where(near, rng.normal(5.0, 0.3, n), rng.normal(0.5, 0.3, n))
    colour = (np.where(near, 1.0 + 0.3 * (g - 14), 0.6 + 0.1 * (g - 14))
              + rng.normal(0, 0.04, n))
    field = FieldColours(g, colour, parallax)
    field.fit(np.ones(n, dtype=bool))
    grid = np.arange(-1.0, 4.0, 0.005)

    def density(mag: float, plx: float) -> np.ndarray:
        ones = np.ones(len(grid))
        return np.exp(field.log_density(mag * ones, grid, plx * ones))

    for plx, peak in ((5.0, 1.9), (0.5, 0.9)):
        at = density(17.0, plx)
        assert np.sum(at) * 0.005 == pytest.approx(1.0, abs=0.02)
        assert grid[np.argmax(at)] == pytest.approx(peak, abs=0.06)
        assert at.max() > 3.0  # a 0.04-mag sequence stays sharp: > 3 per mag at its peak
    # Only the near half is taught: a sparse cell borrows its G slice's colours, never 0.
    field.fit(near)
    assert density(17.0, 0.5).min() > 0
    assert grid[np.argmax(density(17.0, 0.5))] == pytest.approx(1.9, abs=0.06)


def test_one_wild_magnitude_or_colour_does_not_blow_up_the_fields_colour_table():
    rng = np.random.default_rng(1)
    g, colour = rng.uniform(14, 20, 5000), rng.normal(1.2, 0.4, 5000)
    g[0], colour[1] = 1e6, 1e7  # a corrupt row: bins to there would need gigabytes
    field = FieldColours(g, colour, rng.normal(1.0, 0.8, 5000))
    assert np.prod(field.shape) < 100_000
    field.fit(np.ones(5000, dtype=bool))
    assert np.all(np.isfinite(field.log_density(g[:3], colour[:3], np.ones(3))))
