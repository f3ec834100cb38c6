"""Training throughput: the pytorch/examples DCGAN recipe against dcgan_lib's speed features.

``python -m dcgan_lib bench`` trains each variant for a few steps on the offline mnist5k
digits and reports, per image size and batch size:

* images per second in steady state (after warm-up and compilation, median of repeats)
  and the ratio to the baseline measured in the same process;
* achieved GFLOP/s, from a FLOP count of one training step (``FlopCounterMode`` counts the
  convolutions, forward and backward; BatchNorm, activations and Adam are not counted). The
  count is of the work a step needs, dcgan_lib's step: the baseline also computes D's weight
  gradients in the G step (about 9% more FLOPs at 32x32), which its GFLOP/s does not credit;
* that rate as a fraction of the device's peak (bf16 dense tensor-core peak on GPUs, or
  ``--peak-gflops`` on a CPU) and the memory the variant added at its peak (CUDA
  allocator, or the process's resident set on CPU; the baseline's loader workers excluded).

The baseline follows pytorch/examples ``dcgan/main.py``: eager fp32, NCHW, a DataLoader
with two workers turning PIL images into tensors one at a time (Resize, ToTensor,
Normalize), a sigmoid + BCELoss discriminator and ``.item()`` on every step for the log
line. The other variants are dcgan_lib's own training step (``train.py``: D frozen during the
G step, losses synced every ``log_every`` steps) with the data resident on the device as one
tensor, plus one feature each: channels_last, bf16
autocast (CUDA), torch.compile, CUDA graphs (CUDA), and all of the available ones.
"""
from __future__ import annotations

import contextlib
import datetime
import os
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from .data import DATA_DIR, InMemoryImages, load_dataset
from .train import TrainConfig, _Run, sample_z

VARIANTS = ("baseline", "resident", "channels_last", "bf16", "compile", "cudagraphs", "combined")
# what each of our variants switches on, on top of resident data (TrainConfig fields; "graphs"
# means torch.compile(mode="reduce-overhead"), which captures CUDA graphs)
FEATURES = {
    "resident": {},
    "channels_last": {"channels_last": True},
    "bf16": {"precision": "bf16"},
    "compile": {"compile": True},
    "cudagraphs": {"compile": True, "graphs": True},
}
CUDA_ONLY = {"bf16", "cudagraphs"}
# dense bf16 tensor-core peak in TFLOP/s (fp16 for cards without bf16), from the vendors' data sheets
PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "L4": 121.0,
               "A10G": 70.0, "A10": 125.0, "V100": 125.0, "T4": 65.0}
TABLE_COLUMNS = ("size", "batch", "variant", "images_per_s", "ratio", "gflops_per_s",
                 "peak_fraction", "peak_mem_mb", "warmup_s", "note")


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


# ----------------------------------------------------------------------------- the baseline recipe

class PILDigits(Dataset):
    """uint8 digits (N, 28, 28) served like torchvision's MNIST: a PIL image through transforms."""

    def __init__(self, images: np.ndarray, transform):
        self.images, self.transform = images, transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        from PIL import Image
        return self.transform(Image.fromarray(self.images[index], mode="L")), 0


def baseline_loader(image_size: int, batch_size: int, workers: int) -> DataLoader:
    """pytorch/examples dcgan/main.py's MNIST input pipeline on the mnist5k digits."""
    import torchvision.transforms as T
    with np.load(DATA_DIR / "mnist5k.npz") as archive:
        images = archive["images"]
    transform = T.Compose([T.Resize(image_size), T.ToTensor(), T.Normalize((0.5,), (0.5,))])
    return DataLoader(PILDigits(images, transform), batch_size=batch_size, shuffle=True,
                      num_workers=workers)


