"""Dask distributed as the batch engine: a private cluster on loopback, or the user's.

Why Dask and not a process pool: a survey outgrows one machine, and the same code must
then run on a real cluster (`dask scheduler` / `dask worker`, or any deployment) with
its resilience: a worker that dies has its tasks rescheduled on the others. A private
`LocalCluster` binds every address (scheduler, workers, nannies, dashboard) to
127.0.0.1, because Dask's defaults listen on all interfaces.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from vocluster.errors import InputError

#: modules a worker imports once, before its first task, not inside every task's time
WARM_MODULES = ("vocluster.membership.pipeline", "vocluster.membership.detection",
                "vocluster.membership.mixture", "vocluster.io.files", "sklearn.cluster")


def warm_imports() -> list[str]:
    """Import the heavy modules in a worker (run once per worker by the plugin)."""
    import importlib

    return [importlib.import_module(name).__name__ for name in WARM_MODULES]


def _warm_plugin():
    from distributed.diagnostics.plugin import WorkerPlugin

    class WarmImports(WorkerPlugin):
        """Runs at each worker's start, including workers that join or are restarted."""

        name = "vocluster-warm-imports"

        def setup(self, worker) -> None:
            warm_imports()

    return WarmImports()


@contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None,
                threads_per_worker: int = 1) -> Iterator:
    """A connected `distributed.Client`: to `scheduler` if given, else a loopback cluster.

    `workers` defaults to one per core; each worker runs one task at a time by default,
    because the membership fit already uses the core it is on. The scheduler's HTTP
    server (dashboard, health) starts even when no dashboard is asked for, on 0.0.0.0:8787
    unless told otherwise: it gets 127.0.0.1 and a free port.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise InputError("batch runs need Dask distributed: pip install 'vocluster[batch]'"
                         ) from exc
    if scheduler is not None:
        if workers is not None:
            raise InputError("give a scheduler address or a number of local workers, not both")
        try:
            client = Client(scheduler, timeout="20s")
        except OSError as exc:
            raise InputError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from exc
        with client:
            client.register_plugin(_warm_plugin())
            yield client
        return
    if workers is not None and workers < 1:
        raise InputError(f"the number of workers must be at least 1 (got {workers})")
    with LocalCluster(n_workers=workers, threads_per_worker=threads_per_worker,
                      processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0",
                      worker_dashboard_address=None, silence_logs=40) as cluster, \
            Client(cluster) as client:
        client.register_plugin(_warm_plugin())
        yield client
