"""StarcNet (Perez et al. 2021, LEGUS) exactly as published, so `starcnet.pth` loads as is.

Three pathways see the 32 x 32 stamp, its central 20 x 20 and its central 11 x 11 (the
crops upsampled back to 32 x 32, nearest neighbour). Each pathway is 7 conv 3x3 (128
filters) + GroupNorm(8) + LeakyReLU with a 2x2 max-pool after the 4th, then
Linear(128*16*16 -> 128) + GroupNorm + LeakyReLU + Dropout(0.5). `fc2` joins the three.
The attribute names (conv1 bn1 ... fc1 bn13, prefixed "", "a", "aa") are the published
state_dict keys. `width`/`hidden` shrink the same topology for small shipped models.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

PATHWAY_PREFIXES = ("", "a", "aa")
CONV_NAMES = ("conv1", "conv3", "conv4", "conv7", "conv8", "conv11", "conv12")
NORM_NAMES = ("bn1", "bn3", "bn4", "bn7", "bn8", "bn11", "bn12")
POOL_AFTER = 4  # max-pool after the 4th conv block
STAMP_SIZE = 32
# (first, last) rows/cols of the central crops, inclusive: 20 x 20 and 11 x 11
CROPS = ((6, 25), (11, 21))
LEAKY_SLOPE = 0.01


def zoom_crops(x: torch.Tensor) -> list[torch.Tensor]:
    """The three pathway inputs: the stamp and its central crops upsampled (nearest) to 32."""
    views = [x]
    for first, last in CROPS:
        crop = x[:, :, first:last + 1, first:last + 1]
        views.append(F.interpolate(crop, size=(STAMP_SIZE, STAMP_SIZE), mode="nearest"))
    return views


class StarcNet(nn.Module):
    """Multi-scale StarcNet; `width=128, hidden=128` is the published net (15.27 M weights)."""

    def __init__(self, in_channels: int = 5, num_classes: int = 4, width: int = 128,
                 hidden: int = 128, groups: int = 8, dropout: float = 0.5) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.num_classes = num_classes
        for prefix in PATHWAY_PREFIXES:
            channels = in_channels
            for conv, norm in zip(CONV_NAMES, NORM_NAMES, strict=True):
                setattr(self, prefix + conv, nn.Conv2d(channels, width, 3, padding=1))
                setattr(self, prefix + norm, nn.GroupNorm(groups, width))
                channels = width
            pooled = STAMP_SIZE // 2
            setattr(self, prefix + "fc1", nn.Linear(width * pooled * pooled, hidden))
            setattr(self, prefix + "bn13", nn.GroupNorm(groups, hidden))
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(hidden * len(PATHWAY_PREFIXES), num_classes)

    def pathway_features(self, prefix: str, x: torch.Tensor) -> torch.Tensor:
        """Conv stack of one pathway (the feature map Grad-CAM looks at is its last conv)."""
        for index, (conv, norm) in enumerate(zip(CONV_NAMES, NORM_NAMES, strict=True), 1):
            x = F.leaky_relu(getattr(self, prefix + norm)(getattr(self, prefix + conv)(x)),
                             LEAKY_SLOPE)
            if index == POOL_AFTER:
                x = F.max_pool2d(x, 2)
        return x

    def pathway(self, prefix: str, x: torch.Tensor) -> torch.Tensor:
        x = self.pathway_features(prefix, x).flatten(1)
        x = F.leaky_relu(getattr(self, prefix + "bn13")(getattr(self, prefix + "fc1")(x)),
                         LEAKY_SLOPE)
        return self.dropout(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] != (STAMP_SIZE, STAMP_SIZE):
            raise ValueError(f"StarcNet takes {STAMP_SIZE} x {STAMP_SIZE} stamps, "
                             f"got {tuple(x.shape[-2:])}")
        views = zoom_crops(x)
        return self.fc2(torch.cat([self.pathway(p, v)
                                   for p, v in zip(PATHWAY_PREFIXES, views, strict=True)], 1))

    def gradcam_layers(self) -> dict[str, nn.Module]:
        """Last conv of each pathway, named by the scale it sees."""
        return {"full": self.conv12, "zoom20": self.aconv12, "zoom11": self.aaconv12}
