"""Stored training runs: real runs too long for a chapter's quick mode, kept small in data/runs/.

A stored run is what a reader would watch if they trained it themselves: the per-step history
(losses, D(x), D(G(z))), a grid of samples from fixed noise at a few steps, and at each of
those steps the MNIST measures of chapter 7 on more samples (share of confidently read
digits, entropy of the predicted classes, offline FID against the held-out digits).
``record_runs`` trains and records them (the data/ scripts call it); ``load_stored_runs``
reads a file back. Chapter 5 shows the failure modes from them.
"""

from __future__ import annotations

import platform
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch

from .checkpoints import read_shipped_weights, save_checkpoint
from .config import TrainConfig
from .data import DATA_DIR, load_dataset, to_uint8
from .metrics import classifier_score, extract_features, fid_kid, mnist_split
from .models import sample_z

RUNS_FORMAT = 1
# the paper's recipe at the size of the stored digit runs: 32x32 mnist5k, G and D 32 channels
# wide, batch 64, seed 0, one process on the CPU; each stored run changes one thing of it
SMALL_RECIPE = TrainConfig(
    dataset="mnist5k",
    image_size=32,
    ngf=32,
    ndf=32,
    batch_size=64,
    seed=0,
    device="cpu",
    log_every=50,
)
SHOWN = 36  # samples kept per snapshot for the grid (6 x 6)
MEASURED = 500  # samples per snapshot for the measures
MEASURE_SEED = 1234


def runs_path(name: str) -> Path:
    """data/runs/NAME.pt."""
    return DATA_DIR / "runs" / f"{name}.pt"


@torch.no_grad()
def measure_snapshot(generator, real_features: torch.Tensor) -> dict[str, float]:
    """Chapter 7's measures on MEASURED samples of an eval-mode G (fixed noise, MEASURE_SEED)."""
    was_training = generator.training
    generator.eval()
    device = next(generator.parameters()).device
    z = sample_z(MEASURED, generator.nz, generator=torch.Generator().manual_seed(MEASURE_SEED))
    fake = generator(z.to(device)).float().cpu()
    generator.train(was_training)
    judged = classifier_score(fake)
    return {
        "confident_share": judged["confident_share"],
        "class_entropy": judged["class_entropy"],
        "fid": fid_kid(real_features, fake, kid_subsets=10, kid_subset_size=200)["fid"],
    }


def record_run(config: TrainConfig, snapshots: tuple[int, ...], real_features) -> dict:
    """Train config to its last snapshot, keeping history, samples and measures. Chapter 5."""
    from .train import Trainer  # train imports checkpoints, which this module also needs

    config = replace(config, steps=max(snapshots))
    dataset = load_dataset(config.dataset, image_size=config.image_size, seed=config.seed)
    trainer = Trainer(config, dataset)
    record = {"steps": [], "images": [], "confident_share": [], "class_entropy": [], "fid": []}

    def snapshot(trainer) -> None:
        if trainer.step not in snapshots:
            return
        record["steps"].append(trainer.step)
        record["images"].append(to_uint8(trainer.fixed_samples(SHOWN)))
        for key, value in measure_snapshot(trainer.sampler, real_features).items():
            record[key].append(value)

    trainer.on_step(snapshot)
    started = time.perf_counter()
    result = trainer.run(progress=False)
    return {
        "config": asdict(trainer.config),
        "history": {k: torch.tensor(v, dtype=torch.float32) for k, v in result.history.items()},
        "steps": torch.tensor(record["steps"]),
        "images": torch.stack(record["images"]),
        **{k: torch.tensor(record[k]) for k in ("confident_share", "class_entropy", "fid")},
        "seconds": time.perf_counter() - started,
    }


def record_runs(
    name: str, configs: dict[str, TrainConfig], snapshots: tuple[int, ...], path=None
) -> Path:
    """Record every run of `configs` and write them to data/runs/NAME.pt (or path)."""
    digits = load_dataset("mnist5k", image_size=32)
    real_features = extract_features(digits.images[mnist_split()[1]])
    runs = {}
    for label, config in configs.items():
        runs[label] = record_run(config, snapshots, real_features)
        print(f"{label}: {runs[label]['seconds']:.0f} s", flush=True)
    path = Path(path or runs_path(name))
    state = {
        "format": RUNS_FORMAT,
        "name": name,
        "runs": runs,
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads, "
        f"torch {torch.__version__}",
    }
    save_checkpoint(path, state)
    return path


def load_stored_runs(name: str) -> dict[str, dict]:
    """The runs of data/runs/NAME.pt: label -> config, history, steps, images, measures.

    ``images`` is uint8 (snapshots, 36, C, H, W); history values are per step. Chapter 5.
    """
    state = read_shipped_weights(
        runs_path(name),
        "stored-runs file",
        f"train_{name.replace('-', '_')}.py",
        required={"format": RUNS_FORMAT, "runs": None},
    )
    return state["runs"]
