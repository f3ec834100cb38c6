"""Data-parallel training across processes: `torchrun --nproc_per_node=N -m dcgan_lib train ...`.

torchrun starts N copies of the program and tells each one who it is through the
environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT). Each copy holds a
full replica of G and D wrapped in DistributedDataParallel, which averages the gradients
across copies during backward, so every replica takes the same optimiser step and they
stay identical.

``config.batch_size`` stays the global batch: data.py's BatchStream produces the same
global batches as a single process (ordered by seed and step) and each rank takes its
contiguous share of every batch, so a run is the same recipe whatever the number of
processes. The noise z is sharded the same way. Only rank 0 logs, writes samples and
checkpoints. BatchNorm normalises each rank's share alone unless ``sync_batchnorm`` is set
(SyncBatchNorm, CUDA only), which normalises over the global batch like one process does.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK")


@dataclass(frozen=True)
class DistributedContext:
    """Which process this is; the defaults describe a plain single-process run."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """True on the process that logs, samples and checkpoints (rank 0)."""
        return self.rank == 0

    def any(self, flag: bool) -> bool:
        """True if flag is true on any process: an all-reduce under torchrun, flag itself alone.

        The training loop asks it after every step whether any process was told to stop, so
        that all of them stop after the same step instead of waiting for each other.
        """
        if not self.enabled:
            return flag
        import torch.distributed as dist

        value = torch.tensor([int(flag)], device=self.device)
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item())

    def share(self, global_batch: int) -> slice:
        """This rank's contiguous rows of a global batch; raise if it does not divide evenly."""
        if global_batch % self.world_size:
            raise ValueError(
                f"batch_size={global_batch} does not divide into {self.world_size} processes; "
                f"use a batch_size that is a multiple of the number of processes"
            )
        per_rank = global_batch // self.world_size
        return slice(self.rank * per_rank, (self.rank + 1) * per_rank)


def launched_by_torchrun() -> bool:
    """True when torchrun (or torch.distributed.run) started this process."""
    return all(name in os.environ for name in TORCHRUN_VARIABLES)


def init_distributed(device: torch.device) -> DistributedContext:
    """Join the process group if torchrun started us; return this process's context.

    Uses NCCL on CUDA (one GPU per process: cuda:LOCAL_RANK) and gloo on the CPU. Without
    torchrun's variables, returns a single-process context on `device` and does nothing.
    """
    if not launched_by_torchrun():
        return DistributedContext(device=device)
    import torch.distributed as dist

    rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ["LOCAL_RANK"])
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    elif device.type != "cpu":
        raise ValueError(
            f"distributed training runs on cuda (nccl) or cpu (gloo), not {device.type}; "
            f"pass --device cuda or --device cpu"
        )
    if not dist.is_initialized():
        dist.init_process_group(
            "nccl" if device.type == "cuda" else "gloo",
            device_id=device if device.type == "cuda" else None,
        )
    return DistributedContext(rank, world_size, local_rank, device)


def wrap_for_training(
    model: nn.Module,
    context: DistributedContext,
    compile: bool = False,
    sync_batchnorm: bool = False,
) -> nn.Module:
    """Return the module the training step calls: DDP (and SyncBatchNorm) when distributed, compiled if asked.

    The parameters stay those of `model` (SyncBatchNorm reuses them), so optimisers built on
    `model.parameters()` and checkpoints of `model.state_dict()` are unaffected.
    """
    step_module = model
    if context.enabled:
        if sync_batchnorm:
            if context.device.type != "cuda":
                raise ValueError(
                    "sync_batchnorm needs CUDA (SyncBatchNorm has no CPU kernel); "
                    "drop --sync-batchnorm on CPU"
                )
            # replaces the BatchNorm children in place, keeping their parameters and statistics
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        device_ids = [context.device.index] if context.device.type == "cuda" else None
        step_module = DistributedDataParallel(model, device_ids=device_ids)
    return torch.compile(step_module) if compile else step_module


def skip_grad_sync(step_module: nn.Module):
    """A context in which a DDP module (also under torch.compile) does not all-reduce gradients.

    For a forward pass whose parameters are frozen (the G step's pass through D): DDP would
    otherwise wait in backward for gradients that never come. A no-op for a plain module.
    """
    inner = getattr(step_module, "_orig_mod", step_module)  # torch.compile keeps the module here
    if isinstance(inner, DistributedDataParallel):
        return inner.no_sync()
    return contextlib.nullcontext()


def parameters_digest(model: nn.Module, buffers: bool = False) -> str:
    """A SHA-256 of the module's parameters (and buffers if asked), bit for bit; equal replicas match."""
    import hashlib

    digest = hashlib.sha256()
    tensors = dict(model.named_parameters())
    if buffers:
        tensors.update(model.named_buffers())
    for name in sorted(tensors):
        digest.update(name.encode())
        digest.update(tensors[name].detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def finish_distributed() -> None:
    """Leave the process group (call once at the end of a torchrun program)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
