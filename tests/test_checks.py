"""The self-checks pass right student code and fail wrong code with a hint."""

from __future__ import annotations

import contextlib

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dcgan_lib import Discriminator, Generator, init_weights
from dcgan_lib.checks import (
    CheckFailed,
    CheckReport,
    check_d_loss,
    check_discriminator,
    check_g_loss,
    check_generator,
    check_output_size,
    exercise,
    require_written,
    torch_output_size,
)


def tiny_generator(**kwargs) -> Generator:
    return Generator(nz=16, ngf=8, image_size=16, nc=1, **kwargs)


def tiny_discriminator(**kwargs) -> Discriminator:
    return Discriminator(nc=1, ndf=8, image_size=16, **kwargs)


class StudentGenerator(nn.Module):
    """The pytorch/examples style: one Sequential that takes z as (N, nz, 1, 1) only."""

    def __init__(self, nz: int = 16, ngf: int = 8, nc: int = 1, output=nn.Tanh):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 2, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
            output(),
        )
        self.apply(init_weights)

    def forward(self, z):
        if z.dim() != 4:
            raise ValueError("expected (N, nz, 1, 1)")
        return self.main(z)


def test_right_generator_passes_with_a_report():
    report = check_generator(tiny_generator())
    assert isinstance(report, CheckReport) and len(report.passed) >= 5
    assert "all" in repr(report) and "(4, 1, 16, 16)" in repr(report)


def test_generator_class_built_with_no_arguments_is_accepted():
    report = check_generator(StudentGenerator, nz=16, image_size=16, nc=1)
    assert "(N, nz, 1, 1)" in report.passed[0]


def test_generator_missing_tanh_fails_with_a_tanh_hint():
    generator = tiny_generator()
    generator.blocks[-1][1] = nn.Identity()
    with pytest.raises(CheckFailed, match="Tanh"):
        check_generator(generator)


def test_generator_ending_in_sigmoid_fails_with_range_hint():
    with pytest.raises(CheckFailed, match=r"\[0, 1\]"):
        check_generator(StudentGenerator(output=nn.Sigmoid), nz=16, image_size=16, nc=1)


def test_generator_of_the_wrong_size_fails_with_shape_and_hint():
    with pytest.raises(CheckFailed, match=r"expected \(4, 1, 32, 32\)") as failure:
        check_generator(tiny_generator(), image_size=32)
    assert "ConvTranspose2d" in failure.value.hint


def test_generator_with_wrong_nz_fails_explaining_the_first_layer():
    with pytest.raises(CheckFailed, match="nz"):
        check_generator(StudentGenerator(nz=16), nz=100, image_size=16, nc=1)


def test_generator_with_batch_norm_on_the_output_layer_fails():
    generator = StudentGenerator()
    generator.main = nn.Sequential(*generator.main[:-1], nn.BatchNorm2d(1), nn.Tanh())
    with pytest.raises(CheckFailed, match="BatchNorm"):
        check_generator(generator, nz=16, image_size=16, nc=1)


def test_generator_with_default_pytorch_init_fails_pointing_at_init_weights():
    generator = tiny_generator()
    for module in generator.modules():
        if isinstance(module, nn.ConvTranspose2d):
            module.reset_parameters()
    with pytest.raises(CheckFailed, match="std") as failure:
        check_generator(generator)
    assert "init_weights" in failure.value.hint


def test_generator_that_detaches_inside_forward_fails():
    generator = tiny_generator()
    generator.blocks[0].register_forward_hook(lambda module, inputs, output: output.detach())
    with pytest.raises(CheckFailed, match="no gradient"):
        check_generator(generator)


def test_checks_leave_model_mode_statistics_and_random_state_untouched():
    generator = tiny_generator().eval()
    before = {k: v.clone() for k, v in generator.state_dict().items()}
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    check_generator(generator)
    assert torch.equal(torch.rand(3), expected_next)
    assert not generator.training
    assert all(torch.equal(before[k], v) for k, v in generator.state_dict().items())


def test_right_discriminator_passes():
    report = check_discriminator(tiny_discriminator())
    assert "raw logits of shape (4,)" in repr(report) and not report.notes


