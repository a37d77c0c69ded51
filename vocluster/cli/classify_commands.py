"""CLI commands for stamp classification: train, evaluate, classify, explain, models."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from vocluster.atomic import refuse_existing
from vocluster.errors import InputError

console = Console(stderr=True)


def _progress_bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=True)


def _labelled_stamps(args: argparse.Namespace, model_stamp_size: int | None = None):
    """(StampSet, class numbers, class names, cluster classes) from --data or --simulate.
    Image files are read at --resize, else at the size the model was trained on (what
    `train --resize` made of its images), so evaluating needs no flag repeated."""
    from vocluster.classification.card import STARCNET_CLASS_NAMES
    from vocluster.datasets.stamp_simulator import HST_FILTERS, simulate_stamps
    from vocluster.io.stamp_files import StampSet, read_stamps

    if args.simulate:
        sim = simulate_stamps(args.simulate, seed=args.data_seed)
        stamps = StampSet(sim.stamps, sim.labels, sim.groups, [], HST_FILTERS)
        return stamps, (1, 2, 3, 4), STARCNET_CLASS_NAMES, (1, 2)
    if not args.data:
        raise InputError("give --data (a folder of class sub-folders or an .npz) or --simulate N")
    stamps = read_stamps(args.data, size=args.resize or model_stamp_size)
    names = sorted({str(v) for v in stamps.labels})
    if all(name.isdigit() for name in names):
        classes = tuple(sorted(int(n) for n in names))
        class_names = {c: str(c) for c in classes}
        stamps.labels = stamps.labels.astype(int)
    else:
        classes = tuple(range(1, len(names) + 1))
        class_names = dict(zip(classes, names, strict=True))
        lookup = {name: c for c, name in class_names.items()}
        stamps.labels = np.asarray([lookup[str(v)] for v in stamps.labels])
    wanted = getattr(args, "cluster_classes", None) or [n for n in names if "cluster" in n]
    cluster = tuple(c for c, n in class_names.items() if n in wanted or str(c) in wanted)
    if not cluster:
        raise InputError(f"say which classes are clusters with --cluster-classes; classes: "
                         f"{', '.join(names)}")
    return stamps, classes, class_names, cluster


SMALL_DATA = 2000  # stamps: below this, the small-data recipe is the default
RECIPES = {
    # Measured on real PAndAS stamps (benchmarks/pandas_m31.py, grouped 5-fold CV by
    # field): a ResNet-18 on the stamp's centre at native resolution (resolved stars are
    # what tells a cluster from a galaxy, and resizing blurs them away), strong rotation
    # augmentation, a low learning rate with long patience, and the 8 rotations/flips
    # averaged at prediction time; then the mean with the morphology model on the whole
    # stamp (cluster F1 0.815 -> 0.86, pooled held-out ECE 0.07 -> 0.04); three such nets
    # from seeds seed..seed+2, averaged (nets/ensemble.py: median over seeds 0.864 -> 0.872).
    "small-data": {"arch": "resnet18", "lr": 3e-4, "epochs": 30, "patience": 15,
                   "batch_size": 32, "augment": ["flip", "rot90", "rotate"], "tta": True,
                   "channel_recipe": "constant", "crop_size": 64, "morphology": True,
                   "ensemble": 3},
    # The StarcNet recipe for large (simulated or LEGUS-sized) multi-band sets.
    "standard": {"arch": "starcnet", "lr": 1e-3, "epochs": 30, "patience": 6,
                 "batch_size": 64, "augment": ["flip", "rot90", "rescale"], "tta": False,
                 "channel_recipe": "bands", "crop_size": None, "morphology": False,
                 "ensemble": 1},
}
# The morphology model's share of the mean: equal, as measured (benchmarks/pandas_m31.py).
MORPHOLOGY_WEIGHT = 0.5


def _apply_recipe(args: argparse.Namespace, n_stamps: int, stamp_size: int,
                  n_bands: int, n_classes: int) -> None:
    """Fill every option the user did not give from the recipe (`--recipe auto`: the
    small-data one for real stamp sets below SMALL_DATA stamps). A crop larger than the
    stamp is dropped, the constant extra channel only applies to single-band stamps, and
    the morphology model only to single-band stamps of two classes and 32 px or more."""
    name = args.recipe
    if name == "auto":  # StarcNet sizes (--width/--hidden) or simulated stamps: standard
        small = n_stamps < SMALL_DATA and args.data and not (args.width or args.hidden)
        name = "small-data" if small else "standard"
    recipe = dict(RECIPES[name])
    if recipe["crop_size"] and recipe["crop_size"] >= stamp_size:
        recipe["crop_size"] = None
    if n_bands > 1:
        recipe["channel_recipe"] = "bands"
    if n_bands > 1 or n_classes != 2 or stamp_size < 32:
        recipe["morphology"] = False
    chosen = []
    for key, value in recipe.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
            chosen.append(f"{key}={value}")
    console.print(f"[dim]recipe {name} ({n_stamps} stamps): {', '.join(chosen) or 'all given'}",
                  highlight=False)


def _model_search() -> tuple[Path, ...]:
    """The configured model folders (`$VOCLUSTER_MODELS`, `[models] dirs`, the cache)."""
    from vocluster.vo.services import load_config

    return load_config().model_dirs


def _take_from_card(args: argparse.Namespace, stamps: np.ndarray) -> np.ndarray:
    """Fine-tuning from a model: its architecture, sizes and preprocessing come from its
    card (flags that disagree are overruled, and said so), and stamps of another size
    are resized to the size the model was trained on."""
    from vocluster.classification.card import ModelCard
    from vocluster.classification.store import CARD, find_model

    card = ModelCard.read(find_model(args.from_model, _model_search()) / CARD)
    if card.arch == "keras":
        raise InputError(f"{args.from_model} is a Keras model; fine-tune it in Keras")
    wanted = {"arch": card.arch, "width": card.arch_options.get("width"),
              "hidden": card.arch_options.get("hidden"),
              "normalisation": card.preprocessing.normalisation,
              "channel_recipe": card.preprocessing.channel_recipe,
              "crop_size": card.preprocessing.crop_size,
              "input_size": card.preprocessing.input_size,
              "band_means": list(card.preprocessing.band_means) or None}
    overruled = [f"--{k.replace('_', '-')}" for k, v in wanted.items()
                 if getattr(args, k, None) not in (None, v)
                 and not (k == "normalisation" and args.normalisation == "stamp_zscore")]
    for key, value in wanted.items():
        setattr(args, key, value)
    if overruled:
        console.print(f"vocluster: note: {', '.join(overruled)} taken from {card.name}'s card",
                      highlight=False)
    return _fit_to_card(stamps, card)


def _fit_to_card(stamps: np.ndarray, card) -> np.ndarray:
    """Stamps with the card's band count, resized (and said) to its stamp size."""
    from vocluster.io.stamp_files import resize_stamps

    if stamps.shape[1] != len(card.bands):
        raise InputError(f"{card.name} takes {len(card.bands)} bands "
                         f"({', '.join(card.bands)}); the stamps have {stamps.shape[1]}")
    if stamps.shape[-1] != card.stamp_size:
        console.print(f"[dim]resizing {stamps.shape[-1]}-px stamps to {card.name}'s "
                      f"{card.stamp_size} px", highlight=False)
        stamps = resize_stamps(stamps, card.stamp_size)
    return stamps


