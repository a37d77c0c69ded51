"""Load ImageNet (or any torchvision-keyed) weights into a net with other bands or classes."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from vocluster.classification.nets import NetEnsemble
from vocluster.errors import InputError


def adapt_first_conv(weight: torch.Tensor, in_channels: int) -> torch.Tensor:
    """RGB filters for `in_channels` inputs: copies of RGB scaled so activations keep
    their size (6 channels = two RGB copies / 2, the PHANGS recipe; 1 = RGB summed)."""
    rgb = weight.shape[1]
    if in_channels == rgb:
        return weight
    copies = -(-in_channels // rgb)
    tiled = weight.repeat(1, copies, 1, 1)[:, :in_channels]
    return tiled * (rgb / in_channels)


def load_pretrained(net: nn.Module, path: str | Path) -> list[str]:
    """Copy matching weights from a state_dict file; first conv adapted, head left fresh.

    Returns the keys that were not taken (a new head for other classes). A seed
    ensemble's members start from the file's net, or from the file's own members in
    turn when it holds an ensemble; a single net starts from an ensemble's first member.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError) as exc:
        raise InputError(f"cannot read weights {path}: {exc}") from exc
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    sources = _members(state) or [state]
    targets = list(net.members) if isinstance(net, NetEnsemble) else [net]
    skipped = [_take(target, sources[k % len(sources)], path) for k, target in enumerate(targets)]
    return skipped[0]


def _members(state: dict) -> list[dict]:
    """An ensemble's state_dict split into its members' ("members.K.key" -> "key")."""
    members: dict[int, dict] = {}
    for key, value in state.items():
        head, _, rest = key.partition(".")
        index, _, name = rest.partition(".")
        if head != "members" or not index.isdigit():
            return []
        members.setdefault(int(index), {})[name] = value
    return [members[k] for k in sorted(members)]


def _take(net: nn.Module, state: dict, path: str | Path) -> list[str]:
    own = net.state_dict()
    taken, skipped = {}, []
    for key, value in state.items():
        if key not in own:
            skipped.append(key)
            continue
        first_conv = value.ndim == 4 and value.shape[0] == own[key].shape[0]
        if first_conv and value.shape[1] != own[key].shape[1]:
            value = adapt_first_conv(value, own[key].shape[1])
        if value.shape != own[key].shape:
            skipped.append(key)
            continue
        taken[key] = value
    if not taken:
        raise InputError(f"{path} shares no weights with this network")
    net.load_state_dict(taken, strict=False)
    return skipped
