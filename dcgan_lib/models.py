"""The DCGAN generator and discriminator (Radford, Metz & Chintala, 2015, section 3).

The paper's architecture guidelines, each visible below:

* no pooling: G upsamples with fractionally-strided (transposed) convolutions, D
  downsamples with strided convolutions;
* no fully connected hidden layers: z is projected to a 4x4 feature map by one
  transposed convolution, and D ends in a single 4x4 convolution giving one logit;
* BatchNorm in both networks, except G's output layer and D's input layer;
* ReLU in G with Tanh at the output, LeakyReLU(0.2) in D.

One switch that is not the paper's: ``spectral_norm=True`` divides each of D's convolution
kernels, reshaped to a matrix (out, in*k*k), by its largest singular value (Miyato et al., 2018;
chapter 8). That bounds a linear layer's Lipschitz constant by 1, but only approximates a
convolution's (Tsuzuku et al., 2018), an approximation SN-GAN accepts.

D returns a raw logit; the loss applies the sigmoid (BCE-with-logits), which is the
numerically stable form of the paper's sigmoid output.
"""

from __future__ import annotations

import contextlib
import math
from typing import TYPE_CHECKING

import torch
from torch import nn

from .errors import ConfigError

if TYPE_CHECKING:
    from .config import TrainConfig

SUPPORTED_SIZES = (16, 32, 64, 128)


def validate_image_size(image_size: int) -> None:
    """Raise ConfigError unless image_size is one of SUPPORTED_SIZES."""
    if image_size not in SUPPORTED_SIZES:
        raise ConfigError(
            f"image_size must be a power of two between 16 and 128 "
            f"(one of {SUPPORTED_SIZES}), got {image_size!r}; resize your data, "
            f"e.g. load_dataset(..., image_size=32)"
        )


