"""Walking the latent space: interpolation, and how smoothly a walk changes the images.

Radford et al. (2015, section 6) walk between points of z-space and average three z's per
concept before doing arithmetic on them; White (2016) argues for spherical interpolation
(slerp), because a Gaussian z of length nz lives near the sphere of radius sqrt(nz) and a
straight line between two such points cuts through the less likely inside.

Shapes: a single z is (nz,), a batch (N, nz); paths and grids are returned as (T, nz) so
that ``G(path)`` draws them in one batch. Labels are dicts factor name -> (N,) long tensor,
the format of ``predict_factors`` in shapes_classifier.py. Vector arithmetic on z, and
finding the z's of a concept, are in arithmetic.py. Chapter 9.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

INTERPOLATIONS = ("lerp", "slerp")
Labels = dict[str, torch.Tensor]
Classifier = Callable[[torch.Tensor], Labels]  # images -> labels, e.g. predict_factors


def _fractions(steps: int | torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Return interpolation fractions t, shape (T,): `steps` evenly spaced in [0, 1], or t itself."""
    if isinstance(steps, torch.Tensor):
        return steps.to(like)
    if steps < 2:
        raise ValueError(f"an interpolation needs steps >= 2 (both end points), got {steps}")
    return torch.linspace(0.0, 1.0, steps, dtype=like.dtype, device=like.device)


def lerp(z0: torch.Tensor, z1: torch.Tensor, steps: int | torch.Tensor = 10) -> torch.Tensor:
    """Linear interpolation (1 - t) z0 + t z1 for `steps` t's in [0, 1]; z0, z1 (nz,) -> (T, nz).

    Chapter 9.
    """
    t = _fractions(steps, z0)[:, None]
    return (1.0 - t) * z0 + t * z1


def slerp(z0: torch.Tensor, z1: torch.Tensor, steps: int | torch.Tensor = 10) -> torch.Tensor:
    """Spherical interpolation along the great circle between z0 and z1 (White, 2016). Chapter 9.

    slerp(t) = sin((1 - t) w) / sin w * z0 + sin(t w) / sin w * z1, w the angle between them.
    For z0, z1 of equal length every point has that length; for lengths that differ the
    length varies between them, not linearly. Falls back to lerp when z0 and z1 are
    (anti)parallel. (nz,) -> (T, nz).
    """
    t = _fractions(steps, z0)[:, None]
    cosine = torch.dot(z0, z1) / (z0.norm() * z1.norm()).clamp_min(1e-12)
    omega = torch.arccos(cosine.clamp(-1.0, 1.0))
    if torch.sin(omega).abs() < 1e-6:  # the great circle is undefined: any plane would do
        return lerp(z0, z1, t[:, 0])
    return (torch.sin((1.0 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


def interpolate(
    z0: torch.Tensor, z1: torch.Tensor, steps: int | torch.Tensor = 10, method: str = "slerp"
) -> torch.Tensor:
    """Interpolate from z0 to z1 with `method` 'lerp' or 'slerp'; (nz,) -> (T, nz), ends included.

    Chapter 9.
    """
    if method not in INTERPOLATIONS:
        raise ValueError(f"method must be one of {INTERPOLATIONS}, got {method!r}")
    if z0.shape != z1.shape or z0.dim() != 1:
        raise ValueError(
            f"z0 and z1 must both be single vectors (nz,), got {tuple(z0.shape)} "
            f"and {tuple(z1.shape)}; interpolate pairs of a batch one at a time"
        )
    return (slerp if method == "slerp" else lerp)(z0, z1, steps)


def interpolation_path(
    anchors: torch.Tensor, steps: int = 10, method: str = "slerp"
) -> torch.Tensor:
    """A path through K anchors (K, nz), `steps` points per segment, shared ends kept once.

    Returns ((K - 1) * (steps - 1) + 1, nz): anchors[k] is row k * (steps - 1).
    Chapter 9.
    """
    if anchors.dim() != 2 or len(anchors) < 2:
        raise ValueError(f"anchors must be (K, nz) with K >= 2, got {tuple(anchors.shape)}")
    segments = [interpolate(a, b, steps, method) for a, b in zip(anchors[:-1], anchors[1:])]
    return torch.cat([segments[0]] + [segment[1:] for segment in segments[1:]])


def interpolation_grid(
    corners: torch.Tensor, rows: int = 8, cols: int = 8, method: str = "slerp"
) -> torch.Tensor:
    """A 2-D grid between 4 corners (top-left, top-right, bottom-left, bottom-right), (4, nz).

    Interpolates down the left and right edges, then across each row (bilinear for lerp).
    Returns (rows * cols, nz) in row-major order, ready for ``show_images(G(grid), nrow=cols)``.
    Chapter 9.
    """
    if corners.dim() != 2 or len(corners) != 4:
        raise ValueError(
            f"corners must be (4, nz): top-left, top-right, bottom-left, bottom-right; "
            f"got {tuple(corners.shape)}"
        )
    left = interpolate(corners[0], corners[2], rows, method)
    right = interpolate(corners[1], corners[3], rows, method)
    return torch.cat([interpolate(a, b, cols, method) for a, b in zip(left, right)])


# ----------------------------------------------------------------------------- smoothness


def step_changes(images: torch.Tensor) -> torch.Tensor:
    """Mean absolute pixel change between consecutive images of a path: (T, C, H, W) -> (T - 1,).

    Chapter 9.
    """
    if len(images) < 2:
        raise ValueError(f"a path needs at least 2 images, got {len(images)}")
    return (images[1:] - images[:-1]).abs().flatten(1).mean(dim=1)


def largest_step_share(images: torch.Tensor) -> float:
    """The largest per-step pixel change as a share of the summed change along the path. Chapter 9.

    1 / (T - 1) for a perfectly even walk; near 1 when the image jumps at one step
    (a sharp transition, the sign of a generator that memorised and switches between images).
    """
    changes = step_changes(images)
    return (changes.max() / changes.sum().clamp_min(1e-12)).item()


def label_changes(labels: Labels) -> dict[str, int]:
    """How often each factor's label changes between consecutive points of a path. Chapter 9."""
    return {name: int((values[1:] != values[:-1]).sum()) for name, values in labels.items()}
