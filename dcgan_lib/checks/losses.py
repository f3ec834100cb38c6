"""check_d_loss and check_g_loss: a student's GAN losses against the library's (losses.py).

Chapter 5 (the training loop) runs them on the losses students write.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..losses import (
    discriminator_loss,
    generator_loss,
    hinge_discriminator_loss,
    hinge_generator_loss,
)
from .report import CheckReport, exercise, fail, fail_if_not_written, on_cpu_in_float32


def _call_loss(fn: Callable, args: tuple[torch.Tensor, ...], check: str) -> torch.Tensor:
    try:
        loss = fn(*args)
    except Exception as error:  # noqa: BLE001 - explain any error with the expected signature
        fail_if_not_written(check, error, getattr(fn, "__name__", "the loss"))
        fail(
            check,
            f"calling it on logits of shape {tuple(args[0].shape)} raised {error!r}",
            "the function takes logits (D's raw outputs), shape (N,), and returns a scalar tensor",
        )
    if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
        shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        fail(
            check,
            f"expected a scalar tensor, got {shape}",
            "average over the batch (the BCE losses do by default) and return a tensor, not .item()",
        )
    return loss


def _logits(values, requires_grad: bool = True) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32, requires_grad=requires_grad)


def _check_extremes(
    fn: Callable, reference: Callable, n_args: int, check: str, report: CheckReport
) -> None:
    """Confident logits (+-30, +-200): the loss and its gradient must be finite and right.

    log(sigmoid(a)) underflows to -inf (nan gradients); BCELoss after a Sigmoid clamps the
    log at -100, so the loss stops growing and its gradient vanishes.
    """
    extreme = [_logits([200.0, -200.0, 30.0, -30.0]) for _ in range(n_args)]
    loss = _call_loss(fn, tuple(extreme), check)
    loss.backward()
    grads = [t.grad if t.grad is not None else torch.zeros(4) for t in extreme]
    if not torch.isfinite(loss) or not all(torch.isfinite(grad).all() for grad in grads):
        fail(
            check,
            "the loss or its gradient is inf/nan for confident logits (+-30, +-200)",
            "log(sigmoid(a)) underflows; use F.binary_cross_entropy_with_logits on the logits",
        )
    expected = [_logits([200.0, -200.0, 30.0, -30.0]) for _ in range(n_args)]
    expected_loss = reference(*expected)
    expected_loss.backward()
    if not torch.isclose(loss, expected_loss, rtol=1e-3) or not all(
        torch.allclose(grad, target.grad, atol=1e-4) for grad, target in zip(grads, expected)
    ):
        fail(
            check,
            f"for confident logits (+-200) the loss is {loss.item():.1f}, expected "
            f"{expected_loss.item():.1f}, or its gradient vanishes",
            "Sigmoid followed by BCELoss clamps the log and loses the gradient: apply "
            "F.binary_cross_entropy_with_logits to the logits",
        )
    report.passed.append("right, finite loss and gradient for confident logits (+-200)")


def _d_loss_scale(loss, real, fake, check: str, report: CheckReport) -> float:
    """1.0 if loss is the course's D loss, 0.5 if it is their mean; fail on anything else."""
    reference = discriminator_loss(real, fake)
    swapped = discriminator_loss(fake, real)  # real called fake and fake called real
    if torch.isclose(loss, swapped, rtol=1e-4) or torch.isclose(loss, swapped / 2, rtol=1e-4):
        fail(
            check,
            "the labels are swapped: D is rewarded for calling real images fake",
            "real images get target 1 (torch.ones_like(real_logits)), fakes get target 0",
        )
    if torch.isclose(loss, reference / 2, rtol=1e-4):
        report.notes.append(
            "your loss is half the course's (a mean of the two terms): with Adam "
            "the updates are the same, Adam does not depend on the loss's scale"
        )
        return 0.5
    if not torch.isclose(loss, reference, rtol=1e-4):
        fail(
            check,
            f"got {loss.item():.4f}, expected {reference.item():.4f} "
            "= BCE(real_logits, 1) + BCE(fake_logits, 0)",
            "the inputs are logits (D's raw outputs, not probabilities); compute -log D(x) - "
            "log(1 - D(G(z))) averaged over the batch: "
            "F.binary_cross_entropy_with_logits(real_logits, ones) + ... (fake_logits, zeros)",
        )
    report.passed.append(f"value matches -log D(x) - log(1 - D(G(z))) ({reference.item():.4f})")
    return 1.0


def check_d_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> CheckReport:
    """Check `fn(real_logits, fake_logits) -> scalar`, D's loss -log D(x) - log(1 - D(G(z))).

    Reference: losses.discriminator_loss, BCE-with-logits of the real logits against 1 plus
    that of the fake logits against 0, each averaged over the batch (the paper's Algorithm 1).
    Chapter 5.
    """
    check, report = "check_d_loss", CheckReport("check_d_loss")
    real, fake = _logits([2.0, -1.0, 0.5, 3.0]), _logits([-2.0, 1.0, 0.0, -0.5])
    loss = _call_loss(fn, (real, fake), check)
    scale = _d_loss_scale(loss, real.detach(), fake.detach(), check, report)
    loss.backward()
    pushes = real.grad is not None and fake.grad is not None
    if not (pushes and (real.grad < 0).all() and (fake.grad > 0).all()):
        fail(
            check,
            "the gradient does not push real logits up and fake logits down",
            "do not detach the logits inside the loss, and keep the signs of both terms",
        )
    report.passed.append("gradient pushes real logits up and fake logits down")

    def scaled_reference(real_logits, fake_logits):
        return scale * discriminator_loss(real_logits, fake_logits)

    _check_extremes(fn, scaled_reference, 2, check, report)
    return report


