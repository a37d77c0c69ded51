"""Wall time and peak memory of whole `vocluster members` calls (process start included).

    python benchmarks/membership_speed.py [--repeat 3]

Runs the CLI on a 50k-star synthetic cone and on the 434k-star Melotte 25-size cone
(and the real Pleiades cone when ../shared is there); prints median seconds and the
peak resident memory of the child process.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vocluster.datasets.synthetic import make_cone
from vocluster.io.files import write_table


def run_cli(args: list[str]) -> tuple[float, float]:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "vocluster.cli.main", *args], check=True,
                   capture_output=True)
    elapsed = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return elapsed, peak_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        inputs = {}
        for label, preset, n in (("50k synthetic", "Melotte 22", 50_000),
                                 ("434k Melotte 25-size", "Melotte 25", None)):
            path = Path(tmp) / f"{label.split()[0]}.fits"
            table = make_cone(preset, seed=1, n_stars=n)
            table.remove_column("true_member")
            write_table(table, path)
            inputs[label] = path
        real = Path(args.shared) / "data/gaia/pleiades_dr3_cone.fits"
        if real.exists():
            inputs["Pleiades real 50k"] = real
        for label, path in inputs.items():
            times, peak = [], 0.0
            for _ in range(args.repeat):
                elapsed, peak = run_cli(["members", str(path), "-o", f"{tmp}/out.vot",
                                         "--overwrite"])
                times.append(elapsed)
            print(f"{label:22} median {statistics.median(times):6.2f} s  "
                  f"(min {min(times):.2f}, max {max(times):.2f})  peak RSS so far {peak:.0f} MB")


if __name__ == "__main__":
    main()
