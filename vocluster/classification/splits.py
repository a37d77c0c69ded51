"""Train/validation/test splits that keep whole groups (galaxies, fields) together."""

from __future__ import annotations

import numpy as np


def group_split(groups: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (kept, held_out): held-out groups drawn until `fraction` of rows is reached.

    With a single group there is nothing to keep apart, so rows are split at random."""
    groups = np.asarray(groups)
    rng = np.random.default_rng(seed)
    unique = np.unique(groups)
    if len(unique) < 2:
        order = rng.permutation(len(groups))
        cut = round(fraction * len(groups))
        return np.sort(order[cut:]), np.sort(order[:cut])
    held: list = []
    target = fraction * len(groups)
    counts = {g: int((groups == g).sum()) for g in unique}
    for g in rng.permutation(unique):
        if sum(counts[h] for h in held) >= target or len(held) == len(unique) - 1:
            break
        held.append(g)
    mask = np.isin(groups, held)
    return np.flatnonzero(~mask), np.flatnonzero(mask)