def check_g_loss(fn: Callable[[torch.Tensor], torch.Tensor]) -> CheckReport:
    """Check `fn(fake_logits) -> scalar`, G's non-saturating loss -log D(G(z)). Chapter 5.

    The minimax form log(1 - D(G(z))) saturates: when D confidently rejects the fakes
    (early in training) its gradient vanishes (Goodfellow et al., 2014, section 3).
    """
    check, report = "check_g_loss", CheckReport("check_g_loss")
    fake = _logits([-2.0, 1.0, 0.0, -0.5])
    loss = _call_loss(fn, (fake,), check)
    reference = generator_loss(fake)
    saturating = generator_loss(fake, saturating=True)
    if torch.isclose(loss, saturating, rtol=1e-4):
        fail(
            check,
            "this is the saturating minimax loss log(1 - D(G(z)))",
            "when D rejects the fakes its gradient vanishes; minimise -log D(G(z)) instead: "
            "F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))",
        )
    if not torch.isclose(loss, reference, rtol=1e-4):
        fail(
            check,
            f"got {loss.item():.4f}, expected -log D(G(z)) = {reference.item():.4f}",
            "the input is logits (D's raw outputs, not probabilities): BCE-with-logits of the "
            "fake logits against target 1 (G wants D to call its images real)",
        )
    report.passed.append(f"value matches the non-saturating -log D(G(z)) ({reference.item():.4f})")
    rejected = _logits([-10.0, -10.0, -10.0, -10.0])
    _call_loss(fn, (rejected,), check).backward()
    if rejected.grad is None or rejected.grad.abs().mean() < 0.1 / 4:
        fail(
            check,
            "the gradient vanishes when D confidently rejects the fakes (logit -10)",
            "use the non-saturating loss -log D(G(z)): its gradient is largest exactly then",
        )
    report.passed.append("strong gradient when D confidently rejects the fakes (no saturation)")
    _check_extremes(fn, generator_loss, 1, check, report)
    return report


def check_hinge_losses(
    d_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    g_loss: Callable[[torch.Tensor], torch.Tensor],
) -> CheckReport:
    """Check a student's hinge losses (SN-GAN, Miyato et al., 2018) against the library's.
    Chapter 8.

    d_loss(real_logits, fake_logits) must be mean(relu(1 - real)) + mean(relu(1 + fake)) and
    g_loss(fake_logits) must be -mean(fake), each a scalar tensor: on outputs whose losses are
    known by hand (real outputs past the margin +1 and fakes below -1 cost D nothing) and on
    random outputs, compared with hinge_discriminator_loss and hinge_generator_loss. The
    failures are named after the exercise's functions. Raises CheckFailed with a hint.
    """
    report = CheckReport("check_hinge_losses")
    real, fake = torch.tensor([2.0, 0.5, -1.0]), torch.tensor([-3.0, 0.0, 1.0])
    outputs = torch.randn(2, 100, generator=torch.Generator().manual_seed(0)) * 3
    d_known_value, g_known_value = (0.5 + 2.0 + 3.0) / 3, 2.0 / 3
    with exercise("my_hinge_d_loss"):  # a blank exercise: "not written yet"
        d_known, d_random = d_loss(real, fake), d_loss(*outputs)
    with exercise("my_hinge_g_loss"):
        g_known, g_random = g_loss(fake), g_loss(outputs[1])
    for name, loss in (("my_hinge_d_loss", d_known), ("my_hinge_g_loss", g_known)):
        if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
            fail(
                name,
                f"returns {getattr(loss, 'shape', type(loss).__name__)}, not a scalar tensor",
                "average over the batch with .mean() and return the tensor",
            )
    d_random, g_random = (on_cpu_in_float32(loss) for loss in (d_random, g_random))
    if not (
        abs(d_known.item() - d_known_value) < 1e-6
        and torch.allclose(d_random, hinge_discriminator_loss(*outputs))
    ):
        fail(
            "my_hinge_d_loss",
            f"gives {d_known.item():.4f} on real {real.tolist()} and fake {fake.tolist()}, "
            f"not {d_known_value:.4f}",
            "mean(relu(1 - real)) + mean(relu(1 + fake)): a margin on each side, each term "
            "averaged over its own batch",
        )
    report.passed.append(
        f"D's loss: {d_known_value:.4f} on known outputs, the library's on random"
    )
    if not (
        abs(g_known.item() - g_known_value) < 1e-6
        and torch.allclose(g_random, hinge_generator_loss(outputs[1]))
    ):
        fail(
            "my_hinge_g_loss",
            f"gives {g_known.item():.4f} on fake {fake.tolist()}, not {g_known_value:.4f}",
            "G's hinge loss is -mean(fake): no margin and no relu for G",
        )
    report.passed.append(
        f"G's loss: {g_known_value:.4f} on known outputs, the library's on random"
    )
    return report
