"""Tests for dcgan_lib.features: guided backprop and dropped G channels."""

import pytest
import torch

from dcgan_lib.features import (
    channel_correlations,
    generate_with_dropped_channels,
    guided_backprop,
    guided_relus,
    mask_correlations,
    object_fraction,
    strongest_channels,
)
from dcgan_lib.models import Discriminator, Generator


def test_guided_backprop_returns_an_input_shaped_map(tiny_d, images):
    gradient = guided_backprop(tiny_d, images, block=1, channel=2)
    assert gradient.shape == images.shape
    assert torch.isfinite(gradient).all() and gradient.abs().sum() > 0


def test_guided_backprop_differs_from_the_plain_gradient(tiny_d, images):
    guided = guided_backprop(tiny_d, images, block=1, channel=0)
    plain = guided_backprop(tiny_d, images, block=1, channel=0, guided=False)
    assert not torch.allclose(guided, plain)


def test_guided_gradient_of_a_first_block_unit_is_the_positive_filter_part(images):
    # one conv then LeakyReLU: d(unit)/d(input) is the filter; guided keeps the same (the only
    # gradient flowing in is +1), so guided equals plain when the strongest unit is active
    torch.manual_seed(0)
    model = Discriminator(nc=1, ndf=4, image_size=16)
    guided = guided_backprop(model, images, block=0, channel=1)
    plain = guided_backprop(model, images, block=0, channel=1, guided=False)
    assert torch.allclose(guided, plain)


def test_guided_backprop_leaves_the_model_unchanged(tiny_d, images):
    tiny_d.train()
    tiny_d.eval()
    before = tiny_d(images)
    state = {k: v.clone() for k, v in tiny_d.state_dict().items()}
    tiny_d.train()
    guided_backprop(tiny_d, images, block=-1, channel=0)
    assert tiny_d.training
    tiny_d.eval()
    assert torch.equal(tiny_d(images), before)
    assert all(torch.equal(state[k], v) for k, v in tiny_d.state_dict().items())
    assert all(not m._forward_hooks for m in tiny_d.modules())


def test_guided_relus_keeps_forward_outputs(tiny_d, images):
    tiny_d.eval()
    before = tiny_d(images)
    with guided_relus(tiny_d):
        assert torch.allclose(tiny_d(images), before)


def test_guided_backprop_rejects_bad_block_and_channel(tiny_d, images):
    with pytest.raises(ValueError, match="block must index"):
        guided_backprop(tiny_d, images, block=5, channel=0)
    with pytest.raises(ValueError, match="channel must be in 0..3"):
        guided_backprop(tiny_d, images, block=0, channel=4)
    with pytest.raises(ValueError, match="shape"):
        guided_backprop(tiny_d, images[0], block=0, channel=0)


def test_strongest_channels_ranks_by_mean_activation(tiny_d, images):
    top = strongest_channels(tiny_d, images, block=1, k=3)
    assert top.shape == (3,) and len(set(top.tolist())) == 3


@pytest.fixture
def tiny_g():
    torch.manual_seed(0)
    return Generator(nz=8, ngf=4, image_size=16, nc=3).eval()


def test_dropping_no_channels_gives_the_plain_output(tiny_g):
    z = torch.randn(4, 8)
    with torch.no_grad():
        plain = tiny_g(z)
    assert torch.equal(generate_with_dropped_channels(tiny_g, z, block=1, channels=[]), plain)
    assert not torch.equal(
        generate_with_dropped_channels(tiny_g, z, block=1, channels=[0, 2]), plain
    )
    # the hook is gone afterwards
    with torch.no_grad():
        assert torch.equal(tiny_g(z), plain)


def test_dropping_every_channel_of_a_block_makes_the_output_independent_of_z(tiny_g):
    z = torch.randn(4, 8)
    count = tiny_g.blocks[1][0].out_channels
    images = generate_with_dropped_channels(tiny_g, z, block=1, channels=range(count))
    assert torch.allclose(images, images[:1].expand_as(images))


def test_dropping_channels_rejects_bad_arguments(tiny_g):
    z = torch.randn(2, 8)
    with pytest.raises(ValueError, match="output layer"):
        generate_with_dropped_channels(tiny_g, z, block=-1, channels=[0])
    with pytest.raises(ValueError, match="channels must be in"):
        generate_with_dropped_channels(tiny_g, z, block=0, channels=[99])
    with pytest.raises(ValueError, match="repeat"):
        generate_with_dropped_channels(tiny_g, z, block=0, channels=[1, 1])


def test_channel_correlations_find_the_channel_that_tracks_the_target():
    target = torch.arange(10.0)
    activations = torch.randn(10, 3, 2, 2, generator=torch.Generator().manual_seed(0))
    activations[:, 1] = target[:, None, None] * 2 + 1
    activations[:, 2] = 5.0  # constant: correlation defined as 0
    correlations = channel_correlations(activations, target)
    assert correlations[1] == pytest.approx(1.0)
    assert correlations[2] == 0
    with pytest.raises(ValueError):
        channel_correlations(activations, target[:5])


def test_mask_correlations_score_the_channel_that_fires_on_the_object():
    masks = torch.zeros(4, 8, 8)
    masks[0, :4, :4] = masks[1, 4:, 4:] = masks[2, :4, 4:] = masks[3, 4:, :4] = 1
    small = torch.nn.functional.avg_pool2d(masks[:, None], 2)  # (4, 1, 4, 4)
    activations = torch.cat([small, 1 - small, torch.rand(4, 1, 4, 4)], dim=1)
    correlations = mask_correlations(activations, masks)
    assert correlations[0] == pytest.approx(1.0) and correlations[1] == pytest.approx(-1.0)
    assert abs(correlations[2]) < 0.5
    with pytest.raises(ValueError, match="masks"):
        mask_correlations(activations, masks[0])


def test_object_fraction_counts_bright_pixels():
    images = -torch.ones(2, 3, 4, 4)
    images[1, 0, :2] = 1  # half the pixels lit in one channel
    assert object_fraction(images).tolist() == [0.0, 0.5]
