"""The GAN losses, computed on D's logits (its raw outputs, before the sigmoid).

D's loss is the negated value function of Goodfellow et al. (2014), -log D(x) - log(1 - D(G(z))),
each term averaged over its batch. G's loss is the non-saturating -log D(G(z)) of the same
paper's section 3, or the original minimax log(1 - D(G(z))) when asked for. On logits,
BCE-with-logits computes both stably (no log of a sigmoid that underflows). Chapters 1 and 5.
"""

from __future__ import annotations

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
