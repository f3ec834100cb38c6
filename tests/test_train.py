import math
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from dcgan_lib import (
    CheckpointError,
    TrainConfig,
    Trainer,
    TrainingDiverged,
    export_checkpoint,
    load_checkpoint,
    load_discriminator,
    load_generator,
    pick_device,
    train,
)
from dcgan_lib.__main__ import main as cli_main
from dcgan_lib.models import Discriminator, Generator, frozen


def _states_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_short_run_on_mnist5k_writes_samples_and_checkpoint(tmp_path):
    config = TrainConfig(
        image_size=16,
        ngf=8,
        ndf=8,
        batch_size=32,
        steps=20,
        sample_every=10,
        checkpoint_every=10,
        device="cpu",
    )
    result = train(config, out_dir=tmp_path, progress=False)
    assert result.step == 20
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == [
        "step_000010.png",
        "step_000020.png",
    ]
    assert (tmp_path / "checkpoint.pt").exists() and not list(tmp_path.glob("*.tmp"))
    assert {k: len(v) for k, v in result.history.items()} == {
        "loss_D": 20,
        "loss_G": 20,
        "D_x": 20,
        "D_G_z": 20,
    }
    state = load_checkpoint(tmp_path / "checkpoint.pt")
    assert state["step"] == 20 and state["config"]["ngf"] == 8
    assert all(0 <= p <= 1 for p in result.history["D_x"] + result.history["D_G_z"])


def test_resume_continues_bit_exactly(tmp_path, tiny_config, tiny_dataset):
    uninterrupted = train(tiny_config, tiny_dataset, tmp_path / "a", progress=False)
    train(replace(tiny_config, steps=3), tiny_dataset, tmp_path / "b", progress=False)
    resumed = train(tiny_config, tiny_dataset, tmp_path / "b", progress=False)
    assert resumed.step == uninterrupted.step == 6
    assert _states_equal(resumed.generator.state_dict(), uninterrupted.generator.state_dict())
    assert _states_equal(
        resumed.discriminator.state_dict(), uninterrupted.discriminator.state_dict()
    )
    assert resumed.history == uninterrupted.history
    a, b = (
        load_checkpoint(tmp_path / "a" / "checkpoint.pt"),
        load_checkpoint(tmp_path / "b" / "checkpoint.pt"),
    )
    assert _states_equal(a["g_optimizer"]["state"][0], b["g_optimizer"]["state"][0])


def test_resume_across_an_epoch_boundary_matches(tmp_path, tiny_config, tiny_dataset):
    # 64 images / batch 16 = 4 batches per epoch: stop at 5, inside the second epoch
    config = replace(tiny_config, steps=9)
    uninterrupted = train(config, tiny_dataset, tmp_path / "a", progress=False)
    train(replace(config, steps=5), tiny_dataset, tmp_path / "b", progress=False)
    resumed = train(config, tiny_dataset, tmp_path / "b", progress=False)
    assert _states_equal(resumed.generator.state_dict(), uninterrupted.generator.state_dict())


def test_a_checkpoint_from_another_kind_of_device_resumes(tmp_path, tiny_config, tiny_dataset):
    """A CUDA generator's state (16 bytes) does not fit a CPU generator (and the other way
    round): the run goes on, its noise drawn from the seed moved on by the step."""
    train(replace(tiny_config, steps=3), tiny_dataset, tmp_path, progress=False)
    path = tmp_path / "checkpoint.pt"
    state = load_checkpoint(path)
    state["rng"]["noise"] = torch.zeros(16, dtype=torch.uint8)  # the size of a CUDA state
    torch.save(state, path)
    trainer = Trainer(tiny_config, tiny_dataset, tmp_path)
    assert trainer.step == 3
    assert trainer.noise_rng.initial_seed() == tiny_config.seed + 3
    resumed = trainer.run(progress=False)
    assert resumed.step == tiny_config.steps and math.isfinite(resumed.history["loss_D"][-1])


def test_checkpoint_from_different_config_is_refused_naming_the_field(
    tmp_path, tiny_config, tiny_dataset
):
    train(tiny_config, tiny_dataset, tmp_path, progress=False)
    with pytest.raises(
        CheckpointError, match=r"ngf=8 in the checkpoint but 16 requested.*new out_dir"
    ):
        train(replace(tiny_config, ngf=16, steps=9), tiny_dataset, tmp_path, progress=False)


