"""Where a batch's Gaia tables come from: files, a TAP service, or a HATS catalogue.

Each source is a small picklable object, built once on the client and shipped to the
workers, whose `table(cluster)` returns that cluster's stars as an astropy Table or
raises `InputError` with the reason (no file of that name, an empty cone), and whose
`size_hint(cluster)` guesses the work before it is read (the file's size, the cone's
area), so that the largest clusters start first and a small one ends the batch, not a
large one left to run alone on one worker. The three
are interchangeable so that a survey run can move from a folder of downloads to a
HATS copy of Gaia without changing anything else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from astropy.table import Table

from vocluster.batch.cluster_list import BatchCluster
from vocluster.core.quality import QualityCuts
from vocluster.errors import InputError
from vocluster.io.files import FORMATS, read_table
from vocluster.vo.gaia import fetch_gaia_cone
from vocluster.vo.services import Config


def _cone(cluster: BatchCluster) -> tuple[float, float, float]:
    if not cluster.has_cone:
        raise InputError(f"{cluster.name}: no position and radius to fetch its cone from")
    return cluster.ra, cluster.dec, cluster.radius  # type: ignore[return-value]


class _Cones:
    """What the two cone sources share: the work they expect, and the empty-cone words."""

    def describe(self) -> str:
        raise NotImplementedError

    def size_hint(self, cluster: BatchCluster) -> float:
        """How much work a cone is likely to be, before it is read: its area."""
        return (cluster.radius or 0.0) ** 2

    def no_stars(self, cluster: BatchCluster, detail: str = "") -> InputError:
        ra, dec, radius = _cone(cluster)
        return InputError(f"no stars in the cone of {cluster.name} ({ra:.4f}, {dec:.4f}, "
                          f"r = {radius:.3f} deg) in {self.describe()}{detail}")

    def non_empty(self, table: Table, cluster: BatchCluster) -> Table:
        if len(table) == 0:
            raise self.no_stars(cluster)
        return table


@dataclass(frozen=True)
class FileTables:
    """One table per cluster in a folder, named after it (`Melotte_22.vot`, `NGC 2682.fits`)."""

    directory: Path

    def describe(self) -> str:
        return f"tables in {self.directory}"

    def _path(self, cluster: BatchCluster) -> Path | None:
        for stem in dict.fromkeys((cluster.key, cluster.name)):
            for suffix in FORMATS:
                path = self.directory / f"{stem}{suffix}"
                if path.is_file():
                    return path
        return None

    def size_hint(self, cluster: BatchCluster) -> float:
        path = self._path(cluster)
        return float(path.stat().st_size) if path else 0.0

    def table(self, cluster: BatchCluster) -> Table:
        path = self._path(cluster)
        if path is not None:
            table = read_table(path)
            if len(table) == 0:
                raise InputError(f"the table for {cluster.name} ({path}) has no rows")
            return table
        raise InputError(f"no table for {cluster.name} in {self.directory} (looked for "
                         f"{cluster.key}.vot, .fits, .csv, .ecsv, .parquet, .tsv)")


@dataclass(frozen=True)
class TapCones(_Cones):
    """The cluster's Gaia cone over TAP, through the same cache as `vocluster fetch`."""

    config: Config
    release: str = "dr3"
    cuts: QualityCuts = QualityCuts()
    refresh: bool = False
    max_rows: int | None = None

    def describe(self) -> str:
        return f"Gaia {self.release} over TAP at {self.config.gaia_service_url()}"

    def table(self, cluster: BatchCluster) -> Table:
        ra, dec, radius = _cone(cluster)
        table = fetch_gaia_cone(ra, dec, radius, release=self.release, cuts=self.cuts,
                                config=self.config, refresh=self.refresh,
                                max_rows=self.max_rows)
        return self.non_empty(table, cluster)


@dataclass(frozen=True)
class HatsCones(_Cones):
    """The cone read from a HATS catalogue through LSDB: only the HEALPix partitions the
    cone touches are opened, which is what makes the whole of Gaia usable from one
    machine or a cluster of them. `location` is a local path or a URL (fsspec)."""

    location: str
    columns: tuple[str, ...] | None = None
    storage_options: dict = field(default_factory=dict)

    def describe(self) -> str:
        return f"the HATS catalogue {self.location}"

    def table(self, cluster: BatchCluster) -> Table:
        import dask
        import lsdb

        ra, dec, radius = _cone(cluster)
        try:
            catalog = lsdb.open_catalog(
                self.location, search_filter=lsdb.ConeSearch(ra, dec, radius * 3600.0),
                columns=list(self.columns) if self.columns else None,
                storage_options=self.storage_options or None)
        except FileNotFoundError as exc:
            raise InputError(f"cannot open the HATS catalogue {self.location}: {exc}") from exc
        except ValueError as exc:  # lsdb: the cone overlaps no partition of the catalogue
            raise self.no_stars(cluster, f": {exc}") from exc
        # One task per cluster already: read its few partitions here, not as nested tasks.
        with dask.config.set(scheduler="synchronous"):
            frame = catalog.compute()
        frame = frame.reset_index(drop=True)
        table = Table.from_pandas(frame[[c for c in frame.columns if not c.startswith("_")]])
        return self.non_empty(table, cluster)