class BaselineRun:
    """pytorch/examples dcgan/main.py's training step: sigmoid + BCELoss, three backward calls."""

    def __init__(self, config: TrainConfig, device: torch.device, workers: int):
        torch.manual_seed(config.seed)
        from .train import build_models
        self.G, self.D = (m.to(device) for m in build_models(config, nc=1))
        betas = (config.beta1, config.beta2)
        self.g_opt = torch.optim.Adam(self.G.parameters(), lr=config.lr, betas=betas)
        self.d_opt = torch.optim.Adam(self.D.parameters(), lr=config.lr, betas=betas)
        self.config, self.device = config, device
        self.loader = baseline_loader(config.image_size, config.batch_size, workers)
        self.batches = iter(())

    def next_batch(self) -> torch.Tensor:
        try:
            images, _ = next(self.batches)
        except StopIteration:  # a new epoch: examples/dcgan loops `for i, data in enumerate(dataloader)`
            self.batches = iter(self.loader)
            images, _ = next(self.batches)
        return images.to(self.device)

    def train_step(self) -> int:
        """One D and one G update on the next batch; return the number of real images used."""
        real = self.next_batch()
        batch = real.shape[0]
        label = torch.full((batch,), 1.0, device=self.device)
        self.D.zero_grad()
        output = torch.sigmoid(self.D(real))
        err_d_real = F.binary_cross_entropy(output, label)
        err_d_real.backward()
        d_x = output.mean().item()
        fake = self.G(torch.randn(batch, self.config.nz, 1, 1, device=self.device))
        label.fill_(0.0)
        output = torch.sigmoid(self.D(fake.detach()))
        err_d_fake = F.binary_cross_entropy(output, label)
        err_d_fake.backward()
        d_g_z1 = output.mean().item()
        self.d_opt.step()
        self.G.zero_grad()
        label.fill_(1.0)
        output = torch.sigmoid(self.D(fake))
        err_g = F.binary_cross_entropy(output, label)
        err_g.backward()
        d_g_z2 = output.mean().item()
        self.g_opt.step()
        # the examples print these every step; .item() is a device sync each time
        self.last_log = ((err_d_real + err_d_fake).item(), err_g.item(), d_x, d_g_z1, d_g_z2)
        return batch


# ----------------------------------------------------------------------------- our variants

class LibraryRun:
    """dcgan_lib's own training step (train.py) with the data resident on the device."""

    def __init__(self, config: TrainConfig, dataset: InMemoryImages, graphs: bool = False):
        self.run = _Run(config, dataset, out_dir=None, resume=False)
        if graphs:  # reduce-overhead: inductor records CUDA graphs and replays them
            self.run.G_step = torch.compile(self.run.G, mode="reduce-overhead")
            self.run.D_step = torch.compile(self.run.D, mode="reduce-overhead")
        self.batches = self.run.batches.from_step(0)
        self.log_every, self.graphs = config.log_every, graphs

    def train_step(self) -> int:
        real = next(self.batches)
        if self.graphs:  # a new iteration: the previous step's graph outputs may be overwritten
            torch.compiler.cudagraph_mark_step_begin()
        self.run.train_step(real)
        if self.run.step % self.log_every == 0:
            self.run.flush()  # the loop's only sync: a NaN check every log_every steps
        return real.shape[0]

    def sync(self) -> None:
        self.run.flush()


# ----------------------------------------------------------------------------- measurement

def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reset_peak_memory(device: torch.device) -> None:
    """Reset the CUDA allocator's peak, or the process's peak RSS (Linux) on CPU."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        return
    with contextlib.suppress(OSError):
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")


def memory_mb(device: torch.device, peak: bool) -> float | None:
    """Allocated CUDA memory, or the process's resident set on CPU (Linux), now or at its peak, in MB."""
    if device.type == "cuda":
        used = torch.cuda.max_memory_allocated(device) if peak else torch.cuda.memory_allocated(device)
        return used / 1e6
    key = "VmHWM:" if peak else "VmRSS:"
    with contextlib.suppress(OSError):
        with open("/proc/self/status") as handle:
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


def count_step_flops(config: TrainConfig, nc: int = 1, batch: int = 4) -> float:
    """FLOPs of one training step at config.batch_size (convolutions, forward and backward).

    Counted with FlopCounterMode over one real train_step of an eager fp32 model on the CPU
    at a small batch, then scaled: every counted operation is linear in the batch size.
    """
    from torch.utils.flop_counter import FlopCounterMode
    small = replace(config, batch_size=batch, device="cpu", precision="fp32", compile=False,
                    channels_last=False, log_every=1)
    images = torch.zeros(batch, nc, config.image_size, config.image_size)
    run = _Run(small, InMemoryImages(images, torch.zeros(batch)), out_dir=None, resume=False)
    counter = FlopCounterMode(display=False)
    with counter:
        run.train_step(images)
    return counter.get_total_flops() * config.batch_size / batch


