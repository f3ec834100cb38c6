"""check_move_right and check_middles: a student's latent-space answers. Chapter 9.

Each answer is compared on the CPU in float32, wherever and however it was made (on a GPU, in
float64, with .mean(0) instead of concept_vector), with what the library's functions give.
"""

from __future__ import annotations

import torch

from ..arithmetic import concept_vector
from ..latent import interpolate
from .report import CheckReport, fail, on_cpu_in_float32, require_written

# the hint of both failures of the direction itself
MEAN_DIFFERENCE_HINT = (
    "average each set over its samples (dim 0), e.g. with concept_vector, then subtract: "
    "right minus left"
)


def check_move_right(left, right, move_right, concept_z, x_reading) -> CheckReport:
    """Check the answer to exercise 2 ("move right") of Chapter 9.

    left and right are the rows of concept_z whose samples are read as left (x_reading == 0)
    and right (x_reading == 2); move_right, shape (nz,), is the mean of the right z's minus the
    mean of the left z's. Raises CheckFailed with a hint: a wrong direction is told its length
    and its cosine with the right one.
    """
    check = "move_right"
    report = CheckReport("check_move_right")
    require_written(check, move_right)
    answer = {"left": left, "right": right, "move_right": move_right}
    for name, value in answer.items():
        if not torch.is_tensor(value):
            fail(
                check,
                f"{name} is a {type(value).__name__}, not a tensor",
                "build left and right by indexing concept_z, and move_right from them with "
                "tensor operations",
            )
    left, right, move_right = (on_cpu_in_float32(value) for value in answer.values())
    wanted = {"left": (left, x_reading == 0), "right": (right, x_reading == 2)}
    for name, (chosen, mask) in wanted.items():
        if not torch.equal(chosen, on_cpu_in_float32(concept_z[mask])):
            fail(
                check,
                f"{name} is not the z's of the {mask.sum()} samples read as {name}",
                f'select rows of concept_z with concept_labels["x"] == '
                f"{2 if name == 'right' else 0}",
            )
        report.passed.append(f"{name}: the z's of the {mask.sum()} samples read as {name}")
    expected = concept_vector(right) - concept_vector(left)
    if move_right.shape != expected.shape:
        fail(
            check,
            f"move_right has shape {tuple(move_right.shape)}, not (nz,) = {tuple(expected.shape)}",
            MEAN_DIFFERENCE_HINT,
        )
    if not move_right.any():
        fail(check, "move_right is all zeros", MEAN_DIFFERENCE_HINT)
    if not torch.allclose(move_right, expected, atol=1e-5):
        cosine = move_right @ expected / (move_right.norm() * expected.norm())
        fail(
            check,
            f"move_right has length {move_right.norm():.2f} and cosine {cosine:+.2f} with the "
            f"mean of the right z's minus the mean of the left z's (length "
            f"{expected.norm():.2f}; a cosine of -1 is the opposite way)",
            MEAN_DIFFERENCE_HINT,
        )
    report.passed.append("move_right: mean of the right z's minus mean of the left z's")
    return report


def check_middles(middles, pairs: torch.Tensor) -> CheckReport:
    """Check the answer to exercise 3 (lerp against slerp) of Chapter 9.

    middles is {"lerp": ..., "slerp": ...}, each a tensor of the middle points
    interpolate(z0, z1, 3, method)[1] of every pair (z0, z1) of pairs, shape (len(pairs), nz).
    Raises CheckFailed with a hint: a wrong path point is told its mean length against the
    right one's.
    """
    check = "middles"
    report = CheckReport("check_middles")
    require_written(check, middles)
    if not isinstance(middles, dict) or set(middles) != {"lerp", "slerp"}:
        keys = f" with the keys {sorted(middles)}" if isinstance(middles, dict) else ""
        fail(
            check,
            f"middles is a {type(middles).__name__}{keys}, not a dict with the keys 'lerp' and "
            "'slerp'",
            f'build {{"lerp": ..., "slerp": ...}}, one ({len(pairs)}, nz) tensor per method',
        )
    pairs = on_cpu_in_float32(pairs)
    for method, z_middle in middles.items():
        if not torch.is_tensor(z_middle):
            fail(
                check,
                f'middles["{method}"] is a {type(z_middle).__name__}, not a tensor',
                f"torch.stack the {len(pairs)} midpoints into one ({len(pairs)}, nz) tensor",
            )
        z_middle = on_cpu_in_float32(z_middle)
        expected = torch.stack([interpolate(z0, z1, 3, method)[1] for z0, z1 in pairs])
        if z_middle.shape != expected.shape or not torch.allclose(z_middle, expected, atol=1e-4):
            fail(
                check,
                f'middles["{method}"] has shape {tuple(z_middle.shape)} and mean length '
                f"{z_middle.norm(dim=-1).mean():.2f}; the {method} midpoints have shape "
                f"{tuple(expected.shape)}, mean length {expected.norm(dim=-1).mean():.2f}",
                f'for every pair z0, z1 take interpolate(z0, z1, 3, "{method}")[1], then '
                f"torch.stack the {len(pairs)} of them",
            )
        report.passed.append(
            f"{method}: the {len(pairs)} midpoints (mean length "
            f"{expected.norm(dim=-1).mean():.2f})"
        )
    return report
