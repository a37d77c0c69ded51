"""`vocluster validate`: the completeness and contamination of a membership run."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


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
    from vocluster.datasets.validation import run_validation, summary_line
    from vocluster.io.files import input_format, read_table, write_table, write_text
    from vocluster.reports.validation_plots import plot_validation

    outputs = _outputs(args.output)
    _check_writable([str(p) for p in outputs.values()], args.overwrite)
    field = read_table(args.input, input_format(args.input_format))
    result, clusters = run_validation(field, options, args.n_clusters, tuple(args.distance),
                                      tuple(args.mass), args.like_found, args.seed, progress)
    settings = {"input": args.input, "method": options.method,
                "target": "catalogue values" if options.target else "blind",
                "like_found": args.like_found, "seed": args.seed}
    write_text(json.dumps({"settings": settings, **result}, indent=2) + "\n",
               outputs["json"], args.overwrite)
    clusters.meta.update({f"vocluster_validate_{k}": v for k, v in settings.items()})
    write_table(clusters, outputs["vot"], overwrite=args.overwrite)
    plot_validation(result, outputs["png"], title=Path(args.input).name, overwrite=args.overwrite)
    print(summary_line(result))
    print("wrote " + ", ".join(str(p) for p in outputs.values()))
    return 0
