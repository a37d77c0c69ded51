"""StampClassifier: a net, its preprocessing and its card, with the scikit-learn API."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from vocluster.classification.card import ModelCard
from vocluster.classification.inference import Predictor
from vocluster.classification.nets import build_net
from vocluster.classification.splits import group_split
from vocluster.classification.training import TrainConfig, TrainHistory, as_training_tensors, train
from vocluster.devices import resolve_device
from vocluster.errors import InputError


class StampClassifier:
    """fit(stamps, labels) / predict / predict_proba on (N, bands, S, S) raw stamps."""

    def __init__(self, card: ModelCard, device: str = "auto", batch_size: int = 256,
                 compile: bool = False, net: torch.nn.Module | None = None) -> None:
        self.card = card
        self.device = device
        self.batch_size = batch_size
        self.compile = compile
        torch.manual_seed(card.training.get("config", {}).get("seed", 0))
        self.net = net if net is not None else build_net(
            card.arch, card.preprocessing.net_channels(len(card.bands)), len(card.classes),
            **card.arch_options)
        self.history: TrainHistory | None = None
        self._predictor: Predictor | None = None

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
            config: TrainConfig | None = None, validation_fraction: float = 0.2,
            checkpoint: Path | None = None, resume: bool = False,
            on_batch: Callable[[int, int, int], None] | None = None) -> StampClassifier:
        """Train on stamps; the validation split keeps `groups` (galaxies, fields) apart."""
        config = config or TrainConfig()
        stamps = self.check_stamps(stamps)
        labels = np.asarray(labels)
        groups = np.zeros(len(labels), int) if groups is None else np.asarray(groups)
        train_idx, val_idx = group_split(groups, validation_fraction, config.seed)
        x = self.card.preprocessing.apply(stamps)
        x, y = as_training_tensors(x, labels, self.card.classes)
        self.history = train(self.net, x[train_idx], y[train_idx], x[val_idx], y[val_idx],
                             config, resolve_device(self.device), checkpoint, resume, on_batch)
        self.card.training = {**self.card.training, "config": config.as_dict(),
                              "n_train": len(train_idx), "n_validation": len(val_idx),
                              "best_epoch": self.history.best_epoch,
                              "epochs_run": len(self.history.epochs)}
        self._predictor = None
        return self

    def predictor(self) -> Predictor:
        if self._predictor is None:
            self._predictor = Predictor(self.net, self.device, compile=self.compile,
                                        batch_size=self.batch_size)
        return self._predictor

    def predict_logits(self, stamps: np.ndarray,
                       progress: Callable[[int], None] | None = None) -> np.ndarray:
        x = self.card.preprocessing.apply(self.check_stamps(stamps))
        return self.predictor().logits(x, progress).numpy()

    def predict_proba(self, stamps: np.ndarray,
                      progress: Callable[[int], None] | None = None) -> np.ndarray:
        logits = torch.from_numpy(self.predict_logits(stamps, progress))
        return torch.softmax(logits, dim=1).numpy()

    def predict(self, stamps: np.ndarray) -> np.ndarray:
        return np.asarray(self.card.classes)[self.predict_proba(stamps).argmax(1)]

    def cluster_probability(self, proba: np.ndarray) -> np.ndarray:
        """Summed probability of the cluster classes ({1, 2} for StarcNet's scheme)."""
        columns = [self.card.classes.index(c) for c in self.card.cluster_classes]
        return proba[:, columns].sum(1)
