"""check_generator and check_discriminator: a student's G and D against the paper's guidelines.

Chapter 3 (the architecture) runs them on the networks students write.
"""

from __future__ import annotations

import inspect

import torch
from torch import nn

from ..models import Discriminator, Generator, count_parameters
from .report import (
    CallRecorder,
    CheckReport,
    check_gradients_reach,
    check_init,
    fail,
    fail_if_not_written,
    instantiate,
    kept_random_state,
    untouched,
)

# operations that only reshape or inspect a tensor: they may follow G's final Tanh
SHAPE_OPS = frozenset(
    {
        "__get__",
        "__getitem__",
        "dim",
        "size",
        "view",
        "reshape",
        "flatten",
        "squeeze",
        "unsqueeze",
        "contiguous",
        "clone",
        "to",
        "float",
    }
)


# the shapes G may take z in, tried in this order: the 1x1 image, then the flat vector
Z_LAYOUTS = {"(N, nz, 1, 1)": lambda z: z[:, :, None, None], "(N, nz)": lambda z: z}


def _forward_generator(
    generator: nn.Module, z: torch.Tensor, check: str
) -> tuple[torch.Tensor, str]:
    """Run G on z as (N, nz, 1, 1), falling back to (N, nz); return the output and the shape used
    (a key of Z_LAYOUTS)."""
    try:
        return generator(Z_LAYOUTS["(N, nz, 1, 1)"](z)), "(N, nz, 1, 1)"
    except Exception as first_error:  # noqa: BLE001 - any error: try the flat form, then explain
        fail_if_not_written(check, first_error, "G's forward")
        try:
            return generator(Z_LAYOUTS["(N, nz)"](z)), "(N, nz)"
        except Exception:  # noqa: BLE001
            fail(
                check,
                f"G fails on z of shape {tuple(z.shape[:2]) + (1, 1)}: {first_error}",
                "the first layer should be ConvTranspose2d(nz, channels, 4, 1, 0), which turns "
                "(N, nz, 1, 1) into a 4x4 map; check that nz matches",
            )


def _check_output_layer(
    calls: list[str], output: torch.Tensor, check: str, report: CheckReport
) -> None:
    if output.min() < -1 - 1e-6 or output.max() > 1 + 1e-6:
        fail(
            check,
            f"outputs span [{output.min():.2f}, {output.max():.2f}], outside [-1, 1]",
            "end G with nn.Tanh(): the training images are scaled to [-1, 1]",
        )
    if output.min() >= 0:
        fail(
            check,
            "outputs are never negative: G draws in [0, 1] (a Sigmoid?)",
            "the data are scaled to [-1, 1]; end G with nn.Tanh() instead of nn.Sigmoid()",
        )
    compute_ops = [name for name in calls if name not in SHAPE_OPS]
    if not compute_ops or compute_ops[-1] != "tanh":
        fail(
            check,
            "the last operation of G is not a Tanh",
            "end G with nn.Tanh() so that the outputs match data in [-1, 1] (paper, section 3)",
        )
    report.passed.append(
        f"outputs in [-1, 1] from a final Tanh (seen [{output.min():.2f}, "
        f"{output.max():.2f}] for large z)"
    )


CONV_OPS = frozenset({"conv2d", "conv_transpose2d"})
# add_: BatchNorm counting its batches in training mode; detach: check_gradients_reach's;
# dropout: not the paper's, but no rule of its layers either
IGNORED_OPS = SHAPE_OPS | {"add_", "detach", "dropout", "dropout2d", "feature_dropout"}
# how a layer's operations are named in a failure
OP_NAMES = {"batch_norm": "BatchNorm", "relu": "ReLU", "leaky_relu": "LeakyReLU", "tanh": "Tanh"}
PAPER_SLOPE = 0.2  # LeakyReLU slope in D: paper, section 4


