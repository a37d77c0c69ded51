"""Quality of every method on the real Pleiades cone (vs Hunt & Reffert 2023) and presets.

    python benchmarks/membership_quality.py [--shared ../shared] [--skip-slow]
        [--only calibration] [--data-seeds 3]

Prints F1 of is_member (p >= 0.5) against HR23 members with Prob >= 0.5 (the brief's
reference) and against every HR23 member in the cone, recall at p >= 0.7, the mean
pm/parallax offsets from the HR23 members' mean, and the fit time; then F1 and the
5-seed Jaccard stability of the default on each synthetic preset, and every method
(calibrated and raw) on each preset. ' W' marks a run that warned (e.g. an unbound list).
`--only calibration` prints only the calibration of the default with catalogue values on
every preset over three data seeds (sum p / true N, and the true member fraction of the
rows given 0.3-0.7 and 0.7-1).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
from astropy.table import Table

from vocluster.datasets.synthetic import PRESETS, make_cone
from vocluster.errors import InputError
from vocluster.membership.pipeline import (
    MembershipOptions,
    Target,
    find_members,
    resolve_target,
)


def f1(member: np.ndarray, truth: np.ndarray) -> float:
    return 2 * (member & truth).sum() / max(member.sum() + truth.sum(), 1)


def real_data(shared: Path, methods: list[str]) -> None:
    cone = Table.read(shared / "data/gaia/pleiades_dr3_cone.fits")
    hr23 = Table.read(shared / "data/gaia/hr23_melotte22_members.csv")
    ids = np.asarray(cone["source_id"])
    truth = np.isin(ids, hr23["GaiaDR3"][hr23["Prob"] >= 0.5])
    any_hr23 = np.isin(ids, hr23["GaiaDR3"])
    ref = [float(np.nanmean(cone[c][truth])) for c in ("pmra", "pmdec", "parallax")]
    print(f"Pleiades cone: {len(cone)} rows, {truth.sum()} HR23 Prob>=0.5 members, "
          f"{any_hr23.sum()} HR23 members of any Prob")
    print(f"{'method':10} {'target':8} {'calib':5} {'F1':>6} {'F1any':>6} {'rec.7':>6} "
          f"{'N':>5} {'dpmra':>7} {'dpmdec':>7} {'dplx':>7} {'time_s':>7}")
    for method in methods:
        for target in (None, "Pleiades"):
            for calibrate in (True, False):
                options = MembershipOptions(method=method, calibrate=calibrate,
                                            target=resolve_target(target) if target else None)
                start = time.perf_counter()
                try:
                    result = find_members(cone, options)
                except Exception as exc:  # report and go on: this is a benchmark table
                    print(f"{method:10} {target or '-':8} {calibrate!s:5} failed: {exc}")
                    continue
                elapsed = time.perf_counter() - start
                p = np.asarray(result.table["member_prob"].filled(0.0))
                member = p >= 0.5
                offsets = [(result.summary.pmra or np.nan) - ref[0],
                           (result.summary.pmdec or np.nan) - ref[1],
                           (result.summary.parallax or np.nan) - ref[2]]
                recall7 = ((p >= 0.7) & truth).sum() / truth.sum()
                print(f"{method:10} {target or '-':8} {calibrate!s:5} {f1(member, truth):6.3f} "
                      f"{f1(member, any_hr23):6.3f} {recall7:6.3f} {member.sum():5d} "
                      f"{offsets[0]:7.3f} {offsets[1]:7.3f} {offsets[2]:7.3f} {elapsed:7.2f}")


def default_against_hr23_cuts(shared: Path, seeds: int = 4) -> None:
    """The default over several seeds, scored against HR23 at several of its Prob cuts.

    HR23's Prob is a resampling frequency, not a calibrated probability, so where the
    cut is put decides how many of its own members count as truth.
    """
    cone = Table.read(shared / "data/gaia/pleiades_dr3_cone.fits")
    hr23 = Table.read(shared / "data/gaia/hr23_melotte22_members.csv")
    prob = dict(zip(hr23["GaiaDR3"].tolist(), hr23["Prob"].tolist(), strict=True))
    hr_prob = np.array([prob.get(i, -1.0) for i in np.asarray(cone["source_id"]).tolist()])
    cuts = (0.0, 0.3, 0.4, 0.5, 0.6)
    print(f"\ndefault method, {seeds} seeds: F1 (precision/recall) against HR23 Prob >= cut")
    print(f"{'seed':4} {'N':>5} " + " ".join(f"{f'>={c}':>19}" for c in cuts) + "  time_s")
    for seed in range(seeds):
        start = time.perf_counter()
        result = find_members(cone, MembershipOptions(seed=seed))
        elapsed = time.perf_counter() - start
        member = np.asarray(result.table["member_prob"].filled(0.0)) >= 0.5
        cells = []
        for cut in cuts:
            truth = hr_prob >= cut
            hits = (member & truth).sum()
            cells.append(f"{f1(member, truth):.3f} ({hits / member.sum():.3f}/"
                         f"{hits / truth.sum():.3f})")
        print(f"{seed:4d} {member.sum():5d} " + " ".join(f"{c:>19}" for c in cells)
              + f"  {elapsed:6.2f}")


def presets(skip_slow: bool):
    """The synthetic presets, without the 434k one when `skip_slow`."""
    return [(name, preset) for name, preset in PRESETS.items()
            if not (skip_slow and preset.n_stars > 100_000)]


def synthetic(skip_slow: bool) -> None:
    print("\nsynthetic presets, default method, no catalogue values (5 seeds of the method):")
    print(f"{'preset':11} {'rows':>7} {'F1 med':>7} {'F1 min':>7} {'Jaccard min':>11} "
          f"{'time med s':>10} {'sum p/N':>9} {'n mid':>5} {'true mid':>9}")
    print("(sum p/N: expected members over true members; mid: 0.5 <= p < 0.9, true frac "
          "should be ~0.7)")
    for name, preset in presets(skip_slow):
        cone = make_cone(preset, seed=0)
        truth = np.asarray(cone["true_member"])
        scores, times, sets, probs = [], [], [], []
        for seed in range(5):
            start = time.perf_counter()
            try:
                result = find_members(cone, MembershipOptions(seed=seed))
            except InputError as exc:  # a refusal is a result: count it as F1 0
                print(f"{name:11} seed {seed}: refused: {exc}")
                scores.append(0.0)
                continue
            times.append(time.perf_counter() - start)
            member = np.asarray(result.table["is_member"].filled(False))
            scores.append(f1(member, truth))
            probs.append(np.asarray(result.table["member_prob"].filled(np.nan)))
            sets.append(set(np.flatnonzero(member)))
        if len(sets) < 2:
            continue
        jaccard = min(len(sets[0] & s) / max(len(sets[0] | s), 1) for s in sets[1:])
        p = probs[0]
        middle = (p >= 0.5) & (p < 0.9)
        print(f"{name:11} {len(cone):7d} {statistics.median(scores):7.3f} {min(scores):7.3f} "
              f"{jaccard:11.3f} {statistics.median(times):10.2f} "
              f"{np.nansum(p) / truth.sum():9.3f} {middle.sum():5d} "
              f"{truth[middle].mean() if middle.any() else np.nan:9.2f}")


def synthetic_methods(methods: list[str], skip_slow: bool) -> None:
    """Every method, calibrated and raw, on each preset (seed 0): which presets are hard."""
    print("\nsynthetic presets, every method blind: F1 (N members / true N); "
          "'refused' = the run said no cluster")
    print(f"{'preset':11} {'method':8} {'calibrated':>18} {'raw':>18}")
    for name, preset in presets(skip_slow):
        cone = make_cone(preset, seed=0)
        truth = np.asarray(cone["true_member"])
        for method in methods:
            cells = []
            for calibrate in (True, False):
                try:
                    result = find_members(cone, MembershipOptions(method=method,
                                                                  calibrate=calibrate))
                except InputError:
                    cells.append("refused")
                    continue
                member = np.asarray(result.table["is_member"].filled(False))
                warned = "" if result.metadata["warnings"] == "none" else " W"
                cells.append(f"{f1(member, truth):.3f} ({member.sum()}/{truth.sum()}){warned}")
            print(f"{name:11} {method:8} {cells[0]:>18} {cells[1]:>18}")


def calibration(skip_slow: bool, data_seeds: int) -> None:
    """The default with catalogue values over several data seeds: is sum p the true count,
    and are mid-probability stars members at the rate their probability says?

    One seed's sum p scatters by about 1/sqrt(N) and more where faint members cannot be
    told from the field, so the mean over seeds is the bias and the spread its noise.
    """
    print(f"\ncalibration, default with catalogue values, data seeds 0-{data_seeds - 1} "
          "(mean p -> true fraction in each band):")
    print(f"{'preset':11} {'seed':>4} {'sum p/N':>8} {'p 0.3-0.7':>22} {'p 0.7-1':>22}")
    for name, preset in presets(skip_slow):
        ratios = []
        for seed in range(data_seeds):
            cone = make_cone(preset, seed=seed)
            truth = np.asarray(cone["true_member"])
            result = find_members(cone, MembershipOptions(
                target=Target(name, preset.pmra, preset.pmdec, preset.parallax), force=True))
            p = np.asarray(result.table["member_prob"].filled(np.nan))
            bands = []
            for lo, hi in ((0.3, 0.7), (0.7, 1.01)):
                band = (p >= lo) & (p < hi)
                bands.append(f"{p[band].mean():.2f}->{truth[band].mean():.2f} (n {band.sum()})"
                             if band.any() else "-")
            ratios.append(np.nansum(p) / truth.sum())
            print(f"{name:11} {seed:4d} {ratios[-1]:8.3f} {bands[0]:>22} {bands[1]:>22}")
        print(f"{name:11} sum p/N over {data_seeds} seeds: mean {np.mean(ratios):.3f}, "
              f"median {np.median(ratios):.3f}, spread (sd) {np.std(ratios):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared"))
    parser.add_argument("--methods", default="mixture,kmeans,gmm,hdbscan,dec")
    parser.add_argument("--skip-slow", action="store_true", help="leave out the 434k preset")
    parser.add_argument("--only", choices=["calibration"], help="print only this section")
    parser.add_argument("--data-seeds", type=int, default=3,
                        help="data seeds of each preset in the calibration section")
    args = parser.parse_args()
    if args.only == "calibration":
        calibration(args.skip_slow, args.data_seeds)
        return
    shared = Path(args.shared)
    if (shared / "data/gaia/pleiades_dr3_cone.fits").exists():
        real_data(shared, args.methods.split(","))
        default_against_hr23_cuts(shared)
    else:
        print(f"no real data under {shared}: skipping the Pleiades comparison")
    synthetic(args.skip_slow)
    synthetic_methods(args.methods.split(","), args.skip_slow)


if __name__ == "__main__":
    main()
