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


def _vizier_tsv(path, cone):
    """A VizieR-style TSV download of a generated cone: sexagesimal J2000, VizieR names."""
    from astropy.coordinates import Angle

    ra = Angle(np.asarray(cone["ra"]), unit="deg").to_string(unit="hourangle", sep=" ",
                                                             precision=3)
    dec = Angle(np.asarray(cone["dec"]), unit="deg").to_string(sep=" ", precision=2,
                                                               alwayssign=True)
    lines = ["#", "#   VizieR Astronomical Server", "#-- I/355/gaiadr3",
             "RAJ2000\tDEJ2000\tSource\tPlx\te_Plx\tpmRA\te_pmRA\tpmDE\te_pmDE\tGmag",
             '"h:m:s"\t"d:m:s"\t\tmas\tmas\tmas/yr\tmas/yr\tmas/yr\tmas/yr\tmag',
             "\t".join(["-" * 12] * 10)]
    for k in range(len(cone)):
        lines.append("\t".join([ra[k], dec[k], str(cone["source_id"][k])] + [
            f"{cone[c][k]:.4f}" for c in ("parallax", "parallax_error", "pmra", "pmra_error",
                                          "pmdec", "pmdec_error", "phot_g_mean_mag")]))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_vizier_tsv_with_sexagesimal_positions_is_read(tmp_path):
    from vocluster.core.sample import load_sample
    from vocluster.datasets.synthetic import make_cone
    from vocluster.io.files import read_table

    cone = make_cone("NGC 2682", seed=2, n_stars=300)
    table = read_table(_vizier_tsv(tmp_path / "cone.tsv", cone))
    assert table["Source"].dtype.kind == "i"
    assert np.array_equal(np.asarray(table["Source"]), np.asarray(cone["source_id"]))
    sample = load_sample(table)
    assert np.allclose(sample.values["ra"], cone["ra"], atol=1e-5)
    assert np.allclose(sample.values["dec"], cone["dec"], atol=1e-5)
    assert not sample.errors_estimated


def test_columns_mapping_and_format_on_the_command_line(tmp_path, capsys):
    from vocluster.cli.main import main
    from vocluster.datasets.synthetic import make_cone

    cone = make_cone("NGC 2682", seed=3, n_stars=2000)
    cone.rename_columns(["pmra", "pmdec", "parallax"], ["mu_a", "mu_d", "varpi"])
    for name in ("mu_a", "mu_d", "varpi"):
        cone[name].meta = {}
    path = tmp_path / "odd.dat"
    cone.write(path, format="ascii.ecsv")
    out = tmp_path / "out.vot"
    code = main(["members", str(path), "--format", "ecsv", "--columns",
                 "pmra=mu_a,pmdec=mu_d,parallax=varpi", "-o", str(out)])
    assert code == 0, capsys.readouterr().err
    code = main(["members", str(path), "--format", "ecsv", "--columns", "pmra=nothing",
                 "-o", str(tmp_path / "o2.vot")])
    assert code == 2 and "no column 'nothing'" in capsys.readouterr().err


def test_impossible_magnitudes_and_colours_are_taken_as_unknown_and_said():
    t = Table({"pmra": [1.0, 2.0, 3.0], "pmdec": [1.0, 2.0, 3.0], "parallax": [1.0, 1.0, 1.0],
               "phot_g_mean_mag": [15.0, 1e6, 99.0], "bp_rp": [1.0, 1e7, -0.3]})
    sample = load_sample(t)
    assert np.array_equal(np.isnan(sample.values["phot_g_mean_mag"]), [False, True, True])
    assert np.array_equal(np.isnan(sample.values["bp_rp"]), [False, True, False])
    assert "2 row(s) with phot_g_mean_mag outside -2..25 mag taken as unknown" in sample.notes
    assert np.all(np.isfinite(sample.values["parallax_error"]))  # estimated from G or not
    assert t["phot_g_mean_mag"][1] == 1e6  # the user's table is left as it was


@pytest.mark.parametrize("bp, rp", [("phot_bp_mean_mag", "phot_rp_mean_mag"),
                                    ("BPmag", "RPmag")])
def test_a_table_with_bp_and_rp_magnitudes_but_no_colour_gets_bp_minus_rp(bp, rp):
    astrometry = {"pmra": [1.0, 2.0, 3.0], "pmdec": [1.0, 2.0, 3.0], "parallax": [1.0] * 3,
                  "phot_g_mean_mag": [15.0, 16.0, 17.0]}
    sample = load_sample(Table({**astrometry, bp: [15.5, 16.9, np.nan], rp: [14.7, 15.6, 16.0]}))
    np.testing.assert_allclose(sample.values["bp_rp"], [0.8, 1.3, np.nan])
    assert f"BP-RP taken as {bp} - {rp}" in sample.notes
    own = load_sample(Table({**astrometry, "bp_rp": [0.1, 0.2, 0.3], bp: [1.0] * 3, rp: [0.0] * 3}))
    np.testing.assert_allclose(own.values["bp_rp"], [0.1, 0.2, 0.3])  # its own column first
    assert not any("BP-RP taken" in note for note in own.notes)


def test_positions_under_vizier_degree_names_are_found_and_a_table_without_any_is_told():
    astrometry = {"pmra": [1.0, 2.0], "pmdec": [1.0, 2.0], "parallax": [1.0, 1.0]}
    found = load_sample(Table({**astrometry, "RAdeg": [10.0, 10.1], "DEdeg": [5.0, 5.1]}))
    assert found.has_positions and not any("no sky positions" in n for n in found.notes)
    blind = load_sample(Table({**astrometry, "alpha": [10.0, 10.1], "delta": [5.0, 5.1]}))
    assert not blind.has_positions
    assert any(n.startswith("no sky positions found") and "motion and parallax alone" in n
               for n in blind.notes)


def test_errors_under_short_names_are_the_tables_own_not_estimated():
    found = detect_columns(_table(["pmra", "pmdec", "plx", "pmra_err", "pmdec_err", "plx_err"]))
    assert (found["pmra_error"], found["pmdec_error"], found["parallax_error"]) == (
        "pmra_err", "pmdec_err", "plx_err")
