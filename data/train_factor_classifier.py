"""Train the synthetic-shapes factor classifier shipped as data/shapes_factor_classifier.pt.

    python data/train_factor_classifier.py            # about 3 minutes on two CPU cores

Trains dcgan_lib.shapes_classifier.FactorClassifier (shape, colour, size, x, y heads) on fresh
SyntheticShapes images drawn with seeds the GANs never see (the GANs train on seed 0),
tests it on another unseen seed and prints the test accuracy per factor. Light Gaussian
pixel noise during training makes it read slightly imperfect generated images too.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from dcgan_lib.data import SyntheticShapes
from dcgan_lib.shapes import FACTOR_NAMES
from dcgan_lib.shapes_classifier import (
    CLASSIFIER_PATH,
    FactorClassifier,
    factor_accuracy,
    save_factor_classifier,
)

TRAIN_SEED, TEST_SEED = 1001, 1002  # not 0: the GAN's training images are SyntheticShapes(seed=0)


def train_classifier(
    train_set: SyntheticShapes,
    epochs: int,
    batch_size: int,
    lr: float,
    noise_std: float,
    seed: int,
) -> FactorClassifier:
    """Minimise the summed cross-entropy of the five heads with Adam; return the model."""
    torch.manual_seed(seed)
    model = FactorClassifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * (len(train_set) // batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps)
    images, labels = train_set.images, train_set.labels
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(len(images))[: steps // epochs * batch_size].view(-1, batch_size)
        for index in order:
            batch = images[index] + noise_std * torch.randn_like(images[index])
            logits = model(batch.clamp(-1, 1))
            loss = sum(
                F.cross_entropy(logits[name], labels[index, i])
                for i, name in enumerate(FACTOR_NAMES)
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
        print(f"epoch {epoch + 1}/{epochs}: last batch loss {loss.item():.3f}", flush=True)
    return model.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train-size", type=int, default=20_000)
    parser.add_argument("--test-size", type=int, default=5_000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument(
        "--noise-std", type=float, default=0.05, help="pixel noise added in training"
    )
    parser.add_argument("--seed", type=int, default=0, help="seeds the weights and batch order")
    parser.add_argument("--out", type=Path, default=CLASSIFIER_PATH)
    args = parser.parse_args()

    start = time.time()
    train_set = SyntheticShapes(args.train_size, 32, seed=TRAIN_SEED)
    test_set = SyntheticShapes(args.test_size, 32, seed=TEST_SEED)
    model = train_classifier(
        train_set, args.epochs, args.batch_size, args.lr, args.noise_std, args.seed
    )
    accuracy = factor_accuracy(test_set.images, test_set.labels, model)
    save_factor_classifier(model, args.out, accuracy)
    print(f"test accuracy on {args.test_size} unseen images (seed {TEST_SEED}):")
    for name, value in accuracy.items():
        print(f"  {name:7s} {100 * value:.2f}%")
    print(
        f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB) in {time.time() - start:.0f} s"
    )


if __name__ == "__main__":
    main()
