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


def _calibration_error(truth: np.ndarray, prob: np.ndarray, index: np.ndarray,
                       n_bins: int) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """ECE, counts, observed fractions and mean probabilities over the bins `index`."""
    counts = np.bincount(index, minlength=n_bins)
    filled = counts > 0
    observed = np.bincount(index, weights=truth.astype(float), minlength=n_bins)
    mean_p = np.bincount(index, weights=prob, minlength=n_bins)
    observed[filled] /= counts[filled]
    mean_p[filled] /= counts[filled]
    ece = float(np.sum(counts[filled] * np.abs(observed[filled] - mean_p[filled]))
                / max(counts.sum(), 1))
    return ece, counts, observed, mean_p


def reliability(truth: np.ndarray, prob: np.ndarray, n_bins: int = 10,
                draws: int = 200, seed: int = 0) -> dict:
    """Reliability curve and expected calibration error of the cluster probability.

    Equal-width bins; the error is the count-weighted mean |observed fraction - mean
    probability|, so cluster_prob 0.7 should mean that 70% of such stamps are clusters.

    On a hundred stamps the error is mostly counting noise: a perfectly calibrated
    classifier, whose labels are drawn from its own probabilities, shows 0.06-0.09 with
    the PAndAS recipe's probabilities on a fold of ~105 stamps, and 0.034 on all 528.
    That error (the median over `draws` such draws, seeded) is reported beside the
    measured one as `ece_if_calibrated`: only an error clearly above it says the
    probabilities lie."""
    prob = np.asarray(prob, dtype=float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    index = np.clip(np.digitize(prob, edges) - 1, 0, n_bins - 1)
    ece, counts, observed, mean_p = _calibration_error(np.asarray(truth, bool), prob, index,
                                                       n_bins)
    rng = np.random.default_rng(seed)
    floor = float(np.median([_calibration_error(rng.random(len(prob)) < prob, prob, index,
                                                n_bins)[0] for _ in range(draws)]))
    filled = counts > 0
    return {"expected_calibration_error": ece, "ece_if_calibrated": floor,
            "bin_edges": edges.tolist(),
            "mean_probability": [float(v) if f else None for v, f in zip(mean_p, filled,
                                                                           strict=True)],
            "observed_fraction": [float(v) if f else None for v, f in zip(observed, filled,
                                                                            strict=True)],
            "counts": counts.tolist()}


def beats_majority(report: dict, margin: float = 0.05) -> tuple[bool, str]:
    """Is the cluster-vs-not result clearly better than guessing? Both trivial answers
    are compared: "never a cluster" (the majority when clusters are rarer) and "always a
    cluster" (its F1 is what a useless classifier gets for free)."""
    binary = report["binary"]
    clusters = binary["confusion"][0][0] + binary["confusion"][0][1]
    n = report["n"]
    fraction = clusters / max(n, 1)
    majority_accuracy = max(fraction, 1 - fraction)
    always_f1 = 2 * fraction / (1 + fraction) if fraction > 0 else 0.0
    ok = (binary["accuracy"] >= majority_accuracy + margin
          and binary["f1"] >= always_f1 + margin)
    return ok, (f"accuracy {binary['accuracy']:.3f} against {majority_accuracy:.3f} for the "
                f"majority class; cluster F1 {binary['f1']:.3f} against {always_f1:.3f} for "
                f"calling everything a cluster")


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
    report["binary"]["reliability"] = reliability(truth, cluster_prob)
    return report
