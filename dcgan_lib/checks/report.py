"""What every self-check shares: the failure and report types and the helpers that keep a
check from changing the student's model or random state."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

INIT_STD = 0.02  # paper, section 4: all weights from N(0, 0.02)
INIT_TOLERANCE = 0.006  # a default PyTorch init lands outside 0.02 +- this


def on_cpu_in_float32(value: torch.Tensor) -> torch.Tensor:
    """A student's tensor as the checks compare it: detached, on the CPU, in float32, wherever
    and in whatever precision it was computed (a GPU, float64, bf16)."""
    return value.detach().cpu().float()


class CheckFailed(AssertionError):
    """A self-check found a problem; the message says what is wrong and how to fix it.

    Chapters 2, 3, 5, 8, 9 and 11.
    """

    def __init__(self, check: str, problem: str, hint: str):
        self.check, self.problem, self.hint = check, problem, hint
        super().__init__(f"{check}: {problem}\nHint: {hint}")

    def _render_traceback_(self) -> list[str]:
        """What Jupyter (IPython) shows in place of a traceback: the problem and the hint,
        without the lines of library code that found it."""
        return [f"CheckFailed: {self}"]


@dataclass
class CheckReport:
    """What a check verified: `passed` lines, `notes` that are advice, not failures, and
    `measured`, numbers the check measured on the way, by name (not shown)."""

    check: str
    passed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    measured: dict[str, float] = field(default_factory=dict)

    def __repr__(self) -> str:
        lines = [f"{self.check}: all {len(self.passed)} checks passed"]
        lines += [f"  ok    {line}" for line in self.passed]
        lines += [f"  note  {line}" for line in self.notes]
        return "\n".join(lines)


class CallRecorder(TorchFunctionMode):
    """Record the names of the torch functions a forward pass calls (sigmoid, tanh, ...), and
    the negative slope of every leaky_relu."""

    def __init__(self):
        super().__init__()
        self.names: list[str] = []
        self.leaky_slopes: list[float] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", str(func))
        self.names.append(name)
        if name in ("leaky_relu", "leaky_relu_"):  # F.leaky_relu's default slope is 0.01
            self.leaky_slopes.append(
                kwargs.get("negative_slope", args[1] if len(args) > 1 else 0.01)
            )
        return func(*args, **kwargs)


@contextmanager
def kept_random_state():
    """Inside the block, seed and draw as you like: the random state of the CPU and of every
    CUDA device (torch.manual_seed seeds those too) comes back as it was afterwards."""
    with torch.random.fork_rng(devices=range(torch.cuda.device_count())):
        yield


@contextmanager
def untouched(model: nn.Module):
    """Run checks without changing the model's state (BatchNorm statistics, train/eval mode)
    or the caller's random state."""
    saved_state = {name: value.clone() for name, value in model.state_dict().items()}
    was_training = model.training
    try:
        with kept_random_state():
            torch.manual_seed(0)
            yield
    finally:
        with torch.no_grad():
            model.load_state_dict(saved_state)
        model.train(was_training)
        model.zero_grad(set_to_none=True)


def fail(check: str, problem: str, hint: str) -> None:
    raise CheckFailed(check, problem, hint)


@contextmanager
def exercise(name: str):
    """Run a notebook's checks of the exercise `name`: a blank exercise (the
    NotImplementedError of the student version) fails as 'not written yet', shown without a
    traceback like every CheckFailed. Chapters 5 and 8."""
    try:
        yield
    except NotImplementedError as error:
        fail_if_not_written(name, error, name)


# what a blank exercise is told, whether it raised NotImplementedError or left a value blank
NOT_WRITTEN_HINT = (
    "write your code in the exercise cell, in place of `raise NotImplementedError()`, run that "
    "cell, then run this one again"
)


def fail_if_not_written(check: str, error: Exception, what: str) -> None:
    """Fail with 'not written yet' when error is the NotImplementedError of a blank exercise."""
    if isinstance(error, NotImplementedError):
        fail(check, f"{what} is not written yet (it raises NotImplementedError)", NOT_WRITTEN_HINT)


def require_written(name: str, value):
    """Return value, or fail as 'not written yet' while it is still the exercise's blank: None
    or an empty dict, list, tuple, set or string (the student version's exercise cell raised
    before setting it, or the student left the blank as it was). Chapters 8 and 9."""
    if value is None or (isinstance(value, (dict, list, tuple, str, set)) and not value):
        fail(name, f"{name} is not written yet (it is still {value!r})", NOT_WRITTEN_HINT)
    return value


def instantiate(model_or_class, check: str) -> nn.Module:
    """Accept an nn.Module, or a class / zero-argument factory that builds one."""
    model = model_or_class
    if isinstance(model_or_class, type) or (
        callable(model_or_class) and not isinstance(model_or_class, nn.Module)
    ):
        try:
            model = model_or_class()
        except NotImplementedError as error:
            fail_if_not_written(check, error, getattr(model_or_class, "__name__", "the model"))
        except TypeError as error:
            fail(
                check,
                f"could not build the model with no arguments ({error})",
                "pass an instance instead, e.g. check_generator(MyGenerator(nz=100, ngf=64))",
            )
    if not isinstance(model, nn.Module):
        fail(
            check,
            f"expected a torch.nn.Module, got {type(model).__name__}",
            "subclass nn.Module and build the layers in __init__",
        )
    return model


def check_init(model: nn.Module, check: str, report: CheckReport) -> None:
    """Every conv weight should have std close to 0.02 (paper, section 4)."""
    for name, module in model.named_modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)) and module.weight.numel() >= 64:
            std = module.weight.detach().float().std().item()
            if abs(std - INIT_STD) > INIT_TOLERANCE:
                fail(
                    check,
                    f"the weights of layer '{name}' have std {std:.4f}, not {INIT_STD}",
                    "initialise as in the paper, section 4: model.apply(dcgan_lib.init_weights) "
                    "(conv weights from N(0, 0.02))",
                )
    report.passed.append(f"conv weights initialised from N(0, {INIT_STD}) (paper, section 4)")


def check_gradients_reach(
    model: nn.Module, output: torch.Tensor, check: str, report: CheckReport
) -> None:
    output.float().sum().backward()
    frozen = [
        name
        for name, p in model.named_parameters()
        if p.requires_grad and (p.grad is None or not torch.any(p.grad != 0))
    ]
    model.zero_grad(set_to_none=True)
    if frozen:
        fail(
            check,
            f"no gradient reaches {frozen[:3]}",
            "do not call .detach(), .data or torch.no_grad() inside forward, and use every layer",
        )
    report.passed.append("gradients reach every parameter")
