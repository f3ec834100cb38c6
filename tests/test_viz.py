import base64
import io

import matplotlib.pyplot as plt
import pytest
import torch
from PIL import Image

from conftest import load_tool
from dcgan_lib.viz import animated_gif_html, image_grid, show_images, smooth


def test_image_grid_maps_unit_range_to_0_1_with_padding():
    images = torch.stack([torch.full((3, 4, 4), -1.0), torch.full((3, 4, 4), 1.0)])
    grid = image_grid(images, nrow=2, padding=1)
    assert grid.shape == (6, 11, 3)
    assert grid[1:5, 1:5].max() == 0 and grid[1:5, 6:10].min() == 1


def test_smooth_is_a_trailing_mean():
    assert smooth([0, 2, 4, 6], window=2) == [0, 1, 3, 5]


def test_animated_gif_holds_every_frame(tmp_path):
    paths = []
    for i, colour in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255)]):
        paths.append(tmp_path / f"step_{i}.png")
        Image.new("RGB", (8, 8), colour).save(paths[-1])
    html = animated_gif_html(paths, duration_ms=100)
    data = base64.b64decode(html.split("base64,")[1].split('"')[0])
    gif = Image.open(io.BytesIO(data))
    assert gif.format == "GIF" and gif.n_frames == 3


def test_animation_without_frames_is_refused():
    with pytest.raises(ValueError, match="no frames"):
        animated_gif_html([])


def _figure_png(fig) -> Image.Image:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return Image.open(io.BytesIO(buffer.getvalue()))


def test_grid_sizes_measures_the_tiles_of_a_sample_grid_and_ignores_plots():
    grid_sizes = load_tool("grid_sizes")
    images = torch.full((16, 1, 32, 32), -1.0)
    images[:, :, 8:24, 14:18] = 1.0  # a white stroke on black, like a digit
    fig, ax = plt.subplots(figsize=(6, 2))
    show_images(images, nrow=8, ax=ax)
    fig.canvas.draw()
    expected = ax.get_window_extent().width * 32 / (8 * 34 + 2)  # 2-pixel padding
    widths = grid_sizes.tile_widths(_figure_png(fig))
    assert len(widths) == 2 and all(abs(w - expected) <= 2 for w in widths)
    fig, ax = plt.subplots(figsize=(6, 2))
    ax.plot(range(10))
    ax.bar(range(10), range(10), color="black")
    ax.set_title("a title with letters 0123456789")
    assert grid_sizes.tile_widths(_figure_png(fig)) == []


def test_show_source_gives_a_dedented_python_block(capsys):
    """Chapter 3: a method's source starts at the left edge, inside a python code fence."""
    from dcgan_lib import Generator, show_source
    from dcgan_lib.notebook import source_block

    block = source_block(Generator.forward)
    assert block.startswith("```python\ndef forward(self, z")
    assert block.endswith("return x\n```")
    show_source(Generator.forward)  # outside a notebook, IPython prints the object's repr
    assert "Markdown" in capsys.readouterr().out
