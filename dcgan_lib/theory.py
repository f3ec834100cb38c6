"""The exact quantities of GAN theory on a grid: densities, the optimal D, KL, JSD, V(D, G), C(G).

Chapter 1 checks the theorems of Goodfellow et al. (2014) numerically with these. Densities
are evaluated on a regular grid (1-D arrays, spacing dx) and integrated with the rectangle
rule; the results are plain floats in nats. ``generator_loss_curves`` compares the
gradients of G's two losses as functions of D(G(z)).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F


def gaussian_pdf(x: np.ndarray, mean: float = 0.0, std: float = 1.0) -> np.ndarray:
    """Return the density of N(mean, std^2) at x (any shape). Chapter 1."""
    return np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))


def optimal_discriminator(p_data: np.ndarray, p_g: np.ndarray) -> np.ndarray:
    """Return D*(x) = p_data(x) / (p_data(x) + p_g(x)) (Goodfellow et al. 2014, Prop. 1); 0.5 where both are 0.

    Chapter 1.
    """
    p_data, p_g = np.asarray(p_data, dtype=float), np.asarray(p_g, dtype=float)
    if (p_data < 0).any() or (p_g < 0).any():
        raise ValueError("densities must be non-negative")
    total = p_data + p_g
    return np.divide(p_data, total, out=np.full_like(total, 0.5), where=total > 0)


def _xlogy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x * log(y) with the convention 0 * log(anything) = 0."""
    return np.where(x > 0, x * np.log(np.where(x > 0, y, 1.0)), 0.0)


def kl_divergence(p: np.ndarray, q: np.ndarray, dx: float) -> float:
    """Return KL(p || q) = integral p log(p / q) dx for densities on a grid with spacing dx, in nats.

    Chapter 1.
    """
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    return float(np.sum(_xlogy(p, p) - _xlogy(p, q)) * dx)


def jsd(p: np.ndarray, q: np.ndarray, dx: float) -> float:
    """Return the Jensen-Shannon divergence KL(p||m)/2 + KL(q||m)/2, m = (p+q)/2, in nats (0 .. log 2).

    Chapter 1.
    """
    mixture = 0.5 * (np.asarray(p, dtype=float) + np.asarray(q, dtype=float))
    return 0.5 * kl_divergence(p, mixture, dx) + 0.5 * kl_divergence(q, mixture, dx)


def value_function(
    p_data: np.ndarray,
    p_g: np.ndarray,
    d: np.ndarray,
    dx: float,
    one_minus_d: np.ndarray | None = None,
) -> float:
    """Return V(D, G) = E_{p_data}[log D(x)] + E_{p_g}[log(1 - D(x))] on a grid, D given as values d.

    one_minus_d: 1 - d computed without rounding, where d rounds to 1 in floating point.
    Chapter 1.
    """
    d = np.asarray(d, dtype=float)
    one_minus_d = 1.0 - d if one_minus_d is None else np.asarray(one_minus_d, dtype=float)
    return float(
        np.sum(
            _xlogy(np.asarray(p_data, dtype=float), d)
            + _xlogy(np.asarray(p_g, dtype=float), one_minus_d)
        )
        * dx
    )


def generator_criterion(p_data: np.ndarray, p_g: np.ndarray, dx: float) -> float:
    """Return C(G) = max_D V(D, G) = V(D*, G); in theory it equals -log 4 + 2 JSD(p_data || p_g).

    Chapter 1.
    """
    # 1 - D* = p_g / (p_data + p_g), computed directly: where p_g << p_data, 1 - D* would round to 0
    return value_function(
        p_data,
        p_g,
        optimal_discriminator(p_data, p_g),
        dx,
        one_minus_d=optimal_discriminator(p_g, p_data),
    )


def generator_loss_curves(d_fake: torch.Tensor) -> dict[str, torch.Tensor]:
    """For values of D(G(z)) in (0, 1), shape (K,), return both G losses and their gradients
    with respect to D's logit a (D = sigmoid(a)), each shape (K,), computed with autograd.

    Keys: saturating = log(1 - D), non_saturating = -log D, grad_saturating (= -D),
    grad_non_saturating (= D - 1).
    Chapter 1.
    """
    if (d_fake <= 0).any() or (d_fake >= 1).any():
        raise ValueError("d_fake must lie strictly between 0 and 1")
    logits = torch.logit(d_fake.double()).requires_grad_(True)
    saturating = -F.softplus(logits)  # log(1 - sigmoid(a))
    non_saturating = F.softplus(-logits)  # -log sigmoid(a)
    (grad_sat,) = torch.autograd.grad(saturating.sum(), logits)
    (grad_non_sat,) = torch.autograd.grad(non_saturating.sum(), logits)
    return {
        "saturating": saturating.detach(),
        "non_saturating": non_saturating.detach(),
        "grad_saturating": grad_sat,
        "grad_non_saturating": grad_non_sat,
    }
