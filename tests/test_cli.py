"""The CLI contract end to end, including every bad-input case."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest
from astropy.io.votable import parse
from astropy.table import Table

from vocluster.cli.main import main
from vocluster.io.files import read_table, write_table


@pytest.fixture(scope="module")
def cone(tmp_path_factory, praesepe_like):
    path = tmp_path_factory.mktemp("in") / "cone.vot"
    table = praesepe_like.copy()
    table.remove_column("true_member")
    write_table(table, path)
    return path


def _run(args, capsys):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("suffix", [".vot", ".fits", ".csv", ".ecsv", ".parquet"])
def test_members_round_trips_every_format(suffix, cone, tmp_path, capsys):
    source = tmp_path / f"in{suffix}"
    write_table(read_table(cone), source)
    out = tmp_path / f"out{suffix}"
    code, stdout, _ = _run(["members", source, "-o", out, "--target", "Praesepe"], capsys)
    assert code == 0 and "members" in stdout
    result = read_table(out)
    original = read_table(source)
    assert set(original.colnames) < set(result.colnames)
    assert {"member_prob", "is_member", "group_id"} <= set(result.colnames)
    assert len(result) == len(original)
    flags = np.char.lower(np.asarray(result["is_member"]).astype(str)) == "true"
    assert int(flags.sum()) > 250


def test_votable_carries_units_ucds_and_run_metadata(cone, tmp_path, capsys):
    out, summary = tmp_path / "r.vot", tmp_path / "s.json"
    code, _, _ = _run(["members", cone, "-o", out, "--seed", "4", "--summary-json", summary,
                       "--plot", tmp_path / "p.png"], capsys)
    assert code == 0
    votable = parse(str(out)).get_first_table()
    fields = {f.name: f for f in votable.fields}
    assert fields["member_prob"].ucd == "stat.probability"
    assert str(fields["pmra"].unit) == "mas / yr"
    infos = {i.name: i.value for i in votable.infos}
    assert infos["vocluster_method"] == "mixture" and infos["vocluster_seed"] == "4"
    assert "vocluster_software" in infos
    params = {p.name: p for p in votable.params}  # the summary: typed, with units and UCDs
    assert params["vocluster_summary_parallax"].ucd == "pos.parallax.trig"
    payload = json.loads(summary.read_text())
    assert payload["summary"]["pmra"] == pytest.approx(-35.953, abs=0.1)
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


def test_nan_rows_stay_with_null_probability_and_cuts_are_recorded(cone, tmp_path, capsys):
    table = read_table(cone)
    table["parallax"][:10] = np.nan
    source = tmp_path / "nan.fits"
    write_table(table, source)
    out = tmp_path / "nan_out.vot"
    code, _, _ = _run(["members", source, "-o", out, "--max-ruwe", "1.4"], capsys)
    assert code == 0
    result = Table.read(out)
    assert len(result) == len(table)
    assert result["member_prob"].mask[:10].all()
    infos = {i.name: i.value for i in parse(str(out)).get_first_table().infos}
    assert infos["vocluster_quality_cuts"] == "max_ruwe=1.4"


def test_quantile_filter_removes_members(cone, tmp_path, capsys):
    plain, filtered = tmp_path / "a.vot", tmp_path / "b.vot"
    assert _run(["members", cone, "-o", plain], capsys)[0] == 0
    assert _run(["members", cone, "-o", filtered, "--quantile-filter"], capsys)[0] == 0
    n_plain = np.asarray(Table.read(plain)["is_member"]).sum()
    n_filtered = np.asarray(Table.read(filtered)["is_member"]).sum()
    assert 0 < n_filtered < n_plain


def test_never_overwrites_without_flag(cone, tmp_path, capsys):
    out = tmp_path / "keep.vot"
    out.write_text("precious")
    code, _, err = _run(["members", cone, "-o", out], capsys)
    assert code != 0 and "--overwrite" in err and out.read_text() == "precious"
    code, _, _ = _run(["members", cone, "-o", out, "--overwrite"], capsys)
    assert code == 0 and out.read_text() != "precious"


def _bad_tables(tmp_path):
    empty = Table({"pmra": np.array([], float), "pmdec": np.array([], float),
                   "parallax": np.array([], float)})
    write_table(empty, tmp_path / "empty.vot")
    write_table(Table({"ra": [1.0, 2.0], "flux": [3.0, 4.0]}), tmp_path / "nocols.csv")
    write_table(Table({"pmra": [np.nan] * 30, "pmdec": [1.0] * 30, "parallax": [1.0] * 30}),
                tmp_path / "allnan.csv")
    (tmp_path / "corrupt.vot").write_text("<VOTABLE><RESOURCE><TABLE><broken")
    (tmp_path / "folder.vot").mkdir()
    return tmp_path


@pytest.mark.parametrize(("args", "message"), [
    (["members", "{d}/missing.vot", "-o", "{d}/o.vot"], "not found"),
    (["members", "{d}/empty.vot", "-o", "{d}/o.vot"], "empty"),
    (["members", "{d}/nocols.csv", "-o", "{d}/o.vot"], "missing required column"),
    (["members", "{d}/allnan.csv", "-o", "{d}/o.vot"], "finite"),
    (["members", "{d}/corrupt.vot", "-o", "{d}/o.vot"], "cannot read"),
    (["members", "{d}/nocols.csv", "-o", "{d}/o.txt"], "unknown table format"),
    (["members", "{d}/nocols.csv", "-o", "{d}/nodir/o.vot"], "does not exist"),
    (["members", "{cone}", "-o", "{d}/folder.vot", "--overwrite"], "is a folder"),
    (["members", "{cone}", "-o", "{d}/o.vot", "--target", "Pleiadez", "--offline"],
     "did you mean"),
    (["members", "{cone}", "-o", "{d}/o.vot", "--pm", "1", "2"], "--plx"),
    (["members", "{cone}", "-o", "{d}/o.vot", "--threshold", "1.5"], "threshold"),
    (["members", "{cone}", "-o", "{d}/o.vot", "--features", "pmra,flux"], "unknown feature"),
    (["members", "{cone}", "-o", "{d}/o.vot", "--quantile-filter", "0.9", "0.1"], "quantile"),
    (["members", "{cone}", "-o", "{d}/o.vot", "--target", "M67"],
     "no cluster at the target|not a significant cluster"),
])
def test_bad_input_gives_one_line_error_and_nonzero_exit(args, message, cone, tmp_path, capsys):
    directory = _bad_tables(tmp_path)
    filled = [a.format(d=directory, cone=cone) for a in args]
    code, _, err = _run(filled, capsys)
    assert code != 0
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and re.search(message, lines[0]), err
    assert not (directory / "o.vot").exists()


@pytest.mark.slow
def test_console_script_and_demo_run_offline(tmp_path):
    result = subprocess.run([sys.executable, "-m", "vocluster.cli.main", "demo", "--n-stars",
                             "6000", "--out-dir", str(tmp_path)], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert "F1" in result.stdout
    f1 = float(result.stdout.split("F1")[-1].split()[0])
    assert f1 > 0.95
    assert (tmp_path / "members.vot").exists() and (tmp_path / "members.png").exists()


def test_outputs_follow_the_umask_and_demo_refuses_to_overwrite(tmp_path, capsys):
    import os
    import stat

    old = os.umask(0o022)
    try:
        import importlib

        import vocluster.atomic

        importlib.reload(vocluster.atomic)  # the umask is read once, at import
        code = main(["demo", "--n-stars", "3000", "--out-dir", str(tmp_path / "d")])
        assert code == 0
        mode = stat.S_IMODE((tmp_path / "d" / "members.vot").stat().st_mode)
        assert mode == 0o644
        code = main(["demo", "--n-stars", "3000", "--out-dir", str(tmp_path / "d")])
        assert code == 2 and "--overwrite" in capsys.readouterr().err
    finally:
        os.umask(old)


def test_help_does_not_import_the_heavy_libraries():
    code = ("import sys, vocluster.cli.main as m\n"
            "try:\n    m.main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [x for x in ('sklearn', 'torch', 'astropy.table', 'matplotlib') "
            "if x in sys.modules]\nprint('HEAVY', heavy)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "HEAVY []" in run.stdout, run.stdout + run.stderr
