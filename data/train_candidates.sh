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

# None now: mnist5k-32-code, the last one, reached the bars and moved to train_checkpoints.sh
# (2026-11-28). Add a recipe here in the same form (a train line, then its export) to try it.
