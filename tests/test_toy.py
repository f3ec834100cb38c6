"""Tests for dcgan_lib.toy and dcgan_lib.theory: samplers, toy models, mode metrics, exact formulas."""

import math

import numpy as np
import pytest
import torch

from dcgan_lib.theory import (
    gaussian_pdf,
    generator_criterion,
    generator_loss_curves,
    jsd,
    kl_divergence,
    optimal_discriminator,
)
from dcgan_lib.toy import (
    ToyDiscriminator,
    ToyGenerator,
    fit_discriminator,
    fraction_near_modes,
    gaussian_1d,
    modes_covered,
    ring_centres,
    ring_of_gaussians,
    train_toy_gan,
)

GRID = np.linspace(-12, 12, 4801)
DX = float(GRID[1] - GRID[0])


def test_samplers_return_points_of_the_requested_shape_and_moments():
    rng = torch.Generator().manual_seed(0)
    points = gaussian_1d(20_000, mean=3.0, std=0.5, generator=rng)
    assert points.shape == (20_000, 1)
    assert abs(points.mean().item() - 3.0) < 0.02 and abs(points.std().item() - 0.5) < 0.02
    ring = ring_of_gaussians(1000, modes=8, radius=2.0, std=0.02, generator=rng)
    assert ring.shape == (1000, 2)
    assert torch.allclose(ring.norm(dim=1), torch.full((1000,), 2.0), atol=0.1)


def test_ring_samples_fall_into_every_mode_evenly():
    samples = ring_of_gaussians(
        8000, modes=8, radius=2.0, std=0.02, generator=torch.Generator().manual_seed(1)
    )
    assert modes_covered(samples, ring_centres(8, 2.0), threshold=0.1, min_fraction=0.1) == 8
    assert fraction_near_modes(samples, ring_centres(8, 2.0), threshold=0.1) > 0.99


def test_toy_models_map_between_latent_and_data_shapes():
    G, D = ToyGenerator(nz=3, data_dim=2, hidden=8), ToyDiscriminator(data_dim=2, hidden=8)
    fake = G(torch.randn(5, 3))
    assert fake.shape == (5, 2)
    assert D(fake).shape == (5,)
    with pytest.raises(ValueError, match="shape"):
        D(torch.randn(5, 3))


def test_optimal_discriminator_is_the_density_ratio():
    p_data, p_g = np.array([1.0, 0.0, 0.3, 0.0]), np.array([1.0, 2.0, 0.1, 0.0])
    np.testing.assert_allclose(optimal_discriminator(p_data, p_g), [0.5, 0.0, 0.75, 0.5])


def test_jsd_of_identical_distributions_is_zero_and_of_disjoint_ones_is_log_2():
    p = gaussian_pdf(GRID, 0.0, 1.0)
    assert abs(jsd(p, p, DX)) < 1e-12
    far = gaussian_pdf(GRID, 4.0, 0.5)
    near = gaussian_pdf(GRID, -4.0, 0.5)
    assert abs(jsd(near, far, DX) - math.log(2)) < 1e-6


def test_kl_divergence_matches_the_closed_form_for_gaussians():
    p, q = gaussian_pdf(GRID, 0.0, 1.0), gaussian_pdf(GRID, 1.0, 2.0)
    exact = math.log(2.0) + (1.0 + 1.0) / (2 * 4.0) - 0.5
    assert abs(kl_divergence(p, q, DX) - exact) < 1e-6


def test_generator_criterion_equals_minus_log_4_plus_twice_the_jsd():
    p_data, p_g = gaussian_pdf(GRID, 0.0, 1.0), gaussian_pdf(GRID, 1.5, 0.7)
    assert (
        abs(generator_criterion(p_data, p_g, DX) - (-math.log(4) + 2 * jsd(p_data, p_g, DX)))
        < 1e-9
    )
    assert abs(generator_criterion(p_data, p_data, DX) + math.log(4)) < 1e-6


def test_saturating_gradient_vanishes_where_the_non_saturating_one_does_not():
    curves = generator_loss_curves(torch.tensor([1e-4, 0.5, 0.9]))
    torch.testing.assert_close(curves["grad_saturating"], -torch.tensor([1e-4, 0.5, 0.9]).double())
    torch.testing.assert_close(
        curves["grad_non_saturating"], torch.tensor([1e-4, 0.5, 0.9]).double() - 1
    )
    with pytest.raises(ValueError, match="strictly between"):
        generator_loss_curves(torch.tensor([0.0]))


