"""Shared synthetic fields: small enough for CI, real enough to test recovery."""

from __future__ import annotations

import contextlib
import functools
import http.server
import shutil
import threading
import warnings

import numpy as np
import pytest

from vocluster.datasets.synthetic import make_cone


@pytest.fixture(scope="session")
def praesepe_like():
    """8k-star cone with 300 members of a Praesepe-like cluster."""
    return make_cone("NGC 2632", seed=3, n_stars=8000, n_members=300)


@pytest.fixture(scope="session")
def m67_like():
    return make_cone("NGC 2682", seed=5)


def f1_score(member: np.ndarray, truth: np.ndarray) -> float:
    return 2 * (member & truth).sum() / max(member.sum() + truth.sum(), 1)


def loud_skip(peer: str, why: str) -> None:
    """Skip only when a peer's package truly cannot be installed, and say so loudly."""
    message = f"!!! {peer} IS NOT INSTALLED ({why}): these tests did NOT run !!!"
    warnings.warn(message, stacklevel=2)
    pytest.skip(message)


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


@contextlib.contextmanager
def serve_directory(folder):
    """Plain HTTP on a free 127.0.0.1 port for the files in `folder`; yields the base URL."""
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture(scope="session")
def tap_server(tmp_path_factory, fits_images):
    """GAVO DaCHS with Gaia-, VizieR- and ObsCore-shaped tables, on loopback."""
    if shutil.which("dachs") is None:
        loud_skip("GAVO DaCHS (gavodachs2-server)", "run ./install.sh test as root")
    from dachs_server import start_dachs

    _, base_url, names = fits_images
    server = start_dachs(tmp_path_factory.mktemp("dachs"), base_url, names)
    yield server
    server.stop()
