"""Keras 3 classifiers (`.keras` files) run as torch modules, for users who trained in Keras.

Keras is an optional extra (`pip install vocluster[keras]`); it runs on its torch backend,
so the model shares devices and batching with the native nets. Keras images are
channels-last: stamps are permuted on the way in. A final softmax is undone (log of the
probabilities) so that the rest of vocluster can treat every net's output as logits.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from vocluster.errors import InputError


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras
    except ImportError as exc:
        raise InputError("this model needs Keras 3: pip install 'vocluster[keras]'") from exc
    if keras.backend.backend() != "torch":
        raise InputError(f"Keras runs on {keras.backend.backend()}; set KERAS_BACKEND=torch "
                         "before anything imports keras")
    return keras


class KerasNet(nn.Module):
    def __init__(self, path: str | Path) -> None:
        super().__init__()
        keras = _keras()
        try:
            self.model = keras.saving.load_model(str(path), compile=False)
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot load Keras model {path}: {exc}") from exc
        last = self.model.layers[-1]
        activation = getattr(getattr(last, "activation", None), "__name__", "")
        self.outputs_probabilities = activation == "softmax"
        shape = self.model.input_shape
        self.in_channels = int(shape[-1])
        self.num_classes = int(self.model.output_shape[-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(x.permute(0, 2, 3, 1).contiguous())
        out = torch.as_tensor(out)
        return torch.log(out.clamp_min(1e-12)) if self.outputs_probabilities else out
