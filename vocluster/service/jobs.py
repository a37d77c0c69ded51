"""A bounded job queue: SAMP callbacks return at once, work runs on worker threads.

Every job also has a record a person can read (on the jobs page of `serve --http`): what
it is, whether it waits, runs, is done or failed, its latest progress message, its error
in words, and what it produced. The last `history` records are kept.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

from vocluster.errors import QueueFullError, error_text

log = logging.getLogger(__name__)


@dataclass
class JobRecord:
    job_id: str
    description: str
    state: str = "queued"  # queued -> running -> done | failed
    message: str = ""
    error: str = ""
    result: dict[str, str] = field(default_factory=dict)
    submitted: float = field(default_factory=time.time)
    started: float | None = None
    ended: float | None = None


class JobQueue:
    """`workers` jobs at a time, at most `capacity` running or waiting."""

    def __init__(self, workers: int = 1, capacity: int = 8, history: int = 100):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vocluster-job")
        self._slots = threading.BoundedSemaphore(capacity)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._records: OrderedDict[str, JobRecord] = OrderedDict()
        self._history = history
        self._pending: dict[str, tuple[Future, Callable]] = {}
        self._closed = False
        self.finished = 0
        self.failed = 0

    def submit(self, description: str, work: Callable[[str], object],
               done: Callable[[str, object, BaseException | None], None]) -> str:
        """Run `work(job_id)` later; `done(job_id, result, error)` is called when it ends."""
        if self._closed:
            raise QueueFullError("vocluster is stopping and takes no new jobs")
        if not self._slots.acquire(blocking=False):
            raise QueueFullError("the job queue is full; try again when current jobs finish")
        job_id = f"job-{next(self._ids)}"
        with self._lock:
            self._records[job_id] = JobRecord(job_id, description)
            while len(self._records) > self._history:
                self._records.popitem(last=False)

        def run() -> None:
            result, error = None, None
            with self._lock:
                self._pending.pop(job_id, None)
            self._update(job_id, state="running", started=time.time())
            try:
                result = work(job_id)
            except BaseException as exc:  # reported to the peer, never kills the daemon
                error = exc
            finally:
                self._update(job_id, state="failed" if error else "done", ended=time.time(),
                             error=error_text(error) if error else "",
                             result={k: str(v) for k, v in result.items()}
                             if isinstance(result, dict) else {})
                with self._lock:
                    self.finished += error is None
                    self.failed += error is not None
                self._slots.release()
            try:
                done(job_id, result, error)
            except Exception:
                log.exception("reporting %s failed", job_id)

        future = self._pool.submit(run)
        with self._lock:
            if not future.done():
                self._pending[job_id] = (future, done)
        return job_id

    def _update(self, job_id: str, **changes) -> None:
        with self._lock:
            record = self._records.get(job_id)
            if record is not None:
                for key, value in changes.items():
                    setattr(record, key, value)

    def progress(self, job_id: str, message: str) -> None:
        self._update(job_id, message=message)

    def records(self) -> list[dict]:
        """Newest first, as plain dicts (the jobs page's JSON)."""
        with self._lock:
            return [asdict(r) for r in reversed(self._records.values())]

    def status(self) -> dict[str, object]:
        with self._lock:
            states = [r.state for r in self._records.values()]
            return {"running": {r.job_id: r.description for r in self._records.values()
                                if r.state == "running"},
                    "queued": states.count("queued"), "finished": self.finished,
                    "failed": self.failed}

    def shutdown(self, cancel: bool = False) -> None:
        """Stop taking jobs; with `cancel`, jobs still waiting are dropped and each caller
        is answered that its job was cancelled (none is left without a reply)."""
        self._closed = True
        if cancel:
            with self._lock:
                waiting, self._pending = dict(self._pending), {}
            for job_id, (future, done) in waiting.items():
                if future.cancel():
                    self._update(job_id, state="failed", ended=time.time(),
                                 error="cancelled: vocluster stopped before it ran")
                    self._slots.release()
                    try:
                        done(job_id, None, QueueFullError("cancelled: vocluster stopped "
                                                          "before this job ran"))
                    except Exception:
                        log.exception("reporting %s failed", job_id)
        self._pool.shutdown(wait=True, cancel_futures=cancel)
