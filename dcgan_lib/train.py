"""The DCGAN training loop, its configuration and its checkpoints.

One step = one D update on a real and a fake batch, then one G update with the
non-saturating loss -log D(G(z)) (Goodfellow et al., 2014, section 3). Checkpoints hold
everything needed to continue bit for bit: models, optimisers, RNG states, config, step
and history. They are written atomically (temporary file, then rename).
"""
from __future__ import annotations

import contextlib
import math
import os
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from .data import DATA_DIR, InMemoryImages, load_dataset
from .distributed import init_distributed, skip_grad_sync, wrap_for_training
from .models import Discriminator, Generator, frozen
from .storage import CheckpointError, read_state, restore_module

CHECKPOINT_NAME = "checkpoint.pt"
CHECKPOINT_FORMAT = 1
HISTORY_KEYS = ("loss_D", "loss_G", "D_x", "D_G_z")


def param(default, help_text: str):
    """A dataclass field with a default and the help text the command line shows."""
    return field(default=default, metadata={"help": help_text})


@dataclass
class TrainConfig:
    """Everything that defines a training run; the defaults are the paper's recipe."""
    dataset: str = param("mnist5k", "dataset for load_dataset; mnist5k ships offline")
    image_size: int = param(32, "image side in pixels, 16..128; paper: 64")
    nz: int = param(100, "length of z: paper, Figure 1")
    ngf: int = param(64, "channels of G's last hidden layer; paper, Figure 1: 128")
    ndf: int = param(64, "channels of D's first layer")
    batch_size: int = param(128, "mini-batch size: paper, section 4")
    lr: float = param(2e-4, "Adam learning rate: paper, section 4 (0.001 was too high)")
    beta1: float = param(0.5, "Adam beta1: paper, section 4 (0.9 oscillated)")
    beta2: float = param(0.999, "Adam beta2: Adam's default, kept by the paper")
    leaky_slope: float = param(0.2, "LeakyReLU slope in D: paper, section 4")
    init_std: float = param(0.02, "weights ~ N(0, init_std): paper, section 4")
    batch_norm: bool = param(True, "BatchNorm in G and D: paper, section 3")
    z_distribution: str = param("normal", "normal (pytorch/examples) or uniform (paper, Figure 1)")
    steps: int = param(1000, "optimisation steps, each one D and one G update")
    seed: int = param(0, "seeds weights, noise and data order")
    precision: str = param("fp32", "fp32, bf16 or fp16 autocast (bf16/fp16 on GPU only)")
    channels_last: bool = param(False, "NHWC memory format, faster convolutions on GPU")
    compile: bool = param(False, "torch.compile the models (first steps are slower)")
    data_on_device: bool = param(True, "keep an in-memory dataset on the GPU, no loader")
    num_workers: int = param(0, "DataLoader workers for file-based datasets")
    sync_batchnorm: bool = param(False, "under torchrun: BatchNorm over the global batch (CUDA only)")
    device: str = param("auto", "auto (cuda > mps > cpu), cuda, mps or cpu")
    sample_every: int = param(100, "steps between sample grids from the fixed noise")
    checkpoint_every: int = param(100, "steps between checkpoints (and one at the end)")
    log_every: int = param(10, "steps between history flushes and NaN checks")
    data_root: str = param("", "folder for downloaded datasets (default ~/dcgan_datasets)")
    download: bool = param(False, "download a torchvision dataset if it is missing")


# fields that may differ when a run is resumed: they do not change what is computed
RESUMABLE_FIELDS = {"steps", "sample_every", "checkpoint_every", "log_every", "num_workers",
                    "data_root", "download", "device", "sync_batchnorm"}


