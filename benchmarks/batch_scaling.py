"""`vocluster batch` on Dask: clusters per minute at 1 and 2 workers, engine overhead,
memory per worker, and the projection to Hunt & Reffert's 7,167 clusters.

    python benchmarks/batch_scaling.py [--shared ../shared] [--copies 3] [--workers 1,2]
                                       [--repeat 3]

The work is real: the shared real Gaia fields (each `--copies` times, under different
names), run blind from files, as `vocluster batch LIST --tables DIR` does. Printed:

- the same clusters run one after another in this process, without Dask (the baseline);
- per worker count: wall time, clusters per minute, the scaling against one worker, the
  engine's overhead (wall x workers - the tasks' own time, over the tasks' own time,
  the cluster's start-up excluded and printed apart), and each worker's peak memory;
- the cost of one empty Dask task (submit to result) against a cluster's median time;
- the projection to 7,167 clusters on 16 workers from the measured time per cluster on
  one worker and the measured 2-worker efficiency (cones like these, 1.5 x r50 of nearby
  and distant clusters; HR23 cones vary widely in size, data access not included).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path

from vocluster.batch import BatchCluster, FileTables, run_batch
from vocluster.batch.engine import dask_client
from vocluster.batch.membership import cluster_row, find_cluster_members
from vocluster.batch.task import execute
from vocluster.membership.pipeline import MembershipOptions

FIELDS = {"Pleiades": "pleiades_dr3_cone.fits", "M67": "fields/m67.fits",
          "Praesepe": "fields/praesepe.fits", "alpha_Per": "fields/alphaper.fits",
          "Berkeley_29": "fields/ber29.fits"}
HR23_CLUSTERS = 7167


def peak_memory_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def empty_task(x: int) -> int:
    return x


def task_cost(workers: int, n: int = 400) -> float:
    """Seconds per empty task, submitted and gathered in bulk (the engine's own cost)."""
    with dask_client(workers=workers) as client:
        client.gather(client.map(empty_task, range(20)))  # connections warm
        start = time.perf_counter()
        client.gather(client.map(empty_task, range(n), key=[f"empty-{k}" for k in range(n)]))
        return (time.perf_counter() - start) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared"))
    parser.add_argument("--copies", type=int, default=3)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--repeat", type=int, default=3, help="runs per worker count (median)")
    args = parser.parse_args()
    gaia = Path(args.shared) / "data/gaia"
    with tempfile.TemporaryDirectory() as work:
        tables = Path(work) / "tables"
        tables.mkdir()
        clusters = []
        for copy in range(args.copies):
            for name, path in FIELDS.items():
                key = f"{name}_{copy}"
                (tables / f"{key}.fits").symlink_to((gaia / path).resolve())
                clusters.append(BatchCluster(key))
        source, options = FileTables(tables), MembershipOptions()
        (Path(work) / "sequential" / "status").mkdir(parents=True)
        start = time.perf_counter()
        rows = [execute(partial(find_cluster_members, source=source, options=options),
                        cluster_row, c, Path(work) / "sequential") for c in clusters]
        sequential = time.perf_counter() - start
        work_s = [r["time_s"] for r in rows]
        print(f"{len(clusters)} clusters ({', '.join(FIELDS)} x {args.copies}), blind, from "
              f"files; statuses {sorted({r['status'] for r in rows})}")
        print(f"sequential, no Dask: {sequential:.1f} s, {60 * len(clusters) / sequential:.1f} "
              f"clusters/min; median cluster {statistics.median(work_s):.2f} s")
        per_minute: dict[int, list[float]] = {}
        task_s: dict[int, list[float]] = {}
        for repeat in range(args.repeat):
            for workers in (int(w) for w in args.workers.split(",")):
                outdir = Path(work) / f"dask{workers}-{repeat}"
                start = time.perf_counter()
                with dask_client(workers=workers) as client:
                    ready = time.perf_counter() - start
                    begin = time.perf_counter()
                    summary = run_batch(clusters, source, outdir, options,
                                        scheduler=client.scheduler.address)
                    wall = time.perf_counter() - begin
                    memory = client.run(peak_memory_mb)
                own = float(sum(summary["time_s"]))
                task_s.setdefault(workers, []).append(own / len(clusters))
                per_minute.setdefault(workers, []).append(60 * len(clusters) / wall)
                print(f"{workers} worker(s), run {repeat + 1}: start-up {ready:.1f} s; batch "
                      f"{wall:.1f} s, {per_minute[workers][-1]:.1f} clusters/min; overhead "
                      f"{(wall * workers - own) / own:+.1%} of the tasks' own {own:.1f} s (idle "
                      f"tail included); peak memory per worker "
                      f"{', '.join(f'{m:.0f}' for m in memory.values())} MB; statuses "
                      f"{sorted(set(map(str, summary['status'])))}")
        rate = {w: statistics.median(v) for w, v in per_minute.items()}
        print("median clusters/min: " + ", ".join(
            f"{w} worker(s) {r:.1f} ({r / rate[min(rate)]:.2f}x)" for w, r in rate.items()))
        empty = task_cost(2)
        print(f"one empty Dask task: {1000 * empty:.2f} ms = "
              f"{empty / statistics.median(work_s):.3%} of a median cluster")
        if 2 in rate and 1 in rate:
            efficiency = rate[2] / (2 * rate[1])
            one_worker = statistics.median(task_s[1])
            hours = HR23_CLUSTERS * one_worker / (16 * min(efficiency, 1.0)) / 3600
            print(f"projection: {HR23_CLUSTERS} clusters on 16 single-threaded workers at "
                  f"the measured 2-worker efficiency {efficiency:.0%} (capped at 100%): "
                  f"{60 * hours:.0f} min ({one_worker:.2f} s per cluster on one worker "
                  f"thread; Dask workers set OMP_NUM_THREADS=1, the sequential run uses "
                  f"every core)")


if __name__ == "__main__":
    main()
