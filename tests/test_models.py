import pytest
import torch
from torch import nn

from dcgan_lib.models import SUPPORTED_SIZES, Discriminator, Generator, count_parameters


def test_generator_reproduces_paper_figure_1_shapes():
    generator = Generator(nz=100, ngf=128, image_size=64, nc=3)
    maps = generator.feature_maps(torch.randn(2, 100))
    assert [tuple(m.shape[1:]) for m in maps] == [
        (1024, 4, 4),
        (512, 8, 8),
        (256, 16, 16),
        (128, 32, 32),
        (3, 64, 64),
    ]


def test_generator_accepts_flat_and_4d_noise():
    generator = Generator(nz=10, ngf=8, image_size=16, nc=1).eval()
    z = torch.randn(3, 10)
    assert torch.equal(generator(z), generator(z.view(3, 10, 1, 1)))


def test_generator_output_is_in_tanh_range():
    generator = Generator(nz=100, ngf=16, image_size=32, nc=3)
    with torch.no_grad():  # huge output weights drive the pre-activation far past +-1
        generator.blocks[-1][0].weight.mul_(1000)
    images = generator(torch.randn(8, 100))
    assert images.min() >= -1 and images.max() <= 1
    assert images.min() < -0.99 and images.max() > 0.99


def test_discriminator_returns_one_logit_per_image():
    discriminator = Discriminator(nc=3, ndf=16, image_size=64)
    logits = discriminator(torch.randn(5, 3, 64, 64))
    assert logits.shape == (5,)
    assert not isinstance(list(discriminator.modules())[-1], nn.Sigmoid)


def test_discriminator_rejects_wrong_image_shape_with_fix():
    discriminator = Discriminator(nc=1, ndf=8, image_size=32)
    with pytest.raises(ValueError, match=r"expects images of shape \(N, 1, 32, 32\).*resize"):
        discriminator(torch.randn(2, 1, 28, 28))


def test_batchnorm_everywhere_except_g_output_and_d_input():
    generator, discriminator = Generator(ngf=8, image_size=32), Discriminator(ndf=8, image_size=32)
    g_has_bn = [any(isinstance(m, nn.BatchNorm2d) for m in block) for block in generator.blocks]
    d_has_bn = [
        any(isinstance(m, nn.BatchNorm2d) for m in block) for block in discriminator.blocks
    ]
    assert g_has_bn == [True, True, True, False]
    assert d_has_bn == [False, True, True]
    assert isinstance(generator.blocks[-1][-1], nn.Tanh)
    assert all(
        isinstance(block[-1], nn.LeakyReLU) and block[-1].negative_slope == 0.2
        for block in discriminator.blocks
    )
    assert not any(
        isinstance(m, (nn.Linear, nn.MaxPool2d, nn.AvgPool2d))
        for m in list(generator.modules()) + list(discriminator.modules())
    )


def test_init_statistics_follow_paper_section_4():
    torch.manual_seed(0)
    generator = Generator(nz=100, ngf=64, image_size=64, nc=3)
    conv_weights = torch.cat(
        [m.weight.flatten() for m in generator.modules() if isinstance(m, nn.ConvTranspose2d)]
    )
    gammas = torch.cat([m.weight for m in generator.modules() if isinstance(m, nn.BatchNorm2d)])
    betas = torch.cat([m.bias for m in generator.modules() if isinstance(m, nn.BatchNorm2d)])
    assert abs(conv_weights.mean().item()) < 1e-3
    assert conv_weights.std().item() == pytest.approx(0.02, rel=0.02)
    assert gammas.mean().item() == pytest.approx(1.0, abs=0.01)
    assert gammas.std().item() == pytest.approx(0.02, rel=0.2)
    assert torch.count_nonzero(betas) == 0


@pytest.mark.parametrize("image_size", SUPPORTED_SIZES)
@pytest.mark.parametrize("nc", [1, 3])
def test_every_supported_size_round_trips(image_size, nc):
    generator = Generator(nz=8, ngf=4, image_size=image_size, nc=nc)
    discriminator = Discriminator(nc=nc, ndf=4, image_size=image_size)
    images = generator(torch.randn(2, 8))
    assert images.shape == (2, nc, image_size, image_size)
    assert discriminator(images).shape == (2,)


