"""check_training_loop: a student's plain-PyTorch training loop against the library's step.

Chapter 5 (the training loop) runs it on the loop students write.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..config import TrainConfig
from ..data import load_dataset
from ..train import Trainer
from .report import CheckReport, exercise, fail, kept_random_state

# the usual ways a loop that runs still trains differently from the library's train_step
DIFFERENT_TRAINING_HINT = (
    "the usual causes: D on real and fake in one batch (use two forward passes); a missing "
    "zero_grad before a backward; G or D left in eval mode; Adam without betas=betas; the G "
    "step before the D step; noise other than z_batches; one optimiser for both networks"
)
TOLERANCE = 1e-4  # a loss written in another but equivalent form (logsigmoid, say) passes


def check_training_loop(training_loop: Callable, steps: int = 20) -> CheckReport:
    """Run training_loop(G, D, real_batches, z_batches) and the library's train_step from the
    same start for `steps` steps; both must end with the same parameters. Chapter 5.

    Two Trainers are built from the same seed on 16x16 digits: one supplies the untrained G and
    D, the real batches and the noise the loop gets; the other takes the same steps with
    Trainer.train_step. On the CPU in float32 and the NCHW layout, where convolutions are
    deterministic. Checks: gradients reach G once per step (the G step alone); the loop returns
    one (loss_D, loss_G) pair per step; every parameter within 1e-4 of the library's.
    `measured["largest_difference"]` is the largest parameter difference (0.0: bit for bit).
    Raises CheckFailed with a hint. The caller's random state is left as it was.
    """
    with kept_random_state():
        return _check_training_loop(training_loop, steps)


def _check_training_loop(training_loop: Callable, steps: int) -> CheckReport:
    check = "my_training_loop"
    report = CheckReport(check)
    config = TrainConfig(
        image_size=16, nz=16, ngf=8, ndf=8, batch_size=32, steps=steps, device="cpu",
        precision="fp32", channels_last=False,
    )  # fmt: skip
    digits = load_dataset("mnist5k", image_size=16)
    source = Trainer(config, digits)  # untrained G, D; batches; noise
    stream = source.batches.from_step(0)
    real_batches = [next(stream) for _ in range(steps)]
    z_batches = [source.draw_z(config.batch_size) for _ in range(steps)]
    # count the gradients that reach G: one per step, from the G step alone
    g_gradients = []
    hook = source.G.blocks[0][0].weight.register_hook(g_gradients.append)
    graph_reused = False
    try:
        with exercise(check):  # blank: "not written yet"
            losses = training_loop(source.G, source.D, real_batches, z_batches)
    except RuntimeError as error:  # PyTorch's advice (retain_graph) hides the bug
        if "second time" not in str(error):
            raise
        graph_reused = True
    finally:
        hook.remove()
    if graph_reused:  # failed here, outside the except block: no chained traceback
        fail(
            check,
            "a backward went through the D step's graph into G a second time",
            "detach the fakes in the D step: D(fake.detach())",
        )
    if len(g_gradients) != steps:
        fail(
            check,
            f"gradients reached G {len(g_gradients)} times in {steps} steps",
            "only the G step may reach G: use D(fake.detach()) in the D step"
            if len(g_gradients) > steps
            else "the G step must reach G: D(fake) there, without detach",
        )
    report.passed.append("gradients reach G once per step, from the G step alone")
    if not _pairs(losses, steps):
        got = f"{len(losses)} items" if hasattr(losses, "__len__") else type(losses).__name__
        fail(
            check,
            f"the loop returned {got}, not {steps} (loss_D, loss_G) pairs",
            "append (d_loss.item(), g_loss.item()) once per step and return the list",
        )
    report.passed.append(f"one (loss_D, loss_G) pair per step, {steps} steps")

    library = Trainer(config, digits)  # the same seed: the same start
    for real in real_batches:
        library.train_step(real)
    differences = torch.stack(
        [
            (mine.detach() - theirs.detach()).abs().max()
            for net_a, net_b in ((source.G, library.G), (source.D, library.D))
            for mine, theirs in zip(net_a.parameters(), net_b.parameters())
        ]
    )
    largest = differences.max().item()  # nan if any parameter is nan
    report.measured["largest_difference"] = largest
    if math.isnan(largest):
        fail(
            check,
            f"after {steps} steps a parameter of G or D is nan",
            "look for a log of 0 or a division by 0 in the losses, or a learning rate other "
            "than lr",
        )
    if largest >= TOLERANCE:
        fail(
            check,
            f"your loop trains differently from the library's: after {steps} steps a parameter "
            f"differs by {largest:.1e}",
            DIFFERENT_TRAINING_HINT,
        )
    report.passed.append(
        f"train_step's parameters after {steps} steps, bit for bit"
        if largest == 0
        else f"train_step's parameters after {steps} steps, within {largest:.1e}"
    )
    return report


def _pairs(losses, steps: int) -> bool:
    """Whether losses holds `steps` items of two numbers each (a list of tuples, an array)."""
    try:
        return len(losses) == steps and all(len(pair) == 2 for pair in losses)
    except TypeError:  # no len(): not a sequence, or items that are single numbers
        return False
