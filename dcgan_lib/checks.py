"""Self-checks a student runs on their own code, e.g. `check_generator(MyGenerator)`.

Each check builds small inputs, runs the student's module or function and compares it
with the paper's recipe (Radford et al., 2015) and the course library. On success it
returns a `CheckReport` (a notebook shows it as a short list of what passed); on the
first problem it raises `CheckFailed`, an AssertionError whose message says what is
wrong and gives a hint for the fix. Checks never touch the caller's random state.

Conventions checked (the same as dcgan_lib.models and dcgan_lib.train):
* G maps z of shape (N, nz, 1, 1) or (N, nz) to images (N, nc, S, S) in [-1, 1] (Tanh);
* D maps images (N, nc, S, S) to raw logits of shape (N,): no Sigmoid, the loss applies it;
* losses take logits: `d_loss(real_logits, fake_logits)`, `g_loss(fake_logits)`;
* weights start from N(0, 0.02) (paper, section 4).
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

INIT_STD = 0.02  # paper, section 4: all weights from N(0, 0.02)
INIT_TOLERANCE = 0.006  # a default PyTorch init lands outside 0.02 +- this
# operations that only reshape or inspect a tensor: they may follow G's final Tanh
SHAPE_OPS = frozenset({"__get__", "__getitem__", "dim", "size", "view", "reshape", "flatten", "squeeze",
                       "unsqueeze", "contiguous", "clone", "to", "float"})


class CheckFailed(AssertionError):
    """A self-check found a problem; the message says what is wrong and how to fix it."""

    def __init__(self, check: str, problem: str, hint: str):
        self.check, self.problem, self.hint = check, problem, hint
        super().__init__(f"{check}: {problem}\nHint: {hint}")


@dataclass
class CheckReport:
    """What a check verified: `passed` lines, and `notes` that are advice, not failures."""
    check: str
    passed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        lines = [f"{self.check}: all {len(self.passed)} checks passed"]
        lines += [f"  ok    {line}" for line in self.passed]
        lines += [f"  note  {line}" for line in self.notes]
        return "\n".join(lines)


class _CallRecorder(TorchFunctionMode):
    """Record the names of the torch functions a forward pass calls (sigmoid, tanh, ...)."""

    def __init__(self):
        super().__init__()
        self.names: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.names.append(getattr(func, "__name__", str(func)))
        return func(*args, **(kwargs or {}))


@contextmanager
def _untouched(model: nn.Module):
    """Run checks without changing the model's state (BatchNorm statistics, train/eval mode)
    or the caller's random state."""
    saved_state = {name: value.clone() for name, value in model.state_dict().items()}
    was_training = model.training
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            yield
    finally:
        with torch.no_grad():
            model.load_state_dict(saved_state)
        model.train(was_training)
        model.zero_grad(set_to_none=True)


def _fail(check: str, problem: str, hint: str) -> None:
    raise CheckFailed(check, problem, hint)


def _instantiate(model_or_class, check: str) -> nn.Module:
    """Accept an nn.Module, or a class / zero-argument factory that builds one."""
    model = model_or_class
    if isinstance(model_or_class, type) or (callable(model_or_class)
                                            and not isinstance(model_or_class, nn.Module)):
        try:
            model = model_or_class()
        except TypeError as error:
            _fail(check, f"could not build the model with no arguments ({error})",
                  "pass an instance instead, e.g. check_generator(MyGenerator(nz=100, ngf=64))")
    if not isinstance(model, nn.Module):
        _fail(check, f"expected a torch.nn.Module, got {type(model).__name__}",
              "subclass nn.Module and build the layers in __init__")
    return model


def _check_init(model: nn.Module, check: str, report: CheckReport) -> None:
    """Every conv weight should have std close to 0.02 (paper, section 4)."""
    for name, module in model.named_modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)) and module.weight.numel() >= 64:
            std = module.weight.detach().float().std().item()
            if abs(std - INIT_STD) > INIT_TOLERANCE:
                _fail(check, f"the weights of layer '{name}' have std {std:.4f}, not {INIT_STD}",
                      "initialise as in the paper, section 4: model.apply(dcgan_lib.init_weights) "
                      "(conv weights from N(0, 0.02))")
    report.passed.append(f"conv weights initialised from N(0, {INIT_STD}) (paper, section 4)")


