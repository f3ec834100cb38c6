"""Train the six runs chapter 5's failure modes show and store them in data/runs/failure-modes.pt.

    OMP_NUM_THREADS=1 python data/train_failure_modes.py    # about 30 minutes on one CPU core

Each run is the paper's recipe on the 5,000 mnist5k digits at 32x32 (G and D of 32 channels,
batch 64, 3,000 steps, seed 0) with one thing changed, the mistakes the paper warns about
and two imbalances:

* good: the recipe itself;
* lr 1e-3: the learning rate the paper found "too high" (section 4);
* beta1 0.9: Adam's default momentum, which the paper found "resulted in training
  oscillation and instability" (section 4);
* no BatchNorm in G / no BatchNorm in D: the paper's section 3 credits BatchNorm with
  keeping G from collapsing all samples to a single point;
* weak G: G with 8 channels against D's 32, so that D wins easily.

For each run the file keeps the history of every step and, at steps 200, 1,000 and 3,000,
36 samples from the fixed noise and the measures of chapter 7 on 500 samples (see
dcgan_lib.stored_runs). tests/test_stored_runs.py loads it; data/README.md records the
machine and the time.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from dcgan_lib.stored_runs import SMALL_RECIPE, record_runs

RECIPE = SMALL_RECIPE  # 32x32 mnist5k, ngf = ndf = 32, batch 64, seed 0
RUNS = {
    "good": RECIPE,
    "lr 1e-3": replace(RECIPE, lr=1e-3),
    "beta1 0.9": replace(RECIPE, beta1=0.9),
    "no BatchNorm in G": replace(RECIPE, batch_norm="D"),
    "no BatchNorm in D": replace(RECIPE, batch_norm="G"),
    "weak G": replace(RECIPE, ngf=8),
}
SNAPSHOTS = (200, 1000, 3000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="file to write (default: data/runs/...)")
    parser.add_argument("--steps", type=int, default=None, help="shorter runs, for a try-out")
    parser.add_argument(
        "--only", nargs="+", choices=list(RUNS), default=list(RUNS),
        help="train these runs only (each depends on its config alone, so runs trained in "
        "separate processes are the same as in one)",
    )  # fmt: skip
    args = parser.parse_args()
    snapshots = SNAPSHOTS
    if args.steps:  # the same three snapshots, scaled to a shorter run
        snapshots = tuple(sorted({max(1, s * args.steps // SNAPSHOTS[-1]) for s in SNAPSHOTS}))
    chosen = {label: RUNS[label] for label in args.only}
    path = record_runs("failure-modes", chosen, snapshots, args.out)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
