"""check_output_size: a student's formula for a (transposed) convolution's output size.

Chapter 2 (convolutions) runs it.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .report import CheckReport, fail

# (in_size, kernel, stride, padding): DCGAN's layers first, then cases where floor matters
# fmt: off
CONV_CASES = ((64, 4, 2, 1), (32, 4, 2, 1), (4, 4, 1, 0), (5, 4, 2, 1), (7, 3, 2, 1),
              (28, 5, 1, 2), (10, 3, 3, 0), (16, 3, 1, 1))
TRANSPOSED_CASES = ((1, 4, 1, 0), (4, 4, 2, 1), (16, 4, 2, 1), (5, 3, 2, 1), (7, 5, 1, 2),
                    (3, 3, 3, 0))
# fmt: on


def torch_output_size(
    in_size: int,
    kernel: int,
    stride: int = 1,
    padding: int = 0,
    transposed: bool = False,
    output_padding: int = 0,
) -> int:
    """Ask torch itself: the side of a 1-channel (transposed) convolution's output on a blank square map."""
    layer = (
        nn.ConvTranspose2d(1, 1, kernel, stride, padding, output_padding=output_padding)
        if transposed
        else nn.Conv2d(1, 1, kernel, stride, padding)
    )
    with torch.no_grad():
        return layer(torch.zeros(1, 1, in_size, in_size)).shape[-1]


def check_output_size(
    fn: Callable[[int, int, int, int], int], transposed: bool = False
) -> CheckReport:
    """Check `fn(in_size, kernel_size, stride, padding) -> out_size` against torch. Chapter 2.

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
            hint = (
                "a transposed convolution runs the conv arithmetic backwards: (in - 1) * s - 2p + k"
                if transposed
                else "out = floor((in + 2p - k) / s) + 1: use // for the division"
            )
            fail(
                check,
                f"{layer} with in={in_size}, kernel={kernel}, stride={stride}, "
                f"padding={padding}: you return {got!r}, torch gives {expected}",
                hint,
            )
        if not isinstance(got, int):
            report.notes.append(
                f"returned {type(got).__name__}, not int: layer sizes are integers"
            )
    example = "doubling (16 -> 32)" if transposed else "halving (64 -> 32)"
    report.passed.append(
        f"{layer} output size right in all {len(cases)} cases, "
        f"including DCGAN's k=4, s=2, p=1 {example}"
    )
    return report
