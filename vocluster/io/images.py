"""Band images from FITS: one file per band, or a cube with one plane per band."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.utils.exceptions import AstropyWarning
from astropy.wcs import WCS, FITSFixedWarning

from vocluster.classification.cutouts import BandImage
from vocluster.errors import InputError

FILTER_KEYWORDS = ("FILTER", "FILTER1", "FILTER2", "FILTNAM1")


def _band_name(header: fits.Header, fallback: str) -> str:
    for key in FILTER_KEYWORDS:
        value = str(header.get(key, "")).strip()
        if value and not value.upper().startswith("CLEAR"):
            return value
    return fallback


def _celestial_wcs(header: fits.Header) -> WCS | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (FITSFixedWarning, AstropyWarning))
        try:
            wcs = WCS(header)
        except Exception:
            return None
    return wcs.celestial if wcs.has_celestial else None


def read_band_images(paths: list[str | Path]) -> list[BandImage]:
    """The first image HDU of each file; a 3-D cube gives one band per plane."""
    images: list[BandImage] = []
    for path in map(Path, paths):
        if not path.exists():
            raise InputError(f"image not found: {path}")
        try:
            with fits.open(path, memmap=False) as hdus:
                hdu = next((h for h in hdus if h.data is not None and h.data.ndim in (2, 3)),
                           None)
                if hdu is None:
                    raise InputError(f"{path} has no 2-D image or 3-D cube")
                header = hdus[0].header.copy()
                header.update(hdu.header)
                data = np.asarray(hdu.data, dtype=np.float32)
        except OSError as exc:
            raise InputError(f"cannot read FITS image {path}: {exc}") from exc
        wcs = _celestial_wcs(hdu.header)
        if data.ndim == 2:
            images.append(BandImage(_band_name(header, path.stem), data, wcs))
        else:
            images += [BandImage(f"{path.stem}[{k}]", plane, wcs) for k, plane in enumerate(data)]
    return images
