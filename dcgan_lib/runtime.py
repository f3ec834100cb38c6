"""Where a run executes: the device, seeding, mixed precision, and stopping cleanly on a signal.

Small helpers the training loop and the chapters call, so that the training step itself
reads as the paper's recipe. Chapter 6 explains precision and devices.
"""

from __future__ import annotations

import contextlib
import random
import signal
import threading
from dataclasses import replace

import numpy as np
import torch

from .errors import ConfigError

AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def pick_device(preference: str = "auto") -> torch.device:
    """Return cuda if available, else mps, else cpu; or the named device if it is there. Chapter 0."""
    if preference == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(preference)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(
                f"device {preference!r} was asked for but no CUDA GPU is visible; "
                f"use device 'auto' or 'cpu' (on Colab: Runtime > Change runtime type)"
            )
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise ConfigError(
                f"device {preference!r} was asked for but this machine has {count} GPU(s), "
                f"cuda:0 to cuda:{count - 1}"
            )
    if device.type == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise ConfigError(
            "device 'mps' was asked for but this machine has no Apple GPU; "
            "use device 'auto' or 'cpu'"
        )
    return device


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and all GPUs). Chapter 0."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def check_precision(device: torch.device, precision: str) -> None:
    """Raise ConfigError if `device` cannot run `precision` (fp32, bf16 or fp16 autocast)."""
    if precision == "fp32":
        return
    if device.type != "cuda":
        raise ConfigError(
            f"precision={precision!r} needs a CUDA GPU (device is {device.type}); use fp32"
        )
    if precision == "bf16" and not torch.cuda.is_bf16_supported(including_emulation=False):
        raise ConfigError(
            f"this GPU ({torch.cuda.get_device_name(device)}) has no bf16; "
            f"use precision fp16 (with loss scaling) or fp32"
        )


def fast_precision(device: torch.device) -> str:
    """bf16 on GPUs with fast bf16 (compute capability 8.0 on), fp16 on older GPUs (with loss
    scaling), fp32 elsewhere: bf16 ran slower than fp32 on a CPU without AMX (bench/RESULTS.md)."""
    if device.type != "cuda":
        return "fp32"
    fast_bf16 = torch.cuda.get_device_capability(device) >= (8, 0)
    return (
        "bf16" if fast_bf16 and torch.cuda.is_bf16_supported(including_emulation=False) else "fp16"
    )


def settle_speed_settings(config, device: torch.device, saved: dict | None = None):
    """The config with precision="auto" and channels_last=None settled.

    On a resume (``saved``: the checkpoint's config) they take the checkpoint's values, so the
    run continues as it began, whatever today's defaults are; on a new run, the fastest safe
    choice for the device: fast_precision, and channels_last except where compile on CUDA picks
    the layout itself (check_layout) or on Apple's MPS.
    """
    saved = saved or {}
    precision, channels_last = config.precision, config.channels_last
    if precision == "auto":
        precision = saved.get("precision", fast_precision(device))
    if channels_last is None:
        default = device.type != "mps" and not (config.compile and device.type == "cuda")
        channels_last = bool(saved.get("channels_last", default))
    return replace(config, precision=precision, channels_last=channels_last)


def check_layout(device: torch.device, compile: bool, channels_last: bool) -> None:
    """Raise ConfigError for torch.compile with channels_last on CUDA.

    There inductor already lays convolutions out channels-last (its layout optimisation), and
    asking for it as well fails in convolution_backward (torch 2.11 on an H200, gpu-check of
    2026-11-26). On the CPU the pair runs, and channels_last is what picks the layout.
    """
    if compile and channels_last and device.type == "cuda":
        raise ConfigError(
            "on CUDA, compile already picks the channels-last layout; drop channels_last"
        )


def precision_context(device: torch.device, precision: str):
    """The autocast context of a forward pass: none for fp32, bf16 or fp16 autocast on CUDA."""
    check_precision(device, precision)
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast("cuda", dtype=AUTOCAST_DTYPES[precision])


class StopSignals:
    """Inside the block, SIGINT and SIGTERM only set ``received`` (the signal number).

    The training loop looks at it after every step, so a stop always falls between two whole
    steps and the checkpoint it writes resumes exactly. After the first signal the previous
    handlers are back: a second Ctrl-C interrupts at once. Outside the main thread (where
    Python cannot install handlers) the block does nothing.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.received: int | None = None
        self._previous: dict[int, object] = {}

    def _handle(self, signal_number: int, _frame) -> None:
        self.received = signal_number
        self._restore()

    def _restore(self) -> None:
        for number, handler in self._previous.items():
            # None: a handler installed outside Python; the default is the closest we can restore
            signal.signal(number, signal.SIG_DFL if handler is None else handler)
        self._previous = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            self._previous = {number: signal.getsignal(number) for number in self.SIGNALS}
            for number in self.SIGNALS:
                signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc_info) -> None:
        self._restore()
