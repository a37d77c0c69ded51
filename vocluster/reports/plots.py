"""The four panels people look at, coloured by membership probability."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from astropy.table import Table

from vocluster.atomic import atomic_output
from vocluster.core.columns import column_values, detect_columns


def _values(table: Table, key: str) -> np.ndarray | None:
    columns = detect_columns(table)
    return column_values(table, columns, key) if columns.has(key) else None


def _scatter_panel(ax, table: Table, x_key: str, y_key: str, order: np.ndarray,
                   scatter_kw: dict, labels: tuple[str, str], title: str, flip: str) -> None:
    """One probability-coloured panel, or a note when the table lacks its columns."""
    x, y = _values(table, x_key), _values(table, y_key)
    if x is None or y is None:
        ax.text(0.5, 0.5, f"no {x_key} / {y_key} columns", ha="center", transform=ax.transAxes)
        return
    ax.scatter(x[order], y[order], **scatter_kw)
    (ax.invert_yaxis if flip == "y" else ax.invert_xaxis)()
    ax.set(xlabel=labels[0], ylabel=labels[1], title=title)


def plot_membership(table: Table, path: str | Path, title: str = "") -> Path:
    """Proper-motion plane, parallax histogram, CMD and sky, written atomically as PNG."""
    prob = np.ma.filled(np.ma.asarray(table["member_prob"], dtype=float), np.nan)
    member = np.nan_to_num(prob) >= 0.5
    order = np.argsort(np.nan_to_num(prob))
    pmra, pmdec, plx = (_values(table, k) for k in ("pmra", "pmdec", "parallax"))
    fig, axes = plt.subplots(2, 2, figsize=(11, 9))
    scatter_kw = {"c": np.nan_to_num(prob)[order], "cmap": "viridis", "vmin": 0, "vmax": 1,
                  "s": 3, "linewidths": 0}
    ax = axes[0, 0]
    art = ax.scatter(pmra[order], pmdec[order], **scatter_kw)
    if member.any():
        span = max(np.ptp(pmra[member]), np.ptp(pmdec[member]), 1.0)
        cx, cy = np.median(pmra[member]), np.median(pmdec[member])
        ax.set_xlim(cx - 2 * span, cx + 2 * span)
        ax.set_ylim(cy - 2 * span, cy + 2 * span)
    ax.set(xlabel="pmra [mas/yr]", ylabel="pmdec [mas/yr]", title="proper motions")
    ax = axes[0, 1]
    finite = np.isfinite(plx)
    bins = np.linspace(*np.nanpercentile(plx[finite], [0.5, 99.9]), 80) if finite.any() else 40
    ax.hist(plx[finite], bins=bins, color="0.7", label="all")
    ax.hist(plx[member & finite], bins=bins, color="C1", label="members (p >= 0.5)")
    ax.set(xlabel="parallax [mas]", ylabel="stars", title="parallax")
    ax.legend()
    for ax, (xk, yk, labels, title_, flip) in zip(axes[1], (
            ("bp_rp", "phot_g_mean_mag", ("BP - RP [mag]", "G [mag]"), "colour-magnitude diagram",
             "y"),
            ("ra", "dec", ("RA [deg]", "Dec [deg]"), "sky", "x")), strict=True):
        _scatter_panel(ax, table, xk, yk, order, scatter_kw, labels, title_, flip)
    fig.colorbar(art, ax=axes, label="membership probability", shrink=0.6)
    fig.suptitle(title)
    try:
        with atomic_output(path, overwrite=True) as tmp:
            fig.savefig(tmp, dpi=110, format="png")
    finally:
        plt.close(fig)
    return Path(path)
