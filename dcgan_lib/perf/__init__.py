"""Measuring training speed: the benchmark behind ``python -m dcgan_lib bench``.

Tools beside the teaching library, not part of what a student reads (like nanoGPT's
bench.py): ``runners`` (the pytorch/examples baseline and dcgan_lib's Trainer as timed
runners), ``variants`` (which speed features each variant switches on), ``bench`` (timing,
memory and the table), ``flops`` (the FLOP count of a step and device peaks), ``quality``
(what a speed feature does to the samples) and ``cli`` (the command's options).
Chapter 6 uses ``count_step_flops`` and ``load_bench_report``; bench/RESULTS.md holds
measured tables.
"""

from .bench import TABLE_COLUMNS, BenchRow, format_table, load_bench_report, run_bench
from .cli import add_bench_options, bench_from_args
from .flops import PEAK_TFLOPS, count_step_flops, device_peak_flops
from .quality import quality_check
from .variants import SPEED_FEATURES, VARIANTS, variant_config

__all__ = [
    "TABLE_COLUMNS",
    "BenchRow",
    "format_table",
    "load_bench_report",
    "run_bench",
    "add_bench_options",
    "bench_from_args",
    "PEAK_TFLOPS",
    "count_step_flops",
    "device_peak_flops",
    "quality_check",
    "SPEED_FEATURES",
    "VARIANTS",
    "variant_config",
]
