"""Cluster-candidate classification from image stamps.

Data flow: cutouts (stamps from band images) -> preprocessing (normalisation, channel
recipe) -> nets (StarcNet, ResNet, VGG, Keras) -> classifier (fit / predict_proba) ->
pipeline (class columns on the input table). workflow (train_classifier: split, train,
calibrate, evaluate), training, evaluation, gradcam, card and store are the tools around it.
"""

from importlib import import_module

# Imported on first use: torch costs seconds, and `vocluster --help` needs none of it.
_LAZY = {"StampClassifier": "vocluster.classification.classifier",
         "TrainConfig": "vocluster.classification.training",
         "train_classifier": "vocluster.classification.workflow",
         "cross_validate": "vocluster.classification.workflow",
         "classify_table": "vocluster.classification.pipeline",
         "load_classifier": "vocluster.classification.store"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = sorted(_LAZY)
