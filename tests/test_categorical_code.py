"""InfoGAN's categorical code (config.categories): the latent, the head Q and its training."""

import math
from dataclasses import replace

import pytest
import torch

from dcgan_lib import (
    Discriminator,
    Generator,
    Trainer,
    code_of,
    export_checkpoint,
    load_checkpoint,
    load_discriminator,
    load_generator,
    one_hot,
    sample_z,
    train,
)
from dcgan_lib.__main__ import main as cli_main


def test_sample_z_appends_a_one_hot_code_after_the_same_noise():
    """Chapter 8: the noise part is what sample_z draws without a code; the code is one-hot."""
    z = sample_z(500, 6, generator=torch.Generator().manual_seed(3), categories=4)
    plain = sample_z(500, 6, generator=torch.Generator().manual_seed(3))
    assert z.shape == (500, 10) and torch.equal(z[:, :6], plain)
    assert torch.equal(z[:, 6:].sum(dim=1), torch.ones(500))
    assert set(z[:, 6:].unique().tolist()) == {0.0, 1.0}
    codes = code_of(z, 4)
    assert torch.equal(one_hot(codes, 4), z[:, 6:])
    assert torch.bincount(codes, minlength=4).min() > 90  # uniform: about 125 each
    uniform = sample_z(8, 6, "uniform", torch.Generator().manual_seed(0), categories=3)
    assert uniform.shape == (8, 9) and uniform[:, :6].abs().max() <= 1


def test_a_generator_with_a_code_names_the_latent_it_expects():
    """Chapter 8: a z without the code gets one line naming the shape and how to draw it."""
    G = Generator(nz=6, ngf=4, image_size=16, nc=1, categories=4)
    assert G.latent_size == 10 and G.blocks[0][0].in_channels == 10
    assert G(sample_z(3, G.nz, categories=G.categories)).shape == (3, 1, 16, 16)
    assert G(sample_z(3, 10).reshape(3, 10, 1, 1)).shape == (3, 1, 16, 16)
    with pytest.raises(ValueError, match=r"\(N, 10\).*\(6 noise values and a one-hot code of 4\)"):
        G(torch.randn(3, 6))
    with pytest.raises(ValueError, match=r"sample_z\(n, G.nz, categories=G.categories\)"):
        G.feature_maps(torch.randn(3, 6))
    with pytest.raises(ValueError, match=r"expects z of shape \(N, 6\).*sample_z\(n, G.nz\)$"):
        Generator(nz=6, ngf=4, image_size=16, nc=1)(torch.randn(3, 7))


def test_the_code_head_reads_d_s_last_block_without_spectral_normalisation():
    """Chapter 8: Q shares D's convolutions and gives one logit per category."""
    torch.manual_seed(0)
    D = Discriminator(nc=1, ndf=4, image_size=16, categories=5, spectral_norm=True)
    images = torch.rand(3, 1, 16, 16) * 2 - 1
    D.eval()  # in training mode each forward pass takes a power-iteration step of SN
    logits, code_logits = D(images, with_code=True)
    assert logits.shape == (3,) and code_logits.shape == (3, 5)
    assert torch.equal(logits, D(images))
    assert D.code_head[0].in_channels == D.head.in_channels  # D's last block, as D's own head
    assert not hasattr(D.code_head[0], "parametrizations")  # SN is D's, not Q's
    assert hasattr(D.head, "parametrizations")
    plain = Discriminator(nc=1, ndf=4, image_size=16)
    assert plain.code_head is None
    with pytest.raises(ValueError, match="with_code=True needs a Discriminator built with"):
        plain(images, with_code=True)


def test_without_a_code_the_models_draw_the_same_weights_as_before():
    """Chapter 3: categories=0 adds no module and consumes no random numbers."""
    torch.manual_seed(0)
    before = Generator(nz=6, ngf=4, image_size=16, nc=1).state_dict()
    torch.manual_seed(0)
    after = Generator(nz=6, ngf=4, image_size=16, nc=1, categories=0).state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)


