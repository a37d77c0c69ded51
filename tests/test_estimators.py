"""Each method recovers a synthetic cluster; the default is calibrated and seed-stable."""

import numpy as np
import pytest
from astropy.table import Table
from helpers import f1_score

from vocluster.core.features import FEATURE_SETS
from vocluster.errors import InputError
from vocluster.membership import METHODS, make_estimator
from vocluster.membership.field import FieldModel
from vocluster.membership.mixture import ClusterFieldMixture, log_gaussian_with_errors
from vocluster.membership.pipeline import MembershipOptions, find_members, resolve_target
from vocluster.membership.soft import student_t_assignment

FAST = {"dec": {"pretrain_epochs": 3, "max_steps": 300, "n_init": 2, "device": "cpu"}}


def _astrometry(table):
    x = np.column_stack([np.asarray(table[c]) for c in ("pmra", "pmdec", "parallax")])
    e = np.column_stack([np.asarray(table[c]) for c in
                         ("pmra_error", "pmdec_error", "parallax_error")])
    return x, e


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_recovers_the_cluster_with_the_sklearn_api(method, praesepe_like):
    x, e = _astrometry(praesepe_like)
    truth = np.asarray(praesepe_like["true_member"])
    target = resolve_target("NGC 2632")
    est = make_estimator(method, target_mean=[target.pmra, target.pmdec, target.parallax],
                         **FAST.get(method, {}))
    proba = est.fit(x, X_err=e).predict_proba(x)
    assert proba.shape == (len(x), 2)
    assert np.allclose(proba.sum(axis=1), 1.0) and proba.min() >= 0 and proba.max() <= 1
    assert f1_score(est.predict(x) == 1, truth) > 0.95


@pytest.mark.parametrize("method", ["kmeans", "gmm", "hdbscan"])
def test_raw_probabilities_without_calibration_are_probabilities(method, praesepe_like):
    x, e = _astrometry(praesepe_like)
    est = make_estimator(method, calibrate=False).fit(x, X_err=e)
    assert est.mixture_ is None
    assert est.membership_.min() >= 0.0 and est.membership_.max() <= 1.0


@pytest.mark.slow
def test_dec_consensus_is_deterministic_by_seed(praesepe_like):
    import torch

    x, e = _astrometry(praesepe_like[:3000])
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    runs = [make_estimator("dec", calibrate=False, random_state=7, **FAST["dec"])
            .fit(x, X_err=e).membership_ for _ in range(2)]
    assert np.allclose(runs[0], runs[1], atol=1e-5)
    assert torch.equal(torch.random.get_rng_state(), before)  # the caller's RNG untouched


def test_default_finds_the_cluster_without_catalogue_values(praesepe_like):
    truth = np.asarray(praesepe_like["true_member"])
    result = find_members(praesepe_like)
    member = np.asarray(result.table["is_member"])
    assert f1_score(member, truth) > 0.97
    assert result.summary.pmra == pytest.approx(-35.953, abs=0.1)
    assert result.summary.parallax == pytest.approx(5.371, abs=0.02)


@pytest.mark.parametrize("features", sorted(FEATURE_SETS))
def test_every_feature_set_finds_the_cluster_without_catalogue_values(features, praesepe_like):
    """Blind detection works whatever the feature set, positions included."""
    truth = np.asarray(praesepe_like["true_member"])
    result = find_members(praesepe_like, MembershipOptions(features=features))
    assert f1_score(np.asarray(result.table["is_member"]), truth) > 0.9


def test_default_member_sets_do_not_drift_with_the_seed(praesepe_like):
    sets = []
    for seed in range(3):
        table = find_members(praesepe_like, MembershipOptions(seed=seed)).table
        sets.append(set(np.flatnonzero(np.asarray(table["is_member"]))))
    for other in sets[1:]:
        assert len(sets[0] & other) / len(sets[0] | other) >= 0.98


