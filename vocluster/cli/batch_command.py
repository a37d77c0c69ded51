"""`vocluster batch`: membership for a whole cluster list on Dask (files, TAP or HATS)."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from vocluster.errors import InputError


def add_batch_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("clusters", metavar="CLUSTERS",
                        help="a table with a name column (and optionally ra, dec, radius or "
                             "r50, pmra, pmdec, parallax), or a catalogue name (builtin, "
                             "cg2020, hr23) with --select or --all")
    parser.add_argument("--from", dest="source", choices=["tap", "hats", "files"],
                        help="where each cluster's stars come from (default: files with "
                             "--tables, hats with --hats, else tap)")
    parser.add_argument("--hats", metavar="PATH_OR_URL", help="a HATS catalogue of Gaia")
    parser.add_argument("--tables", metavar="DIR", help="one table per cluster, named after it")
    parser.add_argument("--select", nargs="+", metavar="NAME", help="clusters of a catalogue")
    parser.add_argument("--all", action="store_true", help="every cluster of a catalogue")
    _add_engine_arguments(parser, "clusters")


def _add_engine_arguments(parser: argparse.ArgumentParser, items: str) -> None:
    """Where a batch writes, and on which Dask it runs."""
    parser.add_argument("-o", "--output", required=True, metavar="OUTDIR",
                        help="folder for <name>.vot, summary.vot and summary.parquet")
    parser.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                        help="a running Dask scheduler (default: a private one on 127.0.0.1)")
    parser.add_argument("--workers", type=int, help="local Dask workers (default: one per core)")
    parser.add_argument("--redo", action="store_true",
                        help=f"rerun {items} an earlier run of this OUTDIR finished")


def _cluster_list(args: argparse.Namespace, config, resolver):
    from vocluster.batch import clusters_from_table, complete_from_catalogue, select_from_catalogue
    from vocluster.core.known_clusters import known_clusters, lookup_cluster
    from vocluster.io.files import input_format, read_table
    from vocluster.vo.clusters import fetch_catalogue

    if Path(args.clusters).exists():
        if args.select or args.all:
            raise InputError("--select and --all pick from a catalogue; CLUSTERS is a table")
        clusters = clusters_from_table(read_table(args.clusters, input_format(args.input_format)))
        return clusters if args.tables else complete_from_catalogue(clusters, resolver.lookup)
    name = args.clusters
    if name != "builtin" and name not in config.catalogues:
        raise InputError(f"CLUSTERS {name!r} is neither a file nor a catalogue (builtin, "
                         f"{', '.join(sorted(config.catalogues))})")
    if not args.select and not args.all:
        raise InputError(f"pick clusters of {name} with --select NAME... or --all")
    catalogue = known_clusters() if name == "builtin" else fetch_catalogue(
        name, config=config, refresh=args.refresh)
    return select_from_catalogue(catalogue, None if args.all else args.select,
                                 lambda n: lookup_cluster(n, catalogue))


def _source(args: argparse.Namespace, config, options):
    from vocluster.batch import FileTables, HatsCones, TapCones

    kind = args.source or ("files" if args.tables else "hats" if args.hats else "tap")
    if kind == "files":
        if not args.tables or not Path(args.tables).is_dir():
            raise InputError("--from files needs --tables DIR, an existing folder")
        return FileTables(Path(args.tables))
    if kind == "hats":
        if not args.hats:
            raise InputError("--from hats needs --hats PATH_OR_URL")
        return HatsCones(args.hats)
    return TapCones(config, release=args.release or "dr3", cuts=options.cuts,
                    refresh=args.refresh, max_rows=args.max_rows)


def add_classify_batch_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("manifest", metavar="MANIFEST",
                        help="a table of image sets: name, catalog (candidate table) and "
                             "images (band FITS files in the model's order, split by ';'); "
                             "relative paths are from the manifest's folder")
    parser.add_argument("--model", default="vocluster-sim-starcnet", help="name or path")
    parser.add_argument("--threshold", type=float, help="is_cluster = cluster_prob >= T")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                        help="auto: each worker's GPU when it has one")
    _add_engine_arguments(parser, "image sets")


def _run_with_progress(label: str, total: int, run) -> int:
    """Run `run(progress)` under a progress bar; print the counts and each failure."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from vocluster.cli.main import console

    columns = ("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=total)

        def progress(done: int, total: int, row: dict) -> None:
            bar.update(task, completed=done, description=f"{row['name']}: {row['status']}")

        summary = run(progress)
    counts = Counter(summary["status"])
    print(", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
    for row in summary:
        if row["status"] == "failed":  # one unwrapped line each: scripts grep them
            print(f"vocluster: {row['name']}: failed: {row['reason']}", file=sys.stderr)
    return 1 if counts["failed"] else 0


def cmd_batch(args: argparse.Namespace, make_options, make_config, make_resolver) -> int:
    from vocluster.batch import run_batch
    from vocluster.cli.main import console

    if args.target or args.pm or args.plx is not None:
        raise InputError("--target, --pm and --plx are for one cluster; in a batch each row's "
                         "catalogue values come from CLUSTERS")
    options = make_options(args)
    config = make_config(args)
    clusters = _cluster_list(args, config, make_resolver(args, config))
    source = _source(args, config, options)
    console.print(f"{len(clusters)} clusters from {source.describe()} into {args.output}",
                  highlight=False)
    code = _run_with_progress("clusters", len(clusters), lambda progress: run_batch(
        clusters, source, args.output, options, scheduler=args.scheduler,
        workers=args.workers, redo=args.redo, progress=progress))
    print(f"wrote {Path(args.output) / 'summary.vot'} and summary.parquet")
    return code


def cmd_classify_batch(args: argparse.Namespace) -> int:
    from vocluster.batch import image_sets_from_table, run_classify_batch
    from vocluster.io.files import read_table

    manifest = Path(args.manifest)
    image_sets = image_sets_from_table(read_table(manifest), manifest.resolve().parent)
    code = _run_with_progress("image sets", len(image_sets), lambda progress:
                              run_classify_batch(image_sets, args.model, args.output,
                                                 threshold=args.threshold, device=args.device,
                                                 scheduler=args.scheduler,
                                                 workers=args.workers, redo=args.redo,
                                                 progress=progress))
    print(f"wrote {Path(args.output) / 'summary.vot'} and summary.parquet")
    return code
