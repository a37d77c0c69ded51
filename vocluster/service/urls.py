"""Fetching table URLs that peers send: loopback and file: only unless allowed, size-capped."""

from __future__ import annotations

import ipaddress
import shutil
import socket
from pathlib import Path
from urllib.parse import unquote, urlparse

from vocluster.errors import InputError
from vocluster.sources.download import stream_to

DEFAULT_MAX_BYTES = 200 * 1024**2


def is_loopback_host(host: str) -> bool:
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def check_url(url: str, allow_remote: bool = False) -> str:
    """The URL if policy allows it; otherwise an InputError that says why."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise InputError(f"file URL on another host refused: {url}")
        return url
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise InputError(f"bad table URL {url!r}: only file:, http: and https: are accepted")
    if not allow_remote and not is_loopback_host(parsed.hostname):
        raise InputError(f"table URL on a non-loopback host refused: {url} "
                         "(start the daemon with --allow-remote-urls to allow it)")
    return url


def fetch_to(url: str, destination: Path, *, allow_remote: bool = False,
             max_bytes: int = DEFAULT_MAX_BYTES, timeout: float = 30.0) -> Path:
    """Copy the URL's content to `destination`, refusing anything over `max_bytes`."""
    check_url(url, allow_remote)
    parsed = urlparse(url)
    if parsed.scheme == "file":
        source = Path(unquote(parsed.path))
        if not source.is_file():
            raise InputError(f"table file not found: {source}")
        if source.stat().st_size > max_bytes:
            raise InputError(f"{url} is over the size limit ({max_bytes} bytes)")
        shutil.copyfile(source, destination)
        return destination
    return stream_to(url, destination, max_bytes=max_bytes, timeout=timeout,
                     check=lambda hop: _check_hop(hop, url, allow_remote))


def _check_hop(hop: str, original: str, allow_remote: bool) -> None:
    """A redirect may not leave the policy the first URL was held to (nor turn to file:)."""
    if urlparse(hop).scheme not in ("http", "https"):
        raise InputError(f"{original} redirected to {hop!r}: only http(s) redirects are followed")
    check_url(hop, allow_remote)
