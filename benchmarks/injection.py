"""Realistic simulated clusters injected into the shared real Gaia fields (Hunt et al. 2026
design, scaled to this machine): the membership benchmark that favours no method.

    python benchmarks/injection.py [--shared ../shared] [--fields m67,pleiades]
        [--distances 100,300,1000,3000,10000] [--masses 100,300,1000,3000,5000]
        [--seeds 1] [--methods default,hdbscan-raw] [--modes values,blind]

For each field, method and mode, a distance x mass grid of ocelot clusters (King
profiles, binaries, PARSEC photometry, the field's own errors and completeness) is
injected, one at a time, away from the field's real cluster. Printed: per cluster F1
(precision/recall); per method the median F1 of clusters with >= 50 observed members
within 1.5 kpc, the detection limit (clusters found by distance), and the calibration
(reliability over rows with p >= 0.05, and its expected calibration error).
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from astropy.table import Table

from vocluster.core.sample import GaiaSample, load_sample
from vocluster.datasets.injection import ClusterSpec
from vocluster.datasets.validation import (
    Footprint,
    Injection,
    injections_at,
    report,
    run_injection,
)
from vocluster.errors import InputError
from vocluster.membership.pipeline import (
    MembershipOptions,
    MembershipResult,
    Target,
    find_members,
)

GRID_DISTANCES = "100,300,1000,3000,10000"  # pc
GRID_MASSES = "100,300,1000,3000,5000"  # solar masses
METHODS = {"default": MembershipOptions(),
           "hdbscan-raw": MembershipOptions(method="hdbscan", calibrate=False)}


def load_field(shared: Path, name: str) -> Table:
    gaia = shared / "data/gaia"
    if name == "pleiades":
        return Table.read(gaia / "pleiades_dr3_cone.fits")
    return Table.read(gaia / f"fields/{name}.fits")


def options_for(method: str, mode: str) -> MembershipOptions:
    """A method's options, guided by the injected cluster's values or blind."""
    if mode == "values":  # any target: run_injection gives the injected cluster's values
        return replace(METHODS[method], target=Target("catalogue values", 0.0, 0.0, 1.0))
    return METHODS[method]


def grid_pairs(distances: str, masses: str) -> list[tuple[float, float]]:
    """(distance, mass) of every cell, from comma-separated lists."""
    return [(float(d), float(m)) for d in distances.split(",") for m in masses.split(",")]


def real_cluster(field: Table) -> MembershipResult | None:
    """The field's own cluster, which injections keep away from (None if none is found)."""
    try:
        return find_members(field, MembershipOptions())
    except InputError:
        return None


def grid_specs(field_name: str, sample: GaiaSample, pairs: list[tuple[float, float]], seed: int,
               real: MembershipResult | None) -> list[ClusterSpec]:
    """The clusters of the grid for one seed; the same pairs and seed give the same clusters."""
    footprint = Footprint(sample)
    outside = sorted({d for d, _ in pairs if not footprint.holds(d)})
    if outside:  # a table cut at plx > 3.3 mas cannot hold a 1 kpc cluster: nothing to score
        print(f"  {field_name}: skipping {', '.join(f'{d:g}' for d in outside)} pc, outside "
              f"the table's parallax range")
    return injections_at(sample, [(d, m) for d, m in pairs if footprint.holds(d)], seed, real)


def run(field_name: str, field: Table, method: str, mode: str, pairs, seeds: int
        ) -> list[Injection]:
    options = options_for(method, mode)
    sample = load_sample(field, require_positions=True)
    real = real_cluster(field)
    out = []
    for seed in range(seeds):
        for spec in grid_specs(field_name, sample, pairs, seed, real):
            start = time.perf_counter()
            try:
                injection = run_injection(field, sample, spec, options, seed)
            except InputError as exc:
                print(f"  {field_name} d={spec.distance_pc:.0f} failed: {exc}")
                continue
            out.append(injection)
            print(f"  {field_name:8} {method:11} {mode:6} d={spec.distance_pc:6.0f} pc "
                  f"M={spec.mass:5.0f} N={injection.n_injected:5d} members={injection.n_members:5d}"
                  f" F1={injection.f1:.3f} ({injection.precision:.3f}/{injection.recall:.3f}) "
                  f"{time.perf_counter() - start:5.1f}s {injection.status[:70]}", flush=True)
    return out


def summarise(label: str, injections: list[Injection]) -> None:
    result = report(injections)
    near_rich = [i.f1 for i in injections
                 if i.spec.distance_pc <= 1500 and i.n_injected >= 50]
    print(f"{label}: median F1 {statistics.median([i.f1 for i in injections]):.3f} over "
          f"{len(injections)}; within 1.5 kpc and >= 50 stars: "
          + (f"median {statistics.median(near_rich):.3f}, min {min(near_rich):.3f} "
             f"({len(near_rich)} clusters)" if near_rich else "none"))
    by_distance: dict[float, list[bool]] = {}
    for i in injections:
        by_distance.setdefault(round(i.spec.distance_pc), []).append(i.status == "found"
                                                                     and i.f1 >= 0.5)
    print("  found with F1 >= 0.5, by distance: " + ", ".join(
        f"{d} pc {sum(v)}/{len(v)}" for d, v in sorted(by_distance.items())))
    print("  reliability (p >= 0.05): " + ", ".join(
        f"{p:.2f}->{o:.2f} (n={n})" for p, o, n in zip(
            result["mean_probability"], result["observed_member_fraction"],
            result["rows_per_probability_bin"], strict=True) if p is not None)
          + f"; ECE {result['expected_calibration_error']:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared"))
    parser.add_argument("--fields", default="m67,pleiades")
    parser.add_argument("--distances", default=GRID_DISTANCES)
    parser.add_argument("--masses", default=GRID_MASSES)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--methods", default="default,hdbscan-raw")
    parser.add_argument("--modes", default="values,blind")
    args = parser.parse_args()
    pairs = grid_pairs(args.distances, args.masses)
    start = time.perf_counter()
    for name in args.fields.split(","):
        field = load_field(Path(args.shared), name)
        g = np.asarray(field["phot_g_mean_mag"], dtype=float)
        print(f"{name}: {len(field)} rows, G to {np.nanmax(g):.1f}")
        for method in args.methods.split(","):
            for mode in args.modes.split(","):
                injections = run(name, field, method, mode, pairs, args.seeds)
                summarise(f"{name} {method} {mode}", injections)
    print(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