def test_more_steps_resume_but_no_resume_starts_over(tmp_path, tiny_config, tiny_dataset):
    train(tiny_config, tiny_dataset, tmp_path, progress=False)
    assert train(replace(tiny_config, steps=8), tiny_dataset, tmp_path, progress=False).step == 8
    restarted = train(
        replace(tiny_config, steps=2), tiny_dataset, tmp_path, resume=False, progress=False
    )
    assert restarted.step == 2 and len(restarted.history["loss_D"]) == 2


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"PK\x03\x04garbage"])
def test_corrupt_checkpoint_is_refused_with_fix(tmp_path, tiny_config, tiny_dataset, content):
    (tmp_path / "checkpoint.pt").write_bytes(content)
    with pytest.raises(
        CheckpointError,
        match="not a readable dcgan_lib checkpoint.*delete or move it.*--no-resume",
    ):
        train(tiny_config, tiny_dataset, tmp_path, progress=False)
    assert (tmp_path / "checkpoint.pt").read_bytes() == content  # nothing lost


def test_truncated_checkpoint_is_refused(tmp_path, tiny_config, tiny_dataset):
    train(tiny_config, tiny_dataset, tmp_path, progress=False)
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(CheckpointError, match="not a readable dcgan_lib checkpoint"):
        load_generator(path)


def test_foreign_torch_file_is_not_a_checkpoint(tmp_path):
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a dcgan_lib checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


def test_missing_checkpoint_says_how_to_make_one(tmp_path):
    with pytest.raises(CheckpointError, match="python -m dcgan_lib train"):
        load_checkpoint(tmp_path / "nope" / "checkpoint.pt")


def test_nan_loss_stops_with_clear_error_and_keeps_last_good_checkpoint(
    tmp_path, tiny_config, tiny_dataset
):
    train(replace(tiny_config, steps=3), tiny_dataset, tmp_path, progress=False)
    good = (tmp_path / "checkpoint.pt").read_bytes()
    poisoned = tiny_dataset.images.clone()
    poisoned[:] = float("nan")
    tiny_dataset.images = poisoned
    with pytest.raises(
        TrainingDiverged, match=r"loss_D=nan.*step 4.*checkpoint.pt, is untouched.*Lower lr"
    ):
        train(tiny_config, tiny_dataset, tmp_path, progress=False)
    assert (tmp_path / "checkpoint.pt").read_bytes() == good


