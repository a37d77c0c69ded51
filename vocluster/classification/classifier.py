"""StampClassifier: a net, its preprocessing and its card, with the scikit-learn API.

A card with a `morphology_weight` makes the classifier the weighted mean of the net and
the morphology model (classification.morphology): on the PAndAS stamps (grouped 5-fold
by field, benchmarks/pandas_m31.py) the mean scored cluster F1 0.86 against the net's
0.81, with held-out probabilities calibrated to ECE 0.04 against 0.07. The net sees the
stamp's centre, the trees three scales of measured shape and lumpiness: their errors are
different enough for the mean to beat either's spread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from vocluster.classification.card import ModelCard
from vocluster.classification.inference import Predictor
from vocluster.classification.morphology import MorphologyClassifier, MorphologyModel
from vocluster.classification.nets import NetEnsemble, build_net
from vocluster.classification.splits import group_split
from vocluster.classification.training import TrainConfig, TrainHistory, as_training_tensors, train
from vocluster.devices import resolve_device
from vocluster.errors import InputError


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """Temperature scaling (Guo et al. 2017): the T minimising the validation NLL of
    softmax(logits / T). A net trained to its lowest validation loss on a few hundred
    stamps is over- or under-confident; one scalar fixes that without moving its ranking
    (so its accuracy and threshold-free metrics stay as they are)."""
    from scipy.optimize import minimize_scalar

    logits_t = torch.from_numpy(np.asarray(logits, dtype=np.float64))
    target = torch.from_numpy(np.asarray(labels, dtype=np.int64))

    def nll(log_t: float) -> float:
        return float(torch.nn.functional.cross_entropy(logits_t / np.exp(log_t), target))

    best = minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(best.x))


def _member_path(checkpoint: Path | None, member: int) -> Path | None:
    """An ensemble member's own checkpoint file (the first keeps the name given)."""
    if checkpoint is None or member == 0:
        return checkpoint
    return checkpoint.with_name(f"{checkpoint.stem}.member{member}{checkpoint.suffix}")


def _counting_on(on_batch: Callable[[int, int, int], None] | None, epochs_before: int
                 ) -> Callable[[int, int, int], None] | None:
    """Progress of an ensemble member, its epochs counted after those of the members
    before it (one bar for the whole ensemble)."""
    if on_batch is None or not epochs_before:
        return on_batch
    return lambda epoch, batch, n_batches: on_batch(epochs_before + epoch, batch, n_batches)


def _one_or_all(values: list[int]) -> int | list[int]:
    """A single net's figure, or every ensemble member's."""
    return values[0] if len(values) == 1 else values


