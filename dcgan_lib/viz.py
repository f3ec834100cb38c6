"""Figures used across chapters: image grids and training curves. Each returns its Axes.

matplotlib and torchvision are imported where they are used: importing them costs about two
seconds (torchvision's import pulls in torch._dynamo), which every `python -m dcgan_lib` command
would otherwise pay before it reads its arguments.
"""

from __future__ import annotations

import torch


def image_grid(images: torch.Tensor, nrow: int = 8, padding: int = 2) -> torch.Tensor:
    """Tile images in [-1, 1], shape (N, C, H, W), into one (H', W', 3) array in [0, 1] for imshow."""
    from torchvision.utils import make_grid

    images = images.detach().float().cpu().clamp(-1, 1).add(1).div(2)
    grid = make_grid(images, nrow=nrow, padding=padding, pad_value=1.0)
    return grid.permute(1, 2, 0)


def show_images(
    images: torch.Tensor, nrow: int = 8, title: str | None = None, ax=None, size: float = 5.0
):
    """Show a grid of images in [-1, 1] (N, C, H, W) without axes; return the Axes. Chapter 4."""
    import matplotlib.pyplot as plt

    if ax is None:
        rows = -(-len(images) // nrow)
        _, ax = plt.subplots(figsize=(size, size * rows / nrow))
    ax.imshow(image_grid(images, nrow=nrow))
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def smooth(values: list[float], window: int = 25) -> list[float]:
    """Trailing moving average (window clipped at the start), for noisy per-step curves."""
    out, total = [], 0.0
    for i, value in enumerate(values):
        total += value
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def plot_history(history: dict[str, list[float]], window: int = 25, axes=None):
    """Plot losses (left) and D(x), D(G(z)) (right) per step, smoothed; return the two Axes.

    Chapter 5.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 3.5))
    for key in ("loss_D", "loss_G"):
        axes[0].plot(smooth(history[key], window), label=key)
    for key, label in (("D_x", "D(x)"), ("D_G_z", "D(G(z))")):
        axes[1].plot(smooth(history[key], window), label=label)
    axes[0].set(xlabel="step", ylabel="loss", title="losses")
    axes[1].set(
        xlabel="step", ylabel="probability 'real'", title="discriminator outputs", ylim=(0, 1)
    )
    for ax in axes:
        ax.legend()
        # at most six step labels, so that five-digit steps do not run into each other
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    return axes


def animated_gif_html(frames: list, duration_ms: int = 400, width: int = 240) -> str:
    """Return an <img> tag holding an animated GIF of the given image files (e.g. sample grids).

    A GIF in a data URI plays in the rendered book, in Jupyter and on Colab, and needs no
    player script or font from the internet (matplotlib's to_jshtml loads one from a CDN).
    Chapter 5.
    """
    import base64
    import io

    from PIL import Image

    if not frames:
        raise ValueError("no frames to animate: pass a non-empty list of image paths")
    images = [Image.open(path).convert("RGB") for path in frames]
    buffer = io.BytesIO()
    images[0].save(
        buffer, format="GIF", save_all=True, append_images=images[1:], duration=duration_ms, loop=0
    )
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (
        f'<img src="data:image/gif;base64,{data}" width="{width}" '
        f'alt="sample grids from the fixed noise, one frame per saved step">'
    )
