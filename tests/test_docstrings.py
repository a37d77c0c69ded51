"""The examples in the public entry points' docstrings run as written (offline ones)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["vocluster.membership", "vocluster.membership.pipeline", "vocluster.vo.clusters",
           "vocluster.vo.gaia", "vocluster.vo.mast", "vocluster.vo.simbad",
           "vocluster.datasets.synthetic"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