def cmd_train(args: argparse.Namespace) -> int:
    from vocluster.classification.card import ModelCard
    from vocluster.classification.preprocessing import Preprocessing
    from vocluster.classification.store import WEIGHTS, find_model, save_classifier
    from vocluster.classification.training import TrainConfig
    from vocluster.classification.workflow import train_classifier

    output = Path(args.output)
    refuse_existing(output, args.overwrite)
    stamps, classes, class_names, cluster = _labelled_stamps(args)
    if args.from_model:
        stamps.stamps = _take_from_card(args, stamps.stamps)
    _apply_recipe(args, len(stamps.labels), stamps.stamps.shape[-1], stamps.stamps.shape[1],
                  len(classes))
    bands = tuple(args.bands) if args.bands else stamps.bands
    arch_options = {k: v for k, v in (("width", args.width), ("hidden", args.hidden)) if v}
    card = ModelCard(
        name=args.name or output.name, arch=args.arch, bands=bands, classes=classes,
        class_names=class_names, cluster_classes=cluster, arch_options=arch_options,
        preprocessing=Preprocessing(args.normalisation, channel_recipe=args.channel_recipe,
                                    input_size=args.input_size, crop_size=args.crop_size,
                                    band_means=tuple(args.band_means or ())),
        stamp_size=stamps.stamps.shape[-1], pixel_scale_arcsec=args.pixel_scale,
        description=args.description or "", test_time_augmentation=args.tta,
        morphology_weight=MORPHOLOGY_WEIGHT if args.morphology else 0.0,
        ensemble=args.ensemble,
        training={"data": args.data or f"vocluster simulator, {args.simulate} stamps, "
                  f"seed {args.data_seed}", "test_fraction": args.test_fraction,
                  "split": "by group (galaxy / field)", "pretrained": args.pretrained,
                  "command": "vocluster " + shlex.join(args.argv)})
    if args.from_model:
        args.pretrained = str(find_model(args.from_model, _model_search()) / WEIGHTS)
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size,
                         learning_rate=args.lr, patience=args.patience,
                         augmentations=tuple(args.augment), seed=args.seed)

    def on_fold(k: int, row: dict) -> None:
        print(f"fold {k}/{args.cv}: {row['n']} stamps, cluster F1 {row['f1']:.3f} "
              f"(precision {row['precision']:.3f}, recall {row['recall']:.3f}), "
              f"ECE {row['ece']:.3f} ({row['ece_if_calibrated']:.3f} if calibrated)")

    with _progress_bar() as bar:
        task = bar.add_task("training", total=args.epochs * args.ensemble)

        def on_batch(epoch: int, batch: int, n_batches: int) -> None:
            net, epoch_of_net = divmod(epoch, args.epochs)
            bar.update(task, completed=epoch + (batch + 1) / n_batches,
                       description=f"net {net + 1}/{args.ensemble}, epoch {epoch_of_net + 1}/"
                                   f"{args.epochs}" if args.ensemble > 1 else
                                   f"epoch {epoch_of_net + 1}/{args.epochs}")

        classifier, report = train_classifier(
            stamps.stamps, stamps.labels, stamps.groups, card, config,
            test_fraction=args.test_fraction, pretrained=args.pretrained, device=args.device,
            cv_folds=args.cv or 0,
            checkpoint=Path(args.checkpoint) if args.checkpoint else None,
            resume=args.resume, on_batch=on_batch, on_fold=on_fold)
    if report.fresh_layers is not None:
        console.print(f"[dim]loaded {args.pretrained}; fresh: "
                      f"{', '.join(report.fresh_layers) or 'none'}")
    if report.cross_validation:
        cross = report.cross_validation
        pooled = cross["pooled"]
        print(f"{args.cv}-fold grouped cross-validation: cluster F1 {cross['f1']['mean']:.3f} "
              f"+- {cross['f1']['std']:.3f}, ECE {cross['ece']['mean']:.3f} per fold "
              f"({cross['ece_if_calibrated']['mean']:.3f} if calibrated); all held-out "
              f"stamps: F1 {pooled['f1']:.3f}, ECE {pooled['expected_calibration_error']:.3f} "
              f"({pooled['ece_if_calibrated']:.3f} if calibrated)")
    for row in report.history.epochs:
        print(f"epoch {row['epoch'] + 1}: train loss {row['train_loss']:.3f}  "
              f"val loss {row['val_loss']:.3f}  val accuracy {row['val_accuracy']:.3f}")
    if report.held_out is not None:
        _print_report(report.held_out, class_names)
        if not report.better_than_guessing:
            console.print(f"vocluster: warning: this model is no better than guessing on its "
                          f"held-out stamps ({report.verdict}); train longer, on more stamps, "
                          f"or with another recipe", style="bold red", highlight=False)
    save_classifier(classifier, output, overwrite=args.overwrite)
    print(f"wrote model {output}")
    if args.strict and not report.better_than_guessing:
        print("vocluster: error: --strict: the model is not clearly better than guessing "
              "(or there was no held-out split to show it)", file=sys.stderr)
        return 3
    return 0


