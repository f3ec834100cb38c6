"""Shared fixtures: tiny configs and data so every test runs in seconds on a CPU."""
from __future__ import annotations

import pytest
import torch

from dcgan_lib.data import InMemoryImages
from dcgan_lib.train import TrainConfig


@pytest.fixture(autouse=True)
def _single_thread():
    # small models: one thread is faster and makes timings independent of the machine
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def tiny_config() -> TrainConfig:
    """A 16x16, 8-channel model: a training step takes milliseconds."""
    return TrainConfig(dataset="mnist5k", image_size=16, ngf=8, ndf=8, nz=16, batch_size=16,
                       steps=6, sample_every=3, checkpoint_every=3, log_every=1, device="cpu")


@pytest.fixture
def tiny_dataset() -> InMemoryImages:
    """64 random single-channel 16x16 images in [-1, 1]."""
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(64, 1, 16, 16, generator=generator) * 2 - 1
    return InMemoryImages(images, torch.zeros(64, dtype=torch.long))
