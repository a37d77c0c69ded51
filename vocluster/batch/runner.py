"""`run_batch`: membership for a list of clusters, one Dask task per cluster, resumable.

The outputs are the same files `vocluster members` writes, one per cluster
(`OUTDIR/<name>.vot`), plus `OUTDIR/summary.vot` and `summary.parquet` with one row per
cluster. Every file is written to a temporary name and renamed, so a batch killed at any
moment leaves complete files only; a rerun skips the clusters an earlier run finished and
redoes the rest (`redo=True` redoes all).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from astropy.table import Table

from vocluster.batch.cluster_list import BatchCluster
from vocluster.batch.engine import dask_client
from vocluster.batch.task import (
    STATUS_DIR,
    TableSource,
    empty_row,
    finished_row,
    run_cluster,
)
from vocluster.pipeline import MembershipOptions
from vocluster.sources.files import write_table

SUMMARY_UNITS = {"pmra": "mas/yr", "pmra_sem": "mas/yr", "pmdec": "mas/yr",
                 "pmdec_sem": "mas/yr", "parallax": "mas", "parallax_sem": "mas", "ra": "deg",
                 "dec": "deg", "r50_deg": "deg", "distance_pc": "pc", "significance": "sigma",
                 "time_s": "s"}
SUMMARY_FILES = ("summary.vot", "summary.parquet")

Progress = Callable[[int, int, dict], None]


def remove_stale_temporaries(outdir: Path) -> list[Path]:
    """Temporary files a killed run left (`.<name>.<random>.<suffix>`, see atomic.py)."""
    stale = [p for folder in (outdir, outdir / STATUS_DIR) if folder.is_dir()
             for p in folder.iterdir()
             if p.is_file() and p.name.startswith(".") and p.suffix in (".vot", ".json",
                                                                        ".parquet")]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def summary_table(rows: Sequence[dict]) -> Table:
    table = Table(rows=list(rows), names=list(rows[0])) if rows else Table(
        names=list(empty_row(BatchCluster("x"), "ok")))
    for name, unit in SUMMARY_UNITS.items():
        if name in table.colnames:
            table[name].unit = unit
    table.meta["description"] = "vocluster batch: one row per cluster (status ok, refused " \
                                "with the reason, failed with the error, or not run)"
    return table


def write_summary(table: Table, outdir: Path) -> None:
    for name in SUMMARY_FILES:
        write_table(table, outdir / name, overwrite=True)


def run_batch(clusters: Sequence[BatchCluster], source: TableSource, outdir: str | Path,
              options: MembershipOptions | None = None, *, scheduler: str | None = None,
              workers: int | None = None, redo: bool = False,
              progress: Progress | None = None) -> Table:
    """Find the members of every cluster on Dask; return (and write) the summary table.

    Parameters
    ----------
    clusters
        The rows to run (see `cluster_list`); rows with a `problem` are reported failed.
    source
        Where each cluster's stars come from: `FileTables`, `TapCones` or `HatsCones`.
    outdir
        Created if needed; receives `<name>.vot`, `status/<name>.json` and the summaries.
    options
        Membership settings for every cluster; each row's catalogue values, if it has
        them, become its target, and rows without run blind.
    scheduler, workers
        A Dask scheduler address, or the number of local workers (default: one per core).
    redo
        Run clusters an earlier run finished, too.
    progress
        Called as `progress(done, total, row)` after each cluster.

    Returns
    -------
    astropy.table.Table
        One row per cluster, in the list's order: status, reason, N members, mean
        astrometry with errors, r50, significance, time and the worker that ran it.
    """
    outdir = Path(outdir)
    (outdir / STATUS_DIR).mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(outdir)
    options = options or MembershipOptions()
    rows: dict[int, dict] = {}
    for index, cluster in enumerate(clusters):
        if cluster.problem:  # unknown name, duplicate, no name: nothing to send to a worker
            rows[index] = empty_row(cluster, "failed", cluster.problem)
        elif not redo and (done := finished_row(outdir, cluster)) is not None:
            rows[index] = done
    todo = {index: c for index, c in enumerate(clusters) if index not in rows}
    try:
        if todo:
            _run_on_dask(todo, source, options, outdir, scheduler, workers, rows,
                         progress, len(clusters))
    finally:  # interrupted or not: the summary says what is done (by any worker) and not
        summary = summary_table([rows.get(index) or finished_row(outdir, cluster)
                                 or empty_row(cluster, "not run")
                                 for index, cluster in enumerate(clusters)])
        write_summary(summary, outdir)
    return summary


def _run_on_dask(todo: dict[int, BatchCluster], source: TableSource,
                 options: MembershipOptions, outdir: Path, scheduler: str | None,
                 workers: int | None, rows: dict[int, dict], progress: Progress | None,
                 total: int) -> None:
    from distributed import as_completed

    stamp = time.time_ns()
    with dask_client(scheduler, workers) as client:
        futures = {client.submit(run_cluster, cluster, source, options, str(outdir),
                                 key=f"vocluster-batch-{cluster.key}-{stamp}"): index
                   for index, cluster in todo.items()}
        for future in as_completed(futures):
            index = futures[future]
            cluster = todo[index]
            try:
                row = future.result()
            except Exception as exc:  # e.g. KilledWorker: the task killed worker after worker
                row = empty_row(cluster, "failed", f"{type(exc).__name__}: {exc}")
            rows[index] = row
            if progress is not None:
                progress(len(rows), total, row)