def test_discriminator_with_sigmoid_fails_pointing_at_bce_with_logits():
    with_sigmoid = nn.Sequential(tiny_discriminator(), nn.Sigmoid())
    with pytest.raises(CheckFailed, match="Sigmoid") as failure:
        check_discriminator(with_sigmoid, image_size=16, nc=1)
    assert "binary_cross_entropy_with_logits" in failure.value.hint


def test_discriminator_returning_n_1_1_1_fails_with_flatten_hint():
    class Unflattened(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = tiny_discriminator()

        def forward(self, images):
            return self.inner(images).view(-1, 1, 1, 1)

    with pytest.raises(CheckFailed, match=r"\(4, 1, 1, 1\)") as failure:
        check_discriminator(Unflattened(), image_size=16, nc=1)
    assert "view(-1)" in failure.value.hint


def test_discriminator_with_relu_fails_naming_leaky_relu():
    discriminator = tiny_discriminator(leaky_slope=0.0)
    for block in discriminator.blocks:
        block[-1] = nn.ReLU()
    with pytest.raises(CheckFailed, match=r"layer 1 of D uses ReLU \(Conv2d -> ReLU\)") as failure:
        check_discriminator(discriminator)
    assert "nn.LeakyReLU(0.2, True)" in failure.value.hint


def test_discriminator_with_pytorchs_default_slope_fails():
    discriminator = tiny_discriminator()
    for block in discriminator.blocks:
        block[-1] = nn.LeakyReLU()  # slope 0.01
    with pytest.raises(CheckFailed, match=r"slope 0.01 \(PyTorch's default\)"):
        check_discriminator(discriminator)


class FunctionalDiscriminator(nn.Module):
    """D written with F.leaky_relu and a BatchNorm where the paper has none, if asked."""

    def __init__(self, first_norm: bool = False, slope: float = 0.2):
        super().__init__()
        self.slope = slope
        self.convs = nn.ModuleList(
            [nn.Conv2d(1, 8, 4, 2, 1), nn.Conv2d(8, 16, 4, 2, 1), nn.Conv2d(16, 1, 4, 1, 0)]
        )
        self.norms = nn.ModuleList([nn.BatchNorm2d(8) if first_norm else nn.Identity()])
        self.norms.append(nn.BatchNorm2d(16))
        self.apply(init_weights)

    def forward(self, x):
        x = self.convs[0](x)
        x = F.leaky_relu(self.norms[0](x), self.slope)
        x = F.leaky_relu(self.norms[1](self.convs[1](x)), negative_slope=self.slope)
        return self.convs[2](x).view(-1)


def test_discriminator_layers_are_read_from_functional_calls_too():
    assert "LeakyReLU(0.2) first" in repr(check_discriminator(FunctionalDiscriminator(), 16, 1))
    with pytest.raises(CheckFailed, match=r"first layer has a BatchNorm"):
        check_discriminator(FunctionalDiscriminator(first_norm=True), 16, 1)
    with pytest.raises(CheckFailed, match=r"slope 0.1\n"):
        check_discriminator(FunctionalDiscriminator(slope=0.1), 16, 1)


def test_discriminator_with_too_many_halvings_fails_with_the_count():
    extra = tiny_discriminator()
    extra.blocks.insert(1, nn.Sequential(nn.Conv2d(8, 8, 4, 2, 1), nn.LeakyReLU(0.2)))
    with pytest.raises(
        CheckFailed, match=r"D fails on images of shape \(4, 1, 16, 16\)"
    ) as failure:
        check_discriminator(extra)
    assert "log2(16/4)" in failure.value.hint


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ("leaky", r"layer 1 of G uses LeakyReLU"),
        ("no_norm", r"layer 1 of G has no BatchNorm"),
        ("relu_first", r"layer 1 of G is ConvTranspose2d -> ReLU -> BatchNorm\n"),
    ],
)
def test_generator_layers_follow_the_paper(change, problem):
    generator = StudentGenerator()
    layers = list(generator.main)
    if change == "leaky":
        layers[2] = nn.LeakyReLU(0.2, True)
    elif change == "no_norm":
        layers[1] = nn.Identity()
    else:
        layers[1], layers[2] = layers[2], layers[1]
    generator.main = nn.Sequential(*layers)
    with pytest.raises(CheckFailed, match=problem):
        check_generator(generator, nz=16, image_size=16, nc=1)


