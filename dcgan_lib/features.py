"""What the networks learned: guided backpropagation, dropped G channels, D as a feature extractor.

Three tools for the paper's sections 5.1, 6.2 and 6.3 (Radford, Metz & Chintala, 2015):

* ``guided_backprop``: the input pattern that excites one of D's feature maps
  (Springenberg et al., 2015), the paper's Figure 5;
* ``generate_with_dropped_channels`` and ``channel_correlations``: find G channels that
  draw one object and remove them ("forgetting to draw", section 6.2);
* ``discriminator_features`` plus ``linear_svm_accuracy``, ``kmeans_features`` and
  ``few_label_split``: D's activations, max-pooled to a 4x4 grid per layer, as features
  for a linear L2-SVM (section 5.1), with the k-means baseline of Coates et al. (2011).
"""
from __future__ import annotations

from contextlib import contextmanager, nullcontext
from typing import Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# ----------------------------------------------------------------------------- guided backprop


class _GuidedGate(torch.autograd.Function):
    """Identity forward; backward keeps a gradient only where it is positive and the unit was active.

    Applied to the output of a (Leaky)ReLU: the output is positive exactly where the input was,
    so ``output > 0`` is the forward mask even when the activation ran in place.
    """

    @staticmethod
    def forward(ctx, activation: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(activation > 0)
        return activation.clone()

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        (active,) = ctx.saved_tensors
        return grad_output.clamp(min=0) * active


@contextmanager
def guided_relus(model: nn.Module) -> Iterator[nn.Module]:
    """Within the block, every ReLU/LeakyReLU of model backpropagates guided gradients.

    Forward outputs are unchanged. The hooks are removed on exit, even after an error.
    """
    handles = [module.register_forward_hook(lambda _m, _inp, out: _GuidedGate.apply(out))
               for module in model.modules() if isinstance(module, (nn.ReLU, nn.LeakyReLU))]
    if not handles:
        raise ValueError(f"{type(model).__name__} has no nn.ReLU or nn.LeakyReLU modules to guide")
    try:
        yield model
    finally:
        for handle in handles:
            handle.remove()


def _check_block(model: nn.Module, block: int, what: str) -> int:
    count = len(model.blocks)
    if not -count <= block < count:
        raise ValueError(f"block must index {what}'s {count} blocks (0..{count - 1} or negative "
                         f"from the end), got {block}")
    return block % count


def _block_activation(model: nn.Module, images: torch.Tensor, block: int) -> torch.Tensor:
    x = images
    for index in range(block + 1):
        x = model.blocks[index](x)
    return x


def guided_backprop(model: nn.Module, images: torch.Tensor, block: int, channel: int,
                    guided: bool = True) -> torch.Tensor:
    """Return d(max unit of feature map `channel` in `block`)/d(images), shape like images (N, C, H, W).

    model is a Discriminator (anything with ``.blocks`` applied in order). With guided=True the
    (Leaky)ReLU backward passes only positive gradients through active units (Springenberg et
    al., 2015); guided=False gives the plain gradient, for comparison. Each image gets the
    gradient of its own strongest unit. The model is left as it was (mode, hooks, weights).
    """
    if images.dim() != 4:
        raise ValueError(f"images must have shape (N, C, H, W), got {tuple(images.shape)}")
    block = _check_block(model, block, type(model).__name__)
    was_training = model.training
    model.eval()  # BatchNorm with running statistics: each image's map depends on that image only
    images = images.detach().clone().requires_grad_(True)
    try:
        with guided_relus(model) if guided else nullcontext(model):
            activation = _block_activation(model, images, block)
            if not 0 <= channel < activation.shape[1]:
                raise ValueError(f"channel must be in 0..{activation.shape[1] - 1} for block "
                                 f"{block}, got {channel}")
            strongest = activation[:, channel].flatten(1).max(dim=1).values
            (gradient,) = torch.autograd.grad(strongest.sum(), images)
    finally:
        model.train(was_training)
    return gradient


def strongest_channels(model: nn.Module, images: torch.Tensor, block: int, k: int) -> torch.Tensor:
    """Return the k channel indices of `block` with the largest mean activation over images, shape (k,)."""
    block = _check_block(model, block, type(model).__name__)
    with torch.no_grad():
        activation = _block_activation(model, images, block)
    if not 1 <= k <= activation.shape[1]:
        raise ValueError(f"k must be in 1..{activation.shape[1]}, got {k}")
    return activation.mean(dim=(0, 2, 3)).topk(k).indices


# ----------------------------------------------------------------------------- dropping G channels


def _check_channels(channels: Sequence[int], count: int, block: int) -> list[int]:
    channels = [int(c) for c in channels]
    bad = [c for c in channels if not 0 <= c < count]
    if bad:
        raise ValueError(f"channels must be in 0..{count - 1} for block {block}, got {bad}")
    if len(set(channels)) != len(channels):
        raise ValueError(f"channels must not repeat, got {channels}")
    return channels


def generate_with_dropped_channels(generator: nn.Module, z: torch.Tensor, block: int,
                                   channels: Sequence[int]) -> torch.Tensor:
    """Return G(z) with the given channels of a hidden block set to zero, images (N, nc, S, S).

    A forward hook zeroes the channels of ``generator.blocks[block]``'s output (the paper's
    "forgetting to draw", section 6.2); the hook is removed afterwards. Dropping no channels
    gives exactly G(z). Runs without gradients, in the generator's current mode.
    """
    block = _check_block(generator, block, "the generator")
    if block == len(generator.blocks) - 1:
        raise ValueError(f"block {block} is G's output layer (the image itself); pick a hidden "
                         f"block 0..{len(generator.blocks) - 2}")
    count = generator.blocks[block][0].out_channels
    dropped = _check_channels(channels, count, block)

    def zero_channels(_module, _inputs, output):
        output = output.clone()
        output[:, dropped] = 0
        return output

    handle = generator.blocks[block].register_forward_hook(zero_channels)
    try:
        with torch.no_grad():
            return generator(z)
    finally:
        handle.remove()


def channel_correlations(activations: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Return the Pearson correlation of each channel's spatial mean with target, shape (C,).

    activations (N, C, H, W) are feature maps of N samples, target (N,) a per-sample score
    (e.g. 1 for "the image shows a circle", or the object's area). Constant channels get 0.
    """
    if activations.dim() != 4 or target.shape != (activations.shape[0],):
        raise ValueError(f"need activations (N, C, H, W) and target (N,), got "
                         f"{tuple(activations.shape)} and {tuple(target.shape)}")
    means = activations.detach().float().mean(dim=(2, 3))
    means = means - means.mean(dim=0)
    target = target.detach().float() - target.float().mean()
    scale = means.norm(dim=0) * target.norm()
    return torch.where(scale > 0, (means * target[:, None]).sum(dim=0) / scale.clamp(min=1e-12),
                       torch.zeros_like(scale))


def mask_correlations(activations: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Return, per channel, the correlation over every sample and position between the channel's
    activation and an object mask, shape (C,).

    activations (N, C, h, w); masks (N, H, W) in [0, 1], area-averaged down to h x w first. A
    channel that fires where the object is and stays quiet elsewhere scores near 1: the pixel-level
    probe the paper fits with a logistic regression on window bounding boxes (section 6.2).
    """
    if activations.dim() != 4 or masks.dim() != 3 or masks.shape[0] != activations.shape[0]:
        raise ValueError(f"need activations (N, C, h, w) and masks (N, H, W), got "
                         f"{tuple(activations.shape)} and {tuple(masks.shape)}")
    small = F.adaptive_avg_pool2d(masks[:, None].float(), activations.shape[-2:])
    channels = activations.shape[1]
    # every (sample, position) becomes one observation for channel_correlations
    per_position = activations.permute(0, 2, 3, 1).reshape(-1, channels, 1, 1)
    return channel_correlations(per_position, small.flatten())


def object_fraction(images: torch.Tensor, threshold: float = 0.0) -> torch.Tensor:
    """Return the fraction of pixels brighter than threshold in any channel, shape (N,).

    For shapes drawn on black (pixel value -1), this is the area the object covers.
    """
    if images.dim() != 4:
        raise ValueError(f"images must have shape (N, C, H, W), got {tuple(images.shape)}")
    return (images.amax(dim=1) > threshold).float().mean(dim=(1, 2))


# ----------------------------------------------------------------------------- D as a feature extractor


def discriminator_features(discriminator: nn.Module, images: torch.Tensor, grid: int = 4,
                           batch_size: int = 256) -> torch.Tensor:
    """Return D's features for a linear classifier, shape (N, F) with F = sum over blocks of C * grid**2.

    Every block's feature map is max-pooled to a grid x grid map, flattened, and the blocks are
    concatenated: the paper's recipe, section 5.1. Runs in eval mode without gradients.
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
                maps = discriminator.feature_maps(images[start:start + batch_size].to(device))
                pooled = [F.adaptive_max_pool2d(m, grid).flatten(1) for m in maps]
                chunks.append(torch.cat(pooled, dim=1).cpu())
    finally:
        discriminator.train(was_training)
    return torch.cat(chunks)


def few_label_split(labels: torch.Tensor, per_class: int, test_size: int, seed: int = 0,
                    test_seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Return sorted (train_index, test_index): a stratified test set of test_size examples, fixed by
    test_seed, and per_class labelled training examples of each class drawn (by seed) from the rest.

    Chapter 9. mnist_classifier.stratified_split is the other split helper: it fixes the
    held-out digits of the shipped classifier, so it cannot be replaced by this one.
    """
    from sklearn.model_selection import train_test_split

    labels = np.asarray(labels)
    rest, test = train_test_split(np.arange(len(labels)), test_size=test_size,
                                  stratify=labels, random_state=test_seed)
    rng = np.random.default_rng(seed)
    train = []
    for label in np.unique(labels):
        pool = rest[labels[rest] == label]
        if len(pool) < per_class:
            raise ValueError(f"class {label} has only {len(pool)} examples outside the test set, "
                             f"fewer than per_class={per_class}; lower per_class or test_size")
        train.append(rng.choice(pool, per_class, replace=False))
    return torch.as_tensor(np.sort(np.concatenate(train))), torch.as_tensor(np.sort(test))


def linear_svm_accuracy(train_features: torch.Tensor, train_labels: torch.Tensor,
                        test_features: torch.Tensor, test_labels: torch.Tensor,
                        C: float = 0.001) -> float:
    """Fit a linear L2-SVM (squared hinge loss) on standardised features; return test accuracy in [0, 1]."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    if train_features.shape[1] != test_features.shape[1]:
        raise ValueError(f"train and test features differ in width: {train_features.shape[1]} "
                         f"vs {test_features.shape[1]}")
    classifier = make_pipeline(StandardScaler(),
                               LinearSVC(C=C, loss="squared_hinge", max_iter=5000, dual="auto"))
    classifier.fit(np.asarray(train_features.flatten(1)), np.asarray(train_labels))
    return float(classifier.score(np.asarray(test_features.flatten(1)), np.asarray(test_labels)))


def kmeans_features(fit_images: torch.Tensor, images: torch.Tensor, centroids: int = 200,
                    patch: int = 6, stride: int = 1, grid: int = 2, seed: int = 0,
                    max_patches: int = 20_000) -> torch.Tensor:
    """Return single-layer k-means features (Coates et al., 2011), shape (N, centroids * grid**2).

    Normalised patch x patch patches of fit_images (at most max_patches of them) are clustered
    with MiniBatchKMeans; every patch of images (taken every stride pixels) is encoded with the
    triangle rule max(0, mean distance - distance to centroid k), and the codes are averaged
    over a grid x grid split of the image.
    """
    from sklearn.cluster import MiniBatchKMeans

    sample = _patches(fit_images, patch, stride)
    rng = np.random.default_rng(seed)
    sample = sample[rng.choice(len(sample), min(len(sample), max_patches), replace=False)]
    kmeans = MiniBatchKMeans(centroids, random_state=seed, n_init=1, batch_size=2048).fit(sample)
    side = (images.shape[-1] - patch) // stride + 1
    codes = []
    for start in range(0, images.shape[0], 256):
        distances = kmeans.transform(_patches(images[start:start + 256], patch, stride))
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
