"""The command line: a user's mistake is one line naming the fix, exit status 2, no traceback;
--debug shows the traceback; a bug in the course keeps it; a signal saves and exits 130/143."""

import importlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest
import torch

from conftest import ROOT
from dcgan_lib import TrainConfig, load_checkpoint, train
from dcgan_lib.__main__ import main
from dcgan_lib.data import load_dataset

TINY = ["--image-size", "16", "--ngf", "8", "--ndf", "8", "--nz", "16", "--batch-size", "16",
        "--device", "cpu", "--quiet"]  # fmt: skip


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `python -m dcgan_lib ARGS` as a user would, one torch thread."""
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "dcgan_lib", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT, env=environment)  # fmt: skip


def assert_one_line_error(stderr: str, *fragments: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def test_a_bad_value_in_a_real_process_prints_one_line_and_exits_2(tmp_path):
    result = run_cli("train", "--out", str(tmp_path), "--steps", "-5", *TINY)
    assert result.returncode == 2
    assert_one_line_error(result.stderr, "steps (--steps) must be a whole number", "got -5")
    assert not any(tmp_path.iterdir())  # nothing trained, nothing written


def test_debug_shows_the_traceback(tmp_path):
    result = run_cli("train", "--out", str(tmp_path), "--batch-size", "0", "--debug")
    assert (
        result.returncode != 0 and "Traceback" in result.stderr and "ConfigError" in result.stderr
    )


@pytest.mark.parametrize(
    "arguments, fragments",
    [
        (["--steps", "-5"], ["--steps", "at least 1"]),
        (["--batch-size", "0"], ["--batch-size", "at least 1"]),
        (["--lr", "nan"], ["--lr", "finite number above 0"]),
        (["--beta1", "1.5"], ["--beta1", "[0, 1)"]),
        (["--image-size", "48"], ["--image-size", "one of (16, 32, 64, 128)"]),
        (["--dataset", "imagenet"], ["unknown dataset", "mnist5k"]),
        (["--precision", "bf16"], ["needs a CUDA GPU", "use fp32"]),
        (["--dataset", "folder:/no/such/folder"], ["/no/such/folder does not exist"]),
        (["--batch-size", "8192"], ["fewer than batch_size=8192", "lower batch_size"]),
        (["--steps", "abc"], ["--steps", "invalid int value", "--help"]),
        (["--no-such-option"], ["unrecognized arguments", "--help"]),
    ],
)
def test_each_training_mistake_is_one_line_with_exit_status_2(
    tmp_path, capsys, arguments, fragments
):
    config = ["train", "--out", str(tmp_path / "run"), *TINY, "--steps", "3"]
    try:
        status = main(config + arguments)
    except SystemExit as exit_:  # argparse's own errors exit from inside parse_args
        status = exit_.code
    assert status == 2
    assert_one_line_error(capsys.readouterr().err, *fragments)


def test_an_empty_image_folder_names_the_fix(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    status = main(["train", "--out", str(tmp_path / "run"), "--dataset",
                   f"folder:{tmp_path / 'empty'}", *TINY])  # fmt: skip
    assert status == 2
    assert_one_line_error(capsys.readouterr().err, "no images", "found under")


@pytest.mark.parametrize("content", [b"", b"garbage that is not a zip", b"PK\x03\x04broken"])
def test_a_corrupt_checkpoint_is_one_line_and_is_kept(tmp_path, capsys, content):
    (tmp_path / "checkpoint.pt").write_bytes(content)
    status = main(["train", "--out", str(tmp_path), *TINY, "--steps", "3"])
    assert status == 2
    assert_one_line_error(capsys.readouterr().err, "not a readable dcgan_lib checkpoint",
                          "delete or move it")  # fmt: skip
    assert (tmp_path / "checkpoint.pt").read_bytes() == content  # nothing lost


def test_a_foreign_or_missing_checkpoint_for_export_is_one_line(tmp_path, capsys):
    torch.save({"weights": torch.zeros(2)}, tmp_path / "foreign.pt")
    assert main(["export", str(tmp_path / "foreign.pt"), str(tmp_path / "out.pt")]) == 2
    assert_one_line_error(capsys.readouterr().err, "is not a dcgan_lib checkpoint")
    assert main(["export", str(tmp_path / "missing.pt"), str(tmp_path / "out.pt")]) == 2
    assert_one_line_error(capsys.readouterr().err, "no checkpoint at", "dcgan_lib train")
    assert not (tmp_path / "out.pt").exists()


def test_resuming_with_another_config_is_one_line_naming_the_field(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path), *TINY, "--steps", "2"]) == 0
    before = (tmp_path / "checkpoint.pt").read_bytes()
    capsys.readouterr()
    assert main(["train", "--out", str(tmp_path), *TINY, "--steps", "4", "--ngf", "16"]) == 2
    assert_one_line_error(capsys.readouterr().err, "ngf=8 in the checkpoint but 16 requested",
                          "--no-resume")  # fmt: skip
    assert (tmp_path / "checkpoint.pt").read_bytes() == before


def test_bench_options_that_cannot_work_are_one_line(capsys):
    assert main(["bench", "--device", "cpu", "--steps", "0"]) == 2
    assert_one_line_error(capsys.readouterr().err, "--steps must be at least 1")


def test_a_bug_in_the_course_keeps_its_traceback(tmp_path, monkeypatch):
    loop = importlib.import_module("dcgan_lib.train")  # the module: dcgan_lib.train is train()

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug, not the user's mistake")

    monkeypatch.setattr(loop, "train", broken)
    with pytest.raises(ZeroDivisionError):
        main(["train", "--out", str(tmp_path), *TINY, "--steps", "2"])


def wait_for(path, process, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "training never wrote its first checkpoint"
        time.sleep(0.05)


@pytest.mark.parametrize("signal_number, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_saves_the_last_whole_step_and_the_run_resumes_bit_exactly(
    tmp_path, signal_number, status
):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "dcgan_lib", "train", "--out", str(out), *TINY,
               "--steps", "100000", "--checkpoint-every", "5", "--sample-every", "100000"]  # fmt: skip
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    wait_for(out / "checkpoint.pt", process)
    time.sleep(0.3)  # a few steps past the periodic checkpoint
    process.send_signal(signal_number)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == status, stderr
    assert "Traceback" not in stderr
    stopped = load_checkpoint(out / "checkpoint.pt")["step"]
    assert f"after step {stopped}" in stderr and "resume with: python -m dcgan_lib train" in stderr
    assert not list(out.glob("*.tmp"))
    # resume for 3 more steps; compare with one uninterrupted run of the same length
    config = TrainConfig(image_size=16, ngf=8, ndf=8, nz=16, batch_size=16, device="cpu",
                         steps=stopped + 3, checkpoint_every=5, sample_every=100000)  # fmt: skip
    digits = load_dataset("mnist5k", image_size=16)
    resumed = train(config, digits, out_dir=out, progress=False)
    uninterrupted = train(replace(config), digits, out_dir=tmp_path / "whole", progress=False)
    for a, b in ((resumed.generator, uninterrupted.generator),
                 (resumed.discriminator, uninterrupted.discriminator)):  # fmt: skip
        assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                     b.state_dict().values()))  # fmt: skip
    assert resumed.history == uninterrupted.history


def test_an_exported_copy_in_the_out_folder_cannot_be_resumed_and_says_why(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path / "run"), *TINY, "--steps", "2"]) == 0
    assert (
        main(["export", str(tmp_path / "run" / "checkpoint.pt"), str(tmp_path / "copy.pt")]) == 0
    )
    (tmp_path / "copy.pt").replace(tmp_path / "run" / "checkpoint.pt")
    capsys.readouterr()
    assert main(["train", "--out", str(tmp_path / "run"), *TINY, "--steps", "4"]) == 2
    assert_one_line_error(capsys.readouterr().err, "is an exported copy", "--no-resume")


def test_a_gpu_index_the_machine_lacks_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert main(["train", "--out", str(tmp_path), *TINY[:-3], "--device", "cuda:7"]) == 2
    assert_one_line_error(capsys.readouterr().err, "'cuda:7'", "cuda:0 to cuda:0")


def test_ctrl_c_reaches_the_loader_workers_too_and_the_run_still_saves(tmp_path):
    from PIL import Image

    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(64):
        Image.new("RGB", (16, 16), (4 * i, 100, 200)).save(folder / f"{i:03d}.png")
    out = tmp_path / "run"
    command = [sys.executable, "-m", "dcgan_lib", "train", "--out", str(out), *TINY,
               "--dataset", f"folder:{folder}", "--num-workers", "2", "--no-data-on-device",
               "--steps", "100000",
               "--checkpoint-every", "5", "--sample-every", "100000"]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)  # fmt: skip
    wait_for(out / "checkpoint.pt", process)
    time.sleep(0.3)
    os.killpg(process.pid, signal.SIGINT)  # what a terminal does: the whole process group
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "resume with:" in stderr


@pytest.mark.parametrize(
    "workers, resident",
    [("0", "--data-on-device"), ("2", "--data-on-device"), ("2", "--no-data-on-device")],
)
def test_an_unreadable_image_in_a_folder_names_the_file(tmp_path, capsys, workers, resident):
    from PIL import Image

    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(40):
        Image.new("RGB", (16, 16), (6 * i, 90, 30)).save(folder / f"{i:03d}.png")
    (folder / "010.png").write_bytes(b"not a png at all")
    status = main(["train", "--out", str(tmp_path / "run"), *TINY, "--steps", "3",
                   "--dataset", f"folder:{folder}", "--num-workers", workers,
                   resident])  # fmt: skip
    assert status == 2
    assert_one_line_error(capsys.readouterr().err, "010.png cannot be read as an image",
                          "remove or replace it")  # fmt: skip


@pytest.mark.parametrize("resident", ["--data-on-device", "--no-data-on-device"])
def test_an_unreadable_image_ends_the_process_too_with_loader_workers(tmp_path, resident):
    # the workers ignore SIGTERM (they leave stopping to the trainer): if an error left them
    # running, multiprocessing would wait for them at exit forever; the process must end
    from PIL import Image

    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(40):
        Image.new("RGB", (16, 16), (6 * i, 90, 30)).save(folder / f"{i:03d}.png")
    (folder / "010.png").write_bytes(b"not a png at all")
    command = [sys.executable, "-m", "dcgan_lib", "train", "--out", str(tmp_path / "run"), *TINY,
               "--steps", "3", "--dataset", f"folder:{folder}", "--num-workers", "2", resident]  # fmt: skip
    finished = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120,
                              env={**os.environ, "OMP_NUM_THREADS": "1"})  # fmt: skip
    assert finished.returncode == 2, finished.stderr
    assert "010.png cannot be read as an image" in finished.stderr
    assert "Traceback" not in finished.stderr