def device_peak_flops(device: torch.device, peak_gflops: float | None = None) -> float | None:
    """Peak FLOP/s of the device: --peak-gflops if given, else the table's bf16 peak for known GPUs."""
    if peak_gflops:
        return peak_gflops * 1e9
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for key, tflops in PEAK_TFLOPS.items():  # H200 before H100, L40S before L4, A10G before A10
        if key in name:
            return tflops * 1e12
    return None


def device_description(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as handle:
            cpu = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), cpu)
    return f"CPU {cpu}, {torch.get_num_threads()} threads"


def variant_config(variant: str, size: int, batch: int, device: torch.device,
                   width: int = 64) -> tuple[TrainConfig, bool]:
    """Return (TrainConfig, use CUDA graphs) for one of our variants: resident data plus its feature."""
    if variant == "combined":
        names = ["channels_last", "compile"] + (["bf16", "cudagraphs"] if device.type == "cuda" else [])
        features = {k: v for name in names for k, v in FEATURES[name].items()}
    else:
        features = dict(FEATURES[variant])
    graphs = features.pop("graphs", False)
    config = TrainConfig(image_size=size, batch_size=batch, ngf=width, ndf=width, device=str(device),
                         data_on_device=True, steps=10**9, **features)
    return config, graphs


def build_runner(variant: str, size: int, batch: int, device: torch.device, workers: int,
                 dataset: InMemoryImages, width: int = 64):
    if variant == "baseline":  # pytorch/examples: ngf = ndf = 64, nz = 100, Adam(2e-4, 0.5)
        config = TrainConfig(image_size=size, batch_size=batch, ngf=width, ndf=width)
        return BaselineRun(config, device, workers)
    config, graphs = variant_config(variant, size, batch, device, width)
    return LibraryRun(config, dataset, graphs)


def skip_reason(variant: str, device: torch.device) -> str:
    if variant in CUDA_ONLY and device.type != "cuda":
        return "needs CUDA: skipped"
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")
    return ""


def measure_variant(variant: str, size: int, batch: int, device: torch.device, steps: int,
                    repeats: int, warmup: int, workers: int, dataset: InMemoryImages,
                    width: int = 64) -> BenchRow:
    """Build, warm up (compile happens here) and time one variant; images/s is the median of repeats."""
    row = BenchRow(size, batch, variant, note=skip_reason(variant, device))
    if row.note:
        return row
    synchronize(device)
    reset_peak_memory(device)
    before = memory_mb(device, peak=False)
    started = time.perf_counter()
    runner = build_runner(variant, size, batch, device, workers, dataset, width)
    time_steps(runner, warmup, device)
    row.warmup_s = time.perf_counter() - started
    rates = []
    for _ in range(repeats):
        seconds, images = time_steps(runner, steps, device)
        rates.append(images / seconds)
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


def run_bench(sizes=(32, 64), batch_sizes=(128,), variants=VARIANTS, steps: int = 5, repeats: int = 3,
              warmup: int = 3, device: str = "auto", workers: int = 2,
              peak_gflops: float | None = None, width: int = 64, report=None) -> dict:
    """Measure every variant at every (size, batch); return {"meta": {...}, "rows": [BenchRow as dict]}.

    Variants that need CUDA are listed with a note instead of a rate on other devices.
    ``report``, if given, is called with each BenchRow as soon as it is measured.
    """
    from .train import pick_device
    torch_device = pick_device(device)
    peak = device_peak_flops(torch_device, peak_gflops)
    rows, flops = [], {}
    for size in sizes:
        dataset = load_dataset("mnist5k", image_size=size)
        for batch in batch_sizes:
            group = []
            for variant in variants:
                group.append(measure_variant(variant, size, batch, torch_device, steps, repeats, warmup,
                                             workers, dataset, width))
                if report:
                    report(group[-1])
            flops[size] = count_step_flops(TrainConfig(image_size=size, ngf=width, ndf=width, batch_size=1))
            add_rates(group, flops[size], peak)
            rows += group
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "device": device_description(torch_device), "torch": torch.__version__,
            "peak_gflops": peak / 1e9 if peak else None, "steps": steps, "repeats": repeats,
            "warmup": warmup, "baseline_workers": workers, "ngf_ndf": width,
            "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
            "train_step_gflop_per_image": {str(k): v / 1e9 for k, v in flops.items()}}
    return {"meta": meta, "rows": [asdict(r) for r in rows]}


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


