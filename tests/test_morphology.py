"""The morphology reference: its measures react to what they are named after, and the
classifier on three scales separates lumpy round objects from smooth elongated ones."""

import numpy as np
import pytest

from vocluster.classification.morphology import (
    FEATURE_NAMES,
    MULTISCALE_FEATURE_NAMES,
    MorphologyClassifier,
    morphology_features,
    multiscale_features,
)

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
