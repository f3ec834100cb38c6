#!/usr/bin/env bash
# Recipes that may replace a shipped checkpoint but do not yet reach issue 14's bars (see
# data/README.md). Not run by data/train_checkpoints.sh; `python3 tools/gpu_train.py --candidates`
# trains them on a lent GPU. Run from the repository root:  bash data/train_candidates.sh
# Every run resumes from OUT/checkpoint.pt if it exists (bit for bit), like the shipped ones.
set -euo pipefail
export OMP_NUM_THREADS=1
RUNS=${RUNS:-/tmp/pre}
# the shipped runs' options: batch 64, seed 0, the weight average of G (chapter 8), the CPU
COMMON="--batch-size 64 --seed 0 --ema 0.999 --sample-every 1000 --checkpoint-every 500 --device cpu --quiet"

# mnist5k-32-code: the digits with SN-GAN's D (hinge loss, spectral normalisation, no BatchNorm in
# D) and InfoGAN's categorical code of 10 categories, on top of mnist5k-32's DiffAugment
python -m dcgan_lib train --dataset mnist5k --image-size 32 --ngf 64 --ndf 64 \
    --augment translation,cutout --loss hinge --spectral-norm --batch-norm G --categories 10 \
    --steps 40000 $COMMON --out "$RUNS/mnist5k-32-code"
python -m dcgan_lib export "$RUNS/mnist5k-32-code/checkpoint.pt" "$RUNS/mnist5k-32-code.pt" --half
