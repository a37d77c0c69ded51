"""Membership methods: group the stars, pick the cluster, calibrate its probabilities."""

from __future__ import annotations

from vocluster.membership.base import MembershipEstimator
from vocluster.membership.dec import DECMembership
from vocluster.membership.methods import (
    GMMMembership,
    HDBSCANMembership,
    KMeansMembership,
    MixtureMembership,
)

METHODS: dict[str, type[MembershipEstimator]] = {
    "mixture": MixtureMembership,
    "kmeans": KMeansMembership,
    "dec": DECMembership,
    "hdbscan": HDBSCANMembership,
    "gmm": GMMMembership,
}
# `auto` is the method measured best on benchmarks/membership_quality.py (real + synthetic).
AUTO_METHOD = "mixture"


def make_estimator(method: str, **params) -> MembershipEstimator:
    """Build an estimator by name; `auto` resolves to the benchmark winner."""
    name = AUTO_METHOD if method == "auto" else method
    if name not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose auto, {', '.join(METHODS)}")
    return METHODS[name](**params)


__all__ = ["AUTO_METHOD", "METHODS", "MembershipEstimator", "make_estimator"]
