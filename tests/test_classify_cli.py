"""`vocluster classify / train / evaluate / explain / models` end to end, with the shipped
default model on images built from simulated stamps, and every bad input named."""

import json

import numpy as np
import pytest
import torch
from astropy.io import fits
from astropy.io.votable import parse
from astropy.table import Table
from helpers.stamp_images import make_wcs, write_band_images

from vocluster.cli.main import main


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def field(tmp_path_factory):
    folder = tmp_path_factory.mktemp("field")
    paths, table, _ = write_band_images(folder, 30, seed=8)
    table.add_row({"id": 98, "ra": 11.5, "dec": 40.0, "x": 5000, "y": 5000, "true_class": 4})
    table.add_row({"id": 99, "ra": float(table["ra"][0]), "dec": float(table["dec"][0]),
                   "x": 3.0, "y": 3.0, "true_class": 4})
    table["ra"][-1], table["dec"][-1] = np.nan, np.nan  # no position at all
    corner = make_wcs().pixel_to_world(3.0, 3.0)  # a stamp that crosses the image edge
    table.add_row({"id": 97, "ra": corner.ra.deg, "dec": corner.dec.deg, "x": 3.0, "y": 3.0,
                   "true_class": 4})
    catalogue = folder / "candidates.ecsv"
    table.write(catalogue)
    return folder, paths, catalogue


def test_classify_adds_classes_and_flags(field, capsys):
    folder, paths, catalogue = field
    out = folder / "classified.vot"
    code, stdout, err = run(capsys, "classify", catalogue, "--images", *paths, "-o", out,
                            "--overwrite")
    assert code == 0, err
    result = Table.read(out)
    assert {"class_pred", "class_prob_1", "class_prob_4", "cluster_prob", "is_cluster",
            "stamp_flag"} <= set(result.colnames)
    assert result["class_prob_2"].meta["ucd"] == "stat.probability"
    assert "31 classified" in stdout and "2 off the images" in stdout
    for missing in (98, 99):
        off = result[result["id"] == missing][0]
        assert off["stamp_flag"] & 2 and np.ma.is_masked(off["class_pred"])
    edge = result[result["id"] == 97][0]
    assert edge["stamp_flag"] == 1 and not np.ma.is_masked(edge["class_pred"])
    infos = {i.name: i.value for i in parse(str(out)).get_first_table().infos}
    assert infos["vocluster_model"] == "vocluster-sim-starcnet"
    assert infos["vocluster_bands"].startswith("F275W=F275W")
    good = result[:30]
    truth = np.isin(good["true_class"], [1, 2])
    accuracy = (np.asarray(good["is_cluster"]) == truth).mean()
    assert accuracy >= 0.7, f"default model cluster/not accuracy {accuracy:.2f}"


def test_pixel_positions_work_without_wcs(field, tmp_path, capsys):
    _folder, paths, catalogue = field
    plain = []
    for path in paths:
        data = fits.getdata(path)
        target = tmp_path / path.name
        fits.PrimaryHDU(data).writeto(target)
        plain.append(target)
    table = Table.read(catalogue)
    table.remove_columns(["ra", "dec"])
    table[:5].write(tmp_path / "xy.csv")
    code, _, err = run(capsys, "classify", tmp_path / "xy.csv", "--images", *plain,
                       "-o", tmp_path / "out.csv")
    assert code == 0, err
    assert len(Table.read(tmp_path / "out.csv")) == 5
    code, _, err = run(capsys, "classify", catalogue, "--images", *plain,
                       "-o", tmp_path / "out2.csv")
    assert code == 2 and "has no celestial WCS" in err


def test_bad_classify_inputs_are_one_line_errors(field, tmp_path, capsys):
    _folder, paths, catalogue = field
    code, _, err = run(capsys, "classify", catalogue, "--images", *paths[:3],
                       "-o", tmp_path / "o.vot")
    assert code == 2 and "takes 5 bands" in err and "got 3 image(s)" in err
    code, _, err = run(capsys, "classify", catalogue, "--images", *paths, "--model", "nope",
                       "-o", tmp_path / "o.vot")
    assert code == 2 and "no model 'nope'" in err
    Table({"a": [1.0]}).write(tmp_path / "nopos.csv")
    code, _, err = run(capsys, "classify", tmp_path / "nopos.csv", "--images", *paths,
                       "-o", tmp_path / "o.vot")
    assert code == 2 and "needs RA/Dec" in err
    existing = tmp_path / "exists.vot"
    existing.write_text("keep me")
    code, _, err = run(capsys, "classify", catalogue, "--images", *paths, "-o", existing)
    assert code == 2 and "exists" in err and existing.read_text() == "keep me"
    if not torch.cuda.is_available():
        code, _, err = run(capsys, "classify", catalogue, "--images", *paths, "--device",
                           "cuda", "-o", tmp_path / "cuda.vot")
        assert code == 2 and "no CUDA GPU" in err and len(err.strip().splitlines()) == 1
        assert not (tmp_path / "cuda.vot").exists()


