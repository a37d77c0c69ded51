"""The morphology reference: its measures react to what they are named after, the
classifier on three scales separates lumpy round objects from smooth elongated ones, and
its trees are stored as arrays and averaged with a net as the small-data recipe does."""

import numpy as np
import pytest

from vocluster.classification.card import ModelCard
from vocluster.classification.classifier import StampClassifier
from vocluster.classification.morphology import (
    FEATURE_NAMES,
    MULTISCALE_FEATURE_NAMES,
    MorphologyClassifier,
    MorphologyModel,
    morphology_features,
    multiscale_features,
)
from vocluster.classification.store import MORPHOLOGY, load_classifier, save_classifier
from vocluster.classification.training import TrainConfig
from vocluster.errors import InputError

SIZE = 64


def _grid():
    yy, xx = np.mgrid[:SIZE, :SIZE] - (SIZE - 1) / 2.0
    return xx, yy


def _cluster(rng) -> np.ndarray:
    """Resolved stars (PSF sigma 1.3 px) round a smooth core, like an M31 cluster."""
    xx, yy = _grid()
    image = 120 * np.exp(-(xx**2 + yy**2) / (2 * 3.0**2))
    for x, y in rng.normal(0, 4.0, (40, 2)):
        image += rng.uniform(60, 240) * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 1.3**2))
    return image + rng.normal(0, 3.0, image.shape)


def _galaxy(rng) -> np.ndarray:
    """A smooth exponential disc, axis ratio 0.3-0.6 at a random angle."""
    xx, yy = _grid()
    angle, q = rng.uniform(0, np.pi), rng.uniform(0.3, 0.6)
    u = xx * np.cos(angle) + yy * np.sin(angle)
    v = (-xx * np.sin(angle) + yy * np.cos(angle)) / q
    image = 600 * np.exp(-np.hypot(u, v) / 4.0)
    return image + rng.normal(0, 3.0, image.shape)


def _stamps(rng, n):
    stamps = np.array([_cluster(rng) for _ in range(n)] + [_galaxy(rng) for _ in range(n)])
    return stamps[:, None], np.repeat([True, False], n)


def test_lumpy_round_and_smooth_elongated_objects_differ_in_the_named_measures():
    rng = np.random.default_rng(0)
    stamps, is_cluster = _stamps(rng, 10)
    features = morphology_features(stamps)
    column = {name: features[:, i] for i, name in enumerate(FEATURE_NAMES)}
    assert column["ellipticity"][~is_cluster].min() > column["ellipticity"][is_cluster].max()
    assert column["asymmetry"][is_cluster].min() > column["asymmetry"][~is_cluster].max()


def test_the_classifier_on_three_scales_separates_new_objects():
    rng = np.random.default_rng(1)
    train, train_truth = _stamps(rng, 40)
    test, test_truth = _stamps(rng, 20)
    model = MorphologyClassifier().fit(train, train_truth)
    assert multiscale_features(test).shape == (40, len(MULTISCALE_FEATURE_NAMES))
    assert np.mean(model.predict(test) == test_truth) >= 0.9


def test_stamps_too_small_for_three_scales_are_refused_in_words():
    with pytest.raises(ValueError, match="at least 32 x 32"):
        multiscale_features(np.zeros((2, 1, 16, 16)))


def test_the_stored_trees_give_the_classifiers_probabilities_without_pickle(tmp_path):
    rng = np.random.default_rng(2)
    train, truth = _stamps(rng, 30)
    test, _ = _stamps(rng, 10)
    fitted = MorphologyClassifier(random_state=3).fit(train, truth)
    MorphologyModel.from_classifier(fitted).save(tmp_path / "trees.npz")
    loaded = MorphologyModel.load(tmp_path / "trees.npz")  # np.load(allow_pickle=False)
    assert np.allclose(loaded.probability(test), fitted.predict_proba(test)[:, 1],
                       rtol=0, atol=1e-12)


def _card(bands=("g",), classes=(1, 2)) -> ModelCard:
    return ModelCard("mean", "resnet18", bands, classes, stamp_size=SIZE,
                     class_names={1: "cluster", 2: "galaxy"}, cluster_classes=(1,),
                     morphology_weight=0.5)


def test_a_net_and_morphology_mean_is_saved_loaded_and_checked(tmp_path):
    """The mean of the net and the trees is what `predict_proba` gives, before and after
    a save; a replaced trees file is refused by its checksum."""
    rng = np.random.default_rng(4)
    stamps, truth = _stamps(rng, 16)
    labels = np.where(truth, 1, 2)
    classifier = StampClassifier(_card(), device="cpu",
                                 config=TrainConfig(epochs=1, batch_size=16))
    classifier.fit(stamps, labels, groups=np.arange(len(labels)) % 4)
    proba = classifier.predict_proba(stamps)
    assert np.allclose(proba.sum(1), 1.0)
    cluster = classifier.morphology.probability(stamps)
    net_only = (proba[:, 0] - 0.5 * cluster) / 0.5
    assert np.all((net_only > -1e-6) & (net_only < 1 + 1e-6))  # a mean of two probabilities
    save_classifier(classifier, tmp_path / "model")
    loaded = load_classifier(str(tmp_path / "model"), device="cpu")
    assert np.allclose(loaded.predict_proba(stamps), proba, atol=1e-5)
    MorphologyModel.from_classifier(  # another model's trees in its place
        MorphologyClassifier(random_state=9).fit(stamps, ~truth)).save(
        tmp_path / "model" / MORPHOLOGY)
    with pytest.raises(InputError, match="checksum"):
        load_classifier(str(tmp_path / "model"), device="cpu")


def test_morphology_on_stamps_it_cannot_measure_is_refused_in_words():
    stamps = np.zeros((8, 3, SIZE, SIZE), dtype=np.float32)
    classifier = StampClassifier(_card(bands=("g", "r", "i")), device="cpu",
                                 config=TrainConfig(epochs=1))
    with pytest.raises(InputError, match=r"single-band stamps.*--no-morphology"):
        classifier.fit(stamps, np.repeat([1, 2], 4))
