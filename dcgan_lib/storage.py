"""Reading the course's .pt files: training checkpoints and the shipped classifiers.

torch.load fails in many ways (a truncated download, a garbled file, a pickle that
``weights_only=True`` refuses, somebody else's dict, weights of another shape); each loader
of dcgan_lib turns all of them into one CheckpointError whose message names the file and
the fix, instead of a traceback from deep inside torch.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn


class CheckpointError(RuntimeError):
    """A checkpoint or weights file that cannot be used; the message names the fix."""


def read_state(path: str | Path, kind: str, fix: str, required: dict | None = None,
               map_location: str | torch.device = "cpu") -> dict:
    """torch.load(path, weights_only=True), checked to be a dict holding every key of `required`.

    `required` maps key -> the value it must have (None: any value). `kind` says what the
    file should be ("dcgan_lib checkpoint"), `fix` what to do about a bad one; both go into
    the CheckpointError. The file must exist: callers say how to make a missing one.
    """
    path = Path(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # torch raises several types for truncated or garbled files
        raise CheckpointError(f"{path} is not a readable {kind} ({type(error).__name__}: "
                              f"{str(error)[:200]}); {fix}") from error
    wrong = [key if value is None else f"{key} (should be {value!r})" for key, value in (required or {}).items()
             if not isinstance(state, dict) or key not in state or (value is not None and state[key] != value)]
    if wrong:
        raise CheckpointError(f"{path} is not a {kind} (missing or unexpected: {', '.join(wrong)}); {fix}")
    return state


def restore_module(module: nn.Module, state_dict: dict, path: str | Path, kind: str, fix: str) -> nn.Module:
    """module.load_state_dict(state_dict), with a CheckpointError naming `fix` for mismatched weights."""
    try:
        module.load_state_dict(state_dict)
    except (RuntimeError, TypeError, AttributeError) as error:
        first_line = str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__
        raise CheckpointError(f"{path} does not hold the weights of this {kind} ({first_line}); {fix}") from error
    return module
