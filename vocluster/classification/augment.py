"""Batch augmentation on tensors: flips, 90-degree turns, mild rescaling, free rotations.

StarcNet trained with flips, 90-degree rotations and 1.07x rescaling; the PHANGS models
added free rotations. All random draws come from the caller's generator (seed-stable).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from vocluster.classification.choices import AUGMENTATIONS

RESCALE = 1.07


def augment(x: torch.Tensor, kinds: tuple[str, ...], generator: torch.Generator) -> torch.Tensor:
    unknown = set(kinds) - set(AUGMENTATIONS)
    if unknown:
        raise ValueError(f"unknown augmentation {sorted(unknown)}; choose from {AUGMENTATIONS}")
    n = x.shape[0]
    if "flip" in kinds:
        flip = torch.rand(n, generator=generator) < 0.5
        x = torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)
    if "rot90" in kinds:
        turns = torch.randint(0, 4, (n,), generator=generator)
        x = x.clone()
        for k in (1, 2, 3):
            chosen = turns == k
            x[chosen] = torch.rot90(x[chosen], k, dims=(-2, -1))
    if "rescale" in kinds or "rotate" in kinds:
        scale = torch.ones(n)
        angle = torch.zeros(n)
        if "rescale" in kinds:
            scale = torch.exp((torch.rand(n, generator=generator) * 2 - 1) * math.log(RESCALE))
        if "rotate" in kinds:
            angle = torch.rand(n, generator=generator) * 2 * math.pi
        cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
        theta = torch.stack([torch.stack([cos, -sin, torch.zeros(n)], 1),
                             torch.stack([sin, cos, torch.zeros(n)], 1)], 1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection",
                          align_corners=False)
    return x
