"""The DCGAN training loop: the Trainer, and train() that runs one in a single call.

One step = one D update on a real and a fake batch, then one G update with the
non-saturating loss -log D(G(z)) (Goodfellow et al., 2014, section 3). What is not the
recipe lives in small helpers the step calls: the memory format (``prepare``), the noise
share of this process under torchrun (``draw_z``), mixed precision (``precision``), loss
scaling (``update``) and freezing D in the G step (``frozen_discriminator``). Checkpoints
(checkpoints.py) hold everything needed to continue bit for bit. Chapter 5.

The fixes that came after DCGAN are config switches the step honours (chapter 8): the loss
pair (config.loss, config.label_smoothing; losses.pick_losses), WGAN-GP's gradient penalty
added to D's loss, D's own learning rate (config.d_lr, TTUR) and spectral normalisation in
D (config.spectral_norm, models.py). WGAN-GP keeps one critic step per G step here.
With config.categories > 0, InfoGAN's categorical code (Chen et al., 2016): z ends in a
one-hot code, D's head Q guesses it from the fake images, and Q's cross-entropy (times
config.info_weight) is added to D's loss and to G's; the history gains its "loss_Q".
"""

from __future__ import annotations

import contextlib
import copy
import math
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from .augment import diff_augment, update_average
from .checkpoints import (
    CHECKPOINT_NAME,
    load_checkpoint,
    restore_trainer,
    save_checkpoint,
    trainer_state,
)
from .config import TrainConfig
from .data import BatchStream, load_dataset
from .distributed import (
    init_distributed,
    launched_by_torchrun,
    skip_grad_sync,
    wrap_for_training,
)
from .errors import ConfigError, TrainingDiverged, TrainingInterrupted
from .losses import gradient_penalty, pick_losses
from .models import Discriminator, Generator, build_models, code_of, frozen, sample_z
from .runtime import (
    StopSignals,
    check_layout,
    check_precision,
    pick_device,
    precision_context,
    settle_speed_settings,
)

HISTORY_KEYS = ("loss_D", "loss_G", "D_x", "D_G_z")


@dataclass
class TrainResult:
    """What train() returns: the trained models, the per-step history and where files went.

    ``generator`` is the G to sample from: the weight average when config.ema > 0. Chapter 5.
    """

    generator: Generator
    discriminator: Discriminator
    history: dict[str, list[float]]
    step: int
    out_dir: Path | None
    seconds: float

    @property
    def checkpoint_path(self) -> Path | None:
        return self.out_dir / CHECKPOINT_NAME if self.out_dir else None


