"""Small real-like stamp sets: the default recipe, calibration, CV and the self-check."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from vocluster.classification.classifier import fit_temperature
from vocluster.classification.evaluation import beats_majority, evaluate_predictions, reliability
from vocluster.classification.store import find_model
from vocluster.cli.main import main

# Trains ResNet-18s on stamp folders, with cross-validation.
pytestmark = pytest.mark.slow


def _write_folder(root, n_per_class: int, identical: bool, seed: int = 0):
    """cluster/ and galaxy/ PNG stamps (96 px) named like PAndAS cutouts, 6 fields.
    Clusters: many point sources; galaxies: one smooth ellipse. `identical`: every stamp
    the same image, so nothing can be learnt."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:96, :96] - 47.5
    base = rng.normal(30, 4, (96, 96))
    for label in ("cluster", "galaxy"):
        (root / label).mkdir(parents=True)
        for i in range(n_per_class):
            image = base.copy()
            if not identical:
                image = rng.normal(30, 4, (96, 96))
                if label == "cluster":
                    for _ in range(40):
                        x, y = rng.normal(0, 8, 2)
                        image += 120 * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / 2.0)
                else:
                    angle, q = rng.uniform(0, np.pi), rng.uniform(0.3, 0.6)
                    u = xx * np.cos(angle) + yy * np.sin(angle)
                    v = (-xx * np.sin(angle) + yy * np.cos(angle)) / q
                    image += 150 * np.exp(-np.hypot(u, v) / 6.0)
            field = f"m{100 + i % 6}"
            name = f"cutout_{field}_g_ccd_1_{10 + i * 0.01:.4f}_{41 + i * 0.01:.4f}.png"
            Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(root / label / name)
    return root


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_temperature_scaling_softens_an_overconfident_net():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 400)
    # right 80% of the time, but with logits that claim ~99.99%
    correct = rng.uniform(size=400) < 0.8
    sign = np.where(correct, 1, -1) * np.where(labels == 1, 1, -1)
    logits = np.column_stack([-5.0 * sign, 5.0 * sign])
    temperature = fit_temperature(logits, labels)
    assert temperature > 2.0
    calibrated = torch.softmax(torch.from_numpy(logits / temperature), 1).numpy()[:, 1]
    assert 0.7 < calibrated[labels == 1][correct[labels == 1]].mean() < 0.9


def test_the_calibration_error_is_judged_against_a_calibrated_models_counting_noise():
    rng = np.random.default_rng(1)
    prob = rng.beta(0.5, 0.5, 100)
    calibrated = reliability(rng.random(100) < prob, prob)  # labels drawn from the probs
    assert calibrated["ece_if_calibrated"] > 0.05  # ten bins on 100 stamps: noise
    assert calibrated["expected_calibration_error"] < 2 * calibrated["ece_if_calibrated"]
    many = rng.beta(0.5, 0.5, 10_000)
    assert reliability(rng.random(10_000) < many, many)["ece_if_calibrated"] < 0.015
    overconfident = reliability(rng.random(100) < prob, np.where(prob > 0.5, 0.99, 0.01))
    assert (overconfident["expected_calibration_error"]
            > 5 * overconfident["ece_if_calibrated"])


def test_reliability_and_the_majority_check():
    truth = np.array([True] * 30 + [False] * 70)
    curve = reliability(truth, np.where(truth, 0.95, 0.05))
    assert curve["expected_calibration_error"] == pytest.approx(0.05)
    useless = evaluate_predictions(np.where(truth, 1, 2), np.tile([0.2, 0.8], (100, 1)),
                                   (1, 2), (1,))
    assert not beats_majority(useless)[0]
    good = evaluate_predictions(np.where(truth, 1, 2),
                                np.column_stack([truth * 0.9 + 0.05, 0.95 - truth * 0.9]),
                                (1, 2), (1,))
    assert beats_majority(good)[0]


def test_small_real_stamp_set_gets_the_small_data_recipe_and_cv(tmp_path, capsys):
    data = _write_folder(tmp_path / "stamps", 24, identical=False)
    code, out, err = run(capsys, "train", "--data", data, "--epochs", 2, "--cv", 3,
                         "-o", tmp_path / "model")
    assert code == 0, err
    card = json.loads((tmp_path / "model" / "card.json").read_text())
    assert card["arch"] == "resnet18" and card["test_time_augmentation"] is True
    assert card["preprocessing"]["crop_size"] == 64
    assert card["temperature"] > 0
    assert card["morphology_weight"] == 0.5  # the mean with the morphology model
    assert card["ensemble"] == 3 and len(card["training"]["best_epoch"]) == 3
    assert (tmp_path / "model" / "morphology.npz").is_file() and card["morphology_sha256"]
    assert len(card["metrics"]["cross_validation"]["folds"]) == 3
    assert "3-fold grouped cross-validation" in out


