import numpy as np
import pytest
from astropy.table import Table
from hypothesis import given, settings
from hypothesis import strategies as st

from vocluster.core.features import FEATURE_SETS, build_features, resolve_feature_names
from vocluster.core.sample import load_sample, tangent_plane
from vocluster.errors import InputError


def _sample(pmra, pmdec, plx):
    return load_sample(Table({"pmra": pmra, "pmdec": pmdec, "parallax": plx,
                              "parallax_error": np.full(len(plx), 0.1),
                              "ra": np.full(len(plx), 10.0), "dec": np.full(len(plx), 20.0)}))


def test_thesis_features_follow_the_thesis_definition():
    m = build_features(_sample([3.0], [4.0], [2.0]), "thesis")
    assert m.names == FEATURE_SETS["thesis"]
    assert m.values[0] == pytest.approx([1.5, 2.0, 2.0, 5.0])


def test_thesis_features_undefined_for_non_positive_parallax():
    m = build_features(_sample([3.0, 3.0], [4.0, 4.0], [0.0, -1.0]), "thesis")
    assert np.isnan(m.values[:, 0]).all()


@given(st.floats(-50, 50), st.floats(-50, 50), st.floats(0.2, 20))
@settings(max_examples=50, deadline=None)
def test_ratio_error_matches_numerical_propagation(pmra, pmdec, plx):
    m = build_features(_sample([pmra], [pmdec], [plx]), "thesis")
    expected = np.hypot(0.105 / plx, pmra * 0.1 / plx**2)
    assert m.errors[0, 0] == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_feature_lists_and_unknown_names():
    assert resolve_feature_names("pmra, parallax") == ("pmra", "parallax")
    with pytest.raises(InputError, match="unknown feature"):
        resolve_feature_names("pmra,colour")


def test_position_features_use_the_tangent_plane():
    m = build_features(_sample([1.0], [1.0], [1.0]), "astrometric+position", centre=(10.0, 19.0))
    assert m.values[0, 3:] == pytest.approx([0.0, 1.0], abs=1e-3)


@given(st.floats(0, 359.9), st.floats(-80, 80))
@settings(max_examples=50, deadline=None)
def test_tangent_plane_is_zero_at_the_centre(ra, dec):
    assert tangent_plane(np.array([ra]), np.array([dec]), ra, dec)[0] == pytest.approx(
        [0.0, 0.0], abs=1e-9)
