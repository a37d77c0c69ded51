"""Real stamps: cluster vs galaxy on PAndAS M31 g-band cutouts (../shared/data/pandas_m31).

    python benchmarks/pandas_m31.py [--folds 5] [--seed 0] [--epochs 30]
        [--ensemble 1] [--pretrain-simulated 5000 | --pretrained WEIGHTS]

Grouped K-fold cross-validation by PAndAS field (StratifiedGroupKFold): every fold's test
stamps come from fields its training never saw; inside training the validation split
(early stopping, temperature) is again by field. Three classifiers per fold:

- `recipe`: the nets of `vocluster train`'s small-data recipe (three ResNet-18s from
  seeds seed..seed+2, from scratch on the 64-px centre of the 128-px stamps at native
  resolution, flips/rot90/rotations, lr 3e-4, patience 15, their logits averaged,
  temperature scaling, test-time averaging over the 8 rotations/flips; `--ensemble 1`:
  one net);
- `morphology`: gradient boosting on morphology features (smoothness, peaks,
  ellipticity, asymmetry, concentration, Gini, profile) at three scales (half, native,
  native centre), the honest non-deep reference;
- `mean`: the average of the two probabilities: what the small-data recipe ships (a card
  with `morphology_weight` 0.5 computes exactly this).

`--pretrain-simulated N` first trains the net on N simulated PAndAS-like stamps
(datasets/ground_stamps.py: resolved M31 clusters against smooth or structured
galaxies, seen through ground-based seeing) and starts every fold's nets from it.

Printed per fold and as mean +- std: cluster F1, precision, recall at p >= 0.5, and the
expected calibration error (10 bins) of each, beside the error a perfectly calibrated
classifier with the same probabilities would show on as many stamps (about 0.08 on a
fold's ~105: counting noise); then the same scores of all held-out stamps together.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import StratifiedGroupKFold

from vocluster.classification.card import ModelCard
from vocluster.classification.classifier import StampClassifier
from vocluster.classification.evaluation import reliability
from vocluster.classification.morphology import MorphologyClassifier
from vocluster.classification.preprocessing import Preprocessing
from vocluster.classification.training import TrainConfig
from vocluster.classification.transfer import load_pretrained
from vocluster.cli.classify_commands import MORPHOLOGY_WEIGHT, RECIPES
from vocluster.datasets.ground_stamps import simulate_ground_stamps
from vocluster.io.stamp_files import read_stamp_folder

RECIPE = RECIPES["small-data"]  # the defaults are the recipe's, whatever it becomes
PRETRAIN_EPOCHS = 8
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pandas_m31"


def scores(truth: np.ndarray, prob: np.ndarray) -> dict[str, float]:
    predicted = prob >= 0.5
    tp = float((predicted & truth).sum())
    precision, recall = tp / max(predicted.sum(), 1), tp / max(truth.sum(), 1)
    curve = reliability(truth, prob)
    return {"f1": 2 * precision * recall / max(precision + recall, 1e-12),
            "precision": precision, "recall": recall,
            "ece": curve["expected_calibration_error"],
            "ece if calibrated": curve["ece_if_calibrated"]}


def pandas_card(args: argparse.Namespace, name: str = "pandas-m31") -> ModelCard:
    """The card of the nets compared: one g band, cluster (1) or galaxy (2), 128-px stamps."""
    return ModelCard(name, args.arch, ("g",), (1, 2),
                     Preprocessing("stamp_zscore", channel_recipe="constant",
                                   crop_size=args.crop),
                     class_names={1: "cluster", 2: "galaxy"}, cluster_classes=(1,),
                     stamp_size=128, pixel_scale_arcsec=0.187,
                     test_time_augmentation=RECIPE["tta"], ensemble=args.ensemble)


def pretrain_on_simulated(n: int, args: argparse.Namespace, seed: int) -> Path:
    """Path of the weights of a net trained on n simulated stamps (in the temp folder)."""
    start = time.perf_counter()
    simulated = simulate_ground_stamps(n, seed=seed)
    config = TrainConfig(epochs=PRETRAIN_EPOCHS, batch_size=64, learning_rate=1e-3,
                         patience=4, seed=seed, augmentations=tuple(args.augment))
    net = StampClassifier(replace(pandas_card(args, "simulated"), ensemble=1,
                                  test_time_augmentation=False), device="auto", config=config)
    net.fit(simulated.stamps, simulated.labels, simulated.groups)
    path = Path(tempfile.gettempdir()) / f"pandas-pretrained-{n}-{seed}.pt"
    torch.save(net.net.state_dict(), path)
    print(f"pretrained on {n} simulated stamps in {time.perf_counter() - start:.0f} s "
          f"(best epoch {net.history_.best_epoch})", flush=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=RECIPE["epochs"])
    parser.add_argument("--train-seed", type=int, default=None,
                        help="the nets' seed (default --seed); the folds stay those of --seed")
    parser.add_argument("--arch", default=RECIPE["arch"])
    parser.add_argument("--ensemble", type=int, default=RECIPE["ensemble"],
                        help="nets averaged (seeds on)")
    parser.add_argument("--lr", type=float, default=RECIPE["lr"])
    parser.add_argument("--patience", type=int, default=RECIPE["patience"])
    parser.add_argument("--crop", type=int, default=RECIPE["crop_size"],
                        help="centre crop fed to the net (px)")
    parser.add_argument("--augment", nargs="+", default=RECIPE["augment"])
    parser.add_argument("--pretrained", default=None,
                        help="weights every fold's nets start from (e.g. a net trained on "
                             "simulated stamps)")
    parser.add_argument("--pretrain-simulated", type=int, default=0, metavar="N",
                        help="first train a net on N simulated PAndAS-like stamps "
                             "(datasets/ground_stamps.py) and start every fold from it")
    parser.add_argument("--save", default=None,
                        help="write each stamp's held-out probabilities here (.npz)")
    args = parser.parse_args()
    train_seed = args.seed if args.train_seed is None else args.train_seed
    native = read_stamp_folder(args.data, size=128)   # 492 come at 128 px, 36 at 64
    if args.pretrain_simulated:
        args.pretrained = pretrain_on_simulated(args.pretrain_simulated, args, train_seed)
    labels = np.where(native.labels == "cluster", 1, 2)
    truth = labels == 1
    print(f"{len(labels)} stamps ({truth.sum()} clusters, {(~truth).sum()} galaxies) from "
          f"{len(set(native.groups))} PAndAS fields; {args.folds}-fold grouped CV")
    folds = StratifiedGroupKFold(args.folds, shuffle=True, random_state=args.seed)
    results: dict[str, list[dict[str, float]]] = {"recipe": [], "morphology": [], "mean": []}
    held_out = {name: np.full(len(labels), np.nan) for name in ("fold", "recipe", "morphology")}
    for k, (train, test) in enumerate(folds.split(native.stamps, labels, native.groups), 1):
        card = pandas_card(args)
        start = time.perf_counter()
        config = TrainConfig(epochs=args.epochs, batch_size=RECIPE["batch_size"],
                             learning_rate=args.lr,
                             patience=args.patience, seed=train_seed,
                             augmentations=tuple(args.augment))
        net = StampClassifier(card, device="auto", config=config)
        if args.pretrained:
            load_pretrained(net.net, args.pretrained)
        net.fit(native.stamps[train], labels[train], native.groups[train])
        fit_s = time.perf_counter() - start
        p_net = net.predict_proba(native.stamps[test])[:, 0]
        morphology = MorphologyClassifier(random_state=args.seed).fit(native.stamps[train],
                                                                      truth[train])
        p_morph = morphology.predict_proba(native.stamps[test])[:, 1]
        held_out["fold"][test], held_out["recipe"][test], held_out["morphology"][test] = (
            k, p_net, p_morph)
        for name, prob in (("recipe", p_net), ("morphology", p_morph),
                           ("mean", (1 - MORPHOLOGY_WEIGHT) * p_net + MORPHOLOGY_WEIGHT * p_morph)):
            results[name].append(scores(truth[test], prob))
        print(f"fold {k}: {len(test)} stamps from {len(set(native.groups[test]))} fields; "
              + "; ".join(f"{n} F1 {r[-1]['f1']:.3f} ECE {r[-1]['ece']:.3f}"
                          for n, r in results.items())
              + f" (net fit {fit_s:.0f} s, T {card.temperature:.2f})", flush=True)
    for name, rows in results.items():
        cells = ", ".join(f"{key} {np.mean([r[key] for r in rows]):.3f} +- "
                          f"{np.std([r[key] for r in rows]):.3f}"
                          for key in ("f1", "precision", "recall", "ece", "ece if calibrated"))
        print(f"{name:10} {cells}")
    held_out["mean"] = ((1 - MORPHOLOGY_WEIGHT) * held_out["recipe"]
                        + MORPHOLOGY_WEIGHT * held_out["morphology"])
    for name in results:  # every stamp once, by the fold that never saw it
        cells = ", ".join(f"{key} {value:.3f}" for key, value in
                          scores(truth, held_out[name]).items())
        print(f"{name:10} all {len(truth)} held-out stamps: {cells}")
    if args.save:
        np.savez(args.save, truth=truth, groups=native.groups, **held_out)


if __name__ == "__main__":
    main()
