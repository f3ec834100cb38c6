"""The first cell of every chapter: seed, device and quick mode, set the same way everywhere.

Quick mode (environment variable DCGAN_QUICK=1, set by `make test` and `make book`) makes
every chapter finish in about a minute on two CPU cores: fewer steps, fewer samples, and
the small pretrained checkpoints in data/ instead of long training runs. Full mode is
what a reader with a GPU (e.g. on Colab) runs. show_source shows the library's own code.
"""

from __future__ import annotations

import inspect
import os
import sys
import textwrap
from dataclasses import dataclass
from typing import TypeVar

import torch

from .runtime import pick_device, seed_everything

QUICK_ENV = "DCGAN_QUICK"
T = TypeVar("T")


def quick_mode() -> bool:
    """True when DCGAN_QUICK is set to 1/true/yes (tests and the book build set it)."""
    return os.environ.get(QUICK_ENV, "").strip().lower() in ("1", "true", "yes", "on")


@dataclass
class Session:
    """What a chapter needs to know about where it runs."""

    device: torch.device
    quick: bool
    seed: int
    colab: bool

    def pick(self, quick: T, full: T) -> T:
        """Return `quick` in quick mode and `full` otherwise: `steps = session.pick(200, 5000)`."""
        return quick if self.quick else full

    def __repr__(self) -> str:
        mode = "quick mode (DCGAN_QUICK=1)" if self.quick else "full mode"
        text = f"device={self.device.type}, {mode}, seed={self.seed}, torch {torch.__version__}"
        if self.device.type == "cuda":
            text += f", GPU: {torch.cuda.get_device_name(self.device)}"
        elif self.colab:
            text += (
                "\nNo GPU: in Colab choose Runtime > Change runtime type > T4 GPU, "
                "then run this notebook again."
            )
        return text


def setup(seed: int = 0, quick: bool | None = None) -> Session:
    """Seed everything, pick the device (cuda > mps > cpu), read quick mode, style the figures.

    Chapter 0.
    """
    seed_everything(seed)
    try:
        import matplotlib.pyplot as plt

        plt.rcParams.update(
            {
                "figure.dpi": 100,
                "axes.grid": True,
                "grid.alpha": 0.3,
                "image.interpolation": "nearest",
            }
        )
    except ImportError:
        pass
    return Session(
        device=pick_device(),
        quick=quick_mode() if quick is None else quick,
        seed=seed,
        colab="google.colab" in sys.modules,
    )


def source_block(obj) -> str:
    """obj's source (a function, class or method) as a Markdown python code block, dedented."""
    return f"```python\n{textwrap.dedent(inspect.getsource(obj))}```"


def show_source(obj) -> None:
    """Show obj's source as a highlighted python code block. In the rendered book such blocks
    are drawn small enough (_static/course.css) for the library's lines of about 99
    characters to fit the column, where printed text would wrap them back to the left edge.
    Chapter 3."""
    from IPython.display import Markdown, display

    display(Markdown(source_block(obj)))
