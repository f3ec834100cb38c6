"""The checks that hold a student's answer against the library itself (chapters 3, 5, 8, 9)
pass right answers, however they are written, and fail each wrong one with its own message."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from dcgan_lib import Discriminator, Generator
from dcgan_lib.checks import (
    CheckFailed,
    CheckReport,
    check_hinge_losses,
    check_middles,
    check_modes_per_category,
    check_move_right,
    check_same_as_library,
    check_training_loop,
)
from dcgan_lib.latent import interpolate
from dcgan_lib.toy import modes_covered

# --- chapter 3: check_same_as_library ---------------------------------------------------------


def library_g(nz, ngf, image_size, nc):
    return Generator(nz=nz, ngf=ngf, image_size=image_size, nc=nc)


def library_d(nc, ndf, image_size):
    return Discriminator(nc=nc, ndf=ndf, image_size=image_size)


def test_the_library_shaped_networks_pass_at_both_sizes():
    report = check_same_as_library(library_g, library_d)
    assert isinstance(report, CheckReport) and len(report.passed) == 4
    assert report.passed[0] == "64x64x3 G: 12,658,435 parameters and the library's layer shapes"


def test_a_missing_batch_norm_is_told_the_batch_norm_hint():
    def no_first_batch_norm(nz, ngf, image_size, nc):
        generator = library_g(nz, ngf, image_size, nc)
        generator.blocks[0][1] = torch.nn.Identity()
        return generator

    with pytest.raises(CheckFailed, match=r"a difference of 2,048 \(the convolution") as failure:
        check_same_as_library(no_first_batch_norm, library_d)
    assert "2 x C is a BatchNorm" in failure.value.hint


def test_a_wrong_width_or_a_fixed_channel_count_names_the_first_convolution():
    def twice_as_wide(nc, ndf, image_size):
        return library_d(nc, 2 * ndf, image_size)

    with pytest.raises(CheckFailed, match="first difference is at convolution 1") as failure:
        check_same_as_library(library_g, twice_as_wide)
    assert "D's first has ndf" in failure.value.hint

    def always_colour(nc, ndf, image_size):
        return library_d(3, ndf, image_size)

    with pytest.raises(CheckFailed, match=r"32x32x1 D: your .*\[\(32, 3, 4, 4\)") as failure:
        check_same_as_library(library_g, always_colour)
    assert "the image has nc channels" in failure.value.hint


def test_other_layer_shapes_with_the_same_parameters_fail_with_both_shapes():
    def padded_more(nc, ndf, image_size):
        discriminator = library_d(nc, ndf, image_size)
        discriminator.blocks[0][0].padding = (2, 2)  # 64 -> 33 pixels, not 32
        return discriminator

    with pytest.raises(CheckFailed, match=r"your convolutions output \[\(2, 128, 33, 33\)"):
        check_same_as_library(library_g, padded_more)


def test_a_blank_class_a_wrong_signature_and_a_failing_forward_are_named():
    class MyGenerator(torch.nn.Module):
        def __init__(self, *args):
            raise NotImplementedError()

    with pytest.raises(CheckFailed, match="MyGenerator is not written yet"):
        check_same_as_library(MyGenerator, library_d)

    class NoArguments(torch.nn.Module):
        def __init__(self):
            super().__init__()

    with pytest.raises(CheckFailed, match=r"NoArguments\(100, 128, 64, 3\) does not fit"):
        check_same_as_library(NoArguments, library_d)
    with pytest.raises(CheckFailed, match="got a Generator module, not its class"):
        check_same_as_library(library_g(100, 128, 64, 3), library_d)

    def own_bug(nz, ngf, image_size, nc):  # a TypeError of the student's own code keeps its
        return Generator(nz=nz, ngf=ngf / 2, image_size=image_size, nc=nc)  # traceback

    with pytest.raises(TypeError):
        check_same_as_library(own_bug, library_d)

    class FourDimensionalZ(Generator):
        def forward(self, z):
            if z.dim() != 4:
                raise RuntimeError("expected (N, nz, 1, 1)")
            return super().forward(z)

    def only_4d(nz, ngf, image_size, nc):
        return FourDimensionalZ(nz=nz, ngf=ngf, image_size=image_size, nc=nc)

    with pytest.raises(CheckFailed, match=r"fails on an input of shape \(2, 100\)") as failure:
        check_same_as_library(only_4d, library_d)
    assert "view it as (N, nz, 1, 1)" in failure.value.hint

    class BlankForward(Discriminator):
        def forward(self, images):
            raise NotImplementedError()

    def blank_forward(nc, ndf, image_size):
        return BlankForward(nc=nc, ndf=ndf, image_size=image_size)

    with pytest.raises(CheckFailed, match=r"BlankForward.forward is not written yet"):
        check_same_as_library(library_g, blank_forward)

    class Refusing(Discriminator):
        def forward(self, images):
            raise ValueError("no")

    def refusing(nc, ndf, image_size):
        return Refusing(nc=nc, ndf=ndf, image_size=image_size)

    with pytest.raises(CheckFailed, match=r"Refusing fails on an input of shape") as failure:
        check_same_as_library(library_g, refusing)
    assert "returns one logit per image" in failure.value.hint


def test_the_library_checks_leave_the_random_state_as_it_was():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    check_same_as_library(library_g, library_d)
    check_training_loop(reference_loop, steps=2)
    assert torch.equal(torch.rand(3), expected)


# --- chapter 5: check_training_loop -----------------------------------------------------------


def reference_loop(G, D, real_batches, z_batches, lr=2e-4, betas=(0.5, 0.999), detach=True,
                   g_through_d=True, retain=False):  # fmt: skip
    """Chapter 5's reference solution, with switches for three classic mistakes (retain: the
    D step's graph kept and its fakes not detached, so that its backward reaches G too)."""
    g_optimizer = torch.optim.Adam(G.parameters(), lr=lr, betas=betas)
    d_optimizer = torch.optim.Adam(D.parameters(), lr=lr, betas=betas)
    losses = []
    for real, z in zip(real_batches, z_batches):
        fake = G(z)
        real_logits, fake_logits = D(real), D(fake.detach() if detach and not retain else fake)
        d_loss = F.binary_cross_entropy_with_logits(
            real_logits, torch.ones_like(real_logits)
        ) + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
        d_optimizer.zero_grad()
        d_loss.backward(retain_graph=retain)
        d_optimizer.step()
        gen_logits = D(fake if g_through_d else fake.detach())
        g_loss = F.binary_cross_entropy_with_logits(gen_logits, torch.ones_like(gen_logits))
        g_optimizer.zero_grad()
        if g_loss.requires_grad:
            g_loss.backward()
        g_optimizer.step()
        losses.append((d_loss.item(), g_loss.item()))
    return losses


