"""tools/gpu_train.py, the prepared GPU training of issue 14: its recipes are the shipped
checkpoints' (read from data/train_checkpoints.sh), and a dry run on the CPU trains, exports and
scores in pieces."""

from __future__ import annotations

import json

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
    report = gpu_train.gpu_train(tmp_path, seconds=20, dry=True, only=["mnist5k-32"])
    assert not report["failed"] and report["elapsed_s"] < 20 + gpu_train.GRACE_S
    steps = [row["step"] for row in report["rows"]]
    assert len(steps) >= 2 and steps == list(range(5, 5 * len(steps) + 1, 5))  # resumed
    assert {"confident_share", "entropy_share", "fid"} <= set(report["rows"][0])
    assert {row["precision"] for row in report["rows"]} == {"fp32"}
    best = max(report["rows"], key=gpu_train.bar_value)
    assert load_generator(tmp_path / "mnist5k-32-best.pt").ngf == 8  # the dry run's width
    # the last export is kept beside the best one only where they differ
    assert (tmp_path / "mnist5k-32-last.pt").exists() == (best is not report["rows"][-1])
    assert "| mnist5k-32 | 5 |" in (tmp_path / "report.md").read_text()


def test_the_files_stay_within_what_the_device_tool_returns():
    """Best and last export per recipe and two reports, or only the best exports: never more
    than the device tool's 8 files, for the five shipped recipes as for fewer."""
    for count in range(1, 7):
        files = (2 if gpu_train.keeps_last(count) else 1) * count + 2
        assert files <= gpu_train.FILES_BACK, count
    assert gpu_train.keeps_last(3) and not gpu_train.keeps_last(4)
    assert not gpu_train.keeps_last(len(gpu_train.recipes()))  # the five shipped recipes


def test_a_recipe_that_fails_is_reported_and_the_others_kept(tmp_path):
    script = tmp_path / "recipes.sh"
    script.write_text(
        'COMMON="--seed 0 --quiet"\n'
        "python -m dcgan_lib train --dataset mnist5k --image-size 32 $COMMON \\\n"
        '    --out "$RUNS/good"\n'
        'python -m dcgan_lib train --dataset mnist5k --batch-size 0 --out "$RUNS/bad"\n'
    )
    assert gpu_train.recipes(script) == {
        "good": ["--dataset", "mnist5k", "--image-size", "32", "--seed", "0", "--quiet"],
        "bad": ["--dataset", "mnist5k", "--batch-size", "0"],
    }
    out = tmp_path / "out"
    report = gpu_train.gpu_train(out, seconds=1, dry=True, script=script)
    assert list(report["failed"]) == ["bad"] and "batch_size" in report["failed"]["bad"]
    assert [row["run"] for row in report["rows"]] == ["good"]  # the first piece always runs
    assert (out / "good-best.pt").exists() and "bad failed" in (out / "report.md").read_text()


def test_the_candidate_script_holds_no_recipe_and_is_refused_in_one_line(tmp_path, capsys):
    """data/train_candidates.sh: its last recipe, the digits with a code, is shipped now; the
    script's form still parses (its COMMON), and --candidates says in one line that it is empty."""
    assert gpu_train.recipes(gpu_train.CANDIDATE_SCRIPT) == {}
    args = ["--candidates", "--dry", "--seconds", "8", "--out", str(tmp_path)]
    assert gpu_train.main(args) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "train_candidates.sh holds no recipe now" in error
    shipped = ["train", *gpu_train.recipes()["mnist5k-32-code"], "--out", "x"]
    code = config_from_args(build_parser().parse_args(shipped))
    assert (code.categories, code.loss, code.spectral_norm, code.batch_norm) == (
        10, "hinge", True, "G")  # fmt: skip


def test_a_dry_run_of_a_recipe_with_a_code_scores_a_generator_with_a_code(tmp_path, capsys):
    """The scores draw each sample's category after its noise, as sample_z does."""
    args = ["--dry", "--seconds", "8", "--out", str(tmp_path)]
    assert gpu_train.main([*args, "--only", "mnist5k-32-code"]) == 0
    assert load_generator(tmp_path / "mnist5k-32-code-best.pt").categories == 10
    assert "| mnist5k-32-code | 5 |" in capsys.readouterr().out


