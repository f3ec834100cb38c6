"""Data-parallel training: torchrun with 2 CPU processes (gloo) keeps the replicas identical."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest
import torch

from dcgan_lib.distributed import DistributedContext, init_distributed, parameters_digest
from dcgan_lib.models import Generator

WORKER = textwrap.dedent("""
    import json
    import sys
    from pathlib import Path
    import torch
    import torch.distributed as dist
    from dcgan_lib.data import InMemoryImages
    from dcgan_lib.distributed import parameters_digest
    from dcgan_lib import TrainConfig, train

    out, compile = Path(sys.argv[1]), sys.argv[2] == "compile"
    categories = 4 if sys.argv[2] == "code" else 0  # InfoGAN's head Q inside the DDP-wrapped D
    images = torch.rand(64, 1, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    config = TrainConfig(image_size=16, nz=8, ngf=4, ndf=4, batch_size=16, steps=3, device="cpu",
                         compile=compile, log_every=1, sample_every=100, checkpoint_every=100,
                         categories=categories)
    result = train(config, InMemoryImages(images, torch.zeros(64)), out_dir=out / "run", progress=False)
    rank = dist.get_rank()
    (out / f"rank{rank}.json").write_text(json.dumps({
        "G": parameters_digest(result.generator), "D": parameters_digest(result.discriminator),
        "D_x": result.history["D_x"], "out_dir": str(result.out_dir)}))
    dist.destroy_process_group()
""")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# compile: torch.compile around DDP, with D frozen and its all-reduce skipped (no_sync) in the G step;
# code: a categorical code, whose head Q in D is used by only one of D's two forward passes
@pytest.mark.parametrize("mode", ["eager", "compile", "code"])
def test_two_cpu_processes_keep_identical_replicas_and_see_different_shards(tmp_path, mode):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nnodes=1",
        "--nproc_per_node=2",
        "--master_addr=127.0.0.1",
        f"--master_port={free_port()}",
        str(script),
        str(tmp_path),
        mode,
    ]
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert finished.returncode == 0, finished.stderr[-3000:]
    rank0, rank1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    # DDP averaged the gradients: the same weights bit for bit after 3 steps
    assert (rank0["G"], rank0["D"]) == (rank1["G"], rank1["D"])
    torch.manual_seed(0)  # train() draws the initial weights from the seed like this
    assert rank0["G"] != parameters_digest(
        Generator(nz=8, ngf=4, image_size=16, nc=1, categories=4 if mode == "code" else 0)
    )  # it trained
    assert len(rank0["D_x"]) == 3 and rank0["D_x"] != rank1["D_x"]  # each rank scored its own half
    assert rank0["out_dir"].endswith("run") and rank1["out_dir"] == "None"  # only rank 0 writes
    assert (tmp_path / "run" / "checkpoint.pt").exists()


def test_share_splits_a_global_batch_into_contiguous_rows():
    shares = [DistributedContext(rank=r, world_size=4).share(128) for r in range(4)]
    assert [(s.start, s.stop) for s in shares] == [(0, 32), (32, 64), (64, 96), (96, 128)]
    with pytest.raises(ValueError, match="multiple of the number of processes"):
        DistributedContext(rank=0, world_size=3).share(128)


def test_without_torchrun_variables_the_context_is_a_single_process(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    context = init_distributed(torch.device("cpu"))
    assert (context.rank, context.world_size, context.is_main, context.enabled) == (
        0,
        1,
        True,
        False,
    )
    assert context.share(128) == slice(0, 128)


def test_parameters_digest_changes_with_any_weight():
    generator = Generator(nz=8, ngf=4, image_size=16, nc=1)
    before = parameters_digest(generator)
    with torch.no_grad():
        generator.blocks[0][0].weight[0, 0, 0, 0] += 1e-6
    assert parameters_digest(generator) != before
