"""Figures: membership panels, classification reports, validation curves.

`figure_format` is here, free of matplotlib, so that commands can refuse a bad plot
name before any work."""

from __future__ import annotations

from pathlib import Path

from vocluster.errors import InputError

FORMATS = ("png", "pdf", "svg")


def figure_format(path: str | Path) -> str:
    """The format a plot file's extension asks for (PNG, PDF or SVG)."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise InputError(f"plot format from the file name: use .png, .pdf or .svg, not "
                         f"{Path(path).name!r}")
    return suffix
