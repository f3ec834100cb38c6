"""A small MNIST digit classifier: the offline feature extractor behind FID, KID and the class scores.

The standard metrics use Inception-v3 features, which need a 100 MB download and a large
network. Offline (tests, the book build) the course uses this CNN instead, trained on 4,000
of the 5,000 embedded mnist5k digits by ``data/train_mnist_classifier.py``; its weights
(about 0.4 MB) ship as ``data/mnist_classifier.pt``. Its 64-number penultimate layer plays the
role of Inception's 2048-number pool layer, its softmax the role of Inception's class output.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn

from .checkpoints import read_shipped_weights, rebuild_hint, restore_module
from .data import DATA_DIR

CLASSIFIER_PATH = DATA_DIR / "mnist_classifier.pt"
SCRIPT = "train_mnist_classifier.py"  # in data/: rebuilds CLASSIFIER_PATH
CLASSIFIER_IMAGE_SIZE = 32  # mnist5k loaded at 32x32, the size of the course's MNIST GANs
NUM_CLASSES = 10
FEATURE_DIM = 64


def _conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    # 3x3 conv keeps the size, 2x2 max-pool halves it
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


class MnistClassifier(nn.Module):
    """Classify (N, 1, 32, 32) digits in [-1, 1]: 32 -> 16 -> 8 -> 4 pixels, then 64 features, 10 logits.

    Chapter 7.
    """

    num_features = FEATURE_DIM  # torchmetrics reads this instead of probing with a dummy image

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            _conv_block(1, 16), _conv_block(16, 32), _conv_block(32, 64), nn.Flatten()
        )
        self.embed = nn.Sequential(nn.Linear(64 * 4 * 4, FEATURE_DIM), nn.ReLU(inplace=True))
        self.head = nn.Linear(FEATURE_DIM, NUM_CLASSES)
        # set after training so that real digits have mean squared feature 1: KID's kernel
        # (f.g / 64 + 1)^3 then works on numbers of order 1, as it does with Inception features
        self.register_buffer("feature_scale", torch.tensor(1.0))

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Return the penultimate activations divided by feature_scale, shape (N, 64): what FID and KID compare."""
        return self.embed(self.body(images)) / self.feature_scale

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Return class logits, shape (N, 10)."""
        return self.head(self.embed(self.body(images)))


def load_mnist_classifier(
    path: str | Path | None = None, device: str | torch.device = "cpu"
) -> MnistClassifier:
    """Return the shipped MNIST classifier (data/mnist_classifier.pt) in eval mode on device.

    Chapter 7.
    """
    path = Path(path or CLASSIFIER_PATH)
    state = read_shipped_weights(path, "MNIST classifier file", SCRIPT, {"model": None})
    classifier = restore_module(
        MnistClassifier(), state["model"], path, "MNIST classifier", rebuild_hint(SCRIPT)
    )
    return classifier.to(device).eval()


def stratified_split(
    labels: torch.Tensor, test_per_class: int = 100, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Split indices into (train, test) with test_per_class images of every class in test; fixed by seed.

    Why a second split beside features.few_label_split (scikit-learn's, chapter 11): this one
    chose the 1,000 digits the shipped classifier never saw and every FID of the book is
    measured against (metrics.mnist_split). Drawing them with the other helper would give
    other digits, and so a retrained classifier and new numbers throughout.
    """
    generator = torch.Generator().manual_seed(seed)
    test = []
    for label in labels.unique().tolist():
        members = (labels == label).nonzero().flatten()
        if len(members) <= test_per_class:
            raise ValueError(
                f"class {label} has {len(members)} images, not more than "
                f"test_per_class={test_per_class}; lower test_per_class"
            )
        test.append(members[torch.randperm(len(members), generator=generator)[:test_per_class]])
    test = torch.cat(test).sort().values
    is_test = torch.zeros(len(labels), dtype=torch.bool)
    is_test[test] = True
    return (~is_test).nonzero().flatten(), test
