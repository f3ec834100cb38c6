import math

import pytest
import torch

from dcgan_lib import metrics
from dcgan_lib.data import load_mnist5k
from dcgan_lib.memorisation import nearest_neighbours
from dcgan_lib.metrics import (
    check_images,
    classifier_score,
    distances_from_features,
    extract_features,
    feature_extractor,
    fid_kid,
    load_mnist_classifier,
    mnist_split,
)
from dcgan_lib.mnist_classifier import CLASSIFIER_PATH


@pytest.fixture(scope="module")
def digits():
    return load_mnist5k(image_size=32)


@pytest.fixture(scope="module")
def halves(digits):
    """Two disjoint sets of 600 real digits."""
    order = torch.randperm(len(digits), generator=torch.Generator().manual_seed(0))
    return digits.images[order[:600]], digits.images[order[600:1200]]


@pytest.fixture(scope="module")
def noise():
    return torch.rand(600, 1, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1


def test_shipped_classifier_is_small_accurate_and_loads_with_weights_only():
    assert CLASSIFIER_PATH.stat().st_size < 1_000_000
    state = torch.load(CLASSIFIER_PATH, map_location="cpu", weights_only=True)
    assert state["test_accuracy"] > 0.97
    assert not load_mnist_classifier().training


def test_held_out_split_is_stratified_disjoint_and_fixed(digits):
    train, test = mnist_split()
    assert len(train) == 4000 and len(test) == 1000
    assert set(train.tolist()).isdisjoint(test.tolist())
    assert torch.bincount(digits.labels[test]).tolist() == [100] * 10
    assert torch.equal(test, mnist_split()[1])


def test_classifier_is_accurate_on_held_out_digits(digits):
    _, test = mnist_split()
    predicted = load_mnist_classifier()(digits.images[test]).argmax(1)
    assert (predicted == digits.labels[test]).float().mean() > 0.97


def test_fid_of_a_set_with_itself_is_zero(halves):
    result = fid_kid(halves[0], halves[0])
    assert abs(result["fid"]) < 1e-6
    assert (
        abs(result["kid"]) < 0.05
    )  # noise scores about 800; KID's subsets overlap only partly, so not 0


def test_fid_and_kid_of_noise_far_exceed_real_versus_real(halves, noise):
    real_real = fid_kid(halves[0], halves[1])
    real_noise = fid_kid(halves[0], noise)
    assert real_noise["fid"] > 20 * real_real["fid"]
    assert real_noise["kid"] > 20 * max(real_real["kid"], real_real["kid_std"])


def test_kid_is_deterministic_for_a_seed(halves):
    assert (
        fid_kid(halves[0], halves[1], seed=3)["kid"]
        == fid_kid(halves[0], halves[1], seed=3)["kid"]
    )


def test_precomputed_features_give_the_same_numbers_as_images(halves):
    from_images = fid_kid(halves[0], halves[1], kid_subsets=5)
    from_features = fid_kid(extract_features(halves[0]), halves[1], kid_subsets=5)
    assert from_features == pytest.approx(from_images)


def test_features_do_not_depend_on_batching(halves):
    features = extract_features(halves[0][:100], batch_size=100)
    assert features.shape == (100, 64)
    assert torch.allclose(features, extract_features(halves[0][:100], batch_size=7), atol=1e-5)


def test_rgb_images_are_made_grey_and_large_images_resized(halves, noise):
    grey = halves[0][:100]
    assert torch.allclose(
        extract_features(grey.expand(-1, 3, -1, -1)), extract_features(grey), atol=1e-4
    )
    large = torch.nn.functional.interpolate(grey, scale_factor=2, mode="bilinear")
    assert extract_features(large).shape == (100, 64)
    assert fid_kid(grey, large)["fid"] < 0.05 * fid_kid(grey, noise[:100])["fid"]


def test_classifier_score_sees_all_ten_digits_in_real_test_digits(digits):
    _, test = mnist_split()
    score = classifier_score(digits.images[test])
    assert score["confident_share"] > 0.9
    assert score["class_entropy"] > math.log(10) - 0.01
    assert score["score"] > 8
    assert score["class_histogram"].sum().item() == pytest.approx(1.0)


def test_classifier_score_uses_probabilities_the_caller_already_has(digits, monkeypatch):
    images = digits.images[:200]
    fresh = classifier_score(images)
    probabilities = metrics.class_probabilities(images)
    monkeypatch.setattr(metrics, "class_probabilities", None)  # must not run again
    given = classifier_score(images, probabilities=probabilities)
    assert {k: v for k, v in given.items() if k != "class_histogram"} == {
        k: v for k, v in fresh.items() if k != "class_histogram"
    }
    assert torch.equal(given["class_histogram"], fresh["class_histogram"])


def test_classifier_score_of_one_repeated_digit_has_zero_class_entropy(digits):
    one_digit = digits.images[digits.labels == 7][:1].repeat(50, 1, 1, 1)
    score = classifier_score(one_digit)
    assert score["class_entropy"] == pytest.approx(0.0, abs=1e-9)
    assert score["score"] == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("space", ["pixel", "feature"])
def test_nearest_neighbour_of_a_training_image_is_itself(digits, space):
    train_images = digits.images[:500]
    distances, indices = nearest_neighbours(
        train_images[[3, 42, 499]], train_images, k=3, space=space
    )
    assert indices[:, 0].tolist() == [3, 42, 499]
    # pixels: exactly 0; features: 0 up to float rounding, which differs with the batch size
    assert distances[:, 0].max() <= (0.0 if space == "pixel" else 1e-4)
    assert (distances[:, 1:] > 0).all() and (distances.diff(dim=1) >= 0).all()


@pytest.mark.parametrize(
    "bad, message",
    [
        (torch.zeros(4, 32, 32), "add the channel axis"),
        (torch.zeros(4, 2, 32, 32), "C = 1 or 3"),
        (torch.zeros(4, 1, 32, 32, dtype=torch.uint8), "127.5"),
        (torch.full((4, 1, 32, 32), 255.0), r"\[-1, 1\]"),
    ],
)
def test_bad_images_raise_with_the_fix(bad, message):
    with pytest.raises(ValueError, match=message):
        check_images(bad)
    with pytest.raises(ValueError, match=message):
        classifier_score(bad)


def test_inception_without_torch_fidelity_names_the_install_command(halves, monkeypatch):
    import torchmetrics.image.fid

    monkeypatch.setattr(
        torchmetrics.image.fid, "_TORCH_FIDELITY_AVAILABLE", False
    )  # as if not installed
    with pytest.raises(ModuleNotFoundError, match="pip install torch-fidelity"):
        fid_kid(halves[0][:4], halves[1][:4], extractor="inception")


def test_inception_fid_runs_end_to_end_with_random_weights_instead_of_the_download(
    halves, monkeypatch
):
    """Full mode's path (grey -> RGB, resize to 299, Inception pool features) without the 100 MB download."""
    fidelity = pytest.importorskip("torch_fidelity.feature_extractor_inceptionv3")
    downloads = []
    monkeypatch.setattr(
        fidelity, "load_state_dict_from_url", lambda url, **kwargs: downloads.append(url) or {}
    )
    # keep torch's random initialisation: the test checks plumbing and shapes, not Inception's numbers
    monkeypatch.setattr(
        fidelity.FeatureExtractorInceptionV3,
        "load_state_dict",
        lambda self, state, strict=True: None,
    )
    torch.manual_seed(0)
    extractor = feature_extractor("inception")
    assert downloads == [fidelity.URL_INCEPTION_V3]  # where the real weights come from
    for module in extractor.modules():  # He init keeps the signal alive through 48 random layers
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    digits, inverted = halves[0][:8], -halves[0][:8]
    features = extract_features(digits, extractor, batch_size=3)
    assert features.shape == (8, 2048) and torch.isfinite(features).all()
    assert features.std(dim=0).mean() > 1e-3  # different digits, different features
    same = fid_kid(features, extract_features(digits, extractor, batch_size=8), kid_subsets=5)
    other = fid_kid(features, extract_features(inverted, extractor), kid_subsets=5)
    assert (
        other["fid"] > 0 and abs(same["fid"]) < 1e-3 * other["fid"]
    )  # 0 up to rounding for the same set


def test_mismatched_inputs_raise(halves):
    with pytest.raises(ValueError, match="at least 2"):
        fid_kid(halves[0][:1], halves[1])
    with pytest.raises(ValueError, match="extractor"):
        fid_kid(halves[0], halves[1], extractor="vgg")
    with pytest.raises(ValueError, match="space='feature'"):
        nearest_neighbours(halves[0][:2], torch.zeros(5, 1, 16, 16), space="pixel")
    with pytest.raises(ValueError, match="same d"):
        distances_from_features(torch.zeros(5, 64), torch.zeros(5, 32))