class Trainer:
    """One training run: G, D, their Adam optimisers, the step, the history. Chapter 5.

    ``Trainer(config, dataset).run()`` trains to ``config.steps`` (train() does just that);
    ``trainer.train_step(real_images)`` takes one step by hand. With ``out_dir`` set, an
    existing ``out_dir/checkpoint.pt`` is resumed (unless ``resume=False``), and run()
    writes sample grids and checkpoints there. ``on_step(fn)`` calls ``fn(trainer)``
    after every step of run(): a notebook can watch or record without touching the loop.
    """

    def __init__(
        self,
        config: TrainConfig,
        dataset: Dataset,
        out_dir: str | Path | None = None,
        resume: bool = True,
    ):
        self.out_dir = Path(out_dir) if out_dir is not None else None
        if config.loss == "wgan-gp" and launched_by_torchrun():
            # gradient_penalty calls the unwrapped D: under DDP its gradients would not be synced
            raise ConfigError(
                "loss='wgan-gp' is not supported under torchrun (its gradient penalty bypasses "
                "DDP); train it in one process (python -m dcgan_lib train ...) or use loss='hinge'"
            )
        self.dist = init_distributed(pick_device(config.device))  # one process unless torchrun
        self.device = self.dist.device
        path = self.out_dir / CHECKPOINT_NAME if self.out_dir is not None else None
        # on the CPU: RNG states must be CPU tensors; load_state_dict moves the weights
        saved = load_checkpoint(path, "cpu") if resume and path and path.exists() else None
        # precision "auto" and channels_last None: the checkpoint's, or the device's fastest
        config = settle_speed_settings(config, self.device, saved and saved.get("config"))
        self.config = config
        check_precision(self.device, config.precision)
        check_layout(self.device, config.compile, config.channels_last)
        self.nc = dataset[0][0].shape[0]
        self.build_models_and_optimisers()
        self.noise_rng = torch.Generator(device=self.device).manual_seed(config.seed)
        fixed_rng = torch.Generator().manual_seed(config.seed + 1)
        self.fixed_noise = sample_z(
            64, config.nz, config.z_distribution, fixed_rng, categories=config.categories
        )
        # with a categorical code, also Q's cross-entropy in the G step
        self.history_keys = HISTORY_KEYS + (("loss_Q",) if config.categories else ())
        self.step, self.history = 0, {key: [] for key in self.history_keys}
        self.pending: list[torch.Tensor] = []
        self.last_checkpoint: Path | None = None
        self.callbacks: list[Callable[[Trainer], None]] = []
        if saved is not None:
            restore_trainer(self, saved, path)
        # the modules the step calls: G and D themselves, or wrapped in DDP / torch.compile
        wrap = (self.dist, config.compile, config.sync_batchnorm)
        self.G_wrapped = wrap_for_training(self.G, *wrap)
        self.D_wrapped = wrap_for_training(self.D, *wrap)
        self.batches = BatchStream(
            dataset, config.batch_size, config.seed, self.device, config.data_on_device,
            config.num_workers,
        )  # fmt: skip
        self.batches.share = self.dist.share(config.batch_size)

    def build_models_and_optimisers(self) -> None:
        """G and D with weights drawn from the config's seed, and an Adam optimiser for each."""
        config = self.config
        torch.manual_seed(config.seed)
        self.G, self.D = (m.to(self.device) for m in build_models(config, self.nc))
        if config.channels_last:
            self.G, self.D = (m.to(memory_format=torch.channels_last) for m in (self.G, self.D))
        betas = (config.beta1, config.beta2)
        self.g_optimizer = torch.optim.Adam(self.G.parameters(), lr=config.lr, betas=betas)
        d_lr = config.lr if config.d_lr is None else config.d_lr  # TTUR: D's own rate
        self.d_optimizer = torch.optim.Adam(self.D.parameters(), lr=d_lr, betas=betas)
        # the paper's BCE pair unless config.loss or config.label_smoothing say otherwise
        self.discriminator_loss, self.generator_loss = pick_losses(
            config.loss, config.label_smoothing
        )
        # config.ema > 0: a slowly moving average of G's weights, the G that samples are drawn from
        self.G_average = copy.deepcopy(self.G).requires_grad_(False) if config.ema else None
        # fp16 only: scale the losses so that small gradients do not underflow
        self.scaler = torch.amp.GradScaler("cuda", enabled=config.precision == "fp16")

    # ------------------------------------------------------------------------- the step

    def train_step(self, real_images: torch.Tensor) -> None:
        """One step of the paper's recipe: update D on a real and a fake batch, then update G."""
        real_images = self.prepare(real_images)
        z = self.draw_z(real_images.shape[0])
        codes = code_of(z, self.config.categories) if self.config.categories else None
        with self.precision():
            fake_images = self.G_wrapped(z)
            # D step: real and fake in separate batches, so BatchNorm sees each alone
            real_seen = self.augment(real_images)
            real_logits = self.D_wrapped(real_seen)
            # detach: the D step must not update G
            fake_seen = self.augment(fake_images.detach())
            fake_logits, code_loss = self.judge(fake_seen, codes)
            d_loss = self.discriminator_loss(real_logits, fake_logits)
            if codes is not None:  # Q learns to read the code (InfoGAN; chapter 8)
                d_loss = d_loss + self.config.info_weight * code_loss
        if self.config.loss == "wgan-gp":  # chapter 8: hold the critic's slope near 1
            d_loss = d_loss + self.config.gp_weight * gradient_penalty(
                self.D, real_seen, fake_seen
            )
        self.update(self.d_optimizer, d_loss)
        # G step: D is only the path G's gradient flows through, so its weights are frozen
        with self.frozen_discriminator(), self.precision():
            gen_logits, code_loss = self.judge(self.augment(fake_images), codes)
            # paper: non-saturating, minimise -log D(G(z)) instead of log(1 - D(G(z)))
            g_loss = self.generator_loss(gen_logits)
            if codes is not None:  # G learns to draw each category so that Q can read it
                g_loss = g_loss + self.config.info_weight * code_loss
        self.update(self.g_optimizer, g_loss)
        if self.G_average is not None:
            update_average(self.G_average, self.G, self.config.ema)
        self.scaler.update()  # fp16: adjust the loss scale once per step (else a no-op)
        self.record(d_loss, g_loss, real_logits, gen_logits, code_loss)
        self.step += 1

    def judge(
        self, images: torch.Tensor, codes: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """D's logits for images, and with a categorical code Q's cross-entropy against codes."""
        if codes is None:
            return self.D_wrapped(images), None
        logits, code_logits = self.D_wrapped(images, with_code=True)
        return logits, F.cross_entropy(code_logits.float(), codes)

    def prepare(self, real_images: torch.Tensor) -> torch.Tensor:
        """The batch in the models' memory format (NHWC when config.channels_last)."""
        if self.config.channels_last:
            return real_images.contiguous(memory_format=torch.channels_last)
        return real_images

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        """What D sees: the images, or with config.augment their DiffAugment (augment.py)."""
        if not self.config.augment:
            return images
        return self.prepare(diff_augment(images, self.config.augment))

    @property
    def sampler(self) -> Generator:
        """The G that samples and exports come from: the weight average when config.ema > 0."""
        return self.G if self.G_average is None else self.G_average

    def draw_z(self, batch: int) -> torch.Tensor:
        """Noise for this process's batch: every process draws the global batch, keeps its share."""
        global_batch = batch * self.dist.world_size
        config = self.config
        z = sample_z(
            global_batch,
            config.nz,
            config.z_distribution,
            self.noise_rng,
            self.device,
            categories=config.categories,
        )
        return z[self.dist.share(global_batch)]

    def precision(self):
        """The autocast context of the forward passes (nothing for fp32)."""
        return precision_context(self.device, self.config.precision)

    def update(self, optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        """zero_grad, backward, step: the loss scaled first under fp16 (identity otherwise)."""
        optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(optimizer)

    @contextlib.contextmanager
    def frozen_discriminator(self):
        """D's weights need no gradient in the G step: the next D step would discard them.

        Saves D's weight-gradient work, about 8% of a step's FLOPs (chapter 6 counts it),
        and under DDP their all-reduce. G's gradient is bit for bit the same.
        """
        with frozen(self.D), skip_grad_sync(self.D_wrapped):
            yield

    def record(self, d_loss, g_loss, real_logits, gen_logits, code_loss=None) -> None:
        """Keep the step's losses, D(x) and D(G(z)) (and Q's cross-entropy) on the device;
        flush() moves them."""
        values = [
            d_loss.detach().float(),
            g_loss.detach().float(),
            torch.sigmoid(real_logits.detach().float()).mean(),
            torch.sigmoid(gen_logits.detach().float()).mean(),
        ]
        if code_loss is not None:
            values.append(code_loss.detach().float())
        self.pending.append(torch.stack(values))

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
            kept = (
                f"the last good checkpoint, {self.last_checkpoint}, is untouched"
                if self.last_checkpoint
                else "no checkpoint had been written yet"
            )
            raise TrainingDiverged(
                f"training diverged: loss_D={values[row, 0].item()}, "
                f"loss_G={values[row, 1].item()} at step {first_step + row}; {kept}. "
                f"Lower lr (paper: 2e-4), keep batch_norm='both', or use precision='fp32'"
            )
        for key, column in zip(self.history_keys, values.T.tolist()):
            self.history[key].extend(column)

    # ------------------------------------------------------------------------- files

    @torch.no_grad()
    def fixed_samples(self, n: int | None = None) -> torch.Tensor:
        """The sampler's images (on the CPU) of the first n fixed noise vectors (all 64 by
        default), drawn in eval mode; G is put back in training mode. Chapter 5."""
        images = self.sampler.eval()(self.fixed_noise[:n].to(self.device)).float().cpu()
        self.G.train()
        return images

    @torch.no_grad()
    def save_samples(self) -> Path:
        """Write a grid of G's images from the fixed noise to out_dir/samples/step_XXXXXX.png."""
        from torchvision.utils import save_image

        images = self.fixed_samples()
        path = self.out_dir / "samples" / f"step_{self.step:06d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        save_image(images, path, nrow=8, normalize=True, value_range=(-1, 1))
        return path

    def save(self) -> Path:
        """Write out_dir/checkpoint.pt atomically (after a NaN check: never past a NaN)."""
        self.flush()
        path = self.out_dir / CHECKPOINT_NAME
        save_checkpoint(path, trainer_state(self))
        self.last_checkpoint = path
        return path

    # ------------------------------------------------------------------------- the loop

    def on_step(self, callback: Callable[[Trainer], None]) -> None:
        """Call ``callback(trainer)`` after every step of run()."""
        self.callbacks.append(callback)

    def run(self, progress: bool = True) -> TrainResult:
        """Train to config.steps; sample and checkpoint every so often; stop cleanly on a signal.

        SIGINT (Ctrl-C) or SIGTERM lets the current step finish, writes the checkpoint at that
        step and raises TrainingInterrupted saying how to resume.
        """
        from tqdm.auto import tqdm

        writes = self.out_dir is not None and self.dist.is_main  # only rank 0 writes files
        start, started = self.step, time.perf_counter()
        bar = tqdm(
            total=self.config.steps,
            initial=start,
            disable=not (progress and writes),
            desc="training",
            unit="step",
        )
        batches = self.batches.from_step(self.step)
        with StopSignals() as stop:
            while self.step < self.config.steps and not self.stop_requested(stop):
                self.train_step(next(batches))
                self.after_step(bar, writes)
        bar.close()
        self.flush()
        if writes and self.step > start:
            if self.step % self.config.sample_every:
                self.save_samples()
            self.save()
        result = TrainResult(
            self.sampler.eval(),
            self.D.eval(),
            self.history,
            self.step,
            self.out_dir if writes else None,
            time.perf_counter() - started,
        )
        if self.step < self.config.steps:  # the loop ended early: a stop signal
            raise TrainingInterrupted(
                stop.received or signal.SIGTERM,
                self.step,
                self.last_checkpoint if writes else None,
                elsewhere=not self.dist.is_main,
                result=result,
            )
        return result

    def stop_requested(self, stop: StopSignals) -> bool:
        """Whether a stop signal ends the run before the next step. One process asks after
        every step; under torchrun the processes agree every log_every steps, when the loop
        syncs anyway (an all-reduce after every step would stall the GPU)."""
        if self.dist.enabled and self.step % self.config.log_every:
            return False
        return self.dist.any(stop.received is not None)

    def after_step(self, bar, writes: bool) -> None:
        """Log, sample, checkpoint and call the callbacks, each when its period comes round."""
        config = self.config
        if self.step % config.log_every == 0:
            self.flush()
            bar.set_postfix(
                loss_D=f"{self.history['loss_D'][-1]:.3f}",
                loss_G=f"{self.history['loss_G'][-1]:.3f}",
            )
        if writes and self.step % config.sample_every == 0:
            self.save_samples()
        if writes and self.step % config.checkpoint_every == 0:
            self.save()
        for callback in self.callbacks:
            callback(self)
        bar.update(1)


def train(
    config: TrainConfig | None = None,
    dataset: Dataset | None = None,
    out_dir: str | Path | None = None,
    resume: bool = True,
    progress: bool = True,
) -> TrainResult:
    """Train a DCGAN for config.steps steps (continuing from out_dir's checkpoint if any).

    ``dataset`` defaults to ``load_dataset(config.dataset, ...)``. With ``out_dir`` set,
    sample grids go to ``out_dir/samples/step_XXXXXX.png`` and the checkpoint to
    ``out_dir/checkpoint.pt``. Raises TrainingDiverged on a NaN loss. Chapter 5.
    """
    config = config or TrainConfig()
    if dataset is None:
        dataset = load_dataset(
            config.dataset,
            root=config.data_root or None,
            image_size=config.image_size,
            download=config.download,
            seed=config.seed,
        )
    return Trainer(config, dataset, out_dir, resume).run(progress)


def history_summary(history: dict[str, list[float]], last: int = 50) -> dict[str, float]:
    """Mean of each history series over the last `last` steps (NaN where empty). Chapter 5."""
    return {
        key: (sum(values[-last:]) / len(values[-last:]) if values else math.nan)
        for key, values in history.items()
    }
