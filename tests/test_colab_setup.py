"""The set-up cell, run as Colab runs it: a fake google.colab module, a fresh virtual
environment without dcgan_lib, the repository URL pointed at a local clone. The cell must
install the course at the tag of this book's version (or main before that tag exists), and
the chapter's next cell must then import and find the shipped data."""

import json
import os
import subprocess
import sys
import sysconfig
import textwrap

import pytest

from conftest import ROOT, load_tool

setup_tool = load_tool("setup_cell")

RUN_CELLS = textwrap.dedent("""
    import json, sys, types
    sys.modules["google.colab"] = types.ModuleType("google.colab")  # what Colab has
    from IPython.core.interactiveshell import InteractiveShell
    shell = InteractiveShell.instance()
    cells = json.load(open(sys.argv[1]))
    for cell in cells:
        result = shell.run_cell(cell)
        if not result.success:
            raise SystemExit(f"cell failed: {result.error_in_exec or result.error_before_exec!r}")
    import dcgan_lib
    print("DCGAN_LIB_FILE=" + dcgan_lib.__file__)
""")


def git(*args: str, cwd=None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()  # fmt: skip


@pytest.fixture(scope="module")
def remote(tmp_path_factory):
    """A bare clone of this repository's HEAD; the version's tag sits on a side commit that
    adds TAGGED, so a test can tell which one was installed."""
    base = tmp_path_factory.mktemp("colab")
    bare = base / "remote.git"
    git("clone", "-q", "--bare", str(ROOT), str(bare))
    work = base / "work"
    git("clone", "-q", str(bare), str(work))
    (work / "TAGGED").write_text("the tagged release\n")
    git("add", "TAGGED", cwd=work)
    git("-c", "user.name=test", "-c", "user.email=test@example.invalid", "commit", "-q", "-m",
        "release", cwd=work)  # fmt: skip
    return bare, work


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory):
    """A new virtual environment that sees this environment's packages but not dcgan_lib."""
    venv = tmp_path_factory.mktemp("venv") / "colab"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    site_packages = next(venv.glob("lib/python*/site-packages"))
    # a .pth line adds a folder to sys.path without running its .pth files: the course's
    # editable install (a .pth of its own) stays invisible, its dependencies do not
    (site_packages / "course_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def run_colab(venv, remote_url: str, course_dir, tmp_path) -> subprocess.CompletedProcess:
    cells = [setup_tool.setup_cell(remote_url)
             .replace(setup_tool.COURSE_DIR, str(course_dir))]  # fmt: skip
    preface = json.loads((ROOT / "chapters" / "00_preface.ipynb").read_text())["cells"]
    code = ["".join(cell["source"]) for cell in preface if cell["cell_type"] == "code"]
    cells.append(code[1])  # the chapter's next cell: imports, checks the shipped data
    (tmp_path / "cells.json").write_text(json.dumps(cells))
    (tmp_path / "run.py").write_text(RUN_CELLS)
    environment = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
                   "PIP_NO_INDEX": "1",  # nothing may be downloaded: the dependencies are there
                   "PIP_NO_BUILD_ISOLATION": "0", "MPLBACKEND": "Agg"}  # fmt: skip
    environment.pop("PYTHONPATH", None)
    return subprocess.run([str(venv / "bin" / "python"), "run.py", "cells.json"], cwd=tmp_path,
                          env=environment, capture_output=True, text=True, timeout=600)  # fmt: skip


def test_the_fresh_environment_has_no_dcgan_lib(fresh_venv, tmp_path):
    result = subprocess.run([str(fresh_venv / "bin" / "python"), "-c", "import dcgan_lib"],
                            cwd=tmp_path, capture_output=True, text=True)  # fmt: skip
    assert result.returncode != 0 and "No module named 'dcgan_lib'" in result.stderr


@pytest.mark.parametrize("tagged", [True, False], ids=["version-tagged", "before-the-tag"])
def test_the_setup_cell_installs_the_books_version_and_the_next_cell_imports(
    remote, fresh_venv, tmp_path, tagged
):
    bare, work = remote
    tag = f"v{setup_tool.course_version()}"
    if tagged:
        git("tag", "-f", tag, cwd=work)
        git("push", "-q", "-f", "origin", f"refs/tags/{tag}", cwd=work)
    elif tag in git("ls-remote", "--tags", "origin", cwd=work):
        git("push", "-q", "origin", f":refs/tags/{tag}", cwd=work)  # delete it
    course_dir = tmp_path / "dcgan-course"
    result = run_colab(fresh_venv, bare.as_uri(), course_dir, tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"DCGAN_LIB_FILE={course_dir}" in result.stdout
    assert (course_dir / "TAGGED").exists() == tagged  # the tag, or main before it exists
