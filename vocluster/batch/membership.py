"""The membership job of a batch: one cluster's stars in, its members' VOTable out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Protocol

from astropy.table import Table

from vocluster.batch.cluster_list import BatchCluster
from vocluster.batch.runner import Progress, run_items
from vocluster.batch.task import Refused, output_path
from vocluster.errors import VoclusterError
from vocluster.io.files import write_table
from vocluster.membership.pipeline import MembershipOptions, find_members

SUMMARY_UNITS = {"pmra": "mas/yr", "pmra_sem": "mas/yr", "pmdec": "mas/yr",
                 "pmdec_sem": "mas/yr", "parallax": "mas", "parallax_sem": "mas", "ra": "deg",
                 "dec": "deg", "r50_deg": "deg", "distance_pc": "pc", "significance": "sigma",
                 "time_s": "s"}


class TableSource(Protocol):
    def describe(self) -> str: ...

    def size_hint(self, cluster: BatchCluster) -> float: ...

    def table(self, cluster: BatchCluster) -> Table: ...


def cluster_row(cluster: BatchCluster, status: str, reason: str = "") -> dict:
    """A summary row with every column, so that rows of any status stack into one table."""
    return {"name": cluster.name, "status": status, "reason": reason,
            "guided": cluster.target is not None, "n_rows": 0, "n_members": 0,
            "expected_members": float("nan"),
            **{k: float("nan") for k in ("pmra", "pmra_sem", "pmdec", "pmdec_sem", "parallax",
                                         "parallax_sem", "ra", "dec", "r50_deg", "distance_pc",
                                         "significance", "time_s")},
            "warnings": "", "output": "", "worker": ""}


def find_cluster_members(cluster: BatchCluster, outdir: Path, source: TableSource,
                         options: MembershipOptions) -> dict:
    """Fetch, find members, write `<name>.vot`; a membership refusal raises `Refused`."""
    table = source.table(cluster)
    try:
        result = find_members(table, replace(options, target=cluster.target))
    except VoclusterError as exc:
        raise Refused(str(exc)) from exc
    output = write_table(result.table, output_path(outdir, cluster), overwrite=True)
    summary = result.summary.as_dict()
    row = cluster_row(cluster, "ok")
    row.update({k: summary[k] for k in row if k in summary and summary[k] is not None})
    row.update({"n_rows": len(table), "significance": result.metadata["significance"],
                "warnings": "" if result.metadata["warnings"] == "none"
                else str(result.metadata["warnings"]),
                "output": output.name})
    return row


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
    work = partial(find_cluster_members, source=source, options=options or MembershipOptions())
    return run_items(clusters, work, cluster_row, outdir, units=SUMMARY_UNITS,
                     size_hint=source.size_hint, scheduler=scheduler, workers=workers,
                     redo=redo, progress=progress)
