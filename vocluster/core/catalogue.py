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


def _index() -> dict[str, KnownCluster]:
    index: dict[str, KnownCluster] = {}
    for cluster in known_clusters():
        for label in (cluster.name, *cluster.aliases):
            index[normalise_name(label)] = cluster
    expanded = {}
    for key, cluster in index.items():  # "mel22" for "melotte22"
        expanded[key.replace("melotte", "mel")] = cluster
    return {**expanded, **index}


def lookup_cluster(name: str) -> KnownCluster:
    """Find a cluster by name or alias; unknown names get close suggestions."""
    index = _index()
    key = normalise_name(name)
    if key in index:
        return index[key]
    labels = {normalise_name(lbl): lbl for c in known_clusters() for lbl in (c.name, *c.aliases)}
    close = difflib.get_close_matches(key, list(labels), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(labels[c] for c in close)}?" if close else ""
    known = ", ".join(c.name for c in known_clusters())
    raise InputError(f"unknown cluster {name!r}{hint} (built-in: {known})")
