"""The membership estimators keep scikit-learn's estimator contract.

`parametrize_with_checks` runs scikit-learn's own checks (134 of them pass: parameters,
cloning, repr, no work in __init__, ...). The map below names the checks that cannot
apply to a transductive finder of one cluster among field stars, and why. The contract
those checks would have covered (unfitted use, empty, NaN/inf and 1-D input, fit returns
self, idempotent fits, pickling, labels_) is asserted below on data with a cluster in it.
"""

import pickle

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

from vocluster.membership import make_estimator
from vocluster.membership.mixture import ClusterFieldMixture

# scikit-learn fits these on 10-100 random points with no cluster in them; a membership
# estimator must refuse such data ("no group was found at all"), even forced.
NEEDS_A_CLUSTER = (
    "there is no cluster in the check's random data, and finding none is the right answer")
# predict/predict_proba return the fitted rows' membership (a transductive method, like
# HDBSCAN's labels_): they take no new rows, so order, subset and new-data checks do not
# apply.
TRANSDUCTIVE = "predict returns the fitted rows' membership; it does not predict new rows"
NOT_APPLICABLE = {
    **{check: NEEDS_A_CLUSTER for check in (
        "check_dict_unchanged", "check_dont_overwrite_parameters", "check_dtype_object",
        "check_estimators_dtypes", "check_estimators_fit_returns_self",
        "check_estimators_overwrite_params", "check_estimators_pickle",
        "check_estimators_pickle(readonly_memmap=True)", "check_f_contiguous_array_estimator",
        "check_fit2d_1feature", "check_fit_check_is_fitted", "check_fit_idempotent",
        "check_fit_score_takes_y", "check_n_features_in", "check_pipeline_consistency",
        "check_readonly_memmap_input", "check_estimators_nan_inf",
        "check_n_features_in_after_fitting")},
    **{check: TRANSDUCTIVE for check in (
        "check_methods_sample_order_invariance", "check_methods_subset_invariance",
        "check_fit2d_predict1d")},
}
METHODS = ("mixture", "kmeans", "gmm", "hdbscan", "dec")


def _forced(method: str, **params):
    """Each method with the significance refusal off (`--force`), DEC kept short."""
    extra = {"dec": {"pretrain_epochs": 2, "max_steps": 50, "n_init": 1, "device": "cpu"}}
    return make_estimator(method, min_significance=-np.inf, **extra.get(method, {}), **params)


@pytest.mark.slow  # ~230 checks, ~40 s
@parametrize_with_checks([_forced(m) for m in METHODS],
                         expected_failed_checks=lambda estimator: NOT_APPLICABLE)
def test_scikit_learn_checks(estimator, check):
    check(estimator)


def _astrometry(table) -> tuple[np.ndarray, dict, np.ndarray]:
    """X, the fit keywords the pipeline passes (errors; where the astrometry is, so the
    cluster's spread is bounded physically) and the truth, from a synthetic cone."""
    x = np.column_stack([np.asarray(table[c]) for c in ("pmra", "pmdec", "parallax")])
    errors = np.column_stack([np.asarray(table[f"{c}_error"])
                              for c in ("pmra", "pmdec", "parallax")])
    return x, {"X_err": errors, "astrometry_columns": (0, 1, 2)}, np.asarray(
        table["true_member"], dtype=bool)


@pytest.mark.parametrize("method", ["mixture", pytest.param("kmeans", marks=pytest.mark.slow),
                                    pytest.param("gmm", marks=pytest.mark.slow), "hdbscan"])
def test_the_contract_on_data_with_a_cluster(method, praesepe_like):
    x, fit_keywords, truth = _astrometry(praesepe_like)
    estimator = make_estimator(method)
    with pytest.raises(NotFittedError):
        estimator.predict_proba()
    assert estimator.fit(x, **fit_keywords) is estimator
    assert estimator.n_features_in_ == 3
    member = estimator.predict() == 1
    assert (member & truth).sum() > 0.9 * truth.sum()
    assert (member & ~truth).sum() < 0.1 * truth.sum()
    again = make_estimator(method).fit(x, **fit_keywords)
    np.testing.assert_array_equal(again.membership_, estimator.membership_)  # idempotent
    restored = pickle.loads(pickle.dumps(estimator))
    np.testing.assert_array_equal(restored.predict_proba(x), estimator.predict_proba(x))
    np.testing.assert_array_equal(make_estimator(method).fit_predict(x, **fit_keywords),
                                  estimator.labels_)
    with pytest.raises(ValueError, match="transductive"):
        estimator.predict_proba(x[:10])


@pytest.mark.parametrize("bad, message", [
    (np.empty((0, 3)), "0 sample"),
    (np.full((50, 3), np.nan), "NaN"),
    (np.full((50, 3), np.inf), "infinity"),
    (np.arange(50.0), "2D array"),
])
def test_bad_input_is_refused_with_a_value_error_that_names_it(bad, message):
    with pytest.raises(ValueError, match=message):
        make_estimator("mixture").fit(bad)


def test_errors_that_do_not_fit_the_features_are_refused(praesepe_like):
    x, _, _ = _astrometry(praesepe_like)
    with pytest.raises(ValueError, match="X_err has shape"):
        make_estimator("mixture").fit(x, X_err=np.ones((len(x), 2)))
    with pytest.raises(ValueError, match="negative"):
        make_estimator("mixture").fit(x, X_err=-np.ones_like(x))


def test_every_setting_of_the_calibration_is_a_recorded_parameter(praesepe_like):
    estimator = make_estimator("mixture", mixture=ClusterFieldMixture(use_sky=False,
                                                                      n_field_components=6))
    params = estimator.get_params(deep=True)
    assert params["mixture__use_sky"] is False and params["mixture__n_field_components"] == 6
    assert params["mixture__use_magnitudes"] is True
    x, fit_keywords, truth = _astrometry(praesepe_like)
    fitted = estimator.fit(x, **fit_keywords)
    assert fitted.mixture_ is not estimator.mixture  # cloned: the parameter stays unfitted
    assert not hasattr(estimator.mixture, "membership_")
    assert (fitted.predict() == 1)[truth].mean() > 0.9
