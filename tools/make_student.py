"""Write student versions of the chapter notebooks: solutions removed, outputs cleared.

`make student` runs this. Two kinds of solution:

- a cell tagged "solution" (the chapters tag them ["hide-cell", "solution"]: folded in the
  book) is removed whole: the answers to the end-of-chapter exercises;
- a code cell marked the nbgrader way (metadata nbgrader.solution, the code between
  ``### BEGIN SOLUTION`` and ``### END SOLUTION``) keeps its scaffold, and nbgrader's own
  ClearSolutions replaces each region with ``raise NotImplementedError()``: the networks,
  losses and loops the students write.

Graded check cells may also hold hidden tests (``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN
TESTS``): nbgrader's ClearHiddenTests removes them here, as generate_assignment does, and
autograde puts them back.

The result goes to student/ (gitignored) with the chapters' images/ folder beside it, so that
the Colab badge and figures still resolve:

    python tools/make_student.py [--source chapters] [--out student]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import nbformat

SOLUTION_TAG = "solution"


def is_solution(cell) -> bool:
    """True for a cell tagged "solution"."""
    return SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])


def strip_solutions(notebook: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, int]:
    """Return a copy without solution cells and without outputs, and how many cells were removed."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

    student = nbformat.from_dict(notebook)
    kept = [cell for cell in student.cells if not is_solution(cell)]
    removed = len(student.cells) - len(kept)
    for cell in kept:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    student.cells = kept
    # regions in cells not marked as nbgrader solutions raise: a marker cannot slip through
    student, _ = ClearSolutions().preprocess(student, {})
    # graded cells keep their visible checks; the hidden tests are for autograding only
    student, _ = ClearHiddenTests().preprocess(student, {})
    return student, removed


def make_student(source: Path, out: Path) -> list[tuple[Path, int]]:
    """Write every source/*.ipynb to out/ without solutions; return (written path, removed) pairs."""
    notebooks = sorted(source.glob("*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(
            f"no notebooks in {source}; run from the repository root or pass --source"
        )
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks:
        student, removed = strip_solutions(nbformat.read(path, as_version=4))
        target = out / path.name
        nbformat.write(student, target)
        written.append((target, removed))
    if (source / "images").is_dir():
        shutil.copytree(source / "images", out / "images", dirs_exist_ok=True)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source", type=Path, default=Path("chapters"), help="folder of chapter notebooks"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("student"), help="where the student notebooks go"
    )
    args = parser.parse_args(argv)
    for target, removed in make_student(args.source, args.out):
        print(f"{target}: {removed} solution cell{'s' * (removed != 1)} removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