def test_a_folder_of_unlabelled_stamps_is_classified_and_explained_by_name(tmp_path, capsys):
    """Stamps without labels, of other and mixed sizes: read at the model's size, one row
    per file, the class by name; evaluate reads a mixed-size folder the same way with no
    flag; Grad-CAM overlays are named after the object and its class."""
    from astropy.table import Table

    data = _write_folder(tmp_path / "stamps", 16, identical=False)
    code, _, err = run(capsys, "train", "--data", data, "--epochs", 2, "-o", tmp_path / "m")
    assert code == 0, err
    unlabelled = tmp_path / "new"
    unlabelled.mkdir()
    for k, path in enumerate(sorted(data.glob("*/*.png"))[::4]):
        size = 80 if k % 2 else 128  # mixed, like PAndAS's 64- and 128-px cutouts
        Image.open(path).resize((size, size)).save(unlabelled / f"cand_{k:02d}.png")
    code, out, err = run(capsys, "classify", "--stamps", unlabelled, "--model", tmp_path / "m",
                         "-o", tmp_path / "classes.vot")
    assert code == 0, err
    table = Table.read(tmp_path / "classes.vot")
    assert list(table["file"]) == sorted(p.name for p in unlabelled.glob("*.png"))
    assert set(table["class_name"]) <= {"cluster", "galaxy"}
    assert np.allclose(table["class_prob_1"] + table["class_prob_2"], 1, atol=1e-5)
    assert "8 stamps" in out
    mixed = tmp_path / "mixed"
    for k, path in enumerate(sorted(data.glob("*/*.png"))):
        (mixed / path.parent.name).mkdir(parents=True, exist_ok=True)
        Image.open(path).resize((64, 64) if k % 3 else (96, 96)).save(mixed / path.parent.name
                                                                     / path.name)
    code, out, err = run(capsys, "evaluate", tmp_path / "m", "--data", mixed)
    assert code == 0, err
    assert "32 stamps" in out
    code, _, err = run(capsys, "classify", "--stamps", unlabelled, "--images", "x.fits",
                       "--model", tmp_path / "m", "-o", tmp_path / "both.vot")
    assert code == 2 and "not both" in err
    code, _, err = run(capsys, "explain", "--model", tmp_path / "m", "--data", data,
                       "--rows", 2, "--out-dir", tmp_path / "cams")
    assert code == 0, err
    names = sorted(p.name for p in (tmp_path / "cams").glob("*.png"))
    assert len(names) == 2 and all(n.startswith("gradcam_cutout_m10") for n in names)
    assert all(n.endswith(("_cluster.png", "_galaxy.png")) for n in names)


def test_strict_training_fails_when_nothing_was_learnt(tmp_path, capsys):
    data = _write_folder(tmp_path / "stamps", 18, identical=True)
    code, out, err = run(capsys, "train", "--data", data, "--epochs", 1, "--strict",
                         "-o", tmp_path / "model")
    assert code == 3
    assert "no better than guessing" in out + err
    assert (tmp_path / "model" / "card.json").exists()  # written, and said to be useless


def test_fine_tuning_the_shipped_model_takes_its_card(tmp_path, capsys):
    """The shipped StarcNet is narrow and takes 32-px, 5-band stamps: `--from` needs no
    size flags, and stamps of another size are resized, never a traceback."""
    from vocluster.datasets.stamp_simulator import HST_FILTERS, simulate_stamps
    from vocluster.io.stamp_files import StampSet, write_npz

    sim = simulate_stamps(60, seed=3)
    big = np.repeat(np.repeat(sim.stamps, 2, axis=-1), 2, axis=-2)  # 64-px stamps
    write_npz(StampSet(big, sim.labels, sim.groups, [], HST_FILTERS), tmp_path / "s.npz")
    code, _, err = run(capsys, "train", "--data", tmp_path / "s.npz", "--from",
                         "vocluster-sim-starcnet", "--cluster-classes", 1, 2, "--epochs", 1,
                         "-o", tmp_path / "tuned")
    assert code == 0, err
    card = json.loads((tmp_path / "tuned" / "card.json").read_text())
    shipped = json.loads((find_model("vocluster-sim-starcnet") / "card.json").read_text())
    assert card["arch"] == "starcnet" and card["arch_options"] == shipped["arch_options"]
    assert card["stamp_size"] == shipped["stamp_size"] == 32  # the 64-px stamps were resized
    assert card["morphology_weight"] == 0  # five bands: the net alone