def _print_report(report: dict, class_names: dict) -> None:
    print(f"{report['n']} stamps: accuracy {report['accuracy']:.3f}")
    for cls, row in report["per_class"].items():
        print(f"  class {cls} {class_names.get(int(cls), '')}: precision {row['precision']:.3f} "
              f"recall {row['recall']:.3f} F1 {row['f1']:.3f} (n={row['support']})")
    binary = report["binary"]
    print(f"cluster vs not (threshold {binary['threshold']:.3f}): accuracy "
          f"{binary['accuracy']:.3f} precision {binary['precision']:.3f} recall "
          f"{binary['recall']:.3f} F1 {binary['f1']:.3f}")
    if "best_f1_threshold" in binary:
        print(f"best-F1 threshold {binary['best_f1_threshold']:.3f}")
    curve = binary["reliability"]
    print(f"expected calibration error {curve['expected_calibration_error']:.3f} (a perfectly "
          f"calibrated model would show {curve['ece_if_calibrated']:.3f} on these stamps); "
          f"reliability "
          + ", ".join(f"{p:.2f}->{o:.2f} (n={n})" for p, o, n in zip(
              curve["mean_probability"], curve["observed_fraction"], curve["counts"],
              strict=True) if p is not None))


def cmd_evaluate(args: argparse.Namespace) -> int:
    from vocluster.classification.evaluation import choose_threshold, evaluate_predictions
    from vocluster.classification.store import load_classifier
    from vocluster.io.files import write_text
    from vocluster.reports.classification_plots import plot_evaluation

    classifier = load_classifier(args.model, device=args.device, search=_model_search())
    card = classifier.card
    stamps, _, _, _ = _labelled_stamps(args, card.stamp_size)
    proba = classifier.predict_proba(stamps.stamps)
    threshold = args.threshold if args.threshold is not None else card.threshold
    truth = np.isin(stamps.labels, card.cluster_classes)
    if args.target_purity is not None:
        threshold = choose_threshold(truth, classifier.cluster_probability(proba),
                                     args.target_purity)
        print(f"threshold for purity {args.target_purity}: {threshold:.3f}")
    report = evaluate_predictions(stamps.labels, proba, card.classes, card.cluster_classes,
                                  threshold)
    _print_report(report, card.class_names)
    if args.json:
        write_text(json.dumps(report, indent=2) + "\n", args.json, overwrite=args.overwrite)
    if args.plot:
        plot_evaluation(report, truth, classifier.cluster_probability(proba), args.plot,
                        title=f"{card.name} on {args.data or 'simulated stamps'}",
                        class_names=card.class_names)
        print(f"wrote {args.plot}")
    return 0


