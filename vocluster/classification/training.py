"""Training loop: class-balanced batches, augmentation, Adam, early stopping, checkpoints.

Deterministic for a seed on one device: every random draw (initial weights, sampling,
augmentation, dropout) comes from seeded generators, and a checkpoint stores them, so a
resumed run continues exactly where the interrupted one stopped. Checkpoints are written
to a temporary file and renamed, so an interrupt never leaves a broken one.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vocluster.classification.augment import augment
from vocluster.errors import InputError


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 30
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 6                     # epochs without a better validation loss
    augmentations: tuple[str, ...] = ("flip", "rot90", "rescale")
    balanced: bool = True                 # draw classes equally often
    seed: int = 0

    def __post_init__(self) -> None:
        """Refuse settings that cannot train, in the settings' own names."""
        for name, low in (("epochs", 1), ("batch_size", 1), ("patience", 0)):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < low:
                raise InputError(f"{name} must be an integer >= {low}, not {getattr(self, name)!r}")
        if not self.learning_rate > 0 or not np.isfinite(self.learning_rate):
            raise InputError(f"learning_rate must be > 0, not {self.learning_rate!r}")
        if not self.weight_decay >= 0 or not np.isfinite(self.weight_decay):
            raise InputError(f"weight_decay must be >= 0, not {self.weight_decay!r}")

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainHistory:
    epochs: list[dict] = field(default_factory=list)
    best_epoch: int = -1
    best_loss: float = float("inf")
    stopped_early: bool = False


def _balanced_draw(labels: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    counts = torch.bincount(labels).float()
    weights = (1.0 / counts.clamp_min(1))[labels]
    return torch.multinomial(weights, n, replacement=True, generator=generator)


def _save_atomic(payload: dict, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def evaluate_loss(net: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int,
                  device: torch.device) -> tuple[float, float]:
    """Mean cross-entropy and accuracy, without augmentation."""
    net.eval()
    total, correct = 0.0, 0
    with torch.inference_mode():
        for start in range(0, len(x), batch_size):
            xb, yb = x[start:start + batch_size].to(device), y[start:start + batch_size].to(device)
            logits = net(xb)
            total += float(F.cross_entropy(logits, yb, reduction="sum"))
            correct += int((logits.argmax(1) == yb).sum())
    return total / max(len(x), 1), correct / max(len(x), 1)


def train(net: nn.Module, x_train: torch.Tensor, y_train: torch.Tensor, x_val: torch.Tensor,
          y_val: torch.Tensor, config: TrainConfig, device: torch.device,
          checkpoint: Path | None = None, resume: bool = False,
          on_batch: Callable[[int, int, int], None] | None = None) -> TrainHistory:
    """Fit `net` in place; it ends with the weights of the best validation epoch.

    `on_batch(epoch, batch, n_batches)` reports progress. Dropout draws from torch's
    global generator, seeded here inside a fork so the caller's random state is left
    as it was."""
    cuda = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(config.seed)
        return _train(net, x_train, y_train, x_val, y_val, config, device, checkpoint, resume,
                      on_batch)


def _train(net: nn.Module, x_train: torch.Tensor, y_train: torch.Tensor, x_val: torch.Tensor,
           y_val: torch.Tensor, config: TrainConfig, device: torch.device,
           checkpoint: Path | None, resume: bool,
           on_batch: Callable[[int, int, int], None] | None) -> TrainHistory:
    generator = torch.Generator().manual_seed(config.seed)
    net.to(device)
    optimiser = torch.optim.Adam(net.parameters(), lr=config.learning_rate,
                                 weight_decay=config.weight_decay)
    history = TrainHistory()
    best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
    start_epoch = 0
    if resume and checkpoint is not None and checkpoint.exists():
        saved = torch.load(checkpoint, map_location=device, weights_only=False)
        net.load_state_dict(saved["model"])
        optimiser.load_state_dict(saved["optimiser"])
        generator.set_state(saved["generator"])
        torch.set_rng_state(saved["torch_rng"])
        best_state, start_epoch = saved["best_state"], saved["epoch"] + 1
        history = TrainHistory(**saved["history"])
    n_batches = max(1, len(x_train) // config.batch_size)
    for epoch in range(start_epoch, config.epochs):
        if history.stopped_early:
            break
        net.train()
        if config.balanced:
            order = _balanced_draw(y_train, n_batches * config.batch_size, generator)
        else:
            order = torch.randperm(len(x_train), generator=generator)
        running = 0.0
        for batch in range(n_batches):
            index = order[batch * config.batch_size:(batch + 1) * config.batch_size]
            xb = augment(x_train[index], config.augmentations, generator).to(device)
            loss = F.cross_entropy(net(xb), y_train[index].to(device))
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            running += loss.item()
            if on_batch:
                on_batch(epoch, batch, n_batches)
        val_loss, val_acc = evaluate_loss(net, x_val, y_val, 256, device)
        history.epochs.append({"epoch": epoch, "train_loss": running / n_batches,
                               "val_loss": val_loss, "val_accuracy": val_acc})
        if val_loss < history.best_loss:
            history.best_loss, history.best_epoch = val_loss, epoch
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        elif epoch - history.best_epoch >= config.patience:
            history.stopped_early = True
        if checkpoint is not None:
            _save_atomic({"model": net.state_dict(), "optimiser": optimiser.state_dict(),
                          "generator": generator.get_state(), "torch_rng": torch.get_rng_state(),
                          "best_state": best_state, "epoch": epoch,
                          "history": asdict(history)}, checkpoint)
    net.load_state_dict(best_state)
    net.eval()
    return history


def as_training_tensors(x: np.ndarray | torch.Tensor, labels: np.ndarray,
                        classes: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """Labels (e.g. 1-4) become class indices 0..K-1 in the model's class order."""
    lookup = {c: i for i, c in enumerate(classes)}
    unknown = sorted(set(np.unique(labels).tolist()) - set(lookup))
    if unknown:
        raise ValueError(f"labels {unknown} are not among the model's classes {list(classes)}")
    y = torch.tensor([lookup[int(v)] for v in labels], dtype=torch.long)
    return torch.as_tensor(x, dtype=torch.float32), y
