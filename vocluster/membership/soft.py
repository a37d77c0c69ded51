"""Student's t soft assignment (DEC's q_ij), shared by K-Means and DEC."""

from __future__ import annotations

import numpy as np


def student_t_assignment(z: np.ndarray, centres: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """q_ij proportional to (1 + |z_i - mu_j|^2 / alpha)^(-(alpha + 1) / 2), rows sum to 1."""
    d2 = ((z[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    q = (1.0 + d2 / alpha) ** (-(alpha + 1.0) / 2.0)
    return q / q.sum(axis=1, keepdims=True)
