import numpy as np
import pytest
import torch

from dcgan_lib.data import SyntheticShapes
from dcgan_lib.shapes import FACTOR_LEVELS, FACTOR_NAMES, render_shape
from dcgan_lib.shapes_classifier import (
    CLASSIFIER_PATH,
    FactorClassifier,
    clean_shape_mask,
    describe,
    dominant_colours,
    factor_accuracy,
    factor_probabilities,
    load_factor_classifier,
    parse_concept,
    predict_factors,
    save_factor_classifier,
)


@pytest.fixture(scope="module")
def classifier():
    return load_factor_classifier()


@pytest.fixture(scope="module")
def fresh_shapes():
    return SyntheticShapes(
        n=400, image_size=32, seed=777
    )  # a seed neither the GAN nor training used


def test_shipped_classifier_is_small_and_loads_with_weights_only():
    assert CLASSIFIER_PATH.stat().st_size < 1_000_000
    state = torch.load(CLASSIFIER_PATH, map_location="cpu", weights_only=True)
    assert set(state["test_accuracy"]) == set(FACTOR_NAMES)


def test_classifier_reads_every_factor_of_fresh_shapes(classifier, fresh_shapes):
    accuracy = factor_accuracy(fresh_shapes.images, fresh_shapes.labels, classifier)
    assert min(accuracy.values()) > 0.95, accuracy


def test_predict_factors_returns_one_label_per_image_and_factor(classifier, fresh_shapes):
    predictions = predict_factors(fresh_shapes.images[:7], classifier)
    assert set(predictions) == set(FACTOR_NAMES)
    for name, labels in predictions.items():
        assert labels.shape == (7,) and labels.dtype == torch.long
        assert 0 <= labels.min() and labels.max() < FACTOR_LEVELS[name]


def test_probabilities_sum_to_one_and_low_confidence_is_marked_unsure(classifier, fresh_shapes):
    probabilities = factor_probabilities(fresh_shapes.images[:5], classifier)
    assert probabilities["colour"].shape == (5, 4)
    torch.testing.assert_close(probabilities["shape"].sum(dim=1), torch.ones(5))
    unsure = predict_factors(fresh_shapes.images[:5], classifier, min_confidence=1.01)
    assert all((labels == -1).all() for labels in unsure.values())


def test_wrong_image_size_is_rejected_with_a_clear_message(classifier):
    with pytest.raises(ValueError, match=r"\(N, 3, 32, 32\).*synthetic-shapes"):
        predict_factors(torch.zeros(2, 3, 64, 64), classifier)
    with pytest.raises(ValueError, match="got \\(2, 1, 32, 32\\)"):
        predict_factors(torch.zeros(2, 1, 32, 32), classifier)


def test_save_and_load_round_trip(tmp_path):
    model = FactorClassifier(width=4).eval()
    path = save_factor_classifier(model, tmp_path / "c.pt", {"shape": 0.5})
    loaded = load_factor_classifier(path)
    images = torch.rand(3, 3, 32, 32) * 2 - 1
    torch.testing.assert_close(loaded(images)["colour"], model(images)["colour"])
    with pytest.raises(FileNotFoundError, match="train_factor_classifier"):
        load_factor_classifier(tmp_path / "missing.pt")


def test_concepts_are_parsed_and_described_in_words():
    assert parse_concept("red square") == {"colour": 0, "shape": 0}
    assert parse_concept("Blue triangle large") == {"colour": 2, "shape": 2, "size": 2}
    with pytest.raises(ValueError, match="unknown factor level 'purple'"):
        parse_concept("purple circle")
    labels = {"colour": torch.tensor([3, -1]), "shape": torch.tensor([1, 1])}
    assert describe(labels, 0) == "yellow circle"
    assert describe(labels, 1) == "? circle"


def test_clean_shape_mask_rejects_two_shapes_grey_and_mixed_colours():
    def draw(*shapes):  # (shape, colour, radius, x, y) each; overlapping pixels add up
        pixels = sum(render_shape(*shape).astype(np.int32) for shape in shapes)
        return torch.from_numpy(np.clip(pixels, 0, 255)).float()[None] / 127.5 - 1

    one = draw((0, 0, 0.2, 0.5, 0.5))
    two_blobs = draw((0, 0, 0.12, 0.25, 0.25), (1, 0, 0.12, 0.75, 0.75))
    two_colours = draw((0, 0, 0.2, 0.4, 0.5), (0, 1, 0.2, 0.6, 0.5))
    grey = one.mean(dim=1, keepdim=True).expand(-1, 3, -1, -1)
    assert clean_shape_mask(one).all()
    assert not clean_shape_mask(torch.cat([two_blobs, two_colours, grey])).any()


def test_dominant_colour_reads_the_true_colour_of_real_shapes():
    shapes = SyntheticShapes(200, 32, seed=5)
    assert torch.equal(dominant_colours(shapes.images), shapes.labels[:, 1])
