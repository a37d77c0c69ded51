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
    card = classifier.card
    if len(images) != len(card.bands):
        raise InputError(f"model {card.name} takes {len(card.bands)} bands "
                         f"({', '.join(card.bands)}), got {len(images)} image(s)")
    threshold = card.threshold if threshold is None else threshold
    if not 0.0 <= threshold <= 1.0:  # also refuses NaN: -3 would call everything a cluster
        raise InputError(f"the cluster_prob threshold must be within [0, 1], got {threshold}")
    cut = stamps_for_table(table, images, card.stamp_size)
    usable = cut.usable
    proba = np.full((len(table), len(card.classes)), np.nan)
    if usable.any():
        proba[usable] = classifier.predict_proba(cut.stamps[usable], progress)
    missing = ~usable
    out = table.copy()
    best = np.nanargmax(np.where(missing[:, None], 0.0, proba), axis=1)
    out["class_pred"] = MaskedColumn(np.asarray(card.classes)[best], mask=missing,
                                     description="Predicted class: " + "; ".join(
                                         f"{c} {card.class_names.get(c, '')}".strip()
                                         for c in card.classes),
                                     meta={"ucd": "meta.code.class;src.class"})
    for k, cls in enumerate(card.classes):
        out[f"class_prob_{cls}"] = MaskedColumn(proba[:, k], mask=missing,
                                                description=f"Probability of class {cls}",
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
    out["stamp_flag"] = MaskedColumn(cut.flags, description="1 edge-padded stamp, 2 off image "
                                     "(no class), 4 NaN pixels zeroed",
                                     meta={"ucd": "meta.code.qual"})
    out.meta.update({
        "vocluster_version": __version__, "vocluster_model": card.name,
        "vocluster_model_version": card.version, "vocluster_model_arch": card.arch,
        "vocluster_model_sha256": card.weights_sha256 or "",
        "vocluster_bands": ", ".join(f"{band}={image.name}"
                                     for band, image in zip(card.bands, images, strict=True)),
        "vocluster_threshold": threshold,
        "vocluster_classified": int(usable.sum()), "vocluster_unclassified": int(missing.sum()),
    })
    return out