class Blank(nn.Module):
    """An exercise cell as the student version hands it out."""

    def __init__(self):
        super().__init__()
        raise NotImplementedError()


class BlankForward(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 4)

    def forward(self, x):
        raise NotImplementedError()


def _blank_loss(real_logits, fake_logits):
    raise NotImplementedError()


@pytest.mark.parametrize(
    ("check", "student", "what"),
    [
        (check_generator, Blank, "Blank"),
        (check_discriminator, Blank, "Blank"),
        (check_generator, BlankForward, "G's forward"),
        (check_discriminator, BlankForward, "D's forward"),
        (check_d_loss, _blank_loss, "_blank_loss"),
    ],
)
def test_a_blank_exercise_is_reported_as_not_written_yet(check, student, what):
    with pytest.raises(CheckFailed, match=f"{what} is not written yet") as failure:
        check(student)
    assert "raise NotImplementedError()" in failure.value.hint


def test_jupyter_shows_a_failed_check_as_its_message_without_a_traceback():
    failure = CheckFailed("check_generator", "no Tanh", "end G with nn.Tanh()")
    assert failure._render_traceback_() == [
        "CheckFailed: check_generator: no Tanh\nHint: end G with nn.Tanh()"
    ]


def test_discriminator_that_detaches_its_input_fails():
    class Detaching(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = tiny_discriminator()

        def forward(self, images):
            return self.inner(images.detach())

    with pytest.raises(CheckFailed, match="input images"):
        check_discriminator(Detaching(), image_size=16, nc=1)


def test_right_d_loss_passes():
    def d_loss(real_logits, fake_logits):
        return F.binary_cross_entropy_with_logits(
            real_logits, torch.ones_like(real_logits)
        ) + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))

    assert len(check_d_loss(d_loss).passed) == 3


def test_d_loss_with_swapped_labels_fails():
    def swapped(real_logits, fake_logits):
        return F.binary_cross_entropy_with_logits(
            real_logits, torch.zeros_like(real_logits)
        ) + F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))

    with pytest.raises(CheckFailed, match="swapped"):
        check_d_loss(swapped)


def test_d_loss_from_sigmoid_and_log_fails_as_unstable():
    def naive(real_logits, fake_logits):
        return -(
            torch.log(torch.sigmoid(real_logits)).mean()
            + torch.log(1 - torch.sigmoid(fake_logits)).mean()
        )

    with pytest.raises(CheckFailed, match="inf/nan"):
        check_d_loss(naive)


def test_d_loss_averaging_the_two_terms_passes_with_a_note():
    def halved(real_logits, fake_logits):
        return 0.5 * (
            F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
            + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
        )

    assert check_d_loss(halved).notes


def test_d_loss_returning_a_float_fails_with_scalar_hint():
    def as_float(real_logits, fake_logits):
        return F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits)).item()

    with pytest.raises(CheckFailed, match="scalar tensor"):
        check_d_loss(as_float)


def test_non_saturating_g_loss_passes():
    def g_loss(fake_logits):
        return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))

    assert len(check_g_loss(g_loss).passed) == 3


def test_saturating_g_loss_fails_naming_the_minimax_form():
    def saturating(fake_logits):
        return -F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))

    with pytest.raises(CheckFailed, match="saturating") as failure:
        check_g_loss(saturating)
    assert "-log D(G(z))" in failure.value.hint


def test_g_loss_from_sigmoid_and_log_fails_as_unstable():
    def naive(fake_logits):
        return -torch.log(torch.sigmoid(fake_logits)).mean()

    with pytest.raises(CheckFailed, match="inf/nan"):
        check_g_loss(naive)


