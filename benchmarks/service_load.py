"""`vocluster serve` under load, on loopback: SAMP calls and HTTP requests at once.

    python benchmarks/service_load.py [--samp-calls 200] [--http-requests 400]
                                      [--concurrency 20]

Starts a private pyvo hub and `vocluster serve --http 127.0.0.1:PORT` (one job worker,
a queue of 8, its defaults), then, from `--concurrency` threads at once:

- SAMP: `vocluster.status` calls, `table.load.votable` calls with a 2,000-row synthetic
  Gaia table (real membership jobs: most are refused with "queue full" while the one
  worker is busy, which is the answer a full queue must give), and bad calls (unknown
  parameters, a list where a string belongs);
- HTTP: the jobs page, `/jobs.json`, a result file, a 5,000-character path, and cone
  searches with bad parameters (answered at once with an SCS error table).

Printed: calls sent and replies received (every call must get exactly one), replies by
kind, latency p50/p99 per kind, and the daemon's memory (RSS) idle before, at the end of
the load, and after 15 s idle again. Nothing listens beyond 127.0.0.1.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
from pyvo.samp import SAMPHubServer, SAMPIntegratedClient

from vocluster.datasets.synthetic import make_cone


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Load:
    """Counts and latencies per kind of request, thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent = collections.Counter()
        self.outcomes = collections.Counter()
        self.latency: dict[str, list[float]] = collections.defaultdict(list)

    def record(self, kind: str, outcome: str, seconds: float) -> None:
        with self.lock:
            self.outcomes[(kind, outcome)] += 1
            self.latency[kind].append(seconds)

    def send(self, kind: str) -> None:
        with self.lock:
            self.sent[kind] += 1


def samp_call(client: SAMPIntegratedClient, target: str, load: Load, kind: str,
              mtype: str, params: dict) -> None:
    load.send(kind)
    start = time.perf_counter()
    try:
        reply = client.call_and_wait(target, {"samp.mtype": mtype, "samp.params": params},
                                     "300")
        status = reply.get("samp.status")
        text = reply.get("samp.error", {}).get("samp.errortxt", "")
        outcome = "ok" if status == "samp.ok" else (
            "queue full" if "queue" in text.lower() else "error: " + text.split(":")[0][:40])
    except Exception as exc:  # no reply at all: this is what must never happen
        outcome = f"NO REPLY ({type(exc).__name__})"
    load.record(kind, outcome, time.perf_counter() - start)


def http_get(url: str, load: Load, kind: str) -> None:
    load.send(kind)
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=60) as answer:
            answer.read()
            outcome = str(answer.status)
    except urllib.error.HTTPError as exc:
        outcome = str(exc.code)
    except Exception as exc:
        outcome = f"NO REPLY ({type(exc).__name__})"
    load.record(kind, outcome, time.perf_counter() - start)


def rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samp-calls", type=int, default=200)
    parser.add_argument("--http-requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vocluster-load-"))
    table = work / "cone.vot"
    make_cone("NGC 2682", seed=1, n_stars=2000, n_members=200).write(table, format="votable")
    lockfile = work / "samp.lock"
    os.environ["SAMP_HUB"] = f"std-lockurl:{lockfile.as_uri()}"
    hub = SAMPHubServer(web_profile=False, lockfile=str(lockfile), addr="127.0.0.1")
    hub.start(wait=False)
    port = free_port()
    daemon = subprocess.Popen([sys.executable, "-m", "vocluster.cli.main", "serve",
                               "--results-dir", str(work / "results"),
                               "--http", f"127.0.0.1:{port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    clients = []
    try:
        for k in range(4):
            client = SAMPIntegratedClient(name=f"load {k}", addr="127.0.0.1")
            client.connect()
            clients.append(client)
        target = None
        deadline = time.monotonic() + 60
        while target is None and time.monotonic() < deadline:
            for peer in clients[0].get_subscribed_clients("vocluster.status"):
                target = peer
            time.sleep(0.2)
        if target is None:
            raise SystemExit("vocluster serve did not register with the hub")
        base = f"http://127.0.0.1:{port}"
        # one finished job, so that a result file exists to be served
        samp_call(clients[0], target, Load(), "warm-up", "table.load.votable",
                  {"url": table.as_uri()})
        time.sleep(5)
        idle_before = rss_mb(daemon.pid)
        result = next((work / "results").glob("*.vot")).name
        rng = random.Random(0)
        samp_kinds = [("status", "vocluster.status", {}),
                      ("table", "table.load.votable", {"url": table.as_uri()}),
                      ("bad", "table.load.votable", {"url": table.as_uri(), "colour": "x"}),
                      ("bad", "vocluster.members", {"url": [table.as_uri()]})]
        http_kinds = [("page", f"{base}/"), ("jobs.json", f"{base}/jobs.json"),
                      ("result", f"{base}/results/{result}"),
                      ("long path", f"{base}/{'x' * 5000}"),
                      ("bad cone", f"{base}/scs?RA=abc&DEC=1&SR=0.1")]
        load = Load()
        start = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            for i in range(args.samp_calls):
                kind, mtype, params = samp_kinds[rng.randrange(len(samp_kinds))]
                pool.submit(samp_call, clients[i % len(clients)], target, load, kind, mtype,
                            params)
            for _ in range(args.http_requests):
                kind, url = http_kinds[rng.randrange(len(http_kinds))]
                pool.submit(http_get, url, load, kind)
        wall = time.perf_counter() - start
        at_end = rss_mb(daemon.pid)
        time.sleep(15)
        idle_after = rss_mb(daemon.pid)
    finally:
        for client in clients:
            client.disconnect()
        daemon.terminate()
        daemon.wait(timeout=60)
        hub.stop()
    sent, received = sum(load.sent.values()), sum(load.outcomes.values())
    lost = sum(n for (_, outcome), n in load.outcomes.items() if outcome.startswith("NO REPLY"))
    print(f"{sent} requests from {args.concurrency} threads in {wall:.1f} s: {received} "
          f"answered, {lost} without a reply")
    for kind in sorted(load.latency):
        outcomes = ", ".join(f"{outcome} {n}" for (k, outcome), n in
                             sorted(load.outcomes.items()) if k == kind)
        times = load.latency[kind]
        print(f"  {kind:10} n={len(times):4d}  p50 {statistics.median(times):6.2f} s  "
              f"p99 {percentile(times, 0.99):6.2f} s  ({outcomes})")
    print(f"daemon RSS: idle {idle_before:.0f} MB, end of load {at_end:.0f} MB, 15 s later "
          f"{idle_after:.0f} MB ({100 * (idle_after / idle_before - 1):+.1f}% of idle)")


if __name__ == "__main__":
    main()
