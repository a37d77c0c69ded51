"""Student's t soft assignment (DEC's q_ij) and its sharpened target distribution, shared
by K-Means (numpy) and DEC (torch)."""

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


def target_distribution(q):
    """p_ij = (q_ij^2 / f_j) / sum_j' (q_ij'^2 / f_j'), f_j = sum_i q_ij (numpy or torch).

    The assignment DEC trains towards, and both methods' membership: squaring drops the
    far centroids' heavy tails, dividing by the cluster frequency keeps a 1% cluster from
    losing its edge to the field's numbers.
    """
    weight = q**2 / q.sum(axis=0)
    return weight / weight.sum(axis=1, keepdims=True)
