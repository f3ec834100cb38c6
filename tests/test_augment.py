"""DiffAugment of D's inputs and the moving average of G's weights (dcgan_lib.augment)."""

from dataclasses import replace

import pytest
import torch

from dcgan_lib import (
    ConfigError,
    TrainConfig,
    export_checkpoint,
    load_checkpoint,
    load_generator,
    train,
)
from dcgan_lib.augment import cutout, diff_augment, translate, update_average
from dcgan_lib.checkpoints import config_mismatches
from dcgan_lib.models import Generator


def _states_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _shifted(image: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """image moved so that output pixel (i, j) is input (i + dy, j + dx), zeros outside."""
    _, height, width = image.shape
    out = torch.zeros_like(image)
    rows = slice(max(0, -dy), min(height, height - dy))
    cols = slice(max(0, -dx), min(width, width - dx))
    source_rows = slice(rows.start + dy, rows.stop + dy)
    source_cols = slice(cols.start + dx, cols.stop + dx)
    out[:, rows, cols] = image[:, source_rows, source_cols]
    return out


def test_translation_shifts_each_image_by_at_most_an_eighth_with_zero_fill():
    torch.manual_seed(0)
    images = torch.rand(64, 3, 16, 16) + 0.5  # no zeros, so the fill is visible
    moved = translate(images)
    shifts = set()
    for before, after in zip(images, moved):
        matches = [
            (dy, dx)
            for dy in range(-2, 3)
            for dx in range(-2, 3)
            if torch.equal(after, _shifted(before, dy, dx))
        ]
        assert len(matches) == 1, "each image is one whole-pixel shift of its input"
        shifts.add(matches[0])
    assert len(shifts) > 10, "the shift is drawn per image"


def test_cutout_zeroes_one_square_of_half_the_side_and_keeps_the_rest():
    torch.manual_seed(1)
    images = torch.rand(64, 1, 16, 16) + 0.5
    cut = cutout(images)
    for before, after in zip(images, cut):
        zero = after[0] == 0
        rows, cols = zero.any(dim=1).nonzero(), zero.any(dim=0).nonzero()
        assert 1 <= len(rows) <= 8 and 1 <= len(cols) <= 8
        box = zero[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        assert box.all(), "the zeros form one rectangle (a square clipped at the border)"
        assert torch.equal(after[0][~zero], before[0][~zero])
    assert (cut == 0).sum(dim=(1, 2, 3)).float().mean() > 40  # mostly whole 8x8 squares


def test_diff_augment_is_differentiable_and_empty_policy_is_the_identity():
    images = torch.rand(8, 1, 16, 16, requires_grad=True)
    assert diff_augment(images, "") is images
    torch.manual_seed(2)
    diff_augment(images, "translation,cutout").sum().backward()
    grad = images.grad
    assert set(grad.unique().tolist()) <= {0.0, 1.0} and grad.sum() > 0


def test_update_average_moves_weights_by_one_minus_decay_and_copies_buffers():
    torch.manual_seed(3)
    model, average = Generator(16, 8, 16, 1), Generator(16, 8, 16, 1)
    model.train()(torch.randn(4, 16))  # changes BatchNorm's running statistics
    before = [p.clone() for p in average.parameters()]
    update_average(average, model, decay=0.75)
    for kept, old, new in zip(average.parameters(), before, model.parameters()):
        torch.testing.assert_close(kept, 0.75 * old + 0.25 * new)
    for kept, current in zip(average.buffers(), model.buffers()):
        assert torch.equal(kept, current)


def test_bad_augment_or_ema_is_refused_naming_the_flag():
    with pytest.raises(ConfigError, match=r"augment \(--augment\).*translation, cutout"):
        TrainConfig(augment="flip")
    with pytest.raises(ConfigError, match=r"ema \(--ema\) must be in \[0, 1\)"):
        TrainConfig(ema=1.0)


def test_augmented_averaged_run_resumes_bit_exactly(tmp_path, tiny_config, tiny_dataset):
    config = replace(tiny_config, augment="translation,cutout", ema=0.9)
    uninterrupted = train(config, tiny_dataset, tmp_path / "a", progress=False)
    train(replace(config, steps=3), tiny_dataset, tmp_path / "b", progress=False)
    resumed = train(config, tiny_dataset, tmp_path / "b", progress=False)
    assert resumed.history == uninterrupted.history
    assert _states_equal(resumed.generator.state_dict(), uninterrupted.generator.state_dict())
    a, b = (load_checkpoint(tmp_path / name / "checkpoint.pt") for name in "ab")
    assert _states_equal(a["generator"], b["generator"])
    assert _states_equal(a["generator_average"], b["generator_average"])


def test_augmentation_changes_what_d_sees(tiny_config, tiny_dataset):
    plain = train(tiny_config, tiny_dataset, progress=False)
    augmented = train(replace(tiny_config, augment="translation"), tiny_dataset, progress=False)
    assert plain.history["loss_D"][0] != augmented.history["loss_D"][0]


def test_the_average_is_what_samples_loading_and_export_use(tmp_path, tiny_config, tiny_dataset):
    result = train(replace(tiny_config, ema=0.5), tiny_dataset, tmp_path, progress=False)
    state = load_checkpoint(tmp_path / "checkpoint.pt")
    assert not _states_equal(state["generator"], state["generator_average"])
    assert _states_equal(result.generator.state_dict(), state["generator_average"])
    assert _states_equal(load_generator(tmp_path / "checkpoint.pt").state_dict(),
                         state["generator_average"])  # fmt: skip
    exported = export_checkpoint(tmp_path / "checkpoint.pt", tmp_path / "small.pt")
    assert _states_equal(load_checkpoint(exported)["generator"], state["generator_average"])


def test_a_checkpoint_older_than_augment_and_ema_still_resumes(tiny_config):
    saved = {k: v for k, v in vars(tiny_config).items() if k not in ("augment", "ema")}
    assert config_mismatches(saved, tiny_config) == []
    assert config_mismatches(saved, replace(tiny_config, ema=0.9)) == [
        "ema=0.0 in the checkpoint but 0.9 requested"
    ]


def test_a_checkpoint_with_batch_norm_true_resumes_under_both(tiny_config):
    saved = vars(tiny_config) | {"batch_norm": True}
    assert config_mismatches(saved, tiny_config) == []
    assert config_mismatches(saved, replace(tiny_config, batch_norm="G")) == [
        "batch_norm='both' in the checkpoint but 'G' requested"
    ]