def test_loaded_models_match_the_trained_ones(tmp_path, tiny_config, tiny_dataset):
    result = train(tiny_config, tiny_dataset, tmp_path, progress=False)
    z = torch.randn(4, tiny_config.nz)
    # the trained models are channels-last (the default on the CPU), the loaded ones NCHW:
    # the same weights, a different summation order in the convolutions
    same = dict(rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        loaded = load_generator(tmp_path / "checkpoint.pt")
        assert torch.allclose(loaded(z), result.generator(z), **same)
        images = result.generator(z)
        critic = load_discriminator(tmp_path / "checkpoint.pt")
        assert torch.allclose(critic(images), result.discriminator(images), **same)
        assert torch.equal(loaded.state_dict()["blocks.0.0.weight"],
                           result.generator.state_dict()["blocks.0.0.weight"])  # fmt: skip


def test_export_keeps_models_and_drops_optimisers(tmp_path, tiny_config, tiny_dataset):
    train(tiny_config, tiny_dataset, tmp_path, progress=False)
    small = export_checkpoint(tmp_path / "checkpoint.pt", tmp_path / "small.pt", half=True)
    state = load_checkpoint(small)
    assert "g_optimizer" not in state and state["step"] == 6
    assert small.stat().st_size < (tmp_path / "checkpoint.pt").stat().st_size / 2
    z = torch.randn(4, tiny_config.nz)
    full, half = load_generator(tmp_path / "checkpoint.pt"), load_generator(small)
    assert next(half.parameters()).dtype == torch.float32
    assert torch.allclose(full(z), half(z), atol=5e-3)


def test_g_step_computes_no_gradient_for_d(tiny_config, tiny_dataset):
    run = Trainer(tiny_config, tiny_dataset)
    accumulated = {name: 0 for name, _ in run.D.named_parameters()}
    for name, p in run.D.named_parameters():
        p.register_post_accumulate_grad_hook(
            lambda _, name=name: accumulated.__setitem__(name, accumulated[name] + 1)
        )
    run.train_step(tiny_dataset.images[:16])
    assert set(accumulated.values()) == {1}  # the D step's backward only, not the G step's
    assert all(p.requires_grad for p in run.D.parameters())  # unfrozen again after the step
    assert all(p.grad is not None for p in run.G.parameters())


def test_freezing_d_leaves_g_gradient_bit_identical():
    torch.manual_seed(0)
    G, D, z = Generator(16, 8, 16, 1), Discriminator(1, 8, 16), torch.randn(4, 16, 1, 1)
    grads = []
    for freeze in (False, True):
        G.zero_grad(set_to_none=True)
        D.zero_grad(set_to_none=True)
        with frozen(D) if freeze else torch.enable_grad():
            loss = F.binary_cross_entropy_with_logits(D(G(z)).view(-1), torch.ones(4))
        loss.backward()
        grads.append([p.grad.clone() for p in G.parameters()])
        d_has_grads = [p.grad is not None for p in D.parameters()]
        assert all(d_has_grads) != freeze
    assert all(torch.equal(a, b) for a, b in zip(*grads))


def test_frozen_restores_flags_even_after_an_error():
    D = Discriminator(1, 8, 16)
    D.head.weight.requires_grad_(False)
    with pytest.raises(RuntimeError, match="boom"), frozen(D):
        assert not any(p.requires_grad for p in D.parameters())
        raise RuntimeError("boom")
    assert [name for name, p in D.named_parameters() if not p.requires_grad] == ["head.weight"]


def test_batch_larger_than_dataset_is_refused(tiny_config, tiny_dataset):
    with pytest.raises(ValueError, match="fewer than batch_size=128; lower batch_size"):
        train(replace(tiny_config, batch_size=128), tiny_dataset, progress=False)


def test_half_precision_on_cpu_is_refused_with_fix(tiny_config, tiny_dataset):
    with pytest.raises(ValueError, match="needs a CUDA GPU.*use fp32"):
        train(replace(tiny_config, precision="bf16"), tiny_dataset, progress=False)


def test_uniform_noise_and_no_batchnorm_variants_train(tiny_config, tiny_dataset):
    result = train(
        replace(tiny_config, z_distribution="uniform", batch_norm=False),
        tiny_dataset,
        progress=False,
    )
    assert all(math.isfinite(v) for v in result.history["loss_G"])


def test_pick_device_respects_explicit_choice():
    assert pick_device("cpu").type == "cpu"
    assert pick_device("auto").type in ("cpu", "cuda", "mps")


def test_command_line_trains_and_reports_paths(tmp_path, capsys):
    out = tmp_path / "run"
    assert (
        cli_main(
            [
                "train",
                "--dataset",
                "mnist5k",
                "--image-size",
                "16",
                "--ngf",
                "8",
                "--ndf",
                "8",
                "--batch-size",
                "16",
                "--steps",
                "4",
                "--sample-every",
                "2",
                "--out",
                str(out),
                "--device",
                "cpu",
                "--quiet",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "trained to step 4" in printed and str(out / "checkpoint.pt") in printed
    assert (out / "samples" / "step_000004.png").exists()


def test_command_line_help_documents_every_option(capsys):
    with pytest.raises(SystemExit):
        cli_main(["train", "--help"])
    text = capsys.readouterr().out
    for flag in (
        "--dataset",
        "--image-size",
        "--steps",
        "--out",
        "--lr",
        "--beta1",
        "--precision",
        "--channels-last",
        "--compile",
        "--no-resume",
    ):
        assert flag in text
    assert "paper, section 4" in text


def test_on_step_calls_back_after_every_step_with_the_trainer(tiny_config, tiny_dataset):
    trainer = Trainer(tiny_config, tiny_dataset)
    seen = []
    trainer.on_step(lambda t: seen.append((t.step, len(t.history["loss_D"]))))
    result = trainer.run(progress=False)
    assert seen == [(step, step) for step in range(1, tiny_config.steps + 1)]  # log_every=1
    assert result.step == tiny_config.steps


def test_train_is_trainer_run(tiny_config, tiny_dataset):
    by_function = train(tiny_config, tiny_dataset, progress=False)
    by_trainer = Trainer(tiny_config, tiny_dataset).run(progress=False)
    assert by_function.history == by_trainer.history
    assert _states_equal(by_function.generator.state_dict(), by_trainer.generator.state_dict())


def test_a_signal_in_a_notebook_keeps_the_models_trained_so_far(tiny_config, tiny_dataset):
    import signal

    from dcgan_lib import TrainingInterrupted

    trainer = Trainer(replace(tiny_config, steps=100), tiny_dataset)
    trainer.on_step(lambda t: signal.raise_signal(signal.SIGINT) if t.step == 3 else None)
    with pytest.raises(TrainingInterrupted, match="stopped by SIGINT after step 3") as stop:
        trainer.run(progress=False)
    assert stop.value.result.step == 3 and len(stop.value.result.history["loss_D"]) == 3
    assert stop.value.result.generator is trainer.G


# ----------------------------------------------------------------------- fast defaults


def test_the_defaults_settle_to_fp32_and_channels_last_on_the_cpu(tiny_config, tiny_dataset):
    assert (TrainConfig().precision, TrainConfig().channels_last) == ("auto", None)
    trainer = Trainer(replace(tiny_config, precision="auto", channels_last=None), tiny_dataset)
    assert (trainer.config.precision, trainer.config.channels_last) == ("fp32", True)
    conv = next(p for p in trainer.D.parameters() if p.dim() == 4)
    assert conv.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize(
    "capability, bf16, compile, expected",
    [((9, 0), True, False, ("bf16", True)), ((8, 0), True, True, ("bf16", False)),
     ((7, 5), False, False, ("fp16", True)), ((7, 0), True, False, ("fp16", True))],
)  # fmt: skip
def test_the_defaults_on_a_gpu_follow_its_compute_capability(
    monkeypatch, tiny_config, capability, bf16, compile, expected
):
    from dcgan_lib.runtime import settle_speed_settings

    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: bf16)
    config = replace(tiny_config, precision="auto", channels_last=None, compile=compile)
    settled = settle_speed_settings(config, torch.device("cuda"))
    assert (settled.precision, settled.channels_last) == expected
    # what the user asked for stands
    mine = settle_speed_settings(replace(config, precision="fp32", channels_last=False),
                                 torch.device("cuda"))  # fmt: skip
    assert (mine.precision, mine.channels_last) == ("fp32", False)


def test_a_run_from_before_the_fast_defaults_resumes_as_it_began(
    tmp_path, tiny_config, tiny_dataset
):
    old = replace(tiny_config, precision="fp32", channels_last=False)
    uninterrupted = train(old, tiny_dataset, tmp_path / "a", progress=False)
    train(replace(old, steps=3), tiny_dataset, tmp_path / "b", progress=False)
    auto = replace(tiny_config, precision="auto", channels_last=None)
    resumed = train(auto, tiny_dataset, tmp_path / "b", progress=False)
    assert _states_equal(resumed.generator.state_dict(), uninterrupted.generator.state_dict())
    assert load_checkpoint(tmp_path / "b" / "checkpoint.pt")["config"]["channels_last"] is False
    with pytest.raises(CheckpointError, match="channels_last=False in the checkpoint but True"):
        train(replace(auto, channels_last=True, steps=9), tiny_dataset, tmp_path / "b",
              progress=False)  # fmt: skip


def test_an_image_folder_is_decoded_once_and_gives_the_loaders_batches(tmp_path):
    from PIL import Image

    from dcgan_lib.data import BatchStream, load_dataset

    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(40):
        Image.new("RGB", (20, 16), (6 * i, 90, 255 - 5 * i)).save(folder / f"{i:03d}.png")
    dataset = load_dataset(f"folder:{folder}", image_size=16)
    resident = BatchStream(dataset, 16, 3, torch.device("cpu"), on_device=True)
    streamed = BatchStream(dataset, 16, 3, torch.device("cpu"), on_device=False)
    assert resident.images is not None and resident.images.shape == (40, 3, 16, 16)
    assert streamed.images is None
    for a, b, _ in zip(resident.from_step(1), streamed.from_step(1), range(5)):
        assert torch.equal(a, b)
