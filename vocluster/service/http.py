"""Loopback HTTP: result files for SAMP peers and an IVOA Simple Cone Search (SCS 1.03).

`GET /scs?RA=..&DEC=..&SR=..` returns the Gaia sources of the cone with membership
columns; bad parameters give the SCS error VOTable. `GET /results/<file>` serves
result tables (only files inside the results directory).
"""

from __future__ import annotations

import io
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlparse
from xml.sax.saxutils import escape

from astropy.io.votable import from_table
from astropy.io.votable.tree import Info

from vocluster.errors import VoclusterError
from vocluster.service.tasks import ServiceSettings, cone_members

log = logging.getLogger("vocluster.http")

#: SCS 1.03 wants exactly one column of each of these UCD1 names
SCS_UCDS = {"source_id": "ID_MAIN", "ra": "POS_EQ_RA_MAIN", "dec": "POS_EQ_DEC_MAIN"}
MAX_SR = 5.0


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


def scs_votable(table) -> bytes:
    table = table.copy(copy_data=False)
    for key in [k for k in table.meta if k.startswith("vocluster_")]:
        del table.meta[key]
    votable = from_table(table)
    for votable_field in votable.get_first_table().fields:
        if votable_field.name in SCS_UCDS:
            votable_field.ucd = SCS_UCDS[votable_field.name]
    votable.resources[0].type = "results"
    votable.resources[0].infos.append(Info(name="QUERY_STATUS", value="OK"))
    buffer = io.BytesIO()
    votable.to_xml(buffer)
    return buffer.getvalue()


class ServiceHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], settings: ServiceSettings):
        super().__init__(address, _Handler)
        self.settings = settings

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
        parsed = urlparse(self.path)
        if parsed.path.rstrip("/") == "/scs":
            return self._cone(parse_qs(parsed.query))
        if parsed.path.startswith("/results/"):
            return self._result(parsed.path[len("/results/"):])
        return self._send(404, b"not found\n", "text/plain")

    def _result(self, name: str) -> None:
        folder = self.server.settings.results_dir.resolve()
        name = unquote(name)  # url_for quotes: "NGC 2682+x" comes back as %20 and %2B
        path = (folder / name).resolve()
        # a dot-name is a temporary being written (or left by a killed run): never served
        if path.parent != folder or name.startswith(".") or not path.is_file():
            return self._send(404, b"no such result\n", "text/plain")
        self._send(200, path.read_bytes(), "application/x-votable+xml")

    def _cone(self, query: dict[str, list[str]]) -> None:
        votable = "text/xml;content=x-votable"
        try:
            ra, dec, sr = parse_cone(query)
            result = cone_members(ra, dec, sr, self.server.settings)
            body = scs_votable(result.table)
        except VoclusterError as exc:
            return self._send(200, scs_error_votable(str(exc)), votable)
        except Exception as exc:  # never crash the server; the client gets the reason
            log.exception("cone search failed")
            return self._send(200, scs_error_votable(f"{type(exc).__name__}: {exc}"), votable)
        self._send(200, body, votable)
