"""The clusters of a batch: a user's table of names (and values), or a published catalogue.

A survey list is messy: names with spaces, rows without positions, catalogue values for
some clusters and not others, a name nobody knows. Every row becomes a `BatchCluster`,
and a row that cannot be run carries its reason (`problem`) instead of stopping the
batch: the summary then says, per row, what was wrong.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np
from astropy.table import Table

from vocluster.atomic import safe_stem
from vocluster.core.known_clusters import KnownCluster
from vocluster.errors import InputError
from vocluster.membership.pipeline import Target
from vocluster.vo.gaia import DEFAULT_RADIUS_FACTOR

#: what each quantity may be called in a user's list (VizieR's names, the catalogues')
COLUMN_NAMES = {
    "name": ("name", "cluster", "Name", "Cluster", "NAME"),
    "ra": ("ra", "RA_ICRS", "RAdeg", "RA", "_RA"),
    "dec": ("dec", "DE_ICRS", "DEdeg", "DEC", "Dec", "_DE"),
    "radius": ("radius", "cone_radius"),
    "r50": ("r50", "r50deg"),
    "pmra": ("pmra", "pmRA", "pmRA*"),
    "pmdec": ("pmdec", "pmDE"),
    "parallax": ("parallax", "plx", "Plx"),
}


Row = TypeVar("Row")  # a frozen dataclass with name, key and problem


@dataclass(frozen=True)
class BatchCluster:
    """One row of a batch: where its data is and, if known, its catalogue values."""

    name: str
    ra: float | None = None
    dec: float | None = None
    radius: float | None = None
    pmra: float | None = None
    pmdec: float | None = None
    parallax: float | None = None
    problem: str | None = None

    @property
    def key(self) -> str:
        """The name as a file name: `Melotte 22` -> `Melotte_22`."""
        return safe_stem(self.name)

    @property
    def target(self) -> Target | None:
        """Catalogue values when the row has all three; None runs the cluster blind."""
        if None in (self.pmra, self.pmdec, self.parallax):
            return None
        return Target(self.name, self.pmra, self.pmdec, self.parallax, self.ra, self.dec)

    @property
    def has_cone(self) -> bool:
        return None not in (self.ra, self.dec, self.radius)


def from_known(cluster: KnownCluster, radius_factor: float = DEFAULT_RADIUS_FACTOR
               ) -> BatchCluster:
    return BatchCluster(cluster.name, cluster.ra, cluster.dec, radius_factor * cluster.r50,
                        cluster.pmra, cluster.pmdec, cluster.parallax)


def _column(table: Table, quantity: str) -> str | None:
    return next((c for c in COLUMN_NAMES[quantity] if c in table.colnames), None)


def _value(table: Table, column: str | None, row: int) -> float | None:
    if column is None:
        return None
    value = table[column][row]
    if np.ma.is_masked(value):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def clusters_from_table(table: Table, radius_factor: float = DEFAULT_RADIUS_FACTOR
                        ) -> list[BatchCluster]:
    """A user's list: a name column and, optionally, ra, dec, radius (or r50) and values."""
    name_column = _column(table, "name")
    if name_column is None:
        raise InputError(f"the cluster list has no name column (looked for "
                         f"{', '.join(COLUMN_NAMES['name'])}; it has {', '.join(table.colnames)})")
    columns = {q: _column(table, q) for q in COLUMN_NAMES if q != "name"}
    out = []
    for row in range(len(table)):
        values = {q: _value(table, c, row) for q, c in columns.items()}
        r50 = values.pop("r50")
        if values["radius"] is None and r50 is not None:
            values["radius"] = radius_factor * r50
        value = table[name_column][row]
        name = "" if np.ma.is_masked(value) else str(value).strip()
        problem = None if name else f"row {row + 1} has no name"
        out.append(BatchCluster(name or f"row {row + 1}", **values, problem=problem))
    return mark_duplicates(out)


def mark_duplicates(items: list[Row]) -> list[Row]:
    """Two rows writing one output file would overwrite each other: the later is refused."""
    seen: set[str] = set()
    out = []
    for item in items:
        if item.key in seen and item.problem is None:
            item = replace(item, problem=f"duplicate name {item.name!r}")
        seen.add(item.key)
        out.append(item)
    return out


def complete_from_catalogue(clusters: Sequence[BatchCluster],
                            lookup: Callable[[str], KnownCluster],
                            radius_factor: float = DEFAULT_RADIUS_FACTOR
                            ) -> list[BatchCluster]:
    """Rows without a cone take position and radius (not values) from the catalogue.

    A user who gave a name alone wants that cluster's Gaia cone; the catalogue's values
    are not added, so a row without them runs blind, as the user's list says.
    """
    out = []
    for cluster in clusters:
        if cluster.problem is None and not cluster.has_cone:
            try:
                known = lookup(cluster.name)
            except InputError as exc:
                cluster = replace(cluster, problem=str(exc))
            else:
                cluster = replace(cluster, ra=cluster.ra if cluster.ra is not None else known.ra,
                                  dec=cluster.dec if cluster.dec is not None else known.dec,
                                  radius=cluster.radius or radius_factor * known.r50)
        out.append(cluster)
    return out


def select_from_catalogue(catalogue: Sequence[KnownCluster], names: Sequence[str] | None,
                          lookup: Callable[[str], KnownCluster],
                          radius_factor: float = DEFAULT_RADIUS_FACTOR) -> list[BatchCluster]:
    """`--select NAME...` from a catalogue (unknown names become failed rows), or all of it."""
    if names is None:
        return mark_duplicates([from_known(c, radius_factor) for c in catalogue])
    out = []
    for name in names:
        try:
            out.append(from_known(lookup(name), radius_factor))
        except InputError as exc:
            out.append(BatchCluster(name, problem=str(exc)))
    return mark_duplicates(out)
