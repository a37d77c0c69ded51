"""Band images with WCS built from simulated stamps at known places, for cutout tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS

from vocluster.datasets.stamp_simulator import HST_FILTERS, simulate_stamps

SIZE = 320


def make_wcs(crpix_shift: float = 0.0) -> WCS:
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [10.68, 41.27]
    wcs.wcs.crpix = [SIZE / 2 + crpix_shift, SIZE / 2]
    wcs.wcs.cdelt = [-0.04 / 3600, 0.04 / 3600]
    return wcs


def write_band_images(directory: Path, n_objects: int = 16, seed: int = 5,
                      shift_band: int | None = None) -> tuple[list[Path], Table, np.ndarray]:
    """Five FITS images (one per HST band) with simulated objects pasted on a 5 x 5 px
    grid spacing of 48 px; returns the paths, a catalogue with RA/Dec and x/y, and the
    stamps as pasted. `shift_band` is stored shifted by 7 px with its WCS to match."""
    sim = simulate_stamps(n_objects, seed=seed)
    rng = np.random.default_rng(seed)
    cube = rng.normal(0.02, 0.005, (5, SIZE, SIZE)).astype(np.float32)
    xs, ys = [], []
    for i in range(n_objects):
        x0, y0 = 40 + 48 * (i % 6), 40 + 48 * (i // 6)
        cube[:, y0 - 16:y0 + 16, x0 - 16:x0 + 16] = sim.stamps[i]
        xs.append(x0 - 0.5)
        ys.append(y0 - 0.5)
    wcs = make_wcs()
    paths = []
    for band, name in enumerate(HST_FILTERS):
        data, band_wcs = cube[band], wcs
        if band == shift_band:
            data, band_wcs = np.roll(data, 7, axis=1), make_wcs(7)
        header = band_wcs.to_header()
        header["FILTER"] = name
        path = directory / f"{name}.fits"
        fits.PrimaryHDU(data, header).writeto(path, overwrite=True)
        paths.append(path)
    sky = wcs.pixel_to_world(np.array(xs), np.array(ys))
    table = Table({"id": np.arange(n_objects), "ra": sky.ra.deg, "dec": sky.dec.deg,
                   "x": xs, "y": ys, "true_class": sim.labels})
    return paths, table, sim.stamps