@pytest.mark.parametrize("option, value, message", [
    ("--lr", "-1", "learning_rate must be > 0"), ("--epochs", "0", "epochs must be"),
    ("--batch-size", "0", "batch_size must be")])
def test_impossible_training_settings_are_one_line_errors(tmp_path, capsys, option, value,
                                                          message):
    code, _, err = run(capsys, "train", "--simulate", 40, option, value, "-o", tmp_path / "m")
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "m").exists()


@pytest.mark.slow
def test_train_evaluate_explain_and_models(tmp_path, capsys):
    model = tmp_path / "tiny"
    code, stdout, err = run(capsys, "train", "--simulate", 240, "--epochs", 2, "--width", 8,
                            "--hidden", 16, "--checkpoint", tmp_path / "ck.pt", "-o", model)
    assert code == 0, err
    assert "accuracy" in stdout and (model / "weights.pt").exists()
    card = json.loads((model / "card.json").read_text())
    assert card["metrics"]["held_out_test"]["n"] > 0
    assert card["training"]["command"].startswith("vocluster train --simulate 240")
    code, _, err = run(capsys, "train", "--simulate", 240, "--epochs", 2, "-o", model)
    assert code == 2 and "exists" in err
    code, stdout, err = run(capsys, "evaluate", model, "--simulate", 120, "--data-seed", 7,
                            "--plot", tmp_path / "eval.png", "--json", tmp_path / "eval.json",
                            "--target-purity", 0.6)
    assert code == 0, err
    assert "cluster vs not" in stdout and (tmp_path / "eval.png").stat().st_size > 10_000
    code, stdout, err = run(capsys, "explain", "--model", model, "--simulate", 3,
                            "--rows", 3, "--out-dir", tmp_path / "cams")
    assert code == 0, err
    assert len(list((tmp_path / "cams").glob("gradcam_*.png"))) == 3
    code, stdout, _ = run(capsys, "models", "list")
    assert code == 0 and "vocluster-sim-starcnet" in stdout
    code, stdout, _ = run(capsys, "models", "show", "vocluster-sim-starcnet")
    assert code == 0 and "held_out_test" in stdout and "fine-tuning" in stdout


@pytest.mark.parametrize("threshold", ["5", "nan", "-3"])
def test_a_threshold_outside_zero_one_is_refused_in_one_line(field, tmp_path, capsys, threshold):
    _, paths, catalogue = field
    code, _, err = run(capsys, "classify", catalogue, "--images", *paths, "-o",
                       tmp_path / "x.vot", "--threshold", threshold)
    assert code == 2 and "threshold must be within [0, 1]" in err
    assert not (tmp_path / "x.vot").exists()


def test_a_damaged_model_card_is_named_in_one_line(field, tmp_path, capsys):
    _, paths, catalogue = field
    (tmp_path / "badmodel").mkdir()
    (tmp_path / "badmodel" / "card.json").write_text("{garbage")
    code, _, err = run(capsys, "classify", catalogue, "--images", *paths, "--model",
                       tmp_path / "badmodel", "-o", tmp_path / "x.vot")
    assert code == 2 and "model card" in err and "is damaged" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_models_in_configured_folders_are_found_by_name(field, tmp_path, capsys,
                                                        monkeypatch):
    """`$VOCLUSTER_MODELS` and `[models] dirs` are read by the configuration, and every
    command that takes a model name searches them (a fetched model too, in the cache)."""
    import shutil

    from vocluster.classification.store import SHIPPED_MODELS

    _, paths, catalogue = field
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    shutil.copytree(SHIPPED_MODELS / "vocluster-sim-starcnet", mine / "my-copy")
    shutil.copytree(SHIPPED_MODELS / "vocluster-sim-starcnet", theirs / "lab-copy")
    config = tmp_path / "config.toml"
    config.write_text(f'[models]\ndirs = ["{theirs}"]\n')
    monkeypatch.setenv("VOCLUSTER_CONFIG", str(config))
    monkeypatch.setenv("VOCLUSTER_CACHE_DIR", str(tmp_path / "cache"))
    code, stdout, _ = run(capsys, "models", "list")
    assert code == 0 and str(theirs / "lab-copy") in stdout
    monkeypatch.setenv("VOCLUSTER_MODELS", str(mine))  # the environment overrides the file
    code, stdout, _ = run(capsys, "models", "list")
    assert code == 0 and str(mine / "my-copy") in stdout and "lab-copy" not in stdout
    code, _, err = run(capsys, "classify", catalogue, "--images", *paths, "--model",
                       "my-copy", "-o", tmp_path / "mine.vot")
    assert code == 0, err
    monkeypatch.delenv("VOCLUSTER_MODELS")
    code, _, err = run(capsys, "classify", catalogue, "--images", *paths, "--model",
                       "lab-copy", "-o", tmp_path / "theirs.vot")
    assert code == 0, err
    code, _, err = run(capsys, "classify", catalogue, "--images", *paths, "--model",
                       "my-copy", "-o", tmp_path / "gone.vot")
    assert code == 2 and "no model 'my-copy'" in err
