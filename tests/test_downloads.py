"""Downloads: every redirect is checked, and the timeout is a deadline for the transfer."""

import http.server
import threading
import time

import pytest

from vocluster.errors import InputError
from vocluster.service.urls import fetch_to

REDIRECTS = {"/redirect-out": "http://10.255.255.1:9/x.vot",
             "/redirect-file": "file:///etc/passwd", "/redirect-home": "/table.vot"}


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path in REDIRECTS:
            self.send_response(302)
            self.send_header("Location", REDIRECTS[self.path])
            self.end_headers()
        elif self.path == "/slow":
            self.send_response(200)
            self.end_headers()
            for _ in range(40):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.25)
        else:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<VOTABLE/>")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_a_redirect_off_the_machine_is_refused_before_connecting(server, tmp_path):
    with pytest.raises(InputError, match="non-loopback"):
        fetch_to(f"{server}/redirect-out", tmp_path / "t", timeout=5)
    with pytest.raises(InputError, match="only http"):
        fetch_to(f"{server}/redirect-file", tmp_path / "t", timeout=5)


def test_a_redirect_on_the_machine_is_followed(server, tmp_path):
    path = fetch_to(f"{server}/redirect-home", tmp_path / "t", timeout=5)
    assert path.read_bytes() == b"<VOTABLE/>"


def test_a_slow_sender_is_cut_off_at_the_deadline(server, tmp_path):
    start = time.monotonic()
    with pytest.raises(InputError, match="timed out"):
        fetch_to(f"{server}/slow", tmp_path / "t", timeout=2)
    assert time.monotonic() - start < 5  # the sender would take 10 s