def _layers(calls: list[str]) -> list[list[str]]:
    """The operations after each convolution of a forward pass, one list per convolution
    (relu_ counted as relu)."""
    layers: list[list[str]] = []
    for name in calls:
        if name in CONV_OPS:
            layers.append([])
        elif layers and name not in IGNORED_OPS:
            layers[-1].append(name.removesuffix("_"))
    return layers


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _hidden_layers(calls: list[str], conv: str) -> list[tuple[int, list[str], str]]:
    """(number from 1, operations, 'Conv2d -> BatchNorm -> ...') for every layer but the last.

    A last convolution flattened into one linear unit (the paper's D, section 3) is a layer
    like the others; the linear unit is the last one."""
    layers = _layers(calls)
    if layers and "linear" in layers[-1]:
        last = layers[-1]
        layers[-1:] = [last[: last.index("linear")], []]
    return [
        (number, ops, " -> ".join([conv, *(OP_NAMES.get(op, op) for op in ops)]))
        for number, ops in enumerate(layers[:-1], start=1)
    ]


def _check_layer_rules(hidden, rules, check: str) -> None:
    """Fail at the first (broken, problem, hint) that rules(number, ops) gives for a layer;
    problem may name {number} and {seen} (the layer as 'Conv2d -> BatchNorm -> ...')."""
    for number, ops, seen in hidden:
        for broken, problem, hint in rules(number, ops):
            if broken:
                fail(check, problem.format(number=number, seen=seen), hint)


def _generator_rules(number: int, ops: list[str]):
    return [
        (
            "leaky_relu" in ops,
            "layer {number} of G uses LeakyReLU ({seen})",
            "the paper uses ReLU in every layer of G but the output, and LeakyReLU only in D "
            "(section 3): nn.ReLU(True)",
        ),
        (
            "batch_norm" not in ops,
            "layer {number} of G has no BatchNorm ({seen})",
            "the paper puts BatchNorm after every layer of G but the output (section 3): "
            "ConvTranspose2d -> BatchNorm2d -> ReLU",
        ),
        (
            ops != ["batch_norm", "relu"],
            "layer {number} of G is {seen}",
            "each layer of G but the output is ConvTranspose2d -> BatchNorm2d -> ReLU, in that "
            "order and nothing else (paper, section 3)",
        ),
    ]


def _discriminator_rules(number: int, ops: list[str]):
    return [
        (
            "relu" in ops,
            "layer {number} of D uses ReLU ({seen})",
            f"the paper uses LeakyReLU in every layer of D (section 3): "
            f"nn.LeakyReLU({PAPER_SLOPE}, True)",
        ),
        (
            number == 1 and "batch_norm" in ops,
            "D's first layer has a BatchNorm ({seen})",
            "the paper puts no BatchNorm on D's input layer (section 3): Conv2d -> LeakyReLU",
        ),
        (
            ops != (["leaky_relu"] if number == 1 else ["batch_norm", "leaky_relu"]),
            "layer {number} of D is {seen}",
            "D's first layer is Conv2d -> LeakyReLU, every later one but the last "
            "Conv2d -> BatchNorm2d -> LeakyReLU, in that order (paper, section 3)",
        ),
    ]


def _check_generator_layers(calls: list[str], check: str, report: CheckReport) -> None:
    """Every layer of G but the output: ConvTranspose2d -> BatchNorm -> ReLU (paper, section 3)."""
    hidden = _hidden_layers(calls, "ConvTranspose2d")
    _check_layer_rules(hidden, _generator_rules, check)
    report.passed.append(
        f"{_count(len(hidden), 'hidden layer')} of ConvTranspose2d -> BatchNorm -> ReLU "
        f"(paper, section 3)"
    )


def _check_discriminator_layers(
    calls: list[str], slopes: list[float], check: str, report: CheckReport
) -> None:
    """D: Conv2d -> LeakyReLU(0.2) first, then Conv2d -> BatchNorm -> LeakyReLU(0.2) (section 3)."""
    hidden = _hidden_layers(calls, "Conv2d")
    _check_layer_rules(hidden, _discriminator_rules, check)
    wrong = sorted({slope for slope in slopes if slope != PAPER_SLOPE})
    if wrong:
        fail(
            check,
            f"D's LeakyReLU has slope {wrong[0]}"
            + (" (PyTorch's default)" if wrong[0] == 0.01 else ""),
            f"the paper uses a slope of {PAPER_SLOPE} (section 4): nn.LeakyReLU({PAPER_SLOPE}, True)",
        )
    report.passed.append(
        f"Conv2d -> LeakyReLU({PAPER_SLOPE}) first, then {_count(len(hidden) - 1, 'layer')} of "
        f"Conv2d -> BatchNorm -> LeakyReLU (paper, section 3)"
    )


