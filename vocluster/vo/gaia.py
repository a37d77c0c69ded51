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

    `service` (URL or `pyvo.dal.TAPService`) overrides the configured mirror URL;
    the table and column names still come from the configured mirror mapping.
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
    """The Gaia cone around a catalogue cluster (default 1.5 x its r50)."""
    radius = cluster_cone_radius(cluster, radius, radius_factor)
    table = fetch_gaia_cone(cluster.ra, cluster.dec, radius, **kwargs)
    table.meta["vocluster_cluster"] = cluster.name
    return table
