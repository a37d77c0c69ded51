"""The networks, built by architecture name with the options a model card records."""

from __future__ import annotations

from typing import Any

from torch import nn

from vocluster.classification.choices import ARCHITECTURES
from vocluster.classification.nets.ensemble import NetEnsemble
from vocluster.classification.nets.resnet import LAYOUTS, ResNet
from vocluster.classification.nets.starcnet import StarcNet
from vocluster.classification.nets.vgg import CONFIGS, VGG


def build_net(arch: str, in_channels: int, num_classes: int, members: int = 1,
              **options: Any) -> nn.Module:
    """A fresh network; `options` are architecture extras (StarcNet width/hidden);
    `members` > 1 makes a seed ensemble of that many such nets."""
    if members > 1:
        return NetEnsemble([build_net(arch, in_channels, num_classes, **options)
                            for _ in range(members)])
    if arch == "starcnet":
        return StarcNet(in_channels, num_classes, **options)
    if arch in LAYOUTS:
        return ResNet(arch, in_channels, num_classes, **options)
    depth = arch.removesuffix("_bn")
    if depth in CONFIGS:
        return VGG(depth, in_channels, num_classes, batch_norm=arch.endswith("_bn"), **options)
    raise ValueError(f"unknown architecture {arch!r}; choose from {', '.join(ARCHITECTURES)}")