@dataclass
class TrainResult:
    """What train() returns: the trained models, the per-step history and where files went."""
    generator: Generator
    discriminator: Discriminator
    history: dict[str, list[float]]
    step: int
    out_dir: Path | None
    seconds: float

    @property
    def checkpoint_path(self) -> Path | None:
        return self.out_dir / CHECKPOINT_NAME if self.out_dir else None


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite."""


def pick_device(preference: str = "auto") -> torch.device:
    """Return cuda if available, else mps, else cpu (or the named device)."""
    if preference != "auto":
        return torch.device(preference)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def sample_z(n: int, nz: int, distribution: str = "normal", generator: torch.Generator | None = None,
             device: torch.device | str = "cpu") -> torch.Tensor:
    """Return n noise vectors, shape (n, nz): N(0, 1) or U(-1, 1)."""
    if distribution == "normal":
        return torch.randn(n, nz, generator=generator, device=device)
    if distribution == "uniform":
        return torch.rand(n, nz, generator=generator, device=device).mul_(2).sub_(1)
    raise ValueError(f"z_distribution must be 'normal' or 'uniform', got {distribution!r}")


def build_models(config: TrainConfig, nc: int) -> tuple[Generator, Discriminator]:
    """Return (G, D) for a config; weights drawn from the current torch seed."""
    generator = Generator(config.nz, config.ngf, config.image_size, nc,
                          batch_norm=config.batch_norm, init_std=config.init_std)
    discriminator = Discriminator(nc, config.ndf, config.image_size, batch_norm=config.batch_norm,
                                  leaky_slope=config.leaky_slope, init_std=config.init_std)
    return generator, discriminator


# ----------------------------------------------------------------------------- data

class BatchStream:
    """Batches in an order that depends only on (seed, step): epoch e is randperm(seed + e).

    Because the order is a function of the step, a resumed run sees exactly the batches
    the uninterrupted run would have seen. In-memory datasets are indexed directly (on
    the training device if asked); others go through a DataLoader.
    """

    def __init__(self, dataset: Dataset, batch_size: int, seed: int, device: torch.device,
                 on_device: bool, num_workers: int = 0):
        if len(dataset) < batch_size:
            raise ValueError(f"the dataset has {len(dataset)} images, fewer than batch_size="
                             f"{batch_size}; lower batch_size")
        self.dataset, self.batch_size, self.seed, self.device = dataset, batch_size, seed, device
        self.batches_per_epoch = len(dataset) // batch_size  # drop the ragged last batch
        self.num_workers = num_workers
        self.share = slice(None)  # this process's rows of every batch; _Run narrows it under torchrun
        self.images = None
        if isinstance(dataset, InMemoryImages):
            self.images = dataset.images.to(device) if on_device else dataset.images

    def _order(self, epoch: int) -> torch.Tensor:
        return torch.randperm(len(self.dataset), generator=torch.Generator().manual_seed(self.seed + epoch))

    def from_step(self, step: int):
        """Yield image batches on the device, starting with the batch of `step`, forever."""
        epoch, offset = divmod(step, self.batches_per_epoch)
        while True:
            order = self._order(epoch)[: self.batches_per_epoch * self.batch_size]
            chunks = order.view(self.batches_per_epoch, self.batch_size)[offset:, self.share]
            if self.images is not None:
                for index in chunks:
                    yield self.images[index.to(self.images.device)].to(self.device, non_blocking=True)
            else:
                loader = DataLoader(self.dataset, batch_sampler=chunks.tolist(), num_workers=self.num_workers,
                                    pin_memory=self.device.type == "cuda")
                for images, _ in loader:
                    yield images.to(self.device, non_blocking=True)
            epoch, offset = epoch + 1, 0


# ----------------------------------------------------------------------------- checkpoints

def save_checkpoint(path: Path, state: dict) -> None:
    """Write state atomically: a crash mid-write leaves the previous checkpoint intact."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    torch.save(state, temporary)
    os.replace(temporary, path)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint with weights_only=True; raise CheckpointError naming the fix."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}; train one with "
                              f"`python -m dcgan_lib train --out {path.parent}`")
    return read_state(path, "dcgan_lib checkpoint",
                      "delete it or point to another file",
                      required={"format": CHECKPOINT_FORMAT, "config": None, "nc": None},
                      map_location=map_location)


def config_mismatches(saved: dict, config: TrainConfig) -> list[str]:
    """Return 'field: saved -> requested' for every field that forbids resuming."""
    requested = asdict(config)
    return [f"{name}={saved.get(name)!r} in the checkpoint but {requested[name]!r} requested"
            for name in requested if name not in RESUMABLE_FIELDS and saved.get(name) != requested[name]]


