"""Low-dimensional GANs for the theory chapter: samplers, tiny MLPs, a training loop, mode counts.

Everything here works on points, not images: data of shape (N, data_dim) with data_dim 1
or 2, so that densities can be drawn and integrated on a grid and a whole GAN trains in
seconds on a CPU. The loop is the same recipe as train.py (one D step, then one G step
with the non-saturating loss, Adam with beta1 = 0.5), without images or checkpoints.
Exact formulas (densities, the optimal D, divergences) are in theory.py. Chapter 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .losses import discriminator_loss, gradient_penalty, pick_losses
from .models import code_of, frozen, sample_z

Sampler = Callable[[int, torch.Generator], torch.Tensor]
TOY_HISTORY_KEYS = ("loss_D", "loss_G", "D_x", "D_G_z")


# --------------------------------------------------------------------------- data


def gaussian_1d(
    n: int, mean: float = 0.0, std: float = 1.0, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Return n samples of N(mean, std^2), shape (n, 1). Chapter 1."""
    if std <= 0:
        raise ValueError(f"std must be positive, got {std}")
    return mean + std * torch.randn(n, 1, generator=generator)


def ring_centres(modes: int = 8, radius: float = 2.0) -> torch.Tensor:
    """Return the centres of `modes` Gaussians evenly spaced on a circle, shape (modes, 2).

    Chapter 1.
    """
    if modes < 1:
        raise ValueError(f"modes must be at least 1, got {modes}")
    angles = torch.arange(modes, dtype=torch.float32) * (2 * math.pi / modes)
    return radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)


