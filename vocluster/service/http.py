"""Loopback HTTP: result files for SAMP peers, an IVOA Simple Cone Search (SCS 1.03),
and the jobs page.

`GET /scs?RA=..&DEC=..&SR=..` returns the Gaia sources of the cone with membership
columns; bad parameters give the SCS error VOTable. `GET /results/<file>` serves
result tables (only files inside the results directory). With a daemon attached,
`GET /` is the jobs page (page.py), `GET /jobs.json` its data, `POST /options` sets the
options of the next table sent from TOPCAT, and `GET /plots/<result>.png` draws a
result's diagnostic panels the first time they are asked for.
"""

from __future__ import annotations

import io
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlparse
from xml.sax.saxutils import escape

from astropy.io.votable import from_table
from astropy.io.votable.tree import Info

from vocluster.errors import VoclusterError
from vocluster.service.page import jobs_page, options_text
from vocluster.service.tasks import ServiceSettings, cone_search

log = logging.getLogger("vocluster.http")

#: SCS 1.03 wants exactly one column of each of these UCD1 names
SCS_UCDS = {"source_id": "ID_MAIN", "ra": "POS_EQ_RA_MAIN", "dec": "POS_EQ_DEC_MAIN"}
MAX_SR = 5.0
MAX_FORM_BYTES = 10_000
MAX_NAME_CHARS = 255
CONE_WAIT_S = 60.0
PLOT_LOCK = threading.Lock()  # matplotlib draws one figure at a time


def scs_error_votable(message: str) -> bytes:
    text = escape(" ".join(message.split()), {'"': "&quot;"})
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">\n'
            f'  <INFO name="QUERY_STATUS" value="ERROR">{text}</INFO>\n'
            f'  <RESOURCE type="results">\n    <INFO name="Error" value="{text}"/>\n'
            '  </RESOURCE>\n</VOTABLE>\n').encode()


def parse_cone(query: dict[str, list[str]]) -> tuple[float, float, float]:
    """RA, DEC, SR from the query string, checked as SCS 1.03 requires."""
    values = {}
    for key in ("RA", "DEC", "SR"):
        raw = next((v[0] for k, v in query.items() if k.upper() == key), None)
        if raw is None:
            raise VoclusterError(f"missing parameter {key}")
        try:
            values[key] = float(raw)
        except ValueError as exc:
            raise VoclusterError(f"{key} must be a number, got {raw!r}") from exc
    if not 0 <= values["RA"] <= 360 or not -90 <= values["DEC"] <= 90:
        raise VoclusterError("RA must be in [0, 360] and DEC in [-90, 90] degrees")
    if not 0 < values["SR"] <= MAX_SR:
        raise VoclusterError(f"SR must be in (0, {MAX_SR}] degrees")
    return values["RA"], values["DEC"], values["SR"]


def scs_votable(table, note: str | None = None) -> bytes:
    """The SCS answer; `note` (why membership columns are missing) goes in an INFO."""
    table = table.copy(copy_data=False)
    for key in [k for k in table.meta if k.startswith("vocluster_")]:
        del table.meta[key]
    votable = from_table(table)
    for votable_field in votable.get_first_table().fields:
        if votable_field.name in SCS_UCDS:
            votable_field.ucd = SCS_UCDS[votable_field.name]
    votable.resources[0].type = "results"
    votable.resources[0].infos.append(Info(name="QUERY_STATUS", value="OK"))
    if note:
        votable.resources[0].infos.append(Info(name="vocluster_note", value=" ".join(
            note.split())))
    buffer = io.BytesIO()
    votable.to_xml(buffer)
    return buffer.getvalue()


class ServiceHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 stalled a quarter of 50 concurrent clients

    def __init__(self, address: tuple[str, int], settings: ServiceSettings,
                 cone_workers: int = 2):
        super().__init__(address, _Handler)
        # Cone searches fetch and fit: a few at a time, the rest wait (up to the deadline).
        self.cone_slots = threading.BoundedSemaphore(cone_workers)
        self.settings = settings
        self.daemon = None  # the SampDaemon whose jobs the page shows (attach())

    def attach(self, daemon) -> None:
        self.daemon = daemon

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def url_for(self, path: Path) -> str:
        return f"{self.base_url}/results/{quote(path.name)}"

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="vocluster-http", daemon=True)
        thread.start()
        return thread


