"""The stored training runs of data/runs/ (dcgan_lib.stored_runs) and the code that records them."""

import importlib.util
from dataclasses import asdict, fields, replace

import pytest
import torch

from conftest import ROOT
from dcgan_lib import CheckpointError, TrainConfig
from dcgan_lib.stored_runs import MEASURED, SHOWN, load_stored_runs, record_run, record_runs

spec = importlib.util.spec_from_file_location(
    "failure_modes", ROOT / "data" / "train_failure_modes.py"
)
FAILURE_MODES = importlib.util.module_from_spec(spec)
spec.loader.exec_module(FAILURE_MODES)


def test_record_run_keeps_history_samples_and_measures_at_the_snapshots(tmp_path):
    config = TrainConfig(image_size=32, ngf=8, ndf=8, batch_size=16, device="cpu", ema=0.5)
    features = torch.randn(200, 64)
    run = record_run(config, (2, 5), features)
    assert run["steps"].tolist() == [2, 5] and run["config"]["steps"] == 5
    assert run["images"].shape == (2, SHOWN, 1, 32, 32) and run["images"].dtype == torch.uint8
    assert {k: len(v) for k, v in run["history"].items()} == dict.fromkeys(run["history"], 5)
    assert ((0 <= run["confident_share"]) & (run["confident_share"] <= 1)).all()
    assert (run["fid"] > 0).all() and MEASURED == 500
    path = record_runs("try", {"a": replace(config, ema=0.0)}, (3,), tmp_path / "try.pt")
    assert torch.load(path, weights_only=True)["runs"]["a"]["steps"].tolist() == [3]


def test_a_missing_runs_file_names_the_script_that_rebuilds_it(monkeypatch, tmp_path):
    monkeypatch.setattr("dcgan_lib.stored_runs.DATA_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="python data/train_failure_modes.py"):
        load_stored_runs("failure-modes")
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "failure-modes.pt").write_bytes(b"not a file")
    with pytest.raises(CheckpointError, match="train_failure_modes.py"):
        load_stored_runs("failure-modes")


@pytest.fixture(scope="module")
def failure_modes():
    return load_stored_runs("failure-modes")


def test_the_failure_mode_runs_are_the_script_s_configs(failure_modes):
    assert list(failure_modes) == list(FAILURE_MODES.RUNS)
    last = FAILURE_MODES.SNAPSHOTS[-1]
    for label, run in failure_modes.items():
        expected = asdict(replace(FAILURE_MODES.RUNS[label], steps=last))
        # a field newer than the stored run had its default (the paper's recipe) then
        stored = {f.name: f.default for f in fields(TrainConfig)} | run["config"]
        assert {k: stored[k] for k in expected if k not in ("precision", "channels_last")} \
            == {k: v for k, v in expected.items() if k not in ("precision", "channels_last")}  # fmt: skip
        assert run["steps"].tolist() == list(FAILURE_MODES.SNAPSHOTS)
        assert all(len(v) == last for v in run["history"].values())
        assert run["images"].shape == (3, SHOWN, 1, 32, 32)


def test_the_runs_files_are_small_and_the_recipe_ends_best(failure_modes):
    from dcgan_lib.stored_runs import runs_path

    for name in ("failure-modes", "after-dcgan", "after-dcgan-ring"):
        assert runs_path(name).stat().st_size < 1_500_000
    final_fid = {label: run["fid"][-1].item() for label, run in failure_modes.items()}
    assert min(final_fid, key=final_fid.get) == "good"
    assert failure_modes["no BatchNorm in D"]["class_entropy"][1:].max() < 0.5  # collapse