def test_modes_covered_counts_constructed_samples():
    centres = ring_centres(8, 2.0)
    # 100 points on each of modes 0, 1, 2; 3 points on mode 3 (below 2%); 50 far from every mode
    samples = torch.cat(
        [centres[i].repeat(100, 1) + 0.01 for i in range(3)]
        + [centres[3].repeat(3, 1), torch.zeros(50, 2)]
    )
    assert modes_covered(samples, centres, threshold=0.1, min_fraction=0.02) == 3
    assert modes_covered(samples, centres, threshold=0.1, min_fraction=0.0) == 8
    assert fraction_near_modes(samples, centres, threshold=0.1) == pytest.approx(303 / 353)


def test_fit_discriminator_approaches_the_optimal_discriminator():
    D = fit_discriminator(
        lambda n, g: gaussian_1d(n, 0.0, 1.0, g),
        lambda n, g: gaussian_1d(n, 2.0, 1.0, g),
        hidden=16,
        steps=200,
        seed=0,
    )
    x = np.linspace(-1.0, 3.0, 41)
    with torch.no_grad():
        learned = torch.sigmoid(D(torch.tensor(x, dtype=torch.float32).reshape(-1, 1))).numpy()
    exact = optimal_discriminator(gaussian_pdf(x, 0.0, 1.0), gaussian_pdf(x, 2.0, 1.0))
    assert np.abs(learned - exact).max() < 0.1


def test_toy_gan_moves_its_mean_toward_a_1d_gaussian_target():
    result = train_toy_gan(
        lambda n, g: gaussian_1d(n, 3.0, 0.5, g),
        data_dim=1,
        nz=1,
        hidden=16,
        steps=200,
        batch_size=64,
        lr=2e-3,
        snapshot_every=100,
        seed=0,
    )
    start, end = result.snapshots[0][1].mean().item(), result.snapshots[-1][1].mean().item()
    assert [step for step, _ in result.snapshots] == [0, 100, 200]
    assert abs(end - 3.0) < 0.75 < abs(start - 3.0)
    assert len(result.history["loss_D"]) == 200 and result.sample(7).shape == (7, 1)


def test_toy_gan_is_deterministic_given_the_seed():
    def run():
        return train_toy_gan(
            lambda n, g: gaussian_1d(n, 1.0, 1.0, g),
            data_dim=1,
            nz=1,
            hidden=8,
            steps=20,
            batch_size=32,
            snapshot_every=10,
            seed=3,
        )

    assert torch.equal(run().snapshots[-1][1], run().snapshots[-1][1])


@pytest.mark.parametrize(
    "fix",
    [
        {"label_smoothing": 0.1},
        {"loss": "hinge", "spectral_norm": True},
        {"loss": "wgan-gp"},
        {"lr": 5e-4, "lr_d": 2e-3},
    ],
)
def test_each_fix_of_chapter_8_trains_the_toy_gan_deterministically(fix):
    def sampler(n, rng):
        return ring_of_gaussians(n, generator=rng)

    runs = [
        train_toy_gan(
            sampler, 2, steps=30, batch_size=64, hidden=16, snapshot_every=10, seed=4, **fix
        )  # fmt: skip
        for _ in range(2)
    ]
    assert len(runs[0].history["loss_D"]) == 30
    assert all(math.isfinite(v) for v in runs[0].history["loss_D"])
    assert torch.equal(runs[0].snapshots[-1][1], runs[1].snapshots[-1][1])


def test_the_toy_discriminator_with_spectral_norm_is_parametrised_on_every_layer():
    D = ToyDiscriminator(data_dim=2, hidden=8, spectral_norm=True)
    linears = [m for m in D.net if isinstance(m, torch.nn.Linear)]
    assert all(torch.nn.utils.parametrize.is_parametrized(m, "weight") for m in linears)
    with pytest.raises(ValueError, match="loss='bce' only"):
        train_toy_gan(lambda n, rng: torch.zeros(n, 2), 2, steps=1, loss="hinge",
                      label_smoothing=0.1)  # fmt: skip


