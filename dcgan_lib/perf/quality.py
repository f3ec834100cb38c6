"""What a speed feature does to what is learned: train each variant, score its samples."""

from __future__ import annotations

from dataclasses import replace

import torch

from ..data import load_dataset
from ..models import sample_z
from ..runtime import pick_device
from ..train import train
from .variants import skip_reason, variant_config


def quality_check(
    variants=("resident", "channels_last"),
    seeds=(0, 1),
    steps: int = 200,
    size: int = 32,
    width: int = 32,
    batch: int = 64,
    samples: int = 1000,
    device: str = "auto",
) -> list[dict]:
    """Train each variant for the same steps and seeds; return the offline metrics of its samples.

    FID and KID (MNIST-classifier features) against the classifier's 1,000 held-out digits,
    and the classifier's confident share. Two seeds of one variant show the seed-to-seed noise
    that a speed feature's difference must stay within.
    """
    from ..metrics import classifier_score, fid_kid, mnist_split

    torch_device = pick_device(device)
    dataset = load_dataset("mnist5k", image_size=size)
    real_images = dataset.images[mnist_split()[1]]
    rows = []
    for variant in variants:
        if skip_reason(variant, torch_device):
            continue
        for seed in seeds:
            config, _ = variant_config(variant, size, batch, torch_device, width)
            result = train(
                replace(config, steps=steps, seed=seed, log_every=50), dataset, progress=False
            )
            z = sample_z(samples, config.nz, generator=torch.Generator().manual_seed(1234))
            with torch.no_grad():
                fake_images = result.generator(z.to(torch_device)).float().cpu()
            distances = fid_kid(real_images, fake_images)
            rows.append(
                {
                    "variant": variant,
                    "seed": seed,
                    "steps": steps,
                    "fid": distances["fid"],
                    "kid": distances["kid"],
                    "confident_share": classifier_score(fake_images)["confident_share"],
                }
            )
    return rows
