"""The work behind every service request: fetch or read a table, find members, write it."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from astropy.table import Table

from vocluster.atomic import safe_stem
from vocluster.errors import InputError
from vocluster.io.files import read_table, write_table
from vocluster.membership.pipeline import MembershipOptions, MembershipResult, Target, find_members
from vocluster.service.urls import (
    DEFAULT_MAX_BYTES,
    check_local_file,
    default_file_roots,
    fetch_to,
)
from vocluster.vo.clusters import ClusterResolver
from vocluster.vo.gaia import fetch_gaia_cone
from vocluster.vo.services import Config, load_config

FORMATS = {"votable": "votable", "fits": "fits"}


@dataclass
class ServiceSettings:
    """What the daemon and the HTTP service were started with."""

    results_dir: Path = field(default_factory=lambda: Path("vocluster_results"))
    allow_remote_urls: bool = False
    max_table_bytes: int = DEFAULT_MAX_BYTES
    max_rows: int = 2_000_000
    fetch_timeout: float = 30.0
    options: MembershipOptions = field(default_factory=MembershipOptions)
    config: Config = field(default_factory=load_config)
    offline_catalogue: bool = True  # nearest-cluster lookups use the built-in table
    classify_images: tuple[str, ...] = ()  # band images for vocluster.classify / table loads
    model: str = "vocluster-sim-starcnet"
    on_table: str = "members"              # what a plain table.load.* runs: members|classify
    file_roots: tuple[Path, ...] = field(default_factory=default_file_roots)


MAX_SAMP_INJECTIONS = 50


@dataclass(frozen=True)
class Outcome:
    """A finished analysis: the result table, a one-line summary, the rows to select."""

    table: Table
    summary: str
    rows: list[int]
    kind: str  # "members" or "classes"


def read_url_table(url: str, fmt: str, settings: ServiceSettings) -> Table:
    """A peer's table, fetched under the URL policy and read as the mtype says."""
    with tempfile.TemporaryDirectory(prefix="vocluster-in-") as tmp:
        path = fetch_to(url, Path(tmp) / "table", allow_remote=settings.allow_remote_urls,
                        max_bytes=settings.max_table_bytes, timeout=settings.fetch_timeout,
                        file_roots=settings.file_roots)
        table = read_table(path, FORMATS[fmt], label=url)
    if len(table) > settings.max_rows:
        raise InputError(f"table has {len(table)} rows, over the limit of {settings.max_rows}")
    return table


def options_with(settings: ServiceSettings, params: dict[str, str]) -> MembershipOptions:
    """Daemon defaults overridden by message parameters (already checked by name)."""
    options = settings.options
    changes: dict[str, object] = {}
    try:
        if "method" in params:
            changes["method"] = str(params["method"])
        if "threshold" in params:
            changes["threshold"] = float(params["threshold"])
        if "seed" in params:
            changes["seed"] = int(params["seed"])
        if "candidate" in params:
            changes["candidate"] = int(params["candidate"])
        if "force" in params:
            changes["force"] = _flag(params["force"])
        values = [k for k in ("pmra", "pmdec", "parallax") if k in params]
        if values:
            if len(values) < 3:
                raise ValueError("pmra, pmdec and parallax go together (catalogue values)")
            if "target" in params:
                raise ValueError("give a target name or pmra/pmdec/parallax, not both")
            changes["target"] = Target("catalogue values",
                                       *(_number(params[k], k) for k in ("pmra", "pmdec",
                                                                         "parallax")))
    except ValueError as exc:
        raise InputError(f"bad parameter value: {exc}") from exc
    if "target" in params:
        changes["target"] = Target.from_known(resolver(settings).lookup(str(params["target"])))
    return replace(options, **changes).check()


def _number(value: object, name: str) -> float:
    number = float(str(value))
    if not np.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return number


def _flag(value: str, name: str = "force") -> bool:
    """SAMP sends strings: "1"/"true"/"yes" and "0"/"false"/"no"."""
    text = str(value).strip().lower()
    if text not in ("1", "true", "yes", "0", "false", "no"):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return text in ("1", "true", "yes")


def resolver(settings: ServiceSettings) -> ClusterResolver:
    return ClusterResolver(settings.config, offline=settings.offline_catalogue)


def cone_members(ra: float, dec: float, radius: float, settings: ServiceSettings,
                 options: MembershipOptions | None = None) -> MembershipResult:
    """The Gaia cone over TAP with members of the nearest known cluster inside it."""
    cone = fetch_gaia_cone(ra, dec, radius, config=settings.config, max_rows=settings.max_rows)
    return find_members(cone, _with_nearest_target(ra, dec, radius, settings, options))


