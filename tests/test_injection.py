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
from vocluster.datasets.synthetic import make_cone
from vocluster.datasets.validation import report, run_injection
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
    assert completeness[populated[0]] == 1.0  # bright members: all found
    assert completeness[populated[-1]] < completeness[populated[0]]  # faint ones: not all
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
    # The generated field has BP-RP, so the colour term runs and its caveat is said.
    assert "no photometric noise" in out and "no photometric noise" in payload["caveat"]


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