def test_right_output_size_formulas_pass():
    assert check_output_size(lambda n, k, s, p: (n + 2 * p - k) // s + 1).passed
    assert check_output_size(lambda n, k, s, p: (n - 1) * s - 2 * p + k, transposed=True).passed


def test_output_size_with_true_division_fails_with_floor_hint():
    with pytest.raises(CheckFailed, match="in=5") as failure:
        check_output_size(lambda n, k, s, p: (n + 2 * p - k) / s + 1)
    assert "//" in failure.value.hint


def test_transposed_size_with_the_conv_formula_fails():
    with pytest.raises(CheckFailed, match="ConvTranspose2d"):
        check_output_size(lambda n, k, s, p: (n + 2 * p - k) // s + 1, transposed=True)


def test_check_failed_is_an_assertion_error_with_the_hint_in_the_message():
    failure = CheckFailed("check_x", "the problem", "the fix")
    assert isinstance(failure, AssertionError)
    assert str(failure) == "check_x: the problem\nHint: the fix"


def test_d_loss_from_sigmoid_and_bce_loss_fails_as_clamped():
    def sigmoid_then_bce(real_logits, fake_logits):
        return F.binary_cross_entropy(
            torch.sigmoid(real_logits), torch.ones_like(real_logits)
        ) + F.binary_cross_entropy(torch.sigmoid(fake_logits), torch.zeros_like(fake_logits))

    with pytest.raises(CheckFailed, match=r"\+-200") as failure:
        check_d_loss(sigmoid_then_bce)
    assert "BCELoss" in failure.value.hint


def test_g_loss_from_sigmoid_and_bce_loss_fails_as_clamped():
    def sigmoid_then_bce(fake_logits):
        return F.binary_cross_entropy(torch.sigmoid(fake_logits), torch.ones_like(fake_logits))

    with pytest.raises(CheckFailed, match="gradient vanishes"):
        check_g_loss(sigmoid_then_bce)


def test_torch_output_size_measures_conv_and_transposed_conv_layers():
    assert torch_output_size(64, 4, 2, 1) == 32 and torch_output_size(33, 4, 2, 1) == 16
    assert torch_output_size(32, 4, 2, 1, transposed=True) == 64
    assert torch_output_size(16, 3, 2, 1, transposed=True) == 31
    assert torch_output_size(16, 3, 2, 1, transposed=True, output_padding=1) == 32


# ----------------------------------------------------------------------- the feature extractor


def _pooled(D, images, order=1, pool=F.adaptive_max_pool2d, blocks=slice(None)):
    maps = [pool(m, 4).flatten(1) for m in D.feature_maps(images)][blocks]
    return torch.cat(maps[::order], dim=1)


def _extractor(eval_mode=True, restore=True, no_grad=True, standardise=False, **pooling):
    def extract(D, images):
        mode = D.training
        if eval_mode:
            D.eval()
        with torch.no_grad() if no_grad else contextlib.nullcontext():
            features = _pooled(D, images, **pooling)
        if restore == "always-train":
            D.train()
        elif restore:
            D.train(mode)
        if standardise:
            features = (features - features.mean(0)) / features.std(0).clamp_min(1e-8)
        return features

    return extract


def test_the_papers_feature_extractor_passes():
    from dcgan_lib import check_feature_extractor

    report = check_feature_extractor(_extractor())
    assert len(report.passed) == 4 and "section 5.1" in report.passed[-1]


@pytest.mark.parametrize(
    "extractor, problem, hint",
    [
        (_extractor(pool=F.adaptive_avg_pool2d), "values differ", "the max (not the mean)"),
        (_extractor(order=-1), "values differ", "in D's order"),
        (_extractor(blocks=slice(-1, None)), "shape (6, 512), expected (6, 896)", "every block"),
        (_extractor(eval_mode=False), "BatchNorm statistics moved", "D.eval()"),
        (_extractor(restore=False), "left in eval mode", "D.train(mode)"),
        (_extractor(no_grad=False), "gradient graph", "torch.no_grad()"),
        (_extractor(restore="always-train"), "left in training mode", "not always D.train()"),
        (_extractor(standardise=True), "were standardised", "the pooled maxima themselves"),
    ],
    ids=[
        "mean",
        "reversed",
        "last-block",
        "train-mode",
        "not-restored",
        "with-grad",
        "always-train",
        "standardised",
    ],  # fmt: skip
)
def test_a_wrong_feature_extractor_is_named_with_its_fix(extractor, problem, hint):
    from dcgan_lib import CheckFailed, check_feature_extractor

    with pytest.raises(CheckFailed) as failed:
        check_feature_extractor(extractor)
    assert problem in failed.value.problem and hint in failed.value.hint


def test_exercise_turns_a_blank_exercise_into_not_written_yet():
    def my_loss(logits):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="my_loss is not written yet") as failure:
        with exercise("my_loss"):
            my_loss(torch.zeros(2))
    assert "raise NotImplementedError()" in failure.value.hint
    with pytest.raises(ValueError, match="other errors pass through"):
        with exercise("my_loss"):
            raise ValueError("other errors pass through")


@pytest.mark.parametrize("blank", [None, {}, [], ""])
def test_require_written_fails_a_blank_value_and_returns_a_written_one(blank):
    with pytest.raises(CheckFailed, match=r"rates is not written yet \(it is still ") as failure:
        require_written("rates", blank)
    assert failure.value.check == "rates" and "raise NotImplementedError()" in failure.value.hint
    written = {"lr": 2e-3}
    assert require_written("rates", written) is written
    assert require_written("z", torch.zeros(0)).shape == (0,)  # a tensor is never a blank


class FlatZGenerator(StudentGenerator):
    """Takes z only as (N, nz), adding the 1x1 itself: given (N, nz, 1, 1), its first
    convolution is called (and recorded) before it fails on the 6-D input."""

    def forward(self, z):
        return self.main(z[:, :, None, None])


def test_a_generator_taking_only_flat_z_has_its_layers_read_from_the_try_that_worked():
    report = check_generator(FlatZGenerator(), nz=16, image_size=16, nc=1)
    assert "(N, nz)" in report.passed[0] and "2 hidden layers" in repr(report)


def test_dropout_in_d_is_no_layer_rule():
    discriminator = tiny_discriminator()
    for block in discriminator.blocks[:-1]:
        block.append(nn.Dropout(0.1))
    assert "LeakyReLU(0.2) first" in repr(check_discriminator(discriminator))


def test_a_d_with_mismatched_channels_gets_the_channel_hint_not_the_halvings():
    discriminator = tiny_discriminator()
    discriminator.blocks[1][1] = nn.BatchNorm2d(3)
    with pytest.raises(CheckFailed, match="D fails on images") as failure:
        check_discriminator(discriminator)
    assert "channels" in failure.value.hint and "halves" not in failure.value.hint


def test_all_zero_features_are_not_called_standardised():
    from dcgan_lib import check_feature_extractor

    def zeros(D, images):
        return torch.zeros_like(_extractor()(D, images))

    with pytest.raises(CheckFailed, match="values differ"):
        check_feature_extractor(zeros)


class LinearHeadDiscriminator(nn.Module):
    """The paper's D, section 3: the last convolution flattened into one linear unit."""

    def __init__(self, head_norm: bool = True):
        super().__init__()
        self.blocks = nn.Sequential(
            nn.Conv2d(1, 8, 4, 2, 1),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(8, 16, 4, 2, 1, bias=False),
            nn.BatchNorm2d(16) if head_norm else nn.Identity(),
            nn.LeakyReLU(0.2, True),
            nn.Flatten(),
            nn.Linear(16 * 4 * 4, 1),
        )
        self.apply(init_weights)

    def forward(self, images):
        return self.blocks(images).view(-1)


def test_a_d_with_a_linear_head_has_every_convolution_checked():
    report = check_discriminator(LinearHeadDiscriminator(), image_size=16, nc=1)
    assert "then 1 layer of Conv2d -> BatchNorm" in repr(report)
    with pytest.raises(CheckFailed, match="layer 2 of D is Conv2d -> LeakyReLU\n"):
        check_discriminator(LinearHeadDiscriminator(head_norm=False), image_size=16, nc=1)