def test_probabilities_mean_what_they_say(m67_like):
    """Among stars given p, the fraction of true members is close to p (binned)."""
    result = find_members(m67_like)
    p = np.asarray(result.table["member_prob"].filled(np.nan))
    truth = np.asarray(m67_like["true_member"])
    ok = np.isfinite(p)
    confident = ok & (p >= 0.9)
    assert truth[confident].mean() >= 0.95
    rejected = ok & (p < 0.1)
    assert truth[rejected].mean() <= 0.05
    # expected number of members (sum of p) matches the truth within 5 %
    assert p[ok].sum() == pytest.approx(truth.sum(), rel=0.05)


def test_mixture_recovers_intrinsic_dispersion_under_heteroscedastic_errors():
    rng = np.random.default_rng(1)
    n_cl, n_f = 2000, 20000
    errors = np.vstack([rng.uniform(0.05, 1.5, (n_cl, 3)), rng.uniform(0.05, 1.5, (n_f, 3))])
    true_cl = rng.normal([5, 5, 3], 0.3, (n_cl, 3))
    field = rng.normal([0, 0, 0.5], [6, 6, 1.0], (n_f, 3))
    x = np.vstack([true_cl, field]) + errors * rng.normal(size=errors.shape)
    seed = np.zeros(len(x))
    seed[np.argsort(errors[:n_cl].sum(axis=1))[:200]] = 1.0  # the best-measured members
    fit = ClusterFieldMixture(random_state=0).fit(x, errors**2, seed).fit_
    assert np.sqrt(np.diag(fit.cov)) == pytest.approx([0.3] * 3, rel=0.15)
    # The parameters come from the precise stars only (about 300 cluster stars here,
    # standard error of the mean ~0.04): within 3 standard errors.
    assert fit.mean == pytest.approx([5, 5, 3], abs=0.12)


@pytest.mark.parametrize("d", [1, 2, 3, 5])
def test_per_row_gaussian_densities_are_those_of_each_rows_own_covariance(d):
    from scipy.stats import multivariate_normal

    rng = np.random.default_rng(d)
    a = rng.normal(size=(d, d))
    cov = a @ a.T * 0.05 + 1e-3 * np.eye(d)
    x, mean = rng.normal(size=(40, d)), rng.normal(size=d)
    variances = rng.uniform(0.0, 2.0, size=(40, d)) ** 2
    expected = [multivariate_normal(mean, cov + np.diag(v)).logpdf(row)
                for row, v in zip(x, variances, strict=True)]
    assert log_gaussian_with_errors(x, mean, cov, variances) == pytest.approx(expected,
                                                                              rel=1e-12)


def test_a_blind_refusal_says_what_was_left_out_and_how_to_fit_the_cluster_anyway():
    """120 stars spread evenly in motion and parallax: HDBSCAN's groups there are field
    modes, and the refusal says so, not "no group was found", and names the remedy."""
    rng = np.random.default_rng(2)
    n = 120
    table = Table({"ra": rng.uniform(10, 11, n), "dec": rng.uniform(20, 21, n),
                   "pmra": rng.uniform(-20, 20, n), "pmdec": rng.uniform(-20, 20, n),
                   "parallax": rng.uniform(0.1, 3, n), "pmra_error": np.full(n, 0.1),
                   "pmdec_error": np.full(n, 0.1), "parallax_error": np.full(n, 0.05)})
    with pytest.raises(InputError, match=r"no significant cluster in this table: HDBSCAN found "
                                         r"\d+ group\(s\), too spread in proper motion to be "
                                         r"bound.*catalogue values \(a target name"):
        find_members(table, MembershipOptions())


def test_student_t_assignment_rows_are_distributions():
    q = student_t_assignment(np.random.default_rng(0).normal(size=(50, 3)),
                             np.array([[0, 0, 0], [3, 3, 3.0]]))
    assert np.allclose(q.sum(axis=1), 1) and (q > 0).all()


