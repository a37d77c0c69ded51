"""`vocluster` command line: thin adapter from arguments and files to the pure pipeline."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from rich.console import Console

from vocluster import __version__
from vocluster.atomic import refuse_existing
from vocluster.cli.batch_command import (
    add_batch_arguments,
    add_classify_batch_arguments,
    cmd_batch,
    cmd_classify_batch,
)
from vocluster.cli.classify_commands import add_commands as add_classification_commands
from vocluster.cli.validate_command import add_validate_arguments, cmd_validate
from vocluster.errors import OutputError, VoclusterError
from vocluster.membership import METHODS
from vocluster.reports import figure_format

console = Console(stderr=True)


def _add_membership_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--method", default="auto", choices=["auto", *METHODS],
                        help="clustering method (auto = best measured, the calibrated mixture)")
    parser.add_argument("--features", default="astrometric",
                        help="feature set (astrometric, astrometric+position, thesis) or a "
                             "comma-separated list")
    parser.add_argument("--target", metavar="NAME", help="known cluster that is the target")
    parser.add_argument("--pm", nargs=2, type=float, metavar=("PMRA", "PMDEC"),
                        help="target proper motion (mas/yr), with --plx")
    parser.add_argument("--plx", type=float, metavar="PLX", help="target parallax (mas)")
    parser.add_argument("--threshold", type=float, default=0.5,
                        help="is_member = member_prob >= threshold (default 0.5)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                        help="torch device for dec")
    _add_cut_options(parser)
    parser.add_argument("--quantile-filter", nargs="*", type=float, metavar="Q",
                        help="thesis filter on members; no values means 0.10 0.90")
    parser.add_argument("--no-calibrate", action="store_true",
                        help="report the method's raw soft probabilities, not the mixture's")
    parser.add_argument("--no-sky", action="store_true",
                        help="leave the sky (Plummer vs footprint) term out of the mixture")
    parser.add_argument("--no-magnitude-field", action="store_true",
                        help="one field density for all magnitudes, not one given G")
    parser.add_argument("--no-colour", action="store_true",
                        help="leave BP-RP out of the mixture (by default members lie on one "
                             "sequence in G vs BP-RP, field stars anywhere)")
    parser.add_argument("--candidate", type=int, default=1, metavar="N",
                        help="blind: take the N-th most significant detected cluster "
                             "(default 1; the others are listed in the output metadata)")
    parser.add_argument("--columns", metavar="Q=COL,...",
                        help="map odd column names, e.g. pmra=mu_alpha,parallax=plx_mas")
    parser.add_argument("--format", dest="input_format",
                        choices=["votable", "fits", "csv", "ecsv", "parquet", "tsv"],
                        help="input table format (default: from the file name)")
    parser.add_argument("--force", action="store_true",
                        help="return members even when they are not a significant cluster")


def _add_cut_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--max-ruwe", type=float, help="quality cut: RUWE <= value")
    parser.add_argument("--min-parallax-snr", type=float, help="quality cut: parallax/error")
    parser.add_argument("--max-g", "--gmax", type=float, dest="max_g",
                        help="quality cut: G <= value")


def _add_fetch_options(parser: argparse.ArgumentParser) -> None:
    """Where a Gaia cone comes from when vocluster fetches it over TAP."""
    parser.add_argument("--ra", type=float, help="cone centre RA (deg); for members with "
                        "--pm/--plx, also the cluster's position")
    parser.add_argument("--dec", type=float, help="cone centre Dec (deg); see --ra")
    parser.add_argument("--radius", type=float,
                        help="cone radius (deg); default 1.5 x the catalogue r50 for a cluster")
    _add_service_options(parser)


def _add_service_options(parser: argparse.ArgumentParser) -> None:
    """Which Gaia release, mirror and cluster catalogue a fetch uses."""
    parser.add_argument("--release", choices=["dr3", "dr2"],
                        help="Gaia release: the one fetched (default dr3), and the error model "
                             "for tables without error columns (default: what the table says, "
                             "else dr3)")
    parser.add_argument("--tap-url", help="TAP service URL (default: the mirror's own)")
    parser.add_argument("--mirror", help="table/column mapping: esa, vizier or one from the "
                                         "config file (default esa)")
    parser.add_argument("--catalogue", help="published catalogue for names not built in "
                                            "(cg2020, hr23)")
    parser.add_argument("--offline", action="store_true",
                        help="only the built-in cluster table, no catalogue query")
    parser.add_argument("--refresh", action="store_true", help="ignore cached results")
    parser.add_argument("--max-rows", type=int, help="refuse cones with more rows than this")


def _config(args: argparse.Namespace):
    from dataclasses import replace

    from vocluster.vo.services import load_config

    config = load_config()
    overrides = {}
    if getattr(args, "mirror", None):
        overrides["gaia_mirror"] = args.mirror
    if getattr(args, "tap_url", None):
        overrides["gaia_url"] = args.tap_url
    return replace(config, **overrides)


def _resolver(args: argparse.Namespace, config):
    from vocluster.vo.clusters import ClusterResolver

    return ClusterResolver(config, catalogue=getattr(args, "catalogue", None),
                           offline=getattr(args, "offline", True),
                           refresh=getattr(args, "refresh", False), progress=_progress)


def _progress(message: str) -> None:
    console.print(f"[dim]{message}[/dim]")


def _fetch_cone(args: argparse.Namespace, name: str | None):
    """The Gaia cone for `fetch` and input-less `members`: a named cluster or ra/dec/radius."""
    from vocluster.core.quality import QualityCuts
    from vocluster.vo.gaia import fetch_cluster_cone, fetch_gaia_cone

    config = _config(args)
    cuts = QualityCuts(args.max_ruwe, args.min_parallax_snr, args.max_g)
    common = {"release": args.release or "dr3", "cuts": cuts, "config": config,
              "refresh": args.refresh, "max_rows": args.max_rows, "progress": _progress}
    if name:
        if args.ra is not None or args.dec is not None:
            raise VoclusterError("give a cluster name or --ra/--dec, not both")
        cluster = _resolver(args, config).lookup(name)
        return fetch_cluster_cone(cluster, radius=args.radius, **common)
    if args.ra is None or args.dec is None or args.radius is None:
        raise VoclusterError("give a cluster NAME, or --ra, --dec and --radius")
    return fetch_gaia_cone(args.ra, args.dec, args.radius, **common)


def _options(args: argparse.Namespace):
    from dataclasses import replace

    from vocluster.core.columns import parse_column_mapping
    from vocluster.core.quality import QualityCuts
    from vocluster.membership.pipeline import MembershipOptions, resolve_target

    quantile = None
    if args.quantile_filter is not None:
        quantile = tuple(args.quantile_filter) if args.quantile_filter else (0.10, 0.90)
        if len(quantile) != 2 or not 0 <= quantile[0] < quantile[1] <= 1:
            raise VoclusterError("--quantile-filter takes two quantiles LO < HI in [0, 1]")
    if (args.pm is None) != (args.plx is None):  # the library says it in its own terms
        raise VoclusterError("--pm PMRA PMDEC and --plx PLX go together (catalogue values)")
    if args.target and args.pm is not None:
        raise VoclusterError("give either --target NAME or --pm/--plx, not both")
    # The resolver (pyvo, the configuration) only when a name is to be looked up.
    target = resolve_target(args.target, args.pm, args.plx,
                            lookup=lambda name: _resolver(args, _config(args)).lookup(name))
    if target is not None and target.name is None and None not in (args.ra, args.dec):
        # Catalogue values with a position: only a group there is the cluster.
        target = replace(target, ra=args.ra, dec=args.dec)
    return MembershipOptions(
        method=args.method, features=args.features, target=target,
        threshold=args.threshold, seed=args.seed, device=args.device,
        cuts=QualityCuts(args.max_ruwe, args.min_parallax_snr, args.max_g),
        quantile_filter=quantile, calibrate=not args.no_calibrate, use_sky=not args.no_sky,
        field_by_magnitude=not args.no_magnitude_field, cluster_sequence=not args.no_colour,
        candidate=args.candidate,
        force=args.force, release=getattr(args, "release", None),
        columns=parse_column_mapping(args.columns) if args.columns else None,
    )


def _check_writable(paths: list[str | None], overwrite: bool) -> None:
    """Fail before any work if an output would be clobbered or cannot be written."""
    for path in filter(None, paths):
        target = Path(path)
        if target.is_dir():
            raise OutputError(f"{target} is a folder; give a file name")
        refuse_existing(target, overwrite)
        if not target.parent.is_dir():
            raise OutputError(f"output directory does not exist: {target.parent}")


def _write_outputs(result, output: str, plot: str | None, summary_json: str | None,
                   overwrite: bool, title: str) -> None:
    from vocluster.io.files import write_table, write_text

    write_table(result.table, output, overwrite=overwrite)
    if summary_json:
        payload = {"summary": result.summary.as_dict(), "metadata": result.metadata}
        write_text(json.dumps(payload, indent=2, default=str) + "\n", summary_json, overwrite)
    if plot:
        from vocluster.reports.plots import plot_membership  # matplotlib: 0.4 s to import

        plot_membership(result.table, plot, title=title, overwrite=overwrite)


def cmd_members(args: argparse.Namespace) -> int:
    from vocluster.io.files import input_format, read_table, table_format
    from vocluster.membership.pipeline import find_members

    table_format(args.output)
    if args.plot:
        figure_format(args.plot)
    _check_writable([args.output, args.plot, args.summary_json], args.overwrite)
    options = _options(args)
    if args.input:
        with console.status(f"reading {args.input}"):
            table = read_table(args.input, input_format(args.input_format))
        source = Path(args.input).name
    elif args.target or args.ra is not None:
        table = _fetch_cone(args, args.target)
        source = args.target or f"cone {args.ra} {args.dec}"
    else:
        raise VoclusterError("give an input table, or --target NAME (or --ra/--dec/--radius) "
                             "to fetch the Gaia cone first")
    with console.status(f"finding members of {len(table)} rows with {args.method}"):
        result = find_members(table, options)
    if result.metadata["warnings"] != "none":
        for warning in str(result.metadata["warnings"]).split("; "):
            console.print(f"vocluster: warning: {warning}", highlight=False)
    _write_outputs(result, args.output, args.plot, args.summary_json, args.overwrite,
                   title=f"{source}: {result.metadata['method']}")
    print("\n".join(result.summary.lines()))
    print(f"wrote {args.output}")
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    from vocluster.io.files import table_format, write_table

    table_format(args.output)
    _check_writable([args.output], args.overwrite)
    table = _fetch_cone(args, args.name)
    write_table(table, args.output, overwrite=args.overwrite)
    print(f"wrote {len(table)} rows to {args.output}")
    return 0


def cmd_cache(args: argparse.Namespace) -> int:
    import time

    from vocluster.vo.cache import QueryCache

    cache = QueryCache(_config(args).cache_dir)
    if args.action == "clear":
        older = args.older_than_days * 86400 if args.older_than_days is not None else None
        count, size = cache.clear(older)
        print(f"removed {count} entries ({size / 1e6:.1f} MB) from {cache.directory}")
        return 0
    entries = cache.entries()
    for entry in entries:
        created = time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.created))
        request = " ".join(entry.request.split())[:70]
        print(f"{entry.key[:12]}  {entry.size / 1e6:8.2f} MB  {created}  "
              f"{entry.age_s / 86400:6.1f} d  {entry.kind:8s}  {entry.service}  {request}")
    total = sum(e.size for e in entries)
    print(f"{len(entries)} entries, {total / 1e6:.1f} MB in {cache.directory}")
    return 0


def cmd_images(args: argparse.Namespace) -> int:
    from vocluster.io.files import table_format, write_table
    from vocluster.vo.mast import download_images, find_hst_images

    if args.output:
        table_format(args.output)
        _check_writable([args.output], args.overwrite)
    config = _config(args)
    if args.tap_url:
        from dataclasses import replace
        config = replace(config, mast_url=args.tap_url)
    images = find_hst_images(args.ra, args.dec, args.radius, filters=args.filters or (),
                             instrument=args.instrument, min_calib_level=args.calib_level,
                             config=config, refresh=args.refresh, progress=_progress)
    print(f"{len(images)} HST images within {args.radius} deg")
    if args.download:
        paths = download_images(images, config=config, refresh=args.refresh)
        images["local_path"] = [str(p) for p in paths]
        for row in images:
            print(f"  {row['obs_id']}  {row['instrument_name']}  {row['local_path']}")
    if args.output:
        write_table(images, args.output, overwrite=args.overwrite)
        print(f"wrote {args.output}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import logging
    import signal

    from vocluster.atomic import remove_stale_temporaries
    from vocluster.membership.pipeline import MembershipOptions
    from vocluster.service.daemon import SampDaemon
    from vocluster.service.http import ServiceHTTPServer
    from vocluster.service.tasks import ServiceSettings
    from vocluster.service.urls import default_file_roots, is_loopback_host

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = ServiceSettings(
        results_dir=Path(args.results_dir), allow_remote_urls=args.allow_remote_urls,
        max_table_bytes=int(args.max_table_mb * 1024**2), fetch_timeout=args.fetch_timeout,
        options=MembershipOptions(method=args.method, threshold=args.threshold, seed=args.seed),
        config=_config(args), offline_catalogue=not args.online_catalogue,
        classify_images=tuple(args.images or ()), model=args.model, on_table=args.on_table,
        file_roots=default_file_roots() + tuple(Path(d).resolve()
                                                for d in args.allow_files_under or ()))
    if args.on_table == "classify" and not args.images:
        raise VoclusterError("--on-table classify needs --images (the band images)")
    removed = [path for folder in (settings.results_dir, settings.results_dir / "plots")
               for path in remove_stale_temporaries(folder, (".vot", ".json", ".png"))]
    if removed:
        print(f"removed {len(removed)} temporary file(s) a killed run left in "
              f"{settings.results_dir}", flush=True)
    http_server = None
    if args.http:
        host, _, port = args.http.rpartition(":")
        if not is_loopback_host(host or "127.0.0.1"):
            if not args.allow_remote_clients:
                raise VoclusterError(f"--http {args.http} would serve results and cone search "
                                     f"to other machines, unauthenticated; use 127.0.0.1, or "
                                     f"add --allow-remote-clients")
            print(f"vocluster serve: WARNING: serving HTTP on {args.http}: anyone who can "
                  f"reach it can read every result", file=sys.stderr, flush=True)
        try:
            http_server = ServiceHTTPServer((host or "127.0.0.1", int(port)), settings)
        except (OSError, ValueError) as exc:
            raise VoclusterError(f"cannot serve HTTP on {args.http}: {exc}") from exc
        http_server.start()
        print(f"cone search: {http_server.base_url}/scs?RA=..&DEC=..&SR=..", flush=True)
    daemon = SampDaemon(settings, workers=args.workers, queue_size=args.queue_size,
                        point_at=args.point_at, point_at_radius=args.point_at_radius,
                        url_for=http_server.url_for if http_server else None)
    if http_server:
        http_server.attach(daemon)
        print(f"jobs page: {http_server.base_url}/", flush=True)

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print("vocluster serve: waiting for a SAMP hub (Ctrl-C stops)", flush=True)
    try:
        daemon.serve_forever()
    except KeyboardInterrupt:
        print("stopping: finishing running jobs, answering waiting ones as cancelled, "
              "unregistering", flush=True)
    finally:
        # a second Ctrl-C or SIGTERM must not abandon callers halfway through stopping
        signal.signal(signal.SIGTERM, lambda signum, frame: print("already stopping",
                                                                  flush=True))
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        daemon.stop(cancel_jobs=True)
        if http_server:
            http_server.shutdown()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from vocluster.datasets.synthetic import make_cone, preset
    from vocluster.membership.pipeline import MembershipOptions, find_members

    cluster = preset(args.preset)
    out_dir = Path(args.out_dir)
    outputs = [out_dir / name for name in ("members.vot", "members.png", "summary.json")]
    for output in outputs:
        refuse_existing(output, args.overwrite)
    out_dir.mkdir(parents=True, exist_ok=True)
    with console.status(f"simulating a Gaia cone like {cluster.name}"):
        table = make_cone(cluster, seed=args.seed, n_stars=args.n_stars)
    truth = np.asarray(table["true_member"])
    table.remove_column("true_member")
    print(f"synthetic {cluster.name}-like cone: {len(table)} stars, {truth.sum()} true members "
          f"(seed {args.seed}); no catalogue values given, the method must find the cluster")
    with console.status(f"finding members with {args.method}"):
        result = find_members(table, MembershipOptions(method=args.method, seed=args.seed))
    output = out_dir / "members.vot"
    _write_outputs(result, str(output), str(out_dir / "members.png"),
                   str(out_dir / "summary.json"), args.overwrite,
                   title=f"demo: {cluster.name}-like cone")
    member = np.asarray(result.table["is_member"].filled(False))
    tp = int((member & truth).sum())
    precision = tp / max(member.sum(), 1)
    recall = tp / max(truth.sum(), 1)
    f1 = 2 * tp / max(member.sum() + truth.sum(), 1)
    print("\n".join(result.summary.lines()))
    print(f"true cluster: pmra {cluster.pmra:.3f}  pmdec {cluster.pmdec:.3f}  "
          f"parallax {cluster.parallax:.3f}")
    print(f"recovery vs truth: precision {precision:.3f}  recall {recall:.3f}  F1 {f1:.3f}")
    print(f"wrote {output}, {out_dir / 'members.png'}, {out_dir / 'summary.json'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vocluster", description=__doc__)
    parser.add_argument("--version", action="version", version=f"vocluster {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    members = sub.add_parser("members", help="membership probabilities for a Gaia table")
    members.add_argument("input", nargs="?",
                         help="table file: VOTable, FITS, CSV, ECSV or Parquet; without it the "
                              "Gaia cone of --target (or --ra/--dec/--radius) is fetched")
    members.add_argument("-o", "--output", required=True, help="output table (format by suffix)")
    members.add_argument("--plot", metavar="FILE",
                         help="the four diagnostic panels (.png, .pdf or .svg)")
    members.add_argument("--summary-json", metavar="PATH", help="write the summary as JSON")
    members.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    _add_membership_options(members)
    _add_fetch_options(members)
    members.set_defaults(handler=cmd_members)
    fetch = sub.add_parser("fetch", help="fetch a Gaia cone over TAP")
    fetch.add_argument("name", nargs="?", help="cluster name (or give --ra/--dec/--radius)")
    fetch.add_argument("-o", "--output", required=True, help="output table (format by suffix)")
    fetch.add_argument("--overwrite", action="store_true", help="replace an existing output")
    _add_fetch_options(fetch)
    _add_cut_options(fetch)
    fetch.set_defaults(handler=cmd_fetch)
    images = sub.add_parser("images", help="find (and download) HST images over MAST TAP")
    images.add_argument("--ra", type=float, required=True)
    images.add_argument("--dec", type=float, required=True)
    images.add_argument("--radius", type=float, default=0.05, help="deg (default 0.05)")
    images.add_argument("--filters", nargs="*", help="e.g. F275W F336W F438W F555W F814W")
    images.add_argument("--instrument", help="instrument name prefix, e.g. WFC3 or ACS")
    images.add_argument("--calib-level", type=int, default=2, help="minimum calib_level")
    images.add_argument("--tap-url", help="ObsCore TAP service (default MAST)")
    images.add_argument("--download", action="store_true", help="download into the cache")
    images.add_argument("--refresh", action="store_true", help="ignore cached results")
    images.add_argument("-o", "--output", help="write the image list as a table")
    images.add_argument("--overwrite", action="store_true")
    images.set_defaults(handler=cmd_images)
    serve = sub.add_parser("serve", help="SAMP daemon (and optional cone-search service)")
    serve.add_argument("--http", metavar="HOST:PORT",
                       help="also serve results and Simple Cone Search, e.g. 127.0.0.1:8765")
    serve.add_argument("--results-dir", default="vocluster_results", help="where results go")
    serve.add_argument("--workers", type=int, default=1, help="jobs run at once")
    serve.add_argument("--queue-size", type=int, default=8, help="jobs running or waiting")
    serve.add_argument("--allow-remote-clients", action="store_true",
                       help="allow --http on an address other machines can reach")
    serve.add_argument("--allow-files-under", action="append", metavar="DIR",
                       help="also read file: tables under DIR (default: home and temp only)")
    serve.add_argument("--allow-remote-urls", action="store_true",
                       help="fetch table URLs from hosts other than loopback")
    serve.add_argument("--max-table-mb", type=float, default=200, help="size limit of tables")
    serve.add_argument("--fetch-timeout", type=float, default=30,
                       help="seconds to wait for a table URL")
    serve.add_argument("--point-at", action="store_true",
                       help="run membership when a peer sends coord.pointAt.sky near a cluster")
    serve.add_argument("--point-at-radius", type=float, default=1.0,
                       help="how near (deg) a click must be to a known cluster")
    serve.add_argument("--online-catalogue", action="store_true",
                       help="nearest-cluster lookups use the published catalogue over TAP")
    serve.add_argument("--method", default="auto", choices=["auto", *METHODS])
    serve.add_argument("--threshold", type=float, default=0.5)
    serve.add_argument("--seed", type=int, default=0)
    serve.add_argument("--images", nargs="*", metavar="FITS",
                       help="band images for vocluster.classify (and --on-table classify)")
    serve.add_argument("--model", default="vocluster-sim-starcnet",
                       help="classifier for vocluster.classify (name or path)")
    serve.add_argument("--on-table", choices=["members", "classify", "validate"],
                       default="members",
                       help="what a table sent from TOPCAT runs (default members)")
    serve.add_argument("--tap-url", help="Gaia TAP service for cones")
    serve.add_argument("--mirror", help="Gaia table/column mapping")
    serve.set_defaults(handler=cmd_serve)
    cache = sub.add_parser("cache", help="list or clear the query/download cache")
    cache.add_argument("action", choices=["list", "clear"])
    cache.add_argument("--older-than-days", type=float, help="clear only older entries")
    cache.set_defaults(handler=cmd_cache)
    demo = sub.add_parser("demo", help="offline demo on a synthetic cone with known truth")
    demo.add_argument("--preset", default="NGC 2632", help="synthetic cluster preset")
    demo.add_argument("--n-stars", type=int, default=None, help="rows in the cone")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--method", default="auto", choices=["auto", *METHODS])
    demo.add_argument("--out-dir", default="demo_output", help="where results go")
    demo.add_argument("--overwrite", action="store_true", help="replace an earlier demo's files")
    demo.set_defaults(handler=cmd_demo)
    validate = sub.add_parser("validate", help="inject simulated clusters into a field and "
                              "measure the completeness and contamination of a membership run")
    add_validate_arguments(validate)
    _add_membership_options(validate)
    validate.add_argument("--release", choices=["dr3", "dr2"],
                          help="error model for tables without error columns")
    validate.set_defaults(handler=lambda args: cmd_validate(args, _options(args), _progress))
    batch = sub.add_parser("batch", help="membership for a list of clusters, on Dask")
    add_batch_arguments(batch)
    _add_membership_options(batch)
    _add_service_options(batch)
    batch.set_defaults(handler=lambda args: cmd_batch(args, _options, _config, _resolver))
    classify_batch = sub.add_parser("classify-batch",
                                    help="classify the candidates of many image sets, on Dask")
    add_classify_batch_arguments(classify_batch)
    classify_batch.set_defaults(handler=cmd_classify_batch)
    add_classification_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    try:
        return args.handler(args)
    except VoclusterError as exc:
        return _fail(str(exc))
    except KeyError as exc:  # unknown preset names
        return _fail(str(exc.args[0]))
    except KeyboardInterrupt:
        return _fail("interrupted; no partial outputs were left", code=130)
    except OSError as exc:  # a full disk, a read-only or vanished folder: said, not traced
        where = f": {exc.filename}" if exc.filename else ""
        return _fail(f"{exc.strerror or exc}{where}")


def _fail(message: str, code: int = 2) -> int:
    """One line on stderr, never wrapped (scripts grep it), and a non-zero exit code."""
    print(f"vocluster: error: {' '.join(message.split())}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
