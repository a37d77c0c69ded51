"""The selection function of a membership run, in three panels a paper can use."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import NullFormatter, ScalarFormatter

from vocluster.atomic import atomic_output


def _as_array(values: list) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def plot_validation(report: dict, path: str | Path, title: str = "",
                    overwrite: bool = False) -> Path:
    """Completeness and contamination against G; F1 against distance; the detection limit
    (found or missed by distance and size); reliability."""
    fig, axes = plt.subplots(1, 4, figsize=(18, 4.2), constrained_layout=True)
    edges = np.asarray(report["g_bins"])
    centres = 0.5 * (edges[:-1] + edges[1:])
    ax = axes[0]
    ax.plot(centres, _as_array(report["completeness_by_g"]), "o-", label="completeness")
    ax.plot(centres, _as_array(report["contamination_by_g"]), "s--", label="contamination")
    ax.set(xlabel=r"$G$ (mag)", ylabel="fraction", ylim=(-0.02, 1.02),
           title="injected members, per star")
    ax.legend(loc="center left")
    ax = axes[1]
    clusters = report["clusters"]
    distance = np.array([c["distance_pc"] for c in clusters])
    f1 = np.array([c["f1"] for c in clusters])
    size = np.array([c["n_injected"] for c in clusters])
    points = ax.scatter(distance, f1, c=np.log10(np.maximum(size, 1)), cmap="viridis",
                        edgecolor="k", linewidth=0.3)
    fig.colorbar(points, ax=ax, label=r"$\log_{10}$ stars observed")
    ax.set(xscale="log", xlabel="distance (pc)", ylabel="F1", ylim=(-0.02, 1.02),
           title=f"{report['n_found']} of {report['n_injections']} clusters found")
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    _detection_panel(axes[2], clusters)
    ax = axes[3]
    ax.plot([0, 1], [0, 1], color="0.6", lw=1)
    rows = np.asarray(report["rows_per_probability_bin"], dtype=float)
    ax.plot(_as_array(report["mean_probability"]),
            _as_array(report["observed_member_fraction"]), "-", color="C0")
    ax.scatter(_as_array(report["mean_probability"]),
               _as_array(report["observed_member_fraction"]),
               s=12 + 60 * np.sqrt(rows / max(rows.max(), 1)), color="C0", zorder=3,
               label="marker area ~ rows in bin")
    ax.legend(loc="upper left")
    ax.set(xlabel="membership probability", ylabel="fraction truly injected members",
           xlim=(0, 1), ylim=(0, 1),
           title=f"reliability (p >= 0.05), ECE {report['expected_calibration_error']:.3f}")
    if title:
        fig.suptitle(title)
    with atomic_output(path, overwrite) as tmp:
        fig.savefig(tmp, dpi=200, format=Path(path).suffix.lstrip(".") or "png")
    plt.close(fig)
    return Path(path)


DETECTED_F1 = 0.5  # an injected cluster counts as found at F1 >= 0.5 (as the benchmark)


def _detection_panel(ax, clusters: list[dict]) -> None:
    """The detection limit: each injected cluster at its distance and observed size,
    filled where it was found (F1 >= 0.5), a cross where it was missed or refused."""
    distance = np.array([c["distance_pc"] for c in clusters], dtype=float)
    size = np.maximum(np.array([c["n_injected"] for c in clusters], dtype=float), 1)
    found = np.array([(c["f1"] or 0) >= DETECTED_F1 for c in clusters], dtype=bool)
    ax.scatter(distance[found], size[found], color="C2", edgecolor="k", linewidth=0.3,
               label=f"found (F1 >= {DETECTED_F1:g})")
    ax.scatter(distance[~found], size[~found], color="C3", marker="x", label="missed")
    ax.set(xscale="log", yscale="log", xlabel="distance (pc)", ylabel="stars observed",
           title=f"detection limit: {found.sum()} of {len(clusters)} found")
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.legend(loc="best", fontsize="small")