def _images_and_table(args: argparse.Namespace):
    from vocluster.io.files import read_table
    from vocluster.io.images import read_band_images

    if not args.catalog or not args.images:
        raise InputError("give the catalogue and its band images (--images), one per band")
    return read_table(args.catalog), read_band_images(args.images)


ID_COLUMNS = ("id", "name", "source_id", "objid", "object")


def _object_names(table, rows: np.ndarray) -> list[str]:
    """What each object is called: its catalogue id or name column when there is one,
    else its row number."""
    lower = {name.lower(): name for name in table.colnames}
    column = next((lower[c] for c in ID_COLUMNS if c in lower), None)
    if column is None:
        return [f"row{r}" for r in rows]
    return [str(table[column][r]) for r in rows]


def cmd_classify(args: argparse.Namespace) -> int:
    from vocluster.classification.pipeline import classify_stamps, classify_table
    from vocluster.classification.store import load_classifier
    from vocluster.io.files import table_format, write_table

    table_format(args.output)
    refuse_existing(args.output, args.overwrite)
    if bool(args.stamps) == bool(args.catalog or args.images):
        raise InputError("give a catalogue with --images, or --stamps FOLDER, not both")
    classifier = load_classifier(args.model, device=args.device, compile=args.compile,
                                 search=_model_search())
    with _progress_bar() as bar:
        if args.stamps:
            stamps, names = _folder_stamps(args.stamps, classifier.card)
            task = bar.add_task("classifying", total=len(names))
            result = classify_stamps(stamps, names, classifier, args.threshold,
                                     progress=lambda done: bar.update(task, completed=done))
        else:
            table, images = _images_and_table(args)
            task = bar.add_task("classifying", total=len(table))
            result = classify_table(table, images, classifier, args.threshold,
                                    progress=lambda done: bar.update(task, completed=done))
    write_table(result, args.output, overwrite=args.overwrite)
    clusters = int(np.asarray(result["is_cluster"].filled(False)).sum())
    if args.stamps:
        print(f"{len(result)} stamps: {clusters} clusters; model {classifier.card.name}")
    else:
        flagged = int((np.asarray(result["stamp_flag"]) != 0).sum())
        print(f"{len(result)} rows: {result.meta['vocluster_classified']} classified, "
              f"{clusters} clusters, {result.meta['vocluster_unclassified']} off the images, "
              f"{flagged} flagged; model {classifier.card.name}")
    print(f"wrote {args.output}")
    return 0


