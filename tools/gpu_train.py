"""Train the shipped generators' recipes on a lent GPU for a fixed time, side by side (issue 14).

    make gpu-train GPU_TRAIN_SECONDS=240 GPU_TRAIN_OUT=$OUT
    PYTHONPATH=. python3 tools/gpu_train.py --seconds 240 --out $OUT     # the same, without make
    PYTHONPATH=. python3 tools/gpu_train.py --candidates --seconds 240 --out $OUT  # not shipped
    PYTHONPATH=. python3 tools/gpu_train.py --only mnist5k-32-code --seeds 1 2 3 \
        --seconds 240 --out $OUT     # one recipe, three seeds side by side (NAME-seedS)
    PYTHONPATH=. python3 tools/gpu_train.py --only mnist5k-32-code --resume runs \
        --checkpoint-back --seconds 240 --out $OUT   # go on from runs/mnist5k-32-code/checkpoint.pt

--resume DIR continues each run from DIR/NAME/checkpoint.pt (a run of the same recipe trained
earlier, on this CPU or in an earlier session; the device call carries DIR, which must be under
the repository and at most 64 MiB) instead of starting at step 0; its step counts on from the
checkpoint's. The full checkpoint (G, D and both optimisers: 32 MB for mnist5k-32-code) is
larger than the device tool's 16 MiB a file; with --checkpoint-back it comes back anyway, in
parts of PART_BYTES (OUT/NAME-checkpoint.pt.0, .1, ...), so that a run can go on on the CPU or on
a later GPU:  cat OUT/NAME-checkpoint.pt.* > runs/NAME/checkpoint.pt

Run it after `make gpu-check`, in the device time that is left, on the stock GPU image's
python3 (no venv, no network); give the device call a limit of at least S + 90 seconds. Each
recipe of data/train_checkpoints.sh (read from that script, so the two cannot drift apart), or
with --candidates of data/train_candidates.sh (recipes not shipped yet),
trains in its own process on the one GPU, in fp32 like the shipped runs: these models are too
small to keep a GPU busy, so several at once cost little more than one. A run goes in pieces, a
first one of FIRST_PIECE steps that measures the rate, then about a minute's worth each; after
each piece it is exported in half precision and scored the way data/README.md scores the
shipped files (tools/score_checkpoints.py's measures), and a next piece starts only while more
than MARGIN_S seconds are left. `python -m dcgan_lib train <recipe> --device cuda --precision
fp32 --steps N --out RUN` then `python -m dcgan_lib export RUN/checkpoint.pt F --half` trains the
same recipe to step N again (the same weights only where cuDNN picks the same kernels).

OUT receives, for each recipe, the export that scored best (NAME-best.pt: issue 14's first bar,
among the exports that keep every colour or near-equal digits, if any do) and the last one
(NAME-last.pt) where they differ, both kept up to date after every piece, and at the end
report.json and report.md with every piece's step, time and scores.
The device tool returns at most FILES_BACK files, so with more than three recipes (the five
shipped ones) only the best export of each is kept. ``--dry`` runs the same code on the CPU at toy
sizes (ngf = ndf = 8, pieces of 5 steps, 64 samples per score, 2 s kept free).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]

RECIPE_SCRIPT = ROOT / "data" / "train_checkpoints.sh"
CANDIDATE_SCRIPT = ROOT / "data" / "train_candidates.sh"
# options a GPU run sets itself: how long, where, on which device, how often it writes
SET_HERE = {"--steps", "--out", "--device", "--checkpoint-every", "--sample-every"}
FIRST_PIECE = 200  # steps of the first piece, which measures the rate
PIECE_S = 60.0  # the pieces after it: about this long, so that the scores trace the run
MARGIN_S = 20.0  # kept free at the end for the last export, its scores and the report
GRACE_S = 30.0  # past the deadline, a worker still running is stopped
FILES_BACK = 8  # the most files the device tool brings back from $OUT
PART_BYTES = 15 * 2**20  # --checkpoint-back: a part under the device tool's 16 MiB a file


def files_out(run_count: int, last: bool) -> int:
    """How many files OUT receives: each run's best export, its last one too if `last`, and the
    two reports."""
    return (2 if last else 1) * run_count + 2


def split_file(
    path: Path, out: Path, name: str | None = None, size: int = PART_BYTES
) -> list[Path]:
    """Copy `path` into OUT/NAME.0, OUT/NAME.1, ... (NAME: the file's own name unless given) of
    at most `size` bytes each, joined again by `cat OUT/NAME.*` while there are at most ten."""
    name = name or path.name
    count = -(-path.stat().st_size // size)
    if count > 10:
        raise ValueError(f"{path} needs {count} parts; cat joins at most 10 in order")
    parts = []
    with open(path, "rb") as whole:
        while chunk := whole.read(size):
            parts.append(out / f"{name}.{len(parts)}")
            parts[-1].write_bytes(chunk)
    return parts


def keeps_last(recipe_count: int) -> bool:
    """Whether OUT has room for each recipe's last export beside its best one and the two
    reports, within the FILES_BACK files the device tool returns."""
    return files_out(recipe_count, last=True) <= FILES_BACK


DRY = {"piece": 5, "samples": 64, "margin_s": 2.0, "options": ["--ngf", "8", "--ndf", "8"]}


def recipes(script: Path = RECIPE_SCRIPT) -> dict[str, list[str]]:
    """The `python -m dcgan_lib train` command lines of the script, by run name (the last part
    of --out), with its variables ($COMMON) expanded and the options in SET_HERE left out."""
    variables: dict[str, str] = {}
    found: dict[str, list[str]] = {}
    for line in script.read_text().replace("\\\n", " ").splitlines():
        line = line.split("#", 1)[0].strip()
        first = line.split(" ", 1)[0]
        if "=" in first and not line.startswith(("export ", "set ")):
            name, value = line.split("=", 1)
            variables[name] = " ".join(shlex.split(value))
        elif line.startswith("python -m dcgan_lib train"):
            for name, value in variables.items():
                line = line.replace(f"${name}", value)
            words = shlex.split(line)[4:]
            out = words[words.index("--out") + 1]
            kept = [
                word
                for i, word in enumerate(words)
                if word not in SET_HERE and (i == 0 or words[i - 1] not in SET_HERE)
            ]
            found[out.rsplit("/", 1)[-1]] = kept
    return found


def score(path: Path, samples: int, dataset: str) -> dict[str, float]:
    """data/README.md's scores of one export: the digits' three, or the shapes' clean share and
    the share of the rarest colour."""
    import score_checkpoints as sc

    from dcgan_lib.shapes_classifier import clean_shape_mask

    images = sc.generate(path, samples)
    if dataset != "mnist5k":
        return {"clean_share": clean_shape_mask(images).float().mean().item(),
                "least_colour_share": sc.least_colour_share(images)}  # fmt: skip
    found = sc.digit_scores(images, sc.held_out_features())
    return {k: found[k] for k in ("confident_share", "entropy_share", "fid")}


def bar_value(row: dict) -> tuple[bool, float]:
    """What 'best' means: an export that keeps the balance tests/test_pretrained.py asserts (every
    colour, or near-equal digits) beats one that does not; then issue 14's first bar, the
    confident share or the clean share, decides."""
    import score_checkpoints as sc

    balanced = (row.get("least_colour_share", 1.0) > sc.LEAST_COLOUR_BAR
                and row.get("entropy_share", 1.0) >= sc.ENTROPY_BAR)  # fmt: skip
    return balanced, row.get("confident_share", row.get("clean_share", 0.0))


def planned_runs(
    script: Path, only: list[str] | None, seeds: list[int] | None
) -> list[tuple[str, int | None]]:
    """(recipe, seed) of every run: each recipe of `script` (or those in `only`), once with its
    own seed (None) or once per seed in `seeds`."""
    return [(recipe, seed) for recipe in only or list(recipes(script)) for seed in seeds or [None]]


def seeded(name: str, seed: int | None) -> str:
    """The run name of a recipe trained with another seed than its own: NAME-seedS."""
    return name if seed is None else f"{name}-seed{seed}"


def publish(source: Path, target: Path) -> None:
    """Copy source to target by way of a temporary file: target is never half written."""
    tmp = target.with_name(target.name + ".tmp")
    shutil.copy(source, tmp)
    os.replace(tmp, target)


def worker(
    recipe: str,
    until: float,
    out: Path,
    work: Path,
    script: Path,
    dry: bool,
    last: bool = True,
    seed: int | None = None,
    resume: Path | None = None,
) -> None:
    """Train one recipe (with `seed` instead of its own, if given: run NAME-seedS) in pieces
    until the wall-clock time `until`. After each piece: export, score, rewrite work/NAME.json
    with the rows so far, and keep OUT/NAME-best.pt and OUT/NAME-last.pt up to date, so that a
    run stopped at any moment loses only its last piece."""
    from dcgan_lib.__main__ import build_parser, config_from_args
    from dcgan_lib.checkpoints import CHECKPOINT_NAME, export_checkpoint, load_checkpoint
    from dcgan_lib.data import load_dataset
    from dcgan_lib.errors import TrainingInterrupted
    from dcgan_lib.train import train

    name = seeded(recipe, seed)
    best_file, last_file = out / f"{name}-best.pt", out / f"{name}-last.pt"
    for old in (best_file, last_file):  # an earlier run's files in the same folder
        old.unlink(missing_ok=True)
    run = work / name
    options = recipes(script)[recipe] + (DRY["options"] if dry else [])
    options += [] if seed is None else ["--seed", str(seed)]  # the last --seed counts
    args = build_parser().parse_args(["train", *options, "--out", str(run)])
    config = config_from_args(args)
    config.device = "cpu" if dry else "cuda"
    config.precision = "fp32"  # the shipped runs' precision (the GPU's speed here is launch-bound)
    config.sample_every = config.checkpoint_every = 10**9  # a checkpoint at each piece's end
    dataset = load_dataset(config.dataset, image_size=config.image_size, seed=config.seed)
    rows: list[dict] = []
    step, rate = 0, None
    if resume is not None and (resume / name / CHECKPOINT_NAME).exists():
        run.mkdir(parents=True, exist_ok=True)  # the Trainer resumes run/checkpoint.pt
        shutil.copy(resume / name / CHECKPOINT_NAME, run / CHECKPOINT_NAME)
        step = load_checkpoint(run / CHECKPOINT_NAME, "cpu")["step"]
    while True:
        left = until - time.time() - (DRY["margin_s"] if dry else MARGIN_S)
        if dry:
            piece = DRY["piece"]
        elif rate is None:
            piece = FIRST_PIECE
        else:  # whole hundreds of steps, about PIECE_S seconds' worth
            piece = int(min(left, PIECE_S) * rate) // 100 * 100
        if rows and (left <= 0 or piece < 1):  # the first piece always runs
            return
        started = time.time()
        config.steps = step + piece
        try:
            train(config, dataset, run, progress=False)
        except TrainingInterrupted:  # stopped by the parent at its deadline
            return
        seconds = time.time() - started
        step, rate = config.steps, piece / seconds
        export = export_checkpoint(run / "checkpoint.pt", work / f"{name}-{step}.pt", half=True)
        scores = score(export, DRY["samples"] if dry else 2000, config.dataset)
        rows.append(
            {"run": name, "step": step, "seconds": round(seconds, 1),
             "steps_per_s": round(rate, 1), "precision": config.precision,
             **{k: round(v, 4) for k, v in scores.items()}}
        )  # fmt: skip
        written = work / f"{name}.json.tmp"  # renamed into place: the parent never reads half
        written.write_text(json.dumps(rows))
        os.replace(written, work / f"{name}.json")
        if max(rows, key=bar_value) is rows[-1]:
            publish(export, best_file)
            last_file.unlink(missing_ok=True)
        elif last:
            publish(export, last_file)
        for older in work.glob(f"{name}-*.pt"):  # the exports are in OUT now
            older.unlink()
        print(f"{name}: {rows[-1]}", flush=True)


def markdown(report: dict) -> str:
    rows = report["rows"]
    lines = [
        f"# GPU training of the shipped recipes: {report['device']}",
        "",
        f"{report['seconds']:.0f} s asked for, {report['elapsed_s']:.0f} s taken.",
        "",
    ]
    fixed = ["run", "step", "seconds", "steps_per_s", "precision"]
    header = fixed + sorted({k for row in rows for k in row} - set(fixed))
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(row.get(k, "")) for k in header) + " |" for row in rows]
    lines += [f"\n{name} failed: {why}" for name, why in report["failed"].items()]
    lines += [
        f"\n{name} was stopped at the deadline after its last piece (its rows are kept)"
        for name in report["stopped_at_deadline"]
    ]
    return "\n".join(lines) + "\n"


def gpu_train(
    out: Path,
    seconds: float,
    dry: bool = False,
    only: list[str] | None = None,
    script: Path = RECIPE_SCRIPT,
    seeds: list[int] | None = None,
    resume: Path | None = None,
    checkpoint_back: bool = False,
) -> dict:
    """Train every recipe of `script` (or those named in `only`) for `seconds`, side by side,
    once with its own seed or once per seed in `seeds` (run NAME-seedS); write OUT as the
    module says. A worker still running GRACE_S after the deadline is stopped
    (SIGTERM: it writes its checkpoint and exits); the report is written whatever happens."""
    import torch

    device = "CPU (dry run)" if dry else torch.cuda.get_device_name(0)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    until = started + seconds
    runs = planned_runs(script, only, seeds)
    names = [seeded(recipe, seed) for recipe, seed in runs]
    failed: dict[str, str] = {}
    stopped: list[str] = []  # by SIGTERM at the deadline, while exporting or scoring
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        workers = {}
        try:
            for (recipe, seed), name in zip(runs, names):
                command = [
                    sys.executable,
                    __file__,
                    "--worker",
                    recipe,
                    "--until",
                    str(until),
                    "--out",
                    str(out),
                    "--work",
                    str(work),
                    "--recipes",
                    str(script),
                ]
                command += ["--dry"] if dry else []
                command += [] if keeps_last(len(names)) else ["--best-only"]
                command += [] if seed is None else ["--seed", str(seed)]
                command += [] if resume is None else ["--resume", str(resume)]
                with open(work / f"{name}.err", "w") as errors:
                    workers[name] = subprocess.Popen(command, stderr=errors)
            while (
                any(p.poll() is None for p in workers.values()) and time.time() < until + GRACE_S
            ):
                time.sleep(0.5)
        finally:
            for process in workers.values():
                if process.poll() is None:
                    process.terminate()
            for name, process in workers.items():
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    failed[name] = "did not stop within 60 s of SIGTERM"
                if process.returncode == -signal.SIGTERM:  # stopped outside a training piece
                    stopped.append(name)
                elif process.returncode and name not in failed:
                    lines = (work / f"{name}.err").read_text().strip().splitlines()
                    failed[name] = (lines or [f"exit status {process.returncode}"])[-1]
            if checkpoint_back:  # each run's latest full checkpoint, in parts
                for name in names:
                    if (work / name / "checkpoint.pt").exists():
                        for old in out.glob(f"{name}-checkpoint.pt.*"):
                            old.unlink()
                        split_file(work / name / "checkpoint.pt", out, f"{name}-checkpoint.pt")
            rows = []
            for name in names:
                done = work / f"{name}.json"
                runs = json.loads(done.read_text()) if done.exists() else []
                if not runs:
                    failed.setdefault(name, "no piece finished in the time given")
                rows += runs
            report = {"device": device, "seconds": seconds, "elapsed_s": time.time() - started,
                      "rows": rows, "failed": failed, "stopped_at_deadline": stopped}  # fmt: skip
            (out / "report.json").write_text(json.dumps(report, indent=1) + "\n")
            (out / "report.md").write_text(markdown(report))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("gpu-train"), help="the report folder")
    parser.add_argument("--seconds", type=float, default=240.0, help="time for the training")
    parser.add_argument("--dry", action="store_true", help="on the CPU at toy sizes")
    parser.add_argument(
        "--candidates", action="store_true", help="the recipes of data/train_candidates.sh"
    )
    names = sorted(recipes() | recipes(CANDIDATE_SCRIPT))
    parser.add_argument("--only", nargs="+", choices=names, help="these recipes")
    parser.add_argument(
        "--seeds", nargs="+", type=int, help="train each recipe once per seed (runs NAME-seedS)"
    )
    parser.add_argument(
        "--resume", type=Path, help="go on from DIR/NAME/checkpoint.pt instead of step 0"
    )
    parser.add_argument(
        "--checkpoint-back",
        action="store_true",
        help="also bring back each run's full checkpoint, in parts (OUT/NAME-checkpoint.pt.K)",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # one recipe's process
    parser.add_argument("--best-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)  # a worker's seed
    parser.add_argument("--until", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--recipes", type=Path, default=RECIPE_SCRIPT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(
            args.worker, args.until, args.out, args.work, args.recipes, args.dry,
            last=not args.best_only, seed=args.seed, resume=args.resume,
        )  # fmt: skip
        return 0
    script = CANDIDATE_SCRIPT if args.candidates else args.recipes
    if not recipes(script):
        print(f"error: {script.relative_to(ROOT) if script.is_relative_to(ROOT) else script} "
              "holds no recipe now; add one there, or leave out --candidates to train the "
              "shipped recipes", file=sys.stderr)  # fmt: skip
        return 2
    unknown = sorted(set(args.only or ()) - set(recipes(script)))
    if unknown:
        which = "--candidates" if args.candidates else "no --candidates"
        print(f"error: {', '.join(unknown)} is not a recipe of {script.name} ({which})",
              file=sys.stderr)  # fmt: skip
        return 2
    runs = planned_runs(script, args.only, args.seeds)
    count = len(runs)
    if files_out(count, last=False) > FILES_BACK:
        print(f"error: {count} runs need {files_out(count, last=False)} files, more than the "
              f"{FILES_BACK} the device tool returns; name fewer with --only or --seeds",
              file=sys.stderr)  # fmt: skip
        return 2
    if args.checkpoint_back and count > 1:
        print("error: --checkpoint-back brings back one run's checkpoint (its parts fill the "
              f"{FILES_BACK} files the device tool returns); name one with --only and one "
              "--seeds or none", file=sys.stderr)  # fmt: skip
        return 2
    if args.resume is not None:
        names = [seeded(recipe, seed) for recipe, seed in runs]
        missing = [name for name in names if not (args.resume / name / "checkpoint.pt").exists()]
        if missing:
            print(f"error: --resume {args.resume} has no checkpoint.pt for {', '.join(missing)} "
                  f"(expected {args.resume / missing[0] / 'checkpoint.pt'}); train it there "
                  "first or leave out --resume", file=sys.stderr)  # fmt: skip
            return 2
    report = gpu_train(
        args.out, args.seconds, args.dry, args.only, script, args.seeds, args.resume,
        args.checkpoint_back,
    )  # fmt: skip
    print((args.out / "report.md").read_text())
    return 1 if report["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
