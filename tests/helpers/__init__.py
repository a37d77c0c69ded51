"""Helpers shared by the tests: scores, loud skips for absent peers, a loopback file
server. The real peers' set-up lives beside them (dachs_server, stamp_images)."""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
import warnings

import numpy as np
import pytest


def f1_score(member: np.ndarray, truth: np.ndarray) -> float:
    return 2 * (member & truth).sum() / max(member.sum() + truth.sum(), 1)


def loud_skip(peer: str, why: str) -> None:
    """Skip only when a peer's package truly cannot be installed, and say so loudly."""
    message = f"!!! {peer} IS NOT INSTALLED ({why}): these tests did NOT run !!!"
    warnings.warn(message, stacklevel=2)
    pytest.skip(message)


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