def nan_loop(G, D, real_batches, z_batches):
    """A loop whose D ends with a nan weight, as a log of 0 in a loss would leave it."""
    losses = reference_loop(G, D, real_batches, z_batches)
    with torch.no_grad():
        next(D.parameters())[0].fill_(float("nan"))
    return losses


def test_the_reference_loop_matches_train_step_bit_for_bit():
    report = check_training_loop(reference_loop)
    assert report.measured["largest_difference"] == 0
    assert report.passed[-1].endswith("bit for bit")
    # a loop returning its losses as a (steps, 2) tensor passes too
    as_tensor = check_training_loop(lambda *a: torch.tensor(reference_loop(*a)), steps=3)
    assert as_tensor.measured["largest_difference"] == 0


@pytest.mark.parametrize(
    ("loop", "problem", "hint"),
    [
        (lambda *a: reference_loop(*a, detach=False), "into G a second time", "fake.detach()"),
        (
            lambda *a: reference_loop(*a, g_through_d=False),
            "reached G 0 times in 20",
            "without detach",
        ),
        (lambda *a: reference_loop(*a)[:5], "returned 5 items", "once per step"),
        (
            lambda *a: [loss for loss, _ in reference_loop(*a)],
            "returned 20 items, not 20 \\(loss_D, loss_G\\) pairs",
            "once per step",
        ),
        (lambda *a: reference_loop(*a, retain=True), "reached G 40 times", "only the G step"),
        (nan_loop, "is nan", "log of 0"),
        (lambda *a: reference_loop(*a, betas=(0.9, 0.999)), "trains differently", "betas=betas"),
    ],
)
def test_loops_that_train_otherwise_fail_with_their_own_hint(loop, problem, hint):
    with pytest.raises(CheckFailed, match=problem) as failure:
        check_training_loop(loop)
    assert hint in failure.value.hint