class StampClassifier:
    """fit(stamps, labels) / predict / predict_proba on (N, bands, S, S) raw stamps.

    The training settings (`config`: epochs, learning rate, augmentations, seed;
    `validation_fraction`) are given here, as scikit-learn has it, so that `fit` takes
    only data. The net's initial weights come from `config.seed` without touching torch's
    global random state. After `fit`, `history_` holds the per-epoch losses (of an
    ensemble's first member).
    """

    def __init__(self, card: ModelCard, device: str = "auto", batch_size: int = 256,
                 compile: bool = False, net: torch.nn.Module | None = None,
                 config: TrainConfig | None = None, validation_fraction: float = 0.2) -> None:
        if not isinstance(card.ensemble, int) or card.ensemble < 1:
            raise InputError(f"ensemble must be an integer >= 1, not {card.ensemble!r}")
        self.card = card
        self.device = device
        self.batch_size = batch_size
        self.compile = compile
        self.config = config
        self.validation_fraction = validation_fraction
        seed = config.seed if config is not None else card.training.get("config", {}).get(
            "seed", 0)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.net = net if net is not None else build_net(
                card.arch, card.preprocessing.net_channels(len(card.bands)),
                len(card.classes), members=card.ensemble, **card.arch_options)
        self.history_: TrainHistory | None = None
        self._predictor: Predictor | None = None
        self.morphology: MorphologyModel | None = None  # fitted, or loaded with the weights

    # --- input checks -------------------------------------------------------------------
    def check_stamps(self, stamps: np.ndarray) -> np.ndarray:
        stamps = np.asarray(stamps, dtype=np.float32)
        if stamps.ndim != 4:
            raise InputError(f"stamps must be (N, bands, S, S), got shape {stamps.shape}")
        if stamps.shape[1] != len(self.card.bands):
            raise InputError(f"model {self.card.name} takes {len(self.card.bands)} bands "
                             f"({', '.join(self.card.bands)}), got {stamps.shape[1]}")
        if stamps.shape[-1] != self.card.stamp_size or stamps.shape[-2] != self.card.stamp_size:
            raise InputError(f"model {self.card.name} takes {self.card.stamp_size}-px stamps, "
                             f"got {stamps.shape[-2]} x {stamps.shape[-1]}")
        if not np.isfinite(stamps).all():
            raise InputError("stamps contain NaN or infinite pixels; cut them with "
                             "vocluster.classification.cutouts, which zero-fills and flags them")
        return stamps

    # --- scikit-learn API ---------------------------------------------------------------
    def fit(self, stamps: np.ndarray, labels: np.ndarray, groups: np.ndarray | None = None,
            checkpoint: Path | None = None, resume: bool = False,
            on_batch: Callable[[int, int, int], None] | None = None) -> StampClassifier:
        """Train on stamps; the validation split keeps `groups` (galaxies, fields) apart.

        `checkpoint` is written after every epoch (atomically; an ensemble's later members
        beside it, `NAME.memberK.pt`) and `resume` continues from it exactly;
        `on_batch(epoch, batch, n_batches)` reports progress (an ensemble's epochs
        counted on from member to member). The
        temperature that calibrates the probabilities is fitted on the validation split
        and recorded in the card with the settings.
        """
        config = self.config or TrainConfig()
        stamps = self.check_stamps(stamps)
        labels = np.asarray(labels)
        self._check_morphology_applies()
        groups = np.zeros(len(labels), int) if groups is None else np.asarray(groups)
        train_idx, val_idx = group_split(groups, self.validation_fraction, config.seed)
        x = self.card.preprocessing.apply(stamps)
        x, y = as_training_tensors(x, labels, self.card.classes)
        members = self.net.members if isinstance(self.net, NetEnsemble) else [self.net]
        histories = [train(member, x[train_idx], y[train_idx], x[val_idx], y[val_idx],
                           replace(config, seed=config.seed + k), resolve_device(self.device),
                           _member_path(checkpoint, k), resume,
                           _counting_on(on_batch, k * config.epochs))
                     for k, member in enumerate(members)]  # an ensemble: seeds seed, seed+1..
        self.history_ = histories[0]
        self._predictor = None
        self.card.temperature = 1.0
        if len(val_idx):
            self.card.temperature = fit_temperature(self.predict_logits(stamps[val_idx]),
                                                    y[val_idx].numpy())
        if self.card.morphology_weight:
            is_cluster = np.isin(labels, self.card.cluster_classes)
            self.morphology = MorphologyModel.from_classifier(
                MorphologyClassifier(random_state=config.seed).fit(stamps, is_cluster))
        self.card.training = {**self.card.training, "config": config.as_dict(),
                              "n_train": len(train_idx), "n_validation": len(val_idx),
                              "best_epoch": _one_or_all([h.best_epoch for h in histories]),
                              "epochs_run": _one_or_all([len(h.epochs) for h in histories]),
                              "temperature": round(self.card.temperature, 4)}
        return self

    def _check_morphology_applies(self) -> None:
        """The morphology model measures one band's shape and answers cluster or not."""
        card = self.card
        if not card.morphology_weight:
            return
        if not 0 < card.morphology_weight <= 1:
            raise InputError(f"morphology_weight must be in (0, 1], not {card.morphology_weight}")
        if len(card.bands) != 1 or len(card.classes) != 2 or card.stamp_size < 32:
            raise InputError(f"the morphology model needs single-band stamps of at least 32 "
                             f"px and two classes; model {card.name} has {len(card.bands)} "
                             f"band(s), {card.stamp_size}-px stamps and {len(card.classes)} "
                             f"classes (train it with --no-morphology)")

    def predictor(self) -> Predictor:
        if self._predictor is None:
            self._predictor = Predictor(self.net, self.device, compile=self.compile,
                                        batch_size=self.batch_size)
        return self._predictor

    def predict_logits(self, stamps: np.ndarray,
                       progress: Callable[[int], None] | None = None) -> np.ndarray:
        """The net's logits; averaged over the 8 rotations and flips of each stamp when the
        card asks for test-time augmentation (a cluster has no preferred orientation)."""
        x = self.card.preprocessing.apply(self.check_stamps(stamps))
        if not self.card.test_time_augmentation:
            return self.predictor().logits(x, progress).numpy()
        views = [torch.rot90(x, k, dims=(-2, -1)) for k in range(4)]
        views += [torch.flip(view, dims=(-1,)) for view in views]
        return torch.stack([self.predictor().logits(view.contiguous(), progress)
                            for view in views]).mean(0).numpy()

    def predict_proba(self, stamps: np.ndarray,
                      progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Calibrated class probabilities: softmax(logits / T), T from the validation split,
        then (with a morphology model) its weighted mean with the morphology's."""
        logits = torch.from_numpy(self.predict_logits(stamps, progress))
        proba = torch.softmax(logits / self.card.temperature, dim=1).numpy()
        weight = self.card.morphology_weight
        if not weight:
            return proba
        if self.morphology is None:
            raise InputError(f"model {self.card.name} is a mean with a morphology model, but "
                             f"that model was not fitted or loaded")
        cluster = self.morphology.probability(self.check_stamps(stamps))
        is_cluster_column = np.isin(self.card.classes, self.card.cluster_classes)
        morphology = np.where(is_cluster_column, cluster[:, None], 1.0 - cluster[:, None])
        return (1.0 - weight) * proba + weight * morphology

    def predict(self, stamps: np.ndarray) -> np.ndarray:
        return np.asarray(self.card.classes)[self.predict_proba(stamps).argmax(1)]

    def cluster_probability(self, proba: np.ndarray) -> np.ndarray:
        """Summed probability of the cluster classes ({1, 2} for StarcNet's scheme)."""
        columns = [self.card.classes.index(c) for c in self.card.cluster_classes]
        return proba[:, columns].sum(1)
