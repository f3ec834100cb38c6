"""The teaching kit: every chapter has objectives, exercises and hidden solutions, and
`make student` (tools/make_student.py) writes notebooks without the solutions."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT, load_tool, toc_pages
from dcgan_lib import CheckFailed

make_student = load_tool("make_student")


def toc_notebooks() -> list[Path]:
    """The chapter notebooks listed in _toc.yml that exist (the book build catches missing ones)."""
    return [ROOT / f"{name}.ipynb" for name in toc_pages() if (ROOT / f"{name}.ipynb").exists()]


def fabricated_notebook() -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    exercise = nbformat.v4.new_markdown_cell("## Exercises\n1. Double the learning rate.")
    solution_text = nbformat.v4.new_markdown_cell(
        "The losses oscillate.", metadata={"tags": ["hide-cell", "solution"]}
    )
    solution_code = nbformat.v4.new_code_cell(
        "answer = 2 * 2e-4", metadata={"tags": ["hide-cell", "solution"]}
    )
    hidden_setup = nbformat.v4.new_code_cell("import torch", metadata={"tags": ["hide-cell"]})
    computed = nbformat.v4.new_code_cell(
        "1 + 1",
        execution_count=3,
        outputs=[nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=3)],
    )
    notebook.cells = [hidden_setup, computed, exercise, solution_text, solution_code]
    return notebook


def test_strip_solutions_removes_only_solution_cells_and_clears_outputs():
    student, removed = make_student.strip_solutions(fabricated_notebook())
    assert removed == 2
    assert [cell.source for cell in student.cells] == [
        "import torch",
        "1 + 1",
        "## Exercises\n1. Double the learning rate.",
    ]
    assert student.cells[1].outputs == [] and student.cells[1].execution_count is None
    nbformat.validate(student)


def test_make_student_writes_every_notebook_and_the_images(tmp_path, capsys):
    source, out = tmp_path / "chapters", tmp_path / "student"
    (source / "images").mkdir(parents=True)
    (source / "images" / "badge.svg").write_text("<svg/>")
    nbformat.write(fabricated_notebook(), source / "01_first.ipynb")
    nbformat.write(nbformat.v4.new_notebook(), source / "02_second.ipynb")
    assert make_student.main(["--source", str(source), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.glob("*.ipynb")) == ["01_first.ipynb", "02_second.ipynb"]
    assert len(nbformat.read(out / "01_first.ipynb", as_version=4).cells) == 3
    assert (out / "images" / "badge.svg").read_text() == "<svg/>"
    assert "2 solution cells removed" in capsys.readouterr().out
    assert (
        len(nbformat.read(source / "01_first.ipynb", as_version=4).cells) == 5
    )  # source untouched


def test_make_student_without_notebooks_says_where_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="repository root"):
        make_student.make_student(tmp_path, tmp_path / "student")


@pytest.mark.parametrize("path", toc_notebooks(), ids=lambda path: path.stem)
def test_chapter_has_objectives_exercises_and_hidden_solutions(path):
    cells = nbformat.read(path, as_version=4).cells
    markdown = [cell.source for cell in cells if cell.cell_type == "markdown"]
    assert re.search(r"what you will learn", markdown[0], re.IGNORECASE), (
        "the first cell needs a 'What you will learn' section"
    )
    assert any(re.search(r"^#{2,} .*Exercises", text, re.MULTILINE) for text in markdown), (
        "the chapter needs an '## Exercises' heading"
    )
    tags = [cell.get("metadata", {}).get("tags", []) for cell in cells]
    solutions = [cell_tags for cell_tags in tags if "solution" in cell_tags]
    assert solutions, "tag at least one solution cell ['hide-cell', 'solution']"
    assert all("hide-cell" in cell_tags for cell_tags in solutions), (
        "every solution cell must also be tagged 'hide-cell' so the book hides it"
    )


def solution_region_cell(grade_id: str, source: str) -> nbformat.NotebookNode:
    metadata = {"nbgrader": {"grade": False, "grade_id": grade_id, "locked": False,
                             "schema_version": 3, "solution": True, "task": False}}  # fmt: skip
    return nbformat.v4.new_code_cell(source, metadata=metadata)


def test_a_solution_region_keeps_its_scaffold_and_loses_its_code():
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [solution_region_cell("f", "def f(x):\n    # double it\n    ### BEGIN SOLUTION\n"
                                                "    return 2 * x\n    ### END SOLUTION\n")]  # fmt: skip
    student, removed = make_student.strip_solutions(notebook)
    assert removed == 0
    assert student.cells[0].source == (
        "def f(x):\n    # double it\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"
    )


def test_a_solution_region_in_a_cell_not_marked_for_nbgrader_is_refused():
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")]
    with pytest.raises(RuntimeError, match="solution"):
        make_student.strip_solutions(notebook)


@pytest.mark.parametrize("path", toc_notebooks(), ids=lambda path: path.stem)
def test_the_student_version_holds_no_solution_code(path):
    book = nbformat.read(path, as_version=4)
    student, _ = make_student.strip_solutions(book)
    text = "\n".join(cell.source for cell in student.cells)
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    marked = [c for c in book.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution")]
    assert text.count("raise NotImplementedError()") >= sum(
        c.source.count("### BEGIN SOLUTION") for c in marked
    )
    assert "HIDDEN TESTS" not in text  # autograde puts them back; students never see them


def test_graded_cells_carry_hidden_tests_that_the_student_version_drops():
    hidden = {}
    for path in toc_notebooks():
        for cell in nbformat.read(path, as_version=4).cells:
            grading = cell.get("metadata", {}).get("nbgrader", {})
            if grading.get("grade") and "### BEGIN HIDDEN TESTS" in cell.source:
                hidden[grading["grade_id"]] = cell.source.split("### BEGIN HIDDEN TESTS")[1]
    assert set(hidden) >= {"check_my_generator", "check_my_discriminator", "check_my_losses",
                           "check_my_features"}  # fmt: skip
    assert all("assert" in block for block in hidden.values())


STUDENT_WORK = {
    "03_dcgan_architecture": [("my_generator", "check_my_generator"),
                              ("my_discriminator", "check_my_discriminator"),
                              ("my_discriminator", "compare_with_library")],
    "05_training": [("my_losses", "check_my_losses"),
                    ("my_training_loop", "loop_matches_library")],
    "08_after_dcgan": [("my_hinge", "check_my_hinge")],
    "11_discriminator_features": [("my_features", "check_my_features")],
}  # fmt: skip


@pytest.mark.parametrize("chapter", sorted(STUDENT_WORK))
def test_the_blank_scaffolds_fail_their_checks_as_a_student_runs_them(chapter):
    # the student version, run as a student would: the imports, then each blank
    # scaffold and the graded cell that checks it
    path = ROOT / "chapters" / f"{chapter}.ipynb"
    student, _ = make_student.strip_solutions(nbformat.read(path, as_version=4))
    ids = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id"): c for c in student.cells}
    namespace: dict = {}
    imports = next(c.source for c in student.cells if "from dcgan_lib import (" in c.source)
    exec(imports, namespace)
    for scaffold, check in STUDENT_WORK[chapter]:
        assert "raise NotImplementedError()" in ids[scaffold].source
        exec(ids[scaffold].source, namespace)
        # a blank scaffold raises; the checks catch it and say it is not written yet
        with pytest.raises(CheckFailed, match="is not written yet") as raised:
            exec(ids[check].source, namespace)
        assert "raise NotImplementedError()" in raised.value.hint
