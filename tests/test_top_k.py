"""Top-k training (Sinha et al., 2020): G learns from the fakes D rates most real."""

from dataclasses import replace

import pytest
import torch

from dcgan_lib import CheckpointError, ConfigError, TrainConfig, Trainer, load_checkpoint, train
from dcgan_lib.checkpoints import config_mismatches


def _states_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _weights(out_dir) -> dict:
    state = load_checkpoint(out_dir / "checkpoint.pt")
    return state["generator"] | {f"D.{k}": v for k, v in state["discriminator"].items()}


def test_top_k_keeps_the_share_d_rates_most_real(tiny_config, tiny_dataset):
    trainer = Trainer(replace(tiny_config, top_k=0.25, top_k_from=2), tiny_dataset)
    logits = torch.tensor([0.3, -2.0, 5.0, 1.0, -0.5, 4.0, 0.0, 2.5])
    assert torch.equal(trainer.top_k(logits), logits)  # step 0: before top_k_from
    trainer.step = 2
    assert sorted(trainer.top_k(logits).tolist()) == [4.0, 5.0]  # a quarter of 8, the highest
    assert trainer.top_k(torch.tensor([-1.0, 3.0])).tolist() == [3.0]  # at least one
    plain = Trainer(tiny_config, tiny_dataset)
    plain.step = 2
    assert torch.equal(plain.top_k(logits), logits)  # top_k = 1, the paper: every sample


def test_top_k_changes_nothing_before_its_step_and_the_run_after(
    tmp_path, tiny_config, tiny_dataset
):
    runs = {
        "plain": tiny_config,
        "top_k_later": replace(tiny_config, top_k=0.5, top_k_from=3),
        "top_k_now": replace(tiny_config, top_k=0.5),
    }
    weights = {}
    for name, config in runs.items():
        train(replace(config, steps=3), tiny_dataset, tmp_path / name / "3", progress=False)
        train(replace(config, steps=6), tiny_dataset, tmp_path / name / "6", progress=False)
        weights[name] = {steps: _weights(tmp_path / name / steps) for steps in ("3", "6")}
    assert _states_equal(weights["plain"]["3"], weights["top_k_later"]["3"])
    assert not _states_equal(weights["plain"]["3"], weights["top_k_now"]["3"])
    assert not _states_equal(weights["plain"]["6"], weights["top_k_later"]["6"])


def test_a_run_may_start_top_k_when_it_resumes(tmp_path, tiny_config, tiny_dataset):
    """Resuming a plain run with top_k from its step on gives the one run's weights, bit for bit."""
    later = replace(tiny_config, top_k=0.5, top_k_from=3)
    train(later, tiny_dataset, tmp_path / "one", progress=False)
    train(replace(tiny_config, steps=3), tiny_dataset, tmp_path / "pieces", progress=False)
    train(later, tiny_dataset, tmp_path / "pieces", progress=False)
    assert _states_equal(_weights(tmp_path / "one"), _weights(tmp_path / "pieces"))
    # a plain run at step 3 cannot take top-k from step 1: steps 1 and 2 would have differed
    train(replace(tiny_config, steps=3), tiny_dataset, tmp_path / "early", progress=False)
    with pytest.raises(CheckpointError, match="top_k_from=0 in the checkpoint but 1 requested"):
        train(replace(later, top_k_from=1), tiny_dataset, tmp_path / "early", progress=False)


def test_top_k_mismatches_count_only_once_top_k_has_started(tiny_config):
    saved = {k: v for k, v in vars(tiny_config).items() if k not in ("top_k", "top_k_from")}
    assert config_mismatches(saved, replace(tiny_config, top_k=0.5, top_k_from=100), 100) == []
    assert config_mismatches(saved, replace(tiny_config, top_k=0.5, top_k_from=99), 100) == [
        "top_k=1.0 in the checkpoint but 0.5 requested",
        "top_k_from=0 in the checkpoint but 99 requested",
    ]
    started = vars(replace(tiny_config, top_k=0.5))
    assert config_mismatches(started, tiny_config, 100) == [
        "top_k=0.5 in the checkpoint but 1.0 requested"
    ]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"top_k": 0}, r"top_k \(--top-k\) must be in \(0, 1\], got 0"),
        ({"top_k": 1.5}, r"top_k \(--top-k\) must be in \(0, 1\], got 1.5"),
        ({"top_k_from": -1}, r"top_k_from \(--top-k-from\) must be a whole number of at least 0"),
    ],
)
def test_bad_top_k_settings_name_the_fix(fields, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**fields)
