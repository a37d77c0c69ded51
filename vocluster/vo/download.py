"""HTTP downloads into a file: capped in size, under a total deadline, every redirect
checked, with one-line errors."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urljoin

import requests

from vocluster.errors import InputError

MAX_REDIRECTS = 5
READ_WAIT = 5.0  # seconds one socket read may wait before the deadline is looked at again


def stream_to(url: str, destination: Path, *, max_bytes: int, timeout: float,
              check: Callable[[str], object] | None = None) -> Path:
    """GET `url` into `destination`, refusing anything over `max_bytes`.

    `timeout` is a total deadline for the whole transfer, not per socket read: a server
    that sends one byte every few seconds is cut off when it runs out. Redirects are
    followed by hand, and `check` (the caller's URL policy, e.g. loopback only) is applied
    to every hop, not just the first URL.
    """
    too_big = f"{url} is over the size limit ({max_bytes} bytes)"
    deadline = time.monotonic() + timeout
    session = requests.Session()
    current = url
    try:
        for _ in range(MAX_REDIRECTS + 1):
            if check is not None:
                check(current)
            left = deadline - time.monotonic()
            if left <= 0:
                raise requests.Timeout
            # reads wait at most READ_WAIT, so the deadline is checked often
            reply = session.get(current, stream=True, timeout=(left, min(left, READ_WAIT)),
                                allow_redirects=False)
            if reply.is_redirect:
                current = urljoin(current, reply.headers["Location"])
                reply.close()
                continue
            break
        else:
            raise InputError(f"{url}: more than {MAX_REDIRECTS} redirects")
        with reply:
            if reply.status_code != 200:
                raise InputError(f"{url} answered HTTP {reply.status_code}")
            if int(reply.headers.get("Content-Length") or 0) > max_bytes:
                raise InputError(too_big)
            _copy_before(reply, destination, max_bytes, deadline, too_big)
    except (requests.Timeout, TimeoutError) as exc:
        raise InputError(f"{url} timed out after {timeout:.0f} s") from exc
    except requests.RequestException as exc:
        if time.monotonic() >= deadline:
            raise InputError(f"{url} timed out after {timeout:.0f} s") from exc
        raise InputError(f"cannot fetch {url}: {type(exc).__name__}") from exc
    finally:
        session.close()
    return destination


def _copy_before(reply: requests.Response, destination: Path, max_bytes: int,
                 deadline: float, too_big: str) -> None:
    """Copy the body with `read1` (returns whatever has arrived), checking the deadline
    between reads: a trickle of bytes cannot keep the transfer alive past it."""
    size = 0
    with destination.open("wb") as handle:
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError
            block = reply.raw.read1(1 << 16, decode_content=True)
            if not block:
                return
            size += len(block)
            if size > max_bytes:
                raise InputError(too_big)
            handle.write(block)
