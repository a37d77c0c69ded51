"""Scores of a classifier on labelled stamps: confusion matrices (all classes and cluster
vs not), accuracy, per-class precision/recall/F1, PR curve and threshold choice."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (
    confusion_matrix,
    precision_recall_curve,
    precision_recall_fscore_support,
)


def choose_threshold(is_cluster: np.ndarray, cluster_prob: np.ndarray,
                     target_purity: float | None = None) -> float:
    """Best-F1 threshold, or the lowest one whose precision reaches `target_purity`."""
    precision, recall, thresholds = precision_recall_curve(is_cluster, cluster_prob)
    precision, recall = precision[:-1], recall[:-1]
    if target_purity is not None:
        reach = np.flatnonzero(precision >= target_purity)
        if len(reach) == 0:
            raise ValueError(f"no threshold reaches purity {target_purity}")
        return float(thresholds[reach[0]])
    f1 = 2 * precision * recall / np.clip(precision + recall, 1e-12, None)
    return float(thresholds[int(np.argmax(f1))])


def _binary_scores(truth: np.ndarray, predicted: np.ndarray) -> dict:
    tp = int((truth & predicted).sum())
    precision = tp / max(int(predicted.sum()), 1)
    recall = tp / max(int(truth.sum()), 1)
    return {"confusion": confusion_matrix(truth, predicted, labels=[True, False]).tolist(),
            "accuracy": float((truth == predicted).mean()), "precision": precision,
            "recall": recall, "f1": 2 * precision * recall / max(precision + recall, 1e-12)}


def evaluate_predictions(labels: np.ndarray, proba: np.ndarray, classes: tuple[int, ...],
                         cluster_classes: tuple[int, ...], threshold: float = 0.5) -> dict:
    """All the numbers `vocluster evaluate` prints and model cards record."""
    labels = np.asarray(labels)
    predicted = np.asarray(classes)[proba.argmax(1)]
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predicted, labels=list(classes), zero_division=0)
    columns = [classes.index(c) for c in cluster_classes]
    cluster_prob = proba[:, columns].sum(1)
    truth = np.isin(labels, cluster_classes)
    report = {
        "n": len(labels), "classes": list(classes),
        "confusion": confusion_matrix(labels, predicted, labels=list(classes)).tolist(),
        "accuracy": float((labels == predicted).mean()),
        "per_class": {int(c): {"precision": float(p), "recall": float(r), "f1": float(f),
                               "support": int(s)}
                      for c, p, r, f, s in zip(classes, precision, recall, f1, support,
                                               strict=True)},
        "binary": {"threshold": threshold,
                   **_binary_scores(truth, cluster_prob >= threshold)},
    }
    if 0 < truth.sum() < len(truth):
        report["binary"]["best_f1_threshold"] = choose_threshold(truth, cluster_prob)
    return report
