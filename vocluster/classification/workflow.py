"""Training as one library call: split, train, calibrate, evaluate, judge.

`vocluster train` is a thin shell around `train_classifier`; a notebook or a pipeline
gets exactly the same model, card and verdict. The held-out split keeps groups (fields,
galaxies) apart from the training stamps, as the cross-validation folds do: stamps of one
field in both halves would measure memory, not generalisation.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vocluster.classification.card import ModelCard
from vocluster.classification.classifier import StampClassifier
from vocluster.classification.evaluation import beats_majority, evaluate_predictions
from vocluster.classification.splits import group_split
from vocluster.classification.training import TrainConfig, TrainHistory
from vocluster.classification.transfer import load_pretrained
from vocluster.errors import InputError


@dataclass
class TrainingReport:
    """What a training run measured. `held_out` is `evaluate_predictions`' report on
    the held-out groups (None without a held-out split); `better_than_guessing` says
    whether it clearly beats both trivial answers, `verdict` with the figures."""

    history: TrainHistory
    held_out: dict | None
    better_than_guessing: bool
    verdict: str
    cross_validation: dict | None
    fresh_layers: list[str] | None


def train_classifier(stamps: np.ndarray, labels: np.ndarray, groups: np.ndarray,
                     card: ModelCard, config: TrainConfig | None = None, *,
                     test_fraction: float = 0.2, pretrained: str | Path | None = None,
                     device: str = "auto", cv_folds: int = 0,
                     checkpoint: Path | None = None, resume: bool = False,
                     on_batch: Callable[[int, int, int], None] | None = None,
                     on_fold: Callable[[int, dict], None] | None = None,
                     ) -> tuple[StampClassifier, TrainingReport]:
    """Train a classifier described by `card` and measure it on held-out groups.

    Parameters
    ----------
    stamps : array (N, bands, S, S)
        Raw stamps; `labels` (N,) their classes (card.classes); `groups` (N,) the field
        or galaxy of each, kept on one side of every split.
    card : ModelCard
        Architecture, preprocessing, classes; its metrics are filled in.
    config : TrainConfig, optional
        Epochs, learning rate, augmentations, seed (defaults: TrainConfig()).
    test_fraction : float
        Share of the groups held out for the final report (0: none).
    pretrained : path, optional
        A state_dict to start from (matching layers are taken, the head stays fresh).
    cv_folds : int
        Grouped K-fold cross-validation before the final fit (0: none).
    checkpoint, resume, on_batch
        As `StampClassifier.fit`; `on_fold(k, row)` after each cross-validation fold.

    Returns
    -------
    (StampClassifier, TrainingReport)
        The fitted classifier (its card holds the settings, temperature and metrics)
        and what was measured.
    """
    config = config or TrainConfig()
    if not 0 <= test_fraction < 1:
        raise InputError(f"test_fraction must be in [0, 1), not {test_fraction}")
    keep, test = group_split(groups, test_fraction, config.seed + 1)
    classifier = StampClassifier(card, device=device, config=config)
    fresh = load_pretrained(classifier.net, pretrained) if pretrained else None
    cross = None
    if cv_folds:
        cross = cross_validate(stamps, labels, groups, card, config, cv_folds, device, on_fold,
                               pretrained)
        card.metrics["cross_validation"] = cross
    classifier.fit(stamps[keep], labels[keep], groups[keep], checkpoint, resume, on_batch)
    held_out, useful, verdict = None, False, "no held-out split to judge it on"
    if len(test):
        held_out = evaluate_predictions(labels[test], classifier.predict_proba(stamps[test]),
                                        card.classes, card.cluster_classes, card.threshold)
        useful, verdict = beats_majority(held_out)
        card.metrics["held_out_test"] = held_out
        card.metrics["better_than_guessing"] = useful
    return classifier, TrainingReport(classifier.history_, held_out, useful, verdict, cross,
                                      fresh)


def cross_validate(stamps: np.ndarray, labels: np.ndarray, groups: np.ndarray,
                   card: ModelCard, config: TrainConfig, folds: int, device: str = "auto",
                   on_fold: Callable[[int, dict], None] | None = None,
                   pretrained: str | Path | None = None) -> dict:
    """Grouped K-fold by field/galaxy: each fold's stamps are never seen in its training.

    Parameters
    ----------
    stamps : ndarray, shape (N, bands, S, S)
    labels : ndarray, shape (N,)
        Class codes of the card.
    groups : ndarray, shape (N,)
        Field or galaxy of each stamp; no group is split between train and test.
    card : ModelCard
        Architecture, bands, classes and preprocessing.
    config : TrainConfig
        Training settings; its seed also shuffles the folds.
    folds : int
        K; needs at least K groups.
    device : {"auto", "cpu", "cuda"}
    on_fold : callable, optional
        Called with (fold number, fold row) as each fold ends.
    pretrained : path, optional
        Weights every fold's net starts from, as the final fit does: the folds measure
        the recipe that made the model, not training from scratch.

    Returns
    -------
    dict
        `folds`: the per-fold rows; then for each of `accuracy`, `precision`,
        `recall`, `f1`, `ece` and `ece_if_calibrated` a dict of its `mean` and `std`
        over the folds; `pooled`: the same scores of all held-out predictions at once
        (every stamp predicted by the fold that never saw it), where the calibration
        error is measured on K times the stamps and so with less counting noise.

    Notes
    -----
    With ~100 test stamps one split moves F1 by several hundredths; the spread over K
    folds says how far the single number of a card can be trusted.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    if len(set(groups)) < folds:
        raise InputError(f"{folds}-fold cross-validation needs at least {folds} groups "
                         f"(fields or galaxies); the stamps have {len(set(groups))}")
    splitter = StratifiedGroupKFold(folds, shuffle=True, random_state=config.seed)
    rows = []
    held_out = np.zeros((len(labels), len(card.classes)))
    for k, (train_idx, test_idx) in enumerate(splitter.split(stamps, labels, groups), 1):
        fold = StampClassifier(copy.deepcopy(card), device=device, config=config)
        if pretrained:
            load_pretrained(fold.net, pretrained)
        fold.fit(stamps[train_idx], labels[train_idx], groups[train_idx])
        held_out[test_idx] = fold.predict_proba(stamps[test_idx])
        report = evaluate_predictions(labels[test_idx], held_out[test_idx],
                                      card.classes, card.cluster_classes, card.threshold)
        binary = report["binary"]
        rows.append({"fold": k, "n": report["n"], "accuracy": binary["accuracy"],
                     "precision": binary["precision"], "recall": binary["recall"],
                     "f1": binary["f1"],
                     "ece": binary["reliability"]["expected_calibration_error"],
                     "ece_if_calibrated": binary["reliability"]["ece_if_calibrated"]})
        if on_fold:
            on_fold(k, rows[-1])
    summary = {key: {"mean": float(np.mean([r[key] for r in rows])),
                     "std": float(np.std([r[key] for r in rows]))}
               for key in ("accuracy", "precision", "recall", "f1", "ece", "ece_if_calibrated")}
    pooled = evaluate_predictions(labels, held_out, card.classes, card.cluster_classes,
                                  card.threshold)["binary"]
    summary["pooled"] = {key: pooled[key] for key in ("accuracy", "precision", "recall", "f1")}
    summary["pooled"].update({key: pooled["reliability"][key]
                              for key in ("expected_calibration_error", "ece_if_calibrated")})
    return {"folds": rows, **summary}
