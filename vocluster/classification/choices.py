"""The names the classification CLI offers, kept free of torch so `vocluster --help` is fast."""

from __future__ import annotations

AUGMENTATIONS = ("flip", "rot90", "rescale", "rotate")
NORMALISATIONS = ("band_mean", "stamp_zscore", "imagenet", "none")
CHANNEL_RECIPES = ("bands", "phangs", "constant")
RESNET_DEPTHS = ("resnet18", "resnet34", "resnet50")
VGG_DEPTHS = ("vgg16", "vgg19")
ARCHITECTURES = ("starcnet", *RESNET_DEPTHS, *VGG_DEPTHS, *(f"{name}_bn" for name in VGG_DEPTHS))
DEFAULT_MODEL = "vocluster-sim-starcnet"
