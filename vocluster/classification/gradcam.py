"""Grad-CAM (Selvaraju et al. 2017) for any of the nets: which pixels drove a class score.

The map is the ReLU of the target layer's activations weighted by their spatially
averaged gradients, upsampled to the stamp. For StarcNet the three pathways see
different scales, so each pathway's map is mapped back to the full-stamp pixels it
came from (the 20 px and 11 px crops) and the three are summed; so are the maps of a
seed ensemble's members.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from vocluster.classification.classifier import StampClassifier
from vocluster.classification.nets.starcnet import CROPS, STAMP_SIZE


def _layer_maps(net: torch.nn.Module, x: torch.Tensor, target: torch.Tensor
                ) -> dict[str, torch.Tensor]:
    activations: dict[str, torch.Tensor] = {}
    hooks = [layer.register_forward_hook(
        lambda _m, _i, out, key=key: activations.__setitem__(key, out))
        for key, layer in net.gradcam_layers().items()]
    try:
        logits = net(x)
        score = logits.gather(1, target[:, None]).sum()
        grads = torch.autograd.grad(score, list(activations.values()))
    finally:
        for hook in hooks:
            hook.remove()
    maps = {}
    for (key, act), grad in zip(activations.items(), grads, strict=True):
        weights = grad.mean(dim=(2, 3), keepdim=True)
        maps[key] = F.relu((weights * act).sum(1, keepdim=True)).detach()
    return maps


def _place(cam: torch.Tensor, size: int, crop: tuple[int, int] | None) -> torch.Tensor:
    """Upsample a map to the pixels of the stamp its pathway saw."""
    if crop is None:
        return F.interpolate(cam, size=(size, size), mode="bilinear", align_corners=False)
    first, last = crop
    inner = F.interpolate(cam, size=(last - first + 1,) * 2, mode="bilinear",
                          align_corners=False)
    return F.pad(inner, (first, size - last - 1, first, size - last - 1))


def grad_cam(classifier: StampClassifier, stamps: np.ndarray,
             target_class: int | None = None) -> np.ndarray:
    """(N, S, S) maps in [0, 1] on the raw stamp's pixels; class = best unless given."""
    card = classifier.card
    net = classifier.net.eval()
    device = next(net.parameters()).device
    x = card.preprocessing.apply(classifier.check_stamps(stamps)).to(device)
    with torch.no_grad():
        best = net(x).argmax(1)
    target = best if target_class is None else torch.full_like(
        best, card.classes.index(target_class))
    maps = _layer_maps(net, x, target)
    size = x.shape[-1]
    if card.arch == "starcnet":  # keys "full" etc., or an ensemble member's "0.full"
        crops = {"full": None, "zoom20": CROPS[0], "zoom11": CROPS[1]}
        total = sum(_place(cam, STAMP_SIZE, crops[key.rsplit(".", 1)[-1]])
                    for key, cam in maps.items())
    else:
        total = sum(_place(cam, size, None) for cam in maps.values())
    total = F.interpolate(total, size=stamps.shape[-2:], mode="bilinear", align_corners=False)
    total = total[:, 0]
    peak = total.flatten(1).amax(1).clamp_min(1e-12)
    return (total / peak[:, None, None]).cpu().numpy()
