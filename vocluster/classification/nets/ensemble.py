"""A seed ensemble: several nets of one architecture, trained alike from different seeds,
whose logits are averaged.

On a few hundred real stamps one net's result depends on its seed: on the PAndAS
stamps (grouped 5-fold CV by field, benchmarks/pandas_m31.py, on an H100) the small-data
recipe's mean with the morphology model scored cluster F1 0.844-0.883 over ten seeds
(median 0.864); as a three-net ensemble, 0.859-0.880 over seven (median 0.872). Averaging
is the plainest variance reduction there is; it costs one training per member.
"""

from __future__ import annotations

import torch
from torch import nn


class NetEnsemble(nn.Module):
    """`members` applied to the same input; the output is the mean of their logits."""

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([member(x) for member in self.members]).mean(0)

    def gradcam_layers(self) -> dict[str, nn.Module]:
        """Every member's Grad-CAM layers, keyed `member.layer` (the maps are summed)."""
        return {f"{index}.{key}": layer for index, member in enumerate(self.members)
                for key, layer in member.gradcam_layers().items()}
