import numpy as np
import pytest
from astropy import units as u
from astropy.table import Table
from hypothesis import given, settings
from hypothesis import strategies as st

from vocluster.core.columns import column_values, detect_columns, require_columns
from vocluster.core.sample import load_sample
from vocluster.errors import InputError

VIZIER = ["RA_ICRS", "DE_ICRS", "pmRA", "pmDE", "Plx", "e_pmRA", "e_pmDE", "e_Plx", "Gmag",
          "BP-RP", "RUWE", "GaiaDR3"]
ARCHIVE = ["ra", "dec", "pmra", "pmdec", "parallax", "pmra_error", "pmdec_error",
           "parallax_error", "phot_g_mean_mag", "bp_rp", "ruwe", "source_id"]


def _table(names):
    return Table({n: np.arange(5, dtype=float) + 1 for n in names})


def test_vizier_and_archive_names_map_to_the_same_quantities():
    viz = detect_columns(_table(VIZIER)).columns
    arc = detect_columns(_table(ARCHIVE)).columns
    assert set(viz) == set(arc)
    assert viz["pmdec"] == "pmDE" and viz["bp_rp"] == "BP-RP" and viz["source_id"] == "GaiaDR3"


@given(st.permutations(ARCHIVE), st.sampled_from([str.upper, str.lower, str.title]))
@settings(max_examples=30, deadline=None)
def test_detection_ignores_case_and_order(names, case):
    found = detect_columns(_table([case(n) for n in names])).columns
    assert {k: v.lower() for k, v in found.items()} == {n: n for n in ARCHIVE}


def test_columns_found_by_ucd_when_names_are_unusual():
    t = _table(["c1", "c2", "c3"])
    t["c1"].meta["ucd"] = "pos.pm;pos.eq.ra"
    t["c2"].meta["ucd"] = "pos.pm;pos.eq.dec"
    t["c3"].meta["ucd"] = "pos.parallax.trig"
    found = detect_columns(t)
    assert (found["pmra"], found["pmdec"], found["parallax"]) == ("c1", "c2", "c3")


def test_units_are_converted_to_working_units():
    t = Table({"pmra": [0.001] * 3, "pmdec": [0.0] * 3, "parallax": [1e-3] * 3})
    t["pmra"].unit = u.arcsec / u.yr
    t["parallax"].unit = u.arcsec
    found = detect_columns(t)
    assert column_values(t, found, "pmra") == pytest.approx([1.0] * 3)
    assert column_values(t, found, "parallax") == pytest.approx([1.0] * 3)


def test_incompatible_unit_is_a_clear_error():
    t = Table({"pmra": [1.0], "pmdec": [1.0], "parallax": [1.0]})
    t["parallax"].unit = u.km
    with pytest.raises(InputError, match="parallax"):
        column_values(t, detect_columns(t), "parallax")


def test_missing_columns_error_names_what_is_missing_and_what_exists():
    t = _table(["ra", "dec", "pmra", "flux"])
    with pytest.raises(InputError) as info:
        require_columns(t, detect_columns(t), ("pmra", "pmdec", "parallax"))
    message = str(info.value)
    assert "pmdec" in message and "parallax" in message and "flux" in message
    assert "\n" not in message


def test_masked_values_become_nan_and_missing_pm_errors_are_estimated():
    t = Table({"pmra": np.ma.array([1.0, 2.0], mask=[False, True]), "pmdec": [1.0, 2.0],
               "parallax": [1.0, 2.0], "parallax_error": [0.1, 0.2]})
    sample = load_sample(t)
    assert np.isnan(sample.values["pmra"][1])
    assert sample.values["pmra_error"] == pytest.approx([0.105, 0.21])
    assert any("pmra_error estimated" in note for note in sample.notes)