def ring_of_gaussians(
    n: int,
    modes: int = 8,
    radius: float = 2.0,
    std: float = 0.02,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Return n samples of an equal mixture of `modes` Gaussians on a circle, shape (n, 2).

    Chapter 1.
    """
    if std <= 0:
        raise ValueError(f"std must be positive, got {std}")
    centres = ring_centres(modes, radius)
    which = torch.randint(modes, (n,), generator=generator)
    return centres[which] + std * torch.randn(n, 2, generator=generator)


# --------------------------------------------------------------------------- models


def _mlp(in_dim: int, out_dim: int, hidden: int, depth: int, activation: Callable[[], nn.Module]):
    layers, width = [], in_dim
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), activation()]
        width = hidden
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)


class ToyGenerator(nn.Module):
    """An MLP G: z of shape (N, nz) -> points of shape (N, data_dim). ReLU hidden layers.

    With categories=K, z is nz noise values and a one-hot code of K categories (chapter 8).
    Chapter 1.
    """

    def __init__(
        self, nz: int = 2, data_dim: int = 2, hidden: int = 64, depth: int = 2, categories: int = 0
    ):
        super().__init__()
        self.nz, self.data_dim, self.categories = nz, data_dim, categories
        self.net = _mlp(nz + categories, data_dim, hidden, depth, nn.ReLU)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Return points, shape (N, data_dim); the output is linear (no tanh): toy data is unbounded."""
        return self.net(z)


class ToyDiscriminator(nn.Module):
    """An MLP D: points of shape (N, data_dim) -> logits of shape (N,). LeakyReLU(0.2) hidden layers.

    Chapter 1.
    """

    def __init__(
        self, data_dim: int = 2, hidden: int = 64, depth: int = 2, spectral_norm: bool = False
    ):
        super().__init__()
        self.data_dim = data_dim
        self.net = _mlp(data_dim, 1, hidden, depth, lambda: nn.LeakyReLU(0.2))
        # chapter 8: each linear layer divided by its largest singular value (Miyato et al.,
        # 2018), so 1-Lipschitz up to the power-iteration estimate; LeakyReLU is too, so D is
        if spectral_norm:
            for layer in [m for m in self.net if isinstance(m, nn.Linear)]:
                nn.utils.parametrizations.spectral_norm(layer)

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        """Return logits, shape (N,); sigmoid(logit) is D's probability that a point is real."""
        if points.dim() != 2 or points.shape[1] != self.data_dim:
            raise ValueError(
                f"ToyDiscriminator expects points of shape (N, {self.data_dim}), "
                f"got {tuple(points.shape)}; reshape 1-D data with x.reshape(-1, 1)"
            )
        return self.net(points).squeeze(1)


# --------------------------------------------------------------------------- training


@dataclass
class ToyGANResult:
    """What train_toy_gan returns.

    history: per-step loss_D, loss_G, D_x (mean D on real points), D_G_z (mean D on fakes),
    and with a categorical code loss_Q (Q's cross-entropy in the G step).
    snapshots: (step, fake points of shape (n_snapshot, data_dim)) from one fixed z, taken
    before training (step 0) and every snapshot_every steps.
    code_reader: with a categorical code, Q, the MLP that reads the category of a point.
    """

    generator: ToyGenerator
    discriminator: ToyDiscriminator
    history: dict[str, list[float]] = field(default_factory=dict)
    snapshots: list[tuple[int, torch.Tensor]] = field(default_factory=list)
    code_reader: nn.Module | None = None

    @torch.no_grad()
    def sample(self, n: int, seed: int = 1, categories: bool = False):
        """Return n fresh fake points, shape (n, data_dim); with categories=True (a G with a
        code) also the category each point was drawn with, shape (n,)."""
        G = self.generator
        noise = torch.Generator().manual_seed(seed)
        z = sample_z(n, G.nz, generator=noise, categories=G.categories)
        if not categories:
            return G(z)
        if not G.categories:
            raise ValueError("categories=True needs a G trained with a categorical code")
        return G(z), code_of(z, G.categories)


@dataclass
class _CodeTerm:
    """A categorical code's part of a toy step: Q and the weight of its loss."""

    reader: nn.Module
    weight: float

    def loss(self, points: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """Q's cross-entropy against the categories the points were drawn with."""
        return F.cross_entropy(self.reader(points), codes)


def _toy_d_step(G, D, opt_D, real, nz, batch_size, rng, d_loss_fn, gp_weight, code=None):
    """One Adam step on D (and Q); return (fake points, their categories (None without a
    code), D loss, real logits, fake logits)."""
    z = sample_z(batch_size, nz, generator=rng, categories=G.categories)
    codes = code_of(z, G.categories) if G.categories else None
    fake = G(z)
    # detach: the D step must not update G
    real_logits, fake_logits = D(real), D(fake.detach())
    loss_D = d_loss_fn(real_logits, fake_logits)
    if gp_weight:  # WGAN-GP (chapter 8): the critic's slope held near 1
        loss_D = loss_D + gp_weight * gradient_penalty(D, real, fake, rng)
    if code is not None:  # InfoGAN (chapter 8): Q learns to read the code, in D's optimiser
        loss_D = loss_D + code.weight * code.loss(fake.detach(), codes)
    opt_D.zero_grad(set_to_none=True)
    loss_D.backward()
    opt_D.step()
    return fake, codes, loss_D, real_logits, fake_logits


def _toy_step(G, D, opt_G, opt_D, real, nz, batch_size, rng, losses, gp_weight, code=None):
    d_loss_fn, g_loss_fn = losses
    fake, codes, loss_D, real_logits, fake_logits = _toy_d_step(
        G, D, opt_D, real, nz, batch_size, rng, d_loss_fn, gp_weight, code
    )
    with frozen(D):  # no D weight gradients in the G step (models.frozen)
        fake_logits_G = D(fake)
    loss_G = g_loss_fn(fake_logits_G)
    if code is not None:  # G draws each category so that Q can read it
        with frozen(code.reader):
            loss_Q = code.loss(fake, codes)
        loss_G = loss_G + code.weight * loss_Q
    opt_G.zero_grad(set_to_none=True)
    loss_G.backward()
    opt_G.step()
    return {
        "loss_D": loss_D.item(),
        "loss_G": loss_G.item(),
        "D_x": torch.sigmoid(real_logits).mean().item(),
        "D_G_z": torch.sigmoid(fake_logits).mean().item(),
    } | ({"loss_Q": loss_Q.item()} if code is not None else {})


def train_toy_gan(sampler: Sampler, data_dim: int, nz: int = 2, hidden: int = 64,
                  depth: int = 2, steps: int = 2000, batch_size: int = 256, lr: float = 1e-3,
                  betas: tuple[float, float] = (0.5, 0.999), snapshot_every: int = 100,
                  n_snapshot: int = 1000, saturating: bool = False, lr_d: float | None = None,
                  seed: int = 0, loss: str = "bce", label_smoothing: float = 0.0,
                  spectral_norm: bool = False, gp_weight: float = 10.0, n_critic: int = 1,
                  betas_d: tuple[float, float] | None = None, categories: int = 0,
                  info_weight: float = 1.0) -> ToyGANResult:  # fmt: skip
    """Train a toy GAN on points drawn by `sampler(n, generator)` (shape (n, data_dim)). Chapter 1.

    One step: one Adam step on D (BCE on a real and a fake batch), then one on G with the
    non-saturating loss (or the minimax one if saturating=True). D learns with lr_d
    (default: lr, as in the paper). Deterministic given seed.
    Chapter 8's fixes, the same as TrainConfig's: loss "hinge" or "wgan-gp" (with its
    gradient penalty times gp_weight), label_smoothing (D's real target 1 - label_smoothing),
    spectral_norm on D's layers (each linear layer 1-Lipschitz), and lr_d for TTUR.
    n_critic D steps (each on a fresh real and fake batch) precede every G step, as in
    WGAN and WGAN-GP (5); `steps` counts G steps. betas_d: D's Adam betas (default: betas).
    categories=K > 0: InfoGAN's categorical code, as TrainConfig.categories (chapter 8): z ends
    in a one-hot code of K categories, and Q, an MLP like D's with K outputs (on points it has
    no convolutions to share with D), learns with D's Adam to read the category of each fake
    point; its cross-entropy times info_weight is added to D's and G's losses.
    """
    if steps < 0 or batch_size < 1 or snapshot_every < 1 or n_critic < 1 or categories == 1:
        raise ValueError(
            f"need steps >= 0, batch_size >= 1, snapshot_every >= 1, n_critic >= 1 and "
            f"categories 0 or at least 2; got steps={steps}, batch_size={batch_size}, "
            f"snapshot_every={snapshot_every}, n_critic={n_critic}, categories={categories}"
        )
    losses = pick_losses(loss, label_smoothing, saturating)
    torch.manual_seed(seed)
    G = ToyGenerator(nz, data_dim, hidden, depth, categories)
    D = ToyDiscriminator(data_dim, hidden, depth, spectral_norm)
    code = None
    if categories:
        reader = _mlp(data_dim, categories, hidden, depth, lambda: nn.LeakyReLU(0.2))
        code = _CodeTerm(reader, info_weight)
    d_parameters = [*D.parameters(), *(code.reader.parameters() if code else ())]
    opt_G = torch.optim.Adam(G.parameters(), lr=lr, betas=betas)
    opt_D = torch.optim.Adam(d_parameters, lr=lr if lr_d is None else lr_d, betas=betas_d or betas)
    rng = torch.Generator().manual_seed(seed + 1)
    fixed_z = sample_z(
        n_snapshot, nz, generator=torch.Generator().manual_seed(seed + 2), categories=categories
    )
    keys = TOY_HISTORY_KEYS + (("loss_Q",) if code else ())
    result = ToyGANResult(G, D, {key: [] for key in keys}, code_reader=code and code.reader)
    penalty = gp_weight if loss == "wgan-gp" else 0.0
    for step in range(steps + 1):
        if step % snapshot_every == 0 or step == steps:
            with torch.no_grad():
                result.snapshots.append((step, G(fixed_z)))
        if step == steps:
            break
        for _ in range(n_critic - 1):  # the extra critic steps; the last one is in _toy_step
            real = _draw(sampler, batch_size, data_dim, rng)
            _toy_d_step(G, D, opt_D, real, nz, batch_size, rng, losses[0], penalty, code)
        real = _draw(sampler, batch_size, data_dim, rng)
        for key, value in _toy_step(
            G, D, opt_G, opt_D, real, nz, batch_size, rng, losses, penalty, code
        ).items():
            result.history[key].append(value)
    return result


def _draw(sampler: Sampler, batch_size: int, data_dim: int, rng: torch.Generator):
    real = sampler(batch_size, rng)
    if real.shape != (batch_size, data_dim):
        raise ValueError(
            f"sampler must return shape ({batch_size}, {data_dim}), got {tuple(real.shape)}"
        )
    return real


def fit_discriminator(real_sampler: Sampler, fake_sampler: Sampler, data_dim: int = 1,
                      hidden: int = 64, depth: int = 2, steps: int = 1000, batch_size: int = 512,
                      lr: float = 2e-3, seed: int = 0) -> ToyDiscriminator:  # fmt: skip
    """Train only D, for a fixed G given as a sampler of fake points; return D. Chapter 1.

    With enough capacity and data, sigmoid(D(x)) approaches the optimal discriminator
    p_data(x) / (p_data(x) + p_g(x)) wherever either density has mass.
    """
    torch.manual_seed(seed)
    D = ToyDiscriminator(data_dim, hidden, depth)
    opt = torch.optim.Adam(D.parameters(), lr=lr)
    rng = torch.Generator().manual_seed(seed + 1)
    for _ in range(steps):
        loss = discriminator_loss(
            D(real_sampler(batch_size, rng)), D(fake_sampler(batch_size, rng))
        )
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return D


# --------------------------------------------------------------------------- metrics


def nearest_centre(
    samples: torch.Tensor, centres: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (index of the nearest centre, distance to it), each shape (N,), for samples (N, d)."""
    distances = torch.cdist(samples.float(), centres.float())
    distance, index = distances.min(dim=1)
    return index, distance


def mode_counts(samples: torch.Tensor, centres: torch.Tensor, threshold: float) -> torch.Tensor:
    """Return how many samples lie within `threshold` of each centre, shape (modes,)."""
    index, distance = nearest_centre(samples, centres)
    close = distance <= threshold
    return torch.bincount(index[close], minlength=len(centres))


def modes_covered(
    samples: torch.Tensor,
    centres: torch.Tensor,
    threshold: float = 0.1,
    min_fraction: float = 0.02,
) -> int:
    """Return the number of modes that receive at least min_fraction of the samples within
    `threshold` of their centre (e.g. 5 std of the mode). samples (N, d), centres (modes, d).

    With min_fraction = 0.02 and 8 equal modes (12.5% each), a mode counts as covered when
    it gets at least a sixth of its fair share.
    Chapter 1.
    """
    if threshold <= 0 or not 0 <= min_fraction <= 1:
        raise ValueError(
            f"need threshold > 0 and 0 <= min_fraction <= 1, got {threshold}, {min_fraction}"
        )
    counts = mode_counts(samples, centres, threshold)
    return int((counts >= min_fraction * len(samples)).sum())


def fraction_near_modes(
    samples: torch.Tensor, centres: torch.Tensor, threshold: float = 0.1
) -> float:
    """Return the fraction of samples within `threshold` of some centre ('high-quality' samples).

    Chapter 1.
    """
    _, distance = nearest_centre(samples, centres)
    return float((distance <= threshold).float().mean())


# --------------------------------------------------------------------------- comparisons


def compare_on_ring(
    variants: dict[str, dict],
    seeds: tuple[int, ...] | range = range(5),
    steps: int = 4000,
    n_samples: int = 2000,
    threshold: float = 0.25,
) -> dict:
    """Train chapter 1's ring GAN once per variant and seed; count modes on fresh samples.

    The ring is chapter 1's (8 modes of std 0.05 on a circle of radius 2; MLPs of 64 units,
    z in R^2, Adam 1e-3 with beta1 0.5, batches of 256); each variant is a dict of
    train_toy_gan arguments that it changes. Returns {"rows": one dict per run (variant,
    seed, modes covered, fraction near a mode), "points": {variant: the n_samples points of
    the first seed, shape (n_samples, 2)}, "categories": {variant with a categorical code:
    the category each of those points was drawn with, shape (n_samples,)}}. Chapter 8.
    """
    centres = ring_centres(8, 2.0)

    def ring(n: int, rng: torch.Generator) -> torch.Tensor:
        return ring_of_gaussians(n, modes=8, radius=2.0, std=0.05, generator=rng)

    rows, points, categories = [], {}, {}
    for name, changes in variants.items():
        for seed in seeds:
            settings = dict(nz=2, hidden=64, steps=steps, lr=1e-3, snapshot_every=steps)
            run = train_toy_gan(ring, 2, seed=seed, **(settings | changes))
            if run.generator.categories:  # the points and the category of each
                samples, drawn = run.sample(n_samples, seed=100 + seed, categories=True)
                categories.setdefault(name, drawn)
            else:
                samples = run.sample(n_samples, seed=100 + seed)
            points.setdefault(name, samples)
            rows.append(
                {
                    "variant": name,
                    "seed": seed,
                    "modes": modes_covered(samples, centres, threshold),
                    "near": fraction_near_modes(samples, centres, threshold),
                }
            )
    return {"rows": rows, "points": points, "categories": categories}


def load_ring_comparison(path: str | Path | None = None) -> dict:
    """compare_on_ring's result as data/train_after_dcgan.py stored it, with its settings.

    Reads data/runs/after-dcgan-ring.pt (or path): {"rows", "points", "seeds", "steps",
    "variants", "machine", "seconds"}. Chapter 8.
    """
    from .checkpoints import read_shipped_weights  # toy.py needs no checkpoints otherwise
    from .stored_runs import runs_path

    path = Path(path) if path else runs_path("after-dcgan-ring")
    return read_shipped_weights(
        path, "ring comparison", "train_after_dcgan.py", required={"rows": None, "points": None}
    )
