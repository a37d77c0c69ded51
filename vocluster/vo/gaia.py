"""Gaia cones over TAP: around a position or a named cluster, on any mirror."""

from __future__ import annotations

from collections.abc import Callable

import pyvo
from astropy.table import Table

from vocluster.core.known_clusters import KnownCluster
from vocluster.core.quality import QualityCuts
from vocluster.vo.adql import gaia_cone_query
from vocluster.vo.cache import QueryCache
from vocluster.vo.services import Config, load_config
from vocluster.vo.tap import TapClient

#: the DEC thesis took cones of 1.5 x the catalogue radius
DEFAULT_RADIUS_FACTOR = 1.5


def gaia_client(config: Config, service: str | pyvo.dal.TAPService | None = None,
                progress: Callable[[str], None] | None = None) -> TapClient:
    return TapClient(service or config.gaia_service_url(), config.tap,
                     QueryCache(config.cache_dir), progress)


def fetch_gaia_cone(ra: float, dec: float, radius: float, *, release: str = "dr3",
                    cuts: QualityCuts = QualityCuts(),
                    service: str | pyvo.dal.TAPService | None = None,
                    config: Config | None = None, refresh: bool = False,
                    max_rows: int | None = None,
                    progress: Callable[[str], None] | None = None) -> Table:
    """All sources of a Gaia release within `radius` deg, with archive column names.

    Parameters
    ----------
    ra, dec : float
        Cone centre, ICRS degrees.
    radius : float
        Cone radius in degrees.
    release : {"dr3", "dr2"}
        Gaia release; the table name comes from the configured mirror.
    cuts : QualityCuts
        RUWE, parallax S/N and magnitude cuts, applied in the query.
    service : str or pyvo.dal.TAPService, optional
        Overrides the configured mirror URL; the table and column names still come
        from the configured mirror mapping.
    config : Config, optional
        Mirror, cache and TAP settings; `load_config()` when omitted.
    refresh : bool
        Query again even when the cache holds this cone.
    max_rows : int, optional
        Refuse (never truncate) a result larger than this.
    progress : callable, optional
        Called with one-line progress messages.

    Returns
    -------
    astropy.table.Table
        Archive column names (`pmra`, `parallax_error`, ...), units and UCDs, with the
        release, cone and mirror in `meta`.

    Raises
    ------
    TapError
        The service failed after its retries; `TruncatedResultError` when it cut
        the result at its row limit.

    Examples
    --------
    >>> from vocluster.vo.gaia import fetch_gaia_cone
    >>> cone = fetch_gaia_cone(56.75, 24.12, 0.5)  # doctest: +SKIP
    """
    config = config or load_config()
    mapping = config.gaia_mapping(release)
    query = gaia_cone_query(mapping, ra, dec, radius, cuts)
    client = gaia_client(config, service, progress)
    table = mapping.with_our_names(client.query(query, refresh=refresh, max_rows=max_rows))
    table.meta.update({"vocluster_gaia_release": release,
                       "vocluster_cone": f"{ra} {dec} {radius}",
                       "vocluster_gaia_mirror": config.gaia_mirror})
    return table


def cluster_cone_radius(cluster: KnownCluster, radius: float | None = None,
                        factor: float = DEFAULT_RADIUS_FACTOR) -> float:
    return radius if radius is not None else factor * cluster.r50


def fetch_cluster_cone(cluster: KnownCluster, *, radius: float | None = None,
                       radius_factor: float = DEFAULT_RADIUS_FACTOR, **kwargs) -> Table:
    """The Gaia cone around a catalogue cluster (default 1.5 x its r50, as in the 2020
    thesis: enough field around the cluster for the field model).

    Parameters
    ----------
    cluster : KnownCluster
        From `lookup_cluster` or `ClusterResolver.lookup`.
    radius : float, optional
        Cone radius in degrees; overrides `radius_factor`.
    radius_factor : float
        Multiple of the cluster's r50.
    **kwargs
        As for `fetch_gaia_cone` (release, cuts, service, config, refresh, ...).

    Returns
    -------
    astropy.table.Table
        As `fetch_gaia_cone`, with `meta["vocluster_cluster"]` set.

    Examples
    --------
    >>> from vocluster.core.known_clusters import lookup_cluster
    >>> from vocluster.vo.gaia import fetch_cluster_cone
    >>> cone = fetch_cluster_cone(lookup_cluster("M67"), release="dr3")  # doctest: +SKIP
    """
    radius = cluster_cone_radius(cluster, radius, radius_factor)
    table = fetch_gaia_cone(cluster.ra, cluster.dec, radius, **kwargs)
    table.meta["vocluster_cluster"] = cluster.name
    return table
