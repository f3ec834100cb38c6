#!/usr/bin/env bash
# Train and export the small pretrained checkpoints shipped in data/checkpoints/ (see data/README.md).
# Run from the repository root:  bash data/train_checkpoints.sh
# Every run resumes from OUT/checkpoint.pt if it exists (bit for bit), so an interrupted run can be
# restarted with the same command; the shipped runs were trained in pieces of 1,000-2,000 steps that
# way. One thread per run is fastest on a small, busy CPU, and two runs can share two cores.
set -euo pipefail
export OMP_NUM_THREADS=1
RUNS=${RUNS:-/tmp/pre}
# what all five share: the paper's Adam (2e-4, beta1 0.5), init N(0, 0.02^2) and BatchNorm in G,
# batch 64, plus an exponential moving average of G's weights (chapter 8), which export keeps as
# the generator; fp32 on the CPU, channels_last (the CPU defaults). Each run adds its changes below.
COMMON="--batch-size 64 --seed 0 --ema 0.999 --sample-every 1000 --checkpoint-every 500 --device cpu --quiet"

# mnist5k-32: 32x32 digits, ngf = ndf = 64, and DiffAugment (translation, cutout; chapter 8) so that
# D memorises the 5,000 digits less easily
python -m dcgan_lib train --dataset mnist5k --image-size 32 --ngf 64 --ndf 64 \
    --augment translation,cutout --steps 16000 $COMMON --out "$RUNS/mnist5k-32"
python -m dcgan_lib export "$RUNS/mnist5k-32/checkpoint.pt" data/checkpoints/mnist5k-32.pt --half

# shapes-32: 32x32 synthetic-shapes (10,000 images, seed 0), RGB, ngf = ndf = 32, no augmentation
# (chapter 10 reads this D's features; see data/README.md)
python -m dcgan_lib train --dataset synthetic-shapes --image-size 32 --ngf 32 --ndf 32 \
    --steps 10000 $COMMON --out "$RUNS/shapes-32"
python -m dcgan_lib export "$RUNS/shapes-32/checkpoint.pt" data/checkpoints/shapes-32.pt --half

# shapes-64-code: the paper's 64x64 resolution, synthetic-shapes drawn at 64 pixels, ngf = ndf = 32,
# with SN-GAN's D and InfoGAN's categorical code as for shapes-32-code, but of 4 categories (with
# 12, every seed tried dropped or starved a colour; see data/README.md)
python -m dcgan_lib train --dataset synthetic-shapes --image-size 64 --ngf 32 --ndf 32 \
    --loss hinge --spectral-norm --batch-norm G --categories 4 \
    --steps 8000 $COMMON --out "$RUNS/shapes-64-code"
python -m dcgan_lib export "$RUNS/shapes-64-code/checkpoint.pt" data/checkpoints/shapes-64-code.pt --half

# shapes-32-code: shapes-32's data and width with SN-GAN's D (hinge loss, spectral normalisation,
# no BatchNorm in D) and InfoGAN's categorical code of 12 categories (chapter 8)
python -m dcgan_lib train --dataset synthetic-shapes --image-size 32 --ngf 32 --ndf 32 \
    --loss hinge --spectral-norm --batch-norm G --categories 12 \
    --steps 20000 $COMMON --out "$RUNS/shapes-32-code"
python -m dcgan_lib export "$RUNS/shapes-32-code/checkpoint.pt" data/checkpoints/shapes-32-code.pt --half

# mnist5k-32-code: mnist5k-32's data, width and DiffAugment with SN-GAN's D (hinge loss, spectral
# normalisation, no BatchNorm in D) and InfoGAN's categorical code of 10 categories (chapter 8):
# the digits that reach issue 14's bars. The shipped file ran its first 19,544 steps here on the
# CPU and the rest on a lent H200 in fp32 (tools/gpu_train.py --resume; see data/README.md)
python -m dcgan_lib train --dataset mnist5k --image-size 32 --ngf 64 --ndf 64 \
    --augment translation,cutout --loss hinge --spectral-norm --batch-norm G --categories 10 \
    --steps 31144 $COMMON --out "$RUNS/mnist5k-32-code"
python -m dcgan_lib export "$RUNS/mnist5k-32-code/checkpoint.pt" data/checkpoints/mnist5k-32-code.pt --half
