"""HTTP downloads into a file, capped in size, with one-line errors."""

from __future__ import annotations

from pathlib import Path

import requests

from vocluster.errors import InputError


def stream_to(url: str, destination: Path, *, max_bytes: int, timeout: float) -> Path:
    """GET `url` into `destination`, refusing anything over `max_bytes`."""
    too_big = f"{url} is over the size limit ({max_bytes} bytes)"
    try:
        with requests.get(url, stream=True, timeout=timeout) as reply:
            if reply.status_code != 200:
                raise InputError(f"{url} answered HTTP {reply.status_code}")
            if int(reply.headers.get("Content-Length") or 0) > max_bytes:
                raise InputError(too_big)
            size = 0
            with destination.open("wb") as handle:
                for block in reply.iter_content(1 << 16):
                    size += len(block)
                    if size > max_bytes:
                        raise InputError(too_big)
                    handle.write(block)
    except requests.Timeout as exc:
        raise InputError(f"{url} timed out after {timeout:.0f} s") from exc
    except requests.RequestException as exc:
        raise InputError(f"cannot fetch {url}: {type(exc).__name__}") from exc
    return destination
