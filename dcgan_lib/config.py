"""What defines a training run: TrainConfig, with the paper's defaults, checked when it is made.

Every field carries the help text the command line shows (``python -m dcgan_lib train
--help`` is generated from this class) and says where its default comes from. A value
that cannot work raises ConfigError at once, naming the fix, instead of failing deep
inside the first training step. Chapter 5 reads these defaults.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .augment import AUGMENTATIONS, parse_policy
from .data import DATASET_NAMES
from .errors import ConfigError
from .losses import LOSSES
from .models import SUPPORTED_SIZES

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
DEVICES = ("auto", "cuda", "mps", "cpu")  # "cuda:N" names one GPU
Z_DISTRIBUTIONS = ("normal", "uniform")
BATCH_NORM_PLACES = ("both", "G", "D", "none")
# fields that may differ when a run is resumed: they do not change what is computed
RESUMABLE_FIELDS = {
    "steps",
    "sample_every",
    "checkpoint_every",
    "log_every",
    "num_workers",
    "data_root",
    "download",
    "device",
    "sync_batchnorm",
}


def param(default, help_text: str):
    """A dataclass field with a default and the help text the command line shows."""
    return field(default=default, metadata={"help": help_text})


@dataclass
class TrainConfig:
    """Everything that defines a training run; the defaults are the paper's recipe. Chapter 5.

    precision="auto" and channels_last=None are settled by the Trainer: the fastest safe choice
    for the device on a new run (runtime.settle_speed_settings), the checkpoint's on a resume.
    """

    dataset: str = param("mnist5k", "dataset for load_dataset; mnist5k ships offline")
    image_size: int = param(32, "image side in pixels, 16..128; paper: 64")
    nz: int = param(100, "length of z: paper, Figure 1")
    ngf: int = param(64, "channels of G's last hidden layer; paper, Figure 1: 128")
    ndf: int = param(64, "channels of D's first layer")
    batch_size: int = param(128, "mini-batch size: paper, section 4")
    lr: float = param(2e-4, "Adam learning rate: paper, section 4 (0.001 was too high)")
    beta1: float = param(0.5, "Adam beta1: paper, section 4 (0.9 oscillated)")
    beta2: float = param(0.999, "Adam beta2: Adam's default (not in the paper)")
    leaky_slope: float = param(0.2, "LeakyReLU slope in D: paper, section 4")
    init_std: float = param(0.02, "weights ~ N(0, init_std): paper, section 4")
    batch_norm: str = param("both", "BatchNorm in: both (paper, section 3), G, D or none")
    z_distribution: str = param("normal", "normal (pytorch/examples) or uniform (paper, Figure 1)")
    augment: str = param(
        "",
        "DiffAugment of D's inputs: translation, cutout, or translation,cutout "
        "(paper: none; Zhao et al., 2020)",
    )
    ema: float = param(
        0.0,
        "decay of a moving average of G's weights that samples and exports use "
        "(paper: 0, none; e.g. 0.999)",
    )
    # after DCGAN (chapter 8); the defaults are the paper's recipe
    loss: str = param(
        "bce",
        "bce (paper: Goodfellow et al., 2014), hinge (SN-GAN) or wgan-gp "
        "(Gulrajani et al., 2017; one critic step per G step here, refused under torchrun); "
        "for hinge and wgan-gp the logged D_x and D_G_z are sigmoid(raw critic output)",
    )
    label_smoothing: float = param(
        0.0,
        "one-sided label smoothing: D's real target is 1 - this (paper: 0; Salimans et al. "
        "give 0.9 as an example target, after Szegedy et al., 2016)",
    )
    spectral_norm: bool = param(
        False,
        "spectral normalisation of each conv in D (paper: off; Miyato et al., 2018); "
        "use with batch_norm='G', as SN-GAN's D has no BatchNorm",
    )
    d_lr: float | None = param(
        None,
        "D's Adam learning rate, None: lr (paper); TTUR (Heusel et al., 2017): D faster than "
        "G, e.g. SAGAN's 4e-4 with lr=1e-4",
    )
    gp_weight: float = param(10.0, "weight of WGAN-GP's gradient penalty: its paper, eq. 3")
    categories: int = param(
        0,
        "a one-hot code of this many categories after z's nz values, which a head Q on D "
        "must read back from G's images (paper: 0, none; InfoGAN, Chen et al., 2016)",
    )
    info_weight: float = param(
        1.0,
        "weight of Q's cross-entropy, added to D's and G's losses when categories > 0 "
        "(InfoGAN's lambda: 1 for a categorical code)",
    )
    steps: int = param(1000, "optimisation steps, each one D and one G update")
    seed: int = param(0, "seeds weights, noise and data order")
    precision: str = param(
        "auto",
        "auto (bf16 on GPUs with fast bf16, fp16 on older GPUs, fp32 on CPU), fp32, bf16 or fp16",
    )
    channels_last: bool | None = param(
        None, "NHWC memory format, faster convolutions (auto: on, but off with compile on CUDA)"
    )
    compile: bool = param(False, "torch.compile the models (first steps are slower)")
    data_on_device: bool = param(
        True, "keep the data on the training device (file datasets up to 1 GiB decoded once)"
    )
    num_workers: int = param(0, "DataLoader workers for file-based datasets")
    sync_batchnorm: bool = param(
        False, "under torchrun: BatchNorm over the global batch (CUDA only)"
    )
    device: str = param("auto", "auto (cuda > mps > cpu), cuda, mps or cpu")
    sample_every: int = param(100, "steps between sample grids from the fixed noise")
    checkpoint_every: int = param(100, "steps between checkpoints (and one at the end)")
    log_every: int = param(10, "steps between history flushes and NaN checks")
    data_root: str = param("", "folder for downloaded datasets (default ~/dcgan_datasets)")
    download: bool = param(False, "download a torchvision dataset if it is missing")

    def __post_init__(self) -> None:
        self.batch_norm = batch_norm_place(self.batch_norm)
        problems = config_problems(self)
        if problems:  # the first is enough: each names its own fix
            raise ConfigError(problems[0])


def batch_norm_place(value):
    """batch_norm as one of BATCH_NORM_PLACES: True (before 2026-11-26, both) and False (none)
    are still accepted, from code and from older checkpoints."""
    if value is True or value is False:
        return "both" if value else "none"
    return value


def _flag(name: str) -> str:
    return f"{name} (--{name.replace('_', '-')})"


def _positive_whole(config: TrainConfig, names: tuple[str, ...], minimum: int = 1) -> list[str]:
    return [
        f"{_flag(name)} must be a whole number of at least {minimum}, got "
        f"{getattr(config, name)!r}; give e.g. {name}={TrainConfig.__dataclass_fields__[name].default}"
        for name in names
        if isinstance(getattr(config, name), bool)
        or not isinstance(getattr(config, name), int)
        or getattr(config, name) < minimum
    ]


def _number_problems(config: TrainConfig) -> list[str]:
    problems = []
    for name in ("lr", "init_std"):
        value = getattr(config, name)
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            problems.append(
                f"{_flag(name)} must be a finite number above 0, got {value!r}; "
                f"the paper uses {TrainConfig.__dataclass_fields__[name].default}"
            )
    for name in ("beta1", "beta2"):
        value = getattr(config, name)
        if not isinstance(value, (int, float)) or not 0 <= value < 1:
            problems.append(
                f"{_flag(name)} must be in [0, 1), got {value!r}; "
                f"the paper uses {TrainConfig.__dataclass_fields__[name].default}"
            )
    if not isinstance(config.ema, (int, float)) or not 0 <= config.ema < 1:
        problems.append(
            f"{_flag('ema')} must be in [0, 1), got {config.ema!r}; 0 turns the average off, "
            f"0.999 is a common choice"
        )
    d_lr = config.d_lr
    if d_lr is not None and (
        not isinstance(d_lr, (int, float)) or not math.isfinite(d_lr) or d_lr <= 0
    ):
        problems.append(
            f"{_flag('d_lr')} must be None (the same as lr) or a finite number above 0, "
            f"got {d_lr!r}; TTUR uses e.g. 4e-4 (SAGAN's, with lr=1e-4)"
        )
    if (
        isinstance(config.gp_weight, bool)
        or not isinstance(config.gp_weight, (int, float))
        or not config.gp_weight > 0
    ):
        problems.append(
            f"{_flag('gp_weight')} must be a number above 0, got {config.gp_weight!r}; "
            f"WGAN-GP's paper uses 10"
        )
    if (
        isinstance(config.info_weight, bool)
        or not isinstance(config.info_weight, (int, float))
        or not math.isfinite(config.info_weight)
        or not config.info_weight > 0
    ):
        problems.append(
            f"{_flag('info_weight')} must be a finite number above 0, got "
            f"{config.info_weight!r}; InfoGAN uses 1 for a categorical code"
        )
    if config.categories == 1:
        problems.append(
            f"{_flag('categories')} of 1 is a code that says nothing; give 0 (no code) or "
            f"at least 2, e.g. 10 for the ten digits"
        )
    if not isinstance(config.leaky_slope, (int, float)) or not 0 <= config.leaky_slope < 1:
        problems.append(
            f"{_flag('leaky_slope')} must be in [0, 1), got {config.leaky_slope!r}; "
            f"the paper uses 0.2"
        )
    return problems


def _choice_problems(config: TrainConfig) -> list[str]:
    problems = []
    if config.image_size not in SUPPORTED_SIZES:
        problems.append(
            f"{_flag('image_size')} must be one of {SUPPORTED_SIZES}, "
            f"got {config.image_size!r}; the paper uses 64"
        )
    for name, choices in (
        ("precision", PRECISIONS),
        ("z_distribution", Z_DISTRIBUTIONS),
        ("batch_norm", BATCH_NORM_PLACES),
    ):
        if getattr(config, name) not in choices:
            problems.append(
                f"{_flag(name)} must be one of {', '.join(choices)}, got {getattr(config, name)!r}"
            )
    problems += _loss_problems(config)
    device = str(config.device)
    if device not in DEVICES and not (device.startswith("cuda:") and device[5:].isdigit()):
        problems.append(
            f"{_flag('device')} must be one of {', '.join(DEVICES)} or cuda:N, "
            f"got {config.device!r}"
        )
    unknown = (
        [name for name in parse_policy(config.augment) if name not in AUGMENTATIONS]
        if isinstance(config.augment, str)
        else [repr(config.augment)]
    )
    if unknown:
        problems.append(
            f"{_flag('augment')} takes a comma-separated list of {', '.join(AUGMENTATIONS)} "
            f"(or nothing), got {', '.join(unknown)}; e.g. augment='translation,cutout'"
        )
    known = [name for name in DATASET_NAMES if name != "folder:PATH"]
    if config.dataset not in known and not str(config.dataset).startswith("folder:"):
        problems.append(
            f"unknown {_flag('dataset')} {config.dataset!r}; choose one of "
            f"{', '.join(DATASET_NAMES)}"
        )
    return problems


def _loss_problems(config: TrainConfig) -> list[str]:
    if config.loss not in LOSSES:
        return [f"{_flag('loss')} must be one of {', '.join(LOSSES)}, got {config.loss!r}"]
    smoothing = config.label_smoothing
    if not isinstance(smoothing, (int, float)) or not 0 <= smoothing < 0.5:
        return [
            f"{_flag('label_smoothing')} must be in [0, 0.5), got {smoothing!r}; "
            f"0 is the paper's recipe, Salimans et al. (2016) use 0.1"
        ]
    if smoothing and config.loss != "bce":
        return [
            f"{_flag('label_smoothing')} smooths BCE's real target, but loss={config.loss!r} "
            f"has no target; use loss='bce' or label_smoothing=0"
        ]
    if config.loss == "wgan-gp" and config.batch_norm in ("both", "D"):
        return [
            f"loss='wgan-gp' penalises each image's own gradient, which BatchNorm in D mixes "
            f"across the batch; give {_flag('batch_norm')} 'G' (or 'none')"
        ]
    return []


def config_problems(config: TrainConfig) -> list[str]:
    """Return one sentence per field that cannot work, each naming the fix; [] when all is well."""
    whole = (
        "nz",
        "ngf",
        "ndf",
        "batch_size",
        "steps",
        "sample_every",
        "checkpoint_every",
        "log_every",
    )
    at_least_0 = ("num_workers", "categories")
    problems = _positive_whole(config, whole) + _positive_whole(config, at_least_0, 0)
    return problems + _number_problems(config) + _choice_problems(config)
