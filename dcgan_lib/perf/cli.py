"""The options of ``python -m dcgan_lib bench`` and what they run."""

from __future__ import annotations

import sys

import torch

from ..errors import ConfigError
from ..runtime import pick_device
from . import quality
from .bench import device_description, run_bench
from .variants import VARIANTS

# fmt: off
BENCH_OPTIONS = {  # flag: add_argument's keywords
    "--sizes": dict(type=int, nargs="+", default=None,
                    help="image sizes (default: 32 on CPU, 32 64 on CUDA)"),
    "--batch-size": dict(type=int, nargs="+", default=None,
                         help="batch sizes (default: 128 on CPU, 128 512 on CUDA)"),
    "--steps": dict(type=int, default=None, help="timed steps per repeat (CPU 3, CUDA 20)"),
    "--repeats": dict(type=int, default=None,
                      help="timed repeats; the median is kept (CPU 3, CUDA 5)"),
    "--warmup": dict(type=int, default=None, help="untimed steps first (CPU 2, CUDA 10)"),
    "--variants": dict(nargs="+", default=list(VARIANTS), choices=VARIANTS),
    "--width": dict(type=int, default=64, help="ngf = ndf (pytorch/examples: 64)"),
    "--baseline-workers": dict(type=int, default=2,
                               help="DataLoader workers of the baseline (pytorch/examples: 2)"),
    "--device": dict(default="auto", help="auto, cuda or cpu"),
    "--peak-gflops": dict(type=float, default=None,
                          help="the device's peak GFLOP/s, for the fraction-of-peak column "
                               "(needed on CPU)"),
    "--json": dict(type=str, default=None, help="also write the table as JSON here"),
    "--quality": dict(action="store_true",
                      help="instead of timing: train resident, channels_last and compile (and "
                           "bf16 on CUDA) for --quality-steps steps with --quality-seeds seeds; "
                           "compare FID/KID of their samples"),
    "--quality-steps": dict(type=int, default=200, help="training steps per --quality run"),
    "--quality-seeds": dict(type=int, default=2,
                            help="seeds per variant in --quality (0, 1, ...): their spread is "
                                 "the noise"),
}
# fmt: on


def add_bench_options(parser) -> None:
    """The `python -m dcgan_lib bench` options (defaults: quick on CPU, fuller on CUDA)."""
    for flag, keywords in BENCH_OPTIONS.items():
        parser.add_argument(flag, **keywords)


def check_bench_args(args) -> None:
    """Raise ConfigError naming the option for a count that cannot work (zero or negative)."""
    counts = {
        "--steps": [args.steps],
        "--repeats": [args.repeats],
        "--width": [args.width],
        "--sizes": args.sizes or [],
        "--batch-size": args.batch_size or [],
        "--quality-steps": [args.quality_steps],
        "--quality-seeds": [args.quality_seeds],
    }
    for option, values in counts.items():
        bad = [value for value in values if value is not None and value < 1]
        if bad:
            raise ConfigError(f"{option} must be at least 1, got {bad[0]}")
    if args.warmup is not None and args.warmup < 0:
        raise ConfigError(f"--warmup must be 0 or more, got {args.warmup}")


def bench_from_args(args) -> dict:
    """Run the benchmark with parsed command-line options, filling device-dependent defaults."""
    check_bench_args(args)
    device = pick_device(args.device)
    cuda = device.type == "cuda"
    if args.quality:
        variants = ("resident", "channels_last", "compile") + (("bf16",) if cuda else ())
        rows = quality.quality_check(
            variants,
            seeds=tuple(range(args.quality_seeds)),
            steps=args.quality_steps,
            device=args.device,
        )
        return {
            "meta": {"device": device_description(device), "torch": torch.__version__},
            "quality": rows,
        }

    def default(value, on_cpu, on_cuda):
        return value if value is not None else (on_cuda if cuda else on_cpu)

    return run_bench(
        sizes=default(args.sizes, [32], [32, 64]),
        batch_sizes=default(args.batch_size, [128], [128, 512]),
        variants=args.variants,
        steps=default(args.steps, 3, 20),
        repeats=default(args.repeats, 3, 5),
        warmup=default(args.warmup, 2, 10),
        device=args.device,
        workers=args.baseline_workers,
        peak_gflops=args.peak_gflops,
        width=args.width,
        report=lambda row: print(f"measured {row}", file=sys.stderr, flush=True),
    )
