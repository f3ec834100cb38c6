"""Checks of chapter 8's exercise on the categorical code: what each category of a ring
generator covers."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..toy import modes_covered, ring_centres
from .report import CheckReport, exercise, fail, kept_random_state

THRESHOLD = 0.25  # the ring's distance to a centre that counts as near (chapter 8's table)


def _cluster(centre: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    return centre + 0.03 * torch.randn(n, 2, generator=generator)


def known_answer_points() -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """Points of 3 categories on the 8-mode ring whose answer is known: category 0 on modes 0
    and 1, and 10 points 0.2 from mode 5 (near at the threshold 0.25, not at 0.1); category 1
    on mode 2, plus one stray point on mode 3 (under 2% of its points, so not covered);
    category 2 on modes 3 to 7, plus 40 points far from every mode."""
    centres = ring_centres(8, 2.0)
    g = torch.Generator().manual_seed(0)
    outside_mode_5 = (centres[5] * 1.1).repeat(10, 1)  # 0.2 out, on the ring's radius
    groups = [
        (
            0,
            torch.cat(
                [_cluster(centres[0], 100, g), _cluster(centres[1], 100, g), outside_mode_5]
            ),
        ),
        (1, torch.cat([_cluster(centres[2], 100, g), _cluster(centres[3], 1, g)])),
        (2, torch.cat([*(_cluster(centres[m], 50, g) for m in range(3, 8)), torch.zeros(40, 2)])),
    ]
    points = torch.cat([p for _, p in groups])
    drawn = torch.cat([torch.full((len(p),), k) for k, p in groups])
    return points, drawn, [3, 1, 5]


def _counts(answer, name: str) -> list[int]:
    """The answer for 3 categories as 3 whole numbers, or a CheckFailed saying what it is."""
    try:
        if len(answer) == 3:
            return [int(count) for count in answer]
    except (TypeError, ValueError, RuntimeError):
        pass
    fail(
        name,
        f"returns {answer!r} for 3 categories, not a list of 3 counts",
        "return one whole number per category: [... for k in range(categories)]",
    )


def check_modes_per_category(
    modes_per_category: Callable[[torch.Tensor, torch.Tensor, int, torch.Tensor], list[int]],
) -> CheckReport:
    """Check a student's modes_per_category(points, drawn, categories, centres): for each
    category k in range(categories), the number of modes that modes_covered counts among the
    points drawn with category k (threshold 0.25, its default share of 2%). On points whose
    answer is known, then on a random assignment, compared with the library. Chapter 8."""
    report = CheckReport("check_modes_per_category")
    name = "modes_per_category"
    centres = ring_centres(8, 2.0)
    points, drawn, expected = known_answer_points()
    with kept_random_state(), exercise(name):
        answer = modes_per_category(points, drawn, 3, centres)
    answer = _counts(answer, name)
    if answer != expected:
        fail(
            name,
            f"gives {answer} on points whose answer is {expected}",
            "keep only category k's points, points[drawn == k], and count their modes with "
            "modes_covered(..., centres, 0.25): a category's share is of its own points",
        )
    report.passed.append(f"known points: {expected} modes for categories 0, 1 and 2")
    g = torch.Generator().manual_seed(1)
    shuffled = drawn[torch.randperm(len(drawn), generator=g)]
    with kept_random_state(), exercise(name):
        answer = _counts(modes_per_category(points, shuffled, 3, centres), name)
    library = [modes_covered(points[shuffled == k], centres, THRESHOLD) for k in range(3)]
    if answer != library:
        fail(
            name,
            f"gives {answer} where modes_covered per category gives {library}",
            "use modes_covered(points[drawn == k], centres, 0.25) for each category k",
        )
    report.passed.append(f"categories shuffled: {library}, as the library counts")
    return report
