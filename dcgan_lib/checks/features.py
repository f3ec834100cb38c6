"""check_feature_extractor: a student's version of the paper's D features (section 5.1).

Chapter 11 (the discriminator as a feature extractor) runs it on the extractor students write.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..models import Discriminator
from ..probes import discriminator_features
from .report import CheckReport, fail, fail_if_not_written, kept_random_state, untouched


def _call(fn: Callable, discriminator, images: torch.Tensor, check: str):
    try:
        return fn(discriminator, images)
    except Exception as error:  # noqa: BLE001 - explain any error with the expected signature
        fail_if_not_written(check, error, getattr(fn, "__name__", "the extractor"))
        fail(check, f"calling it raised {error!r}",
             "it takes (discriminator, images of shape (N, C, H, W)) and returns (N, F)")  # fmt: skip


def check_feature_extractor(fn: Callable, grid: int = 4) -> CheckReport:
    """Check ``fn(discriminator, images) -> (N, F)`` against discriminator_features. Chapter 11.

    On a small D (three blocks of 8, 16 and 32 channels, 32x32 digits), in training mode and
    once in eval mode: the shape (N, grid^2 times the sum of the block channels), the values
    (every block max-pooled to a grid x grid map, flattened, concatenated in block order), no
    gradient kept, and D left in the mode and state it was in. Raises CheckFailed with a hint
    at the first problem.
    """
    check = "check_feature_extractor"
    report = CheckReport(check)
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(6, 1, 32, 32, generator=generator) * 2 - 1
    with kept_random_state():
        torch.manual_seed(0)
        discriminator = Discriminator(nc=1, ndf=8, image_size=32)
    expected = discriminator_features(discriminator, images, grid=grid)
    discriminator.train()
    with untouched(discriminator):
        before = {k: v.clone() for k, v in discriminator.state_dict().items()}
        features = _call(fn, discriminator, images, check)
        if not discriminator.training:
            fail(check, "D was left in eval mode",
                 "remember D's mode (D.training) and restore it with D.train(mode) at the end")  # fmt: skip
        changed = [
            k for k, v in discriminator.state_dict().items() if not torch.equal(v, before[k])
        ]
        if changed:
            fail(check, f"D's state changed ({changed[0]}, ...): BatchNorm statistics moved",
                 "run D in eval mode (D.eval()) while extracting: the statistics must not move")  # fmt: skip
    with untouched(discriminator):  # and a D in eval mode must stay in eval mode
        discriminator.eval()
        _call(fn, discriminator, images, check)
        if discriminator.training:
            fail(check, "a D in eval mode was left in training mode",
                 "restore the mode D had (D.train(was_training)), not always D.train()")  # fmt: skip
    report.passed.append("D left in the mode it was in, its BatchNorm statistics untouched")
    if not isinstance(features, torch.Tensor) or tuple(features.shape) != tuple(expected.shape):
        shape = tuple(features.shape) if isinstance(features, torch.Tensor) else type(features)
        fail(check, f"features of shape {shape}, expected {tuple(expected.shape)}",
             f"max-pool every block's maps (D.feature_maps) to {grid}x{grid} with "
             f"F.adaptive_max_pool2d, flatten each to (N, C*{grid * grid}), then torch.cat "
             f"along dim 1")  # fmt: skip
    report.passed.append(f"shape {tuple(expected.shape)}: {grid}x{grid} cells of every channel")
    if features.requires_grad:
        fail(check, "the features still carry a gradient graph",
             "extract under torch.no_grad(): nothing here is trained through D")  # fmt: skip
    report.passed.append("no gradient graph kept")
    if not torch.allclose(features.cpu(), expected, atol=1e-5):
        same_set = torch.allclose(features.sort(dim=1).values.cpu(),
                                  expected.sort(dim=1).values, atol=1e-5)  # fmt: skip
        columns = features.float()
        if columns.mean(dim=0).abs().max() < 1e-4 and columns.std(dim=0).max() > 0.5:  # scaled
            fail(check, "every feature has mean 0 over the batch: the features were standardised",
                 "return the pooled maxima themselves; the linear classifier's pipeline "
                 "standardises them (StandardScaler), with the training set's statistics")  # fmt: skip
        fail(check, "the values differ from the paper's recipe",
             "the right numbers in another order: concatenate the blocks in D's order, each "
             "flattened from (N, C, 4, 4)" if same_set else
             "use the max (not the mean) over each cell, of D in eval mode, every block")  # fmt: skip
    report.passed.append("values: each block max-pooled and concatenated in order (section 5.1)")
    return report
