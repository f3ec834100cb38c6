"""The GAN losses of dcgan_lib.losses: the paper's pair and the fixes chapter 8 measures."""

import math
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from dcgan_lib import (
    Discriminator,
    TrainConfig,
    Trainer,
    discriminator_loss,
    generator_loss,
    gradient_penalty,
    hinge_discriminator_loss,
    hinge_generator_loss,
    pick_losses,
    smoothed_discriminator_loss,
    wasserstein_critic_loss,
    wasserstein_generator_loss,
)
from dcgan_lib.checkpoints import load_checkpoint, save_checkpoint

REAL = torch.tensor([2.0, 0.5])
FAKE = torch.tensor([-2.0, 0.5])


def test_the_papers_losses_are_log_4_and_log_2_where_d_cannot_tell():
    zeros = torch.zeros(4)
    assert discriminator_loss(zeros, zeros).item() == pytest.approx(math.log(4))
    assert generator_loss(zeros).item() == pytest.approx(math.log(2))
    assert generator_loss(zeros, saturating=True).item() == pytest.approx(-math.log(2))


def test_one_sided_smoothing_moves_only_the_real_target():
    s = 0.1
    sig = torch.sigmoid(REAL)
    real_part = -((1 - s) * sig.log() + s * (1 - sig).log()).mean()
    fake_part = F.softplus(FAKE).mean()  # -log(1 - sigmoid(a)), target 0 as in the paper
    smoothed = smoothed_discriminator_loss(REAL, FAKE, smoothing=s)
    assert smoothed.item() == pytest.approx((real_part + fake_part).item(), rel=1e-6)
    assert torch.equal(
        smoothed_discriminator_loss(REAL, FAKE, 0.0), discriminator_loss(REAL, FAKE)
    )


def test_smoothed_d_loss_is_smallest_at_the_logit_of_the_target_not_at_infinity():
    logits = torch.linspace(-1, 5, 601)
    losses = torch.stack([smoothed_discriminator_loss(a.reshape(1), FAKE, 0.1) for a in logits])
    best = logits[losses.argmin()].item()
    assert best == pytest.approx(math.log(0.9 / 0.1), abs=0.01)  # sigmoid(best) = 0.9


def test_hinge_losses_on_hand_computed_logits():
    # real: relu(1 - 2) = 0, relu(1 - 0.5) = 0.5; fake: relu(1 - 2) = 0, relu(1 + 0.5) = 1.5
    assert hinge_discriminator_loss(REAL, FAKE).item() == pytest.approx((0.5 + 1.5) / 2)
    assert hinge_generator_loss(FAKE).item() == pytest.approx(0.75)


def test_hinge_d_loss_is_zero_once_d_is_past_the_margins():
    assert hinge_discriminator_loss(torch.tensor([1.0, 7.0]), torch.tensor([-1.0, -3.0])) == 0


def test_wasserstein_losses_on_hand_computed_logits():
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([0.0, 2.0])
    assert wasserstein_critic_loss(real, fake).item() == pytest.approx(1.0 - 2.0)
    assert wasserstein_generator_loss(fake).item() == pytest.approx(-1.0)


def _linear_critic(slope: float, dim: int = 6):
    direction = torch.randn(dim, generator=torch.Generator().manual_seed(0))
    weight = (slope * direction / direction.norm()).requires_grad_(True)
    return weight, (lambda points: points.flatten(1) @ weight)


def test_gradient_penalty_is_zero_for_a_critic_of_slope_1():
    _, critic = _linear_critic(1.0)
    real, fake = torch.randn(8, 6), torch.randn(8, 6)
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(0.0, abs=1e-10)


def test_gradient_penalty_is_the_squared_excess_slope_and_trains_the_critic():
    weight, critic = _linear_critic(3.0)
    penalty = gradient_penalty(critic, torch.randn(8, 6), torch.randn(8, 6))
    assert penalty.item() == pytest.approx((3.0 - 1.0) ** 2, rel=1e-5)
    penalty.backward()  # create_graph: the penalty has a gradient with respect to the critic
    # d/dw (|w| - 1)^2 = 2 (|w| - 1) w / |w|, along w
    assert torch.allclose(weight.grad, 2 * 2 * weight.detach() / 3.0, rtol=1e-5)


