"""Run ADQL on any IVOA TAP service: sync or async, retried, never silently truncated.

The rules:
- count first, then fetch: a cone with more rows than `max_rows` is refused
  with a message before any download, and a result with fewer rows than counted
  (or a service's OVERFLOW status) is an error, never a quiet subset;
- small results come sync, large ones through an async (UWS) job;
- connection failures, timeouts, HTTP 429/5xx are retried with doubling
  back-off; a query the server rejects is not, and its own error text is shown.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from typing import TypeVar

import pyvo
import requests
from astropy.table import Table
from pyvo.dal.exceptions import (
    DALAccessError,
    DALOverflowWarning,
    DALProtocolError,
    DALQueryError,
    DALServiceError,
)
from urllib3.exceptions import HTTPError as Urllib3Error

from vocluster.errors import TapError, TruncatedResultError
from vocluster.vo.adql import count_query
from vocluster.vo.cache import QueryCache
from vocluster.vo.services import TapSettings

log = logging.getLogger(__name__)
T = TypeVar("T")
RETRY_HTTP_CODES = {0, 408, 429, 500, 502, 503, 504}
# What a read that timed out or broke off mid-body raises, under whichever library saw it.
_NETWORK_ERRORS = (requests.RequestException, Urllib3Error, TimeoutError, ConnectionError)


class _TimeoutSession(requests.Session):
    """requests has no session-wide timeout; pyvo passes none, so add ours here."""

    def __init__(self, timeout: float):
        super().__init__()
        self.timeout = timeout
        self.headers["User-Agent"] = "vocluster (pyvo)"

    def request(self, *args, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        return super().request(*args, **kwargs)


def _first_line(text: str) -> str:
    return " ".join(str(text).split())[:500]


def _is_transient(exc: Exception) -> bool:
    """Worth another try: a 5xx/429/408 answer, a lost connection, or a read that timed out
    or broke off mid-body (pyvo reports the last as a format error whose cause is the
    network's). Anything else is the server saying no."""
    if isinstance(exc, DALServiceError):
        return (exc.code or 0) in RETRY_HTTP_CODES
    if isinstance(exc, DALProtocolError):
        return isinstance(exc.cause, _NETWORK_ERRORS)
    return isinstance(exc, requests.RequestException)


class TapClient:
    """One TAP service plus the cache and the network rules above."""

    def __init__(self, service: str | pyvo.dal.TAPService, settings: TapSettings = TapSettings(),
                 cache: QueryCache | None = None, progress: Callable[[str], None] | None = None):
        if isinstance(service, pyvo.dal.TAPService):
            self.service = service
        else:
            url = str(service).rstrip("/")
            if not url.startswith(("http://", "https://")):
                raise TapError(f"bad TAP URL {service!r}: it must start with http:// or https://")
            self.service = pyvo.dal.TAPService(url, session=_TimeoutSession(settings.timeout))
        self.url = str(self.service.baseurl)
        self.settings = settings
        self.cache = cache or QueryCache(None)
        self.progress = progress or (lambda message: log.info(message))

    def _with_retries(self, what: str, call: Callable[[], T]) -> T:
        delay = self.settings.backoff
        for attempt in range(1, self.settings.retries + 2):
            try:
                return call()
            except (DALAccessError, requests.RequestException) as exc:
                detail = _first_line(getattr(exc, "reason", None) or exc)
                if isinstance(exc, DALQueryError):
                    raise TapError(f"{self.url} rejected the {what}: {detail}") from exc
                if not _is_transient(exc) or attempt > self.settings.retries:
                    tries = f" after {attempt} attempts" if attempt > 1 else ""
                    raise TapError(f"TAP service {self.url} failed{tries} ({what}): "
                                   f"{detail}") from exc
                self.progress(f"{what}: {detail}; retrying in {delay:.0f} s "
                              f"({attempt}/{self.settings.retries})")
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    def count(self, query: str) -> int | None:
        """Rows the query would return (None where the query cannot be counted)."""
        counting = count_query(query)
        if counting is None:
            return None
        result = self._with_retries("row count", lambda: self.service.run_sync(counting))
        table = result.to_table()
        return int(table[table.colnames[0]][0])

    def query(self, query: str, *, refresh: bool = False, max_rows: int | None = None) -> Table:
        """The whole result of `query` as a Table, from the cache unless `refresh`."""
        if not refresh:
            cached = self.cache.get_table(self.url, query)
            if cached is not None:
                self.progress(f"using cached result ({len(cached)} rows)")
                return cached
        limit = max_rows or self.settings.max_rows
        expected = self.count(query)
        if expected is not None and expected > limit:
            raise TruncatedResultError(
                f"the query matches {expected} rows, over the limit of {limit}; narrow it "
                "(smaller radius, --gmax, --min-parallax-snr) or raise --max-rows")
        if expected is not None and expected <= self.settings.sync_limit:
            self.progress(f"fetching {expected} rows (sync) from {self.url}")
            table = self._with_retries("query", lambda: self._run_sync(query, limit))
        else:
            size = f"{expected} rows" if expected is not None else "rows"
            self.progress(f"fetching {size} (async job) from {self.url}")
            table = self._with_retries("async query", lambda: self._run_async(query, limit))
        if expected is not None and len(table) < expected:
            raise TruncatedResultError(
                f"{self.url} returned {len(table)} of {expected} rows (a service row limit); "
                "not keeping a partial cone: narrow the query or raise the service's MAXREC")
        table.meta.update({"vocluster_tap_url": self.url, "vocluster_query": query,
                           "vocluster_fetched": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                              time.gmtime())})
        self.cache.put_table(self.url, query, table)
        return table

    def _run_sync(self, query: str, limit: int) -> Table:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DALOverflowWarning)
            result = self.service.run_sync(query, maxrec=limit + 1)
        return self._checked(result, limit)

    def _run_async(self, query: str, limit: int) -> Table:
        job = self.service.submit_job(query, maxrec=limit + 1)
        try:
            job.run()
            deadline = time.monotonic() + self.settings.async_timeout
            while job.phase not in {"COMPLETED", "ERROR", "ABORTED"}:
                if time.monotonic() > deadline:
                    raise TapError(f"async job {job.url} did not finish within "
                                   f"{self.settings.async_timeout:.0f} s; it was deleted")
                time.sleep(1.0)
            if job.phase != "COMPLETED":
                job.raise_if_error()  # DALQueryError carrying the server's own text
                raise TapError(f"{self.url} async job ended in {job.phase}")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DALOverflowWarning)
                result = job.fetch_result()
            return self._checked(result, limit)
        finally:
            try:
                job.delete()
            except DALServiceError as exc:  # cleanup only; the result matters more
                log.debug("could not delete job %s: %s", job.url, exc)

    def _checked(self, result, limit: int) -> Table:
        table = result.to_table()  # (pyvo's overflow warning is replaced by our error)
        if result.query_status == "OVERFLOW" or len(table) > limit:
            raise TruncatedResultError(
                f"{self.url} flagged the result as truncated (OVERFLOW at {len(table)} rows); "
                "narrow the query or raise --max-rows")
        return table
