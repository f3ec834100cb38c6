"""Find the image grids in a rendered figure and measure their tiles.

The book's sample grids (dcgan_lib.viz.image_grid) are images on black backgrounds (digits,
shapes) separated by white padding. In a figure's PNG, a row of such tiles is a horizontal
band of rows that cross mostly-black columns; inside the band, each tile is a run of columns
that are mostly black, and the padding is a narrow run of white columns. tile_widths finds
every row of at least three such tiles of equal width that are about as wide as the band is
tall (tiles are square), and returns their width in the PNG's pixels. The browser test
multiplies it by the page's scale (rendered width / natural width) to get the size a reader
sees. Text, line plots and bar charts are not mostly black, so they are not taken for grids.

    python tools/grid_sizes.py FIGURE.png ...      # prints the tile widths found
"""

from __future__ import annotations

import sys

import numpy as np
from PIL import Image

DARK = 0.25  # grey level (0..1) under which a pixel counts as tile background
MIN_TILES = 3
MIN_TILE_PX = 8  # smaller runs are dashes of a plotted line, not images


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of every run of True in a 1-d boolean array."""
    padded = np.concatenate([[False], flags, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def _tile_rows(band: np.ndarray) -> list[float]:
    """Median widths of the rows of equal square tiles inside one horizontal band."""
    height = band.shape[0]
    tiles = [
        (start, stop)
        for start, stop in _runs(band.mean(axis=0) >= 0.05)
        if band[:, start:stop].mean() >= 0.5  # a tile is mostly its black background
    ]
    found, i = [], 0
    while i < len(tiles):
        j = i
        while j + 1 < len(tiles):
            width = tiles[j][1] - tiles[j][0]
            next_width = tiles[j + 1][1] - tiles[j + 1][0]
            gap = tiles[j + 1][0] - tiles[j][1]
            if abs(next_width - width) > max(2, 0.15 * width) or gap > max(3, 0.35 * width):
                break
            j += 1
        widths = [stop - start for start, stop in tiles[i : j + 1]]
        median = float(np.median(widths))
        square = abs(median - height) <= 0.2 * height + 3
        if len(widths) >= MIN_TILES and median >= MIN_TILE_PX and square:
            found.append(median)
        i = j + 1
    return found


def tile_widths(image: Image.Image) -> list[float]:
    """Width in pixels of the tiles of every row of an image grid found in the figure."""
    grey = np.asarray(image.convert("L"), dtype=float) / 255
    dark = grey < DARK
    widths = []
    for start, stop in _runs(dark.mean(axis=1) > 0.05):
        if stop - start >= MIN_TILE_PX:
            widths += _tile_rows(dark[start:stop])
    return widths


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(name, tile_widths(Image.open(name)))