def _field_with_magnitude_dependence(n=20000, seed=0):
    """Bright field stars are near (large parallax), faint ones far: parallax depends on G."""
    rng = np.random.default_rng(seed)
    g = rng.uniform(10, 20, n)
    parallax = rng.normal(10 - 0.8 * (g - 10), 0.5)
    pm = rng.normal(0, 2, n)
    return np.column_stack([pm, parallax]), g


def _trapezoid(y, x):
    return float(np.sum((y[1:] + y[:-1]) * np.diff(x)) / 2)


def test_field_density_follows_magnitude():
    """Joint p(features, G): at each G the parallax peak sits where that G's field is, and
    the density keeps its level up to the table's sharp G limits (a sum of Gaussians in G
    alone spills past them and is too thin just inside)."""
    x, g = _field_with_magnitude_dependence()
    field = FieldModel(8, 20000, np.random.default_rng(0)).fit(x, g, np.ones(len(x), bool))
    assert field.gmm.means_.shape[1] == 3  # the field mixture spans (pm, parallax, G)
    grid = np.linspace(-6, 16, 400)
    points = np.column_stack([np.zeros_like(grid), grid])
    for mag in (10.1, 11.0, 15.0, 19.0, 19.9):  # 10.1 and 19.9: at the sharp G limits
        density = np.exp(field.log_density(points, np.full(len(grid), mag)))
        # integral over parallax = p(pm = 0) p(G) = N(0; 0, 2) / 10 (G uniform over 10 mag)
        assert _trapezoid(density, grid) == pytest.approx(0.1 / np.sqrt(2 * np.pi * 4),
                                                          rel=0.15)
        assert grid[np.argmax(density)] == pytest.approx(10 - 0.8 * (mag - 10), abs=0.4)


def test_a_field_refit_fills_the_hole_the_first_fit_left():
    """The first field fit leaves out the rows that move like the cluster; the refit, on
    all of them, starts from that fit and must fill the hole, or faint field stars at the
    cluster's motion stay "members" (a distant cluster counted 1.3 times over). At the
    first fit's tolerance the warm-started refit stopped after 3 steps, 5% short here."""
    x, g = _field_with_magnitude_dependence()
    hole = np.hypot(x[:, 0] - 1.0, x[:, 1] - (10 - 0.8 * (g - 10))) < 0.5  # 10% of rows
    field = FieldModel(8, 20000, np.random.default_rng(0)).fit(x, g, ~hole)
    holed = field.log_density(x[hole], g[hole]).mean()
    refitted = field.fit(x, g, np.ones(len(x), bool)).log_density(x[hole], g[hole]).mean()
    fresh = FieldModel(8, 20000, np.random.default_rng(0)).fit(x, g, np.ones(len(x), bool))
    assert refitted - holed > 0.3
    assert refitted == pytest.approx(fresh.log_density(x[hole], g[hole]).mean(), abs=0.02)


def test_field_density_without_magnitude_is_the_marginal():
    x, g = _field_with_magnitude_dependence()
    field = FieldModel(8, 20000, np.random.default_rng(0)).fit(x, g, np.ones(len(x), bool))
    grid = np.linspace(-6, 16, 400)
    points = np.column_stack([np.zeros_like(grid), grid])
    density = np.exp(field.log_density(points, np.full(len(grid), np.nan)))
    # marginal over G: parallax spread over 2..10 (uniform G), so no sharp peak
    assert _trapezoid(density, grid) == pytest.approx(1 / np.sqrt(2 * np.pi * 4), rel=0.15)
    inside = (grid > 3) & (grid < 9)
    assert density[inside].max() / density[inside].min() < 1.6