def _folder_stamps(folder: str, card) -> tuple[np.ndarray, list[str]]:
    """A folder's stamps, each image read at the model's stamp size (as `train --resize`
    read the training images, so a folder of mixed sizes needs no flag), with file names."""
    from vocluster.io.stamp_files import read_unlabelled_stamps

    found = read_unlabelled_stamps(folder, size=card.stamp_size)
    return _fit_to_card(found.stamps, card), [Path(source).name for source in found.sources]


def cmd_explain(args: argparse.Namespace) -> int:
    from vocluster.atomic import safe_stem
    from vocluster.classification.gradcam import grad_cam
    from vocluster.classification.pipeline import stamps_for_table
    from vocluster.classification.store import load_classifier
    from vocluster.reports.classification_plots import plot_gradcam

    classifier = load_classifier(args.model, device=args.device, search=_model_search())
    card = classifier.card
    if args.catalog:
        table, images = _images_and_table(args)
        cut = stamps_for_table(table, images, card.stamp_size)
        rows = np.flatnonzero(cut.usable)[: args.rows]
        stamps, names = cut.stamps[rows], _object_names(table, rows)
    else:
        stamp_set, _, class_names, _ = _labelled_stamps(args, card.stamp_size)
        rows = np.arange(min(args.rows, len(stamp_set.stamps)))
        stamps = stamp_set.stamps[rows]
        names = [f"{Path(stamp_set.sources[i]).stem}_{class_names[stamp_set.labels[i]]}"
                 if stamp_set.sources else f"{i}_{class_names[stamp_set.labels[i]]}"
                 for i in rows]
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    maps = grad_cam(classifier, stamps, target_class=args.target_class)
    proba = classifier.predict_proba(stamps)
    for name, stamp, heat, p in zip(names, stamps, maps, proba, strict=True):
        best = card.classes[int(np.argmax(p))]
        explained = args.target_class or best
        path = out_dir / f"gradcam_{safe_stem(name)}.png"
        plot_gradcam(stamp, heat, path, title=f"{name}: {card.class_names.get(best, best)} "
                     f"(p={p.max():.2f}), Grad-CAM for "
                     f"{card.class_names.get(explained, explained)}")
    print(f"wrote {len(names)} Grad-CAM overlays to {out_dir}")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from vocluster.classification.store import CARD, find_model, list_models
    from vocluster.vo.services import load_config
    from vocluster.vo.weights import fetch_published

    config = load_config()
    cache_dir = config.cache_dir
    if args.action == "list":
        for path, card in list_models(config.model_dirs):
            acc = card.metrics.get("held_out_test", {}).get("accuracy")
            score = f"held-out accuracy {acc:.3f}" if acc is not None else ""
            print(f"{card.name:28s} {card.arch:10s} {len(card.bands)} bands  {score}  {path}")
        return 0
    if not args.name:
        raise InputError(f"models {args.action} needs a model NAME")
    if args.action == "show":
        from vocluster.classification.card import ModelCard

        print(ModelCard.read(find_model(args.name, config.model_dirs) / CARD).markdown())
        return 0
    if args.action == "import-keras":
        return _import_keras(args, cache_dir)
    if not args.url:
        raise InputError("models fetch needs --url (where the published weights file is)")
    target = fetch_published(args.name, args.url, cache_dir, args.sha256)
    print(f"installed {args.name} in {target}")
    return 0


