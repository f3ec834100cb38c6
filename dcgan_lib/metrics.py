"""Sample-based GAN metrics: FID, KID and a classifier score (chapter 7).

All functions take images in [-1, 1], shape (N, C, H, W) with C = 1 or 3 (the range of G's Tanh).

FID and KID compare two sets of images through the features of a fixed network, computed by
torchmetrics (``FrechetInceptionDistance``, ``KernelInceptionDistance``). Two networks can
provide the features, chosen by ``extractor``:

* ``"mnist"`` (offline, the default): the 64 penultimate activations of the small digit
  classifier shipped in ``data/mnist_classifier.pt`` (see ``dcgan_lib.mnist_classifier``). Images are
  made grey and resized to 32x32. The numbers are comparable only with other "mnist" numbers.
* ``"inception"``: the standard 2048 pool features of Inception-v3, the numbers papers report.
  Needs ``pip install torch-fidelity`` (or ``pip install -e ".[inception]"``), which downloads the
  weights (about 100 MB) on first use; grey images are repeated to RGB, torchmetrics resizes
  them to 299x299.

The features are computed once per image set and handed to both torchmetrics metrics.
"""

from __future__ import annotations

import math
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

from .mnist_classifier import (
    CLASSIFIER_IMAGE_SIZE,
    MnistClassifier,
    load_mnist_classifier,
    stratified_split,
)

EXTRACTORS = ("mnist", "inception")
INCEPTION_FEATURES = 2048  # Inception-v3 pool3, the layer of Heusel et al. (2017)


__all__ = [
    "MnistClassifier",
    "load_mnist_classifier",
    "mnist_split",
    "fid_kid",
    "extract_features",
    "class_probabilities",
    "classifier_score",
]