@pytest.mark.parametrize("bad_size", [8, 24, 48, 100, 256, 0, -32])
def test_bad_sizes_raise_with_fix(bad_size):
    with pytest.raises(ValueError, match="power of two between 16 and 128"):
        Generator(image_size=bad_size)
    with pytest.raises(ValueError, match="power of two between 16 and 128"):
        Discriminator(image_size=bad_size)


def test_parameter_count_of_figure_1_generator():
    # convT weights (no bias where BN follows) + BN gamma/beta + output convT weight and bias
    expected = (
        (100 * 1024 * 16 + 2 * 1024)
        + (1024 * 512 * 16 + 2 * 512)
        + (512 * 256 * 16 + 2 * 256)
        + (256 * 128 * 16 + 2 * 128)
        + (128 * 3 * 16 + 3)
    )
    assert count_parameters(Generator(nz=100, ngf=128, image_size=64, nc=3)) == expected


def test_no_batchnorm_variant_has_biases_and_no_bn():
    generator = Generator(ngf=8, image_size=16, batch_norm=False)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in generator.modules())
    assert all(
        m.bias is not None for m in generator.modules() if isinstance(m, nn.ConvTranspose2d)
    )


@pytest.mark.parametrize(
    "place, in_g, in_d",
    [("both", True, True), ("G", True, False), ("D", False, True), ("none", False, False),
     (True, True, True), (False, False, False)],
)  # fmt: skip
def test_batch_norm_goes_where_the_config_says(place, in_g, in_d):
    from dcgan_lib import TrainConfig, build_models

    config = TrainConfig(image_size=16, ngf=8, ndf=8, batch_norm=place)
    assert config.batch_norm in ("both", "G", "D", "none")  # True/False read as both/none
    generator, discriminator = build_models(config, 1)
    has_bn = [any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
              for net in (generator, discriminator)]  # fmt: skip
    assert has_bn == [in_g, in_d]


def test_an_unknown_batch_norm_place_is_refused_naming_the_choices():
    from dcgan_lib import ConfigError, TrainConfig

    with pytest.raises(ConfigError, match=r"batch_norm \(--batch-norm\) must be one of both, G"):
        TrainConfig(batch_norm="g")


def _largest_singular_value(conv: nn.Conv2d) -> float:
    return torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2).item()


def test_spectral_norm_holds_every_conv_of_d_near_1_and_leaves_g_alone():
    from dcgan_lib import TrainConfig, build_models

    torch.manual_seed(0)
    config = TrainConfig(image_size=16, ngf=8, ndf=8, spectral_norm=True, batch_norm="G")
    generator, discriminator = build_models(config, 1)
    convs = [m for m in discriminator.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 3  # two downsampling convs and the head
    assert all(nn.utils.parametrize.is_parametrized(conv, "weight") for conv in convs)
    assert not any(nn.utils.parametrize.is_parametrized(m) for m in generator.modules())
    for _ in range(50):  # each training-mode forward takes one power-iteration step
        discriminator(torch.randn(4, 1, 16, 16))
    assert all(abs(_largest_singular_value(conv) - 1) < 0.05 for conv in convs)


def test_without_spectral_norm_d_is_the_papers():
    torch.manual_seed(0)
    discriminator = Discriminator(nc=1, ndf=8, image_size=16)
    assert not any(nn.utils.parametrize.is_parametrized(m) for m in discriminator.modules())
    torch.manual_seed(0)
    normalised = Discriminator(nc=1, ndf=8, image_size=16, spectral_norm=True).eval()
    head = normalised.head.parametrizations.weight.original
    assert torch.equal(head, discriminator.head.weight)  # same init, then divided by sigma


def test_draw_samples_is_sample_z_then_g_in_batches():
    """draw_samples(G, n, seed): sample_z's z from that seed (with the code, for a G with one)
    and G's images of them, the same in batches as in one pass."""
    from dcgan_lib import draw_samples, sample_z

    torch.manual_seed(0)
    generator = Generator(nz=8, ngf=4, image_size=16, nc=1, categories=3).eval()
    z, images = draw_samples(generator, 10, seed=5, batch_size=4)
    expected = sample_z(10, 8, generator=torch.Generator().manual_seed(5), categories=3)
    assert torch.equal(z, expected) and not images.requires_grad
    with torch.no_grad():
        assert torch.allclose(images, generator(expected), atol=1e-6)