def _import_keras(args: argparse.Namespace, cache_dir: Path) -> int:
    from vocluster.classification.card import ModelCard
    from vocluster.classification.preprocessing import Preprocessing
    from vocluster.classification.store import import_keras

    if not args.file or not args.bands:
        raise InputError("models import-keras needs --file MODEL.keras and --bands")
    classes = tuple(args.classes or (1, 2, 3, 4))
    card = ModelCard(args.name, "keras", tuple(args.bands), classes,
                     Preprocessing(args.normalisation, band_means=tuple(args.band_means or ())),
                     cluster_classes=tuple(args.cluster_classes or (classes[0],)),
                     stamp_size=args.stamp_size, source_url=str(Path(args.file).resolve()),
                     description=f"Keras model imported from {Path(args.file).name}")
    target = Path(args.output) if args.output else cache_dir / "models" / args.name
    import_keras(Path(args.file), card, target, overwrite=args.overwrite)
    print(f"imported {args.file} as {args.name} in {target}")
    return 0


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", help="stamps: folder with one sub-folder per class "
                                       "(PNG/JPEG), a table with file/label[/group] columns, "
                                       "or an .npz (stamps, labels, groups)")
    parser.add_argument("--simulate", type=int, metavar="N",
                        help="use N stamps from the built-in HST-like simulator instead")
    parser.add_argument("--data-seed", type=int, default=1, help="simulator seed")
    parser.add_argument("--resize", type=int, metavar="PX",
                        help="resize image stamps of mixed sizes to PX x PX (evaluate, "
                             "explain: default the model's stamp size)")
    parser.add_argument("--cluster-classes", nargs="*",
                        help="class names that count as clusters (default: names with "
                             "'cluster')")


