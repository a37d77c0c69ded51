"""SAMP messages parsed into plain values before any work starts.

Every check a message needs (parameter names, types, lengths, formats, numbers) is a
pure function of its `samp.params` here, so it is tested without a hub, and a refusal
is one VoclusterError line that the daemon returns as `samp.errortxt`. The daemon then
only schedules work on already-valid requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from vocluster.errors import VoclusterError

MAX_PARAM_CHARS = 4096
TABLE_LOAD_PARAMS = frozenset({"url", "table-id", "name"})
MEMBER_PARAMS = frozenset({"url", "format", "name", "method", "target", "threshold", "seed",
                           "candidate", "force", "ra", "dec", "radius", "pmra", "pmdec",
                           "parallax"})
CONE_PARAMS = frozenset({"ra", "dec", "radius", "method", "threshold", "seed", "target",
                         "candidate", "force", "pmra", "pmdec", "parallax"})
CLASSIFY_PARAMS = frozenset({"url", "format", "name", "images", "model", "threshold",
                             "table-id"})
VALIDATE_PARAMS = frozenset({"url", "format", "name", "method", "target", "threshold", "seed",
                             "candidate", "force", "n-clusters", "distance-min",
                             "distance-max", "mass-min", "mass-max", "like-found"})
POINT_AT_PARAMS = frozenset({"ra", "dec"})
NEXT_TABLE_PARAMS = frozenset({"method", "target", "pmra", "pmdec", "parallax", "candidate",
                               "threshold", "force", "seed"})
FORMATS = ("votable", "fits")


def check_params(params: object, allowed: frozenset[str], mtype: str) -> dict[str, str]:
    """Names from `allowed`, values strings of sane length (SAMP sends strings; a list
    or map where a string belongs is an error named here, not a Python one later)."""
    if not isinstance(params, dict):
        raise VoclusterError(f"{mtype}: samp.params must be a map")
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise VoclusterError(f"{mtype}: unknown parameter(s) {', '.join(unknown)}; "
                             f"accepted: {', '.join(sorted(allowed))}")
    for name, value in params.items():
        if not isinstance(value, str):
            raise VoclusterError(f"{mtype}: parameter {name} must be a string, got a "
                                 f"{'list' if isinstance(value, list) else 'map'}")
        if len(value) > MAX_PARAM_CHARS:
            raise VoclusterError(f"{mtype}: parameter {name} is {len(value)} characters "
                                 f"long; at most {MAX_PARAM_CHARS} are accepted")
    return params


@dataclass(frozen=True)
class TableRequest:
    """A peer's table by URL: where, in which format, under what name, and the sender's
    table id (to select the chosen rows in it)."""

    url: str
    format: str
    name: str
    table_id: str | None


def table_request(mtype: str, params: dict[str, str]) -> TableRequest:
    """The table part of table.load.*, vocluster.members/classify/validate (checked)."""
    url = params.get("url")
    if not url:
        raise VoclusterError(f"{mtype}: no url parameter")
    if mtype.startswith("table.load."):
        fmt = mtype.removeprefix("table.load.")
    else:
        fmt = params.get("format", "votable")
    if fmt not in FORMATS:
        raise VoclusterError(f"{mtype}: format must be votable or fits, got {fmt}")
    name = params.get("name") or unquote(Path(urlparse(url).path).name) or "table"
    return TableRequest(url, fmt, name, params.get("table-id") or None)


def _degrees(params: dict[str, str], key: str, mtype: str) -> float:
    try:
        return float(params[key])
    except KeyError as exc:
        raise VoclusterError(f"{mtype}: missing parameter {key}") from exc
    except ValueError as exc:
        raise VoclusterError(f"{mtype}: {key} must be a number in degrees, got "
                             f"{params[key]!r}") from exc


@dataclass(frozen=True)
class Position:
    """A sky position (deg), and a cone radius when one was given."""

    ra: float
    dec: float
    radius: float | None = None


def cone_radius(mtype: str, params: dict[str, str]) -> float | None:
    """The cone radius (deg) when one was given, in range."""
    if "radius" not in params:
        return None
    value = _degrees(params, "radius", mtype)
    if not 0 < value <= 10:
        raise VoclusterError(f"{mtype}: radius must be within (0, 10] degrees, got {value}")
    return value


def position(mtype: str, params: dict[str, str]) -> Position:
    """ra, dec (and radius) as numbers, in range."""
    ra, dec = _degrees(params, "ra", mtype), _degrees(params, "dec", mtype)
    if not -90 <= dec <= 90:
        raise VoclusterError(f"{mtype}: dec must be within [-90, 90], got {dec}")
    return Position(ra % 360.0, dec, cone_radius(mtype, params))


@dataclass(frozen=True)
class ClassifyRequest:
    """vocluster.classify: the catalogue, the band images sent (if any), model, threshold."""

    table: TableRequest
    images: tuple[str, ...]
    model: str | None
    threshold: float | None


def split_list(value: str) -> list[str]:
    """A SAMP list sent as one string: comma- or whitespace-separated."""
    return [item for item in value.replace(",", " ").split() if item]


def classify_request(mtype: str, params: dict[str, str]) -> ClassifyRequest:
    table = table_request(mtype, params)
    threshold = None
    if "threshold" in params:
        try:
            threshold = float(params["threshold"])
        except ValueError as exc:
            raise VoclusterError(f"{mtype}: threshold must be a number, got "
                                 f"{params['threshold']!r}") from exc
    return ClassifyRequest(table, tuple(split_list(params.get("images", ""))),
                           params.get("model") or None, threshold)
