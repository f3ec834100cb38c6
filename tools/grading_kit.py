"""A teaching kit on nbgrader: the chapters as an nbgrader course, ready to release and grade.

`make grading-kit` runs this. It writes an nbgrader course folder (default
_build/grading-kit) whose source/dcgan/ holds the chapters with the folded end-of-chapter
solutions (cells tagged "solution") removed, keeping the exercises marked the nbgrader way
(chapter 3's networks, chapter 5's losses and loop, chapter 11's feature extractor), and runs
``nbgrader generate_assignment``: release/dcgan/ is what students get. A teacher then
collects submissions into submitted/<student>/dcgan/ and runs, from the course folder,

    nbgrader autograde dcgan

Grading runs every notebook top to bottom; set DCGAN_QUICK=1 for the quick mode.

    python tools/grading_kit.py [--out _build/grading-kit] [--chapters 03 05 09]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_student import is_solution  # noqa: E402 - tools/ is not a package

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "dcgan"


def settings(root: Path) -> dict[str, dict]:
    """The course's nbgrader settings: written to nbgrader_config.py, and given to the API."""
    return {
        "CourseDirectory": {
            "course_id": "dcgan-course",
            "db_url": f"sqlite:///{root.resolve()}/gradebook.db",
        },
        "Execute": {"timeout": 600},  # seconds per cell: the quick-mode training cells
    }


def graded_chapters(source: Path, prefixes: list[str] | None = None) -> list[Path]:
    """The chapters with nbgrader cells (or those whose names start with one of prefixes)."""
    chapters = []
    for path in sorted(source.glob("*.ipynb")):
        if prefixes and not any(path.name.startswith(prefix) for prefix in prefixes):
            continue
        cells = nbformat.read(path, as_version=4).cells
        if any("nbgrader" in cell.get("metadata", {}) for cell in cells):
            chapters.append(path)
    return chapters


def write_course(out: Path, chapters: list[Path]) -> Path:
    """An nbgrader course folder with the chapters as the assignment's source; returns out."""
    if out.exists():
        shutil.rmtree(out)
    source = out / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    lines = ["c = get_config()  # noqa: F821 - nbgrader's config loader defines it"]
    lines += [f"c.{section}.{key} = {value!r}"
              for section, values in settings(out).items() for key, value in values.items()]  # fmt: skip
    (out / "nbgrader_config.py").write_text("\n".join(lines) + "\n")
    for path in chapters:
        notebook = nbformat.read(path, as_version=4)
        notebook.cells = [cell for cell in notebook.cells if not is_solution(cell)]
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nbformat.write(notebook, source / path.name)
    if (chapters[0].parent / "images").is_dir():
        shutil.copytree(chapters[0].parent / "images", source / "images")
    return out


def api(root: Path):
    """nbgrader's Python API on the course folder root, with the course's settings."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    # nbgrader runs `alembic` (its database migrations) as a command: this environment's
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ["PATH"].split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ["PATH"]

    config = Config(settings(root))
    config.CourseDirectory.root = str(root.resolve())
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def generate(root: Path) -> Path:
    """nbgrader generate_assignment: the release version; returns its folder."""
    result = api(root).generate_assignment(ASSIGNMENT, force=True)
    if not result["success"]:
        raise RuntimeError(f"nbgrader generate_assignment failed:\n{result['log']}")
    return root / "release" / ASSIGNMENT


def autograde(root: Path, student: str, notebooks: Path) -> dict[str, tuple[float, float]]:
    """Submit the notebooks in folder ``notebooks`` as ``student``, autograde them, and
    return {notebook name: (score, max score)}."""
    target = root / "submitted" / student / ASSIGNMENT
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(notebooks, target)
    grader = api(root)
    with grader.gradebook as gradebook:
        gradebook.update_or_create_student(student)
    result = grader.autograde(ASSIGNMENT, student, force=True)
    if not result["success"]:
        raise RuntimeError(f"nbgrader autograde failed:\n{result['log']}")
    with grader.gradebook as gradebook:
        submission = gradebook.find_submission(ASSIGNMENT, student)
        return {nb.name: (nb.score, nb.max_score) for nb in submission.notebooks}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "grading-kit")
    parser.add_argument("--source", type=Path, default=ROOT / "chapters")
    parser.add_argument("--chapters", nargs="*", help="chapter number prefixes, e.g. 03 05")
    args = parser.parse_args(argv)
    chapters = graded_chapters(args.source, args.chapters)
    if not chapters:
        parser.exit(2, f"error: no chapter with nbgrader cells in {args.source}\n")
    release = generate(write_course(args.out, chapters))
    print(
        f"nbgrader course in {args.out}: {len(chapters)} notebooks; release version in {release}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