def config_from_checkpoint(state: dict) -> TrainConfig:
    known = {f.name for f in fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in state["config"].items() if k in known})


_REMAKE = "re-export it with `python -m dcgan_lib export`, or train it again"


def load_generator(path: str | Path, device: str | torch.device = "cpu") -> Generator:
    """Return the generator stored in a checkpoint, in eval mode, on device."""
    state = load_checkpoint(path)
    config = config_from_checkpoint(state)
    generator, _ = build_models(config, state["nc"])
    restore_module(generator, state.get("generator"), path, "generator", _REMAKE)
    return generator.to(device).eval()


def load_discriminator(path: str | Path, device: str | torch.device = "cpu") -> Discriminator:
    """Return the discriminator stored in a checkpoint, in eval mode, on device."""
    state = load_checkpoint(path)
    _, discriminator = build_models(config_from_checkpoint(state), state["nc"])
    restore_module(discriminator, state.get("discriminator"), path, "discriminator", _REMAKE)
    return discriminator.to(device).eval()


def pretrained_path(name: str) -> Path:
    """Return the path of a small pretrained checkpoint shipped in data/checkpoints/, e.g. 'mnist5k-32'."""
    folder = DATA_DIR / "checkpoints"
    path = folder / f"{name}.pt"
    if not path.exists():
        available = sorted(p.stem for p in folder.glob("*.pt")) if folder.is_dir() else []
        raise FileNotFoundError(f"no pretrained checkpoint {name!r} in {folder}; available: "
                                f"{', '.join(available) or 'none'} (data/README.md says how each was trained)")
    return path


def export_checkpoint(source: str | Path, target: str | Path, half: bool = False) -> Path:
    """Write a small copy of a checkpoint (models, config, history; no optimiser state)."""
    state = load_checkpoint(source)
    keep = {k: state[k] for k in ("format", "config", "step", "nc", "generator", "discriminator",
                                  "history", "fixed_noise")}
    if half:  # float16 halves the file; weights are cast back to float32 when loaded
        for key in ("generator", "discriminator"):
            keep[key] = {n: t.half() if t.is_floating_point() else t for n, t in keep[key].items()}
    save_checkpoint(Path(target), keep)
    return Path(target)


# ----------------------------------------------------------------------------- the loop

def _autocast(device: torch.device, precision: str):
    if precision == "fp32":
        return contextlib.nullcontext()
    if device.type != "cuda":
        raise ValueError(f"precision={precision!r} needs a CUDA GPU (device is {device.type}); use fp32")
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    return torch.autocast("cuda", dtype=dtype)


