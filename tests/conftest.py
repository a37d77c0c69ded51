"""Shared synthetic fields: small enough for CI, real enough to test recovery."""

from __future__ import annotations

import numpy as np
import pytest

from vocluster.sources.synthetic import make_cone


@pytest.fixture(scope="session")
def praesepe_like():
    """8k-star cone with 300 members of a Praesepe-like cluster."""
    return make_cone("NGC 2632", seed=3, n_stars=8000, n_members=300)


@pytest.fixture(scope="session")
def m67_like():
    return make_cone("NGC 2682", seed=5)


def f1_score(member: np.ndarray, truth: np.ndarray) -> float:
    return 2 * (member & truth).sum() / max(member.sum() + truth.sum(), 1)
