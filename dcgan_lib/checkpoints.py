"""Reading and writing the course's .pt files: training checkpoints, their small exports and
the shipped classifiers.

A training checkpoint holds everything needed to continue bit for bit: both models, both
optimisers, the RNG states, the config, the step and the history. It is written atomically
(a temporary file, then a rename), so a crash or a kill mid-write leaves the previous one.

torch.load fails in many ways (a truncated download, a garbled file, a pickle that
``weights_only=True`` refuses, somebody else's dict, weights of another shape); every loader
here turns all of them into one CheckpointError whose message names the file and the fix,
instead of a traceback from deep inside torch. Chapter 5.
"""

from __future__ import annotations

import os
from dataclasses import asdict, fields
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from .config import RESUMABLE_FIELDS, TrainConfig, batch_norm_place
from .data import DATA_DIR
from .errors import CheckpointError
from .models import Discriminator, Generator, build_models

if TYPE_CHECKING:
    from .train import Trainer

CHECKPOINT_NAME = "checkpoint.pt"
CHECKPOINT_FORMAT = 1
_REMAKE = "re-export it with `python -m dcgan_lib export`, or train it again"


def read_state(
    path: str | Path,
    kind: str,
    fix: str,
    required: dict | None = None,
    map_location: str | torch.device = "cpu",
) -> dict:
    """torch.load(path, weights_only=True), checked to be a dict holding every key of `required`.

    `required` maps key -> the value it must have (None: any value). `kind` says what the
    file should be ("dcgan_lib checkpoint"), `fix` what to do about a bad one; both go into
    the CheckpointError. The file must exist: callers say how to make a missing one.
    """
    path = Path(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # torch raises several types for truncated or garbled files
        raise CheckpointError(
            f"{path} is not a readable {kind} ({type(error).__name__}: {str(error)[:200]}); {fix}"
        ) from error
    wrong = [
        key if value is None else f"{key} (should be {value!r})"
        for key, value in (required or {}).items()
        if not isinstance(state, dict)
        or key not in state
        or (value is not None and state[key] != value)
    ]
    if wrong:
        raise CheckpointError(
            f"{path} is not a {kind} (missing or unexpected: {', '.join(wrong)}); {fix}"
        )
    return state


def rebuild_hint(script: str) -> str:
    """What to do about a bad weights file that data/SCRIPT rebuilds."""
    return f"re-create it with `python data/{script}` (or restore it with `git checkout data/`)"


def read_shipped_weights(path: Path, kind: str, script: str, required: dict) -> dict:
    """read_state for a weights file the repository ships in data/ and data/SCRIPT rebuilds."""
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing; it ships with the course repository. Re-create it with "
            f"`python data/{script}` (a few minutes on a CPU)"
        )
    return read_state(path, kind, rebuild_hint(script), required=required)


def restore_module(
    module: nn.Module, state_dict: dict, path: str | Path, kind: str, fix: str
) -> nn.Module:
    """module.load_state_dict(state_dict), with a CheckpointError naming `fix` for bad weights."""
    try:
        module.load_state_dict(state_dict)
    except (RuntimeError, TypeError, AttributeError) as error:
        text = str(error).strip()
        first_line = text.splitlines()[0][:300] if text else type(error).__name__
        raise CheckpointError(
            f"{path} does not hold the weights of this {kind} ({first_line}); {fix}"
        ) from error
    return module


