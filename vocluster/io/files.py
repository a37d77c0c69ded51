"""Tables on disk: read any format astropy knows, write atomically with VO metadata."""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.io.votable import from_table
from astropy.io.votable.tree import Info, Param
from astropy.table import MaskedColumn, Table
from astropy.utils.exceptions import AstropyWarning

from vocluster.atomic import atomic_output
from vocluster.core.summary import PARAM_UNITS
from vocluster.errors import InputError
from vocluster.io.votable_binary2 import binary2_stream

FORMATS = {
    ".vot": "votable", ".votable": "votable", ".xml": "votable",
    ".fits": "fits", ".fit": "fits", ".fts": "fits",
    ".csv": "ascii.csv", ".ecsv": "ascii.ecsv", ".parquet": "parquet", ".tsv": "vizier.tsv",
}


SUMMARY_PREFIX = "vocluster_summary_"
INPUT_FORMATS = {"votable": "votable", "fits": "fits", "csv": "ascii.csv",
                 "ecsv": "ascii.ecsv", "parquet": "parquet", "tsv": "vizier.tsv"}


def input_format(name: str | None) -> str | None:
    """`--format NAME` as the reader's format (None: from the file name)."""
    return None if name is None else INPUT_FORMATS[name]


def read_vizier_tsv(path: Path) -> Table:
    """VizieR's tab-separated download: '#' comments, a names line, a units line, a
    dashes line, then rows; empty cells are masked, units kept, numbers made numbers
    (sexagesimal RA/Dec stay text and are read as angles later)."""
    lines = [line.rstrip("\n") for line in path.read_text(encoding="utf-8",
                                                           errors="replace").splitlines()]
    lines = [line for line in lines if line.strip() and not line.startswith("#")]
    if len(lines) < 3 or not set(lines[2].replace("\t", "")) <= {"-", " "}:
        raise ValueError("not a VizieR TSV (names, units and a line of dashes expected)")
    names = [n.strip() for n in lines[0].split("\t")]
    units = [v.strip() for v in lines[1].split("\t")] + [""] * len(names)
    cells = [row.split("\t") for row in lines[3:]]
    table = Table()
    for k, name in enumerate(names):
        column = [row[k].strip() if k < len(row) else "" for row in cells]
        empty = np.array([c == "" for c in column])
        try:  # identifiers stay exact integers; float64 would round 19-digit source ids
            values = np.array([int(c) if c else 0 for c in column], dtype=np.int64)
        except ValueError:
            try:
                values = np.array([float(c) if c else np.nan for c in column])
            except ValueError:
                table[name] = MaskedColumn(column, mask=empty)
                continue
        unit = u.Unit(units[k], format="cds", parse_strict="silent") if units[k] else None
        table[name] = MaskedColumn(values, mask=empty, unit=unit)
    return table


def table_format(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"unknown table format {suffix or '(no extension)'!r} for {path}; use "
                         f"one of {', '.join(sorted(FORMATS))}")
    return FORMATS[suffix]


# A char PARAM/INFO-like element with a multi-dimensional arraysize ("69x63"): STILTS and
# TOPCAT carry FITS COMMENT/HISTORY cards this way, and astropy refuses the whole file.
_MULTI_DIM_CHAR_PARAM = re.compile(
    rb'<PARAM\b(?=[^>]*\bdatatype="(?:unicode)?[Cc]har")[^>]*\barraysize="[^"]*x[^"]*"[^>]*>')
_ARRAYSIZE = re.compile(rb'\barraysize="[^"]*"')


def _votable_source(path: Path) -> Path | io.BytesIO:
    """The VOTable as astropy can parse it: multi-dimensional char PARAMs made 1-D.

    Such a PARAM's value is still the same text; only its shape, which vocluster never
    uses, is dropped. Files without one are handed over untouched.
    """
    data = path.read_bytes()
    if _MULTI_DIM_CHAR_PARAM.search(data) is None:
        return path
    return io.BytesIO(_MULTI_DIM_CHAR_PARAM.sub(
        lambda m: _ARRAYSIZE.sub(b'arraysize="*"', m.group(0)), data))


