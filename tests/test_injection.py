"""Realistic injections (ocelot) into real-looking fields, and `vocluster validate`."""

import json
import subprocess
import sys

import numpy as np
import pytest

from vocluster.cli.main import main
from vocluster.core.sample import load_sample
from vocluster.datasets import isochrones
from vocluster.datasets.injection import ClusterSpec, completeness_curve, simulate
from vocluster.datasets.photometric_errors import ZEROPOINTS, band_magnitudes, flux_errors
from vocluster.datasets.synthetic import make_cone
from vocluster.datasets.validation import Footprint, report, run_injection, summary_line
from vocluster.errors import InputError
from vocluster.io.files import write_table
from vocluster.membership.pipeline import MembershipOptions, Target

# ocelot simulations and whole membership runs per injected cluster.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def deep_field():
    """A G < 20.5 field with its own cluster at the centre (NGC 2516-like)."""
    return make_cone("NGC 2516", seed=4, n_stars=12000)


def test_chronos_grid_converts_to_known_parsec_values():
    grid = isochrones._read_chronos_grid()
    solar = grid[grid["MH"] == 0.05]
    young, old = solar[solar["logAge"] == 9.6], solar[solar["logAge"] == 9.72]
    # a 1 solar-mass star at 4 Gyr: M_G 4.66 (the Sun's M_G is 4.67)
    one = young.iloc[np.argmin(np.abs(young["Mini"] - 1.0))]
    assert one["Gmag"] == pytest.approx(4.66, abs=0.05)
    same = isochrones.interpolate_age(young, old, 9.6)
    assert np.allclose(np.sort(same["Gmag"][same["label"] == 1]),
                       np.sort(young["Gmag"][young["label"] == 1]), atol=1e-3)
    between = isochrones.interpolate_age(young, old, 9.64)
    turn_off = [frame[frame["label"] == 1]["Gmag"].min() for frame in (young, between, old)]
    assert turn_off[0] < turn_off[1] < turn_off[2]  # the turn-off fades with age


def test_completeness_falls_off_beyond_the_counts_peak(deep_field):
    g = np.asarray(deep_field["phot_g_mean_mag"])
    grid, seen = completeness_curve(g)
    assert np.all(seen[grid < 18] == 1.0)
    assert seen[-1] == 0.0


def test_photometric_errors_match_gaia_dr3_medians_and_grow_for_red_faint_stars():
    def mag_errors(g, bp_rp, release="dr3"):
        g, bp_rp = np.array([g]), np.array([bp_rp])
        flux = {b: 10 ** (-0.4 * (m - ZEROPOINTS[b])) for b, m in band_magnitudes(g, bp_rp).items()}
        return {b: float(1.0857 * e[0] / flux[b.split("_")[1]][0])
                for b, e in flux_errors(g, bp_rp, release).items()}

    # Gaia EDR3's published medians (typical colour): BP 12 / 108 mmag, RP 6 / 52 mmag
    at_17, at_20 = mag_errors(17.0, 1.0), mag_errors(20.0, 1.0)
    assert at_17["phot_bp_mean_flux_error"] == pytest.approx(0.012, rel=0.01)
    assert at_20["phot_rp_mean_flux_error"] == pytest.approx(0.052, rel=0.01)
    assert mag_errors(12.0, 1.0)["phot_bp_mean_flux_error"] < 0.002  # the calibration floor
    # an M dwarf at G = 20.5 is faint in BP: its BP error is several times a typical star's
    assert mag_errors(20.5, 3.0)["phot_bp_mean_flux_error"] > 3 * at_20["phot_bp_mean_flux_error"]
    # DR2's published medians: BP and RP 200 mmag at G = 20, the calibration floor 2 mmag
    dr2 = mag_errors(20.0, 1.0, "dr2")
    assert dr2["phot_bp_mean_flux_error"] == pytest.approx(0.2, rel=0.01)
    assert dr2["phot_rp_mean_flux_error"] == pytest.approx(0.2, rel=0.01)
    assert 0.01 < mag_errors(17.0, 1.0, "dr2")["phot_bp_mean_flux_error"] < 0.015


def test_injected_colours_spread_at_the_faint_end(deep_field):
    sample = load_sample(deep_field, require_positions=True)
    stars = simulate(ClusterSpec(119.2, -60.6, 400.0, -2.0, 6.0, 800.0), sample, seed=2)
    g, colour = np.asarray(stars["phot_g_mean_mag"]), np.asarray(stars["bp_rp"])

    def spread(lo, hi):
        k = (g >= lo) & (g < hi) & np.isfinite(colour)
        residual = colour[k] - np.polyval(np.polyfit(g[k], colour[k], 2), g[k])
        return 1.4826 * np.median(np.abs(residual - np.median(residual)))

    # the sequence is sharp where Gaia's colours are (binaries aside), broad where BP is faint
    assert spread(13, 16) < 0.05
    assert spread(19, 20.5) > 0.1


