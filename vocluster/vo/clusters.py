"""Cluster catalogues: the built-in table offline, published catalogues over VizieR TAP,
and SIMBAD (through astroquery) for the names no catalogue spells.

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
from vocluster.vo.simbad import simbad_object
from vocluster.vo.tap import TapClient


def fetch_catalogue(name: str | None = None, *, config: Config | None = None,
                    service: str | pyvo.dal.TAPService | None = None, refresh: bool = False,
                    progress: Callable[[str], None] | None = None) -> tuple[KnownCluster, ...]:
    """Every cluster of a published catalogue, fetched whole once and cached.

    Parameters
    ----------
    name : str, optional
        `cg2020`, `hr23` or one named in the config; the configured default if omitted.
    config : Config, optional
        Catalogue URL, table mappings, cache; `load_config()` when omitted.
    service : str or pyvo.dal.TAPService, optional
        Overrides the configured catalogue URL.
    refresh : bool
        Query again even when the cache holds the catalogue.
    progress : callable, optional
        Called with one-line progress messages.

    Returns
    -------
    tuple of KnownCluster
        The rows with a name, position, r50, proper motion and parallax.

    Examples
    --------
    >>> from vocluster.vo.clusters import fetch_catalogue
    >>> clusters = fetch_catalogue("hr23")  # doctest: +SKIP
    """
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


#: the least separation (deg) accepted between SIMBAD's centre and a catalogue's
SIMBAD_MATCH_MIN_DEG = 0.1


class ClusterResolver:
    """Names and positions to clusters: built-in first, then the published catalogue,
    then SIMBAD for the names no catalogue spells.

    Parameters
    ----------
    config : Config, optional
        Catalogue and SIMBAD URLs, cache; `load_config()` when omitted.
    catalogue : str, optional
        The published catalogue (`cg2020`, `hr23`, ...); the configured one if omitted.
    offline : bool
        Use the built-in table only (no TAP, no SIMBAD).
    refresh : bool
        Fetch the catalogue again even when it is cached.
    progress : callable, optional
        Called with one-line progress messages (and what SIMBAD said).

    Examples
    --------
    >>> from vocluster.vo.clusters import ClusterResolver
    >>> ClusterResolver(offline=True).lookup("Praesepe").name
    'NGC 2632'
    """

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
        """Built-in table, then the published catalogue, then SIMBAD's position of the name."""
        try:
            return lookup_cluster(name)
        except InputError:
            if self.offline:
                raise InputError(f"unknown cluster {name!r} in the built-in table"
                                 f"{suggestions(name, known_clusters())}; offline nothing "
                                 "else is searched: give the cluster's position or catalogue "
                                 "values instead") from None
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
        return self._through_simbad(name, remote)

    def _through_simbad(self, name: str, remote: tuple[KnownCluster, ...]) -> KnownCluster:
        """The catalogue cluster at SIMBAD's position of `name`, or an error naming it.

        The catalogue's centre and SIMBAD's differ by arcminutes for the same
        cluster, so the match may be as far as the cluster's r50 (at least 0.1 deg);
        farther, it is another cluster and the position is all there is.
        """
        where = self.catalogue or self.config.catalogue
        hint = suggestions(name, known_clusters() + remote)
        try:
            found = simbad_object(name, self.config.simbad_url)
        except TapError as exc:
            raise InputError(f"unknown cluster {name!r}: not in the built-in table nor in "
                             f"{where}{hint}, and {exc}") from exc
        if found is None:
            raise InputError(f"unknown cluster {name!r}: not in the built-in table, {where} "
                             f"nor SIMBAD{hint}")
        if not found.is_cluster:
            raise InputError(f"SIMBAD knows {name!r} as {found.main_id}, of type "
                             f"{found.otype!r}, not a star cluster")
        match = nearest_cluster(found.ra, found.dec, known_clusters() + remote)
        if match is not None and match[1] <= max(match[0].r50, SIMBAD_MATCH_MIN_DEG):
            if self.progress:
                self.progress(f"SIMBAD: {name} is {found.main_id} at ({found.ra:.4f}, "
                              f"{found.dec:+.4f}); catalogue cluster {match[0].name} lies "
                              f"{match[1] * 60:.1f} arcmin away")
            return match[0]
        raise InputError(f"SIMBAD places {name!r} ({found.main_id}, {found.otype}) at RA "
                         f"{found.ra:.4f} Dec {found.dec:+.4f}, but no cluster of {where} lies "
                         "within its radius there: give that position (and catalogue values, "
                         "or none to detect the cluster blind)")

    def nearest(self, ra: float, dec: float,
                max_separation: float | None = None) -> tuple[KnownCluster, float] | None:
        clusters = known_clusters() if self.offline else self.remote()
        return nearest_cluster(ra, dec, clusters, max_separation)
