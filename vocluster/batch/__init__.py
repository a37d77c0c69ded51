"""Survey scale: membership for a whole list of clusters, and classification of many
image sets, on Dask distributed.

The flow is `cluster_list` (which clusters, with what values) -> `data` (each one's
stars: files, TAP or HATS) -> `membership` (one cluster on a worker); or
`classification` (one image set on a worker); both run by `runner` (the Dask tasks,
the resumable outputs, the summary) on the `engine` (a loopback or a real Dask cluster).
"""

from vocluster.batch.classification import ImageSet, image_sets_from_table, run_classify_batch
from vocluster.batch.cluster_list import (
    BatchCluster,
    clusters_from_table,
    complete_from_catalogue,
    select_from_catalogue,
)
from vocluster.batch.data import FileTables, HatsCones, TapCones
from vocluster.batch.membership import run_batch

__all__ = ["BatchCluster", "FileTables", "HatsCones", "ImageSet", "TapCones",
           "clusters_from_table", "complete_from_catalogue", "image_sets_from_table",
           "run_batch", "run_classify_batch", "select_from_catalogue"]
