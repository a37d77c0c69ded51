"""Wall time and peak memory of whole `vocluster members` calls (process start included).

    python benchmarks/membership_speed.py [--repeat 3] [--fastmp-python python3.12]

Runs the CLI on a 50k-star synthetic cone and on the 434k-star Melotte 25-size cone
(and the real Pleiades cone when ../shared is there); prints median seconds and the
peak resident memory of the child process.

On the real Pleiades cone it then races the published fastMP (PyPI `asteca`, in an
interpreter that imports it: Python >= 3.12), whole process against whole process,
interleaved: `vocluster members FILE --target Pleiades` against a script that reads the
same FITS file with astropy, gives fastMP the same catalogue values (vocluster's own
table's), runs `get_center`, `get_nmembers` and `fastmp(seed=0)` and writes the
probabilities as a VOTable. The cone has no proper-motion errors; the script estimates
them as vocluster does (1.05 x parallax_error, Gaia DR3).
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

from peers import fastmp_python

from vocluster.datasets.synthetic import make_cone
from vocluster.io.files import write_table
from vocluster.membership.pipeline import resolve_target

FASTMP_CALL = r"""
import sys
import asteca
import numpy as np
from astropy.table import Table

path, out, ra, dec, pmra, pmdec, plx = sys.argv[1], sys.argv[2], *map(float, sys.argv[3:])
t = Table.read(path)
e_pm = 1.05 * np.asarray(t["parallax_error"])
field = asteca.Cluster(ra=t["ra"], dec=t["dec"], pmra=t["pmra"], pmde=t["pmdec"],
                       plx=t["parallax"], e_pmra=e_pm, e_pmde=e_pm,
                       e_plx=t["parallax_error"], verbose=0)
field.get_center(radec_c=(ra, dec), pms_c=(pmra, pmdec), plx_c=plx)
field.get_nmembers()
asteca.Membership(field).fastmp(seed=0)
Table({"source_id": t["source_id"], "probs": field.probs}).write(out, format="votable",
                                                          overwrite=True)
"""


VOCLUSTER = [sys.executable, "-m", "vocluster.cli.main"]


def run_process(command: list[str]) -> tuple[float, float]:
    """Seconds and peak RSS so far (MB) of a whole process."""
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{done.args[:3]} failed: {done.stderr.strip()[-2000:]}")
    elapsed = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return elapsed, peak_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared"))
    parser.add_argument("--fastmp-python", default=None,
                        help="an interpreter that imports asteca (default: python3.12/3.13)")
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
                elapsed, peak = run_process([*VOCLUSTER, "members", str(path), "-o",
                                             f"{tmp}/out.vot", "--overwrite"])
                times.append(elapsed)
            print(f"{label:22} median {statistics.median(times):6.2f} s  "
                  f"(min {min(times):.2f}, max {max(times):.2f})  peak RSS so far {peak:.0f} MB")
        if real.exists():
            race_fastmp(real, args.repeat, args.fastmp_python, Path(tmp))


def race_fastmp(cone: Path, repeat: int, python: str | None, tmp: Path) -> None:
    """Whole `members --target Pleiades` calls against whole fastMP scripts, interleaved."""
    python = fastmp_python(python)
    if python is None:
        print("!!! fastMP not raced: no interpreter here imports asteca "
              "(python3.12 -m pip install asteca) !!!")
        return
    target = resolve_target("Pleiades")
    script = tmp / "fastmp_call.py"
    script.write_text(FASTMP_CALL)
    commands = {
        "vocluster members --target": [*VOCLUSTER, "members", str(cone), "--target", "Pleiades",
                                       "-o", str(tmp / "guided.vot"), "--overwrite"],
        "fastMP script, same values": [python, str(script), str(cone), str(tmp / "fastmp.vot"),
                                       *(str(v) for v in (target.ra, target.dec, target.pmra,
                                                          target.pmdec, target.parallax))]}
    times: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(repeat):
        for label, command in commands.items():
            times[label].append(run_process(command)[0])
    ours, theirs = (statistics.median(v) for v in times.values())
    for label, values in times.items():
        print(f"{label:28} median {statistics.median(values):6.2f} s  "
              f"(runs {', '.join(f'{v:.2f}' for v in values)})")
    print(f"vocluster / fastMP, whole processes on the real Pleiades cone: {ours / theirs:.2f}")


if __name__ == "__main__":
    main()
