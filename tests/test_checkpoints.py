"""Every loader of a .pt file refuses a bad one with a CheckpointError that names the fix."""

import pytest
import torch

from dcgan_lib import CheckpointError, CourseError, load_generator, pretrained_path
from dcgan_lib.checkpoints import read_state, restore_module
from dcgan_lib.metrics import load_mnist_classifier
from dcgan_lib.models import Generator
from dcgan_lib.shapes_classifier import (
    FactorClassifier,
    load_factor_classifier,
    save_factor_classifier,
)

CORRUPT = {"garbled": b"not a torch file at all", "empty": b""}


@pytest.mark.parametrize("content", CORRUPT.values(), ids=CORRUPT.keys())
def test_a_corrupt_mnist_classifier_names_the_script_that_remakes_it(tmp_path, content):
    path = tmp_path / "mnist_classifier.pt"
    path.write_bytes(content)
    with pytest.raises(
        CheckpointError, match="not a readable MNIST classifier file.*train_mnist_classifier.py"
    ):
        load_mnist_classifier(path)


def test_a_truncated_factor_classifier_names_the_script_that_remakes_it(tmp_path):
    path = save_factor_classifier(FactorClassifier(width=4), tmp_path / "c.pt", {"shape": 0.5})
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(
        CheckpointError, match="not a readable factor classifier.*train_factor_classifier.py"
    ):
        load_factor_classifier(path)


def test_a_foreign_file_is_not_taken_for_a_classifier(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, path)
    with pytest.raises(
        CheckpointError,
        match=r"not a factor classifier .*missing or unexpected: format \(should be 1\)",
    ):
        load_factor_classifier(path)
    with pytest.raises(
        CheckpointError, match="missing or unexpected: model.*train_mnist_classifier.py"
    ):
        load_mnist_classifier(path)


def test_weights_of_another_model_are_refused_naming_the_fix(tmp_path):
    path = tmp_path / "mnist_classifier.pt"
    torch.save({"model": Generator(ngf=8, image_size=16, nc=1).state_dict()}, path)
    with pytest.raises(
        CheckpointError, match="does not hold the weights of this MNIST classifier"
    ):
        load_mnist_classifier(path)


def test_a_checkpoint_whose_generator_has_the_wrong_shape_is_refused(tmp_path):
    state = torch.load(pretrained_path("mnist5k-32"), weights_only=True)
    state["generator"] = Generator(ngf=8, image_size=32, nc=1).state_dict()
    path = tmp_path / "bad.pt"
    torch.save(state, path)
    with pytest.raises(
        CheckpointError, match="does not hold the weights of this generator.*export"
    ):
        load_generator(path)


def test_read_state_checks_required_values_and_restore_module_loads():
    assert issubclass(CheckpointError, CourseError)  # the command line prints it as one line
    model = Generator(ngf=8, image_size=16, nc=1)
    copy = restore_module(
        Generator(ngf=8, image_size=16, nc=1), model.state_dict(), "memory", "generator", "fix"
    )
    assert all(
        torch.equal(a, b) for a, b in zip(model.state_dict().values(), copy.state_dict().values())
    )


def test_read_state_refuses_a_wrong_format_number(tmp_path):
    path = tmp_path / "old.pt"
    torch.save({"format": 0, "config": {}}, path)
    with pytest.raises(
        CheckpointError, match=r"missing or unexpected: format \(should be 1\)\); remake it"
    ):
        read_state(path, "thing", "remake it", required={"format": 1, "config": None})
    assert read_state(path, "thing", "remake it", required={"format": 0})["config"] == {}
