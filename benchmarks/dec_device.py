"""DEC on the CPU and on a GPU: the DEC fit's own time, the whole call's, and agreement.

    python benchmarks/dec_device.py [--shared ../shared] [--fields pleiades,m67]
                                    [--synthetic 200000] [--repeat 2]

For each real field (guided by the published medians, calibrated, as real_fields.py runs
it) and a synthetic Melotte 25-like cone of `--synthetic` stars, DEC runs on every device here, the
devices interleaved `--repeat` times. Printed per device: the median seconds of the DEC
fit (autoencoder, centroids and KL steps: what the device runs) and of the whole
`find_members` call (the mixture and checks run on the CPU either way), F1 against the
published list, and the members the devices disagree on. The first call on a GPU (CUDA's
start) is timed apart.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from real_fields import load_fields, score

from vocluster.datasets.synthetic import make_cone, preset
from vocluster.membership.dec import DECMembership
from vocluster.membership.pipeline import MembershipOptions, Target, find_members

fit_seconds: list[float] = []
_group = DECMembership._group


def _timed_group(self, *args, **kwargs):
    start = time.perf_counter()
    result = _group(self, *args, **kwargs)
    if str(self.device).startswith("cuda"):
        torch.cuda.synchronize()
    fit_seconds.append(time.perf_counter() - start)
    return result


DECMembership._group = _timed_group


def run(table, target: Target, device: str) -> tuple[float, float, np.ndarray]:
    fit_seconds.clear()
    options = MembershipOptions(method="dec", target=target, device=device)
    start = time.perf_counter()
    result = find_members(table, options)
    whole = time.perf_counter() - start
    return sum(fit_seconds), whole, np.asarray(result.table["is_member"].filled(False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared"))
    parser.add_argument("--fields", default="pleiades,m67")
    parser.add_argument("--synthetic", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    devices = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]
    cases = [(f.name, f.table, f.target, f.truth_p50 & f.in_range, f.in_range)
             for f in load_fields(Path(args.shared), args.fields.split(","))]
    if args.synthetic:  # a Melotte 25-like cone of this many stars
        hyades = preset("Melotte 25")
        cone = make_cone(hyades, seed=1, n_stars=args.synthetic)
        truth = np.asarray(cone["true_member"], dtype=bool)
        target = Target(hyades.name, hyades.pmra, hyades.pmdec, hyades.parallax)
        cases.append((f"synth{args.synthetic // 1000}k", cone, target, truth,
                      np.ones(len(truth), bool)))
    print(f"devices {devices}, {torch.get_num_threads()} CPU threads"
          + (f", {torch.cuda.get_device_name()}" if "cuda" in devices else ""))
    if "cuda" in devices:
        start = time.perf_counter()
        torch.zeros(1, device="cuda").sum().item()
        print(f"CUDA start {time.perf_counter() - start:.1f} s")
    for name, table, target, truth, in_range in cases:
        fits: dict[str, list[float]] = {d: [] for d in devices}
        wholes: dict[str, list[float]] = {d: [] for d in devices}
        members: dict[str, np.ndarray] = {}
        for _ in range(args.repeat):
            for device in devices:
                fit, whole, member = run(table, target, device)
                fits[device].append(fit)
                wholes[device].append(whole)
                members[device] = member
        for device in devices:
            f1 = score(members[device] & in_range, truth)[0]
            differ = int((members[device] != members["cpu"]).sum())
            print(f"{name:10} {len(table):7d} stars {device:4}: DEC fit "
                  f"{statistics.median(fits[device]):6.2f} s, whole call "
                  f"{statistics.median(wholes[device]):6.2f} s, F1 {f1:.3f}, "
                  f"{int(members[device].sum())} members, {differ} differ from the CPU's")


if __name__ == "__main__":
    main()
