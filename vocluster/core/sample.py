"""The astrometry of one table as plain arrays, in the units the methods expect."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from astropy.table import Table

from vocluster.core.columns import ColumnMap, column_values, detect_columns, require_columns

ASTROMETRY = ("pmra", "pmdec", "parallax")
# Gaia DR3 proper-motion errors (mas/yr) are close to parallax errors (mas) times this
# ratio across magnitudes (Lindegren et al. 2021, table 4); used when pm errors are absent.
PM_TO_PARALLAX_ERROR = 1.05


def gaia_dr3_parallax_error(g_mag: np.ndarray) -> np.ndarray:
    """Typical parallax error (mas) at G: 0.03 at G=15, 0.08 at 17, 0.6 at 20 (Gaia error model)."""
    g = np.clip(np.nan_to_num(g_mag, nan=19.0), 13.0, 21.5)
    z = 10 ** (0.4 * (g - 15.0))
    return np.sqrt(40.0 + 800.0 * z + 30.0 * z**2) / 1000.0


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

    def __len__(self) -> int:
        return len(self.values["pmra"])

    def get(self, key: str) -> np.ndarray | None:
        return self.values.get(key)

    @property
    def has_positions(self) -> bool:
        return "ra" in self.values and "dec" in self.values

    def astrometry(self) -> np.ndarray:
        return np.column_stack([self.values[k] for k in ASTROMETRY])

    def astrometry_errors(self) -> np.ndarray:
        return np.column_stack([self.values[f"{k}_error"] for k in ASTROMETRY])


def _fill_errors(values: dict[str, np.ndarray], notes: list[str]) -> None:
    """Make sure every astrometric quantity has an error column, saying how it was made."""
    n = len(values["pmra"])
    if "parallax_error" not in values:
        if "phot_g_mean_mag" in values:
            values["parallax_error"] = gaia_dr3_parallax_error(values["phot_g_mean_mag"])
            notes.append("parallax_error estimated from G with the DR3 error model")
        else:
            values["parallax_error"] = np.zeros(n)
            notes.append("no parallax_error or G column: errors taken as zero")
    for key in ("pmra_error", "pmdec_error"):
        if key not in values:
            values[key] = values["parallax_error"] * PM_TO_PARALLAX_ERROR
            notes.append(f"{key} estimated as {PM_TO_PARALLAX_ERROR} x parallax_error")
    for key in ("pmra_error", "pmdec_error", "parallax_error"):
        err = values[key]
        bad = ~np.isfinite(err) | (err < 0)
        if bad.any():
            good = err[~bad]
            err[bad] = np.median(good) if good.size else 0.0


def load_sample(table: Table, require_positions: bool = False) -> GaiaSample:
    """Detect columns and pull out arrays; raise if the astrometry is not there."""
    columns = detect_columns(table)
    required = ASTROMETRY + (("ra", "dec") if require_positions else ())
    require_columns(table, columns, required)
    values = {key: column_values(table, columns, key)
              for key in columns.columns if key != "source_id"}
    notes: list[str] = []
    _fill_errors(values, notes)
    return GaiaSample(columns=columns, values=values, notes=notes)
