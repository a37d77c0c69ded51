"""`vocluster validate`: the completeness and contamination of a membership run."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from astropy.table import Table

from vocluster.errors import VoclusterError


def add_validate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="the field table the membership run used")
    parser.add_argument("-o", "--output", required=True, metavar="REPORT",
                        help="report stem: writes REPORT.json, REPORT.vot and REPORT.png")
    parser.add_argument("--n-clusters", type=int, default=10, help="injections (default 10)")
    parser.add_argument("--distance", nargs=2, type=float, default=(300.0, 5000.0),
                        metavar=("MIN", "MAX"), help="pc, log-uniform (default 300 5000)")
    parser.add_argument("--mass", nargs=2, type=float, default=(200.0, 3000.0),
                        metavar=("MIN", "MAX"), help="solar masses (default 200 3000)")
    parser.add_argument("--like-found", action="store_true",
                        help="inject clones of the cluster that `members` finds in the field")
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")


def _outputs(stem: str) -> dict[str, Path]:
    base = Path(stem)
    if base.suffix in (".json", ".vot", ".png"):
        base = base.with_suffix("")
    return {kind: base.with_suffix(f".{kind}") for kind in ("json", "vot", "png")}


def cmd_validate(args: argparse.Namespace, options, progress) -> int:
    from vocluster.cli.main import _check_writable
    from vocluster.core.sample import load_sample
    from vocluster.membership.validation import (
        like_found,
        plan_injections,
        report,
        validate,
    )
    from vocluster.pipeline import find_members
    from vocluster.reports.validation_plots import plot_validation
    from vocluster.sources.files import read_table, write_table, write_text

    outputs = _outputs(args.output)
    _check_writable([str(p) for p in outputs.values()], args.overwrite)
    if args.n_clusters < 1:
        raise VoclusterError("--n-clusters must be at least 1")
    field = read_table(args.input)
    sample = load_sample(field, require_positions=True, release=options.release)
    progress("finding the real cluster first, to inject away from it")
    try:
        real = find_members(field, options)
    except VoclusterError as exc:
        if args.like_found:
            raise VoclusterError(f"--like-found needs a cluster in the field: {exc}") from exc
        real = None
    if args.like_found:
        specs = like_found(sample, real, args.n_clusters, args.seed)
    else:
        specs = plan_injections(sample, args.n_clusters, tuple(args.distance), tuple(args.mass),
                                args.seed, real)
    injections = validate(field, options, specs, args.seed,
                          progress=lambda k, n: progress(f"injection {k}/{n} done"))
    result = report(injections)
    settings = {"input": args.input, "method": options.method,
                "target": "catalogue values" if options.target else "blind",
                "like_found": args.like_found, "seed": args.seed}
    write_text(json.dumps({"settings": settings, **result}, indent=2) + "\n",
               outputs["json"], args.overwrite)
    clusters = Table(rows=result["clusters"])
    clusters.meta.update({f"vocluster_validate_{k}": v for k, v in settings.items()})
    clusters.meta["vocluster_validate_expected_calibration_error"] = result[
        "expected_calibration_error"]
    write_table(clusters, outputs["vot"], overwrite=args.overwrite)
    plot_validation(result, outputs["png"], title=Path(args.input).name, overwrite=args.overwrite)
    print(f"{result['n_found']} of {result['n_injections']} injected clusters found; "
          f"median F1 {result['median_f1']:.3f}; expected calibration error "
          f"{result['expected_calibration_error']:.3f} (rows with p >= 0.05)")
    print("wrote " + ", ".join(str(p) for p in outputs.values()))
    return 0