def test_a_blank_loop_is_not_written_yet():
    def my_training_loop(G, D, real_batches, z_batches):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="my_training_loop is not written yet"):
        check_training_loop(my_training_loop)


# --- chapter 8: check_hinge_losses ------------------------------------------------------------


def right_d(real, fake):
    return F.relu(1 - real).mean() + F.relu(1 + fake).mean()


def right_g(fake):
    return -fake.mean()


def test_right_hinge_losses_pass_written_either_way_and_in_float64():
    assert len(check_hinge_losses(right_d, right_g).passed) == 2
    other_form = check_hinge_losses(
        lambda r, f: torch.clamp(1 - r, min=0).mean() + torch.clamp(1 + f, min=0).mean(),
        lambda f: f.sum().neg() / len(f),
    )
    assert len(other_form.passed) == 2
    in_float64 = check_hinge_losses(
        lambda r, f: right_d(r.double(), f.double()), lambda f: right_g(f.double())
    )
    assert len(in_float64.passed) == 2


@pytest.mark.parametrize(
    ("d_loss", "g_loss", "problem"),
    [
        (
            lambda r, f: F.relu(1 - r) + F.relu(1 + f),
            right_g,
            r"my_hinge_d_loss: returns torch.Size\(\[3\]\), not a scalar",
        ),
        (
            lambda r, f: F.relu(1 - torch.cat([r, f * -1])).mean(),
            right_g,
            "my_hinge_d_loss: gives 0.9167",
        ),
        (right_d, lambda f: F.relu(1 - f).mean(), "my_hinge_g_loss: gives 1.6667"),
        (right_d, lambda f: -f.mean().item(), "my_hinge_g_loss: returns float"),
    ],
)
def test_wrong_hinge_losses_fail_naming_the_function(d_loss, g_loss, problem):
    with pytest.raises(CheckFailed, match=problem):
        check_hinge_losses(d_loss, g_loss)


def test_a_blank_hinge_loss_is_not_written_yet():
    def my_hinge_g_loss(fake_logits):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="my_hinge_g_loss is not written yet"):
        check_hinge_losses(right_d, my_hinge_g_loss)


# --- chapter 9: check_move_right and check_middles --------------------------------------------

NZ = 8
POOL = torch.randn(40, NZ, generator=torch.Generator().manual_seed(0))
X_READING = torch.arange(40) % 4 - 1  # -1 unclear, 0 left, 1 centre, 2 right: 10 of each
LEFT, RIGHT = POOL[X_READING == 0], POOL[X_READING == 2]
DIRECTION = RIGHT.mean(0) - LEFT.mean(0)


def test_the_direction_passes_in_any_dtype():
    report = check_move_right(LEFT, RIGHT, DIRECTION, POOL, X_READING)
    assert len(report.passed) == 3
    doubles = (LEFT.double(), RIGHT.double(), DIRECTION.double())
    assert len(check_move_right(*doubles, POOL, X_READING).passed) == 3


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ((LEFT, RIGHT, None), "move_right is not written yet"),
        ((LEFT.tolist(), RIGHT, DIRECTION), "left is a list, not a tensor"),
        ((LEFT, POOL[X_READING == 1], DIRECTION), "right is not the z's of the 10 samples"),
        ((LEFT, RIGHT, DIRECTION[None]), r"shape \(1, 8\), not \(nz,\) = \(8,\)"),
        ((LEFT, RIGHT, -DIRECTION), "cosine -1.00"),
        ((LEFT, RIGHT, torch.zeros(NZ)), "move_right is all zeros"),
        ((LEFT, RIGHT, RIGHT.sum(0) - LEFT.sum(0)), f"length {10 * DIRECTION.norm():.2f}"),
    ],
)
def test_wrong_directions_fail_with_what_is_wrong(answer, problem):
    with pytest.raises(CheckFailed, match=problem):
        check_move_right(*answer, POOL, X_READING)


