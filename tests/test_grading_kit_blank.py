"""The teaching kit on nbgrader (tools/grading_kit.py): autograde gives the blank scaffolds of
the released graded chapters zero out of the points their check cells carry. Runs the graded
chapters once in quick mode; tests/test_grading_kit.py grades the reference solutions."""

from __future__ import annotations

import os

import pytest

from conftest import load_tool

grading_kit = load_tool("grading_kit")
pytestmark = pytest.mark.filterwarnings("ignore::Warning")  # nbgrader's SQLAlchemy notices


def test_autograde_gives_the_blank_scaffolds_zero(grading_course):
    root, chapters, release = grading_course
    os.environ.setdefault("DCGAN_QUICK", "1")
    blank = grading_kit.autograde(root, "blank", release)
    assert set(blank) == {path.stem for path in chapters}
    for name, (score, max_score) in blank.items():
        assert max_score >= 1 and score == 0.0, (name, score, max_score)
