"""Differentiable augmentation of D's inputs (DiffAugment; Zhao et al., 2020) and the moving
average of G's weights: the two changes to the paper's recipe that the shipped MNIST generator
needs. Chapter 5.

With 5,000 training digits, D learns the training set by heart after a few thousand steps
(D(x) near 1, its loss near 0) and stops teaching G anything useful. DiffAugment shows D
every image, real or generated, randomly shifted and with a square cut out, so D cannot
memorise the pixels; because the same random transforms are applied to G's images inside
the graph, G's gradient flows through them and G still learns to draw unshifted digits.
The two transforms are the paper's "translation" (up to 1/8 of the side, zero padding) and
"cutout" (a square of half the side set to zero).

The weight average (Yazici et al., 2019) keeps a second copy of G whose weights follow the
trained ones slowly, w_avg <- decay * w_avg + (1 - decay) * w, and samples from it: the
trained G oscillates around a good solution, the average sits nearer its middle.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

AUGMENTATIONS = ("translation", "cutout")


def parse_policy(policy: str) -> tuple[str, ...]:
    """Split a policy like "translation,cutout" into its transforms ("" is none)."""
    return tuple(name.strip() for name in policy.split(",") if name.strip())


def translate(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by its own whole-pixel offset of up to ratio * side, padding with 0."""
    n, _, height, width = x.shape
    dy, dx = round(height * ratio), round(width * ratio)
    shift_y = torch.randint(-dy, dy + 1, (n, 1, 1), device=x.device)
    shift_x = torch.randint(-dx, dx + 1, (n, 1, 1), device=x.device)
    rows = torch.arange(height, device=x.device).view(1, -1, 1) + shift_y + dy
    cols = torch.arange(width, device=x.device).view(1, 1, -1) + shift_x + dx
    padded = F.pad(x, (dx, dx, dy, dy))  # zeros around, so any shift reads inside
    batch = torch.arange(n, device=x.device).view(-1, 1, 1)
    # (n, H, W, C) after indexing: pixel (i, j) of image b is padded[b, :, rows, cols]
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)


def cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Set a square of ratio * side at a random place of each image to 0 (it may overhang)."""
    n, _, height, width = x.shape
    size_y, size_x = round(height * ratio), round(width * ratio)
    centre_y = torch.randint(0, height + 1 - size_y % 2, (n, 1, 1), device=x.device)
    centre_x = torch.randint(0, width + 1 - size_x % 2, (n, 1, 1), device=x.device)
    rows = torch.arange(height, device=x.device).view(1, -1, 1) - centre_y + size_y // 2
    cols = torch.arange(width, device=x.device).view(1, 1, -1) - centre_x + size_x // 2
    inside = (rows >= 0) & (rows < size_y) & (cols >= 0) & (cols < size_x)
    return x * (~inside).unsqueeze(1).to(x.dtype)


TRANSFORMS = {"translation": translate, "cutout": cutout}


def diff_augment(x: torch.Tensor, policy: str) -> torch.Tensor:
    """Apply the policy's transforms in order, each with fresh randomness per image. Chapter 5.

    Differentiable in x, so G's gradient flows through. The randomness comes from torch's
    global generator on x's device, which checkpoints save: a resumed run draws the same.
    """
    for name in parse_policy(policy):
        x = TRANSFORMS[name](x)
    return x


@torch.no_grad()
def update_average(average: nn.Module, model: nn.Module, decay: float) -> None:
    """w_avg <- decay * w_avg + (1 - decay) * w for every weight; buffers (BatchNorm's running
    statistics) copied as they are. Chapter 5."""
    averaged = list(average.parameters())
    torch._foreach_lerp_(averaged, [p.detach() for p in model.parameters()], 1.0 - decay)
    for kept, current in zip(average.buffers(), model.buffers()):
        kept.copy_(current)
