"""Train the runs chapter 8 compares and store them in data/runs/after-dcgan*.pt.

    OMP_NUM_THREADS=1 python data/train_after_dcgan.py               # both parts
    OMP_NUM_THREADS=1 python data/train_after_dcgan.py --part ring   # the ring only

Two parts. The ring (data/runs/after-dcgan-ring.pt): chapter 1's ring of Gaussians with the
DCGAN losses and each fix inside DCGAN's step (dcgan_lib.compare_on_ring), plus WGAN-GP with
its own step (5 critic steps per G step, Adam 1e-4, betas (0, 0.9)), five seeds of 4,000
G steps each, the modes covered and the share of samples near a mode for every run, and 2,000
samples of seed 0 per variant for the scatter plots. Chapter 8 trains these live in full mode
and reads them in quick mode.

The digits (data/runs/after-dcgan.pt): each run is the paper's recipe on the 5,000 mnist5k
digits at 32x32 (G and D of 32 channels, batch 64, seed 0, 2,500 steps; about 25 minutes on one
CPU core) with one of the fixes that came after DCGAN:

* DCGAN: the recipe itself (BCE, one D and one G step, Adam 2e-4, beta1 0.5);
* label smoothing: D's real target 0.9 (Salimans et al., 2016, after Szegedy et al., 2016);
* hinge + SN: the hinge loss with spectral normalisation in D and no BatchNorm in D
  (Miyato et al., 2018);
* WGAN-GP: the Wasserstein loss with the gradient penalty, weight 10, no BatchNorm in D,
  one critic step per G step (Gulrajani et al., 2017 take five, with Adam 1e-4 and betas
  (0, 0.9); the ring's "WGAN-GP as published" row);
* TTUR: D learns at 4e-4, G at 1e-4 (Heusel et al., 2017; these rates are SAGAN's,
  Zhang et al., 2019);
* DiffAugment + EMA: the recipe with translation,cutout augmentation of D's inputs
  (Zhao et al., 2020) and an average of G's weights (decay 0.999), two more switches of
  the library (TrainConfig.augment and TrainConfig.ema).

For each run the file keeps the history of every step and, at steps 250, 1,000 and 2,500,
36 samples from the fixed noise and the measures of chapter 7 on 500 samples
(dcgan_lib.stored_runs).
"""

from __future__ import annotations

import argparse
import platform
import time
from dataclasses import replace
from pathlib import Path

import torch

from dcgan_lib import compare_on_ring
from dcgan_lib.checkpoints import save_checkpoint
from dcgan_lib.data import DATA_DIR
from dcgan_lib.stored_runs import SMALL_RECIPE, record_runs

RING_VARIANTS = {
    "DCGAN (BCE)": {},
    "label smoothing 0.1": {"label_smoothing": 0.1},
    "hinge + SN": {"loss": "hinge", "spectral_norm": True},
    "WGAN-GP": {"loss": "wgan-gp"},
    "TTUR (D 4x G)": {"lr": 5e-4, "lr_d": 2e-3},
    # Gulrajani et al. (2017), Algorithm 1: 5 critic steps per G step, Adam 1e-4, betas (0, 0.9)
    "WGAN-GP as published": {"loss": "wgan-gp", "n_critic": 5, "lr": 1e-4, "betas": (0.0, 0.9)},
}
RING_SEEDS = range(5)
RING_STEPS = 4000

RECIPE = SMALL_RECIPE  # 32x32 mnist5k, ngf = ndf = 32, batch 64, seed 0
RUNS = {
    "DCGAN": RECIPE,
    "label smoothing": replace(RECIPE, label_smoothing=0.1),
    "hinge + SN": replace(RECIPE, loss="hinge", spectral_norm=True, batch_norm="G"),
    "WGAN-GP": replace(RECIPE, loss="wgan-gp", batch_norm="G"),
    "TTUR": replace(RECIPE, lr=1e-4, d_lr=4e-4),
    "DiffAugment + EMA": replace(RECIPE, augment="translation,cutout", ema=0.999),
}
SNAPSHOTS = (250, 1000, 2500)


def record_ring(path: Path, steps: int) -> None:
    """Run compare_on_ring on RING_VARIANTS and write its result, with settings, to path."""
    started = time.perf_counter()
    result = compare_on_ring(RING_VARIANTS, RING_SEEDS, steps)
    result |= {
        "variants": RING_VARIANTS,
        "seeds": list(RING_SEEDS),
        "steps": steps,
        "seconds": time.perf_counter() - started,
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads, "
        f"torch {torch.__version__}",
    }
    save_checkpoint(path, result)
    print(f"ring: {result['seconds']:.0f} s, wrote {path}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("all", "ring", "digits"), default="all")
    parser.add_argument("--out", default=None, help="digits file (default: data/runs/...)")
    parser.add_argument("--ring-out", default=None, help="ring file (default: data/runs/...)")
    parser.add_argument("--steps", type=int, default=None, help="shorter runs, for a try-out")
    args = parser.parse_args()
    if args.part in ("all", "ring"):
        ring_path = Path(args.ring_out or DATA_DIR / "runs" / "after-dcgan-ring.pt")
        record_ring(ring_path, args.steps or RING_STEPS)
    if args.part in ("all", "digits"):
        snapshots = SNAPSHOTS
        if args.steps:  # the same snapshots, scaled to a shorter run
            snapshots = tuple(sorted({max(1, s * args.steps // SNAPSHOTS[-1]) for s in SNAPSHOTS}))
        path = record_runs("after-dcgan", RUNS, snapshots, args.out)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
