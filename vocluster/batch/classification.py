"""The classification job of a batch: one image set (its band images and the candidates
on them) in, the candidates' classes out.

A survey of cluster candidates (PHANGS-HST's ~200,000 over tens of galaxies and
pointings) splits naturally by image set: the stamps of one set are cut from the same
band images, so one task per set reads each image once. The classifier is loaded once
per worker process and kept, and it takes the worker's GPU when there is one
(`device="auto"`), so a mixed cluster of CPU and GPU workers needs no setting.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from astropy.table import Table

from vocluster.atomic import safe_stem
from vocluster.batch.cluster_list import COLUMN_NAMES, mark_duplicates
from vocluster.batch.runner import Progress, run_items
from vocluster.batch.task import output_path
from vocluster.devices import resolve_device
from vocluster.errors import InputError
from vocluster.io.files import read_table, write_table


@dataclass(frozen=True)
class ImageSet:
    """Band images (in the model's band order) and the candidate table to classify on them."""

    name: str
    catalog: str
    images: tuple[str, ...]
    problem: str | None = None

    @property
    def key(self) -> str:
        return safe_stem(self.name)


def image_sets_from_table(table: Table, base: Path) -> list[ImageSet]:
    """A manifest: `name`, `catalog` (a table path) and `images` (paths split by `;`,
    `,` or spaces), relative paths taken from the manifest's own folder."""
    missing = [c for c in ("catalog", "images") if c not in table.colnames]
    name_column = next((c for c in COLUMN_NAMES["name"] if c in table.colnames), None)
    if missing or name_column is None:
        raise InputError(f"the image-set manifest needs name, catalog and images columns; it "
                         f"has {', '.join(table.colnames)}")
    sets = []
    for row in range(len(table)):
        name, catalog, images = (str(table[c][row]).strip() if not np.ma.is_masked(
            table[c][row]) else "" for c in (name_column, "catalog", "images"))
        paths = tuple(str(base / p) for p in re.split(r"[;,\s]+", images) if p)
        problem = None if name and catalog and paths else \
            f"row {row + 1} lacks a name, a catalog or images"
        sets.append(ImageSet(name or f"row {row + 1}", str(base / catalog), paths, problem))
    return mark_duplicates(sets)


def image_set_row(image_set: ImageSet, status: str, reason: str = "") -> dict:
    return {"name": image_set.name, "status": status, "reason": reason, "n_rows": 0,
            "n_classified": 0, "n_clusters": 0, "n_off_image": 0, "n_flagged": 0,
            "model": "", "device": "", "output": "", "time_s": float("nan"), "worker": ""}


def classify_image_set(image_set: ImageSet, outdir: Path, model: str,
                       threshold: float | None, device: str) -> dict:
    from vocluster.classification.pipeline import classify_table
    from vocluster.classification.store import shared_classifier
    from vocluster.io.images import read_band_images
    from vocluster.vo.services import load_config

    table = read_table(image_set.catalog)
    images = read_band_images(list(image_set.images))
    # loaded once per worker process
    classifier = shared_classifier(model, device, load_config().model_dirs)
    result = classify_table(table, images, classifier, threshold)
    output = write_table(result, output_path(outdir, image_set), overwrite=True)
    row = image_set_row(image_set, "ok")
    row.update({"n_rows": len(result), "n_classified": result.meta["vocluster_classified"],
                "n_clusters": int(np.asarray(result["is_cluster"].filled(False)).sum()),
                "n_off_image": result.meta["vocluster_unclassified"],
                "n_flagged": int((np.asarray(result["stamp_flag"]) != 0).sum()),
                "model": classifier.card.name, "device": str(resolve_device(classifier.device)),
                "output": output.name})
    return row


def run_classify_batch(image_sets: Sequence[ImageSet], model: str, outdir: str | Path, *,
                       threshold: float | None = None, device: str = "auto",
                       scheduler: str | None = None, workers: int | None = None,
                       redo: bool = False, progress: Progress | None = None) -> Table:
    """Classify the candidates of every image set on Dask; return the summary table.

    Parameters
    ----------
    image_sets
        From `image_sets_from_table`; sets with a `problem` are reported failed.
    model
        A shipped model name or a model folder, as `vocluster classify --model` takes.
    outdir
        Receives `<name>.vot` (the candidates with class columns), `status/<name>.json`,
        `summary.vot` and `summary.parquet`.
    threshold, device
        As for `vocluster classify`; `device="auto"` uses a worker's GPU when it has one.
    scheduler, workers, redo, progress
        As for `membership.run_batch`.
    """
    work = partial(classify_image_set, model=model, threshold=threshold, device=device)
    return run_items(image_sets, work, image_set_row, outdir, units={"time_s": "s"},
                     scheduler=scheduler, workers=workers, redo=redo, progress=progress)
