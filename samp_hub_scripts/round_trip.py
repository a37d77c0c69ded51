#!/usr/bin/env python3
"""One-command demo of the whole SAMP round trip, also used by the benchmark.

Starts a private pyvo hub and `vocluster serve`, writes a synthetic Gaia table,
sends it with STILTS exactly as TOPCAT would, and waits for the members table
vocluster broadcasts back. Prints how long each trip took, with the STILTS JVM
start-up included and excluded (from vocluster's first progress message).

    python3 samp_hub_scripts/round_trip.py [--rows 10000 | --table FILE] [--repeat 1]

`--table` sends a file of yours instead (FITS, VOTable, CSV: whatever STILTS reads), as
a TOPCAT user would send a loaded table.
"""

from __future__ import annotations

import argparse
import os
import queue
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pyvo.samp import SAMPHubServer, SAMPIntegratedClient

from vocluster.datasets.synthetic import make_cone


class _Watcher:
    """A pyvo peer that timestamps vocluster's progress and result broadcasts."""

    def __init__(self):
        self.events: queue.Queue = queue.Queue()
        # STILTS may wait on for other replies; its script runs java as a child, so each
        # sender gets a process group of its own, ended whole.
        self.senders: list[subprocess.Popen] = []
        self.client = SAMPIntegratedClient(name="round-trip watcher", addr="127.0.0.1")
        self.client.connect()
        for mtype in ("table.load.votable", "vocluster.job.progress"):
            self.client.bind_receive_notification(mtype, self._event)

    def _event(self, private_key, sender, mtype, params, extra):
        self.events.put((time.perf_counter(), mtype, params))

    def wait_for_vocluster(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for peer in self.client.get_registered_clients():
                if self.client.get_metadata(peer).get("samp.name") == "vocluster":
                    return
            time.sleep(0.1)
        raise RuntimeError("vocluster serve did not register")

    def trip(self, table: Path) -> tuple[float, float, dict]:
        while not self.events.empty():  # late notifications of the previous trip
            self.events.get_nowait()
        start = time.perf_counter()
        self.senders.append(subprocess.Popen(["stilts", "tpipe", f"in={table}", "omode=samp"],
                                             stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL,
                                             start_new_session=True))
        first_progress = None
        while True:
            stamp, mtype, params = self.events.get(timeout=300)
            if (mtype == "vocluster.job.progress" and first_progress is None
                    and params.get("message", "").startswith("fetching")):
                first_progress = stamp
            if mtype == "table.load.votable" and params.get("name", "").endswith("[members]"):
                return stamp - start, stamp - (first_progress or start), params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--table", type=Path, default=None,
                        help="send this table instead of a synthetic one of --rows")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vocluster-demo-"))
    lockfile = work / "samp.lock"
    os.environ["SAMP_HUB"] = f"std-lockurl:{lockfile.as_uri()}"
    hub = SAMPHubServer(web_profile=False, lockfile=str(lockfile), addr="127.0.0.1")
    hub.start(wait=False)
    daemon = subprocess.Popen([sys.executable, "-m", "vocluster.cli.main", "serve",
                               "--results-dir", str(work / "results")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    watcher = None
    try:
        table = args.table
        if table is None:
            cone = make_cone("NGC 2632", seed=1, n_stars=args.rows)
            cone.remove_column("true_member")
            table = work / "praesepe_like.vot"
            cone.write(table, format="votable")
        watcher = _Watcher()
        watcher.wait_for_vocluster()
        included, excluded = [], []
        for i in range(args.repeat):
            total, own, params = watcher.trip(table)
            included.append(total)
            excluded.append(own)
            print(f"trip {i + 1}: {total:.2f} s with STILTS start-up, {own:.2f} s without; "
                  f"result {params['url']}")
        print(f"median over {args.repeat}: {statistics.median(included):.2f} s incl. JVM, "
              f"{statistics.median(excluded):.2f} s excl. JVM "
              f"({table.name if args.table else f'{args.rows} rows'})")
        watcher.client.disconnect()
    finally:
        for sender in watcher.senders if watcher else []:
            if sender.poll() is None:
                os.killpg(sender.pid, signal.SIGTERM)
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=60)
        hub.stop()


if __name__ == "__main__":
    main()
