"""FLOPs of one training step, and the peak FLOP/s of the devices the course meets."""

from __future__ import annotations

from dataclasses import replace

import torch

from ..config import TrainConfig
from ..data import InMemoryImages
from ..train import Trainer

# dense bf16 tensor-core peak in TFLOP/s (fp16 for cards without bf16), from the vendors' data
# sheets; looked up by substring of the device name, so H200 before H100 and L40S before L4
PEAK_TFLOPS = {
    "H200": 989.0,
    "H100": 989.0,
    "A100": 312.0,
    "L40S": 362.0,
    "L4": 121.0,
    "A10G": 70.0,
    "A10": 125.0,
    "V100": 125.0,
    "T4": 65.0,
}


def count_step_flops(config: TrainConfig, nc: int = 1, batch: int = 4) -> float:
    """FLOPs of one training step at config.batch_size (convolutions, forward and backward).

    Counted with FlopCounterMode over one real train_step of an eager fp32 model on the CPU
    at a small batch, then scaled: every counted operation is linear in the batch size.
    BatchNorm, activations and Adam are not counted. Chapter 6.
    """
    from torch.utils.flop_counter import FlopCounterMode

    small = replace(
        config,
        batch_size=batch,
        device="cpu",
        precision="fp32",
        compile=False,
        channels_last=False,
        log_every=1,
    )
    images = torch.zeros(batch, nc, config.image_size, config.image_size)
    trainer = Trainer(small, InMemoryImages(images, torch.zeros(batch)))
    counter = FlopCounterMode(display=False)
    with counter:
        trainer.train_step(images)
    return counter.get_total_flops() * config.batch_size / batch


def device_peak_flops(device: torch.device, peak_gflops: float | None = None) -> float | None:
    """Peak FLOP/s: peak_gflops if given, else the table's bf16 peak for a known GPU."""
    if peak_gflops:
        return peak_gflops * 1e9
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for key, tflops in PEAK_TFLOPS.items():
        if key in name:
            return tflops * 1e12
    return None
