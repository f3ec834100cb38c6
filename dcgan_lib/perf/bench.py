"""Training throughput: the pytorch/examples DCGAN recipe against dcgan_lib's speed features.

``python -m dcgan_lib bench`` trains each variant (variants.py) for a few steps on the
offline mnist5k digits and reports, per image size and batch size:

* images per second in steady state (after warm-up and compilation, median of repeats)
  and the ratio to the baseline measured in the same process;
* achieved GFLOP/s, from the FLOP count of one dcgan_lib step (flops.py); the baseline also
  computes D's weight gradients in the G step (about 9% more FLOPs at 32x32), which its
  GFLOP/s does not credit;
* that rate as a fraction of the device's peak (bf16 dense tensor-core peak on GPUs, or
  ``--peak-gflops`` on a CPU) and the memory the variant added at its peak (CUDA
  allocator, or the process's resident set on CPU; the baseline's loader workers excluded).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass

import torch

from ..config import TrainConfig
from ..data import DATA_DIR, InMemoryImages, load_dataset
from ..runtime import pick_device
from .flops import count_step_flops, device_peak_flops
from .runners import build_runner
from .variants import VARIANTS, skip_reason

TABLE_COLUMNS = (
    "size",
    "batch",
    "variant",
    "images_per_s",
    "ratio",
    "gflops_per_s",
    "peak_fraction",
    "peak_mem_mb",
    "warmup_s",
    "note",
)


@dataclass
class BenchRow:
    """One measured (or skipped) variant; images_per_s is None when it was skipped."""

    size: int
    batch: int
    variant: str
    images_per_s: float | None = None
    ratio: float | None = None
    gflops_per_s: float | None = None
    peak_fraction: float | None = None
    peak_mem_mb: float | None = None
    warmup_s: float | None = None
    note: str = ""


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reset_peak_memory(device: torch.device) -> None:
    """Reset the CUDA allocator's peak, or the process's peak RSS (Linux) on CPU."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        return
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def memory_mb(device: torch.device, peak: bool) -> float | None:
    """Allocated CUDA memory, or the process's resident set on CPU (Linux), now or at peak, MB."""
    if device.type == "cuda":
        used = (
            torch.cuda.max_memory_allocated(device)
            if peak
            else torch.cuda.memory_allocated(device)
        )
        return used / 1e6
    key = "VmHWM:" if peak else "VmRSS:"
    with contextlib.suppress(OSError), open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(key):
                return int(line.split()[1]) / 1e3
    return None


def time_steps(runner, steps: int, device: torch.device) -> tuple[float, int]:
    """Run `steps` training steps; return (seconds, images) with the device synchronised."""
    synchronize(device)
    started, images = time.perf_counter(), 0
    for _ in range(steps):
        images += runner.train_step()
    if hasattr(runner, "sync"):
        runner.sync()
    synchronize(device)
    return time.perf_counter() - started, images


