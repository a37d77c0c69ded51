"""The astrometry of one table as plain arrays, in the units the methods expect."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from astropy.table import Table

from vocluster.core.columns import (
    ColumnMap,
    colour_values,
    column_values,
    detect_columns,
    require_columns,
)

ASTROMETRY = ("pmra", "pmdec", "parallax")
# Typical errors of each release relative to the DR3 parallax model below, as
# (parallax factor, proper-motion error / parallax error). DR3 (Lindegren et al. 2021,
# table 4): pm errors ~1.05 x parallax errors. DR2 (Lindegren et al. 2018, sect. 5: 0.04,
# 0.1, 0.7 mas at G = 15, 17, 20; 0.06, 0.2, 1.2 mas/yr) is ~1.4x less precise in
# parallax, with proper motions ~1.7x its parallax errors (22 instead of 34 months).
RELEASE_ERRORS = {"dr3": (1.0, 1.05), "dr2": (1.4, 1.7)}


def gaia_parallax_error(g_mag: np.ndarray, release: str = "dr3") -> np.ndarray:
    """Typical parallax error (mas) at G; DR3: 0.03 at G=15, 0.08 at 17, 0.6 at 20."""
    g = np.clip(np.nan_to_num(g_mag, nan=19.0), 13.0, 21.5)
    z = 10 ** (0.4 * (g - 15.0))
    return RELEASE_ERRORS[release][0] * np.sqrt(40.0 + 800.0 * z + 30.0 * z**2) / 1000.0


def detect_release(table: Table) -> str | None:
    """The Gaia release a table says it holds (metadata or tell-tale columns), if any."""
    said = str(table.meta.get("vocluster_gaia_release", "")).lower()
    if said in RELEASE_ERRORS:
        return said
    names = " ".join(table.colnames).lower()
    if "dr2" in names and "dr3" not in names:
        return "dr2"
    if "ruwe" in names or "dr3" in names:  # RUWE is in gaia_source from EDR3 on
        return "dr3"
    return None


def tangent_plane(ra: np.ndarray, dec: np.ndarray, ra0: float, dec0: float) -> np.ndarray:
    """Gnomonic projection (deg) about (ra0, dec0): distances on the sky without RA squeeze."""
    ra_r, dec_r = np.radians(ra), np.radians(dec)
    ra0_r, dec0_r = np.radians(ra0), np.radians(dec0)
    cos_c = np.sin(dec0_r) * np.sin(dec_r) + np.cos(dec0_r) * np.cos(dec_r) * np.cos(ra_r - ra0_r)
    xi = np.cos(dec_r) * np.sin(ra_r - ra0_r) / cos_c
    eta = (np.cos(dec0_r) * np.sin(dec_r) - np.sin(dec0_r) * np.cos(dec_r) * np.cos(ra_r - ra0_r))
    return np.degrees(np.column_stack([xi, eta / cos_c]))


def sky_centre(ra: np.ndarray, dec: np.ndarray) -> tuple[float, float]:
    """Mean direction of a set of positions (safe across RA = 0)."""
    ra_r, dec_r = np.radians(ra), np.radians(dec)
    x = np.nanmean(np.cos(dec_r) * np.cos(ra_r))
    y = np.nanmean(np.cos(dec_r) * np.sin(ra_r))
    z = np.nanmean(np.sin(dec_r))
    ra0 = float(np.degrees(np.arctan2(y, x)) % 360.0)
    return ra0, float(np.degrees(np.arctan2(z, np.hypot(x, y))))


@dataclass
class GaiaSample:
    """Arrays of one table: astrometry, errors, photometry and sky positions."""

    columns: ColumnMap
    values: dict[str, np.ndarray]
    notes: list[str] = field(default_factory=list)
    errors_estimated: bool = False
    release: str = "dr3"  # the Gaia release the table is (said or assumed)

    def __len__(self) -> int:
        return len(self.values["pmra"])

    def get(self, key: str) -> np.ndarray | None:
        return self.values.get(key)

    @property
    def has_positions(self) -> bool:
        return "ra" in self.values and "dec" in self.values


# Values no star can have: the brightest star in G is about -1.5 (Sirius), Gaia reaches
# about 21, and BP-RP runs from about -1 to 8. Outside these wide bounds a value is a
# corrupt or placeholder entry (99, 1e6), and it is taken as unknown: histograms in G or
# colour spanned to it would be millions of empty bins, and move the result (one G = 1e6
# row in the M67 field changed the member count by 12).
PHOTOMETRY_BOUNDS = {"phot_g_mean_mag": (-2.0, 25.0), "bp_rp": (-5.0, 15.0)}


def _drop_impossible_photometry(values: dict[str, np.ndarray], notes: list[str]) -> None:
    for key, (low, high) in PHOTOMETRY_BOUNDS.items():
        if key not in values:
            continue
        column = values[key] = np.asarray(values[key], dtype=float).copy()
        wild = np.isfinite(column) & ((column < low) | (column > high))
        if wild.any():
            column[wild] = np.nan
            notes.append(f"{int(wild.sum())} row(s) with {key} outside {low:g}..{high:g} mag "
                         f"taken as unknown")


def _fill_errors(values: dict[str, np.ndarray], notes: list[str], release: str | None
                 ) -> bool:
    """Make sure every astrometric quantity has an error column, saying how it was made.

    Returns whether any error was estimated from G (the release's error model).
    """
    n = len(values["pmra"])
    estimated = False
    model = release or "dr3"
    pm_ratio = RELEASE_ERRORS[model][1]
    said = f"Gaia {model.upper()}" + ("" if release else " (release not stated; --release)")
    if "parallax_error" not in values:
        if "phot_g_mean_mag" in values:
            values["parallax_error"] = gaia_parallax_error(values["phot_g_mean_mag"], model)
            notes.append(f"no error columns: errors estimated from G with the {said} "
                         f"error model")
            estimated = True
        else:
            values["parallax_error"] = np.zeros(n)
            notes.append("no parallax_error or G column: errors taken as zero")
    for key in ("pmra_error", "pmdec_error"):
        if key not in values:
            values[key] = values["parallax_error"] * pm_ratio
            if not estimated:
                notes.append(f"{key} estimated as {pm_ratio} x parallax_error ({said})")
    for key in ("pmra_error", "pmdec_error", "parallax_error"):
        err = values[key]
        bad = ~np.isfinite(err) | (err < 0)
        if bad.any():
            good = err[~bad]
            err[bad] = np.median(good) if good.size else 0.0
    return estimated


def load_sample(table: Table, require_positions: bool = False, release: str | None = None,
                columns: dict[str, str] | None = None) -> GaiaSample:
    """Detect columns and pull out arrays; raise if the astrometry is not there.

    `columns` maps quantities to column names the table uses (`--columns`);
    `release` ("dr2" or "dr3") chooses the error model for tables without error columns;
    by default the table's own metadata or columns tell, else DR3 is assumed (and said).
    """
    columns = detect_columns(table, columns)
    required = ASTROMETRY + (("ra", "dec") if require_positions else ())
    require_columns(table, columns, required)
    values = {key: column_values(table, columns, key)
              for key in columns.columns if key != "source_id"}
    notes: list[str] = []
    if not require_positions and not (columns.has("ra") and columns.has("dec")):
        notes.append("no sky positions found (looked for ra/dec, RA_ICRS/DE_ICRS, RAJ2000/"
                     "DEJ2000, RAdeg/DEdeg or UCD pos.eq.ra/dec; --columns maps others): the "
                     "cluster is found in motion and parallax alone, without centre or r50")
    colour = None if "bp_rp" in values else colour_values(table, columns)
    if colour is not None:  # no colour column, but BP and RP magnitudes
        values["bp_rp"] = colour
        notes.append(f"BP-RP taken as {columns['phot_bp_mean_mag']} - "
                     f"{columns['phot_rp_mean_mag']}")
    _drop_impossible_photometry(values, notes)
    release = release or detect_release(table)
    estimated = _fill_errors(values, notes, release)
    return GaiaSample(columns=columns, values=values, notes=notes, errors_estimated=estimated,
                      release=release or "dr3")