def test_a_recipe_trains_once_per_seed(tmp_path, capsys):
    """--seeds: one run per seed, NAME-seedS, each with its own seed in the exported config."""
    args = ["--dry", "--seconds", "10", "--out", str(tmp_path)]
    assert gpu_train.main([*args, "--only", "mnist5k-32-code", "--seeds", "1", "2"]) == 0
    for seed in (1, 2):
        exported = load_checkpoint(tmp_path / f"mnist5k-32-code-seed{seed}-best.pt")
        assert exported["config"]["seed"] == seed and exported["config"]["categories"] == 10
    report = json.loads((tmp_path / "report.json").read_text())
    assert {row["run"] for row in report["rows"]} == {
        "mnist5k-32-code-seed1",
        "mnist5k-32-code-seed2",
    }
    capsys.readouterr()
    eight = ["--only", "mnist5k-32-code", "--seeds", *map(str, range(8))]
    assert gpu_train.main([*args, *eight]) == 2  # 8 runs: 10 files
    assert "8 runs need 10 files" in capsys.readouterr().err


def test_a_shapes_export_is_scored_on_its_rarest_colour_too():
    found = gpu_train.score(
        ROOT / "data" / "checkpoints" / "shapes-32-code.pt", 200, "synthetic-shapes"
    )
    assert set(found) == {"clean_share", "least_colour_share"}
    assert found["clean_share"] > 0.85 and 0.15 < found["least_colour_share"] <= 0.25


def test_best_prefers_an_export_that_keeps_every_colour():
    one_colour_missing = {"clean_share": 0.96, "least_colour_share": 0.0}
    every_colour = {"clean_share": 0.90, "least_colour_share": 0.2}
    assert max([one_colour_missing, every_colour], key=gpu_train.bar_value) is every_colour
    lopsided = {"confident_share": 0.9, "entropy_share": 0.9}
    assert max([lopsided, {"confident_share": 0.8, "entropy_share": 0.99}],
               key=gpu_train.bar_value) is not lopsided  # fmt: skip
    assert gpu_train.bar_value({"clean_share": 0.5}) == (True, 0.5)  # rows without the measure


def test_a_run_goes_on_from_a_carried_checkpoint(tmp_path, capsys):
    """--resume DIR: the run starts from DIR/NAME/checkpoint.pt (here 5 steps trained before)
    and its steps count on from there; a DIR without it is refused in one line."""
    from dcgan_lib.data import load_dataset
    from dcgan_lib.train import train

    options = gpu_train.recipes()["mnist5k-32"] + gpu_train.DRY["options"]
    earlier = tmp_path / "runs" / "mnist5k-32"
    config = config_from_args(build_parser().parse_args(["train", *options, "--out", "x"]))
    config.device, config.steps = "cpu", 5
    train(config, load_dataset("mnist5k", image_size=32), earlier, progress=False)
    out = tmp_path / "out"
    args = ["--dry", "--seconds", "12", "--only", "mnist5k-32", "--out", str(out)]
    assert gpu_train.main([*args, "--resume", str(tmp_path / "runs")]) == 0
    steps = [row["step"] for row in json.loads((out / "report.json").read_text())["rows"]]
    assert steps[0] == 10 and steps == list(range(10, 5 * len(steps) + 6, 5)), steps
    assert load_checkpoint(earlier / "checkpoint.pt")["step"] == 5  # the carried file unchanged
    capsys.readouterr()
    assert gpu_train.main([*args, "--resume", str(tmp_path / "empty")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "has no checkpoint.pt for mnist5k-32" in error


def test_the_full_checkpoint_comes_back_in_parts_that_join_to_it(tmp_path, capsys):
    """--checkpoint-back: the run's latest checkpoint.pt comes back as parts under the device
    tool's limit a file, and `cat` of the parts in name order is a checkpoint that resumes."""
    import subprocess

    out = tmp_path / "out"
    args = ["--dry", "--seconds", "8", "--only", "mnist5k-32", "--out", str(out)]
    assert gpu_train.main([*args, "--checkpoint-back"]) == 0
    parts = sorted(out.glob("mnist5k-32-checkpoint.pt.*"))
    assert parts and all(p.stat().st_size <= gpu_train.PART_BYTES for p in parts)
    assert len(list(out.iterdir())) <= gpu_train.FILES_BACK
    joined = tmp_path / "runs" / "mnist5k-32" / "checkpoint.pt"
    joined.parent.mkdir(parents=True)
    with open(joined, "wb") as whole:
        subprocess.run(["cat", *map(str, parts)], stdout=whole, check=True)
    last = json.loads((out / "report.json").read_text())["rows"][-1]["step"]
    assert load_checkpoint(joined)["step"] == last
    # small parts: the split itself, and one file in three parts joins back byte for byte
    split = gpu_train.split_file(joined, tmp_path, size=joined.stat().st_size // 2 - 1)
    assert len(split) == 3 and b"".join(p.read_bytes() for p in split) == joined.read_bytes()
    capsys.readouterr()
    assert gpu_train.main([*args, "--seeds", "1", "2", "--checkpoint-back"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
