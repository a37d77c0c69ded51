"""ADQL text for the queries vocluster runs: pure functions, easy to read and test.

Each query selects the service's own columns `AS` vocluster's names, so results
from any mirror come back with the Gaia archive's column names.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from vocluster.core.quality import QualityCuts
from vocluster.errors import InputError
from vocluster.vo.services import TableMapping


def _number(value: float, what: str) -> str:
    value = float(value)
    if not math.isfinite(value):
        raise InputError(f"{what} must be a finite number, got {value}")
    return repr(value)


def _string(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _check_cone(ra: float, dec: float, radius: float) -> tuple[str, str, str]:
    if not -90 <= float(dec) <= 90:
        raise InputError(f"dec must be within [-90, 90] deg, got {dec}")
    if not 0 < float(radius) <= 90:  # the largest circle ADQL services accept
        raise InputError(f"radius must be within (0, 90] deg, got {radius}")
    return _number(float(ra) % 360.0, "ra"), _number(dec, "dec"), _number(radius, "radius")


def cone_condition(ra_col: str, dec_col: str, ra: float, dec: float, radius: float) -> str:
    ra_s, dec_s, r_s = _check_cone(ra, dec, radius)
    return (f"1 = CONTAINS(POINT('ICRS', {ra_col}, {dec_col}), "
            f"CIRCLE('ICRS', {ra_s}, {dec_s}, {r_s}))")


def _distance(ra_col: str, dec_col: str, ra: float, dec: float) -> str:
    ra_s, dec_s, _ = _check_cone(ra, dec, 1.0)
    return f"DISTANCE(POINT('ICRS', {ra_col}, {dec_col}), POINT('ICRS', {ra_s}, {dec_s}))"


def quality_conditions(mapping: TableMapping, cuts: QualityCuts) -> list[str]:
    """The quality cuts as WHERE terms, so the server never sends the rows we would drop."""
    terms = []
    if cuts.max_g is not None:
        g = mapping.column("phot_g_mean_mag", "--gmax")
        terms.append(f"{g} <= {_number(cuts.max_g, 'G limit')}")
    if cuts.min_parallax_snr is not None:
        plx = mapping.column("parallax", "--min-parallax-snr")
        err = mapping.column("parallax_error", "--min-parallax-snr")
        terms.append(f"{plx} >= {_number(cuts.min_parallax_snr, 'parallax S/N')} * {err}")
    if cuts.max_ruwe is not None:
        ruwe = mapping.column("ruwe", "--max-ruwe")
        terms.append(f"{ruwe} <= {_number(cuts.max_ruwe, 'RUWE limit')}")
    return terms


def gaia_cone_query(mapping: TableMapping, ra: float, dec: float, radius: float,
                    cuts: QualityCuts = QualityCuts()) -> str:
    """Every mapped column in a cone, nearest first, with `ang_dist` in degrees."""
    ra_col, dec_col = mapping.column("ra"), mapping.column("dec")
    select = ",\n       ".join(f"{theirs} AS {ours}" if theirs != ours else ours
                               for ours, theirs in mapping.columns.items())
    where = [cone_condition(ra_col, dec_col, ra, dec, radius),
             *quality_conditions(mapping, cuts)]
    return (f"SELECT {select},\n       {_distance(ra_col, dec_col, ra, dec)} AS ang_dist\n"
            f"FROM {mapping.table}\nWHERE " + "\n  AND ".join(where) + "\nORDER BY ang_dist")


def count_query(query: str) -> str | None:
    """The row count of a query built here (same FROM/WHERE, no ORDER BY); None for
    other shapes (TOP, GROUP BY...), which are then fetched without a count."""
    from_at = query.find("\nFROM ")
    if from_at < 0 or query.upper().startswith("SELECT TOP") or "GROUP BY" in query.upper():
        return None
    order_at = query.rfind("\nORDER BY ")
    body = query[from_at:order_at if order_at > from_at else len(query)]
    return f"SELECT COUNT(*) AS n{body}"


def catalogue_query(mapping: TableMapping) -> str:
    select = ", ".join(f"{theirs} AS {ours}" for ours, theirs in mapping.columns.items())
    return f"SELECT {select}\nFROM {mapping.table}"


def obscore_image_query(table: str, ra: float, dec: float, radius: float, *,
                        collection: str = "HST",
                        wavelengths_m: Iterable[float] = (),
                        instrument: str | None = None,
                        min_calib_level: int | None = None) -> str:
    """ObsCore images covering a position; filters become `em_min <= pivot <= em_max`.

    ObsCore has no filter-name column, but every filter has a pivot wavelength,
    and the band limits em_min/em_max are standard on every ObsCore service.
    """
    where = [f"obs_collection = {_string(collection)}", "dataproduct_type = 'image'",
             cone_condition("s_ra", "s_dec", ra, dec, radius)]
    bands = [f"(em_min <= {_number(w, 'wavelength')} AND em_max >= {_number(w, 'wavelength')})"
             for w in wavelengths_m]
    if bands:
        where.append("(" + " OR ".join(bands) + ")")
    if instrument:
        where.append(f"instrument_name LIKE {_string(instrument + '%')}")
    if min_calib_level is not None:
        where.append(f"calib_level >= {int(min_calib_level)}")
    columns = ("obs_id, obs_collection, instrument_name, target_name, calib_level, s_ra, s_dec, "
               "em_min, em_max, t_exptime, access_url, access_format, access_estsize")
    return (f"SELECT {columns},\n       {_distance('s_ra', 's_dec', ra, dec)} AS ang_dist\n"
            f"FROM {table}\nWHERE " + "\n  AND ".join(where) + "\nORDER BY ang_dist")
