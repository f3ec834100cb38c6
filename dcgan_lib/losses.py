"""The GAN losses, computed on D's logits (its raw outputs, before the sigmoid).

D's loss is the negated value function of Goodfellow et al. (2014), -log D(x) - log(1 - D(G(z))),
each term averaged over its batch. G's loss is the non-saturating -log D(G(z)) of the same
paper's section 3, or the original minimax log(1 - D(G(z))) when asked for. On logits,
BCE-with-logits computes both stably (no log of a sigmoid that underflows). Chapters 1 and 5.

After them come the losses of the fixes that followed DCGAN, which chapter 8 measures: one-sided
label smoothing, the hinge loss of SN-GAN, and the Wasserstein losses with WGAN-GP's gradient
penalty. pick_losses returns the pair a TrainConfig's ``loss`` names.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
import torch.nn.functional as F


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Return -log D(x) - log(1 - D(G(z))): BCE with target 1 on real logits plus target 0 on fakes.

    Chapter 5.
    """
    return F.binary_cross_entropy_with_logits(
        real_logits, torch.ones_like(real_logits)
    ) + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))


def generator_loss(fake_logits: torch.Tensor, saturating: bool = False) -> torch.Tensor:
    """Return G's loss: -log D(G(z)) (non-saturating, default) or log(1 - D(G(z))) (minimax).

    Chapter 5.
    """
    if saturating:
        return -F.softplus(fake_logits).mean()  # log(1 - sigmoid(a)) = -softplus(a)
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


# --------------------------------------------------------------------------- after DCGAN
# The losses of the fixes that came after the paper. Chapter 8 measures each one.

LOSSES = ("bce", "hinge", "wgan-gp")


def smoothed_discriminator_loss(
    real_logits: torch.Tensor, fake_logits: torch.Tensor, smoothing: float = 0.1
) -> torch.Tensor:
    """Return D's BCE loss with the real target 1 - smoothing and the fake target 0.

    One-sided label smoothing (Salimans et al., 2016, section 3.4): -(1 - s) log D(x)
    - s log(1 - D(x)) - log(1 - D(G(z))). Only the real side is smoothed: a smoothed fake
    target would reward D for keeping some belief in fakes where no data is. Chapter 8.
    """
    real_target = torch.full_like(real_logits, 1.0 - smoothing)
    return F.binary_cross_entropy_with_logits(
        real_logits, real_target
    ) + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))


def hinge_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Return mean(relu(1 - D(x))) + mean(relu(1 + D(G(z)))) on raw outputs D.

    The hinge loss of SN-GAN (Miyato et al., 2018): D stops pushing a real output past +1
    and a fake one past -1, so a confident D gives no more gradient to grow. Chapter 8.
    """
    return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()


def hinge_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Return -mean(D(G(z))): G raises D's raw output on its samples (hinge GAN). Chapter 8."""
    return -fake_logits.mean()


def wasserstein_critic_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Return mean(D(G(z))) - mean(D(x)): the critic's loss of WGAN (Arjovsky et al., 2017).

    Minimising it maximises mean D(x) - mean D(G(z)), which for a 1-Lipschitz D estimates
    the Wasserstein-1 (earth mover's) distance between p_data and p_g. Chapter 8.
    """
    return fake_logits.mean() - real_logits.mean()


def wasserstein_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Return -mean(D(G(z))): G moves its samples up the critic's slope (WGAN). Chapter 8."""
    return -fake_logits.mean()


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Return mean((||grad_x D(x_hat)||_2 - 1)^2) at x_hat = e x + (1 - e) G(z), e ~ U(0, 1).

    The penalty of WGAN-GP (Gulrajani et al., 2017, eq. 3), without its weight (10 in the
    paper): it holds the critic's slope near 1 on lines between real and fake samples, in
    place of WGAN's weight clipping. One e per sample; real and fake of shape (N, ...).
    Differentiable (create_graph), so the D step's backward trains the slope. Each sample's
    gradient must depend on that sample alone: no BatchNorm in the critic. Computed in fp32,
    outside autocast, so that the gradient of the gradient does not underflow. Chapter 8.
    """
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    mix = torch.rand(shape, generator=generator, device=real.device)
    points = (mix * real.detach().float() + (1 - mix) * fake.detach().float()).requires_grad_(True)
    with torch.autocast(real.device.type, enabled=False):
        outputs = critic(points)
    (slopes,) = torch.autograd.grad(outputs.sum(), points, create_graph=True)
    return (slopes.flatten(1).norm(dim=1) - 1).square().mean()


def pick_losses(loss: str = "bce", label_smoothing: float = 0.0, saturating: bool = False):
    """Return (D's loss, G's loss), each a function of logits, for loss in LOSSES. Chapter 8.

    "bce" with label_smoothing 0 is the paper's pair, discriminator_loss and generator_loss;
    with label_smoothing s > 0, D's real target is 1 - s. "wgan-gp" returns the Wasserstein
    pair: its gradient penalty needs D and the images, so the training step adds it.
    """
    if loss == "bce":
        d_loss = (
            partial(smoothed_discriminator_loss, smoothing=label_smoothing)
            if label_smoothing
            else discriminator_loss
        )
        return d_loss, partial(generator_loss, saturating=saturating)
    if saturating or label_smoothing:
        raise ValueError(
            f"saturating and label_smoothing apply to loss='bce' only, not {loss!r}; "
            f"leave them at False and 0"
        )
    if loss == "hinge":
        return hinge_discriminator_loss, hinge_generator_loss
    if loss == "wgan-gp":
        return wasserstein_critic_loss, wasserstein_generator_loss
    raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