def resampling_stages(image_size: int) -> int:
    """Return log2(image_size / 4): how many 2x up- (G) or down-sampling (D) stages there are."""
    validate_image_size(image_size)
    return int(math.log2(image_size // 4))


def init_weights(module: nn.Module, std: float = 0.02) -> None:
    """Initialise as in the paper, section 4: conv weights N(0, std), BatchNorm gamma N(1, std), beta 0.

    Chapter 3.
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, std)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, std)
        nn.init.zeros_(module.bias)


def _norm(channels: int, batch_norm: bool) -> nn.Module:
    return nn.BatchNorm2d(channels) if batch_norm else nn.Identity()


class Generator(nn.Module):
    """Map z of shape (N, nz) or (N, nz, 1, 1) to images in [-1, 1] of shape (N, nc, S, S).

    The first block projects z to a 4x4 map with ngf * 2**(stages-1) channels; each
    following block doubles the resolution and halves the channels. With the defaults
    (nz=100, ngf=128, image_size=64, nc=3) this is the paper's Figure 1:
    100 -> 4x4x1024 -> 8x8x512 -> 16x16x256 -> 32x32x128 -> 64x64x3.
    Chapter 3.
    """

    def __init__(
        self,
        nz: int = 100,
        ngf: int = 128,
        image_size: int = 64,
        nc: int = 3,
        batch_norm: bool = True,
        init_std: float = 0.02,
    ):
        super().__init__()
        stages = resampling_stages(image_size)
        if nz < 1 or ngf < 1 or nc < 1:
            raise ConfigError(f"nz, ngf and nc must be positive, got nz={nz}, ngf={ngf}, nc={nc}")
        self.nz, self.ngf, self.image_size, self.nc = nz, ngf, image_size, nc
        channels = ngf * 2 ** (stages - 1)
        # project and reshape: a 4x4 transposed conv on a 1x1 input is the paper's
        # matrix multiplication of z, reshaped to a 4x4 spatial map
        blocks = [
            nn.Sequential(
                nn.ConvTranspose2d(nz, channels, 4, 1, 0, bias=not batch_norm),
                _norm(channels, batch_norm),
                nn.ReLU(True),
            )
        ]
        for _ in range(stages - 1):
            blocks.append(
                nn.Sequential(
                    nn.ConvTranspose2d(channels, channels // 2, 4, 2, 1, bias=not batch_norm),
                    _norm(channels // 2, batch_norm),
                    nn.ReLU(True),
                )
            )
            channels //= 2
        # output layer: no BatchNorm (paper, section 3), Tanh to match data in [-1, 1]
        blocks.append(nn.Sequential(nn.ConvTranspose2d(channels, nc, 4, 2, 1), nn.Tanh()))
        self.blocks = nn.ModuleList(blocks)
        self.apply(lambda m: init_weights(m, init_std))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Return images in [-1, 1], shape (N, nc, image_size, image_size)."""
        x = z.reshape(z.shape[0], self.nz, 1, 1)
        for block in self.blocks:
            x = block(x)
        return x

    def feature_maps(self, z: torch.Tensor) -> list[torch.Tensor]:
        """Return the output of every block, from the 4x4 projection to the image."""
        x, maps = z.reshape(z.shape[0], self.nz, 1, 1), []
        for block in self.blocks:
            x = block(x)
            maps.append(x)
        return maps


class Discriminator(nn.Module):
    """Map images (N, nc, S, S) to one real/fake logit per image, shape (N,). Chapter 3.

    spectral_norm=True (not the paper's; chapter 8) reparametrises every convolution's
    weight as W / sigma(W), sigma the largest singular value of the kernel reshaped to
    (out, in*k*k), estimated by one power iteration per forward pass in training mode. For
    a linear layer that makes it 1-Lipschitz; for a convolution sigma only approximates the
    Lipschitz constant (Tsuzuku et al., 2018), which SN-GAN accepts.
    """

    def __init__(
        self,
        nc: int = 3,
        ndf: int = 128,
        image_size: int = 64,
        batch_norm: bool = True,
        leaky_slope: float = 0.2,
        init_std: float = 0.02,
        spectral_norm: bool = False,
    ):
        super().__init__()
        stages = resampling_stages(image_size)
        if ndf < 1 or nc < 1:
            raise ConfigError(f"ndf and nc must be positive, got ndf={ndf}, nc={nc}")
        self.nc, self.ndf, self.image_size = nc, ndf, image_size
        # input layer: no BatchNorm (paper, section 3)
        blocks = [nn.Sequential(nn.Conv2d(nc, ndf, 4, 2, 1), nn.LeakyReLU(leaky_slope, True))]
        channels = ndf
        for _ in range(stages - 1):
            blocks.append(
                nn.Sequential(
                    nn.Conv2d(channels, channels * 2, 4, 2, 1, bias=not batch_norm),
                    _norm(channels * 2, batch_norm),
                    nn.LeakyReLU(leaky_slope, True),
                )
            )
            channels *= 2
        self.blocks = nn.ModuleList(blocks)
        # a single 4x4 convolution to one logit replaces the paper's flatten + sigmoid
        self.head = nn.Conv2d(channels, 1, 4, 1, 0)
        self.apply(lambda m: init_weights(m, init_std))
        if spectral_norm:
            for conv in [m for m in self.modules() if isinstance(m, nn.Conv2d)]:
                nn.utils.parametrizations.spectral_norm(conv)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Return logits of shape (N,); sigmoid(logit) is D's probability that the image is real."""
        if images.dim() != 4 or images.shape[1:] != (self.nc, self.image_size, self.image_size):
            raise ValueError(
                f"Discriminator expects images of shape (N, {self.nc}, {self.image_size}, "
                f"{self.image_size}), got {tuple(images.shape)}; build it with matching nc "
                f"and image_size or resize the data"
            )
        x = images
        for block in self.blocks:
            x = block(x)
        return self.head(x).flatten()

    def feature_maps(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Return the activation after every convolutional block (before the logit head)."""
        x, maps = images, []
        for block in self.blocks:
            x = block(x)
            maps.append(x)
        return maps


def build_models(config: TrainConfig, nc: int) -> tuple[Generator, Discriminator]:
    """Return (G, D) for a TrainConfig and nc image channels; weights drawn from torch's seed.

    Chapter 3.
    """
    generator = Generator(
        config.nz,
        config.ngf,
        config.image_size,
        nc,
        batch_norm=config.batch_norm in ("both", "G"),
        init_std=config.init_std,
    )
    discriminator = Discriminator(
        nc,
        config.ndf,
        config.image_size,
        batch_norm=config.batch_norm in ("both", "D"),
        leaky_slope=config.leaky_slope,
        init_std=config.init_std,
        spectral_norm=config.spectral_norm,
    )
    return generator, discriminator


def sample_z(
    n: int,
    nz: int,
    distribution: str = "normal",
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Return n noise vectors, shape (n, nz): N(0, 1) or U(-1, 1). Chapter 3."""
    if distribution == "normal":
        return torch.randn(n, nz, generator=generator, device=device)
    if distribution == "uniform":
        return torch.rand(n, nz, generator=generator, device=device).mul_(2).sub_(1)
    raise ConfigError(f"z_distribution must be 'normal' or 'uniform', got {distribution!r}")


def count_parameters(module: nn.Module) -> int:
    """Return the number of trainable parameters. Chapters 2 and 3."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


@contextlib.contextmanager
def frozen(module: nn.Module):
    """Inside the block, no parameter of `module` requires a gradient; the flags come back after.

    For a GAN's G step: D is only the path G's gradient flows through, and a forward pass under
    this block records no weight gradients for D, which the next D step would throw away.
    """
    flags = [(p, p.requires_grad) for p in module.parameters()]
    module.requires_grad_(False)
    try:
        yield module
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)