def device_description(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as handle:
        cpu = next(
            (line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")),
            cpu,
        )
    return f"CPU {cpu}, {torch.get_num_threads()} threads"


def measure_variant(
    variant: str,
    size: int,
    batch: int,
    device: torch.device,
    steps: int,
    repeats: int,
    warmup: int,
    workers: int,
    dataset: InMemoryImages,
    width: int = 64,
) -> BenchRow:
    """Build, warm up (compile happens here) and time one variant; images/s: median of repeats."""
    row = BenchRow(size, batch, variant, note=skip_reason(variant, device))
    if row.note:
        return row
    torch._dynamo.reset()  # a fresh compile cache: no recompile limit carried over, honest warm-up
    synchronize(device)
    reset_peak_memory(device)
    before = memory_mb(device, peak=False)
    started = time.perf_counter()
    try:  # one variant that fails (a compiler bug on one torch build) must not lose the table
        runner = build_runner(variant, size, batch, device, workers, dataset, width)
        time_steps(runner, warmup, device)
        row.warmup_s = time.perf_counter() - started
        rates = []
        for _ in range(repeats):
            seconds, images = time_steps(runner, steps, device)
            rates.append(images / seconds)
    except Exception as error:  # noqa: BLE001 - reported in the row, and the table goes on
        first_line = (str(error).strip().splitlines() or [""])[0][:160]
        row.note = f"failed: {type(error).__name__}: {first_line}"
        return row
    row.images_per_s = statistics.median(rates)
    peak = memory_mb(device, peak=True)
    # what this variant added at its peak (models, optimiser state, activations, resident data)
    row.peak_mem_mb = peak - before if peak is not None and before is not None else None
    del runner
    return row


def add_rates(rows: list[BenchRow], flops_per_image: float, peak_flops: float | None) -> None:
    """Fill ratio (to this size/batch's baseline), GFLOP/s and the fraction of peak."""
    baseline = next((r.images_per_s for r in rows if r.variant == "baseline"), None)
    for row in rows:
        if row.images_per_s is None:
            continue
        row.ratio = row.images_per_s / baseline if baseline else None
        row.gflops_per_s = row.images_per_s * flops_per_image / 1e9
        row.peak_fraction = row.gflops_per_s * 1e9 / peak_flops if peak_flops else None


def run_bench(
    sizes=(32, 64),
    batch_sizes=(128,),
    variants=VARIANTS,
    steps: int = 5,
    repeats: int = 3,
    warmup: int = 3,
    device: str = "auto",
    workers: int = 2,
    peak_gflops: float | None = None,
    width: int = 64,
    report=None,
) -> dict:
    """Measure every variant at every (size, batch); return {"meta": {...}, "rows": [dicts]}.

    Variants that need CUDA are listed with a note instead of a rate on other devices.
    ``report``, if given, is called with each BenchRow as soon as it is measured.
    """
    torch_device = pick_device(device)
    peak = device_peak_flops(torch_device, peak_gflops)
    rows, flops = [], {}
    for size in sizes:
        dataset = load_dataset("mnist5k", image_size=size)
        for batch in batch_sizes:
            group = []
            for variant in variants:
                group.append(
                    measure_variant(
                        variant,
                        size,
                        batch,
                        torch_device,
                        steps,
                        repeats,
                        warmup,
                        workers,
                        dataset,
                        width,
                    )
                )
                if report:
                    report(group[-1])
            flops[size] = count_step_flops(
                TrainConfig(image_size=size, ngf=width, ndf=width, batch_size=1)
            )
            add_rates(group, flops[size], peak)
            rows += group
    meta = bench_meta(torch_device, peak, flops, steps, repeats, warmup, workers, width)
    return {"meta": meta, "rows": [asdict(r) for r in rows]}


def bench_meta(device, peak, flops, steps, repeats, warmup, workers, width) -> dict:
    """What a result needs to be compared later: when, where, with what and how measured."""
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "device": device_description(device),
        "torch": torch.__version__,
        "peak_gflops": peak / 1e9 if peak else None,
        "steps": steps,
        "repeats": repeats,
        "warmup": warmup,
        "baseline_workers": workers,
        "ngf_ndf": width,
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "train_step_gflop_per_image": {str(k): v / 1e9 for k, v in flops.items()},
    }


def load_bench_report(name: str) -> dict:
    """The report bench/NAME.json of the repository (a gpu-check or bench run). Chapter 6.

    gpu-check reports hold the bench under "bench"; a bench run's JSON is the bench itself.
    """
    path = DATA_DIR.parent / "bench" / f"{name}.json"
    if not path.exists():
        available = sorted(p.stem for p in path.parent.glob("*.json"))
        raise FileNotFoundError(
            f"no benchmark report {path}; the repository's bench/ holds: "
            f"{', '.join(available) or 'none'} (clone the repository to read them)"
        )
    return json.loads(path.read_text())


def format_table(result: dict) -> str:
    """The rows as a plain-text table (also valid Markdown)."""

    def cell(value, column):
        if value is None:
            return "n/a" if column in ("gflops_per_s", "peak_fraction", "ratio") else "-"
        if column == "peak_fraction":
            return f"{100 * value:.2f}%"
        if column == "ratio":
            return f"{value:.2f}x"
        return f"{value:.1f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(TABLE_COLUMNS) + " |", "|" + "---|" * len(TABLE_COLUMNS)]
    for row in result["rows"]:
        lines.append("| " + " | ".join(cell(row[c], c) for c in TABLE_COLUMNS) + " |")
    return "\n".join(lines)
