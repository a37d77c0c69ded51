"""Cluster catalogues: the built-in table offline, published catalogues over VizieR TAP.

A published catalogue is fetched whole once (a few thousand rows), cached, and
then used like the built-in table: by name, alias or nearest position.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyvo
from astropy.table import Table

from vocluster.core.known_clusters import (
    KnownCluster,
    known_clusters,
    lookup_cluster,
    nearest_cluster,
    suggestions,
)
from vocluster.errors import InputError, TapError
from vocluster.vo.adql import catalogue_query
from vocluster.vo.cache import QueryCache
from vocluster.vo.services import CATALOGUE_REFERENCES, Config, load_config
from vocluster.vo.tap import TapClient


def fetch_catalogue(name: str | None = None, *, config: Config | None = None,
                    service: str | pyvo.dal.TAPService | None = None, refresh: bool = False,
                    progress: Callable[[str], None] | None = None) -> tuple[KnownCluster, ...]:
    """Every cluster of a published catalogue (`cg2020`, `hr23` or one from the config)."""
    config = config or load_config()
    name = name or config.catalogue
    mapping = config.catalogue_mapping(name)
    client = TapClient(service or config.catalogue_url, config.tap,
                       QueryCache(config.cache_dir), progress)
    table = mapping.with_our_names(client.query(catalogue_query(mapping), refresh=refresh))
    return clusters_from_table(table, CATALOGUE_REFERENCES.get(name, name))


def clusters_from_table(table: Table, reference: str) -> tuple[KnownCluster, ...]:
    """Rows with a name, position, radius and astrometry; incomplete rows are skipped."""
    numeric = ("ra", "dec", "r50", "pmra", "pmdec", "parallax")
    missing = [c for c in ("name", *numeric) if c not in table.colnames]
    if missing:
        raise InputError(f"catalogue table lacks column(s) {', '.join(missing)}")
    values = {c: np.ma.filled(np.ma.asarray(table[c], dtype=float), np.nan) for c in numeric}
    complete = np.all([np.isfinite(v) for v in values.values()], axis=0)
    return tuple(
        KnownCluster(name=str(table["name"][i]).strip(), aliases=(),
                     **{c: float(values[c][i]) for c in numeric}, reference=reference)
        for i in np.flatnonzero(complete)
    )


class ClusterResolver:
    """Names and positions to clusters: built-in first, then the published catalogue."""

    def __init__(self, config: Config | None = None, catalogue: str | None = None,
                 offline: bool = False, refresh: bool = False,
                 progress: Callable[[str], None] | None = None):
        self.config = config or load_config()
        self.catalogue = catalogue
        self.offline = offline
        self.refresh = refresh
        self.progress = progress
        self._remote: tuple[KnownCluster, ...] | None = None

    def remote(self) -> tuple[KnownCluster, ...]:
        if self._remote is None:
            self._remote = fetch_catalogue(self.catalogue, config=self.config,
                                           refresh=self.refresh, progress=self.progress)
        return self._remote

    def lookup(self, name: str) -> KnownCluster:
        try:
            return lookup_cluster(name)
        except InputError:
            if self.offline:
                raise
        try:
            remote = self.remote()
        except TapError as exc:
            raise InputError(f"unknown cluster {name!r} in the built-in table"
                             f"{suggestions(name, known_clusters())}; the catalogue could not "
                             f"be fetched ({exc}); --offline skips it") from exc
        try:
            return lookup_cluster(name, remote)
        except InputError:
            pass
        hint = suggestions(name, known_clusters() + remote)
        raise InputError(f"unknown cluster {name!r}: not in the built-in table nor in "
                         f"{self.catalogue or self.config.catalogue}{hint}")

    def nearest(self, ra: float, dec: float,
                max_separation: float | None = None) -> tuple[KnownCluster, float] | None:
        clusters = known_clusters() if self.offline else self.remote()
        return nearest_cluster(ra, dec, clusters, max_separation)
