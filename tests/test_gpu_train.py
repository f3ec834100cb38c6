"""tools/gpu_train.py, the prepared GPU training of issue 14: its recipes are the shipped
checkpoints' (read from data/train_checkpoints.sh), and a dry run on the CPU trains, exports and
scores in pieces."""

from __future__ import annotations

from conftest import ROOT, load_tool
from dcgan_lib import load_generator
from dcgan_lib.__main__ import build_parser, config_from_args
from dcgan_lib.checkpoints import load_checkpoint

gpu_train = load_tool("gpu_train")

# settled by the device or the run's length, not by the recipe
NOT_RECIPE = {"steps", "device", "precision", "channels_last", "sample_every",
              "checkpoint_every", "log_every"}  # fmt: skip


def test_the_recipes_are_those_the_shipped_checkpoints_were_trained_with():
    found = gpu_train.recipes()
    shipped = sorted(p.stem for p in (ROOT / "data" / "checkpoints").glob("*.pt"))
    assert sorted(found) == shipped
    for name, options in found.items():
        args = build_parser().parse_args(["train", *options, "--out", "x"])
        recipe = vars(config_from_args(args))
        stored = load_checkpoint(ROOT / "data" / "checkpoints" / f"{name}.pt")["config"]
        differ = {k for k in stored if k not in NOT_RECIPE and stored[k] != recipe[k]}
        assert not differ, (name, {k: (stored[k], recipe[k]) for k in differ})


def test_a_dry_run_trains_exports_and_scores_in_pieces(tmp_path):
    report = gpu_train.gpu_train(
        tmp_path, seconds=gpu_train.MARGIN_S + 1, dry=True, only=["mnist5k-32"]
    )
    assert not report["failed"] and report["rows"]
    steps = [row["step"] for row in report["rows"]]
    assert steps == list(range(5, 5 * len(steps) + 1, 5))
    assert {"confident_share", "entropy_share", "fid"} <= set(report["rows"][0])
    best = load_generator(tmp_path / "mnist5k-32-best.pt")
    assert best.ngf == 8  # the dry run's toy width
    assert "| mnist5k-32 | 5 |" in (tmp_path / "report.md").read_text()
