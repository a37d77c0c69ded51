"""HST images from MAST over TAP (ObsCore), downloaded once into the cache."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urlparse

import pyvo
from astropy.table import Table

from vocluster.errors import InputError
from vocluster.vo.adql import obscore_image_query
from vocluster.vo.cache import QueryCache
from vocluster.vo.download import stream_to
from vocluster.vo.services import Config, load_config
from vocluster.vo.tap import TapClient

#: pivot wavelengths (m) of the HST filters StarcNet-style pipelines use
HST_PIVOT_M = {
    "F225W": 2.372e-7, "F275W": 2.710e-7, "F336W": 3.355e-7, "F390W": 3.924e-7,
    "F435W": 4.329e-7, "F438W": 4.326e-7, "F475W": 4.747e-7, "F555W": 5.361e-7,
    "F606W": 5.887e-7, "F625W": 6.242e-7, "F657N": 6.567e-7, "F658N": 6.584e-7,
    "F775W": 7.693e-7, "F814W": 8.048e-7, "F110W": 1.153e-6, "F160W": 1.537e-6,
}
MAX_DOWNLOAD_BYTES = 2 * 1024**3


def filter_wavelengths(filters: Sequence[str]) -> list[float]:
    unknown = [f for f in filters if f.upper() not in HST_PIVOT_M]
    if unknown:
        raise InputError(f"unknown HST filter(s) {', '.join(unknown)}; known: "
                         f"{', '.join(HST_PIVOT_M)}")
    return [HST_PIVOT_M[f.upper()] for f in filters]


def band_of(em_min: float, em_max: float, filters: Sequence[str]) -> str | None:
    """Which of the requested filters an image's band [em_min, em_max] holds."""
    for name in filters:
        if em_min <= HST_PIVOT_M[name.upper()] <= em_max:
            return name.upper()
    return None


def find_hst_images(ra: float, dec: float, radius: float = 0.05, *,
                    filters: Sequence[str] = (), instrument: str | None = None,
                    min_calib_level: int | None = 2, config: Config | None = None,
                    service: str | pyvo.dal.TAPService | None = None, refresh: bool = False,
                    progress: Callable[[str], None] | None = None) -> Table:
    """HST images from MAST's ObsCore whose centre lies within `radius` deg.

    Parameters
    ----------
    ra, dec : float
        ICRS degrees.
    radius : float
        Degrees.
    filters : sequence of str
        HST filter names (`F275W`, `F814W`); ObsCore has no filter column, so each is
        matched by its pivot wavelength between `em_min` and `em_max`.
    instrument : str, optional
        An `instrument_name` prefix (`ACS`, `WFC3`).
    min_calib_level : int, optional
        ObsCore calibration level (2: calibrated, 3: combined); None for any.
    config, service, refresh, progress
        As for `fetch_gaia_cone`, with the MAST TAP URL.

    Returns
    -------
    astropy.table.Table
        ObsCore rows, with a `band` column when `filters` are given.

    Raises
    ------
    InputError
        An unknown filter name.

    Examples
    --------
    >>> from vocluster.vo.mast import download_images, find_hst_images
    >>> rows = find_hst_images(10.68, 41.27, 0.05, filters=["F814W"])  # doctest: +SKIP
    >>> paths = download_images(rows)  # doctest: +SKIP
    """
    config = config or load_config()
    query = obscore_image_query(config.obscore_table, ra, dec, radius,
                                wavelengths_m=filter_wavelengths(filters),
                                instrument=instrument, min_calib_level=min_calib_level)
    client = TapClient(service or config.mast_url, config.tap, QueryCache(config.cache_dir),
                       progress)
    table = client.query(query, refresh=refresh)
    if filters:
        table["band"] = [band_of(float(lo), float(hi), filters)
                         for lo, hi in zip(table["em_min"], table["em_max"], strict=True)]
    return table


def download_product(url: str, *, config: Config | None = None, refresh: bool = False,
                     max_bytes: int = MAX_DOWNLOAD_BYTES, timeout: float | None = None) -> Path:
    """A product (FITS) in the local cache: downloaded once, checksummed, atomic."""
    config = config or load_config()
    scheme = urlparse(url).scheme
    if scheme not in ("http", "https"):
        raise InputError(f"cannot download {url!r}: only http(s) URLs")
    cache = QueryCache(config.cache_dir)
    suffix = "".join(Path(urlparse(url).path).suffixes[-2:]) or ".dat"
    if not refresh:
        cached = cache.lookup("download", url, url, suffix)
        if cached is not None:
            return cached

    def write(tmp: Path) -> None:
        stream_to(url, tmp, max_bytes=max_bytes, timeout=timeout or config.tap.timeout)

    return cache.store_file("download", url, url, suffix, write)


def download_images(images: Table, **kwargs) -> list[Path]:
    """Download every row's `access_url` into the cache.

    Parameters
    ----------
    images : astropy.table.Table
        Rows with an `access_url` column (from `find_hst_images`).
    **kwargs
        As for `download_product`: `config`, `refresh`, `max_bytes`, `timeout`.

    Returns
    -------
    list of Path
        Local files in row order; a file already cached (and matching its checksum)
        is not downloaded again.
    """
    return [download_product(str(url), **kwargs) for url in images["access_url"]]
