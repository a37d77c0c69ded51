"""Catalogue in, catalogue out: classify every row's stamp and add class columns.

Rows whose stamp cannot be cut (off an image, no position) keep all their columns and
get null classes and a flag; nothing is dropped.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.table import MaskedColumn, Table

from vocluster import __version__
from vocluster.classification.classifier import StampClassifier
from vocluster.classification.cutouts import FLAG_OFF_IMAGE, BandImage, Cutouts, cut_stamps
from vocluster.core.columns import column_values, detect_columns
from vocluster.errors import InputError


def stamps_for_table(table: Table, images: list[BandImage], size: int) -> Cutouts:
    """Cut stamps at the table's RA/Dec (preferred) or pixel x/y columns."""
    columns = detect_columns(table)
    if columns.has("ra") and columns.has("dec"):
        ra, dec = column_values(table, columns, "ra"), column_values(table, columns, "dec")
        good = np.isfinite(ra) & np.isfinite(dec)
        sky = SkyCoord(np.where(good, ra, 0.0) * u.deg, np.where(good, dec, 0.0) * u.deg)
        cut = cut_stamps(images, size, sky=sky)
    elif columns.has("x_pix") and columns.has("y_pix"):
        x, y = column_values(table, columns, "x_pix"), column_values(table, columns, "y_pix")
        good = np.isfinite(x) & np.isfinite(y)
        cut = cut_stamps(images, size, x=np.where(good, x, -1e9), y=np.where(good, y, -1e9))
    else:
        shown = ", ".join(table.colnames[:20])
        raise InputError("the catalogue needs RA/Dec (ra, dec, RA_ICRS, DE_ICRS or UCD "
                         f"pos.eq.ra/dec) or pixel x/y columns; it has: {shown}")
    flags = cut.flags.copy()
    flags[~good] |= FLAG_OFF_IMAGE
    return Cutouts(cut.stamps, flags)


def classify_table(table: Table, images: list[BandImage], classifier: StampClassifier,
                   threshold: float | None = None,
                   progress: Callable[[int], None] | None = None) -> Table:
    """Class columns for a catalogue's positions, from stamps cut out of band images.

    Parameters
    ----------
    table : Table
        RA/Dec (or pixel x/y) per candidate; kept as it is, columns are added.
    images : list of BandImage
        One per band, in the model card's band order.
    classifier : StampClassifier
        A loaded model (`load_classifier`).
    threshold : float, optional
        is_cluster = cluster_prob >= threshold (default: the card's).
    progress : callable, optional
        Called with the number of stamps done.

    Returns
    -------
    Table
        The input with class_pred, class_name, class_prob_<k>, cluster_prob, is_cluster
        and stamp_flag; rows off the images are masked, not dropped.
    """
    card = classifier.card
    if len(images) != len(card.bands):
        raise InputError(f"model {card.name} takes {len(card.bands)} bands "
                         f"({', '.join(card.bands)}), got {len(images)} image(s)")
    threshold = _checked_threshold(card, threshold)
    cut = stamps_for_table(table, images, card.stamp_size)
    out = add_class_columns(table.copy(), cut.stamps, cut.usable, classifier, threshold,
                            progress)
    out["stamp_flag"] = MaskedColumn(cut.flags, description="1 edge-padded stamp, 2 off image "
                                     "(no class), 4 NaN pixels zeroed",
                                     meta={"ucd": "meta.code.qual"})
    out.meta["vocluster_bands"] = ", ".join(
        f"{band}={image.name}" for band, image in zip(card.bands, images, strict=True))
    return out


def classify_stamps(stamps: np.ndarray, names: list[str], classifier: StampClassifier,
                    threshold: float | None = None,
                    progress: Callable[[int], None] | None = None) -> Table:
    """Class columns for ready-made stamps (a folder of images): one row per stamp, named
    by `names` (the file each came from), with the same columns as `classify_table`."""
    threshold = _checked_threshold(classifier.card, threshold)
    table = Table({"file": np.asarray(names, dtype=str)})
    table["file"].meta = {"ucd": "meta.ref.url"}
    return add_class_columns(table, stamps, np.ones(len(names), bool), classifier, threshold,
                             progress)


def _checked_threshold(card, threshold: float | None) -> float:
    threshold = card.threshold if threshold is None else threshold
    if not 0.0 <= threshold <= 1.0:  # also refuses NaN: -3 would call everything a cluster
        raise InputError(f"the cluster_prob threshold must be within [0, 1], got {threshold}")
    return threshold


def add_class_columns(out: Table, stamps: np.ndarray, usable: np.ndarray,
                      classifier: StampClassifier, threshold: float,
                      progress: Callable[[int], None] | None = None) -> Table:
    """Predict the usable stamps and add the class columns (masked where not usable)."""
    card = classifier.card
    proba = np.full((len(out), len(card.classes)), np.nan)
    if usable.any():
        proba[usable] = classifier.predict_proba(stamps[usable], progress)
    missing = ~usable
    best = np.nanargmax(np.where(missing[:, None], 0.0, proba), axis=1)
    predicted = np.asarray(card.classes)[best]
    out["class_pred"] = MaskedColumn(predicted, mask=missing,
                                     description="Predicted class: " + "; ".join(
                                         f"{c} {card.class_names.get(c, '')}".strip()
                                         for c in card.classes),
                                     meta={"ucd": "meta.code.class;src.class"})
    out["class_name"] = MaskedColumn(
        np.asarray([card.class_names.get(int(c), str(c)) for c in predicted], dtype=str),
        mask=missing, description="Name of the predicted class",
        meta={"ucd": "src.class"})
    for k, cls in enumerate(card.classes):
        out[f"class_prob_{cls}"] = MaskedColumn(proba[:, k], mask=missing,
                                                description="Probability of class "
                                                f"{cls} ({card.class_names.get(cls, cls)})",
                                                meta={"ucd": "stat.probability"})
    cluster_prob = np.where(missing, np.nan, classifier.cluster_probability(
        np.nan_to_num(proba)))
    out["cluster_prob"] = MaskedColumn(cluster_prob, mask=missing,
                                       description="Summed probability of classes "
                                       + ", ".join(map(str, card.cluster_classes)),
                                       meta={"ucd": "stat.probability"})
    out["is_cluster"] = MaskedColumn(np.nan_to_num(cluster_prob) >= threshold, mask=missing,
                                     description=f"cluster_prob >= {threshold}",
                                     meta={"ucd": "meta.code.class"})
    out.meta.update({
        "vocluster_version": __version__, "vocluster_model": card.name,
        "vocluster_model_version": card.version, "vocluster_model_arch": card.arch,
        "vocluster_model_sha256": card.weights_sha256 or "",
        "vocluster_threshold": threshold,
        "vocluster_classified": int(usable.sum()), "vocluster_unclassified": int(missing.sum()),
    })
    return out