def mnist_split(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (train, test) indices into mnist5k: the classifier's 4,000 training and 1,000 held-out digits.

    Chapter 7.
    """
    from .data import load_mnist5k

    return stratified_split(load_mnist5k().labels, test_per_class=100, seed=seed)


# ----------------------------------------------------------------------------- input checks


def check_images(images: torch.Tensor, name: str = "images", min_count: int = 1) -> torch.Tensor:
    """Return images unchanged if they are float (N, 1 or 3, H, W) in [-1, 1]; raise ValueError otherwise."""
    if not isinstance(images, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor of shape (N, C, H, W), got {type(images).__name__}"
        )
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        hint = " (add the channel axis: images[:, None])" if images.dim() == 3 else ""
        raise ValueError(
            f"{name} must have shape (N, C, H, W) with C = 1 or 3, got {tuple(images.shape)}{hint}"
        )
    if len(images) < min_count:
        raise ValueError(f"{name} needs at least {min_count} images, got {len(images)}")
    if not images.is_floating_point():
        raise ValueError(
            f"{name} must be floats in [-1, 1], got dtype {images.dtype}; "
            f"map uint8 pixels with images.float() / 127.5 - 1"
        )
    low, high = images.min().item(), images.max().item()
    if math.isnan(low) or low < -1.01 or high > 1.01:
        raise ValueError(
            f"{name} must lie in [-1, 1] (the range of G's Tanh), got values in "
            f"[{low:.3g}, {high:.3g}]; map [0, 1] images with 2 * x - 1"
        )
    return images


def to_classifier_input(images: torch.Tensor) -> torch.Tensor:
    """Return (N, 1, 32, 32) floats in [-1, 1] for the MNIST classifier: grey (channel mean), resized."""
    images = check_images(images)
    if images.shape[1] == 3:
        images = images.mean(dim=1, keepdim=True)
    if images.shape[-2:] != (CLASSIFIER_IMAGE_SIZE, CLASSIFIER_IMAGE_SIZE):
        images = F.interpolate(
            images.float(),
            size=(CLASSIFIER_IMAGE_SIZE, CLASSIFIER_IMAGE_SIZE),
            mode="bilinear",
            antialias=True,
            align_corners=False,
        ).clamp(-1, 1)
    return images.float()


def to_inception_input(images: torch.Tensor) -> torch.Tensor:
    """Return (N, 3, H, W) uint8 pixels 0..255, the input torchmetrics' Inception-v3 expects."""
    images = check_images(images)
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    return images.detach().add(1).mul(127.5).round().clamp(0, 255).to(torch.uint8)


# ----------------------------------------------------------------------------- features


class _MnistFeatures(nn.Module):
    def __init__(self, classifier: MnistClassifier):
        super().__init__()
        self.classifier = classifier.eval()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier.features(to_classifier_input(images))


class _InceptionFeatures(nn.Module):
    def __init__(self):
        super().__init__()
        try:
            from torchmetrics.image.fid import NoTrainInceptionV3

            self.inception = NoTrainInceptionV3(
                name="inception-v3-compat", features_list=[str(INCEPTION_FEATURES)]
            )
        except ModuleNotFoundError as error:
            raise ModuleNotFoundError(
                "extractor='inception' needs torch-fidelity: `pip install torch-fidelity` "
                "(or `pip install -e '.[inception]'` in the course folder)"
            ) from error

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.inception(to_inception_input(images)).reshape(len(images), -1)


def feature_extractor(
    extractor: str = "mnist",
    device: str | torch.device = "cpu",
    classifier: MnistClassifier | None = None,
) -> nn.Module:
    """Return a module mapping images in [-1, 1] (N, C, H, W) to features (N, d) on device: d = 64 or 2048."""
    if extractor == "mnist":
        return _MnistFeatures(classifier or load_mnist_classifier()).to(device)
    if extractor == "inception":
        return _InceptionFeatures().to(device)
    raise ValueError(f"extractor must be one of {EXTRACTORS}, got {extractor!r}")


@torch.no_grad()
def extract_features(
    images: torch.Tensor,
    extractor: str | nn.Module = "mnist",
    batch_size: int = 500,
    device: str | torch.device = "cpu",
) -> torch.Tensor:
    """Return features of images in [-1, 1] (N, C, H, W) as float64 (N, d) on the CPU, batch by batch.

    Chapter 7.
    """
    check_images(images)
    module = feature_extractor(extractor, device) if isinstance(extractor, str) else extractor
    chunks = [module(batch.to(device)).double().cpu() for batch in images.split(batch_size)]
    return torch.cat(chunks)


# ----------------------------------------------------------------------------- FID and KID


class _GivenFeatures(nn.Identity):
    """Hands features computed beforehand to a torchmetrics metric unchanged."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features


def distances_from_features(real_features: torch.Tensor, fake_features: torch.Tensor,
                            kid_subsets: int = 100, kid_subset_size: int = 1000,
                            seed: int = 0) -> dict[str, float]:  # fmt: skip
    """Return {"fid", "kid", "kid_std"} between two feature sets (N, d) and (M, d), via torchmetrics."""
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.kid import KernelInceptionDistance

    if (
        real_features.dim() != 2
        or fake_features.dim() != 2
        or real_features.shape[1] != fake_features.shape[1]
    ):
        raise ValueError(
            f"features must be (N, d) and (M, d) with the same d, got "
            f"{tuple(real_features.shape)} and {tuple(fake_features.shape)}"
        )
    # subsets of at most half of the smaller set, so that they differ and kid_std means something
    dim, subset_size = (
        real_features.shape[1],
        min(kid_subset_size, max(2, min(len(real_features), len(fake_features)) // 2)),
    )
    fid = FrechetInceptionDistance(feature=_GivenFeatures(dim), normalize=True)
    with (
        warnings.catch_warnings()
    ):  # KID warns that it keeps every feature in memory: intended here
        warnings.simplefilter("ignore", UserWarning)
        kid = KernelInceptionDistance(
            feature=_GivenFeatures(dim),
            subsets=kid_subsets,
            subset_size=subset_size,
            normalize=True,
        )
    for metric in (fid, kid):
        metric.update(real_features, real=True)
        metric.update(fake_features, real=False)
    with torch.random.fork_rng(devices=[]):  # KID draws its subsets from torch's global generator
        torch.manual_seed(seed)
        kid_mean, kid_std = kid.compute()
    return {"fid": fid.compute().item(), "kid": kid_mean.item(), "kid_std": kid_std.item()}


def fid_kid(
    real: torch.Tensor,
    fake: torch.Tensor,
    extractor: str = "mnist",
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    batch_size: int = 500,
    device: str | torch.device = "cpu",
    seed: int = 0,
) -> dict[str, float]:
    """Return FID and KID between two sets of images, each (N, C, H, W) in [-1, 1] with N >= 2.

    Either set may instead be features (N, d) from ``extract_features`` with the same extractor:
    compute a reference set's features once and reuse them for every generator.
    Keys: "fid" (lower is better, 0 for identical feature statistics), "kid" (unbiased,
    can dip below 0), "kid_std" (spread over KID's random subsets), "n_real", "n_fake".
    ``extractor`` is "mnist" (offline, 64 classifier features) or "inception" (2048 features).
    Chapter 7.
    """
    module = None
    features = []
    for name, data in (("real", real), ("fake", fake)):
        if isinstance(data, torch.Tensor) and data.dim() == 2:
            features.append(data.double().cpu())  # already features
            continue
        check_images(data, name, min_count=2)
        module = module or feature_extractor(extractor, device)
        features.append(extract_features(data, module, batch_size, device))
    if min(len(f) for f in features) < 2:
        raise ValueError(
            f"FID and KID need at least 2 images per set, got {len(features[0])} and {len(features[1])}"
        )
    result = distances_from_features(*features, kid_subsets, kid_subset_size, seed)
    return {**result, "n_real": len(features[0]), "n_fake": len(features[1])}


# ----------------------------------------------------------------------------- classifier score


@torch.no_grad()
def class_probabilities(
    images: torch.Tensor,
    classifier: MnistClassifier | None = None,
    batch_size: int = 500,
    device: str | torch.device = "cpu",
) -> torch.Tensor:
    """Return the MNIST classifier's p(y | x) for images in [-1, 1], shape (N, 10), on the CPU.

    Chapter 7.
    """
    classifier = (classifier or load_mnist_classifier()).to(device).eval()
    check_images(images)
    chunks = [
        classifier(to_classifier_input(batch.to(device))).softmax(1).cpu()
        for batch in images.split(batch_size)
    ]
    return torch.cat(chunks)


def classifier_score(
    images: torch.Tensor,
    threshold: float = 0.9,
    classifier: MnistClassifier | None = None,
    device: str | torch.device = "cpu",
    probabilities: torch.Tensor | None = None,
) -> dict:
    """Judge digits in [-1, 1] (N, C, H, W) with the MNIST classifier. Chapters 5 and 7.

    probabilities: class_probabilities of these images if the caller already has them, so
    that the classifier does not run twice.

    Returns a dict with "confident_share" (share of images whose top class has probability
    > threshold: quality), "class_histogram" (tensor (10,) share of images per predicted
    class), "class_entropy" (entropy of that histogram in nats, log 10 = 2.303 when every
    digit is equally common: mode coverage) and "score" (the Inception Score formula
    exp E_x KL(p(y|x) || p(y)) with this classifier, between 1 and 10).
    """
    if probabilities is None:
        probabilities = class_probabilities(images, classifier, device=device)
    top_probability, predicted = probabilities.max(dim=1)
    histogram = torch.bincount(predicted, minlength=probabilities.shape[1]).double() / len(images)
    used = histogram[histogram > 0]
    marginal = probabilities.double().mean(dim=0)
    p = probabilities.double().clamp_min(1e-12)
    mean_kl = (p * (p.log() - marginal.clamp_min(1e-12).log())).sum(dim=1).mean()
    return {
        "confident_share": (top_probability > threshold).double().mean().item(),
        "class_entropy": (used * used.reciprocal().log())
        .sum()
        .item(),  # sum p log(1/p): +0.0 for one class
        "class_histogram": histogram,
        "score": mean_kl.exp().item(),
    }
