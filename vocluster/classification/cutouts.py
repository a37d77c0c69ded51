"""Stamps around catalogue positions from band images (astropy Cutout2D), bands aligned
by their WCS. Stamps crossing an image edge are zero-padded and flagged, NaN pixels are
zeroed and flagged, positions off an image are flagged: nothing is dropped silently."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy.coordinates import SkyCoord
from astropy.nddata import Cutout2D, NoOverlapError
from astropy.wcs import WCS

from vocluster.errors import InputError

FLAG_EDGE = 1        # part of the stamp lies outside an image: zero-padded
FLAG_OFF_IMAGE = 2   # the position is off at least one band's image: no stamp
FLAG_NAN = 4         # NaN/inf pixels inside the image were set to zero


@dataclass(frozen=True)
class BandImage:
    name: str
    data: np.ndarray
    wcs: WCS | None = None


@dataclass(frozen=True)
class Cutouts:
    stamps: np.ndarray   # (N, bands, size, size) float32
    flags: np.ndarray    # (N,) bit mask of FLAG_*

    @property
    def usable(self) -> np.ndarray:
        return (self.flags & FLAG_OFF_IMAGE) == 0


def _band_positions(images: list[BandImage], sky: SkyCoord | None,
                    x: np.ndarray | None, y: np.ndarray | None) -> list[tuple]:
    """Pixel positions of every object in every band's own pixel frame."""
    if sky is not None:
        for image in images:
            if image.wcs is None:
                raise InputError(f"image {image.name} has no celestial WCS, so RA/Dec cannot "
                                 "be placed on it; give pixel x/y columns instead")
        return [image.wcs.world_to_pixel(sky) for image in images]
    reference = images[0]
    positions = []
    for image in images:
        if image is reference:
            positions.append((x, y))
        elif reference.wcs is not None and image.wcs is not None:
            positions.append(image.wcs.world_to_pixel(reference.wcs.pixel_to_world(x, y)))
        elif image.data.shape == reference.data.shape:
            positions.append((x, y))  # no WCS to align by: same-shape images taken as aligned
        else:
            raise InputError(f"image {image.name} has another shape than {reference.name} and "
                             "no WCS to align them")
    return positions


def cut_stamps(images: list[BandImage], size: int = 32, *, sky: SkyCoord | None = None,
               x: np.ndarray | None = None, y: np.ndarray | None = None) -> Cutouts:
    """(N, bands, size, size) stamps centred on `sky` positions or on pixel `x`, `y`
    (0-based, in the first image's frame)."""
    if not images:
        raise InputError("no images given")
    if sky is None and (x is None or y is None):
        raise InputError("give sky positions or pixel x and y")
    n = len(sky) if sky is not None else len(x)
    stamps = np.zeros((n, len(images), size, size), np.float32)
    flags = np.zeros(n, np.int16)
    for band, (image, (px, py)) in enumerate(zip(images, _band_positions(images, sky, x, y),
                                                 strict=True)):
        px, py = np.atleast_1d(px), np.atleast_1d(py)
        for i in range(n):
            if not (np.isfinite(px[i]) and np.isfinite(py[i])):
                flags[i] |= FLAG_OFF_IMAGE
                continue
            try:
                cutout = Cutout2D(image.data, (px[i], py[i]), size, mode="partial",
                                  fill_value=0.0, copy=True)
            except NoOverlapError:
                flags[i] |= FLAG_OFF_IMAGE
                continue
            inside = cutout.data[cutout.slices_cutout]
            if inside.shape != (size, size):
                flags[i] |= FLAG_EDGE
            if not np.isfinite(inside).all():
                flags[i] |= FLAG_NAN
            stamps[i, band] = np.nan_to_num(cutout.data, nan=0.0, posinf=0.0, neginf=0.0)
    stamps[(flags & FLAG_OFF_IMAGE) != 0] = 0.0
    return Cutouts(stamps, flags)