def read_table(path: str | Path, fmt: str | None = None, label: str | None = None) -> Table:
    """Read a table; any failure becomes one line naming the source and the reason.

    `fmt` overrides the format the suffix implies (a SAMP mtype says it instead);
    `label` names the source in errors (e.g. the URL a peer sent).
    """
    path = Path(path)
    label = label or str(path)
    if not path.exists():
        raise InputError(f"input file not found: {label}")
    fmt = fmt or table_format(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AstropyWarning)
            if fmt == "vizier.tsv":
                table = read_vizier_tsv(path)
            else:
                source = _votable_source(path) if fmt == "votable" else path
                table = Table.read(source, format=fmt)
    except Exception as exc:  # astropy raises many types for bad files
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"cannot read {label}: malformed {fmt} table: {reason}") from exc
    return table


def _summary_param(votable, key: str, value) -> Param | None:
    """A summary value as a typed PARAM with unit and UCD (TOPCAT can compute with it)."""
    name = key.removeprefix(SUMMARY_PREFIX)
    if name not in PARAM_UNITS or value is None:
        return None
    unit, ucd = PARAM_UNITS[name]
    integer = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    return Param(votable, name=key, value=value, datatype="long" if integer else "double",
                 unit=unit, ucd=ucd)


def _votable_with_infos(table: Table):
    """VOTable tree: summary values as typed PARAMs, every other `vocluster_*` metadata
    item as an INFO element."""
    plain = table.copy(copy_data=False)
    infos = {k: v for k, v in plain.meta.items() if k.startswith("vocluster_")}
    for key in infos:
        del plain.meta[key]
    votable = from_table(plain)
    resource_table = votable.get_first_table()
    for vo_field in resource_table.fields:
        # astropy maps bool to `bit` and, in binary streams, sets 0x08 where the standard
        # (and STILTS/TOPCAT) read the most significant bit; `boolean` is unambiguous.
        if vo_field.datatype == "bit" and vo_field.arraysize is None:
            vo_field.datatype = "boolean"
    for key, value in infos.items():
        param = _summary_param(votable, key, value) if key.startswith(SUMMARY_PREFIX) else None
        if param is not None:
            resource_table.params.append(param)
        else:
            resource_table.infos.append(Info(name=key, value=str(value)))
    return votable


def _write_votable(table: Table, path: Path) -> None:
    """BINARY2 VOTable (read by TOPCAT, STILTS, pyvo, astropy), its stream built by numpy.

    The header (FIELDs with units and UCDs, INFOs) comes from astropy; only the rows
    are ours. A table numpy cannot lay out as fixed-width rows is left to astropy.
    """
    votable = _votable_with_infos(table[:0])
    stream = binary2_stream(table, votable.get_first_table().fields)
    if stream is None:
        _votable_with_infos(table).to_xml(str(path), tabledata_format="binary2")
        return
    header = io.BytesIO()
    votable.to_xml(header)
    text = header.getvalue().decode("utf-8")
    end = text.rindex("</TABLE>")
    data = f'<DATA><BINARY2><STREAM encoding="base64">\n{stream}</STREAM></BINARY2></DATA>\n'
    path.write_text(text[:end] + data + text[end:], encoding="utf-8")


def write_table(table: Table, path: str | Path, overwrite: bool = False) -> Path:
    """Write via a temporary file beside `path`: never a half-written output."""
    fmt = table_format(path)
    if fmt == "vizier.tsv":
        raise InputError(f"{path}: VizieR TSV is read, not written; write .vot, .fits, .csv, "
                         f".ecsv or .parquet")
    with atomic_output(path, overwrite) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        if fmt == "votable":
            _write_votable(table, tmp)
        else:
            table.write(tmp, format=fmt, overwrite=True)
    return Path(path)


def write_text(text: str, path: str | Path, overwrite: bool = True) -> Path:
    """Same temp-then-rename rule for JSON summaries."""
    with atomic_output(path, overwrite) as tmp:
        tmp.write_text(text)
    return Path(path)
