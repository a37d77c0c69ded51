"""A bounded job queue: SAMP callbacks return at once, work runs on worker threads."""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger(__name__)


class QueueFullError(RuntimeError):
    """More jobs are waiting than the configured limit."""


class JobQueue:
    """`workers` jobs at a time, at most `capacity` running or waiting."""

    def __init__(self, workers: int = 1, capacity: int = 8):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vocluster-job")
        self._slots = threading.BoundedSemaphore(capacity)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.running: dict[str, str] = {}
        self.finished = 0
        self.failed = 0

    def submit(self, description: str, work: Callable[[str], object],
               done: Callable[[str, object, BaseException | None], None]) -> str:
        """Run `work(job_id)` later; `done(job_id, result, error)` is called when it ends."""
        if not self._slots.acquire(blocking=False):
            raise QueueFullError("the job queue is full; try again when current jobs finish")
        job_id = f"job-{next(self._ids)}"
        with self._lock:
            self.running[job_id] = description

        def run() -> None:
            result, error = None, None
            try:
                result = work(job_id)
            except BaseException as exc:  # reported to the peer, never kills the daemon
                error = exc
            finally:
                with self._lock:
                    self.running.pop(job_id, None)
                    self.finished += error is None
                    self.failed += error is not None
                self._slots.release()
            try:
                done(job_id, result, error)
            except Exception:
                log.exception("reporting %s failed", job_id)

        self._pool.submit(run)
        return job_id

    def status(self) -> dict[str, object]:
        with self._lock:
            return {"running": dict(self.running), "finished": self.finished,
                    "failed": self.failed}

    def shutdown(self, cancel: bool = False) -> None:
        self._pool.shutdown(wait=True, cancel_futures=cancel)
