"""Drawing the synthetic-shapes images: a square, circle or triangle in one of four colours,
three sizes and 3x3 positions, on black. The factors are known, which chapters 9 and 10 use
to measure what a generator's latent space and channels encode. data.SyntheticShapes draws
a dataset of them.
"""

from __future__ import annotations

import numpy as np

SHAPES = ("square", "circle", "triangle")
COLOURS = {
    "red": (230, 40, 40),
    "green": (40, 200, 60),
    "blue": (50, 90, 240),
    "yellow": (240, 220, 40),
}
FACTOR_NAMES = ("shape", "colour", "size", "x", "y")
FACTOR_LEVELS = {"shape": len(SHAPES), "colour": len(COLOURS), "size": 3, "x": 3, "y": 3}


def _shape_mask(shape: int, cx: float, cy: float, radius: float, grid: np.ndarray) -> np.ndarray:
    dx, dy = grid[1] - cx, grid[0] - cy
    if SHAPES[shape] == "circle":
        return dx * dx + dy * dy <= radius * radius
    if SHAPES[shape] == "square":
        return np.maximum(np.abs(dx), np.abs(dy)) <= 0.85 * radius
    # triangle, apex up: width grows linearly from the apex to the base
    return (dy >= -radius) & (dy <= 0.8 * radius) & (np.abs(dx) <= 0.62 * (dy + radius))


def render_shape(
    shape: int,
    colour: int,
    size: float,
    x: float,
    y: float,
    image_size: int = 32,
    supersample: int = 4,
) -> np.ndarray:
    """Draw one shape on black; size, x, y in units of the image side (0..1). Return uint8 (3, S, S)."""
    s = image_size * supersample
    grid = (np.mgrid[0:s, 0:s] + 0.5) / s
    mask = _shape_mask(shape, x, y, size, grid).astype(np.float32)
    # average supersample x supersample blocks: antialiased edges
    mask = mask.reshape(image_size, supersample, image_size, supersample).mean(axis=(1, 3))
    rgb = np.array(list(COLOURS.values())[colour], dtype=np.float32)[:, None, None]
    return np.round(mask[None] * rgb).astype(np.uint8)


def factor_geometry(size_level, x_level, y_level, rng: np.random.Generator | None = None):
    """Map discrete size/position levels (0..2) to a radius and centre, jittered within the level."""
    jitter = (lambda: rng.uniform(-0.5, 0.5)) if rng is not None else (lambda: 0.0)
    radius = 0.13 + 0.05 * (size_level + 0.8 * jitter())
    cx = 0.32 + 0.18 * (x_level + 0.8 * jitter())
    cy = 0.32 + 0.18 * (y_level + 0.8 * jitter())
    return radius, cx, cy