def add_bench_options(parser) -> None:
    """The `python -m dcgan_lib bench` options (defaults: quick on CPU, fuller on CUDA)."""
    parser.add_argument("--sizes", type=int, nargs="+", default=None,
                        help="image sizes (default: 32 on CPU, 32 64 on CUDA)")
    parser.add_argument("--batch-size", type=int, nargs="+", default=None,
                        help="batch sizes (default: 128 on CPU, 128 512 on CUDA)")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per repeat (CPU 3, CUDA 20)")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats; the median is kept (CPU 3, CUDA 5)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps first (CPU 2, CUDA 10)")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--width", type=int, default=64, help="ngf = ndf (pytorch/examples: 64)")
    parser.add_argument("--baseline-workers", type=int, default=2,
                        help="DataLoader workers of the baseline (pytorch/examples default: 2)")
    parser.add_argument("--device", default="auto", help="auto, cuda or cpu")
    parser.add_argument("--peak-gflops", type=float, default=None,
                        help="the device's peak GFLOP/s, for the fraction-of-peak column (needed on CPU)")
    parser.add_argument("--json", type=str, default=None, help="also write the table as JSON here")
    parser.add_argument("--quality", action="store_true",
                        help="instead of timing: train resident, channels_last and compile (and bf16 on CUDA) for "
                             "--quality-steps steps with --quality-seeds seeds, and compare FID/KID of their samples")
    parser.add_argument("--quality-steps", type=int, default=200, help="training steps per --quality run")
    parser.add_argument("--quality-seeds", type=int, default=2,
                        help="seeds per variant in --quality (0, 1, ...): their spread is the noise")


def bench_from_args(args) -> dict:
    """Run the benchmark with parsed command-line options, filling device-dependent defaults."""
    from .train import pick_device
    cuda = pick_device(args.device).type == "cuda"
    if args.quality:
        variants = ("resident", "channels_last", "compile") + (("bf16",) if cuda else ())
        return {"meta": {"device": device_description(pick_device(args.device)), "torch": torch.__version__},
                "quality": quality_check(variants, seeds=tuple(range(args.quality_seeds)),
                                         steps=args.quality_steps, device=args.device)}
    def default(value, on_cpu, on_cuda):
        return value if value is not None else (on_cuda if cuda else on_cpu)
    return run_bench(sizes=default(args.sizes, [32], [32, 64]),
                     batch_sizes=default(args.batch_size, [128], [128, 512]),
                     variants=args.variants, steps=default(args.steps, 3, 20),
                     repeats=default(args.repeats, 3, 5), warmup=default(args.warmup, 2, 10),
                     device=args.device, workers=args.baseline_workers,
                     peak_gflops=args.peak_gflops, width=args.width,
                     report=lambda row: print(f"measured {row}", file=sys.stderr, flush=True))


def quality_check(variants=("resident", "channels_last"), seeds=(0, 1), steps: int = 200, size: int = 32,
                  width: int = 32, batch: int = 64, samples: int = 1000, device: str = "auto") -> list[dict]:
    """Train each variant for the same steps and seeds; return the offline metrics of its samples.

    FID and KID (MNIST-classifier features) against the classifier's 1,000 held-out digits,
    and the classifier's confident share. Two seeds of one variant show the seed-to-seed noise
    that a speed feature's difference must stay within.
    """
    from .metrics import classifier_score, fid_kid, mnist_split
    from .train import pick_device, train
    torch_device = pick_device(device)
    dataset = load_dataset("mnist5k", image_size=size)
    real_images = dataset.images[mnist_split()[1]]
    rows = []
    for variant in variants:
        if skip_reason(variant, torch_device):
            continue
        for seed in seeds:
            config, _ = variant_config(variant, size, batch, torch_device, width)
            result = train(replace(config, steps=steps, seed=seed, log_every=50), dataset, progress=False)
            z = sample_z(samples, config.nz, generator=torch.Generator().manual_seed(1234))
            with torch.no_grad():
                fake_images = result.generator(z.to(torch_device)).float().cpu()
            distances = fid_kid(real_images, fake_images)
            rows.append({"variant": variant, "seed": seed, "steps": steps, "fid": distances["fid"],
                         "kid": distances["kid"], "confident_share": classifier_score(fake_images)["confident_share"]})
    return rows
