"""`run_items`: one Dask task per item, resumable, with atomic outputs and a summary.

The outputs are one file per item (`OUTDIR/<name>.vot`, as the single-item command
writes it) plus `OUTDIR/summary.vot` and `summary.parquet` with one row per item. Every
file is written to a temporary name and renamed, so a batch killed at any moment leaves
complete files only; a rerun skips the items an earlier run finished and redoes the
rest (`redo=True` redoes all). Membership (`membership.run_batch`) and classification
(`classification.run_classify_batch`) are two jobs on this one runner.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path

from astropy.table import Table

from vocluster.atomic import remove_stale_temporaries
from vocluster.batch.engine import dask_client
from vocluster.batch.task import STATUS_DIR, Blank, Item, Work, execute, finished_row
from vocluster.io.files import write_table

SUMMARY_FILES = ("summary.vot", "summary.parquet")

Progress = Callable[[int, int, dict], None]


def summary_table(rows: Sequence[dict], units: Mapping[str, str]) -> Table:
    table = Table(rows=list(rows), names=list(rows[0])) if rows else Table()
    for name, unit in units.items():
        if name in table.colnames:
            table[name].unit = unit
    table.meta["description"] = "vocluster batch: one row per item (status ok, refused " \
                                "with the reason, failed with the error, or not run)"
    return table


def run_items(items: Sequence[Item], work: Work, blank: Blank, outdir: str | Path, *,
              units: Mapping[str, str], size_hint: Callable[[Item], float] | None = None,
              scheduler: str | None = None, workers: int | None = None, redo: bool = False,
              progress: Progress | None = None) -> Table:
    """Run `work(item, outdir)` for every item on Dask; write and return the summary.

    Items with a larger `size_hint` start first (longest job first), so that the batch
    does not end with one large item running alone while the other workers idle.
    """
    outdir = Path(outdir)
    (outdir / STATUS_DIR).mkdir(parents=True, exist_ok=True)
    for folder in (outdir, outdir / STATUS_DIR):
        remove_stale_temporaries(folder, (".vot", ".json", ".parquet"))
    rows: dict[int, dict] = {}
    for index, item in enumerate(items):
        if item.problem:  # unknown name, duplicate, no name: nothing to send to a worker
            rows[index] = blank(item, "failed", item.problem)
        elif not redo and (done := finished_row(outdir, item)) is not None:
            rows[index] = done
    todo = {index: item for index, item in enumerate(items) if index not in rows}
    try:
        if todo:
            ranks = _ranks(todo, size_hint)
            _run_on_dask(todo, ranks, partial(execute, work, blank), blank, outdir, scheduler,
                         workers, rows, progress, len(items))
    finally:  # interrupted or not: the summary says what is done (by any worker) and not
        summary = summary_table([rows.get(index) or finished_row(outdir, item)
                                 or blank(item, "not run", "")
                                 for index, item in enumerate(items)], units)
        for name in SUMMARY_FILES:
            write_table(summary, outdir / name, overwrite=True)
    return summary


def _ranks(todo: dict[int, Item], size_hint: Callable[[Item], float] | None
           ) -> dict[int, int]:
    """Dask priorities: the largest item gets the highest, ties keep the list's order."""
    sizes = {index: size_hint(item) if size_hint else 0.0 for index, item in todo.items()}
    order = sorted(todo, key=lambda index: (sizes[index], -index))
    return {index: rank for rank, index in enumerate(order)}


def _run_on_dask(todo: dict[int, Item], ranks: dict[int, int],
                 task: Callable[[Item, str], dict], blank: Blank, outdir: Path,
                 scheduler: str | None, workers: int | None, rows: dict[int, dict],
                 progress: Progress | None, total: int) -> None:
    from distributed import as_completed

    stamp = time.time_ns()
    with dask_client(scheduler, workers) as client:
        futures = {client.submit(task, item, str(outdir), priority=ranks[index],
                                 key=f"vocluster-batch-{item.key}-{stamp}"): index
                   for index, item in todo.items()}
        for future in as_completed(futures):
            index = futures[future]
            try:
                row = future.result()
            except Exception as exc:  # e.g. KilledWorker: the task killed worker after worker
                row = blank(todo[index], "failed", f"{type(exc).__name__}: {exc}")
            rows[index] = row
            if progress is not None:
                progress(len(rows), total, row)
