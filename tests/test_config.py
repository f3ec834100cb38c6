"""TrainConfig refuses a value that cannot work as soon as it is made, naming the fix."""

import math

import pytest

from dcgan_lib import ConfigError, TrainConfig
from dcgan_lib.config import config_problems


def test_the_defaults_are_the_papers_recipe_and_valid():
    config = TrainConfig()
    assert (config.lr, config.beta1, config.batch_size, config.init_std) == (2e-4, 0.5, 128, 0.02)
    assert config_problems(config) == []


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"steps": -5}, r"steps \(--steps\) must be a whole number of at least 1, got -5"),
        ({"steps": 0}, r"steps \(--steps\) must be a whole number of at least 1"),
        ({"batch_size": 0}, r"batch_size \(--batch-size\) .* at least 1, got 0"),
        ({"nz": 0}, r"nz \(--nz\)"),
        ({"ngf": -1}, r"ngf \(--ngf\)"),
        ({"ndf": 2.5}, r"ndf \(--ndf\) must be a whole number"),
        ({"log_every": 0}, r"log_every \(--log-every\)"),
        ({"num_workers": -1}, r"num_workers \(--num-workers\) .* at least 0"),
        ({"lr": math.nan}, r"lr \(--lr\) must be a finite number above 0, got nan"),
        ({"lr": 0.0}, r"lr \(--lr\) must be a finite number above 0"),
        ({"lr": math.inf}, r"lr \(--lr\)"),
        ({"init_std": -0.02}, r"init_std \(--init-std\)"),
        ({"beta1": 1.0}, r"beta1 \(--beta1\) must be in \[0, 1\), got 1.0; the paper uses 0.5"),
        ({"beta2": -0.1}, r"beta2 \(--beta2\) must be in \[0, 1\)"),
        ({"leaky_slope": 1.5}, r"leaky_slope \(--leaky-slope\)"),
        ({"image_size": 48}, r"image_size \(--image-size\) must be one of \(16, 32, 64, 128\)"),
        ({"precision": "fp8"}, r"precision \(--precision\) must be one of auto, fp32, bf16, fp16"),
        ({"z_distribution": "cauchy"}, r"z_distribution .* normal, uniform"),
        ({"device": "tpu"}, r"device \(--device\) must be one of auto, cuda, mps, cpu or cuda:N"),
        ({"dataset": "imagenet"}, r"unknown dataset \(--dataset\) 'imagenet'; choose one of"),
    ],
)
def test_a_value_that_cannot_work_is_refused_naming_the_field_and_flag(changes, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**changes)


def test_config_error_is_a_value_error_for_callers_that_catch_those():
    with pytest.raises(ValueError):
        TrainConfig(steps=-1)


@pytest.mark.parametrize("device", ["cpu", "auto", "cuda", "cuda:1", "mps"])
def test_device_names_are_accepted_whether_or_not_the_machine_has_them(device):
    # whether the device exists is checked when training starts, where the message can say so
    assert TrainConfig(device=device).device == device


def test_folder_datasets_are_accepted_by_prefix():
    assert TrainConfig(dataset="folder:/some/images").dataset == "folder:/some/images"


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"loss": "lsgan"}, r"loss \(--loss\) must be one of bce, hinge, wgan-gp, got 'lsgan'"),
        ({"label_smoothing": 0.7}, r"label_smoothing \(--label-smoothing\) must be in \[0, 0.5\)"),
        (
            {"loss": "hinge", "label_smoothing": 0.1},
            r"label_smoothing \(--label-smoothing\) smooths BCE's real target, but "
            r"loss='hinge' has no target; use loss='bce' or label_smoothing=0",
        ),
        ({"loss": "wgan-gp"}, r"BatchNorm in D .* give batch_norm \(--batch-norm\) 'G'"),
        ({"loss": "wgan-gp", "batch_norm": "D"}, r"give batch_norm \(--batch-norm\) 'G'"),
        ({"d_lr": 0.0}, r"d_lr \(--d-lr\) must be None \(the same as lr\) or a finite number"),
        ({"d_lr": math.nan}, r"d_lr \(--d-lr\)"),
        ({"gp_weight": -1.0}, r"gp_weight \(--gp-weight\) must be a number above 0"),
        ({"categories": -2}, r"categories \(--categories\) must be a whole number of at least 0"),
        ({"categories": 2.5}, r"categories \(--categories\) must be a whole number"),
        ({"categories": True}, r"categories \(--categories\) must be a whole number"),
        ({"categories": 1}, r"categories \(--categories\) of 1 is a code that says nothing"),
        ({"info_weight": 0}, r"info_weight \(--info-weight\) must be a finite number above 0"),
        ({"info_weight": math.nan}, r"info_weight \(--info-weight\)"),
        ({"info_weight": True}, r"info_weight \(--info-weight\)"),
    ],
)
def test_the_after_dcgan_switches_refuse_what_cannot_work(changes, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**changes)


def test_the_after_dcgan_combinations_that_work_are_accepted():
    assert TrainConfig(loss="wgan-gp", batch_norm="G").loss == "wgan-gp"
    assert TrainConfig(loss="wgan-gp", batch_norm="none", spectral_norm=True).spectral_norm
    assert TrainConfig(loss="hinge", spectral_norm=True).loss == "hinge"
    assert TrainConfig(label_smoothing=0.1, d_lr=4e-4).d_lr == 4e-4
    assert TrainConfig(categories=10, info_weight=2.0, loss="hinge").categories == 10


def test_wgan_gp_is_refused_under_torchrun_naming_the_fix(monkeypatch):
    from dcgan_lib.train import Trainer

    for name, value in (("RANK", "0"), ("WORLD_SIZE", "2"), ("LOCAL_RANK", "0")):
        monkeypatch.setenv(name, value)
    config = TrainConfig(loss="wgan-gp", batch_norm="G", device="cpu")
    with pytest.raises(ConfigError, match="not supported under torchrun.*in one process"):
        Trainer(config, dataset=None)
