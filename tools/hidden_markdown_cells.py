"""Sphinx extension: fold markdown cells tagged "hide-cell" in the book, as code cells are.

myst-nb hides code cells tagged "hide-cell" but renders markdown cells as they are (it
ignores their metadata). The chapters tag every exercise solution ["hide-cell",
"solution"], in code and in markdown cells. This wraps such a markdown cell in a
container with the class "toggle", which sphinx-togglebutton (part of jupyter-book)
folds behind a "Click to show" button. A cell holding a heading is left as it is: a
container around a heading would break the page's sections.
_config.yml loads it with `local_extensions: {hidden_markdown_cells: tools}`.
"""

from __future__ import annotations

from docutils import nodes
from myst_nb.core.render import MditRenderMixin

HIDE_TAG = "hide-cell"
_render_as_is = MditRenderMixin.render_nb_cell_markdown


def _render_markdown_cell(self, token) -> None:
    tags = token.meta.get("metadata", {}).get("tags", [])
    if HIDE_TAG not in tags or any(child.type == "heading" for child in token.children or []):
        _render_as_is(self, token)
        return
    classes = ["toggle", "cell", "cell_markdown"] + [
        f"tag_{tag.replace(' ', '_')}" for tag in tags
    ]
    container = nodes.container(classes=classes)
    self.add_line_and_source_path(container, token)
    with self.current_node_context(container, append=True):
        self.render_children(token)


def setup(app):
    MditRenderMixin.render_nb_cell_markdown = _render_markdown_cell
    return {"parallel_read_safe": True, "parallel_write_safe": True}
