"""Student's t soft assignment (DEC's q_ij), shared by K-Means (numpy) and DEC (torch)."""

from __future__ import annotations

import numpy as np


def student_t_kernel(squared_distance, alpha: float = 1.0):
    """(1 + d^2 / alpha)^(-(alpha + 1) / 2): one formula for numpy arrays and torch tensors
    (DEC needs the latter to differentiate through it)."""
    return (1.0 + squared_distance / alpha) ** (-(alpha + 1.0) / 2.0)


def student_t_assignment(z: np.ndarray, centres: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """q_ij proportional to the Student's t kernel of |z_i - mu_j|, rows sum to 1."""
    q = student_t_kernel(((z[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2), alpha)
    return q / q.sum(axis=1, keepdims=True)
