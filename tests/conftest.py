"""Shared fixtures and helpers: the repository root, the _toc.yml pages, the tools/ scripts,
and tiny configs and data so every test runs in seconds on a CPU."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
import torch
import yaml

from dcgan_lib import TrainConfig
from dcgan_lib.data import InMemoryImages

ROOT = Path(__file__).resolve().parents[1]


def toc_pages(root: Path = ROOT, with_root: bool = False) -> list[str]:
    """The pages of root/_toc.yml in order, e.g. ['chapters/00_preface', ...]; 'intro' first
    when with_root."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    pages = [entry["file"] for part in toc["parts"] for entry in part["chapters"]]
    return [toc["root"], *pages] if with_root else pages


def load_tool(name: str) -> ModuleType:
    """Import tools/NAME.py (the tools are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _single_thread():
    # small models: one thread is faster and makes timings independent of the machine
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def tiny_config() -> TrainConfig:
    """A 16x16, 8-channel model: a training step takes milliseconds."""
    return TrainConfig(
        dataset="mnist5k",
        image_size=16,
        ngf=8,
        ndf=8,
        nz=16,
        batch_size=16,
        steps=6,
        sample_every=3,
        checkpoint_every=3,
        log_every=1,
        device="cpu",
    )


@pytest.fixture
def tiny_dataset() -> InMemoryImages:
    """64 random single-channel 16x16 images in [-1, 1]."""
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(64, 1, 16, 16, generator=generator) * 2 - 1
    return InMemoryImages(images, torch.zeros(64, dtype=torch.long))


@pytest.fixture
def tiny_d():
    """A 16x16 single-channel Discriminator with 4 base channels, weights from seed 0."""
    from dcgan_lib import Discriminator

    torch.manual_seed(0)
    return Discriminator(nc=1, ndf=4, image_size=16)


@pytest.fixture
def images():
    """3 random single-channel 16x16 images in [-1, 1]."""
    return torch.rand(3, 1, 16, 16, generator=torch.Generator().manual_seed(1)) * 2 - 1


@pytest.fixture(scope="module")
def grading_course(tmp_path_factory):
    """An nbgrader course of the graded chapters, released (tools/grading_kit.py): (course
    root, chapter paths, release folder). Built once per test file that asks for it."""
    grading_kit = load_tool("grading_kit")
    chapters = grading_kit.graded_chapters(ROOT / "chapters")
    root = grading_kit.write_course(tmp_path_factory.mktemp("kit") / "course", chapters)
    return root, chapters, grading_kit.generate(root)


# The longest test files first. `make unit` runs pytest-xdist with --dist loadfile and
# --no-loadscope-reorder, which hands out whole files in this order: the two gradings (two to
# three minutes each) start at once on the two workers, and the many short files fill in after.
# By default xdist orders files by their number of tests, which left the one-test grading of the
# blank scaffolds to start last, alone.
SLOWEST_FILES = ("test_grading_kit.py", "test_grading_kit_blank.py", "test_distributed.py",
                 "test_gpu_train.py", "test_colab_setup.py", "test_cli.py")  # fmt: skip


def pytest_collection_modifyitems(items):
    rank = {name: place for place, name in enumerate(SLOWEST_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest in order