def test_compare_on_ring_gives_a_row_per_variant_and_seed_and_the_first_seeds_points(
    tmp_path,
):
    from dcgan_lib.checkpoints import save_checkpoint
    from dcgan_lib.toy import compare_on_ring, load_ring_comparison

    result = compare_on_ring({"recipe": {}, "hinge": {"loss": "hinge"}}, (0, 1), steps=5,
                             n_samples=50)  # fmt: skip
    assert [(row["variant"], row["seed"]) for row in result["rows"]] == [
        ("recipe", 0), ("recipe", 1), ("hinge", 0), ("hinge", 1)
    ]  # fmt: skip
    assert all(0 <= row["modes"] <= 8 and 0 <= row["near"] <= 1 for row in result["rows"])
    assert result["points"]["hinge"].shape == (50, 2)
    save_checkpoint(tmp_path / "ring.pt", result)
    assert load_ring_comparison(tmp_path / "ring.pt")["rows"] == result["rows"]
    with pytest.raises(FileNotFoundError, match="train_after_dcgan.py"):
        load_ring_comparison(tmp_path / "missing.pt")


def test_n_critic_takes_that_many_d_steps_per_g_step_and_one_is_the_default_step(monkeypatch):
    from dcgan_lib import toy

    def sampler(n, rng):
        return ring_of_gaussians(n, generator=rng)

    settings = dict(steps=6, batch_size=32, hidden=8, snapshot_every=6, seed=2, loss="wgan-gp")
    default = train_toy_gan(sampler, 2, **settings)
    assert torch.equal(
        default.snapshots[-1][1],
        train_toy_gan(sampler, 2, **settings, n_critic=1).snapshots[-1][1],
    )
    d_steps = []
    original = toy._toy_d_step
    monkeypatch.setattr(toy, "_toy_d_step", lambda *a: d_steps.append(1) or original(*a))
    five = train_toy_gan(sampler, 2, **settings, n_critic=5, lr=1e-4, betas=(0.0, 0.9))
    assert len(d_steps) == 30 and len(five.history["loss_D"]) == 6  # steps counts G steps
    with pytest.raises(ValueError, match="n_critic >= 1"):
        train_toy_gan(sampler, 2, steps=1, n_critic=0)


def test_a_categorical_code_puts_each_category_of_the_ring_on_a_mode_of_its_own():
    """Chapter 8: with a code of 8, 1,000 steps put every category on its own mode and (nearly)
    no sample between modes; the same run without the code still has many samples off them."""
    from dcgan_lib.toy import compare_on_ring

    result = compare_on_ring({"plain": {}, "code": {"categories": 8}}, (0,), steps=1000)
    near = {row["variant"]: row["near"] for row in result["rows"]}
    assert near["code"] >= 0.99 and near["plain"] < 0.9
    assert set(result["categories"]) == {"code"}
    points, drawn = result["points"]["code"], result["categories"]["code"]
    mode = torch.cdist(points, ring_centres(8, 2.0)).argmin(dim=1)
    own = [torch.bincount(mode[drawn == k], minlength=8).argmax().item() for k in range(8)]
    assert sorted(own) == list(range(8))


def test_the_toy_code_trains_q_and_samples_with_categories():
    """Chapter 8: loss_Q is recorded, Q is returned, and sample() gives the codes on request."""

    def sampler(n, rng):
        return ring_of_gaussians(n, generator=rng)

    settings = dict(steps=20, batch_size=32, hidden=8, snapshot_every=10, seed=1)
    run = train_toy_gan(sampler, 2, categories=3, **settings)
    assert len(run.history["loss_Q"]) == 20 and run.code_reader[-1].out_features == 3
    assert run.generator.categories == 3 and run.snapshots[0][1].shape == (1000, 2)
    points, drawn = run.sample(50, seed=2, categories=True)
    assert torch.equal(points, run.sample(50, seed=2)) and drawn.shape == (50,)
    assert drawn.max() < 3 and len(drawn.unique()) == 3
    plain = train_toy_gan(sampler, 2, **settings)
    assert "loss_Q" not in plain.history and plain.code_reader is None
    with pytest.raises(ValueError, match="needs a G trained with a categorical code"):
        plain.sample(5, categories=True)
    with pytest.raises(ValueError, match="categories 0 or at least 2"):
        train_toy_gan(sampler, 2, categories=1, **settings)
