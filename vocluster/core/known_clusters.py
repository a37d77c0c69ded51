"""The small built-in table of well-known clusters, usable offline.

Values are the published centre, r50 radius, proper motion and parallax (mostly
Cantat-Gaudin et al. 2020); the data-source layer can fetch the full catalogues.
"""

from __future__ import annotations

import csv
import difflib
import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import numpy as np
from astropy.coordinates import angular_separation

from vocluster.errors import InputError


@dataclass(frozen=True)
class KnownCluster:
    name: str
    aliases: tuple[str, ...]
    ra: float
    dec: float
    r50: float
    pmra: float
    pmdec: float
    parallax: float
    reference: str


def normalise_name(name: str) -> str:
    """`NGC_2682`, `ngc2682` and `NGC 2682` all become `ngc2682`."""
    return re.sub(r"[\s_\-]+", "", name.strip().lower())


@cache
def known_clusters() -> tuple[KnownCluster, ...]:
    text = files("vocluster.data").joinpath("known_clusters.csv").read_text()
    rows = csv.DictReader(text.splitlines())
    return tuple(
        KnownCluster(
            name=row["name"], aliases=tuple(a for a in row["aliases"].split(";") if a),
            ra=float(row["ra"]), dec=float(row["dec"]), r50=float(row["r50"]),
            pmra=float(row["pmra"]), pmdec=float(row["pmdec"]),
            parallax=float(row["parallax"]), reference=row["reference"],
        )
        for row in rows
    )


def _index(clusters: tuple[KnownCluster, ...]) -> dict[str, KnownCluster]:
    index: dict[str, KnownCluster] = {}
    for cluster in clusters:
        for label in (cluster.name, *cluster.aliases):
            index[normalise_name(label)] = cluster
    expanded = {}
    for key, cluster in index.items():  # "mel22" for "melotte22"
        expanded[key.replace("melotte", "mel")] = cluster
    return {**expanded, **index}


def lookup_cluster(name: str, clusters: tuple[KnownCluster, ...] | None = None) -> KnownCluster:
    """Find a cluster by name or alias; unknown names get close suggestions."""
    clusters = known_clusters() if clusters is None else clusters
    index = _index(clusters)
    key = normalise_name(name)
    if key in index:
        return index[key]
    raise InputError(f"unknown cluster {name!r}{suggestions(name, clusters)}")


def suggestions(name: str, clusters: tuple[KnownCluster, ...]) -> str:
    """'; did you mean X, Y?' for the closest names, or ''."""
    labels = {normalise_name(lbl): lbl for c in clusters for lbl in (*c.aliases, c.name)}
    close = difflib.get_close_matches(normalise_name(name), list(labels), n=3, cutoff=0.5)
    return f"; did you mean {', '.join(labels[c] for c in close)}?" if close else ""


def nearest_cluster(ra: float, dec: float, clusters: tuple[KnownCluster, ...] | None = None,
                    max_separation: float | None = None) -> tuple[KnownCluster, float] | None:
    """The catalogue cluster whose centre is nearest to (ra, dec), with the separation
    in degrees; None when none lies within `max_separation` deg (e.g. an Aladin click
    on empty sky)."""
    clusters = known_clusters() if clusters is None else clusters
    if not clusters:
        return None
    # astropy's Vincenty formula: exact at small separations, where arccos loses digits
    separation = np.degrees(angular_separation(
        np.radians(ra), np.radians(dec), np.radians([c.ra for c in clusters]),
        np.radians([c.dec for c in clusters])))
    best = int(np.argmin(separation))
    if max_separation is not None and separation[best] > max_separation:
        return None
    return clusters[best], float(separation[best])
