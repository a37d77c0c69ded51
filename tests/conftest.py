"""Shared synthetic fields: small enough for CI, real enough to test recovery."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from helpers import loud_skip, serve_directory

from vocluster.datasets.synthetic import make_cone


@pytest.fixture(scope="session")
def praesepe_like():
    """8k-star cone with 300 members of a Praesepe-like cluster."""
    return make_cone("NGC 2632", seed=3, n_stars=8000, n_members=300)


@pytest.fixture(scope="session")
def m67_like():
    return make_cone("NGC 2682", seed=5)


@pytest.fixture(scope="session")
def fits_images(tmp_path_factory):
    """Three small FITS images served over HTTP on 127.0.0.1 (the ObsCore products)."""
    from astropy.io import fits

    folder = tmp_path_factory.mktemp("images")
    names = ["m67_f275w.fits", "m67_f814w.fits", "pleiades_f814w.fits"]
    for i, name in enumerate(names):
        data = np.random.default_rng(i).normal(size=(16, 16)).astype(np.float32)
        fits.PrimaryHDU(data).writeto(folder / name)
    with serve_directory(folder) as base_url:
        yield folder, base_url, names


@pytest.fixture(scope="session")
def tap_server(tmp_path_factory, fits_images):
    """GAVO DaCHS with Gaia-, VizieR- and ObsCore-shaped tables, on loopback."""
    if shutil.which("dachs") is None:
        loud_skip("GAVO DaCHS (gavodachs2-server)", "run ./install.sh test as root")
    from helpers.dachs_server import start_dachs

    _, base_url, names = fits_images
    server = start_dachs(tmp_path_factory.mktemp("dachs"), base_url, names)
    yield server
    server.stop()