class _Run:
    """The mutable state of one training run; train() drives it step by step."""

    def __init__(self, config: TrainConfig, dataset: Dataset, out_dir: Path | None, resume: bool):
        if config.precision not in ("fp32", "bf16", "fp16"):
            raise ValueError(f"precision must be fp32, bf16 or fp16, got {config.precision!r}")
        self.config, self.out_dir = config, out_dir
        self.dist = init_distributed(pick_device(config.device))  # single process unless torchrun
        self.device = self.dist.device
        self.nc = dataset[0][0].shape[0]
        torch.manual_seed(config.seed)
        self.G, self.D = (m.to(self.device) for m in build_models(config, self.nc))
        if config.channels_last:
            self.G, self.D = (m.to(memory_format=torch.channels_last) for m in (self.G, self.D))
        betas = (config.beta1, config.beta2)
        self.g_opt = torch.optim.Adam(self.G.parameters(), lr=config.lr, betas=betas)
        self.d_opt = torch.optim.Adam(self.D.parameters(), lr=config.lr, betas=betas)
        self.scaler = torch.amp.GradScaler("cuda", enabled=config.precision == "fp16")
        self.noise = torch.Generator(device=self.device).manual_seed(config.seed)
        self.fixed_noise = sample_z(64, config.nz, config.z_distribution,
                                    torch.Generator().manual_seed(config.seed + 1))
        self.step, self.history = 0, {key: [] for key in HISTORY_KEYS}
        self.pending: list[torch.Tensor] = []
        self.last_checkpoint: Path | None = None
        if resume and out_dir is not None and (out_dir / CHECKPOINT_NAME).exists():
            self.restore(load_checkpoint(out_dir / CHECKPOINT_NAME, self.device))
        self.G_step = wrap_for_training(self.G, self.dist, config.compile, config.sync_batchnorm)
        self.D_step = wrap_for_training(self.D, self.dist, config.compile, config.sync_batchnorm)
        self.batches = BatchStream(dataset, config.batch_size, config.seed, self.device,
                                   config.data_on_device, config.num_workers)
        self.batches.share = self.dist.share(config.batch_size)

    def state(self) -> dict:
        rng = {"torch": torch.get_rng_state(), "noise": self.noise.get_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        return {"format": CHECKPOINT_FORMAT, "config": asdict(self.config), "step": self.step,
                "nc": self.nc, "generator": self.G.state_dict(), "discriminator": self.D.state_dict(),
                "g_optimizer": self.g_opt.state_dict(), "d_optimizer": self.d_opt.state_dict(),
                "scaler": self.scaler.state_dict(), "rng": rng, "history": self.history,
                "fixed_noise": self.fixed_noise}

    def restore(self, state: dict) -> None:
        path = self.out_dir / CHECKPOINT_NAME
        mismatches = config_mismatches(state["config"], self.config)
        if state.get("nc") != self.nc:
            mismatches.append(f"nc={state.get('nc')!r} in the checkpoint but the data has nc={self.nc}")
        if mismatches:
            raise CheckpointError(f"{path} was written by a different config: {'; '.join(mismatches)}. "
                                  f"Use the same config to resume, or a new out_dir (or resume=False "
                                  f"/ --no-resume) to start over")
        self.G.load_state_dict(state["generator"])
        self.D.load_state_dict(state["discriminator"])
        self.g_opt.load_state_dict(state["g_optimizer"])
        self.d_opt.load_state_dict(state["d_optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng"]["torch"])
        self.noise.set_state(state["rng"]["noise"])
        if "cuda" in state["rng"] and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["rng"]["cuda"], self.device)
        self.step, self.history = state["step"], state["history"]
        self.fixed_noise = state["fixed_noise"]
        self.last_checkpoint = path

    def train_step(self, real_images: torch.Tensor) -> None:
        config, batch = self.config, real_images.shape[0]
        if config.channels_last:
            real_images = real_images.contiguous(memory_format=torch.channels_last)
        ones = torch.ones(batch, device=self.device)
        zeros = torch.zeros(batch, device=self.device)
        # every process draws the global batch of noise and keeps its share, like the images
        global_batch = batch * self.dist.world_size
        z = sample_z(global_batch, config.nz, config.z_distribution, self.noise, self.device)
        z = z[self.dist.share(global_batch)]
        with _autocast(self.device, config.precision):
            fake_images = self.G_step(z)
            # D step: real and fake in separate batches, so BatchNorm sees each alone
            logits_real = self.D_step(real_images)
            # detach: the D step must not update G
            logits_fake = self.D_step(fake_images.detach())
            d_loss = (F.binary_cross_entropy_with_logits(logits_real, ones)
                      + F.binary_cross_entropy_with_logits(logits_fake, zeros))
        self.d_opt.zero_grad(set_to_none=True)
        self.scaler.scale(d_loss).backward()
        self.scaler.step(self.d_opt)
        # G step: D is only the path G's gradient flows through, so D's weights are frozen: no
        # weight gradients that the next D step would throw away (about a sixth of a step's
        # FLOPs), and under DDP no all-reduce of them. G's gradient is bit for bit the same.
        with frozen(self.D), skip_grad_sync(self.D_step), _autocast(self.device, config.precision):
            # non-saturating G loss: maximise log D(G(z)) instead of minimising log(1 - D(G(z)))
            logits_gen = self.D_step(fake_images)
            g_loss = F.binary_cross_entropy_with_logits(logits_gen, ones)
        self.g_opt.zero_grad(set_to_none=True)
        self.scaler.scale(g_loss).backward()
        self.scaler.step(self.g_opt)
        self.scaler.update()
        self.pending.append(torch.stack([d_loss.detach().float(), g_loss.detach().float(),
                                         torch.sigmoid(logits_real.detach().float()).mean(),
                                         torch.sigmoid(logits_gen.detach().float()).mean()]))
        self.step += 1

    def flush(self) -> None:
        """Move pending per-step values to the history; raise on a NaN or infinite loss."""
        if not self.pending:
            return
        values = torch.stack(self.pending).cpu()
        first_step = self.step - len(self.pending) + 1
        self.pending = []
        bad = (~torch.isfinite(values[:, :2])).any(dim=1).nonzero()
        if len(bad):
            row = int(bad[0])
            kept = (f"the last good checkpoint, {self.last_checkpoint}, is untouched"
                    if self.last_checkpoint else "no checkpoint had been written yet")
            raise TrainingDiverged(
                f"training diverged: loss_D={values[row, 0].item()}, loss_G={values[row, 1].item()} "
                f"at step {first_step + row}; {kept}. Lower lr (paper: 2e-4), keep batch_norm=True, "
                f"or use precision='fp32'")
        for key, column in zip(HISTORY_KEYS, values.T.tolist()):
            self.history[key].extend(column)

    @torch.no_grad()
    def save_samples(self) -> Path:
        from torchvision.utils import save_image
        self.G.eval()
        images = self.G(self.fixed_noise.to(self.device)).float().cpu()
        self.G.train()
        path = self.out_dir / "samples" / f"step_{self.step:06d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        save_image(images, path, nrow=8, normalize=True, value_range=(-1, 1))
        return path

    def save(self) -> None:
        self.flush()  # never checkpoint past a NaN
        path = self.out_dir / CHECKPOINT_NAME
        save_checkpoint(path, self.state())
        self.last_checkpoint = path


