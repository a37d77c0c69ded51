"""One item of a batch (a cluster, an image set), as a worker runs it: work, write, report.

A task never raises for its item's own trouble: a refusal (no significant cluster, an
unbound list) and a failure (no stars in the cone, no table, a dead service, a bug)
both come back as a summary row with the reason, so one bad item cannot stop a survey.
Each row is also written beside the item's output (`status/<name>.json`, temp then
rename), which is what lets a killed batch resume where it stopped. A rerun keeps
refusals, which the same data would repeat, and redoes failures, which new data or a
live service may cure.
"""

from __future__ import annotations

import json
import os
import socket
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from vocluster.errors import VoclusterError, error_text
from vocluster.io.files import write_text

STATUS_DIR = "status"
#: statuses a rerun keeps; "failed" (a crash, a dead worker, a dead service) is redone
FINAL = ("ok", "refused")


class Item(Protocol):
    """What the runner needs of a row: a name, a file-safe key, and what is wrong with it."""

    name: str
    problem: str | None

    @property
    def key(self) -> str: ...


class Refused(VoclusterError):
    """The work ran and found no answer it can stand by (the reason is the message)."""


Work = Callable[[Item, Path], dict]
Blank = Callable[[Item, str, str], dict]


def status_path(outdir: Path, item: Item) -> Path:
    return outdir / STATUS_DIR / f"{item.key}.json"


def output_path(outdir: Path, item: Item) -> Path:
    return outdir / f"{item.key}.vot"


def reason(exc: BaseException) -> str:
    """One line: the user's error as it is, anything else with its type and place."""
    if isinstance(exc, VoclusterError):
        return error_text(exc)
    where = traceback.extract_tb(exc.__traceback__)[-1]
    return f"{error_text(exc)} ({Path(where.filename).name}:{where.lineno})"


def execute(work: Work, blank: Blank, item: Item, outdir: str | Path) -> dict:
    """Run `work(item, outdir)` and return its row, or a blank row with why it has none."""
    outdir = Path(outdir)
    start = time.perf_counter()
    try:
        row = work(item, outdir)
    except Refused as exc:
        row = blank(item, "refused", str(exc))
    except Exception as exc:  # bad data, a dead service or a bug: this row, not the batch
        row = blank(item, "failed", reason(exc))
    row["time_s"] = round(time.perf_counter() - start, 3)
    row["worker"] = f"{socket.gethostname()}:{os.getpid()}"
    write_text(json.dumps(row, default=float) + "\n", status_path(outdir, item))
    return row


def finished_row(outdir: Path, item: Item) -> dict | None:
    """The row of an item an earlier run finished (ok with its output, or refused)."""
    try:
        row = json.loads(status_path(outdir, item).read_text())
    except (OSError, ValueError):
        return None
    if row.get("status") not in FINAL or row.get("name") != item.name:
        return None
    if row["status"] == "ok" and not output_path(outdir, item).is_file():
        return None
    return row