def cone_search(ra: float, dec: float, radius: float, settings: ServiceSettings
                ) -> tuple[Table, str | None]:
    """What a Simple Cone Search answers: the cone's sources with membership columns, or,
    when membership finds no cluster, the sources alone and the reason (SCS 1.03: a
    query that ran is answered with its rows, an empty cone with an empty table)."""
    cone = fetch_gaia_cone(ra, dec, radius, config=settings.config, max_rows=settings.max_rows)
    if len(cone) == 0:
        return cone, None
    try:
        options = _with_nearest_target(ra, dec, radius, settings, None)
        return find_members(cone, options).table, None
    except InputError as exc:  # no significant or bound cluster here: the sources stand
        return cone, f"no membership: {exc}"


def _with_nearest_target(ra: float, dec: float, radius: float, settings: ServiceSettings,
                         options: MembershipOptions | None) -> MembershipOptions:
    options = options or settings.options
    if options.target is None:
        nearest = resolver(settings).nearest(ra, dec, max_separation=radius)
        if nearest is not None:
            options = replace(options, target=Target.from_known(nearest[0]))
    return options


def write_result(table: Table, settings: ServiceSettings, stem: str) -> Path:
    """Atomically write a result VOTable with a unique, readable name."""
    settings.results_dir.mkdir(parents=True, exist_ok=True)
    name = f"{safe_stem(stem)}-{time.strftime('%Y%m%dT%H%M%S')}-{time.monotonic_ns() % 10**6}.vot"
    return write_table(table, settings.results_dir / name)


def true_rows(table: Table, column: str) -> list[int]:
    values = table[column]
    values = values.filled(False) if hasattr(values, "filled") else values
    return [int(i) for i in np.flatnonzero(np.asarray(values))]


def members_outcome(result: MembershipResult) -> Outcome:
    s = result.summary
    n = len(result.table)
    text = (f"{s.n_members} members of {n:,} rows; pmra {s.pmra:.3f} pmdec {s.pmdec:.3f} "
            f"mas/yr, parallax {s.parallax:.3f} mas" if s.n_members
            else f"no members found among {n:,} rows")
    return Outcome(result.table, text, true_rows(result.table, "is_member"), "members")


def validation_outcome(table: Table, options: MembershipOptions, params: dict[str, str],
                       progress: Callable[[str], None]) -> Outcome:
    """`vocluster validate` over SAMP: the per-cluster table goes back, the figures in the
    reply's summary."""
    from vocluster.datasets.validation import run_validation, summary_line

    try:
        n_clusters = int(params.get("n-clusters", 10))
        distance = (float(params.get("distance-min", 300)), float(params.get("distance-max", 5000)))
        mass = (float(params.get("mass-min", 200)), float(params.get("mass-max", 3000)))
        clones = _flag(params.get("like-found", "0"), "like-found")
    except ValueError as exc:
        raise InputError(f"bad parameter value: {exc}") from exc
    if n_clusters > MAX_SAMP_INJECTIONS:
        raise InputError(f"n-clusters is at most {MAX_SAMP_INJECTIONS} over SAMP, got "
                         f"{n_clusters}; run `vocluster validate` for more")
    result, clusters = run_validation(table, options, n_clusters, distance, mass, clones,
                                      options.seed, progress)
    return Outcome(clusters, summary_line(result), [], "validation")


def local_image(reference: str, directory: Path, settings: ServiceSettings) -> Path:
    """An image named by path, file: URL or (loopback) http URL, as a local file."""
    if "://" not in reference and not reference.startswith("file:"):
        return Path(reference)
    return fetch_to(reference, directory / f"band{len(list(directory.iterdir()))}.fits",
                    allow_remote=settings.allow_remote_urls,
                    max_bytes=settings.max_table_bytes * 4, timeout=settings.fetch_timeout,
                    file_roots=settings.file_roots)


def check_sent_images(references: list[str], settings: ServiceSettings) -> None:
    """Image paths a peer sent are held to the file policy (those given to serve are not)."""
    for reference in references:
        if "://" not in reference and not reference.startswith("file:"):
            check_local_file(reference, settings.file_roots, reference)


def classify_outcome(table: Table, images: list[str], model: str, threshold: float | None,
                     settings: ServiceSettings) -> Outcome:
    """Classify the catalogue's positions on the band images with a stored model."""
    from vocluster.classification.pipeline import classify_table
    from vocluster.classification.store import shared_classifier
    from vocluster.io.images import read_band_images

    with tempfile.TemporaryDirectory(prefix="vocluster-img-") as tmp:
        paths = [local_image(ref, Path(tmp), settings) for ref in images]
        bands = read_band_images(paths)
    result = classify_table(table, bands,
                            shared_classifier(model, search=settings.config.model_dirs),
                            threshold)
    rows = true_rows(result, "is_cluster")
    text = (f"{result.meta['vocluster_classified']} classified with {model}, {len(rows)} "
            f"clusters, {result.meta['vocluster_unclassified']} off the images")
    return Outcome(result, text, rows, "classes")
