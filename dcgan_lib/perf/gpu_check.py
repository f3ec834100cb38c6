"""One prepared command for a lent GPU: ``python -m dcgan_lib gpu-check --out DIR`` (make gpu-check).

A session that is lent a GPU has minutes of device time, so everything the course needs to
learn from a GPU runs here in one go, each phase inside a time budget, and lands in DIR as
``report.json``, ``report.md`` and a sample grid:

1. the device: name, compute capability, bf16 support, dense bf16 peak;
2. the benchmark (bench.py) at 64 and 32 pixels, batch 128: the pytorch/examples baseline,
   each speed feature and all combined;
3. bf16 against fp32 autocast at equal steps and seeds (quality.py): FID, KID, confidence;
4. the training chapter's full-mode configuration (64 pixels, ngf = ndf = 128, batch 128)
   with bf16 and channels_last where the GPU has bf16, for a fixed number of steps, samples
   saved;
5. torchrun with one process (NCCL on CUDA, gloo on a CPU): the distributed path runs;
6. the combined variant at growing batches, and the whole table again at the largest batch
   that still helped (5% or more over the one before), while time is left.

Checkpoints go to a temporary folder: DIR holds only the report and the sample grid.

It needs only what a stock GPU image has (torch, torchvision, numpy, torchmetrics, tqdm, ...):
no jupyter, no network. ``--dry`` runs the same phases on the CPU at toy sizes in under two
minutes; ``make test`` runs it so that the GPU run does not fail on a typo.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from ..config import TrainConfig
from ..errors import ConfigError
from ..runtime import pick_device, settle_speed_settings
from .bench import device_description, format_table, run_bench
from .flops import device_peak_flops
from .quality import quality_check
from .variants import VARIANTS


@dataclass(frozen=True)
class CheckPlan:
    """Sizes, steps and time budgets (seconds) of one gpu-check run."""

    sizes: tuple[int, ...] = (64, 32)
    batch: int = 128
    batch_scan: tuple[int, ...] = (128, 256, 512, 1024, 2048, 4096)
    width: int = 64
    bench_steps: int = 20
    bench_repeats: int = 3
    bench_warmup: int = 10
    quality_steps: int = 1000
    quality_seeds: tuple[int, ...] = (0, 1)
    full_mode_steps: int = 500
    full_mode_width: int = 128
    ddp_steps: int = 50
    budget_s: float = 360.0  # no phase starts after this; the run ends well inside 8 min


DRY_PLAN = CheckPlan(sizes=(16,), batch=16, batch_scan=(16, 32), width=8, bench_steps=2,
                     bench_repeats=1, bench_warmup=1, quality_steps=2, quality_seeds=(0, 1),
                     full_mode_steps=4, full_mode_width=8, ddp_steps=2, budget_s=110.0)  # fmt: skip


def device_facts(device: torch.device) -> dict:
    """What the report needs to know about the device the numbers come from."""
    facts = {"device": device_description(device), "torch": torch.__version__}
    if device.type == "cuda":
        facts["capability"] = ".".join(map(str, torch.cuda.get_device_capability(device)))
        facts["bf16_supported"] = torch.cuda.is_bf16_supported(including_emulation=False)
    peak = device_peak_flops(device)
    facts["peak_tflops"] = peak / 1e12 if peak else None
    return facts


def bench_table(plan: CheckPlan, device: str, sizes, batch: int, variants=VARIANTS) -> dict:
    """run_bench with the plan's steps, repeats, warm-up and width."""
    return run_bench(sizes=sizes, batch_sizes=(batch,), variants=variants,
                     steps=plan.bench_steps, repeats=plan.bench_repeats,
                     warmup=plan.bench_warmup, device=device, width=plan.width)  # fmt: skip


def batch_scan(plan: CheckPlan, device: str, time_left: float) -> dict:
    """The combined variant at growing batches; the largest batch that still gained 5% over the
    one before; and, if it is not plan.batch and time is left, the whole table at that batch."""
    size = max(plan.sizes)
    rows, best, last_rate, started = [], plan.batch_scan[0], None, time.perf_counter()
    for batch in plan.batch_scan:
        row = bench_table(plan, device, (size,), batch, variants=("combined",))["rows"][0]
        rows.append(row)
        if row["images_per_s"] is None:  # it failed (the row's note says why)
            break
        if last_rate is not None and row["images_per_s"] < 1.05 * last_rate:
            break
        best, last_rate = batch, row["images_per_s"]
    scan = {"best_batch": best, "rows": rows}
    if best != plan.batch and time.perf_counter() - started < time_left:
        scan["table"] = bench_table(plan, device, plan.sizes, best)
    return scan


def full_mode_run(plan: CheckPlan, device: str, scratch: Path, out: Path) -> dict:
    """The training chapter's full-mode configuration for plan.full_mode_steps steps."""
    from ..data import load_dataset
    from ..train import train

    size = max(plan.sizes)
    config = TrainConfig(image_size=size, ngf=plan.full_mode_width, ndf=plan.full_mode_width,
                         batch_size=plan.batch, steps=plan.full_mode_steps, device=device,
                         sample_every=plan.full_mode_steps, checkpoint_every=plan.full_mode_steps)  # fmt: skip
    # the defaults as a user gets them: bf16 (fp16 on older GPUs) and channels_last on CUDA
    config = settle_speed_settings(config, torch.device(device))
    result = train(config, load_dataset("mnist5k", image_size=size),
                   out_dir=scratch / "full_mode", progress=False)  # fmt: skip
    grid = scratch / "full_mode" / "samples" / f"step_{result.step:06d}.png"
    shutil.copy2(grid, out / "samples_full_mode.png")
    last = {key: round(values[-1], 4) for key, values in result.history.items()}
    return {"config": {k: getattr(config, k) for k in ("image_size", "ngf", "batch_size",
                                                        "precision", "channels_last", "steps")},
            "images_per_s": result.step * config.batch_size / result.seconds,
            "seconds": result.seconds, "last_step": last}  # fmt: skip


