"""What happens to raw stamps before a net sees them, recorded in the model card.

Normalisations: `band_mean` subtracts fixed per-band means (StarcNet's published input),
`stamp_zscore` scales each stamp and band to zero mean and unit spread (the M31 study),
`imagenet` maps each stamp to [0, 1] and applies the ImageNet channel statistics (for
transfer from ImageNet weights), `none` passes pixels through. Channel recipes adapt band
counts to 3-channel nets: `phangs` (5 bands + a zero channel = two RGB-like triplets) and
`constant` (bands + a constant channel up to 3, as the M31 g, i recipe).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from vocluster.classification.choices import CHANNEL_RECIPES, NORMALISATIONS
from vocluster.errors import InputError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Preprocessing:
    normalisation: str = "stamp_zscore"
    band_means: tuple[float, ...] = ()
    channel_recipe: str = "bands"
    input_size: int | None = None       # resize (bilinear) to this many pixels, e.g. 224
    crop_size: int | None = None        # central crop before resizing
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.normalisation not in NORMALISATIONS:
            raise InputError(f"unknown normalisation {self.normalisation!r}; "
                             f"choose from {', '.join(NORMALISATIONS)}")
        if self.channel_recipe not in CHANNEL_RECIPES:
            raise InputError(f"unknown channel recipe {self.channel_recipe!r}")

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Preprocessing:
        data = dict(data)
        data["band_means"] = tuple(data.get("band_means", ()))
        return cls(**data)

    def net_channels(self, bands: int) -> int:
        """How many channels the net gets from `bands` input bands."""
        if self.channel_recipe == "phangs":
            return 6
        if self.channel_recipe == "constant":
            return max(3, bands + 1)
        return bands

    def apply(self, stamps: np.ndarray | torch.Tensor) -> torch.Tensor:
        """(N, bands, S, S) raw pixels -> float32 tensor ready for the net."""
        x = torch.as_tensor(stamps, dtype=torch.float32)
        if x.ndim != 4:
            raise InputError(f"stamps must be (N, bands, S, S), got shape {tuple(x.shape)}")
        if self.crop_size and self.crop_size < x.shape[-1]:
            start = (x.shape[-1] - self.crop_size) // 2
            x = x[..., start:start + self.crop_size, start:start + self.crop_size]
        if self.normalisation == "imagenet":  # each RGB-like triplet scaled as a photo
            x = self._normalise(self._channels(x))
        else:  # z-score / band means on the bands themselves; constant channels stay constant
            x = self._channels(self._normalise(x))
        if self.input_size and x.shape[-1] != self.input_size:
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear",
                              align_corners=False)
        return x.contiguous()

    def _normalise(self, x: torch.Tensor) -> torch.Tensor:
        if self.normalisation == "band_mean":
            if len(self.band_means) != x.shape[1]:
                raise InputError(f"the model expects {len(self.band_means)} bands, "
                                 f"the stamps have {x.shape[1]}")
            return x - torch.tensor(self.band_means).view(1, -1, 1, 1)
        if self.normalisation == "stamp_zscore":
            mean = x.mean(dim=(2, 3), keepdim=True)
            spread = x.std(dim=(2, 3), keepdim=True).clamp_min(1e-6)
            return (x - mean) / spread
        if self.normalisation == "imagenet":
            low = x.amin(dim=(1, 2, 3), keepdim=True)
            high = x.amax(dim=(1, 2, 3), keepdim=True)
            x = (x - low) / (high - low).clamp_min(1e-6)
            mean = torch.tensor(IMAGENET_MEAN).repeat(3)[: x.shape[1]]
            std = torch.tensor(IMAGENET_STD).repeat(3)[: x.shape[1]]
            return (x - mean.view(1, -1, 1, 1)) / std.view(1, -1, 1, 1)
        return x

    def _channels(self, x: torch.Tensor) -> torch.Tensor:
        if self.channel_recipe == "phangs":
            if x.shape[1] != 5:
                raise InputError(f"the phangs recipe takes 5 bands, the stamps have {x.shape[1]}")
            return torch.cat([x, torch.zeros_like(x[:, :1])], 1)
        if self.channel_recipe == "constant":
            missing = max(3, x.shape[1] + 1) - x.shape[1]
            return torch.cat([x, torch.ones_like(x[:, :1]).expand(-1, missing, -1, -1)], 1)
        return x


STARCNET_PREPROCESSING = Preprocessing(
    "band_mean", band_means=(0.02377, 0.13797, 0.14457, 0.25429, 0.39019))