def test_mixture_uses_magnitudes_only_when_asked(praesepe_like):
    with_g = find_members(praesepe_like)
    without = find_members(praesepe_like, MembershipOptions(field_by_magnitude=False))
    assert with_g.metadata["field_given_g"] is True
    assert without.metadata["field_given_g"] is False
    mostly_unknown = praesepe_like.copy()
    mostly_unknown["phot_g_mean_mag"][: int(0.6 * len(mostly_unknown))] = np.nan
    assert find_members(mostly_unknown).metadata["field_given_g"] is False
    truth = np.asarray(praesepe_like["true_member"])
    for result in (with_g, without):
        assert f1_score(np.asarray(result.table["is_member"]), truth) > 0.97


@pytest.mark.slow
def test_a_sky_clump_with_field_motions_is_not_taken_for_the_cluster():
    """A dense knot of field stars on the sky (a background group, a survey artefact),
    with the field's spread of motions, is no bound cluster and must not win over a
    co-moving one."""
    rng = np.random.default_rng(0)
    n_field, n_knot, n_cluster = 8000, 600, 300

    def field_kinematics(n):
        return np.column_stack([rng.normal(0, 5, n), rng.normal(0, 5, n), rng.gamma(2, 0.5, n)])

    field = np.column_stack([field_kinematics(n_field), rng.uniform(-1, 1, (n_field, 2))])
    knot = np.column_stack([field_kinematics(n_knot), rng.normal(0.5, 0.02, (n_knot, 2))])
    cluster = np.column_stack([rng.normal(4, 0.3, n_cluster), rng.normal(-4, 0.3, n_cluster),
                               rng.normal(2.5, 0.05, n_cluster),
                               rng.uniform(-1, 1, (n_cluster, 2))])
    x = np.vstack([field, knot, cluster])
    truth = np.arange(len(x)) >= n_field + n_knot
    est = make_estimator("mixture").fit(x, X_err=np.full_like(x, 0.05), positions=x[:, 3:],
                                        seed_columns=[0, 1, 2], astrometry_columns=(0, 1, 2))
    assert f1_score(est.predict() == 1, truth) > 0.98


def test_one_call_api_takes_a_name_or_catalogue_values(praesepe_like):
    by_name = find_members(praesepe_like, target="Praesepe")
    by_values = find_members(praesepe_like, pm=(-35.95, -12.92), plx=5.37, threshold=0.6)
    assert by_name.summary.n_members > 200 and by_values.summary.n_members > 200
    assert by_values.metadata["threshold"] == 0.6
    with pytest.raises(InputError, match="unknown setting"):
        find_members(praesepe_like, colour="red")


def test_seeded_field_centroids_hem_in_a_sparse_cluster():
    """A compact cluster in a broad field, cluster-scaled: K-Means on the whole field puts
    its centroids where the field is dense, far away; the near ones come from the field
    stars just beyond the cluster's halo, so the cluster's cell ends near its ball."""
    from vocluster.membership.seeded import FIELD_RADIUS, NEAR_SHELL, seeded_centroids

    rng = np.random.default_rng(3)
    cluster = rng.normal(0.0, 0.3, (50, 5))
    field = rng.normal(0.0, 3.0, (5000, 5))
    field[:, 0] += 9.0  # dense far away, sparse nearby
    points = np.vstack([cluster, field])
    distance = np.linalg.norm(points, axis=1)
    seed_stars = (np.arange(len(points)) < 50).astype(float)
    centres = seeded_centroids(points, distance, seed_stars, None, 0)
    centre_distance = np.linalg.norm(centres[1:], axis=1)
    near = (distance > NEAR_SHELL[0] * FIELD_RADIUS) & (distance <= NEAR_SHELL[1] * FIELD_RADIUS)
    assert near.sum() >= 4  # the sparse neighbourhood the near centroids come from
    assert np.sum(centre_distance <= NEAR_SHELL[1] * FIELD_RADIUS) >= min(10, near.sum() // 2)
    labels = np.argmin(np.linalg.norm(points[:, None] - centres[None], axis=2), axis=1)
    assert np.all(labels[:50] == 0)  # the cluster keeps its own cell
    assert np.all(distance[labels == 0] <= 2 * FIELD_RADIUS)  # which ends near its ball
