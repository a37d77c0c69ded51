"""Which torch device to run on, shared by DEC and the CNNs."""

from __future__ import annotations

import torch

from vocluster.errors import InputError


def resolve_device(device: str) -> torch.device:
    """`auto` means CUDA when a GPU is usable, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise InputError("device 'cuda' was asked for, but no CUDA GPU is available here")
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise InputError(f"unknown device {device!r}; use auto, cpu or cuda")
    return torch.device(device)
