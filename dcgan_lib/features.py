"""What the networks learned: guided backpropagation and dropped G channels (chapter 10).

Tools for the paper's section 6 (Radford, Metz & Chintala, 2015); D as a feature
extractor (section 5.1, chapter 11) is in probes.py:

* ``guided_backprop``: the input pattern that excites one of D's feature maps
  (Springenberg et al., 2015), the paper's Figure 5;
* ``generate_with_dropped_channels`` and ``channel_correlations``: find G channels that
  draw one object and remove them ("forgetting to draw", section 6.3.1);
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext

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
    handles = [
        module.register_forward_hook(lambda _m, _inp, out: _GuidedGate.apply(out))
        for module in model.modules()
        if isinstance(module, (nn.ReLU, nn.LeakyReLU))
    ]
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
        raise ValueError(
            f"block must index {what}'s {count} blocks (0..{count - 1} or negative "
            f"from the end), got {block}"
        )
    return block % count


def _block_activation(model: nn.Module, images: torch.Tensor, block: int) -> torch.Tensor:
    x = images
    for index in range(block + 1):
        x = model.blocks[index](x)
    return x


def guided_backprop(
    model: nn.Module, images: torch.Tensor, block: int, channel: int, guided: bool = True
) -> torch.Tensor:
    """Return d(max unit of feature map `channel` in `block`)/d(images), shape like images (N, C, H, W).

    model is a Discriminator (anything with ``.blocks`` applied in order). With guided=True the
    (Leaky)ReLU backward passes only positive gradients through active units (Springenberg et
    al., 2015); guided=False gives the plain gradient, for comparison. Each image gets the
    gradient of its own strongest unit. The model is left as it was (mode, hooks, weights).
    Chapter 10.
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
                raise ValueError(
                    f"channel must be in 0..{activation.shape[1] - 1} for block "
                    f"{block}, got {channel}"
                )
            strongest = activation[:, channel].flatten(1).max(dim=1).values
            (gradient,) = torch.autograd.grad(strongest.sum(), images)
    finally:
        model.train(was_training)
    return gradient


def strongest_channels(model: nn.Module, images: torch.Tensor, block: int, k: int) -> torch.Tensor:
    """Return the k channel indices of `block` with the largest mean activation over images, shape (k,).

    Chapter 10.
    """
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


def generate_with_dropped_channels(
    generator: nn.Module, z: torch.Tensor, block: int, channels: Sequence[int]
) -> torch.Tensor:
    """Return G(z) with the given channels of a hidden block set to zero, images (N, nc, S, S).

    A forward hook zeroes the channels of ``generator.blocks[block]``'s output (the paper's
    "forgetting to draw", section 6.3.1); the hook is removed afterwards. Dropping no channels
    gives exactly G(z). Runs without gradients, in the generator's current mode.
    Chapter 10.
    """
    block = _check_block(generator, block, "the generator")
    if block == len(generator.blocks) - 1:
        raise ValueError(
            f"block {block} is G's output layer (the image itself); pick a hidden "
            f"block 0..{len(generator.blocks) - 2}"
        )
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
    Chapter 10.
    """
    if activations.dim() != 4 or target.shape != (activations.shape[0],):
        raise ValueError(
            f"need activations (N, C, H, W) and target (N,), got "
            f"{tuple(activations.shape)} and {tuple(target.shape)}"
        )
    means = activations.detach().float().mean(dim=(2, 3))
    means = means - means.mean(dim=0)
    target = target.detach().float() - target.float().mean()
    scale = means.norm(dim=0) * target.norm()
    return torch.where(
        scale > 0,
        (means * target[:, None]).sum(dim=0) / scale.clamp(min=1e-12),
        torch.zeros_like(scale),
    )


def mask_correlations(activations: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Return, per channel, the correlation over every sample and position between the channel's
    activation and an object mask, shape (C,).

    activations (N, C, h, w); masks (N, H, W) in [0, 1], area-averaged down to h x w first. A
    channel that fires where the object is and stays quiet elsewhere scores near 1: the pixel-level
    probe the paper fits with a logistic regression on window bounding boxes (section 6.3.1).
    Chapter 10.
    """
    if activations.dim() != 4 or masks.dim() != 3 or masks.shape[0] != activations.shape[0]:
        raise ValueError(
            f"need activations (N, C, h, w) and masks (N, H, W), got "
            f"{tuple(activations.shape)} and {tuple(masks.shape)}"
        )
    small = F.adaptive_avg_pool2d(masks[:, None].float(), activations.shape[-2:])
    channels = activations.shape[1]
    # every (sample, position) becomes one observation for channel_correlations
    per_position = activations.permute(0, 2, 3, 1).reshape(-1, channels, 1, 1)
    return channel_correlations(per_position, small.flatten())


def object_fraction(images: torch.Tensor, threshold: float = 0.0) -> torch.Tensor:
    """Return the fraction of pixels brighter than threshold in any channel, shape (N,). Chapter 10.

    For shapes drawn on black (pixel value -1), this is the area the object covers.
    """
    if images.dim() != 4:
        raise ValueError(f"images must have shape (N, C, H, W), got {tuple(images.shape)}")
    return (images.amax(dim=1) > threshold).float().mean(dim=(1, 2))