def test_q_learns_to_read_the_code_only_when_its_loss_reaches_g(tiny_config, tiny_dataset):
    """Chapter 8: with info_weight 1 Q's cross-entropy falls far below log K in 150 tiny steps;
    with a weight of 1e-6 G is not pushed to draw the categories apart, and it stays at log K."""
    config = replace(tiny_config, steps=150, categories=4, checkpoint_every=1000)
    learned = Trainer(config, tiny_dataset).run(progress=False).history["loss_Q"]
    ignored = Trainer(replace(config, info_weight=1e-6), tiny_dataset).run(progress=False)
    ignored = ignored.history["loss_Q"]
    assert len(learned) == 150
    assert abs(sum(learned[:10]) / 10 - math.log(4)) < 0.1  # chance at the start
    assert sum(learned[-10:]) / 10 < 0.25 * math.log(4)
    assert abs(sum(ignored[-10:]) / 10 - math.log(4)) < 0.1


def test_one_step_trains_q_with_d_and_weights_the_code_loss(tiny_config, tiny_dataset):
    """Chapter 8: Q's weights move in the D step; info_weight changes G's update."""
    config = replace(tiny_config, categories=3)
    trainer = Trainer(config, tiny_dataset)
    before = {k: v.clone() for k, v in trainer.D.code_head.state_dict().items()}
    trainer.train_step(tiny_dataset.images[:16])
    after = trainer.D.code_head.state_dict()
    assert all(not torch.equal(before[k], after[k]) for k in before)
    heavier = Trainer(replace(config, info_weight=5.0), tiny_dataset)
    heavier.train_step(tiny_dataset.images[:16])
    first = "blocks.0.0.weight"
    assert not torch.equal(trainer.G.state_dict()[first], heavier.G.state_dict()[first])
    trainer.flush()
    assert set(trainer.history) == {"loss_D", "loss_G", "D_x", "D_G_z", "loss_Q"}


def test_a_run_with_a_code_resumes_bit_exactly_and_loads_back(tmp_path, tiny_config, tiny_dataset):
    """Chapter 8: checkpoints hold Q (inside D); load_generator and export keep the code."""
    config = replace(tiny_config, categories=3, ema=0.9)
    whole = train(config, tiny_dataset, tmp_path / "a", progress=False)
    train(replace(config, steps=3), tiny_dataset, tmp_path / "b", progress=False)
    resumed = train(config, tiny_dataset, tmp_path / "b", progress=False)
    for model in ("generator", "discriminator"):
        a, b = (getattr(r, model).state_dict() for r in (whole, resumed))
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert resumed.history == whole.history and len(whole.history["loss_Q"]) == 6
    small = export_checkpoint(tmp_path / "a" / "checkpoint.pt", tmp_path / "small.pt")
    G, D = load_generator(small), load_discriminator(small)
    assert (G.nz, G.categories, D.categories) == (16, 3, 3)
    z = sample_z(4, G.nz, generator=torch.Generator().manual_seed(0), categories=3)
    with torch.no_grad():
        assert torch.allclose(G(z), whole.generator(z), rtol=1e-5, atol=1e-6)
    assert load_checkpoint(small)["fixed_noise"].shape == (64, 19)
    with pytest.raises(Exception, match="categories=3 in the checkpoint but 0 requested"):
        train(replace(config, categories=0, steps=9), tiny_dataset, tmp_path / "a")


def test_the_command_line_takes_the_code(tmp_path, capsys):
    """Chapter 8: --categories and --info-weight reach the config the checkpoint stores."""
    out = tmp_path / "run"
    args = ["train", "--image-size", "16", "--ngf", "4", "--ndf", "4", "--batch-size", "16"]
    args += ["--steps", "2", "--device", "cpu", "--categories", "3", "--info-weight", "0.5"]
    assert cli_main([*args, "--out", str(out)]) == 0
    saved = load_checkpoint(out / "checkpoint.pt")["config"]
    assert (saved["categories"], saved["info_weight"]) == (3, 0.5)
    assert cli_main([*args[:-4], "--categories", "1", "--out", str(tmp_path / "x")]) == 2
    assert "categories (--categories) of 1 is a code that says nothing" in capsys.readouterr().err