def _last_batch_norm_after_last_conv(model: nn.Module) -> bool:
    """True if a BatchNorm is registered after the last (transposed) convolution."""
    kinds = [type(m) for m in model.modules() if not list(m.children())]
    conv_positions = [i for i, kind in enumerate(kinds) if kind in (nn.Conv2d, nn.ConvTranspose2d)]
    return bool(conv_positions) and any(
        issubclass(kind, nn.modules.batchnorm._BatchNorm) for kind in kinds[conv_positions[-1] :]
    )


def check_generator(
    generator,
    nz: int | None = None,
    image_size: int | None = None,
    nc: int | None = None,
    batch_size: int = 4,
) -> CheckReport:
    """Check a DCGAN generator (a module, or a class built with no arguments). Chapter 3.

    nz, image_size and nc default to the module's attributes of those names, else
    100, 64 and 3 (the paper's). Checks: z (N, nz, 1, 1) gives images (N, nc, S, S);
    outputs in [-1, 1] from a final Tanh; every other layer ConvTranspose2d -> BatchNorm ->
    ReLU; no BatchNorm on the output layer; conv weights from N(0, 0.02); gradients reach
    every parameter. Raises CheckFailed with a hint.
    """
    check = "check_generator"
    generator = instantiate(generator, check)
    nz = nz or getattr(generator, "nz", 100)
    image_size = image_size or getattr(generator, "image_size", 64)
    nc = nc or getattr(generator, "nc", 3)
    report = CheckReport(check)
    with untouched(generator):
        device = next(generator.parameters()).device
        z = torch.randn(batch_size, nz, device=device)
        generator.train()
        images, z_shape = _forward_generator(generator, z, check)
        expected = (batch_size, nc, image_size, image_size)
        if tuple(images.shape) != expected:
            fail(
                check,
                f"z of shape {z_shape} gave images of shape {tuple(images.shape)}, "
                f"expected {expected}",
                "each ConvTranspose2d(k=4, s=2, p=1) doubles the size from the 4x4 start: "
                f"{image_size}x{image_size} needs log2({image_size}/4) of them; the last one "
                f"must output nc={nc} channels",
            )
        report.passed.append(f"z of shape {z_shape} gives images of shape {expected}")
        recorder = CallRecorder()
        with torch.no_grad(), recorder:
            # z in the shape G took above: a failed try must not enter the record
            large = generator(Z_LAYOUTS[z_shape](10 * z))
        _check_output_layer(recorder.names, large, check, report)
        _check_generator_layers(recorder.names, check, report)
        if _last_batch_norm_after_last_conv(generator):
            fail(
                check,
                "a BatchNorm comes after the output convolution",
                "the paper (section 3) puts no BatchNorm on G's output layer: ConvTranspose2d -> Tanh",
            )
        report.passed.append("no BatchNorm on the output layer (paper, section 3)")
        check_init(generator, check, report)
        check_gradients_reach(generator, images, check, report)
    return report


def _check_logits(
    discriminator: nn.Module, images: torch.Tensor, check: str, report: CheckReport
) -> torch.Tensor:
    recorder = CallRecorder()
    try:
        with recorder:
            logits = discriminator(images)
    except Exception as error:  # noqa: BLE001 - explain any error with the expected design
        fail_if_not_written(check, error, "D's forward")
        size = images.shape[-1]
        too_small = "Kernel size can't be greater than actual input size" in str(error)
        fail(
            check,
            f"D fails on images of shape {tuple(images.shape)}: {error}",
            f"each Conv2d(k=4, s=2, p=1) halves the size: {size}x{size} needs "
            f"log2({size}/4) of them down to 4x4, then Conv2d(C, 1, 4, 1, 0) to one logit"
            if too_small
            else "check each layer's channels: a Conv2d's or BatchNorm2d's input channels must "
            "be the previous layer's output channels",
        )
    if not isinstance(logits, torch.Tensor):
        fail(
            check,
            f"D returned a {type(logits).__name__}, not a tensor",
            "return the logits tensor",
        )
    if "sigmoid" in recorder.names:
        fail(
            check,
            "D applies a Sigmoid: it returns probabilities, not logits",
            "remove the final nn.Sigmoid() and train with F.binary_cross_entropy_with_logits, "
            "the numerically stable form of Sigmoid + BCELoss",
        )
    n = images.shape[0]
    if tuple(logits.shape) != (n,):
        hint = (
            "flatten the head's output: return logits.view(-1)"
            if logits.numel() == n
            else "the last convolution must reduce the map to 1x1 with 1 channel: Conv2d(C, 1, 4, 1, 0) "
            "on the 4x4 map"
        )
        fail(
            check, f"D returned shape {tuple(logits.shape)} for {n} images, expected ({n},)", hint
        )
    report.passed.append(
        f"images {tuple(images.shape)} give raw logits of shape ({n},), no Sigmoid"
    )
    _check_discriminator_layers(recorder.names, recorder.leaky_slopes, check, report)
    return logits