def _check_gradients_reach(model: nn.Module, output: torch.Tensor, check: str,
                           report: CheckReport) -> None:
    output.float().sum().backward()
    frozen = [name for name, p in model.named_parameters()
              if p.requires_grad and (p.grad is None or not torch.any(p.grad != 0))]
    model.zero_grad(set_to_none=True)
    if frozen:
        _fail(check, f"no gradient reaches {frozen[:3]}",
              "do not call .detach(), .data or torch.no_grad() inside forward, and use every layer")
    report.passed.append("gradients reach every parameter")


def _forward_generator(generator: nn.Module, z: torch.Tensor, check: str) -> tuple[torch.Tensor, str]:
    """Run G on z as (N, nz, 1, 1), falling back to (N, nz); return the output and the shape used."""
    try:
        return generator(z[:, :, None, None]), "(N, nz, 1, 1)"
    except Exception as first_error:  # noqa: BLE001 - any error: try the flat form, then explain
        try:
            return generator(z), "(N, nz)"
        except Exception:  # noqa: BLE001
            _fail(check, f"G fails on z of shape {tuple(z.shape[:2]) + (1, 1)}: {first_error}",
                  "the first layer should be ConvTranspose2d(nz, channels, 4, 1, 0), which turns "
                  "(N, nz, 1, 1) into a 4x4 map; check that nz matches")


def _check_output_layer(calls: list[str], output: torch.Tensor, check: str, report: CheckReport) -> None:
    if output.min() < -1 - 1e-6 or output.max() > 1 + 1e-6:
        _fail(check, f"outputs span [{output.min():.2f}, {output.max():.2f}], outside [-1, 1]",
              "end G with nn.Tanh(): the training images are scaled to [-1, 1]")
    if output.min() >= 0:
        _fail(check, "outputs are never negative: G draws in [0, 1] (a Sigmoid?)",
              "the data are scaled to [-1, 1]; end G with nn.Tanh() instead of nn.Sigmoid()")
    compute_ops = [name for name in calls if name not in SHAPE_OPS]
    if not compute_ops or compute_ops[-1] != "tanh":
        _fail(check, "the last operation of G is not a Tanh",
              "end G with nn.Tanh() so that the outputs match data in [-1, 1] (paper, section 3)")
    report.passed.append(f"outputs in [-1, 1] from a final Tanh (seen [{output.min():.2f}, "
                         f"{output.max():.2f}] for large z)")


def _last_batch_norm_after_last_conv(model: nn.Module) -> bool:
    """True if a BatchNorm is registered after the last (transposed) convolution."""
    kinds = [type(m) for m in model.modules() if not list(m.children())]
    conv_positions = [i for i, kind in enumerate(kinds) if kind in (nn.Conv2d, nn.ConvTranspose2d)]
    return bool(conv_positions) and any(
        issubclass(kind, nn.modules.batchnorm._BatchNorm) for kind in kinds[conv_positions[-1]:])


def check_generator(generator, nz: int | None = None, image_size: int | None = None,
                    nc: int | None = None, batch_size: int = 4) -> CheckReport:
    """Check a DCGAN generator (a module, or a class built with no arguments).

    nz, image_size and nc default to the module's attributes of those names, else
    100, 64 and 3 (the paper's). Checks: z (N, nz, 1, 1) gives images (N, nc, S, S);
    outputs in [-1, 1] from a final Tanh; no BatchNorm on the output layer; conv weights
    from N(0, 0.02); gradients reach every parameter. Raises CheckFailed with a hint.
    """
    check = "check_generator"
    generator = _instantiate(generator, check)
    nz = nz or getattr(generator, "nz", 100)
    image_size = image_size or getattr(generator, "image_size", 64)
    nc = nc or getattr(generator, "nc", 3)
    report = CheckReport(check)
    with _untouched(generator):
        device = next(generator.parameters()).device
        z = torch.randn(batch_size, nz, device=device)
        generator.train()
        images, z_shape = _forward_generator(generator, z, check)
        expected = (batch_size, nc, image_size, image_size)
        if tuple(images.shape) != expected:
            _fail(check, f"z of shape {z_shape} gave images of shape {tuple(images.shape)}, "
                         f"expected {expected}",
                  "each ConvTranspose2d(k=4, s=2, p=1) doubles the size from the 4x4 start: "
                  f"{image_size}x{image_size} needs log2({image_size}/4) of them; the last one "
                  f"must output nc={nc} channels")
        report.passed.append(f"z of shape {z_shape} gives images of shape {expected}")
        recorder = _CallRecorder()
        with torch.no_grad(), recorder:
            large = _forward_generator(generator, 10 * z, check)[0]
        _check_output_layer(recorder.names, large, check, report)
        if _last_batch_norm_after_last_conv(generator):
            _fail(check, "a BatchNorm comes after the output convolution",
                  "the paper (section 3) puts no BatchNorm on G's output layer: ConvTranspose2d -> Tanh")
        report.passed.append("no BatchNorm on the output layer (paper, section 3)")
        _check_init(generator, check, report)
        _check_gradients_reach(generator, images, check, report)
    return report