def save_checkpoint(path: str | Path, state: dict) -> None:
    """Write state atomically: a crash mid-write leaves the previous checkpoint intact."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    torch.save(state, temporary)
    os.replace(temporary, path)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint with weights_only=True; raise CheckpointError naming the fix. Chapter 5."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(
            f"no checkpoint at {path}; train one with "
            f"`python -m dcgan_lib train --out {path.parent}`"
        )
    return read_state(
        path,
        "dcgan_lib checkpoint",
        "delete or move it, or start over with resume=False / --no-resume or another out_dir",
        required={"format": CHECKPOINT_FORMAT, "config": None, "nc": None},
        map_location=map_location,
    )


def config_mismatches(saved: dict, config: TrainConfig) -> list[str]:
    """Return 'field: saved -> requested' for every field that forbids resuming."""
    requested = asdict(config)
    # a field newer than the checkpoint had its default then (augment, ema: off)
    saved = {f.name: f.default for f in fields(TrainConfig)} | saved
    saved["batch_norm"] = batch_norm_place(saved["batch_norm"])  # True/False before "both"
    return [
        f"{name}={saved.get(name)!r} in the checkpoint but {requested[name]!r} requested"
        for name in requested
        if name not in RESUMABLE_FIELDS and saved.get(name) != requested[name]
    ]


def config_from_checkpoint(state: dict) -> TrainConfig:
    """The TrainConfig a checkpoint was trained with (fields this version lacks are dropped)."""
    known = {f.name for f in fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in state["config"].items() if k in known})


def trainer_state(trainer: Trainer) -> dict:
    """Everything a checkpoint holds for a Trainer to continue bit for bit."""
    rng = {"torch": torch.get_rng_state(), "noise": trainer.noise_rng.get_state()}
    if trainer.device.type == "cuda":
        rng["cuda"] = torch.cuda.get_rng_state(trainer.device)
    return {
        "format": CHECKPOINT_FORMAT,
        "config": asdict(trainer.config),
        "step": trainer.step,
        "nc": trainer.nc,
        "generator": trainer.G.state_dict(),
        "discriminator": trainer.D.state_dict(),
        "g_optimizer": trainer.g_optimizer.state_dict(),
        "d_optimizer": trainer.d_optimizer.state_dict(),
        "scaler": trainer.scaler.state_dict(),
        "rng": rng,
        "history": trainer.history,
        "fixed_noise": trainer.fixed_noise,
    } | (
        {"generator_average": trainer.G_average.state_dict()}
        if trainer.G_average is not None
        else {}
    )


def restore_trainer(trainer: Trainer, state: dict, path: Path) -> None:
    """Put a checkpoint's state into a Trainer; refuse one written by a different config."""
    missing = [key for key in ("g_optimizer", "d_optimizer", "scaler", "rng") if key not in state]
    if missing:
        raise CheckpointError(
            f"{path} is an exported copy (no {', '.join(missing)}): it can be loaded but not "
            f"resumed; train with resume=False / --no-resume, or use another out_dir / --out"
        )
    mismatches = config_mismatches(state["config"], trainer.config)
    if state.get("nc") != trainer.nc:
        mismatches.append(
            f"nc={state.get('nc')!r} in the checkpoint but the data has nc={trainer.nc}"
        )
    if mismatches:
        raise CheckpointError(
            f"{path} was written by a different config: {'; '.join(mismatches)}. Use the "
            f"same config to resume, or a new out_dir (or resume=False / --no-resume) to "
            f"start over"
        )
    trainer.G.load_state_dict(state["generator"])
    trainer.D.load_state_dict(state["discriminator"])
    if trainer.G_average is not None:
        trainer.G_average.load_state_dict(state["generator_average"])
    trainer.g_optimizer.load_state_dict(state["g_optimizer"])
    trainer.d_optimizer.load_state_dict(state["d_optimizer"])
    trainer.scaler.load_state_dict(state["scaler"])
    torch.set_rng_state(state["rng"]["torch"])
    noise = state["rng"]["noise"]
    if noise.numel() == trainer.noise_rng.get_state().numel():
        trainer.noise_rng.set_state(noise)
    else:  # written on another kind of device (a CPU run going on on a GPU): its generator
        # state does not fit this one's, so the noise goes on from the seed moved on by the step
        trainer.noise_rng.manual_seed(trainer.config.seed + state["step"])
    if "cuda" in state["rng"] and trainer.device.type == "cuda":
        torch.cuda.set_rng_state(state["rng"]["cuda"], trainer.device)
    trainer.step, trainer.history = state["step"], state["history"]
    trainer.fixed_noise = state["fixed_noise"]
    trainer.last_checkpoint = path


def load_generator(path: str | Path, device: str | torch.device = "cpu") -> Generator:
    """Return the generator stored in a checkpoint, in eval mode, on device. Chapter 5.

    A run with config.ema > 0 gives its weight average, the G its samples come from.
    """
    state = load_checkpoint(path)
    generator, _ = build_models(config_from_checkpoint(state), state["nc"])
    weights = state.get("generator_average", state.get("generator"))
    restore_module(generator, weights, path, "generator", _REMAKE)
    return generator.to(device).eval()


def load_discriminator(path: str | Path, device: str | torch.device = "cpu") -> Discriminator:
    """Return the discriminator stored in a checkpoint, in eval mode, on device. Chapter 11."""
    state = load_checkpoint(path)
    _, discriminator = build_models(config_from_checkpoint(state), state["nc"])
    restore_module(discriminator, state.get("discriminator"), path, "discriminator", _REMAKE)
    return discriminator.to(device).eval()


def pretrained_path(name: str) -> Path:
    """Return the path of a small checkpoint shipped in data/checkpoints/, e.g. 'mnist5k-32'.

    Chapter 0.
    """
    folder = DATA_DIR / "checkpoints"
    path = folder / f"{name}.pt"
    if not path.exists():
        available = sorted(p.stem for p in folder.glob("*.pt")) if folder.is_dir() else []
        raise CheckpointError(
            f"no pretrained checkpoint {name!r} in {folder}; available: "
            f"{', '.join(available) or 'none'} (data/README.md says how each was trained)"
        )
    return path


def export_checkpoint(source: str | Path, target: str | Path, half: bool = False) -> Path:
    """Write a small copy of a checkpoint (models, config, history; no optimiser state).

    A run with config.ema > 0 keeps its weight average as the generator. Chapter 5.
    """
    state = load_checkpoint(source)
    if "generator_average" in state:
        state["generator"] = state["generator_average"]
    keep = {
        k: state[k]
        for k in (
            "format",
            "config",
            "step",
            "nc",
            "generator",
            "discriminator",
            "history",
            "fixed_noise",
        )
    }
    if half:  # float16 halves the file; weights are cast back to float32 when loaded
        for key in ("generator", "discriminator"):
            keep[key] = {n: t.half() if t.is_floating_point() else t for n, t in keep[key].items()}
    save_checkpoint(Path(target), keep)
    return Path(target)
