#!/usr/bin/env bash
# Train and export the small pretrained checkpoints shipped in data/checkpoints/ (see data/README.md).
# Run from the repository root:  bash data/train_checkpoints.sh
# Both runs resume from OUT/checkpoint.pt if it exists (bit for bit), so an interrupted run can be
# restarted with the same command. One thread per run is fastest on a small, busy CPU.
set -euo pipefail
export OMP_NUM_THREADS=1
RUNS=${RUNS:-/tmp/pre}
# the shipped files were trained before the defaults became device-dependent (2026-11-26):
# fp32 in the NCHW layout, which these flags keep, so that the commands still reproduce them
LAYOUT="--precision fp32 --no-channels-last"

# mnist5k-32: 32x32 digits, 1 channel. The shipped file is the step-1500 checkpoint of this run
# (see data/README.md); to reproduce it exactly, use --steps 1500.
python -m dcgan_lib train --dataset mnist5k --image-size 32 --ngf 32 --ndf 32 --batch-size 64 \
    --steps 1500 --seed 0 --sample-every 500 --checkpoint-every 500 $LAYOUT --out "$RUNS/mnist5k-32" --quiet
python -m dcgan_lib export "$RUNS/mnist5k-32/checkpoint.pt" data/checkpoints/mnist5k-32.pt --half

# shapes-32: 32x32 synthetic-shapes (10,000 images, seed 0), RGB, 4,500 steps (see data/README.md for
# how that number was chosen).
python -m dcgan_lib train --dataset synthetic-shapes --image-size 32 --ngf 32 --ndf 32 --batch-size 64 \
    --steps 4500 --seed 0 --sample-every 500 --checkpoint-every 500 --device cpu $LAYOUT --out "$RUNS/shapes-32" --quiet
python -m dcgan_lib export "$RUNS/shapes-32/checkpoint.pt" data/checkpoints/shapes-32.pt --half
