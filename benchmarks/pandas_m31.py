"""Real stamps: cluster vs galaxy on PAndAS M31 g-band cutouts (../shared/data/pandas_m31).

    python benchmarks/pandas_m31.py [--seeds 0 1 2] [--epochs 60] [--lr 3e-4] [--patience 15]

The test set is whole PAndAS fields (a quarter of the stamps), never seen in training;
inside training the validation split for early stopping is again by field. The net is a
ResNet-18 trained from scratch (no ImageNet weights here) on the M31 study's recipe:
per-stamp z-score, the band plus a constant channel; stamps resized to 64 px (they come
at 128 and 64 px; 64 also fits a 2-core CPU).
Prints accuracy, precision, recall and F1 for clusters at p >= 0.5 and at the M31
study's 0.669, per seed and as medians.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from vocluster.classification.card import ModelCard
from vocluster.classification.classifier import StampClassifier
from vocluster.classification.evaluation import evaluate_predictions
from vocluster.classification.preprocessing import Preprocessing
from vocluster.classification.splits import group_split
from vocluster.classification.training import TrainConfig
from vocluster.sources.stamp_files import read_stamp_folder

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pandas_m31"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--arch", default="resnet18")
    parser.add_argument("--input-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--patience", type=int, default=15)
    args = parser.parse_args()
    stamps = read_stamp_folder(args.data, size=args.input_size)  # 492 are 128 px, 36 are 64
    labels = np.where(stamps.labels == "cluster", 1, 2)
    print(f"{len(labels)} stamps ({(labels == 1).sum()} clusters, {(labels == 2).sum()} "
          f"galaxies) from {len(set(stamps.groups))} PAndAS fields")
    rows = []
    for seed in args.seeds:
        keep, test = group_split(stamps.groups, 0.25, seed=100 + seed)
        card = ModelCard("pandas-m31", args.arch, ("g",), (1, 2),
                         Preprocessing("stamp_zscore", channel_recipe="constant"),
                         class_names={1: "cluster", 2: "galaxy"}, cluster_classes=(1,),
                         stamp_size=stamps.stamps.shape[-1], pixel_scale_arcsec=0.187)
        classifier = StampClassifier(card, device="auto")
        start = time.perf_counter()
        classifier.fit(stamps.stamps[keep], labels[keep], stamps.groups[keep],
                       TrainConfig(epochs=args.epochs, batch_size=32, learning_rate=args.lr,
                                   patience=args.patience, seed=seed,
                                   augmentations=("flip", "rot90", "rotate")))
        fit_s = time.perf_counter() - start
        proba = classifier.predict_proba(stamps.stamps[test])
        for threshold in (0.5, 0.669):
            report = evaluate_predictions(labels[test], proba, (1, 2), (1,), threshold)
            b = report["binary"]
            rows.append((threshold, b["accuracy"], b["precision"], b["recall"], b["f1"]))
            print(f"seed {seed} threshold {threshold}: test {len(test)} stamps from "
                  f"{len(set(stamps.groups[test]))} fields; accuracy {b['accuracy']:.3f} "
                  f"precision {b['precision']:.3f} recall {b['recall']:.3f} F1 {b['f1']:.3f} "
                  f"(fit {fit_s:.0f} s, best epoch {classifier.history.best_epoch + 1})")
    for threshold in (0.5, 0.669):
        chosen = [r for r in rows if r[0] == threshold]
        medians = [statistics.median(r[i] for r in chosen) for i in range(1, 5)]
        print(f"median over seeds, threshold {threshold}: accuracy {medians[0]:.3f} precision "
              f"{medians[1]:.3f} recall {medians[2]:.3f} F1 {medians[3]:.3f}")


if __name__ == "__main__":
    main()
