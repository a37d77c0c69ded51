"""Feature spaces for clustering, each with first-order error propagation.

`astrometric` (pmra, pmdec, parallax) is the default: the quantities Gaia measures, in
which a cluster is a compact blob whatever its distance. `thesis` is the 2020 DEC
thesis set (pmra/parallax, pmdec/parallax, parallax, |pm|), kept for comparison; it
is undefined for parallax <= 0, so such rows take no part in the fit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vocluster.core.sample import GaiaSample, tangent_plane
from vocluster.errors import InputError

Values = dict[str, np.ndarray]


@dataclass(frozen=True)
class Feature:
    name: str
    unit: str
    needs_positions: bool
    value: Callable[[Values], np.ndarray]
    error: Callable[[Values], np.ndarray]


def _positive_parallax(v: Values) -> np.ndarray:
    plx = v["parallax"]
    return np.where(plx > 0, plx, np.nan)


def _ratio_error(v: Values, pm_key: str) -> np.ndarray:
    plx = _positive_parallax(v)
    return np.hypot(v[f"{pm_key}_error"] / plx, v[pm_key] * v["parallax_error"] / plx**2)


def _pm_total_error(v: Values) -> np.ndarray:
    total = np.hypot(v["pmra"], v["pmdec"])
    safe = np.where(total > 0, total, 1.0)
    return np.hypot(v["pmra"] * v["pmra_error"], v["pmdec"] * v["pmdec_error"]) / safe


FEATURES: dict[str, Feature] = {
    "pmra": Feature("pmra", "mas/yr", False, lambda v: v["pmra"], lambda v: v["pmra_error"]),
    "pmdec": Feature("pmdec", "mas/yr", False, lambda v: v["pmdec"], lambda v: v["pmdec_error"]),
    "parallax": Feature("parallax", "mas", False, lambda v: v["parallax"],
                        lambda v: v["parallax_error"]),
    "pmra_over_parallax": Feature("pmra_over_parallax", "yr-1", False,
                                  lambda v: v["pmra"] / _positive_parallax(v),
                                  lambda v: np.nan_to_num(_ratio_error(v, "pmra"))),
    "pmdec_over_parallax": Feature("pmdec_over_parallax", "yr-1", False,
                                   lambda v: v["pmdec"] / _positive_parallax(v),
                                   lambda v: np.nan_to_num(_ratio_error(v, "pmdec"))),
    "pm_total": Feature("pm_total", "mas/yr", False, lambda v: np.hypot(v["pmra"], v["pmdec"]),
                        _pm_total_error),
    "xi": Feature("xi", "deg", True, lambda v: v["xi"], lambda v: np.zeros_like(v["xi"])),
    "eta": Feature("eta", "deg", True, lambda v: v["eta"], lambda v: np.zeros_like(v["eta"])),
}

FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "astrometric": ("pmra", "pmdec", "parallax"),
    "astrometric+position": ("pmra", "pmdec", "parallax", "xi", "eta"),
    "thesis": ("pmra_over_parallax", "pmdec_over_parallax", "parallax", "pm_total"),
}


@dataclass
class FeatureMatrix:
    """Features of every input row (NaN where undefined) and their 1-sigma errors."""

    names: tuple[str, ...]
    values: np.ndarray
    errors: np.ndarray


def resolve_feature_names(spec: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """A set name (`astrometric`, `thesis`, ...) or a comma-separated list of features."""
    if isinstance(spec, str):
        if spec in FEATURE_SETS:
            return FEATURE_SETS[spec]
        names = tuple(part.strip() for part in spec.split(",") if part.strip())
    else:
        names = tuple(spec)
    unknown = [n for n in names if n not in FEATURES]
    if unknown or not names:
        raise InputError(
            f"unknown feature(s) {', '.join(unknown) or spec!r}; choose a set "
            f"({', '.join(FEATURE_SETS)}) or features from {', '.join(FEATURES)}"
        )
    return names


def build_features(sample: GaiaSample, spec: str | tuple[str, ...] = "astrometric",
                   centre: tuple[float, float] | None = None) -> FeatureMatrix:
    """Evaluate the named features; positions are projected about `centre` (RA, Dec)."""
    names = resolve_feature_names(spec)
    chosen = [FEATURES[n] for n in names]
    values = dict(sample.values)
    if any(f.needs_positions for f in chosen):
        if not sample.has_positions:
            raise InputError("position features need ra and dec columns, which were not found")
        if centre is None:
            raise InputError("position features need a centre for the tangent-plane projection")
        plane = tangent_plane(values["ra"], values["dec"], *centre)
        values["xi"], values["eta"] = plane[:, 0], plane[:, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        matrix = np.column_stack([f.value(values) for f in chosen]).astype(float)
        errors = np.column_stack([f.error(values) for f in chosen]).astype(float)
    return FeatureMatrix(names, matrix, np.abs(errors))
