"""Optional quality cuts: which rows may take part in the fit."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

from vocluster.errors import InputError

if TYPE_CHECKING:  # astropy, behind GaiaSample, is not needed to parse --help
    from vocluster.core.sample import GaiaSample


@dataclass(frozen=True)
class QualityCuts:
    """Cuts applied before fitting; rows that fail keep a null probability."""

    max_ruwe: float | None = None
    min_parallax_snr: float | None = None
    max_g: float | None = None

    def describe(self) -> dict[str, float]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def usable_rows(sample: GaiaSample, features: np.ndarray, cuts: QualityCuts) -> np.ndarray:
    """Rows with finite features that pass every requested cut."""
    keep = np.all(np.isfinite(features), axis=1)
    if cuts.max_ruwe is not None:
        keep &= _required(sample, "ruwe", "--max-ruwe") <= cuts.max_ruwe
    if cuts.min_parallax_snr is not None:
        snr = sample.values["parallax"] / sample.values["parallax_error"]
        keep &= snr >= cuts.min_parallax_snr
    if cuts.max_g is not None:
        keep &= _required(sample, "phot_g_mean_mag", "--max-g") <= cuts.max_g
    return keep


def _required(sample: GaiaSample, key: str, option: str) -> np.ndarray:
    values = sample.get(key)
    if values is None:
        raise InputError(f"{option} needs a {key} column, which the table does not have")
    return np.nan_to_num(values, nan=np.inf)