def test_an_injected_cluster_is_recovered_with_catalogue_values(deep_field):
    sample = load_sample(deep_field, require_positions=True)
    spec = ClusterSpec(119.2, -60.6, 900.0, -2.0, 6.0, 400.0)
    options = MembershipOptions(target=Target("catalogue values", 0, 0, 1))
    injection = run_injection(deep_field, sample, spec, options, seed=3)
    assert injection.status == "found"
    assert injection.n_injected > 80
    assert injection.f1 > 0.9


def test_report_completeness_falls_with_magnitude(deep_field):
    sample = load_sample(deep_field, require_positions=True)
    spec = ClusterSpec(119.2, -60.6, 3000.0, -1.0, 5.0, 1500.0)
    options = MembershipOptions(target=Target("catalogue values", 0, 0, 1))
    result = report([run_injection(deep_field, sample, spec, options, seed=5)])
    completeness = np.array([np.nan if c is None else c for c in result["completeness_by_g"]])
    counts = np.asarray(result["injected_by_g"])
    populated = np.flatnonzero(counts >= 10)
    assert np.all(completeness[populated[:3]] == 1.0)  # bright members: all found
    assert completeness[populated[-2:]].min() < 1.0  # the faintest ones: not all
    assert 0.0 <= result["expected_calibration_error"] <= 1.0


def test_validate_command_writes_the_report(deep_field, tmp_path, capsys):
    field = tmp_path / "field.vot"
    write_table(deep_field, field)
    code = main(["validate", str(field), "-o", str(tmp_path / "report"), "--n-clusters", "2",
                 "--distance", "500", "2000", "--mass", "300", "600", "--seed", "2"])
    assert code == 0
    payload = json.loads((tmp_path / "report.json").read_text())
    assert payload["n_injections"] == 2 and len(payload["clusters"]) == 2
    assert (tmp_path / "report.png").stat().st_size > 10_000
    assert (tmp_path / "report.vot").exists()
    out = capsys.readouterr().out
    assert "injected clusters found" in out
    # Each injection's size on the sky against the table's: those as large as the table
    # are counted, and the summary says what that means.
    radius = payload["footprint_radius_deg"]
    sizes = [c["r_tidal_deg"] for c in payload["clusters"]]
    assert payload["filling_the_footprint"] == sum(size >= radius for size in sizes)
    assert ("as large as the table on the sky" in out) == (payload["filling_the_footprint"] > 0)


def test_a_cluster_as_large_as_the_table_on_the_sky_is_said(deep_field):
    sample = load_sample(deep_field, require_positions=True)
    radius = Footprint(sample).radius
    near = ClusterSpec(119.2, -60.6, 100.0, -2.0, 6.0, 1000.0)  # 14.6 pc at 100 pc: 8 deg
    far = ClusterSpec(119.2, -60.6, 5000.0, -2.0, 6.0, 300.0)
    assert near.r_tidal_deg > radius > far.r_tidal_deg
    line = summary_line({"n_found": 1, "n_injections": 2, "median_f1": 0.5,
                         "expected_calibration_error": 0.01, "footprint_radius_deg": radius,
                         "filling_the_footprint": 1})
    assert "1 of them as large as the table on the sky" in line


def test_missing_extra_is_named():
    code = ("import sys; sys.modules['ocelot'] = None; sys.modules['ocelot.simulate'] = None\n"
            "from vocluster.datasets.injection import ClusterSpec, simulate\n"
            "from vocluster.core.sample import load_sample\n"
            "from vocluster.datasets.synthetic import make_cone\n"
            "cone = make_cone('NGC 2682', seed=1, n_stars=500)\n"
            "simulate(ClusterSpec(132.8, 11.8, 900, 1, 1, 300), load_sample(cone), 1)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode != 0
    assert "vocluster[validate]" in run.stderr


def test_simulation_without_g_is_refused(deep_field):
    table = deep_field.copy()
    table.remove_column("phot_g_mean_mag")
    with pytest.raises((InputError, ValueError), match="G"):
        simulate(ClusterSpec(119.2, -60.6, 900.0, 0, 0, 300), load_sample(table), 1)
