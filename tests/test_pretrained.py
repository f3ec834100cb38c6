"""The pretrained checkpoints shipped in data/checkpoints/: they load, generate, and beat an
untrained G of the same architecture on the scores of tools/score_checkpoints.py (which prints
the numbers data/README.md records)."""

from __future__ import annotations

import pytest
import torch

from conftest import load_tool
from dcgan_lib import load_discriminator, pretrained_path

score = load_tool("score_checkpoints")
CHECKPOINTS = {
    "mnist5k-32": {"nc": 1, "image_size": 32, "dataset": "mnist5k"},
    "shapes-32": {"nc": 3, "image_size": 32, "dataset": "synthetic-shapes"},
}
MAX_FILE_BYTES = 3_000_000


# ----------------------------------------------------------------------------- tests


@pytest.mark.parametrize("name", CHECKPOINTS)
def test_checkpoint_is_small_and_loads_with_weights_only(name):
    path = pretrained_path(name)
    assert path.stat().st_size < MAX_FILE_BYTES
    state = torch.load(path, map_location="cpu", weights_only=True)
    expected = CHECKPOINTS[name]
    assert state["nc"] == expected["nc"]
    assert state["config"]["dataset"] == expected["dataset"]
    assert state["config"]["image_size"] == expected["image_size"]
    assert all(len(values) == state["step"] for values in state["history"].values())


@pytest.mark.parametrize("name", CHECKPOINTS)
def test_generator_makes_varied_images_in_tanh_range(name):
    images = score.generate(name, 16)
    expected = CHECKPOINTS[name]
    assert images.shape == (16, expected["nc"], expected["image_size"], expected["image_size"])
    assert images.dtype == torch.float32
    assert images.min() >= -1 and images.max() <= 1
    assert images.std(dim=0).mean() > 0.1  # different z, different images


@pytest.mark.parametrize("name", CHECKPOINTS)
def test_discriminator_returns_one_finite_logit_per_image(name):
    discriminator = load_discriminator(pretrained_path(name))
    with torch.no_grad():
        logits = discriminator(score.generate(name, 8))
    assert logits.shape == (8,) and torch.isfinite(logits).all()


def test_mnist_generator_beats_an_untrained_one_on_fid_and_classifier():
    scores = score.mnist_scores()
    trained, untrained = scores["trained"], scores["untrained"]
    assert trained["fid"] < 0.2 * untrained["fid"]
    assert trained["kid"] < 0.2 * untrained["kid"]
    assert trained["confident_share"] > untrained["confident_share"] + 0.3
    assert trained["class_entropy"] > 2.0  # log 10 = 2.30 when every digit is equally common


def test_shapes_generator_draws_clean_shapes_in_every_colour():
    scores = score.shapes_scores()
    assert scores["real"] == 1.0  # the measure accepts every real image
    assert scores["untrained"] < 0.05
    assert scores["trained"] > 0.15
    assert (
        scores["least_common_colour_share"] > 0.1
    )  # all four colours, none rare (0.25 each in the data)