def check_discriminator(
    discriminator, image_size: int | None = None, nc: int | None = None, batch_size: int = 4
) -> CheckReport:
    """Check a DCGAN discriminator (a module, or a class built with no arguments). Chapter 3.

    image_size and nc default to the module's attributes, else 64 and 3. Checks: images
    (N, nc, S, S) give logits of shape (N,) with no Sigmoid; the layers are Conv2d ->
    LeakyReLU(0.2), then Conv2d -> BatchNorm -> LeakyReLU(0.2) (paper, sections 3 and 4);
    gradients reach the input images (G learns through them) and every parameter; conv
    weights from N(0, 0.02).
    """
    check = "check_discriminator"
    discriminator = instantiate(discriminator, check)
    image_size = image_size or getattr(discriminator, "image_size", 64)
    nc = nc or getattr(discriminator, "nc", 3)
    report = CheckReport(check)
    with untouched(discriminator):
        device = next(discriminator.parameters()).device
        images = torch.rand(batch_size, nc, image_size, image_size, device=device) * 2 - 1
        images.requires_grad_(True)
        discriminator.train()
        logits = _check_logits(discriminator, images, check, report)
        check_init(discriminator, check, report)
        check_gradients_reach(discriminator, logits, check, report)
        if images.grad is None or not torch.any(images.grad != 0):
            fail(
                check,
                "no gradient reaches the input images",
                "G learns through D's gradient with respect to the images: do not detach them in D",
            )
        report.passed.append("gradients reach the input images (G learns through them)")
    return report


def _layer_shapes(net: nn.Module, x: torch.Tensor, check: str, hint: str) -> list[tuple]:
    """The output shape of every convolution of net on x (in eval mode, no gradients)."""
    shapes: list[tuple] = []
    hooks = [
        module.register_forward_hook(lambda m, i, output: shapes.append(tuple(output.shape)))
        for module in _convolutions(net)
    ]
    failure = None
    try:
        with torch.no_grad():
            net.eval()(x)
    except NotImplementedError as error:
        fail_if_not_written(check, error, f"{type(net).__name__}.forward")
    except Exception as error:  # noqa: BLE001 - any failure of the forward pass, explained
        failure = f"{type(net).__name__} fails on an input of shape {tuple(x.shape)}: {error}"
    finally:
        for hook in hooks:
            hook.remove()
    if failure:  # raised here, outside the except block: no chained traceback
        fail(check, failure, hint)
    return shapes


def _convolutions(net: nn.Module) -> list[nn.Module]:
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]


def _build(cls, args: tuple, check: str) -> nn.Module:
    """cls(*args), or a CheckFailed saying why not. An error inside the student's own
    constructor (other than the blank's NotImplementedError) keeps its traceback."""
    what = getattr(cls, "__name__", type(cls).__name__)
    if isinstance(cls, nn.Module):
        fail(
            check,
            f"got a {what} module, not its class",
            "pass the classes themselves: check_same_as_library(MyGenerator, MyDiscriminator)",
        )
    try:
        inspect.signature(cls).bind(*args)
        wrong_signature = None
    except TypeError as error:
        wrong_signature = f"{what}{args} does not fit its signature: {error}"
    except ValueError:  # no signature to read (a builtin): let the call decide
        wrong_signature = None
    if wrong_signature:
        fail(
            check,
            wrong_signature,
            "keep the exercise's signatures: MyGenerator(nz, ngf, image_size, nc) and "
            "MyDiscriminator(nc, ndf, image_size)",
        )
    try:
        model = cls(*args)
    except NotImplementedError as error:
        fail_if_not_written(check, error, what)
        raise
    return instantiate(model, check)


