"""Stamps on disk: folders of PNG/JPEG images (label = folder name, or none for a folder of
stamps to classify) and .npz sets."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from vocluster.atomic import atomic_output
from vocluster.errors import InputError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
# PAndAS names: cutout_<field>_g_ccd_<ccd>_<ra>_<dec>[_dupe].png -> group = field
DEFAULT_GROUP_PATTERN = r"^cutout_([^_]+)_"


@dataclass
class StampSet:
    """Stamps (N, bands, S, S) float32 with label names, groups and where they came from."""

    stamps: np.ndarray
    labels: np.ndarray                   # class names or numbers
    groups: np.ndarray
    sources: list[str] = field(default_factory=list)
    bands: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.bands:  # unnamed: gray, R G B, or numbered bands
            channels = self.stamps.shape[1]
            self.bands = {1: ("gray",), 3: ("R", "G", "B")}.get(
                channels, tuple(f"band{i}" for i in range(channels)))


def _read_image(path: Path, size: int | None = None) -> np.ndarray:
    try:
        with Image.open(path) as image:
            image = image.convert("RGB" if image.mode not in ("L", "I;16", "F") else "F")
            if size and image.size != (size, size):
                image = image.resize((size, size), Image.Resampling.BILINEAR)
            array = np.asarray(image, dtype=np.float32)
    except (OSError, UnidentifiedImageError) as exc:
        raise InputError(f"cannot read image {path}: {exc}") from exc
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def read_stamp_folder(root: str | Path, group_pattern: str = DEFAULT_GROUP_PATTERN,
                      size: int | None = None) -> StampSet:
    """root/<label>/<image>: every image a stamp, its folder its label, its group from the
    file name (first regex group of `group_pattern`, else the folder). Images of other
    sizes are an error unless `size` resizes them all (bilinear)."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"stamp folder not found: {root}")
    pattern = re.compile(group_pattern)
    stamps, labels, groups, sources = [], [], [], []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            stamps.append(_read_image(path, size))
            labels.append(folder.name)
            match = pattern.search(path.name)
            groups.append(match.group(1) if match else folder.name)
            sources.append(str(path))
    if not stamps:
        raise InputError(f"no PNG/JPEG stamps in sub-folders of {root}")
    return StampSet(_stack(stamps, root), np.asarray(labels), np.asarray(groups), sources)


def read_unlabelled_stamps(root: str | Path, size: int | None = None) -> StampSet:
    """Every PNG/JPEG image in `root` (not in sub-folders): stamps to classify, named by
    their files; labels are empty and each stamp is its own group."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"stamp folder not found: {root}")
    paths = sorted(p for p in root.iterdir()
                   if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise InputError(f"no PNG/JPEG stamps in {root}")
    stamps = _stack([_read_image(path, size) for path in paths], root)
    names = [path.name for path in paths]
    return StampSet(stamps, np.full(len(paths), "", dtype=str), np.asarray(names),
                    [str(p) for p in paths])


def _stack(stamps: list[np.ndarray], where: Path) -> np.ndarray:
    shapes = {s.shape for s in stamps}
    if len(shapes) > 1:
        raise InputError(f"stamps in {where} differ in shape: {sorted(shapes)[:3]}; "
                         "give a stamp size to resize them (--resize)")
    return np.stack(stamps)


def read_stamp_table(path: str | Path, size: int | None = None) -> StampSet:
    """A table listing image files (column `file`, relative to the table) with `label`
    and optionally `group` columns."""
    from vocluster.io.files import read_table

    path = Path(path)
    table = read_table(path)
    missing = [c for c in ("file", "label") if c not in table.colnames]
    if missing:
        raise InputError(f"stamp table {path} needs columns file and label; missing "
                         f"{', '.join(missing)}; it has {', '.join(table.colnames)}")
    files = [path.parent / str(name) for name in table["file"]]
    absent = [str(f) for f in files if not f.is_file()]
    if absent:
        raise InputError(f"{len(absent)} image(s) listed in {path} do not exist, e.g. {absent[0]}")
    stamps = _stack([_read_image(f, size) for f in files], path)
    groups = np.asarray(table["group"] if "group" in table.colnames else table["label"])
    return StampSet(stamps, np.asarray(table["label"]), groups, [str(f) for f in files])


def read_npz(path: str | Path) -> StampSet:
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            stamps = data["stamps"].astype(np.float32)
            labels = data["labels"] if "labels" in data else np.zeros(len(stamps), int)
            groups = data["groups"] if "groups" in data else np.zeros(len(stamps), int)
            bands = tuple(str(b) for b in data["bands"]) if "bands" in data else ()
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"cannot read stamps from {path}: {exc}") from exc
    return StampSet(stamps, labels, groups, [str(path)] * len(stamps), bands)


def write_npz(stamp_set: StampSet, path: str | Path, overwrite: bool = False) -> None:
    with atomic_output(path, overwrite) as tmp, tmp.open("wb") as handle:
        np.savez_compressed(handle, stamps=stamp_set.stamps, labels=stamp_set.labels,
                            groups=stamp_set.groups, bands=np.asarray(stamp_set.bands))


def read_stamps(path: str | Path, group_pattern: str = DEFAULT_GROUP_PATTERN,
                size: int | None = None) -> StampSet:
    """A folder of images, a table listing images and labels, or an .npz file."""
    from vocluster.io.files import FORMATS

    path = Path(path)
    if path.suffix == ".npz":
        return read_npz(path)
    if path.suffix.lower() in FORMATS:
        return read_stamp_table(path, size)
    return read_stamp_folder(path, group_pattern, size)


def resize_stamps(stamps: np.ndarray, size: int) -> np.ndarray:
    """(N, bands, S, S) stamps resampled to (N, bands, size, size), bilinear with
    antialiasing (the same resampling `--resize` applies to image files)."""
    import torch

    tensor = torch.from_numpy(np.ascontiguousarray(stamps, dtype=np.float32))
    return torch.nn.functional.interpolate(tensor, size=(size, size), mode="bilinear",
                                           antialias=True, align_corners=False).numpy()
