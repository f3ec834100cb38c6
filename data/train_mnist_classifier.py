"""Train the small MNIST classifier that the offline FID, KID and class scores use.

    python data/train_mnist_classifier.py          # writes data/mnist_classifier.pt

It trains dcgan_lib.mnist_classifier.MnistClassifier on 4,000 of the 5,000 mnist5k digits (32x32,
[-1, 1]), holds out 1,000 (100 per class, fixed seed) and prints the test accuracy that
data/README.md reports. Random shifts of up to 2 pixels augment the small training set.
About a minute on one CPU core; deterministic for a given seed and torch version.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
import torch.nn.functional as F

from dcgan_lib.data import load_dataset
from dcgan_lib.mnist_classifier import CLASSIFIER_IMAGE_SIZE, MnistClassifier, stratified_split


def random_shift(images: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Translate each image by up to max_shift pixels, filling with the background value -1."""
    size = images.shape[-1]
    padded = F.pad(images, [max_shift] * 4, value=-1.0)
    offsets = torch.randint(0, 2 * max_shift + 1, (len(images), 2), generator=generator)
    return torch.stack(
        [
            padded[i, :, dy : dy + size, dx : dx + size]
            for i, (dy, dx) in enumerate(offsets.tolist())
        ]
    )


@torch.no_grad()
def accuracy(model: MnistClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    model.eval()
    return (model(images).argmax(1) == labels).float().mean().item()


def train_classifier(
    images: torch.Tensor, labels: torch.Tensor, epochs: int, seed: int
) -> MnistClassifier:
    """Adam, cross-entropy, mini-batches of 64, learning rate decayed to zero by a cosine."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = MnistClassifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3, weight_decay=1e-4)
    steps_per_epoch = len(images) // 64
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs * steps_per_epoch)
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(images), generator=generator)
        for batch in order[: steps_per_epoch * 64].view(steps_per_epoch, 64):
            loss = F.cross_entropy(model(random_shift(images[batch], 2, generator)), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
    return model.eval()


@torch.no_grad()
def set_feature_scale(model: MnistClassifier, images: torch.Tensor) -> None:
    """Scale features so that the training digits' mean squared feature value is 1."""
    model.feature_scale.fill_(1.0)
    model.feature_scale.fill_(model.features(images).pow(2).mean().sqrt().item())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "mnist_classifier.pt")
    args = parser.parse_args()
    torch.set_num_threads(1)  # bit-reproducible and polite on a shared machine
    data = load_dataset("mnist5k", image_size=CLASSIFIER_IMAGE_SIZE)
    train_index, test_index = stratified_split(data.labels, test_per_class=100, seed=args.seed)
    model = train_classifier(
        data.images[train_index], data.labels[train_index], args.epochs, args.seed
    )
    set_feature_scale(model, data.images[train_index])
    train_accuracy = accuracy(model, data.images[train_index], data.labels[train_index])
    test_accuracy = accuracy(model, data.images[test_index], data.labels[test_index])
    torch.save(
        {
            "model": model.state_dict(),
            "test_accuracy": test_accuracy,
            "epochs": args.epochs,
            "seed": args.seed,
            "test_per_class": 100,
            "feature_scale": model.feature_scale.item(),
        },
        args.out,
    )
    print(
        f"trained on {len(train_index)} digits for {args.epochs} epochs: train accuracy "
        f"{train_accuracy:.4f}, test accuracy {test_accuracy:.4f} on {len(test_index)} held-out digits, "
        f"feature scale {model.feature_scale.item():.3f}; "
        f"wrote {args.out} ({args.out.stat().st_size / 1e3:.0f} kB)"
    )


if __name__ == "__main__":
    main()
