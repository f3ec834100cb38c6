"""The first code cell of every chapter, written from one place: the repository URL in
_config.yml and the version in pyproject.toml.

On Colab the cell clones the course at the tag of this book's version (``v`` + the version)
and installs it, so a reader gets the library the book was written against; until that tag
is published (between releases) it falls back to the main branch. Colab keeps its own torch:
the course asks only for lower bounds. ``python tools/setup_cell.py`` rewrites the cell in
every chapter; tests/test_chapters.py checks that they match, and ``make release`` tags the
version they install.
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
COURSE_DIR = "/content/dcgan-course"


def course_version() -> str:
    """The version of pyproject.toml, e.g. '0.2.0'."""
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def repository_url() -> str:
    return yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]


def setup_cell(repo: str | None = None, version: str | None = None) -> str:
    """The source of the set-up cell for a repository URL and a version."""
    repo, version = repo or repository_url(), version or course_version()
    return f"""# Set-up, the same in every chapter. On Colab: install the course library at
# this book's version (main before it is tagged), keeping Colab's own torch.
# Everywhere: seed, pick the device and read quick mode (DCGAN_QUICK=1).
import os, sys

REPO, VERSION = "{repo}", "v{version}"
COURSE_DIR = "{COURSE_DIR}"
if "google.colab" in sys.modules and not os.path.isdir(COURSE_DIR):
    !git clone -q --depth 1 --branch {{VERSION}} {{REPO}} {{COURSE_DIR}} 2> /dev/null
    ![ -d {{COURSE_DIR}} ] || git clone -q --depth 1 {{REPO}} {{COURSE_DIR}}
    !pip -q install -e {{COURSE_DIR}}
if "google.colab" in sys.modules:
    sys.path.insert(0, COURSE_DIR)
from dcgan_lib import setup

session = setup(seed=0)
session"""


def rewrite(notebook: Path, cell_source: str) -> bool:
    """Put cell_source into the first code cell of notebook; return True if it changed."""
    content = json.loads(notebook.read_text())
    first = next(cell for cell in content["cells"] if cell["cell_type"] == "code")
    lines = cell_source.split("\n")
    new = [line + "\n" for line in lines[:-1]] + [lines[-1]]
    if first["source"] == new:
        return False
    first["source"] = new
    notebook.write_text(json.dumps(content, indent=1, ensure_ascii=False) + "\n")
    return True


def main() -> int:
    source = setup_cell()
    changed = [p.name for p in sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
               if rewrite(p, source)]  # fmt: skip
    print(f"set-up cell for v{course_version()}: {len(changed)} chapters rewritten {changed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