def test_gradient_penalty_works_on_images_with_a_discriminator_without_batchnorm():
    torch.manual_seed(0)
    D = Discriminator(nc=1, ndf=4, image_size=16, batch_norm=False)
    real, fake = torch.rand(5, 1, 16, 16) * 2 - 1, torch.rand(5, 1, 16, 16) * 2 - 1
    rng = torch.Generator().manual_seed(3)
    penalty = gradient_penalty(D, real, fake, rng)
    again = gradient_penalty(D, real, fake, torch.Generator().manual_seed(3))
    assert penalty.ndim == 0 and math.isfinite(penalty.item()) and penalty.item() > 0
    assert torch.equal(penalty, again)  # the interpolation weights come from the generator
    penalty.backward()  # every weight shapes the slope (the biases' last one does not)
    weights = [p for p in D.parameters() if p.dim() > 1]
    assert len(weights) == 3 and all(p.grad.abs().sum() > 0 for p in weights)


def test_pick_losses_gives_the_papers_pair_by_default_and_refuses_unknown_names():
    d_loss, g_loss = pick_losses()
    assert d_loss is discriminator_loss
    assert torch.equal(g_loss(FAKE), generator_loss(FAKE))
    assert pick_losses("hinge") == (hinge_discriminator_loss, hinge_generator_loss)
    assert pick_losses("wgan-gp") == (wasserstein_critic_loss, wasserstein_generator_loss)
    with pytest.raises(ValueError, match="loss must be one of bce, hinge, wgan-gp"):
        pick_losses("lsgan")
    with pytest.raises(ValueError, match="loss='bce' only"):
        pick_losses("hinge", label_smoothing=0.1)


@pytest.mark.parametrize(
    "changes",
    [
        {"label_smoothing": 0.1},
        {"loss": "hinge", "spectral_norm": True, "batch_norm": "G"},
        {"loss": "wgan-gp", "batch_norm": "G"},
        {"lr": 1e-4, "d_lr": 4e-4},
    ],
)
def test_each_fix_trains_to_finite_losses(tiny_config, tiny_dataset, changes):
    trainer = Trainer(replace(tiny_config, **changes), tiny_dataset)
    result = trainer.run(progress=False)
    assert result.step == tiny_config.steps
    assert all(math.isfinite(v) for v in result.history["loss_D"] + result.history["loss_G"])
    assert trainer.d_optimizer.param_groups[0]["lr"] == changes.get("d_lr", tiny_config.lr)
    assert trainer.g_optimizer.param_groups[0]["lr"] == changes.get("lr", tiny_config.lr)


def test_the_wgan_gp_step_adds_the_penalty_to_the_critic_loss(tiny_config, tiny_dataset):
    config = replace(tiny_config, loss="wgan-gp", batch_norm="G", steps=1)
    plain = Trainer(replace(config, gp_weight=1e-12), tiny_dataset).run(progress=False)
    penalised = Trainer(config, tiny_dataset).run(progress=False)
    # same weights and batch, so the critic loss differs by 10 x the penalty (> 0)
    assert penalised.history["loss_D"][0] > plain.history["loss_D"][0]


def test_a_checkpoint_from_before_these_fields_resumes(tmp_path, tiny_config, tiny_dataset):
    uninterrupted = Trainer(tiny_config, tiny_dataset).run(progress=False)
    Trainer(replace(tiny_config, steps=3), tiny_dataset, tmp_path).run(progress=False)
    path = tmp_path / "checkpoint.pt"
    state = load_checkpoint(path)
    for name in ("loss", "label_smoothing", "spectral_norm", "d_lr", "gp_weight"):
        del state["config"][name]  # as a checkpoint written before chapter 8 was
    save_checkpoint(path, state)
    resumed = Trainer(tiny_config, tiny_dataset, tmp_path).run(progress=False)
    assert resumed.step == 6
    assert resumed.history == uninterrupted.history
    for a, b in zip(resumed.generator.state_dict().values(),
                    uninterrupted.generator.state_dict().values()):  # fmt: skip
        assert torch.equal(a, b)


def test_the_config_fields_default_to_the_papers_recipe():
    config = TrainConfig()
    assert (config.loss, config.label_smoothing, config.spectral_norm) == ("bce", 0.0, False)
    assert (config.d_lr, config.gp_weight) == (None, 10.0)
