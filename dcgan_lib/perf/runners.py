"""What the benchmark times: the pytorch/examples DCGAN step, and dcgan_lib's Trainer.

The baseline follows pytorch/examples ``dcgan/main.py``: eager fp32, NCHW, a DataLoader
with two workers turning PIL images into tensors one at a time (Resize, ToTensor,
Normalize), a sigmoid + BCELoss discriminator and ``.item()`` on every step for the log
line. It also computes D's weight gradients in the G step, which dcgan_lib's step does not.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from ..config import TrainConfig
from ..data import DATA_DIR, InMemoryImages
from ..models import build_models
from ..train import Trainer
from .variants import variant_config


class PILDigits(Dataset):
    """uint8 digits (N, 28, 28) served like torchvision's MNIST: a PIL image through transforms."""

    def __init__(self, images: np.ndarray, transform):
        self.images, self.transform = images, transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        from PIL import Image

        return self.transform(Image.fromarray(self.images[index], mode="L")), 0


def baseline_loader(image_size: int, batch_size: int, workers: int) -> DataLoader:
    """pytorch/examples dcgan/main.py's MNIST input pipeline on the mnist5k digits."""
    import torchvision.transforms as T

    with np.load(DATA_DIR / "mnist5k.npz") as archive:
        images = archive["images"]
    transform = T.Compose([T.Resize(image_size), T.ToTensor(), T.Normalize((0.5,), (0.5,))])
    return DataLoader(
        PILDigits(images, transform), batch_size=batch_size, shuffle=True, num_workers=workers
    )


class BaselineRun:
    """pytorch/examples dcgan/main.py's training step: sigmoid + BCELoss, three backward calls."""

    def __init__(self, config: TrainConfig, device: torch.device, workers: int):
        torch.manual_seed(config.seed)
        self.G, self.D = (m.to(device) for m in build_models(config, nc=1))
        betas = (config.beta1, config.beta2)
        self.g_opt = torch.optim.Adam(self.G.parameters(), lr=config.lr, betas=betas)
        self.d_opt = torch.optim.Adam(self.D.parameters(), lr=config.lr, betas=betas)
        self.config, self.device = config, device
        self.loader = baseline_loader(config.image_size, config.batch_size, workers)
        self.batches = iter(())

    def next_batch(self) -> torch.Tensor:
        try:
            images, _ = next(self.batches)
        except StopIteration:  # a new epoch: examples/dcgan loops over the dataloader
            self.batches = iter(self.loader)
            images, _ = next(self.batches)
        return images.to(self.device)

    def train_step(self) -> int:
        """One D and one G update on the next batch; return the number of real images used."""
        real = self.next_batch()
        batch = real.shape[0]
        label = torch.full((batch,), 1.0, device=self.device)
        self.D.zero_grad()
        output = torch.sigmoid(self.D(real))
        err_d_real = F.binary_cross_entropy(output, label)
        err_d_real.backward()
        d_x = output.mean().item()
        fake = self.G(torch.randn(batch, self.config.nz, 1, 1, device=self.device))
        label.fill_(0.0)
        output = torch.sigmoid(self.D(fake.detach()))
        err_d_fake = F.binary_cross_entropy(output, label)
        err_d_fake.backward()
        d_g_z1 = output.mean().item()
        self.d_opt.step()
        self.G.zero_grad()
        label.fill_(1.0)
        output = torch.sigmoid(self.D(fake))
        err_g = F.binary_cross_entropy(output, label)
        err_g.backward()
        d_g_z2 = output.mean().item()
        self.g_opt.step()
        # the examples print these every step; the .item() calls (device syncs) are their cost
        _log_line = ((err_d_real + err_d_fake).item(), err_g.item(), d_x, d_g_z1, d_g_z2)
        return batch


class LibraryRun:
    """dcgan_lib's Trainer with the data resident on the device."""

    def __init__(self, config: TrainConfig, dataset: InMemoryImages, graphs: bool = False):
        self.trainer = Trainer(config, dataset)
        if graphs:  # reduce-overhead: inductor records CUDA graphs and replays them
            self.trainer.G_wrapped = torch.compile(self.trainer.G, mode="reduce-overhead")
            self.trainer.D_wrapped = torch.compile(self.trainer.D, mode="reduce-overhead")
        self.batches = self.trainer.batches.from_step(0)
        self.log_every, self.graphs = config.log_every, graphs

    def train_step(self) -> int:
        real = next(self.batches)
        if self.graphs:  # a new iteration: the last step's graph outputs may be overwritten
            torch.compiler.cudagraph_mark_step_begin()
        self.trainer.train_step(real)
        if self.trainer.step % self.log_every == 0:
            self.trainer.flush()  # the loop's only sync: a NaN check every log_every steps
        return real.shape[0]

    def sync(self) -> None:
        self.trainer.flush()


def build_runner(
    variant: str,
    size: int,
    batch: int,
    device: torch.device,
    workers: int,
    dataset: InMemoryImages,
    width: int = 64,
):
    """The runner of one variant; the baseline uses pytorch/examples' ngf = ndf = 64, nz = 100."""
    if variant == "baseline":
        config = TrainConfig(image_size=size, batch_size=batch, ngf=width, ndf=width)
        return BaselineRun(config, device, workers)
    config, graphs = variant_config(variant, size, batch, device, width)
    return LibraryRun(config, dataset, graphs)