def _check_logits(discriminator: nn.Module, images: torch.Tensor, check: str,
                  report: CheckReport) -> torch.Tensor:
    recorder = _CallRecorder()
    with recorder:
        logits = discriminator(images)
    if not isinstance(logits, torch.Tensor):
        _fail(check, f"D returned a {type(logits).__name__}, not a tensor", "return the logits tensor")
    if "sigmoid" in recorder.names:
        _fail(check, "D applies a Sigmoid: it returns probabilities, not logits",
              "remove the final nn.Sigmoid() and train with F.binary_cross_entropy_with_logits, "
              "the numerically stable form of Sigmoid + BCELoss")
    n = images.shape[0]
    if tuple(logits.shape) != (n,):
        hint = ("flatten the head's output: return logits.view(-1)" if logits.numel() == n else
                "the last convolution must reduce the map to 1x1 with 1 channel: Conv2d(C, 1, 4, 1, 0) "
                "on the 4x4 map")
        _fail(check, f"D returned shape {tuple(logits.shape)} for {n} images, expected ({n},)", hint)
    report.passed.append(f"images {tuple(images.shape)} give raw logits of shape ({n},), no Sigmoid")
    return logits


def check_discriminator(discriminator, image_size: int | None = None, nc: int | None = None,
                        batch_size: int = 4) -> CheckReport:
    """Check a DCGAN discriminator (a module, or a class built with no arguments).

    image_size and nc default to the module's attributes, else 64 and 3. Checks: images
    (N, nc, S, S) give logits of shape (N,) with no Sigmoid; gradients reach the input
    images (G learns through them) and every parameter; conv weights from N(0, 0.02).
    Notes (not failures) if D uses no LeakyReLU (paper, section 3).
    """
    check = "check_discriminator"
    discriminator = _instantiate(discriminator, check)
    image_size = image_size or getattr(discriminator, "image_size", 64)
    nc = nc or getattr(discriminator, "nc", 3)
    report = CheckReport(check)
    with _untouched(discriminator):
        device = next(discriminator.parameters()).device
        images = (torch.rand(batch_size, nc, image_size, image_size, device=device) * 2 - 1)
        images.requires_grad_(True)
        discriminator.train()
        logits = _check_logits(discriminator, images, check, report)
        _check_init(discriminator, check, report)
        _check_gradients_reach(discriminator, logits, check, report)
        if images.grad is None or not torch.any(images.grad != 0):
            _fail(check, "no gradient reaches the input images",
                  "G learns through D's gradient with respect to the images: do not detach them in D")
        report.passed.append("gradients reach the input images (G learns through them)")
    if not any(isinstance(m, nn.LeakyReLU) for m in discriminator.modules()):
        report.notes.append("no nn.LeakyReLU found: the paper uses LeakyReLU(0.2) in D (section 3)")
    return report


def _call_loss(fn: Callable, args: tuple[torch.Tensor, ...], check: str) -> torch.Tensor:
    try:
        loss = fn(*args)
    except Exception as error:  # noqa: BLE001 - explain any error with the expected signature
        _fail(check, f"calling it on logits of shape {tuple(args[0].shape)} raised {error!r}",
              "the function takes logits (D's raw outputs), shape (N,), and returns a scalar tensor")
    if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
        shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        _fail(check, f"expected a scalar tensor, got {shape}",
              "average over the batch (the BCE losses do by default) and return a tensor, not .item()")
    return loss


def _logits(values, requires_grad: bool = True) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32, requires_grad=requires_grad)