PAIRS = torch.randn(12, 2, NZ, generator=torch.Generator().manual_seed(1))
MIDDLES = {
    method: torch.stack([interpolate(z0, z1, 3, method)[1] for z0, z1 in PAIRS])
    for method in ("lerp", "slerp")
}


def test_the_midpoints_pass_in_any_dtype():
    assert len(check_middles(MIDDLES, PAIRS).passed) == 2
    doubles = {method: z.double() for method, z in MIDDLES.items()}
    assert len(check_middles(doubles, PAIRS.double()).passed) == 2


@pytest.mark.parametrize(
    ("middles", "problem"),
    [
        (None, "middles is not written yet"),
        ([MIDDLES["lerp"], MIDDLES["slerp"]], "middles is a list, not a dict"),
        ({"lerp": MIDDLES["lerp"]}, r"a dict with the keys \['lerp'\], not"),
        ({"lerp": list(MIDDLES["lerp"]), "slerp": MIDDLES["slerp"]}, "is a list, not a tensor"),
        ({"lerp": MIDDLES["slerp"], "slerp": MIDDLES["slerp"]}, 'middles\\["lerp"\\] has shape'),
    ],
)
def test_wrong_midpoints_fail_with_what_is_wrong(middles, problem):
    with pytest.raises(CheckFailed, match=problem):
        check_middles(middles, PAIRS)


# --- chapter 8: check_modes_per_category ------------------------------------------------------


def right_modes_per_category(points, drawn, categories, centres):
    return [modes_covered(points[drawn == k], centres, 0.25) for k in range(categories)]


def test_right_mode_counts_pass_as_a_list_a_tuple_or_a_tensor():
    assert len(check_modes_per_category(right_modes_per_category).passed) == 2
    as_tensor = check_modes_per_category(
        lambda p, d, k, c: torch.tensor(right_modes_per_category(p, d, k, c))
    )
    assert as_tensor.passed[0] == "known points: [3, 1, 5] modes for categories 0, 1 and 2"


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (  # every point, not the category's own
            lambda p, d, k, c: [modes_covered(p, c, 0.25) for _ in range(k)],
            r"gives \[8, 8, 8\] on points whose answer is \[3, 1, 5\]",
        ),
        (  # every mode with a point near it, without modes_covered's 2% share: the stray
            # point of category 1 counts
            lambda p, d, k, c: [
                len(
                    set(
                        torch.cdist(p[d == j], c)
                        .argmin(1)[torch.cdist(p[d == j], c).min(1).values < 0.25]
                        .tolist()
                    )
                )
                for j in range(k)
            ],
            r"gives \[3, 2, 5\] on points whose answer is \[3, 1, 5\]",
        ),
        (  # modes_covered's default threshold, 0.1: category 0's points 0.2 out are lost
            lambda p, d, k, c: [modes_covered(p[d == j], c) for j in range(k)],
            r"gives \[2, 1, 5\] on points whose answer is \[3, 1, 5\]",
        ),
        (lambda p, d, k, c: 5, "returns 5 for 3 categories, not a list of 3 counts"),
        (lambda p, d, k, c: [[1], [2], [3]], "not a list of 3 counts"),
    ],
)
def test_wrong_mode_counts_fail_with_their_own_message(answer, problem):
    with pytest.raises(CheckFailed, match=problem):
        check_modes_per_category(answer)


def test_a_blank_mode_count_is_not_written_yet():
    def modes_per_category(points, drawn, categories, centres):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="modes_per_category is not written yet"):
        check_modes_per_category(modes_per_category)
