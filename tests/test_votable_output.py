"""VOTable output: the numpy-built BINARY2 stream reads back exactly, in astropy and STILTS."""

import re
import shutil
import subprocess

import numpy as np
import pytest
from astropy.io.votable import parse
from astropy.table import MaskedColumn, Table
from helpers import loud_skip

from vocluster.io.files import read_table, write_table


def _table() -> Table:
    rng = np.random.default_rng(0)
    n = 37
    mask = rng.random(n) < 0.3
    table = Table({
        "source_id": np.arange(n, dtype=np.int64) * 10**15,
        "ra": rng.uniform(0, 360, n),
        "gmag": rng.uniform(5, 21, n).astype(np.float32),
        "member_prob": MaskedColumn(rng.random(n), mask=mask),
        "is_member": MaskedColumn(rng.random(n) > 0.5, mask=mask),
        "group_id": MaskedColumn(rng.integers(-1, 5, n).astype(np.int32), mask=mask),
        "flag": rng.integers(0, 7, n).astype(np.int16),
        "name": [f"star {i}" for i in range(n)],
        "band": np.array([b"G", b"BP", b"RP"] * 12 + [b"G"]),
    })
    table["ra"].unit = "deg"
    table["member_prob"].meta["ucd"] = "stat.probability"
    table.meta["vocluster_method"] = "mixture"
    return table


def _same(a: Table, b: Table) -> None:
    assert a.colnames == b.colnames
    for name in a.colnames:
        x, y = a[name], b[name]
        assert np.array_equal(np.ma.getmaskarray(x), np.ma.getmaskarray(y)), name
        keep = ~np.ma.getmaskarray(x)
        xs, ys = np.ma.getdata(x)[keep], np.ma.getdata(y)[keep]
        if xs.dtype.kind in "SU":
            xs, ys = xs.astype(str), ys.astype(str)
        assert np.array_equal(xs, ys), name


def test_binary2_round_trip_keeps_values_nulls_units_and_infos(tmp_path):
    table = _table()
    path = write_table(table, tmp_path / "out.vot")
    votable = parse(str(path))
    back = votable.get_first_table().to_table()
    _same(table, back)
    assert back["ra"].unit == "deg"
    assert votable.get_first_table().get_field_by_id("member_prob").ucd == "stat.probability"
    assert votable.get_first_table().get_field_by_id("is_member").datatype == "boolean"
    assert {i.name: i.value for i in votable.get_first_table().infos}["vocluster_method"] \
        == "mixture"
    assert "<BINARY2>" in path.read_text()


def test_tables_numpy_cannot_lay_out_fall_back_to_astropy(tmp_path):
    table = _table()
    table["spectrum"] = np.zeros((len(table), 3))  # an array field: not a scalar row cell
    back = Table.read(write_table(table, tmp_path / "out.vot"))
    _same(table, back)


def test_stilts_reads_what_we_write(tmp_path):
    if not shutil.which("stilts"):
        loud_skip("STILTS", "apt-get install stilts")
    table = _table()
    path = write_table(table, tmp_path / "out.vot")
    csv = tmp_path / "out.csv"
    subprocess.run(["stilts", "tcopy", f"in={path}", f"out={csv}", "ofmt=csv"], check=True,
                   capture_output=True, timeout=120)
    back = Table.read(csv, format="ascii.csv")
    keep = ~table["member_prob"].mask
    assert np.allclose(np.asarray(back["member_prob"])[keep], table["member_prob"][keep])
    assert np.ma.getmaskarray(back["member_prob"]).tolist() == (~keep).tolist()
    assert [str(v).lower() for v in np.asarray(back["is_member"])[keep]] == \
        [str(v).lower() for v in np.asarray(table["is_member"])[keep]]
    assert list(back["name"]) == list(table["name"])
    assert np.array_equal(back["source_id"], table["source_id"])


@pytest.mark.parametrize("rows", [0, 1])
def test_tiny_tables_are_written(tmp_path, rows):
    table = _table()[:rows]
    _same(table, Table.read(write_table(table, tmp_path / "out.vot")))


def test_stilts_copy_of_a_fits_file_with_header_cards_reads(tmp_path):
    """STILTS turns FITS COMMENT/HISTORY cards into a 2-D char PARAM ("69x63")."""
    if shutil.which("stilts") is None:
        loud_skip("STILTS", "apt-get install stilts")
    table = _table()[["source_id", "ra", "gmag"]]
    table.meta["COMMENT"] = [f"comment card {k}" for k in range(30)]
    table.meta["HISTORY"] = [f"history card {k}" for k in range(30)]
    table.write(tmp_path / "in.fits")
    done = subprocess.run(["stilts", "tcopy", f"in={tmp_path / 'in.fits'}",
                           f"out={tmp_path / 'copy.vot'}", "ofmt=votable"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "copy.vot").read_text()
    assert re.search(r'<PARAM[^>]*arraysize="\d+x\d+"', text)
    back = read_table(tmp_path / "copy.vot")
    assert np.array_equal(back["source_id"], table["source_id"])
    assert np.allclose(back["ra"], table["ra"])