def add_commands(sub) -> None:
    from vocluster.classification.choices import (
        ARCHITECTURES,
        AUGMENTATIONS,
        CHANNEL_RECIPES,
        DEFAULT_MODEL,
        NORMALISATIONS,
    )

    train = sub.add_parser("train", help="train a stamp classifier")
    _add_data_options(train)
    train.add_argument("-o", "--output", required=True, help="model directory to write")
    train.add_argument("--name", help="model name (default: the directory name)")
    train.add_argument("--description", help="one paragraph for the model card")
    train.add_argument("--recipe", default="auto", choices=["auto", *RECIPES],
                       help="defaults for the options below (auto: small-data under "
                            f"{SMALL_DATA} stamps, else standard)")
    train.add_argument("--arch", choices=ARCHITECTURES)
    train.add_argument("--width", type=int, help="StarcNet filters per conv (published: 128)")
    train.add_argument("--hidden", type=int, help="StarcNet fc1 size (published: 128)")
    train.add_argument("--bands", nargs="*", help="band names, in the order of the stamps")
    train.add_argument("--pixel-scale", type=float, help="arcsec per pixel, for the card")
    train.add_argument("--normalisation", default="stamp_zscore", choices=NORMALISATIONS)
    train.add_argument("--band-means", nargs="*", type=float, help="for band_mean")
    train.add_argument("--channel-recipe", choices=CHANNEL_RECIPES)
    train.add_argument("--input-size", type=int, help="resize stamps for the net (e.g. 224)")
    train.add_argument("--crop-size", type=int, help="central crop before resizing")
    train.add_argument("--pretrained", help="state_dict file to start from (e.g. ImageNet)")
    train.add_argument("--from", dest="from_model", metavar="MODEL",
                       help="fine-tune a shipped or fetched model: its card gives the "
                            "architecture, sizes and preprocessing")
    train.add_argument("--epochs", type=int)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--lr", type=float)
    train.add_argument("--patience", type=int, help="early-stopping patience")
    train.add_argument("--augment", nargs="*", choices=AUGMENTATIONS)
    train.add_argument("--test-fraction", type=float, default=0.2,
                       help="held out by group for the card's metrics")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    train.add_argument("--checkpoint", help="checkpoint file, written every epoch")
    train.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    train.add_argument("--cv", type=int, metavar="K",
                       help="first report grouped K-fold cross-validation (by field/galaxy)")
    train.add_argument("--tta", action=argparse.BooleanOptionalAction, default=None,
                       help="average each stamp's 8 rotations/flips at prediction time")
    train.add_argument("--morphology", action=argparse.BooleanOptionalAction, default=None,
                       help="average the net with gradient boosting on measured morphology "
                            "(default: on in the small-data recipe, for one band, two "
                            "classes, stamps of 32 px or more)")
    train.add_argument("--ensemble", type=int, metavar="N",
                       help="average N nets trained from seeds seed..seed+N-1 (default: 3 in "
                            "the small-data recipe, else 1)")
    train.add_argument("--strict", action="store_true",
                       help="exit 3 when the held-out result is no better than guessing")
    train.add_argument("--overwrite", action="store_true")
    train.set_defaults(handler=cmd_train)

    evaluate = sub.add_parser("evaluate", help="score a model on labelled stamps")
    evaluate.add_argument("model", nargs="?", default=DEFAULT_MODEL, help="name or path")
    _add_data_options(evaluate)
    evaluate.add_argument("--threshold", type=float, help="on cluster_prob (default: card's)")
    evaluate.add_argument("--target-purity", type=float, help="choose the threshold for it")
    evaluate.add_argument("--plot", metavar="PNG", help="confusion matrices and PR curve")
    evaluate.add_argument("--json", metavar="PATH", help="write the report as JSON")
    evaluate.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    evaluate.add_argument("--overwrite", action="store_true")
    evaluate.set_defaults(handler=cmd_evaluate)

    classify = sub.add_parser("classify", help="classify catalogue positions on band images, "
                              "or a folder of stamps")
    classify.add_argument("catalog", nargs="?", help="table with RA/Dec or pixel x/y columns")
    classify.add_argument("--images", nargs="+",
                          help="FITS images, one per band in the model's band order, or a cube")
    classify.add_argument("--stamps", help="a folder of PNG/JPEG stamps to classify instead "
                          "(no labels; resized to the model's stamp size)")
    classify.add_argument("-o", "--output", required=True)
    classify.add_argument("--model", default=DEFAULT_MODEL, help="name or path")
    classify.add_argument("--threshold", type=float, help="is_cluster = cluster_prob >= T")
    classify.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    classify.add_argument("--compile", action="store_true",
                          help="torch.compile the net (faster for big catalogues)")
    classify.add_argument("--overwrite", action="store_true")
    classify.set_defaults(handler=cmd_classify)

    explain = sub.add_parser("explain", help="Grad-CAM overlays (PNG) per object")
    explain.add_argument("catalog", nargs="?", help="table with positions (with --images)")
    explain.add_argument("--images", nargs="+")
    _add_data_options(explain)
    explain.add_argument("--model", default=DEFAULT_MODEL)
    explain.add_argument("--rows", type=int, default=16, help="how many objects")
    explain.add_argument("--target-class", type=int, help="class to explain (default: best)")
    explain.add_argument("--out-dir", default="gradcam", help="where the PNGs go")
    explain.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    explain.set_defaults(handler=cmd_explain)

    models = sub.add_parser("models", help="list, show, fetch or import models")
    models.add_argument("action", choices=["list", "show", "fetch", "import-keras"])
    models.add_argument("name", nargs="?")
    models.add_argument("--url", help="fetch: where the weights file is")
    models.add_argument("--sha256", help="fetch: expected checksum")
    models.add_argument("--file", help="import-keras: the .keras file")
    models.add_argument("--bands", nargs="*", help="import-keras: band names in input order")
    models.add_argument("--classes", nargs="*", type=int, help="import-keras: class numbers")
    models.add_argument("--cluster-classes", nargs="*", type=int,
                        help="import-keras: which classes are clusters")
    models.add_argument("--normalisation", default="stamp_zscore", choices=NORMALISATIONS)
    models.add_argument("--band-means", nargs="*", type=float)
    models.add_argument("--stamp-size", type=int, default=32)
    models.add_argument("-o", "--output", help="import-keras: model directory "
                                               "(default: the user model cache)")
    models.add_argument("--overwrite", action="store_true")
    models.set_defaults(handler=cmd_models)
