"""How well could any method do? Per-star F1 of a classifier that is told the truth.

    python benchmarks/injection_bound.py [--shared ../shared] [--fields pleiades,m67]
        [--distances 1000] [--masses 100,300,1000] [--seeds 2] [--draws 30]

The grid benchmark (injection.py) scores vocluster against the injected truth, but a
cluster of 100 solar masses at 1 kpc may simply not be separable from the field at
G 19-21, where members and field stars lie within their errors of each other. This
benchmark asks how far the truth itself is separable, cell by cell, on the same
clusters as the grid (same pairs and seeds, so the same draws):

- a gradient-boosted classifier is trained with the true labels: `--draws` more draws
  of the same cluster (same place, motion, age; other stars) against half of the real
  field, given every observed column plus the offsets from the cluster's true centre
  on the sky and in proper motion (an oracle's features, which no method has);
- it scores the other half of the field and the grid's own draw, twice with the halves
  swapped, its odds rescaled from its training mixture to one draw in the whole field.

Printed per cell: vocluster's F1 (precision/recall, guided by the injected values, as
in the grid), the classifier's F1 at p >= 0.5, and its best F1 over thresholds chosen
on the scored draw itself (optimistic). The classifier is not the Bayes limit (it
learns from a few thousand cluster stars), so where vocluster matches it the cell is at
what the data allow, not proven at the limit.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from astropy.table import Table
from injection import (
    GRID_DISTANCES,
    GRID_MASSES,
    grid_pairs,
    grid_specs,
    load_field,
    options_for,
    real_cluster,
)
from real_fields import score
from sklearn.ensemble import HistGradientBoostingClassifier

from vocluster.core.sample import GaiaSample, load_sample
from vocluster.datasets.injection import ClusterSpec, inject, simulate
from vocluster.datasets.validation import Footprint, run_injection

# Training draws are seeded apart from the grid's seeds (0, 1, ...), so never the scored one.
TRAINING_SEED_OFFSET = 10_000


def oracle_features(table: Table, sample: GaiaSample, spec: ClusterSpec) -> np.ndarray:
    """Every observed column, plus sky and proper-motion offsets from the true centre."""
    def column(key: str) -> np.ndarray:
        name = sample.columns.columns.get(key)
        if name is None or name not in table.colnames:
            return np.full(len(table), np.nan)
        return np.ma.filled(np.ma.asarray(table[name], dtype=float), np.nan)

    xi = (column("ra") - spec.ra) * np.cos(np.radians(spec.dec))
    eta = column("dec") - spec.dec
    pmra, pmdec = column("pmra"), column("pmdec")
    return np.column_stack([xi, eta, np.hypot(xi, eta), pmra, pmdec,
                            np.hypot(pmra - spec.pmra, pmdec - spec.pmdec), column("parallax"),
                            column("phot_g_mean_mag"), column("bp_rp"),
                            column("parallax_error")])


def observed_draw(spec: ClusterSpec, sample: GaiaSample, seed: int) -> Table:
    stars = simulate(spec, sample, seed)
    return stars[Footprint(sample).observable(stars)]


def told_probabilities(field: Table, sample: GaiaSample, spec: ClusterSpec, seed: int,
                       draws: int) -> tuple[np.ndarray, np.ndarray]:
    """(p, truth) over the grid's injected table, from classifiers trained with the truth."""
    scored = inject(field, sample, observed_draw(spec, sample, seed), 1)
    truth = np.asarray(scored["injected_id"].filled(0)) == 1
    x = oracle_features(scored, sample, spec)
    draws_seen = [inject(field[:0], sample,
                         observed_draw(spec, sample, TRAINING_SEED_OFFSET + k), 1)
                  for k in range(draws)]
    cluster = np.vstack([oracle_features(stars, sample, spec) for stars in draws_seen])
    measured = np.isfinite(x).any(axis=0)  # a field without error columns has none to learn
    x, cluster = x[:, measured], cluster[:, measured]
    field_rows = np.flatnonzero(~truth)
    in_first = np.random.default_rng(seed).random(len(field_rows)) < 0.5
    log_odds = np.zeros(len(x))
    for half in (in_first, ~in_first):
        trained, scored_field = field_rows[half], field_rows[~half]
        classifier = HistGradientBoostingClassifier(
            max_iter=400, learning_rate=0.05, l2_regularization=1.0, early_stopping=True,
            validation_fraction=0.15, random_state=seed).fit(
            np.vstack([cluster, x[trained]]),
            np.r_[np.ones(len(cluster)), np.zeros(len(trained))])
        # From the training mix (all draws, half the field) to one draw in the whole field.
        odds = (classifier.decision_function(x) + np.log(truth.sum() / len(cluster))
                + np.log(len(trained) / len(field_rows)))
        log_odds[scored_field] = odds[scored_field]
        log_odds[truth] += 0.5 * odds[truth]
    return 1.0 / (1.0 + np.exp(-log_odds)), truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared"))
    parser.add_argument("--fields", default="pleiades,m67")
    parser.add_argument("--distances", default="1000")
    parser.add_argument("--masses", default="100,300,1000")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--draws", type=int, default=30)
    args = parser.parse_args()
    wanted = set(grid_pairs(args.distances, args.masses))
    pairs = grid_pairs(GRID_DISTANCES, GRID_MASSES)  # the grid's order draws its clusters
    below = {"vocluster": 0, "told, p >= 0.5": 0, "told, best threshold": 0}
    cells = 0
    for name in args.fields.split(","):
        field = load_field(Path(args.shared), name)
        sample = load_sample(field, require_positions=True)
        real = real_cluster(field)
        for seed in range(args.seeds):
            specs = grid_specs(name, sample, pairs, seed, real)
            for spec in specs:
                if (spec.distance_pc, spec.mass) not in wanted:
                    continue
                ours = run_injection(field, sample, spec, options_for("default", "values"), seed)
                p, truth = told_probabilities(field, sample, spec, seed, args.draws)
                told = score(p >= 0.5, truth)
                best = max(score(p >= t, truth)[0] for t in np.linspace(0.05, 0.95, 91))
                cells += 1
                for key, value in zip(below, (ours.f1, told[0], best), strict=True):
                    below[key] += value < 0.95
                print(f"{name:8} d={spec.distance_pc:5.0f} pc M={spec.mass:5.0f} seed {seed} "
                      f"N={ours.n_injected:4d}  vocluster {ours.f1:.3f} "
                      f"({ours.precision:.3f}/{ours.recall:.3f})  told {told[0]:.3f} "
                      f"({told[1]:.3f}/{told[2]:.3f}), best threshold {best:.3f}", flush=True)
    print(f"cells below F1 0.95 of {cells}: " + ", ".join(f"{k} {v}" for k, v in below.items()))


if __name__ == "__main__":
    main()
