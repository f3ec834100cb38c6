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

Another switch that is not the paper's: ``categories=K`` appends a one-hot code of K categories
to z, and gives D a second head, Q, that guesses the category from the image (InfoGAN, Chen
et al., 2016; chapter 8). The training step adds Q's cross-entropy to both losses, so G learns
to draw each category differently: a latent made of K separate pieces, for data made of
separate classes.
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
    With categories=K (not the paper's; chapter 8) z is nz noise values followed by a
    one-hot code of K categories, ``sample_z(n, nz, categories=K)``. Chapter 3.
    """

    def __init__(
        self,
        nz: int = 100,
        ngf: int = 128,
        image_size: int = 64,
        nc: int = 3,
        batch_norm: bool = True,
        init_std: float = 0.02,
        categories: int = 0,
    ):
        super().__init__()
        stages = resampling_stages(image_size)
        if nz < 1 or ngf < 1 or nc < 1 or categories < 0:
            raise ConfigError(
                f"nz, ngf and nc must be positive and categories at least 0, got nz={nz}, "
                f"ngf={ngf}, nc={nc}, categories={categories}"
            )
        self.nz, self.ngf, self.image_size, self.nc = nz, ngf, image_size, nc
        self.categories = categories
        channels = ngf * 2 ** (stages - 1)
        # project and reshape: a 4x4 transposed conv on a 1x1 input is the paper's
        # matrix multiplication of z, reshaped to a 4x4 spatial map
        blocks = [
            nn.Sequential(
                nn.ConvTranspose2d(self.latent_size, channels, 4, 1, 0, bias=not batch_norm),
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

    @property
    def latent_size(self) -> int:
        """The length of G's input: nz, plus the one-hot code when categories > 0."""
        return self.nz + self.categories

    def latent(self, z: torch.Tensor) -> torch.Tensor:
        """z as (N, latent_size, 1, 1); a ValueError naming the right shape otherwise."""
        if z.dim() not in (2, 4) or z[0].numel() != self.latent_size:
            code = f" ({self.nz} noise values and a one-hot code of {self.categories})"
            raise ValueError(
                f"Generator expects z of shape (N, {self.latent_size}) or (N, "
                f"{self.latent_size}, 1, 1){code if self.categories else ''}, got "
                f"{tuple(z.shape)}; draw it with sample_z(n, G.nz"
                f"{', categories=G.categories' if self.categories else ''})"
            )
        return z.reshape(z.shape[0], self.latent_size, 1, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Return images in [-1, 1], shape (N, nc, image_size, image_size)."""
        x = self.latent(z)
        for block in self.blocks:
            x = block(x)
        return x

    def feature_maps(self, z: torch.Tensor) -> list[torch.Tensor]:
        """Return the output of every block, from the 4x4 projection to the image."""
        x, maps = self.latent(z), []
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

    categories=K (not the paper's; chapter 8) adds InfoGAN's head Q on the last block: a 4x4
    convolution to 128 channels, LeakyReLU, a linear layer to K logits, in PyTorch's default
    initialisation and without spectral normalisation. ``D(images, with_code=True)`` returns
    (logits, code logits of shape (N, K)).
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
        categories: int = 0,
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
        self.categories = categories
        self.code_head = (
            nn.Sequential(
                nn.Conv2d(channels, 128, 4, 1, 0),
                nn.LeakyReLU(leaky_slope),
                nn.Flatten(),
                nn.Linear(128, categories),
            )
            if categories
            else None
        )

    def forward(
        self, images: torch.Tensor, with_code: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Return logits of shape (N,); sigmoid(logit) is D's probability that the image is real.

        with_code=True (a D built with categories > 0): (logits, Q's code logits (N, K)).
        """
        if images.dim() != 4 or images.shape[1:] != (self.nc, self.image_size, self.image_size):
            raise ValueError(
                f"Discriminator expects images of shape (N, {self.nc}, {self.image_size}, "
                f"{self.image_size}), got {tuple(images.shape)}; build it with matching nc "
                f"and image_size or resize the data"
            )
        x = images
        for block in self.blocks:
            x = block(x)
        if not with_code:
            return self.head(x).flatten()
        if self.code_head is None:
            raise ValueError("with_code=True needs a Discriminator built with categories > 0")
        return self.head(x).flatten(), self.code_head(x)

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
        categories=config.categories,
    )
    discriminator = Discriminator(
        nc,
        config.ndf,
        config.image_size,
        batch_norm=config.batch_norm in ("both", "D"),
        leaky_slope=config.leaky_slope,
        init_std=config.init_std,
        spectral_norm=config.spectral_norm,
        categories=config.categories,
    )
    return generator, discriminator


def sample_z(
    n: int,
    nz: int,
    distribution: str = "normal",
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
    categories: int = 0,
) -> torch.Tensor:
    """Return n noise vectors, shape (n, nz): N(0, 1) or U(-1, 1). Chapter 3.

    categories=K > 0: shape (n, nz + K), each followed by the one-hot code of a category drawn
    uniformly (after the noise, from the same generator); ``code_of(z, K)`` reads it back.
    """
    if distribution == "normal":
        z = torch.randn(n, nz, generator=generator, device=device)
    elif distribution == "uniform":
        z = torch.rand(n, nz, generator=generator, device=device).mul_(2).sub_(1)
    else:
        raise ConfigError(f"z_distribution must be 'normal' or 'uniform', got {distribution!r}")
    if not categories:
        return z
    drawn = torch.randint(0, categories, (n,), generator=generator, device=device)
    return torch.cat([z, one_hot(drawn, categories)], dim=1)


def one_hot(categories: torch.Tensor, count: int) -> torch.Tensor:
    """The (N, count) float one-hot codes of N category numbers in [0, count). Chapter 8."""
    return torch.nn.functional.one_hot(categories, count).float()


def code_of(z: torch.Tensor, categories: int) -> torch.Tensor:
    """The category number of each z drawn by sample_z(..., categories=categories). Chapter 8."""
    return z.reshape(z.shape[0], -1)[:, -categories:].argmax(dim=1)


@torch.no_grad()
def draw_samples(
    generator: nn.Module, n: int, seed: int, batch_size: int = 500
) -> tuple[torch.Tensor, torch.Tensor]:
    """(z, images): n normal noise vectors from a generator seeded with `seed` (each followed by
    its category's one-hot code for a G with a code, as sample_z draws them) and what `generator`
    draws from them, in batches of `batch_size`, without gradients. Chapter 8."""
    noise = torch.Generator().manual_seed(seed)
    z = sample_z(n, generator.nz, generator=noise, categories=generator.categories)
    device = next(generator.parameters()).device
    return z, torch.cat([generator(part.to(device)) for part in z.split(batch_size)])


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
