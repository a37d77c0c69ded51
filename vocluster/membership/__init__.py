"""Membership methods: group the stars, pick the cluster, calibrate its probabilities."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported lazily: scikit-learn costs ~2 s, and `--help` needs only names
    from vocluster.membership.base import MembershipEstimator

# Name -> "module:class", imported on demand: only `dec` needs torch, and a CLI call with
# the default method should not pay the 1.4 s it takes to import it.
METHODS: dict[str, str] = {
    "mixture": "vocluster.membership.methods:MixtureMembership",
    "kmeans": "vocluster.membership.methods:KMeansMembership",
    "dec": "vocluster.membership.dec:DECMembership",
    "hdbscan": "vocluster.membership.methods:HDBSCANMembership",
    "gmm": "vocluster.membership.methods:GMMMembership",
}
# `auto` is the method measured best on benchmarks/membership_quality.py (real + synthetic).
AUTO_METHOD = "mixture"


def estimator_class(method: str) -> type[MembershipEstimator]:
    """The estimator class of a method name; `auto` resolves to the benchmark winner."""
    name = AUTO_METHOD if method == "auto" else method
    if name not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose auto, {', '.join(METHODS)}")
    module, cls = METHODS[name].split(":")
    return getattr(import_module(module), cls)


def make_estimator(method: str, **params) -> MembershipEstimator:
    """Build an estimator by name.

    Parameters
    ----------
    method : {"auto", "mixture", "dec", "kmeans", "gmm", "hdbscan"}
        The method; `auto` is the benchmark winner (see `AUTO_METHOD`).
    **params
        The estimator's own settings (`random_state`, `calibrate`, `mixture`, ...).

    Returns
    -------
    MembershipEstimator
        Unfitted, with the scikit-learn contract (`fit`, `predict_proba`, `get_params`).

    Examples
    --------
    >>> from vocluster.membership import make_estimator
    >>> make_estimator("kmeans", random_state=1).get_params()["random_state"]
    1
    """
    return estimator_class(method)(**params)


# The table-in/table-out entry points, imported on first use (see METHODS for why).
_LAZY = {"MembershipEstimator": "vocluster.membership.base",
         **{name: "vocluster.membership.pipeline"
            for name in ("MembershipOptions", "MembershipResult", "Target", "find_members",
                         "resolve_target")}}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["AUTO_METHOD", "METHODS", "MembershipEstimator", "MembershipOptions",
           "MembershipResult", "Target", "estimator_class", "find_members", "make_estimator",
           "resolve_target"]
