"""The teaching kit on nbgrader (tools/grading_kit.py): generate_assignment makes the student
version of the graded chapters, autograde gives the reference solutions full marks and the
blank scaffolds zero. Runs the graded chapters in quick mode; the blank scaffolds are graded
in tests/test_grading_kit_blank.py, a file of its own so that pytest-xdist (--dist loadfile)
runs the two gradings on different cores."""

from __future__ import annotations

import os
import re

import nbformat
import pytest

from conftest import ROOT, load_tool

grading_kit = load_tool("grading_kit")

pytestmark = pytest.mark.filterwarnings("ignore::Warning")  # nbgrader's SQLAlchemy notices


def test_the_graded_chapters_are_the_ones_students_write_code_in(grading_course):
    _, chapters, _ = grading_course
    assert [path.name[:2] for path in chapters] == ["03", "05", "08", "09", "11"]


def test_the_instructors_page_states_the_points_the_check_cells_carry(grading_course):
    _, chapters, _ = grading_course
    points = {
        int(path.name[:2]): sum(
            cell.metadata.get("nbgrader", {}).get("points", 0)
            for cell in nbformat.read(path, as_version=4).cells
        )
        for path in chapters
    }
    page = " ".join((ROOT / "chapters" / "instructors.md").read_text().split())
    assert f"{sum(points.values())} points in all" in page
    assert f"({', '.join(str(n) for n in list(points)[:-1])} and {list(points)[-1]})" in page
    stated = re.findall(r"(\d+) for chapter (\d+)'s", page)
    assert {int(chapter): int(n) for n, chapter in stated} == points


def test_the_release_version_holds_no_solution_code(grading_course):
    root, chapters, release = grading_course
    for path in chapters:
        text = "\n".join(c.source for c in nbformat.read(release / path.name, as_version=4).cells)
        assert "BEGIN SOLUTION" not in text and "### END SOLUTION" not in text
        assert "raise NotImplementedError()" in text
        # the folded end-of-chapter answers are gone too
        book = nbformat.read(path, as_version=4).cells
        answers = [c.source for c in book if "solution" in c.metadata.get("tags", [])]
        assert answers and not any(answer in text for answer in answers)


def test_autograde_gives_the_reference_solutions_full_marks(grading_course):
    root, chapters, _ = grading_course
    os.environ.setdefault("DCGAN_QUICK", "1")
    reference = grading_kit.autograde(root, "reference", root / "source" / "dcgan")
    assert set(reference) == {path.stem for path in chapters}
    for name, (score, max_score) in reference.items():
        assert max_score >= 1 and score == max_score, (name, score, max_score)
