"""The project's own files agree: pyproject vs environment.yml, Makefile, CI, README."""

import re
import tomllib

import yaml

from conftest import ROOT


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _spec(requirement: str) -> str:
    return requirement.strip()[len(_name(requirement)) :].replace(" ", "")


def pip_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["dev"]
    pins = (
        re.search(r"^TORCH_PINS := (.+)$", (ROOT / "Makefile").read_text(), re.M).group(1).split()
    )
    specs = {_name(r): _spec(r) for r in requirements}
    specs.update({_name(p): _spec(p) for p in pins})  # the Makefile's exact pins win
    return specs


def conda_requirements() -> dict[str, str]:
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    entries = []
    for item in environment["dependencies"]:
        entries += item["pip"] if isinstance(item, dict) else [item]
    specs = {}
    for entry in entries:
        if entry.startswith("-e ") or _name(entry) in ("python", "pip"):
            continue
        specs[_name(entry)] = _spec(entry)
    return specs


def test_environment_yml_lists_the_same_packages_as_pyproject():
    assert conda_requirements() == pip_requirements()


def test_make_installs_the_tested_torch_and_jupyter_book_versions():
    assert pip_requirements()["torch"] == "==2.14.1"
    assert pip_requirements()["torchvision"] == "==0.29.1"
    assert pip_requirements()["jupyter-book"] in (">=1.0.4.post1,<2", "<2,>=1.0.4.post1")


def test_ci_runs_make_test():
    script = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", script, re.M)


def test_readme_names_exactly_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^\s*(make \w+)\s*$", readme, re.M)
    assert sorted(set(commands)) == ["make book", "make test"]


def test_the_pages_workflow_publishes_what_make_book_builds():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "pages.yml").read_text())
    build = workflow["jobs"]["build"]["steps"]
    assert any(step.get("run") == "make book" for step in build)
    upload = next(
        s for s in build if s.get("uses", "").startswith("actions/upload-pages-artifact")
    )
    assert upload["with"]["path"] == "_build/html"
    assert any(step.get("uses", "").startswith("actions/deploy-pages") for step in
               workflow["jobs"]["deploy"]["steps"])  # fmt: skip
    assert "v*" in workflow[True]["push"]["tags"]  # YAML reads the key `on` as True


def test_make_release_tags_the_version_the_setup_cells_install():
    makefile = (ROOT / "Makefile").read_text()
    assert "tools/setup_cell.py" in makefile and "git tag -a v$(VERSION)" in makefile