def _check_extremes(fn: Callable, reference: Callable, n_args: int, check: str, report: CheckReport) -> None:
    """Confident logits (+-30, +-200): the loss and its gradient must be finite and right.

    log(sigmoid(a)) underflows to -inf (nan gradients); BCELoss after a Sigmoid clamps the
    log at -100, so the loss stops growing and its gradient vanishes.
    """
    extreme = [_logits([200.0, -200.0, 30.0, -30.0]) for _ in range(n_args)]
    loss = _call_loss(fn, tuple(extreme), check)
    loss.backward()
    grads = [t.grad if t.grad is not None else torch.zeros(4) for t in extreme]
    if not torch.isfinite(loss) or not all(torch.isfinite(grad).all() for grad in grads):
        _fail(check, "the loss or its gradient is inf/nan for confident logits (+-30, +-200)",
              "log(sigmoid(a)) underflows; use F.binary_cross_entropy_with_logits on the logits")
    expected = [_logits([200.0, -200.0, 30.0, -30.0]) for _ in range(n_args)]
    expected_loss = reference(*expected)
    expected_loss.backward()
    if not torch.isclose(loss, expected_loss, rtol=1e-3) or not all(
            torch.allclose(grad, target.grad, atol=1e-4) for grad, target in zip(grads, expected)):
        _fail(check, f"for confident logits (+-200) the loss is {loss.item():.1f}, expected "
                     f"{expected_loss.item():.1f}, or its gradient vanishes",
              "Sigmoid followed by BCELoss clamps the log and loses the gradient: apply "
              "F.binary_cross_entropy_with_logits to the logits")
    report.passed.append("right, finite loss and gradient for confident logits (+-200)")


def _reference_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """-log D(x) - log(1 - D(G(z))), each term averaged over the batch (dcgan_lib.train)."""
    return (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
            + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))


def _reference_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The non-saturating -log D(G(z)), averaged over the batch."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def check_d_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> CheckReport:
    """Check `fn(real_logits, fake_logits) -> scalar`, D's loss -log D(x) - log(1 - D(G(z))).

    Reference: BCE-with-logits of the real logits against 1 plus that of the fake logits
    against 0, each averaged over the batch (dcgan_lib.train, the paper's Algorithm 1).
    """
    check, report = "check_d_loss", CheckReport("check_d_loss")
    real, fake = _logits([2.0, -1.0, 0.5, 3.0]), _logits([-2.0, 1.0, 0.0, -0.5])
    loss = _call_loss(fn, (real, fake), check)
    reference = _reference_d_loss(real, fake)
    swapped = (F.binary_cross_entropy_with_logits(real, torch.zeros(4))
               + F.binary_cross_entropy_with_logits(fake, torch.ones(4)))
    if torch.isclose(loss, swapped, rtol=1e-4) or torch.isclose(loss, swapped / 2, rtol=1e-4):
        _fail(check, "the labels are swapped: D is rewarded for calling real images fake",
              "real images get target 1 (torch.ones_like(real_logits)), fakes get target 0")
    scale = 0.5 if torch.isclose(loss, reference / 2, rtol=1e-4) else 1.0
    if scale == 0.5:
        report.notes.append("your loss is half the course's (a mean of the two terms): with Adam "
                            "the updates are the same, Adam does not depend on the loss's scale")
    elif not torch.isclose(loss, reference, rtol=1e-4):
        _fail(check, f"got {loss.item():.4f}, expected {reference.item():.4f} "
                     "= BCE(real_logits, 1) + BCE(fake_logits, 0)",
              "the inputs are logits (D's raw outputs, not probabilities); compute -log D(x) - "
              "log(1 - D(G(z))) averaged over the batch: "
              "F.binary_cross_entropy_with_logits(real_logits, ones) + ... (fake_logits, zeros)")
    report.passed.append(f"value matches -log D(x) - log(1 - D(G(z))) ({reference.item():.4f})")
    loss.backward()
    if real.grad is None or fake.grad is None or not (real.grad < 0).all() or not (fake.grad > 0).all():
        _fail(check, "the gradient does not push real logits up and fake logits down",
              "do not detach the logits inside the loss, and keep the signs of both terms")
    report.passed.append("gradient pushes real logits up and fake logits down")
    _check_extremes(fn, lambda real_logits, fake_logits: scale * _reference_d_loss(real_logits, fake_logits),
                    2, check, report)
    return report


