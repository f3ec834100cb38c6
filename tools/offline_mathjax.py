"""Sphinx extension: serve MathJax 3 from the book itself, so it reads (and tests) offline.

The MathJax files come from the PyPI package django-static-mathjax (MathJax 3.2.2; a dev
dependency), which ships MathJax's es5/ build. After an HTML build this copies the parts
that `tex-mml-chtml.js` loads (the TeX input and its extensions, the CommonHTML output
and its fonts, the menu and accessibility components) into _build/html/_static/mathjax/.
_config.yml loads it with `local_extensions: {offline_mathjax: tools}` and sets
`mathjax_path: mathjax/tex-mml-chtml.js` (relative to _static/).
"""

from __future__ import annotations

import shutil
from pathlib import Path

# what the combined tex-mml-chtml component loads at run time, relative to MathJax's es5/
NEEDED = (
    "tex-mml-chtml.js",
    "input",
    "output/chtml.js",
    "output/chtml",
    "a11y",
    "ui",
    "sre",
    "adaptors",
)


def mathjax_es5() -> Path:
    """Return the es5/ folder of the installed MathJax package; raise with the fix if missing."""
    try:
        import mathjax
    except ImportError as error:
        raise ImportError(
            "MathJax is not installed: pip install django-static-mathjax "
            "(part of the dev dependencies: pip install -e '.[dev]')"
        ) from error
    return Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"


def copy_mathjax(target: Path) -> None:
    """Copy the needed MathJax files and its licence into target (e.g. _build/html/_static/mathjax)."""
    es5 = mathjax_es5()
    for name in NEEDED:
        source = es5 / name
        if source.is_dir():
            shutil.copytree(source, target / name, dirs_exist_ok=True)
        else:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    shutil.copy2(es5.parent / "LICENSE", target / "LICENSE")


def _on_build_finished(app, exception) -> None:
    if exception is None and app.builder.format == "html":
        copy_mathjax(Path(app.outdir) / "_static" / "mathjax")


def setup(app):
    mathjax_es5()  # fail at the start of the build, not after it
    app.connect("build-finished", _on_build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
