"""Figures for classification: confusion matrices, PR curve, Grad-CAM overlays."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import precision_recall_curve

from vocluster.atomic import atomic_output


def _matrix(ax, matrix, labels, title) -> None:
    matrix = np.asarray(matrix)
    ax.imshow(matrix, cmap="Blues")
    for (i, j), value in np.ndenumerate(matrix):
        ax.text(j, i, str(value), ha="center", va="center",
                color="white" if value > matrix.max() / 2 else "black")
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)


def _save(fig, path: str | Path) -> None:
    with atomic_output(path, overwrite=True) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def plot_evaluation(report: dict, is_cluster: np.ndarray, cluster_prob: np.ndarray,
                    path: str | Path, title: str = "",
                    class_names: dict[int, str] | None = None) -> None:
    """Confusion matrices (classes by name), precision-recall and reliability."""
    names = class_names or {}
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    _matrix(axes[0], report["confusion"], [names.get(int(c), str(c)) for c in report["classes"]],
            f"all classes: accuracy {report['accuracy']:.3f}")
    binary = report["binary"]
    _matrix(axes[1], binary["confusion"], ["cluster", "not"],
            f"cluster vs not @ {binary['threshold']:.2f}: F1 {binary['f1']:.3f}")
    if 0 < is_cluster.sum() < len(is_cluster):
        precision, recall, _ = precision_recall_curve(is_cluster, cluster_prob)
        axes[2].plot(recall, precision)
        axes[2].scatter([binary["recall"]], [binary["precision"]], color="red", zorder=3,
                        label=f"threshold {binary['threshold']:.2f}")
        axes[2].legend()
    axes[2].set_xlabel("recall (completeness)")
    axes[2].set_ylabel("precision (purity)")
    axes[2].set_title("precision-recall, clusters")
    fig.suptitle(title)
    fig.tight_layout()
    _save(fig, path)


def plot_gradcam(stamp: np.ndarray, heat: np.ndarray, path: str | Path, title: str = "") -> None:
    """The stamp (sum of bands, asinh stretch) with the Grad-CAM map over it."""
    image = np.arcsinh(stamp.sum(0) - np.median(stamp.sum(0)))
    fig, axes = plt.subplots(1, 2, figsize=(7, 3.6))
    axes[0].imshow(image, origin="lower", cmap="gray")
    axes[0].set_title("stamp")
    axes[1].imshow(image, origin="lower", cmap="gray")
    axes[1].imshow(heat, origin="lower", cmap="jet", alpha=0.45, vmin=0, vmax=1)
    axes[1].set_title("Grad-CAM")
    for ax in axes:
        ax.set_axis_off()
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    _save(fig, path)