class _Handler(BaseHTTPRequestHandler):
    server: ServiceHTTPServer

    def log_message(self, fmt, *args):
        log.info("%s %s", self.address_string(), fmt % args)

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        try:
            self._route_get()
        except Exception as exc:  # a path too long for the file system, a bug: answered
            log.exception("GET %s failed", self.path[:200])
            self._send(500, f"error: {type(exc).__name__}\n".encode(), "text/plain")

    def _route_get(self):
        parsed = urlparse(self.path)
        if parsed.path.rstrip("/") == "/scs":
            return self._cone(parse_qs(parsed.query))
        if parsed.path.startswith("/results/"):
            return self._result(parsed.path[len("/results/"):])
        daemon = self.server.daemon
        if daemon is not None and parsed.path == "/":
            notice = "options saved" if "saved" in parse_qs(parsed.query) else ""
            return self._page(200, jobs_page(daemon.next_options(), notice=notice))
        if daemon is not None and parsed.path == "/jobs.json":
            options = daemon.next_options()
            body = json.dumps({"jobs": daemon.jobs.records(), "options": options,
                               "options_text": options_text(options)})
            return self._send(200, body.encode(), "application/json")
        if daemon is not None and parsed.path.startswith("/plots/"):
            return self._plot(unquote(parsed.path[len("/plots/"):]))
        return self._send(404, b"not found\n", "text/plain")

    def do_POST(self):
        daemon = self.server.daemon
        if daemon is None or urlparse(self.path).path != "/options":
            return self._send(404, b"not found\n", "text/plain")
        origin = self.headers.get("Origin")
        if origin not in (None, "null", self.server.base_url):  # another site's page
            return self._send(403, b"cross-site form refused\n", "text/plain")
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_FORM_BYTES:
            return self._send(413, b"form too large\n", "text/plain")
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode("utf-8",
                                                                               "replace")).items()}
        try:
            daemon.set_next_options(form)
        except VoclusterError as exc:
            return self._page(400, jobs_page({**daemon.next_options(), **form},
                                             problem=" ".join(str(exc).split())))
        self.send_response(303)
        self.send_header("Location", "/?saved=1")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _page(self, status: int, html: str) -> None:
        self._send(status, html.encode("utf-8"), "text/html; charset=utf-8")

    def _plot(self, name: str) -> None:
        """The result's panels as PNG, drawn once and kept beside the results."""
        table_path = self._result_file(str(Path(name).with_suffix(".vot")))
        if table_path is None:
            return self._send(404, b"no such result\n", "text/plain")
        plot = table_path.parent / "plots" / f"{table_path.stem}.png"
        try:
            with PLOT_LOCK:
                if not plot.is_file():
                    from astropy.table import Table

                    from vocluster.reports.plots import plot_membership

                    plot.parent.mkdir(exist_ok=True)
                    plot_membership(Table.read(table_path), plot, title=table_path.stem)
        except Exception as exc:  # a table without membership columns, a broken file
            log.warning("plot of %s failed: %s", name, exc)
            return self._send(404, f"no plot for {name}: {exc}\n".encode(), "text/plain")
        self._send(200, plot.read_bytes(), "image/png")

    def _result_file(self, name: str) -> Path | None:
        """A complete result directly in the results folder, or None. A dot-name is a
        temporary being written (or left by a killed run): never served."""
        folder = self.server.settings.results_dir.resolve()
        if len(name) > MAX_NAME_CHARS or name.startswith("."):
            return None
        path = (folder / name).resolve()
        return path if path.parent == folder and path.is_file() else None

    def _result(self, name: str) -> None:
        # url_for quotes: "NGC 2682+x" comes back as %20 and %2B
        path = self._result_file(unquote(name))
        if path is None:
            return self._send(404, b"no such result\n", "text/plain")
        self._send(200, path.read_bytes(), "application/x-votable+xml")

    def _cone(self, query: dict[str, list[str]]) -> None:
        votable = "text/xml;content=x-votable"
        try:
            ra, dec, sr = parse_cone(query)
            if not self.server.cone_slots.acquire(timeout=CONE_WAIT_S):
                raise VoclusterError(f"the cone search is busy (waited {CONE_WAIT_S:g} s); "
                                     f"try again")
            try:
                table, note = cone_search(ra, dec, sr, self.server.settings)
            finally:
                self.server.cone_slots.release()
            body = scs_votable(table, note)
        except VoclusterError as exc:
            return self._send(200, scs_error_votable(str(exc)), votable)
        except Exception as exc:  # never crash the server; the client gets the reason
            log.exception("cone search failed")
            return self._send(200, scs_error_votable(f"{type(exc).__name__}: {exc}"), votable)
        self._send(200, body, votable)
