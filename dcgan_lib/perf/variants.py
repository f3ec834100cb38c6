"""The benchmark's variants: the baseline, and dcgan_lib's Trainer with one speed feature each.

Both the timing (bench.py) and the quality check (quality.py) read this table.
"""

from __future__ import annotations

import torch

from ..config import TrainConfig
from ..errors import ConfigError

VARIANTS = ("baseline", "resident", "channels_last", "bf16", "compile", "cudagraphs", "combined")
# what each of our variants switches on, on top of resident data (TrainConfig fields; "graphs"
# means torch.compile(mode="reduce-overhead"), which captures CUDA graphs)
SPEED_FEATURES = {
    "resident": {},
    "channels_last": {"channels_last": True},
    "bf16": {"precision": "bf16"},
    "compile": {"compile": True},
    "cudagraphs": {"compile": True, "graphs": True},
}
CUDA_ONLY = {"bf16", "cudagraphs"}


def variant_config(
    variant: str, size: int, batch: int, device: torch.device, width: int = 64
) -> tuple[TrainConfig, bool]:
    """Return (TrainConfig, use CUDA graphs) for one of our variants: resident data + its feature."""
    if variant == "combined":
        # on CUDA, inductor picks the channels-last layout for convolutions itself, and asking
        # for it as well fails in convolution_backward (torch 2.11, H200): runtime.check_layout
        names = ["bf16", "cudagraphs"] if device.type == "cuda" else ["channels_last", "compile"]
        features = {k: v for name in names for k, v in SPEED_FEATURES[name].items()}
    else:
        features = dict(SPEED_FEATURES[variant])
    graphs = features.pop("graphs", False)
    config = TrainConfig(
        image_size=size,
        batch_size=batch,
        ngf=width,
        ndf=width,
        device=str(device),
        data_on_device=True,
        steps=10**9,
        # the baseline's fp32 and NCHW, unless this variant's feature switches them on
        **{"precision": "fp32", "channels_last": False, **features},
    )
    return config, graphs


def skip_reason(variant: str, device: torch.device) -> str:
    """Why a variant cannot run on this device ("" if it can)."""
    if variant not in VARIANTS:
        raise ConfigError(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")
    if variant in CUDA_ONLY and device.type != "cuda":
        return "needs CUDA: skipped"
    return ""
