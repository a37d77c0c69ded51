"""Find the Gaia quantities in any table, whatever the archive called them.

Gaia archive names, VizieR names and UCDs are all accepted (case-insensitive),
and units are converted to the ones the membership code works in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from astropy import units as u
from astropy.table import Table

from vocluster.errors import InputError


@dataclass(frozen=True)
class Quantity:
    """One astrometric or photometric quantity and the ways tables name it."""

    key: str
    names: tuple[str, ...]
    ucds: tuple[str, ...]
    unit: u.UnitBase | None


QUANTITIES: tuple[Quantity, ...] = (
    Quantity("source_id", ("source_id", "source", "gaiadr3", "gaiadr2", "dr3name", "dr2name",
                           "gaia_dr3_source_id", "designation"), ("meta.id;meta.main", "meta.id"),
             None),
    Quantity("ra", ("ra", "ra_icrs", "raj2000", "_raj2000", "ra_deg", "radeg", "ra_epoch2000"),
             ("pos.eq.ra;meta.main", "pos.eq.ra"), u.deg),
    Quantity("dec", ("dec", "de_icrs", "dej2000", "_dej2000", "dec_deg", "de", "dedeg",
                     "dec_epoch2000"), ("pos.eq.dec;meta.main", "pos.eq.dec"), u.deg),
    Quantity("pmra", ("pmra", "pm_ra", "pmra_cosdec"), ("pos.pm;pos.eq.ra",), u.mas / u.yr),
    Quantity("pmdec", ("pmdec", "pmde", "pm_dec"), ("pos.pm;pos.eq.dec",), u.mas / u.yr),
    Quantity("parallax", ("parallax", "plx"), ("pos.parallax.trig", "pos.parallax"), u.mas),
    Quantity("pmra_error", ("pmra_error", "e_pmra", "pmra_err"), ("stat.error;pos.pm;pos.eq.ra",),
             u.mas / u.yr),
    Quantity("pmdec_error", ("pmdec_error", "e_pmde", "e_pmdec", "pmdec_err"),
             ("stat.error;pos.pm;pos.eq.dec",), u.mas / u.yr),
    Quantity("parallax_error", ("parallax_error", "e_plx", "parallax_err", "plx_err"),
             ("stat.error;pos.parallax.trig", "stat.error;pos.parallax"), u.mas),
    Quantity("ruwe", ("ruwe",), (), None),
    Quantity("phot_g_mean_mag", ("phot_g_mean_mag", "gmag", "g_mag"), ("phot.mag;em.opt",), u.mag),
    Quantity("x_pix", ("x", "x_image", "xcentroid", "x_pix", "xpix", "xcenter"),
             ("pos.cartesian.x;instr.det", "pos.cartesian.x"), None),
    Quantity("y_pix", ("y", "y_image", "ycentroid", "y_pix", "ypix", "ycenter"),
             ("pos.cartesian.y;instr.det", "pos.cartesian.y"), None),
    Quantity("bp_rp", ("bp_rp", "bp-rp", "bprp"), ("phot.color;em.opt.b;em.opt.r",), u.mag),
    Quantity("phot_bp_mean_mag", ("phot_bp_mean_mag", "bpmag", "bp_mag"), ("phot.mag;em.opt.b",),
             u.mag),
    Quantity("phot_rp_mean_mag", ("phot_rp_mean_mag", "rpmag", "rp_mag"), ("phot.mag;em.opt.r",),
             u.mag),
)
QUANTITY_BY_KEY = {q.key: q for q in QUANTITIES}


@dataclass
class ColumnMap:
    """Which input column holds each quantity (only those found)."""

    columns: dict[str, str] = field(default_factory=dict)

    def has(self, key: str) -> bool:
        return key in self.columns

    def __getitem__(self, key: str) -> str:
        return self.columns[key]


def _ucd_of(table: Table, name: str) -> str:
    meta = getattr(table[name], "meta", None) or {}
    return str(meta.get("ucd", "")).strip().lower()


def detect_columns(table: Table, given: dict[str, str] | None = None) -> ColumnMap:
    """Map quantity keys to column names: the user's mapping (`given`), then exact names,
    then UCDs."""
    lower = {name.lower(): name for name in table.colnames}
    found: dict[str, str] = {}
    for key, column in (given or {}).items():
        if column not in table.colnames:
            raise InputError(f"column mapping: the table has no column {column!r}")
        found[key] = column
    for quantity in QUANTITIES:
        if quantity.key in found:
            continue
        for alias in quantity.names:
            if alias in lower and lower[alias] not in found.values():
                found[quantity.key] = lower[alias]
                break
    ucds = {name: _ucd_of(table, name) for name in table.colnames}
    for quantity in QUANTITIES:
        if quantity.key in found:
            continue
        for wanted in quantity.ucds:
            match = [n for n, ucd in ucds.items() if ucd == wanted and n not in found.values()]
            if match:
                found[quantity.key] = match[0]
                break
    return ColumnMap(found)


def require_columns(table: Table, columns: ColumnMap, keys: tuple[str, ...]) -> None:
    """Raise one clear error naming every missing quantity and what the table has."""
    missing = [k for k in keys if not columns.has(k)]
    if not missing:
        return
    described = "; ".join(
        f"{k} (looked for {', '.join(QUANTITY_BY_KEY[k].names[:3])}"
        + (f" or UCD {QUANTITY_BY_KEY[k].ucds[0]})" if QUANTITY_BY_KEY[k].ucds else ")")
        for k in missing
    )
    shown = ", ".join(table.colnames[:30]) + (" ..." if len(table.colnames) > 30 else "")
    raise InputError(f"missing required column(s): {described}; the table has: {shown or 'none'}")


def column_values(table: Table, columns: ColumnMap, key: str) -> np.ndarray:
    """Float values of a quantity in its working unit, masked entries as NaN."""
    name = columns[key]
    column = table[name]
    data = np.ma.asarray(column.data if hasattr(column, "data") else column)
    if key in ("ra", "dec") and data.dtype.kind in "US":
        return sexagesimal(np.ma.filled(data, ""), key, name)
    try:
        values = np.ma.filled(data.astype(float), np.nan)
    except (TypeError, ValueError) as exc:
        raise InputError(f"column {name!r} ({key}) is not numeric") from exc
    target = QUANTITY_BY_KEY[key].unit
    unit = getattr(column, "unit", None)
    if target is not None and unit is not None and unit != u.dimensionless_unscaled:
        try:
            values = (values * unit).to_value(target)
        except u.UnitConversionError as exc:
            raise InputError(
                f"column {name!r} has unit {unit}, expected {target} for {key}") from exc
    return values


def sexagesimal(text: np.ndarray, key: str, name: str) -> np.ndarray:
    """Degrees from "03 47 00.0" / "03:47:00.0" / "+24 07 00" (RA in hours), or plain
    numbers written as text; empty entries become NaN."""
    from astropy.coordinates import Angle

    values = np.full(len(text), np.nan)
    filled = np.char.strip(text.astype(str)) != ""
    if not filled.any():
        return values
    entries = text[filled].astype(str)
    try:
        values[filled] = entries.astype(float)
        return values
    except ValueError:
        pass
    unit = u.hourangle if key == "ra" else u.deg
    try:
        values[filled] = Angle(list(entries), unit=unit).to_value(u.deg)
    except (ValueError, u.UnitsError) as exc:
        raise InputError(f"column {name!r} ({key}): cannot read {entries[0]!r} as an angle"
                         ) from exc
    return values


def parse_column_mapping(mapping: str) -> dict[str, str]:
    """`--columns pmra=mu_alpha,parallax=plx_mas` as {quantity: column}."""
    out = {}
    for item in filter(None, (part.strip() for part in mapping.split(","))):
        key, sep, column = (s.strip() for s in item.partition("="))
        if not sep or not column:
            raise InputError(f"column mapping: {item!r} is not QUANTITY=COLUMN")
        if key not in QUANTITY_BY_KEY:
            raise InputError(f"column mapping: unknown quantity {key!r}; known: "
                             f"{', '.join(QUANTITY_BY_KEY)}")
        out[key] = column
    return out


def colour_values(table: Table, columns: ColumnMap) -> np.ndarray | None:
    """BP-RP from its own column, else BP minus RP magnitudes (tables that carry only those:
    VizieR's BPmag and RPmag, or an archive query that left bp_rp out); None without either.
    """
    if columns.has("bp_rp"):
        return column_values(table, columns, "bp_rp")
    if columns.has("phot_bp_mean_mag") and columns.has("phot_rp_mean_mag"):
        return (column_values(table, columns, "phot_bp_mean_mag")
                - column_values(table, columns, "phot_rp_mean_mag"))
    return None
