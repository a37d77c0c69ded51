"""One cluster of a batch, as a worker runs it: fetch, find members, write, report.

The task never raises for a cluster's own trouble: a refusal (no significant cluster,
an unbound list) and a failure (no stars in the cone, no table, a dead service, a bug)
both come back as a summary row with the reason, so one bad cluster cannot stop a
survey. A rerun keeps refusals, which the same data would repeat, and redoes failures,
which new data or a live service may cure. Each row is also
written beside the members' VOTable (`status/<name>.json`, temp then rename), which is
what lets a killed batch resume where it stopped.
"""

from __future__ import annotations

import json
import os
import socket
import time
import traceback
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from astropy.table import Table

from vocluster.batch.cluster_list import BatchCluster
from vocluster.errors import VoclusterError
from vocluster.pipeline import MembershipOptions, find_members
from vocluster.sources.files import write_table, write_text

STATUS_DIR = "status"
#: statuses a rerun keeps; "failed" (a crash, a dead worker, a dead service) is redone
FINAL = ("ok", "refused")


class TableSource(Protocol):
    def describe(self) -> str: ...

    def table(self, cluster: BatchCluster) -> Table: ...


def status_path(outdir: Path, cluster: BatchCluster) -> Path:
    return outdir / STATUS_DIR / f"{cluster.key}.json"


def members_path(outdir: Path, cluster: BatchCluster) -> Path:
    return outdir / f"{cluster.key}.vot"


def empty_row(cluster: BatchCluster, status: str, reason: str = "") -> dict:
    """A summary row with every column, so that rows of any status stack into one table."""
    return {"name": cluster.name, "status": status, "reason": reason,
            "guided": cluster.target is not None, "n_rows": 0, "n_members": 0,
            "expected_members": float("nan"),
            **{k: float("nan") for k in ("pmra", "pmra_sem", "pmdec", "pmdec_sem", "parallax",
                                         "parallax_sem", "ra", "dec", "r50_deg", "distance_pc",
                                         "significance", "time_s")},
            "warnings": "", "output": "", "worker": ""}


def run_cluster(cluster: BatchCluster, source: TableSource, options: MembershipOptions,
                outdir: str | Path) -> dict:
    """Find one cluster's members and write them; return its summary row (never raises)."""
    outdir = Path(outdir)
    start = time.perf_counter()
    try:
        table = source.table(cluster)
    except Exception as exc:  # no data is a failure of this row, never of the batch
        row = empty_row(cluster, "failed", _reason(exc))
    else:
        try:
            row = _members(cluster, table, options, outdir)
        except VoclusterError as exc:  # the membership refused: the reason, in one line
            row = empty_row(cluster, "refused", str(exc))
        except Exception as exc:  # a bug must not stop the survey either
            row = empty_row(cluster, "failed", _reason(exc))
    row["time_s"] = round(time.perf_counter() - start, 3)
    row["worker"] = f"{socket.gethostname()}:{os.getpid()}"
    write_text(json.dumps(row, default=float) + "\n", status_path(outdir, cluster))
    return row


def _reason(exc: Exception) -> str:
    """One line: the user's error as it is, anything else with its type and place."""
    if isinstance(exc, VoclusterError):
        return str(exc)
    where = traceback.extract_tb(exc.__traceback__)[-1]
    return f"{type(exc).__name__}: {exc} ({Path(where.filename).name}:{where.lineno})"


def _members(cluster: BatchCluster, table: Table, options: MembershipOptions,
             outdir: Path) -> dict:
    result = find_members(table, replace(options, target=cluster.target))
    output = write_table(result.table, members_path(outdir, cluster), overwrite=True)
    summary = result.summary.as_dict()
    row = empty_row(cluster, "ok")
    row.update({k: summary[k] for k in row if k in summary and summary[k] is not None})
    row.update({"n_rows": len(table), "significance": result.metadata["significance"],
                "warnings": "" if result.metadata["warnings"] == "none"
                else str(result.metadata["warnings"]),
                "output": output.name})
    return row


def finished_row(outdir: Path, cluster: BatchCluster) -> dict | None:
    """The row of a cluster an earlier run finished (ok with its table, or refused)."""
    path = status_path(outdir, cluster)
    try:
        row = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if row.get("status") not in FINAL or row.get("name") != cluster.name:
        return None
    if row["status"] == "ok" and not members_path(outdir, cluster).is_file():
        return None
    return row
