"""Where models live: a directory per model with `weights.pt` (a plain state_dict),
`card.json`, a rendered `README.md` and, for a mean with a morphology model, its
`morphology.npz` (arrays only, checksummed in the card like the weights); found by name
in the folders the caller names (the configuration's: `$VOCLUSTER_MODELS`, `[models]
dirs`, the user's cache), then among the shipped models, or given by path. No network
and no environment here: published weights are fetched into the cache by
`vocluster.vo.weights`.
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import torch

from vocluster.atomic import atomic_directory, sha256_file
from vocluster.classification.card import STARCNET_CLASS_NAMES, ModelCard
from vocluster.classification.classifier import StampClassifier
from vocluster.classification.morphology import MorphologyModel
from vocluster.classification.preprocessing import STARCNET_PREPROCESSING
from vocluster.errors import InputError

# The shipped models are package data (vocluster/models/<name>/), found the same way in
# a wheel install as in a source checkout.
SHIPPED_MODELS = Path(str(resources.files("vocluster") / "models"))
WEIGHTS, CARD, KERAS_FILE = "weights.pt", "card.json", "model.keras"
MORPHOLOGY = "morphology.npz"  # the morphology model's trees as arrays, no pickle

# Cards for published weights that `vocluster models fetch NAME --url URL` can install.
PUBLISHED = {
    "starcnet": ModelCard(
        name="starcnet", arch="starcnet",
        bands=("F275W", "F336W", "F435W/F438W", "F555W/F606W", "F814W"),
        classes=(1, 2, 3, 4), class_names=STARCNET_CLASS_NAMES,
        preprocessing=STARCNET_PREPROCESSING, pixel_scale_arcsec=0.04, stamp_size=32,
        description="StarcNet (Perez et al. 2021, ApJ 907, 100) trained on LEGUS; "
                    "published accuracy 68.6% (4 classes), 86.0% (cluster vs not).",
        metrics={"published_accuracy_4class": 0.686, "published_accuracy_binary": 0.860}),
}


def model_dirs(search: Sequence[Path] = ()) -> list[Path]:
    """The caller's folders first (a user's model shadows a shipped one), then the shipped."""
    return [*search, SHIPPED_MODELS]


def list_models(search: Sequence[Path] = ()) -> list[tuple[Path, ModelCard]]:
    found = []
    for directory in model_dirs(search):
        for card in sorted(directory.glob(f"*/{CARD}")):
            found.append((card.parent, ModelCard.read(card)))
    return found


def find_model(name_or_path: str, search: Sequence[Path] = ()) -> Path:
    path = Path(name_or_path)
    if path.is_file() and path.name == CARD:
        path = path.parent
    if (path / CARD).is_file():
        return path
    for directory in model_dirs(search):
        if (directory / name_or_path / CARD).is_file():
            return directory / name_or_path
    known = sorted({card.name for _, card in list_models(search)})
    raise InputError(f"no model {name_or_path!r}; known models: {', '.join(known) or 'none'}")


def load_classifier(name_or_path: str, device: str = "auto", compile: bool = False,
                    search: Sequence[Path] = ()) -> StampClassifier:
    """A stored model, ready to classify.

    Parameters
    ----------
    name_or_path : str
        A model name (shipped, or in one of the `search` folders) or a model folder.
    device : {"auto", "cpu", "cuda"}
        Where the net runs; `auto` takes CUDA when there is a GPU.
    compile : bool
        `torch.compile` the net (faster for very large catalogues, seconds to start).
    search : sequence of Path, optional
        Folders of models searched before the shipped ones; the CLI and the services
        pass `Config.model_dirs` (`$VOCLUSTER_MODELS`, then the cache's fetched models).

    Returns
    -------
    StampClassifier
        With the card's preprocessing, temperature and threshold.

    Raises
    ------
    InputError
        No such model, weights that do not match the card's checksum, or weights that
        do not fit the card's architecture.
    """
    directory = find_model(name_or_path, search)
    card = ModelCard.read(directory / CARD)
    weights = directory / (KERAS_FILE if card.arch == "keras" else WEIGHTS)
    if card.weights_sha256 and sha256_file(weights) != card.weights_sha256:
        raise InputError(f"{weights} does not match the checksum in its card; "
                         "the file is damaged or was replaced")
    if card.arch == "keras":
        from vocluster.classification.nets.keras_net import KerasNet

        return StampClassifier(card, device=device, net=KerasNet(weights))
    classifier = StampClassifier(card, device=device, compile=compile)
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
        classifier.net.load_state_dict(state)
    except (OSError, RuntimeError) as exc:
        first = str(exc).splitlines()[0]
        raise InputError(f"cannot load {weights} into {card.arch}: {first}") from exc
    if card.morphology_weight:
        classifier.morphology = _load_morphology(directory / MORPHOLOGY, card)
    return classifier


def _load_morphology(path: Path, card: ModelCard) -> MorphologyModel:
    if not path.is_file():
        raise InputError(f"model {card.name} is a mean with a morphology model, but {path} "
                         f"is missing")
    if card.morphology_sha256 and sha256_file(path) != card.morphology_sha256:
        raise InputError(f"{path} does not match the checksum in its card; "
                         "the file is damaged or was replaced")
    try:
        return MorphologyModel.load(path)
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"cannot read the morphology model {path}: {exc}") from exc


@functools.lru_cache(maxsize=4)
def shared_classifier(name_or_path: str, device: str = "auto",
                      search: tuple[Path, ...] = ()) -> StampClassifier:
    """One loaded classifier per model and device in this process (a server, a Dask
    worker): its weights are read and checked once, not for every request."""
    return load_classifier(name_or_path, device=device, search=search)


def import_keras(path: Path, card: ModelCard, directory: Path, overwrite: bool = False) -> Path:
    """A `.keras` classifier as a vocluster model: the file, its checksum and a card."""
    from vocluster.classification.nets.keras_net import KerasNet

    net = KerasNet(path)
    if net.in_channels != card.preprocessing.net_channels(len(card.bands)):
        raise InputError(f"{path} takes {net.in_channels} channels, the card gives "
                         f"{len(card.bands)} bands")
    if net.num_classes != len(card.classes):
        raise InputError(f"{path} has {net.num_classes} outputs, the card {len(card.classes)} "
                         "classes")
    card.arch = "keras"
    with atomic_directory(directory, overwrite) as tmp:
        shutil.copyfile(path, tmp / KERAS_FILE)
        card.weights_sha256 = sha256_file(tmp / KERAS_FILE)
        write_card(card, tmp)
    return directory


def save_classifier(classifier: StampClassifier, directory: Path,
                    overwrite: bool = False) -> Path:
    """Write weights, card and README into a temporary directory, then rename it."""
    with atomic_directory(directory, overwrite) as tmp:
        torch.save(classifier.net.state_dict(), tmp / WEIGHTS)
        classifier.card.weights_sha256 = sha256_file(tmp / WEIGHTS)
        if classifier.morphology is not None:
            classifier.morphology.save(tmp / MORPHOLOGY)
            classifier.card.morphology_sha256 = sha256_file(tmp / MORPHOLOGY)
        write_card(classifier.card, tmp)
    return directory


def write_card(card: ModelCard, directory: Path) -> None:
    card.write(directory / CARD)
    (directory / "README.md").write_text(card.markdown())
