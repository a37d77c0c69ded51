"""Survey scale: membership for a whole list of clusters on Dask distributed.

The flow is `cluster_list` (which clusters, with what values) -> `data` (each one's
stars: files, TAP or HATS) -> `task` (one cluster on a worker) -> `runner` (the Dask
tasks, the resumable outputs) on the `engine` (a loopback or a real Dask cluster).
"""

from vocluster.batch.cluster_list import (
    BatchCluster,
    clusters_from_table,
    complete_from_catalogue,
    select_from_catalogue,
)
from vocluster.batch.data import FileTables, HatsCones, TapCones
from vocluster.batch.runner import run_batch

__all__ = ["BatchCluster", "FileTables", "HatsCones", "TapCones", "clusters_from_table",
           "complete_from_catalogue", "run_batch", "select_from_catalogue"]
