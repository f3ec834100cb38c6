"""The generators the book runs in the reader's browser: BatchNorm folded, exported to ONNX."""

import json

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

from conftest import load_tool
from dcgan_lib import Generator, load_generator, pretrained_path, sample_z
from dcgan_lib.arithmetic import concept_picks
from dcgan_lib.export import fold_batchnorm

widget = load_tool("generator_widget")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The widget's export of every generator it runs (ONNX and a JSON each), written once."""
    target = tmp_path_factory.mktemp("widget_models")
    widget.export_models(target)
    return target


def generator_with_statistics(seed: int = 0) -> Generator:
    """A small G whose BatchNorm layers have non-trivial weights and running statistics."""
    torch.manual_seed(seed)
    generator = Generator(nz=16, ngf=8, image_size=16, nc=3)
    with torch.no_grad():
        for module in generator.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.3, 0.3)
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.2, 2.0)
    return generator.eval()


@pytest.mark.parametrize("name", widget.GENERATORS)
def test_folding_batchnorm_keeps_the_shipped_generators_images(name):
    generator = load_generator(pretrained_path(name))
    noise = torch.Generator().manual_seed(0)
    z = sample_z(32, generator.nz, generator=noise, categories=generator.categories)
    with torch.no_grad():
        difference = (fold_batchnorm(generator)(z) - generator(z)).abs().max().item()
    assert difference < 1e-5


def test_folding_uses_the_running_statistics_not_the_batch():
    generator = generator_with_statistics()
    folded = fold_batchnorm(generator)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    z = torch.randn(5, 16)
    with torch.no_grad():
        assert torch.allclose(folded(z), generator(z), atol=1e-5)
        assert torch.allclose(folded(z[:1]), generator(z[:1]), atol=1e-5)  # batch of one
    assert generator.blocks[0][1].running_var.min() >= 0.2  # the original is untouched


@pytest.mark.parametrize("name", widget.GENERATORS)
def test_onnxruntime_gives_the_images_torch_gives(exported, name):
    generator = load_generator(pretrained_path(name))
    path = exported / f"{name}.onnx"  # export_generator_onnx's file
    graph = onnx.load(path).graph
    assert "BatchNormalization" not in {node.op_type for node in graph.node}
    session = onnxruntime.InferenceSession(str(path))
    for n in (1, 7):  # any batch size
        noise = torch.Generator().manual_seed(n)
        z = sample_z(n, generator.nz, generator=noise, categories=generator.categories)
        (images,) = session.run(None, {"z": z.numpy()})
        with torch.no_grad():
            expected = generator(z).numpy()
        assert images.shape == expected.shape
        assert np.abs(images - expected).max() < 1e-4


def test_concept_picks_are_reproducible_and_skip_rare_concepts():
    z = torch.randn(10, 4, generator=torch.Generator().manual_seed(0))
    labels = {"colour": torch.tensor([0, 0, 0, 1, 1, 1, 1, 2, -1, 0]),
              "shape": torch.tensor([0, 0, 0, 0, 0, 0, 0, 1, 1, 0])}  # fmt: skip
    concepts = {"a": {"colour": 0, "shape": 0}, "b": {"colour": 1}, "rare": {"colour": 2}}
    picks = concept_picks(z, labels, concepts, k=3, seed=5)
    assert list(picks) == ["a", "b"] and picks["a"].shape == (3, 4)
    assert all(labels["colour"][(z == row).all(1)].item() == 1 for row in picks["b"])
    again = concept_picks(z, labels, concepts, k=3, seed=5)
    assert all(torch.equal(picks[name], again[name]) for name in picks)


def test_the_widget_reads_chapter_9s_concept_vectors():
    """Chapter 9's generator has a categorical code: a concept vector is the mean of whole
    inputs, 100 noise values and the one-hot codes of 12 categories."""
    concepts = widget.concept_vectors()
    assert concepts["example"] == ["red square", "red circle", "blue circle"]
    assert set(concepts["example"]) <= set(concepts["vectors"])
    assert all(len(vector) == 112 for vector in concepts["vectors"].values())
    codes = torch.tensor([vector[100:] for vector in concepts["vectors"].values()])
    assert codes.min() >= 0 and torch.allclose(codes.sum(1), torch.ones(len(codes)))


def test_the_widget_is_told_each_generators_code(exported):
    for name in widget.GENERATORS:
        meta = json.loads((exported / f"{name}.json").read_text())
        generator = load_generator(pretrained_path(name))
        assert (meta["nz"], meta["categories"]) == (generator.nz, generator.categories)
    assert json.loads((exported / "shapes-32-code.json").read_text())["categories"] == 12


def test_a_generator_no_longer_shipped_leaves_the_widget_folder(tmp_path):
    """A build over an earlier one: the models of generators the widget no longer runs go (the
    intro page's digits were mnist5k-32 until 2026-11-28); other files stay."""
    stale = tmp_path / "old-digits.onnx"
    stale.write_bytes(b"onnx")
    stale.with_suffix(".json").write_text("{}")
    (tmp_path / "keep.txt").write_text("not a model")
    widget.export_models(tmp_path)
    assert sorted(p.stem for p in tmp_path.glob("*.onnx")) == sorted(widget.GENERATORS)
    assert not stale.with_suffix(".json").exists() and (tmp_path / "keep.txt").exists()
