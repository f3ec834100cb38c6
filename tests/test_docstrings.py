"""Every public docstring of dcgan_lib names the chapter that teaches it ("Chapter 5.")."""

from __future__ import annotations

import inspect
import re

import dcgan_lib
import dcgan_lib.perf

CHAPTER = re.compile(r"\bChapters? \d")


def public_objects() -> dict[str, object]:
    """The functions and classes dcgan_lib exports, plus perf.count_step_flops, by name."""
    objects = {}
    for name in dir(dcgan_lib):
        obj = getattr(dcgan_lib, name)  # dcgan_lib.train is the function (it shadows the module)
        if name.startswith("_") or not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        if obj.__module__.startswith("dcgan_lib"):
            objects[name] = obj
    objects["perf.count_step_flops"] = dcgan_lib.perf.count_step_flops
    return objects


def missing_chapter(objects: dict[str, object]) -> list[str]:
    """The names whose docstring does not name a chapter."""
    return sorted(
        name for name, obj in objects.items() if not CHAPTER.search(inspect.getdoc(obj) or "")
    )


def test_every_public_docstring_names_its_chapter():
    objects = public_objects()
    assert len(objects) > 50  # the package's exports were found
    missing = missing_chapter(objects)
    assert not missing, f"docstrings without 'Chapter N': {', '.join(missing)}"


def test_a_docstring_without_a_chapter_is_reported():
    def with_chapter():
        """Do something. Chapters 5 and 7."""

    def without_chapter():
        """Do something (see chapter five)."""

    def undocumented():
        pass

    objects = {"with": with_chapter, "without": without_chapter, "none": undocumented}
    assert missing_chapter(objects) == ["none", "without"]