def train(config: TrainConfig | None = None, dataset: Dataset | None = None,
          out_dir: str | Path | None = None, resume: bool = True, progress: bool = True) -> TrainResult:
    """Train a DCGAN for config.steps steps (continuing from out_dir's checkpoint if any).

    ``dataset`` defaults to ``load_dataset(config.dataset, ...)``. With ``out_dir`` set,
    sample grids go to ``out_dir/samples/step_XXXXXX.png`` and the checkpoint to
    ``out_dir/checkpoint.pt``. Raises TrainingDiverged on a NaN loss.
    """
    from tqdm.auto import tqdm
    config = config or TrainConfig()
    if dataset is None:
        dataset = load_dataset(config.dataset, root=config.data_root or None,
                               image_size=config.image_size, download=config.download, seed=config.seed)
    out_dir = Path(out_dir) if out_dir is not None else None
    run = _Run(config, dataset, out_dir, resume)
    if not run.dist.is_main:  # under torchrun only rank 0 shows progress, samples and checkpoints
        out_dir, progress = None, False
    start, started = run.step, time.perf_counter()
    bar = tqdm(total=config.steps, initial=start, disable=not progress, desc="training", unit="step")
    batches = run.batches.from_step(run.step)
    while run.step < config.steps:
        run.train_step(next(batches))
        if run.step % config.log_every == 0:
            run.flush()
            bar.set_postfix(loss_D=f"{run.history['loss_D'][-1]:.3f}", loss_G=f"{run.history['loss_G'][-1]:.3f}")
        if out_dir is not None and run.step % config.sample_every == 0:
            run.save_samples()
        if out_dir is not None and run.step % config.checkpoint_every == 0:
            run.save()
        bar.update(1)
    bar.close()
    run.flush()
    if out_dir is not None and run.step > start:
        if run.step % config.sample_every:
            run.save_samples()
        run.save()
    return TrainResult(run.G.eval(), run.D.eval(), run.history, run.step, out_dir,
                       time.perf_counter() - started)


def history_summary(history: dict[str, list[float]], last: int = 50) -> dict[str, float]:
    """Mean of each history series over the last `last` steps (NaN where empty)."""
    return {key: (sum(values[-last:]) / len(values[-last:]) if values else math.nan)
            for key, values in history.items()}