def check_g_loss(fn: Callable[[torch.Tensor], torch.Tensor]) -> CheckReport:
    """Check `fn(fake_logits) -> scalar`, G's non-saturating loss -log D(G(z)).

    The minimax form log(1 - D(G(z))) saturates: when D confidently rejects the fakes
    (early in training) its gradient vanishes (Goodfellow et al., 2014, section 3).
    """
    check, report = "check_g_loss", CheckReport("check_g_loss")
    fake = _logits([-2.0, 1.0, 0.0, -0.5])
    loss = _call_loss(fn, (fake,), check)
    reference = _reference_g_loss(fake)
    saturating = -F.binary_cross_entropy_with_logits(fake, torch.zeros(4))
    if torch.isclose(loss, saturating, rtol=1e-4):
        _fail(check, "this is the saturating minimax loss log(1 - D(G(z)))",
              "when D rejects the fakes its gradient vanishes; minimise -log D(G(z)) instead: "
              "F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))")
    if not torch.isclose(loss, reference, rtol=1e-4):
        _fail(check, f"got {loss.item():.4f}, expected -log D(G(z)) = {reference.item():.4f}",
              "the input is logits (D's raw outputs, not probabilities): BCE-with-logits of the "
              "fake logits against target 1 (G wants D to call its images real)")
    report.passed.append(f"value matches the non-saturating -log D(G(z)) ({reference.item():.4f})")
    rejected = _logits([-10.0, -10.0, -10.0, -10.0])
    _call_loss(fn, (rejected,), check).backward()
    if rejected.grad is None or rejected.grad.abs().mean() < 0.1 / 4:
        _fail(check, "the gradient vanishes when D confidently rejects the fakes (logit -10)",
              "use the non-saturating loss -log D(G(z)): its gradient is largest exactly then")
    report.passed.append("strong gradient when D confidently rejects the fakes (no saturation)")
    _check_extremes(fn, _reference_g_loss, 1, check, report)
    return report


# (in_size, kernel, stride, padding): DCGAN's layers first, then cases where floor matters
CONV_CASES = ((64, 4, 2, 1), (32, 4, 2, 1), (4, 4, 1, 0), (5, 4, 2, 1), (7, 3, 2, 1),
              (28, 5, 1, 2), (10, 3, 3, 0), (16, 3, 1, 1))
TRANSPOSED_CASES = ((1, 4, 1, 0), (4, 4, 2, 1), (16, 4, 2, 1), (5, 3, 2, 1), (7, 5, 1, 2), (3, 3, 3, 0))


def torch_output_size(in_size: int, kernel: int, stride: int = 1, padding: int = 0, transposed: bool = False,
                      output_padding: int = 0) -> int:
    """Ask torch itself: the side of a 1-channel (transposed) convolution's output on a blank square map."""
    layer = (nn.ConvTranspose2d(1, 1, kernel, stride, padding, output_padding=output_padding) if transposed
             else nn.Conv2d(1, 1, kernel, stride, padding))
    with torch.no_grad():
        return layer(torch.zeros(1, 1, in_size, in_size)).shape[-1]


def check_output_size(fn: Callable[[int, int, int, int], int], transposed: bool = False) -> CheckReport:
    """Check `fn(in_size, kernel_size, stride, padding) -> out_size` against torch.

    transposed=False: nn.Conv2d, floor((in + 2p - k) / s) + 1.
    transposed=True: nn.ConvTranspose2d, (in - 1) * s - 2p + k.
    """
    check = "check_output_size"
    layer = "ConvTranspose2d" if transposed else "Conv2d"
    report, cases = CheckReport(check), TRANSPOSED_CASES if transposed else CONV_CASES
    for in_size, kernel, stride, padding in cases:
        expected = torch_output_size(in_size, kernel, stride, padding, transposed)
        got = fn(in_size, kernel, stride, padding)
        if got != expected:
            hint = ("a transposed convolution runs the conv arithmetic backwards: (in - 1) * s - 2p + k"
                    if transposed else "out = floor((in + 2p - k) / s) + 1: use // for the division")
            _fail(check, f"{layer} with in={in_size}, kernel={kernel}, stride={stride}, "
                         f"padding={padding}: you return {got!r}, torch gives {expected}", hint)
        if not isinstance(got, int):
            report.notes.append(f"returned {type(got).__name__}, not int: layer sizes are integers")
    example = "doubling (16 -> 32)" if transposed else "halving (64 -> 32)"
    report.passed.append(f"{layer} output size right in all {len(cases)} cases, "
                         f"including DCGAN's k=4, s=2, p=1 {example}")
    return report