# the two sizes the course builds: the paper's 64x64 colour images and chapter 5's 32x32 digits
LIBRARY_SIZES = ((100, 128, 64, 3), (100, 32, 32, 1))
FORWARD_HINTS = {
    "G": "G gets z of shape (N, nz): view it as (N, nz, 1, 1) in forward",
    "D": "D gets images of shape (N, nc, S, S) and returns one logit per image, shape (N,)",
}


def check_same_as_library(generator_class, discriminator_class) -> CheckReport:
    """Hold a student's G and D classes against the library's Generator and Discriminator.
    Chapter 3.

    The classes are built as generator_class(nz, ngf, image_size, nc) and
    discriminator_class(nc, ndf, image_size) at the paper's size for 64x64 colour images and at
    the size chapter 5 trains (32x32 digits). Each must have the library's convolution weights
    (shapes, in order), as many parameters in all, and the same output shape after every
    convolution, for z of shape (N, nz) and images (N, nc, S, S). Raises CheckFailed with a
    hint at the first difference. The caller's random state is left as it was.
    """
    check = "check_same_as_library"
    report = CheckReport(check)
    with kept_random_state():
        torch.manual_seed(0)
        for nz, width, size, nc in LIBRARY_SIZES:
            pairs = {
                "G": (
                    (generator_class, (nz, width, size, nc)),
                    Generator(nz=nz, ngf=width, image_size=size, nc=nc),
                    torch.randn(2, nz),  # z as the exercise gives it: (N, nz)
                ),
                "D": (
                    (discriminator_class, (nc, width, size)),
                    Discriminator(nc=nc, ndf=width, image_size=size),
                    torch.randn(2, nc, size, size),
                ),
            }
            for name, ((cls, args), library, x) in pairs.items():
                mine = _build(cls, args, check)
                where = f"{size}x{size}x{nc} {name}"
                kernels = [tuple(m.weight.shape) for m in _convolutions(mine)]
                expected = [tuple(m.weight.shape) for m in _convolutions(library)]
                if kernels != expected:
                    first = next(
                        (i for i, pair in enumerate(zip(kernels, expected)) if len(set(pair)) > 1),
                        min(len(kernels), len(expected)),
                    )
                    fail(
                        check,
                        f"{where}: your convolution weights have the shapes {kernels}, the "
                        f"library's {expected}; the first difference is at convolution "
                        f"{first + 1}",
                        "a Conv2d weight is (out, in, k, k), a ConvTranspose2d weight (in, out, k, "
                        "k): the image has nc channels; G's first layer has ngf * S / 8 channels "
                        "and each later one half as many; D's first has ndf and each later one "
                        "twice as many",
                    )
                ours, theirs = count_parameters(mine), count_parameters(library)
                if ours != theirs:
                    fail(
                        check,
                        f"{where}: {ours:,} parameters, the library's {theirs:,}, a difference of "
                        f"{abs(theirs - ours):,} (the convolution weights agree)",
                        "2 x C is a BatchNorm of C channels missing or extra (D's first layer "
                        "has none), C a bias (only the convolutions without BatchNorm after "
                        "them have one)",
                    )
                hint = FORWARD_HINTS[name]
                shapes = _layer_shapes(mine, x, check, hint)
                library_shapes = _layer_shapes(library, x, check, hint)
                if shapes != library_shapes:
                    fail(
                        check,
                        f"{where}: your convolutions output {shapes}, the library's "
                        f"{library_shapes}",
                        "kernel 4, stride 2, padding 1 for every layer that doubles or halves "
                        "the side; kernel 4, stride 1, padding 0 for G's first layer and D's last",
                    )
                report.passed.append(
                    f"{where}: {ours:,} parameters and the library's layer shapes"
                )
    return report
