"""vocluster against the published fastMP (ASteCA, Perren et al. 2023) on the real fields.

    python benchmarks/peers.py [--shared ../shared] [--fields pleiades,m67,...]
                               [--modes blind,values] [--fastmp-python python3.12]

fastMP is run as its authors publish it (PyPI `asteca`, which needs Python >= 3.12, so it
runs in its own interpreter: `python3.12 -m pip install asteca`): `Cluster(...)`,
`get_center()` (blind) or `get_center(radec_c, pms_c, plx_c)` (catalogue values),
`get_nmembers()`, `Membership.fastmp(seed=0)`. Both get exactly the same rows and
columns: the field's own, with errors estimated from G by vocluster where the table has
none (fastMP needs error columns). Both are scored as `real_fields.py` scores: members
(p >= 0.5) against the published list's p >= 0.5 stars and against all its stars, within
the list's magnitude range. Times are whole calls on this machine, in the same run;
fastMP's is measured inside its interpreter (start-up excluded).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

# the same fields and the same scoring (benchmarks/ is on sys.path when run as a script)
from real_fields import load_fields, score

from vocluster.core.sample import load_sample
from vocluster.membership.pipeline import MembershipOptions, find_members

FASTMP = r"""
import json, sys, time
import numpy as np
import asteca

data = np.load(sys.argv[1])
guided = sys.argv[2] == "values"
start = time.perf_counter()
field = asteca.Cluster(ra=data["ra"], dec=data["dec"], pmra=data["pmra"],
                       pmde=data["pmdec"], plx=data["parallax"], e_pmra=data["pmra_error"],
                       e_pmde=data["pmdec_error"], e_plx=data["parallax_error"], verbose=0)
if guided:
    field.get_center(radec_c=tuple(data["radec_c"]), pms_c=tuple(data["pms_c"]),
                     plx_c=float(data["plx_c"]))
else:
    field.get_center()
field.get_nmembers()
asteca.Membership(field).fastmp(seed=0)
elapsed = time.perf_counter() - start
np.save(sys.argv[3], np.asarray(field.probs, dtype=float))
print(json.dumps({"time": elapsed, "n_cluster": int(field.N_cluster)}))
"""


def fastmp_python(given: str | None) -> str | None:
    """An interpreter that imports asteca, or None (then fastMP is reported as absent)."""
    for candidate in ([given] if given else ["python3.12", "python3.13"]):
        path = shutil.which(candidate) or candidate
        try:
            probe = subprocess.run([path, "-c", "import asteca"], capture_output=True)
        except OSError:
            continue
        if probe.returncode == 0:
            return path
    return None


def run_fastmp(python: str, values: dict[str, np.ndarray], guided: bool,
               folder: Path) -> tuple[np.ndarray, dict]:
    np.savez(folder / "field.npz", **values)
    script = folder / "fastmp_run.py"
    script.write_text(FASTMP)
    done = subprocess.run([python, str(script), str(folder / "field.npz"),
                           "values" if guided else "blind", str(folder / "probs.npy")],
                          capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1])
    return np.load(folder / "probs.npy"), json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared"))
    parser.add_argument("--fields", default=None)
    parser.add_argument("--modes", default="blind,values")
    parser.add_argument("--fastmp-python", default=None)
    args = parser.parse_args()
    python = fastmp_python(args.fastmp_python)
    if python is None:
        print("!!! fastMP NOT RUN: no Python >= 3.12 with asteca found "
              "(python3.12 -m pip install asteca) !!!")
    fields = load_fields(Path(args.shared), args.fields.split(",") if args.fields else None)
    print(f"{'field':9} {'mode':6} {'method':9} {'F1':>5} {'P':>5} {'R':>5} {'F1all':>5} "
          f"{'N':>5} {'Npub':>5} {'time s':>7}")
    ratios = []
    for field in fields:
        sample = load_sample(field.table, require_positions=True)
        keys = ("ra", "dec", "pmra", "pmdec", "parallax", "pmra_error", "pmdec_error",
                "parallax_error")
        columns = {k: np.asarray(sample.values[k], dtype=float) for k in keys}
        rows = np.all([np.isfinite(v) for v in columns.values()], axis=0)
        in_range = field.in_range[rows]
        truth_50, truth_all = field.truth_p50[rows] & in_range, field.truth_all[rows] & in_range
        table = field.table[rows]
        for mode in args.modes.split(","):
            guided = mode == "values"
            results = {}
            start = time.perf_counter()
            try:
                result = find_members(table, MembershipOptions(target=field.target if guided
                                                               else None))
                results["vocluster"] = (np.asarray(result.table["member_prob"].filled(0.0)),
                                        time.perf_counter() - start)
            except Exception as exc:  # a refusal is a result here
                results["vocluster"] = (str(exc), time.perf_counter() - start)
            if python is not None:
                values = {k: v[rows] for k, v in columns.items()}
                target = field.target
                values.update(radec_c=np.array([target.ra, target.dec]),
                              pms_c=np.array([target.pmra, target.pmdec]),
                              plx_c=np.array(target.parallax))
                with tempfile.TemporaryDirectory() as tmp:
                    try:
                        probs, info = run_fastmp(python, values, guided, Path(tmp))
                        results["fastMP"] = (probs, info["time"])
                    except (RuntimeError, subprocess.TimeoutExpired) as exc:
                        results["fastMP"] = (str(exc), float("nan"))
            for method, (probs, elapsed) in results.items():
                head = f"{field.name:9} {mode:6} {method:9}"
                if isinstance(probs, str):
                    print(f"{head} failed: {probs[:100]}")
                    continue
                member = (probs >= 0.5) & in_range
                f1, p, r = score(member, truth_50)
                f1_all = score(member, truth_all)[0]
                print(f"{head} {f1:5.3f} {p:5.3f} {r:5.3f} {f1_all:5.3f} {member.sum():5d} "
                      f"{truth_50.sum():5d} {elapsed:7.2f}")
            if all(not isinstance(v[0], str) for v in results.values()) and len(results) == 2:
                ratios.append(results["fastMP"][1] / results["vocluster"][1])
    if ratios:
        print(f"time fastMP / vocluster: median {statistics.median(ratios):.2f} over "
              f"{len(ratios)} runs (min {min(ratios):.2f}, max {max(ratios):.2f})")


if __name__ == "__main__":
    main()
