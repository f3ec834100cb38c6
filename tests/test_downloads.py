"""Full mode on Colab downloads datasets; a refused download must not stop "Run all".

Every download here is patched to fail the way real ones do (no connection, Google Drive's
quota page): the library says what to do in one DatasetError, try_load_dataset turns it into
a message, and the chapters' download cells print it and carry on.
"""

import json
import urllib.error
import urllib.request

import pytest
import torch

import dcgan_lib
import dcgan_lib.data
from conftest import ROOT
from dcgan_lib import DatasetError, load_dataset, try_load_dataset
from dcgan_lib.notebook import Session


@pytest.fixture(autouse=True)
def refused_downloads(monkeypatch):
    """Every URL fails as without a connection; nothing is fetched."""

    def refuse(*args, **kwargs):
        raise urllib.error.URLError("connection refused (patched by the test)")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(urllib.request, "urlretrieve", refuse)


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist", "cifar10"])
def test_a_refused_torchvision_download_says_what_to_do(tmp_path, name):
    with pytest.raises(DatasetError, match="could not be downloaded to .*check the internet"):
        load_dataset(name, root=tmp_path, image_size=32, download=True)


def test_a_refused_celeba_download_points_to_the_kaggle_zip(tmp_path, monkeypatch):
    import torchvision.datasets

    def quota_exceeded(*args, **kwargs):
        raise RuntimeError("Too many users have viewed or downloaded this file recently")

    monkeypatch.setattr(torchvision.datasets, "CelebA", quota_exceeded)
    with pytest.raises(DatasetError, match="CelebA could not be downloaded.*img_align_celeba.zip"):
        load_dataset("celeba", root=tmp_path, image_size=64, download=True)


def test_try_load_dataset_returns_the_message_instead_of_raising(tmp_path):
    dataset, problem = try_load_dataset("cifar10", root=tmp_path, download=True)
    assert dataset is None and problem.startswith("cifar10 is not available")
    dataset, problem = try_load_dataset("mnist5k", image_size=16)
    assert len(dataset) == 5000 and problem == ""
    with pytest.raises(ValueError, match="unknown dataset"):  # a mistake still raises
        try_load_dataset("imagenet")


def chapter_cells(chapter: str, *starts: str) -> list[str]:
    """The first code cell of chapters/CHAPTER.ipynb with a line that begins with each start."""
    cells = json.loads((ROOT / "chapters" / f"{chapter}.ipynb").read_text())["cells"]
    sources = ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]
    return [next(s for s in sources if any(line.startswith(start) for line in s.splitlines()))
            for start in starts]  # fmt: skip


@pytest.mark.parametrize(
    "chapter, starts",
    [
        ("04_data", ("def can_load", "# MNIST and Fashion-MNIST", "# CIFAR-10", "# CelebA")),
        ("11_discriminator_features", ("CIFAR_CHECKPOINT = None",)),
    ],
)
def test_full_mode_on_colab_carries_on_when_downloads_fail(
    tmp_path, monkeypatch, capsys, chapter, starts
):
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.setattr(dcgan_lib.data, "DEFAULT_ROOT", tmp_path)
    session = Session(device=torch.device("cpu"), quick=False, seed=0, colab=True)
    namespace = {
        name: getattr(dcgan_lib, name) for name in dir(dcgan_lib) if not name.startswith("_")
    }
    namespace.update(session=session, DEFAULT_ROOT=tmp_path)
    for source in chapter_cells(chapter, *starts):
        exec(compile(source, f"{chapter}.ipynb", "exec"), namespace)  # must not raise
    printed = capsys.readouterr().out
    assert "is not available, so this step is skipped" in printed
    assert "check the internet connection" in printed or "img_align_celeba.zip" in printed
    assert not any(tmp_path.rglob("*.png"))  # nothing was downloaded
