"""Fetching table URLs that peers send: loopback and file: only unless allowed, size-capped.

Local files are read only under allowed folders (the user's home and the temp folder by
default; never /proc, /sys, /dev or /etc), with symlinks resolved first, and a refusal
says the same whether the file exists or not: a peer cannot probe the disk. The size cap
counts bytes after decompression, so a small gzip bomb is refused while it inflates,
before anything parses it.
"""

from __future__ import annotations

import bz2
import gzip
import ipaddress
import lzma
import os
import shutil
import socket
import tempfile
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlparse

from vocluster.errors import InputError
from vocluster.vo.download import stream_to

DEFAULT_MAX_BYTES = 200 * 1024**2
NEVER_READ = tuple(Path(p) for p in ("/proc", "/sys", "/dev", "/etc"))
COMPRESSIONS = {b"\x1f\x8b": gzip.open, b"BZh": bz2.open, b"\xfd7zXZ\x00": lzma.open}


def default_file_roots() -> tuple[Path, ...]:
    return (Path.home().resolve(), Path(tempfile.gettempdir()).resolve())


def check_local_file(path: str | Path, roots: Sequence[Path], label: str) -> Path:
    """`path`, resolved, if it lies under one of `roots` (and nowhere never read)."""
    resolved = Path(path).resolve()
    inside = any(resolved.is_relative_to(root) for root in roots)
    if not inside or any(resolved.is_relative_to(p) for p in NEVER_READ):
        raise InputError(f"{label}: local files are read only under "
                         f"{', '.join(str(r) for r in roots)} (serve --allow-files-under DIR "
                         f"adds a folder)")
    if not resolved.is_file():
        raise InputError(f"table file not found: {label}")
    return resolved


def decompressed(path: Path, max_bytes: int, label: str) -> Path:
    """Inflate a gzip/bzip2/xz file in place, refusing it once it passes `max_bytes`."""
    with path.open("rb") as handle:
        head = handle.read(6)
    opener = next((o for magic, o in COMPRESSIONS.items() if head.startswith(magic)), None)
    if opener is None:
        return path
    inflated = path.with_name(path.name + ".inflated")
    total = 0
    try:
        with opener(path, "rb") as source, inflated.open("wb") as target:
            while chunk := source.read(1 << 20):
                total += len(chunk)
                if total > max_bytes:
                    raise InputError(f"{label} is over the size limit ({max_bytes} bytes) "
                                     f"once decompressed")
                target.write(chunk)
        os.replace(inflated, path)
    except (OSError, EOFError, lzma.LZMAError) as exc:
        raise InputError(f"{label}: broken compressed data ({exc})") from exc
    finally:
        inflated.unlink(missing_ok=True)
    return path


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
             max_bytes: int = DEFAULT_MAX_BYTES, timeout: float = 30.0,
             file_roots: Sequence[Path] | None = None) -> Path:
    """Copy the URL's content to `destination`, refusing anything over `max_bytes` (counted
    after decompression) and local files outside `file_roots` (default: home and temp)."""
    check_url(url, allow_remote)
    parsed = urlparse(url)
    if parsed.scheme == "file":
        roots = default_file_roots() if file_roots is None else file_roots
        source = check_local_file(unquote(parsed.path), roots, url)
        if source.stat().st_size > max_bytes:
            raise InputError(f"{url} is over the size limit ({max_bytes} bytes)")
        shutil.copyfile(source, destination)
    else:
        stream_to(url, destination, max_bytes=max_bytes, timeout=timeout,
                  check=lambda hop: _check_hop(hop, url, allow_remote))
    return decompressed(destination, max_bytes, url)


def _check_hop(hop: str, original: str, allow_remote: bool) -> None:
    """A redirect may not leave the policy the first URL was held to (nor turn to file:)."""
    if urlparse(hop).scheme not in ("http", "https"):
        raise InputError(f"{original} redirected to {hop!r}: only http(s) redirects are followed")
    check_url(hop, allow_remote)
