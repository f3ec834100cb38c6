"""Structure every chapter shares: the set-up cell, the Colab badge, the table of contents."""

import ast
import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, load_tool, toc_pages

REPO_URL = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))

SETUP_CELL = load_tool("setup_cell").setup_cell(REPO_URL)
# the code column of the rendered book shows about 79 characters at a 1280-pixel window:
# longer lines make the reader scroll sideways (ruff enforces it too: chapters/ruff.toml)
CODE_WIDTH = 79


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def source(cell: dict) -> str:
    return "".join(cell["source"])


def test_there_are_chapters():
    assert CHAPTERS, "no chapters/NN_*.ipynb found"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_first_code_cell_is_the_shared_setup_cell(path):
    first_code = next(c for c in cells(path) if c["cell_type"] == "code")
    assert source(first_code) == SETUP_CELL


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_colab_badge_opens_this_notebook_from_the_repository(path):
    owner_repo = REPO_URL.removeprefix("https://github.com/")
    expected = (
        f"https://colab.research.google.com/github/{owner_repo}/blob/main/chapters/{path.name}"
    )
    title = source(cells(path)[0])
    assert title.startswith("# ") and expected in title


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_notebooks_are_saved_without_outputs(path):
    assert all(not c.get("outputs") for c in cells(path) if c["cell_type"] == "code")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_code_lines_fit_the_books_code_column(path):
    # cells numbered from 1 over all cells, as ruff reports them
    too_long = [
        f"cell {number}, line {row} ({len(line)} characters): {line}"
        for number, cell in enumerate(cells(path), 1)
        if cell["cell_type"] == "code"
        for row, line in enumerate(source(cell).split("\n"), 1)
        if len(line) > CODE_WIDTH
    ]
    assert too_long == [], (
        f"{path.name}: {len(too_long)} code lines longer than {CODE_WIDTH} characters "
        "(`ruff format chapters`, then wrap comments and split strings by hand):\n"
        + "\n".join(too_long)
    )


def test_ruff_checks_the_chapters_at_the_books_code_width():
    settings = tomllib.loads((ROOT / "chapters" / "ruff.toml").read_text())
    assert settings["line-length"] == CODE_WIDTH
    assert "E501" in settings["lint"]["select"]  # the root configuration ignores it
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]
    assert not any("chapters" in path or "ipynb" in path for path in root["extend-exclude"])


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_has_objectives_summary_and_exercises(path):
    text = "\n".join(source(c) for c in cells(path) if c["cell_type"] == "markdown")
    assert re.search(r"what you will learn", text, re.I)
    assert re.search(r"^#+ .*summary", text, re.I | re.M)
    assert re.search(r"^#+ .*exercises", text, re.I | re.M)


def test_every_chapter_is_in_the_table_of_contents_and_every_entry_exists():
    entries = toc_pages()
    for path in CHAPTERS:
        assert f"chapters/{path.stem}" in entries
    for entry in entries:
        assert any((ROOT / f"{entry}{suffix}").exists() for suffix in (".ipynb", ".md")), entry


def private_names_used(code: str) -> list[str]:
    """Names starting with _ that code imports from dcgan_lib or reaches through it."""
    # shell and magic lines (!git, %matplotlib) are not Python: keep their indentation, as pass
    lines = [line[: len(line) - len(line.lstrip())] + "pass"
             if line.lstrip().startswith(("!", "%")) else line
             for line in code.splitlines()]  # fmt: skip
    found = []
    for node in ast.walk(ast.parse("\n".join(lines))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dcgan_lib"):
            parts = node.module.split(".") + [alias.name for alias in node.names]
            found += [part for part in parts if part.startswith("_")]
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names
                      if alias.name.startswith("dcgan_lib") and "._" in alias.name]  # fmt: skip
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id == "dcgan_lib":
                found.append(node.attr)
    return [name for name in found if not (name.startswith("__") and name.endswith("__"))]


def test_private_names_are_detected():
    assert private_names_used("from dcgan_lib.train import _Run, train") == ["_Run"]
    assert private_names_used("import dcgan_lib\ndcgan_lib.data._load_celeba") == ["_load_celeba"]
    assert private_names_used("from dcgan_lib import Trainer\n!pip install x") == []
    assert (
        private_names_used("import dcgan_lib\ndcgan_lib.__version__") == []
    )  # dunders are public


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapters_use_only_public_names_of_the_library(path):
    code = "\n".join(source(c) for c in cells(path) if c["cell_type"] == "code")
    assert private_names_used(code) == []