def environment_with_the_course() -> dict:
    """os.environ with this checkout first on PYTHONPATH (the GPU image has no dcgan_lib)."""
    root = str(Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": root + (os.pathsep + path if path else "")}


def failed_phases(report: dict) -> list[str]:
    """The phases that raised, or whose torchrun exited with an error."""
    failed = [
        name for name, value in report.items() if isinstance(value, dict) and "error" in value
    ]
    if isinstance(report.get("ddp"), dict) and report["ddp"].get("returncode", 0) != 0:
        failed.append("ddp")
    return failed


def ddp_run(plan: CheckPlan, device: str, scratch: Path) -> dict:
    """torchrun with one process trains a few steps through DistributedDataParallel."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node=1", "-m", "dcgan_lib", "train", "--out", str(scratch / "ddp"),
               "--image-size", str(min(plan.sizes)), "--ngf", str(plan.width), "--ndf",
               str(plan.width), "--batch-size", str(plan.batch), "--steps", str(plan.ddp_steps),
               "--device", device, "--quiet"]  # fmt: skip
    started = time.perf_counter()
    finished = subprocess.run(command, capture_output=True, text=True, timeout=300,
                              env=environment_with_the_course())  # fmt: skip
    backend = "nccl" if torch.device(device).type == "cuda" else "gloo"
    return {"backend": backend, "returncode": finished.returncode,
            "seconds": time.perf_counter() - started,
            "output_tail": (finished.stdout + finished.stderr)[-600:]}  # fmt: skip


PHASES = ("bench", "quality", "full_mode", "ddp", "batch_scan")


def run_phases(plan: CheckPlan, device: str, out: Path, report: dict, only=PHASES) -> None:
    """Run each phase in only while the budget lasts; record its result, its error or a skip."""
    started = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix="gpu_check_"))  # checkpoints: not for the report
    phases = {
        "bench": lambda: bench_table(plan, device, plan.sizes, plan.batch),
        "quality": lambda: quality_check(("resident", "bf16"), seeds=plan.quality_seeds,
                                         steps=plan.quality_steps, size=min(plan.sizes),
                                         width=plan.width, device=device),
        "full_mode": lambda: full_mode_run(plan, device, scratch, out),
        "ddp": lambda: ddp_run(plan, device, scratch),
        "batch_scan": lambda: batch_scan(
            plan, device, 0.85 * plan.budget_s - (time.perf_counter() - started)
        ),
    }  # fmt: skip
    for name, phase in phases.items():
        if name not in only:
            continue
        elapsed = time.perf_counter() - started
        if elapsed > plan.budget_s:
            report[name] = {"skipped": f"time budget of {plan.budget_s:.0f} s spent"}
            continue
        phase_started = time.perf_counter()
        try:
            report[name] = phase()
        except Exception as error:  # noqa: BLE001 - a failed phase is a result: report it, go on
            report[name] = {"error": f"{type(error).__name__}: {str(error)[:500]}"}
        report.setdefault("seconds", {})[name] = round(time.perf_counter() - phase_started, 1)
        write_report(out, report)  # after each phase: a run cut short keeps what it measured


def markdown_report(report: dict) -> str:
    """report.json as the Markdown that bench/RESULTS.md takes in."""
    lines = [f"# gpu-check, {report['date']}", "", f"- device: {report['facts']['device']}",
             f"- torch {report['facts']['torch']}; plan: {report['plan_name']}"]  # fmt: skip
    lines += [f"- {key}: {value}" for key, value in report["facts"].items()
              if key not in ("device", "torch")]  # fmt: skip
    best_batch = (report.get("batch_scan") or {}).get("table")
    for name, table in (("bench", report.get("bench")), ("bench at the best batch", best_batch)):
        if isinstance(table, dict) and "rows" in table:
            lines += ["", f"## {name}", "", format_table(table)]
    for name in ("batch_scan", "quality", "full_mode", "ddp"):
        if name in report:
            lines += ["", f"## {name}", "", "```", json.dumps(report[name], indent=1), "```"]
    return "\n".join(lines) + "\n"


def gpu_check(out: str | Path, dry: bool = False, device: str = "auto", phases=PHASES) -> dict:
    """Run the phases (CheckPlan, or DRY_PLAN on the CPU) and write out/report.{json,md}."""
    import datetime

    unknown = [name for name in phases if name not in PHASES]
    if unknown or not phases:
        raise ConfigError(f"unknown phase {', '.join(unknown) or '(none given)'}; "
                          f"choose from {','.join(PHASES)}")  # fmt: skip
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    plan = DRY_PLAN if dry else CheckPlan()
    device = "cpu" if dry else str(pick_device(device))
    report = {"date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
              "plan_name": "dry (CPU, toy sizes)" if dry else "full", "plan": plan.__dict__,
              "facts": device_facts(torch.device(device))}  # fmt: skip
    run_phases(plan, device, out, report, phases)
    write_report(out, report)
    return report


def write_report(out: Path, report: dict) -> None:
    """out/report.json and its Markdown, out/report.md."""
    (out / "report.json").write_text(json.dumps(report, indent=1, default=str))
    (out / "report.md").write_text(markdown_report(report))
