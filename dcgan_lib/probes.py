"""D as a feature extractor: the paper's section 5.1 on the course's data (chapter 11).

``discriminator_features`` max-pools each of D's layers to a 4x4 grid and concatenates them;
``linear_svm_accuracy`` fits a linear L2-SVM on a few labels per class (``few_label_split``);
``kmeans_features`` is the single-layer k-means baseline of Coates et al. (2011).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def discriminator_features(
    discriminator: nn.Module, images: torch.Tensor, grid: int = 4, batch_size: int = 256
) -> torch.Tensor:
    """Return D's features for a linear classifier, shape (N, F) with F = sum over blocks of C * grid**2.

    Every block's feature map is max-pooled to a grid x grid map, flattened, and the blocks are
    concatenated: the paper's recipe, section 5.1. Runs in eval mode without gradients.
    Chapter 11.
    """
    if images.dim() != 4:
        raise ValueError(f"images must have shape (N, C, H, W), got {tuple(images.shape)}")
    if grid < 1:
        raise ValueError(f"grid must be a positive number of cells per side, got {grid}")
    was_training = discriminator.training
    discriminator.eval()
    device = next(discriminator.parameters()).device
    chunks = []
    try:
        with torch.no_grad():
            for start in range(0, images.shape[0], batch_size):
                maps = discriminator.feature_maps(images[start : start + batch_size].to(device))
                pooled = [F.adaptive_max_pool2d(m, grid).flatten(1) for m in maps]
                chunks.append(torch.cat(pooled, dim=1).cpu())
    finally:
        discriminator.train(was_training)
    return torch.cat(chunks)


def few_label_split(
    labels: torch.Tensor, per_class: int, test_size: int, seed: int = 0, test_seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return sorted (train_index, test_index): a stratified test set of test_size examples, fixed by
    test_seed, and per_class labelled training examples of each class drawn (by seed) from the rest.

    Chapter 11. mnist_classifier.stratified_split is the other split helper: it fixes the
    held-out digits of the shipped classifier, so it cannot be replaced by this one.
    """
    from sklearn.model_selection import train_test_split

    labels = np.asarray(labels)
    rest, test = train_test_split(
        np.arange(len(labels)), test_size=test_size, stratify=labels, random_state=test_seed
    )
    rng = np.random.default_rng(seed)
    train = []
    for label in np.unique(labels):
        pool = rest[labels[rest] == label]
        if len(pool) < per_class:
            raise ValueError(
                f"class {label} has only {len(pool)} examples outside the test set, "
                f"fewer than per_class={per_class}; lower per_class or test_size"
            )
        train.append(rng.choice(pool, per_class, replace=False))
    return torch.as_tensor(np.sort(np.concatenate(train))), torch.as_tensor(np.sort(test))


def linear_svm_accuracy(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    test_features: torch.Tensor,
    test_labels: torch.Tensor,
    C: float = 0.001,
) -> float:
    """Fit a linear L2-SVM (squared hinge loss) on standardised features; return test accuracy in [0, 1].

    Chapter 11.
    """
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    if train_features.shape[1] != test_features.shape[1]:
        raise ValueError(
            f"train and test features differ in width: {train_features.shape[1]} "
            f"vs {test_features.shape[1]}"
        )
    classifier = make_pipeline(
        StandardScaler(), LinearSVC(C=C, loss="squared_hinge", max_iter=5000, dual="auto")
    )
    classifier.fit(np.asarray(train_features.flatten(1)), np.asarray(train_labels))
    return float(classifier.score(np.asarray(test_features.flatten(1)), np.asarray(test_labels)))


def kmeans_features(fit_images: torch.Tensor, images: torch.Tensor, centroids: int = 200,
                    patch: int = 6, stride: int = 1, grid: int = 2, seed: int = 0,
                    max_patches: int = 20_000) -> torch.Tensor:  # fmt: skip
    """Return single-layer k-means features (Coates et al., 2011), shape (N, centroids * grid**2).

    Normalised patch x patch patches of fit_images (at most max_patches of them) are clustered
    with MiniBatchKMeans; every patch of images (taken every stride pixels) is encoded with the
    triangle rule max(0, mean distance - distance to centroid k), and the codes are averaged
    over a grid x grid split of the image.
    Chapter 11.
    """
    from sklearn.cluster import MiniBatchKMeans

    sample = _patches(fit_images, patch, stride)
    rng = np.random.default_rng(seed)
    sample = sample[rng.choice(len(sample), min(len(sample), max_patches), replace=False)]
    kmeans = MiniBatchKMeans(centroids, random_state=seed, n_init=1, batch_size=2048).fit(sample)
    side = (images.shape[-1] - patch) // stride + 1
    codes = []
    for start in range(0, images.shape[0], 256):
        distances = kmeans.transform(_patches(images[start : start + 256], patch, stride))
        code = np.maximum(0, distances.mean(axis=1, keepdims=True) - distances)
        code = torch.as_tensor(code, dtype=torch.float32).reshape(-1, side, side, centroids)
        codes.append(F.adaptive_avg_pool2d(code.permute(0, 3, 1, 2), grid).flatten(1))
    return torch.cat(codes)


def _patches(images: torch.Tensor, patch: int, stride: int = 1) -> np.ndarray:
    """Every patch x patch patch, brightness- and contrast-normalised, shape (N * P, C * patch**2)."""
    columns = F.unfold(images.float(), patch, stride=stride)  # (N, C * patch**2, P)
    rows = columns.transpose(1, 2).reshape(-1, columns.shape[1])
    rows = rows - rows.mean(dim=1, keepdim=True)
    rows = rows / (rows.var(dim=1, keepdim=True) + 0.1).sqrt()
    return rows.numpy()
