"""Train the shipped generators' recipes on a lent GPU for a fixed time, side by side (issue 14).

    make gpu-train      # PYTHONPATH=. python3 tools/gpu_train.py --seconds 240 --out gpu-train

Run it after `make gpu-check`, in the device time that is left, on the stock GPU image's
python3 (no venv, no network). Each recipe of data/train_checkpoints.sh (read from that script,
so the two cannot drift apart) trains in its own process on the one GPU: these models are too
small to keep a GPU busy, so three at once cost little more than one. A run goes in pieces of
about a minute; after each piece it is exported in half precision and scored the way
data/README.md scores the shipped files (tools/score_checkpoints.py's measures), and a next
piece starts only if it fits in the time left. Resuming is exact, so
`python -m dcgan_lib train <recipe> --device cuda --steps N` gives the export of step N again
(on the same kind of GPU and torch).

OUT receives, for each recipe, the export that scored best on issue 14's first bar
(NAME-best.pt) and the last one (NAME-last.pt) where they differ, plus report.json and
report.md with every piece's step, time and scores: at most 8 files, what the device tool
returns. ``--dry`` runs the same code on the CPU at toy sizes (ngf = ndf = 8, pieces of 5 steps,
64 samples per score).
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]

RECIPE_SCRIPT = ROOT / "data" / "train_checkpoints.sh"
# options a GPU run sets itself: how long, where, on which device, how often it writes
SET_HERE = {"--steps", "--out", "--device", "--checkpoint-every", "--sample-every"}
FIRST_PIECE = 1000  # steps of the first piece, which measures the rate
PIECE_S = 60.0  # the pieces after it: about this long, so that the scores trace the run
MARGIN_S = 20.0  # kept free at the end for the last export, its scores and the report
DRY = {"piece": 5, "samples": 64, "options": ["--ngf", "8", "--ndf", "8"]}


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


_real_features = []  # the held-out digits' features, computed once per process


def score(path: Path, samples: int) -> dict[str, float]:
    """data/README.md's scores of one export: the digits' three, or the shapes' clean share."""
    import score_checkpoints as sc

    from dcgan_lib.checkpoints import load_checkpoint
    from dcgan_lib.data import load_mnist5k
    from dcgan_lib.metrics import extract_features, mnist_split
    from dcgan_lib.shapes_classifier import clean_shape_mask

    images = sc.generate(path, samples)
    if load_checkpoint(path)["config"]["dataset"] != "mnist5k":
        return {"clean_share": clean_shape_mask(images).float().mean().item()}
    if not _real_features:
        _real_features.append(extract_features(load_mnist5k(32).images[mnist_split()[1]]))
    found = sc.digit_scores(images, _real_features[0])
    return {k: found[k] for k in ("confident_share", "entropy_share", "fid")}


def bar_value(row: dict) -> float:
    """What 'best' means: issue 14's first bar, the confident share or the clean share."""
    return row.get("confident_share", row.get("clean_share", 0.0))


def worker(name: str, until: float, work: Path, dry: bool) -> None:
    """Train one recipe in pieces until the wall-clock time `until`; after each piece export,
    score and rewrite work/NAME.json with the rows so far."""
    from dcgan_lib.__main__ import build_parser, config_from_args
    from dcgan_lib.checkpoints import export_checkpoint
    from dcgan_lib.data import load_dataset
    from dcgan_lib.train import train

    run = work / name
    options = recipes()[name] + (DRY["options"] if dry else [])
    args = build_parser().parse_args(["train", *options, "--out", str(run)])
    config = config_from_args(args)
    config.device = "cpu" if dry else "cuda"
    config.sample_every = config.checkpoint_every = 10**9  # a checkpoint at each piece's end
    dataset = load_dataset(config.dataset, image_size=config.image_size, seed=config.seed)
    rows: list[dict] = []
    step, rate = 0, None
    while True:
        left = until - time.time() - MARGIN_S
        if dry:
            piece = DRY["piece"]
        elif rate is None:
            piece = FIRST_PIECE
        else:  # whole thousands of steps, about PIECE_S seconds' worth
            piece = int(min(left, PIECE_S) * rate) // 1000 * 1000
        if rows and (left <= 0 or piece < 1 or piece / rate > left):  # the first always runs
            return
        started = time.time()
        config.steps = step + piece
        train(config, dataset, run, progress=False)
        seconds = time.time() - started
        step, rate = config.steps, piece / seconds
        export = export_checkpoint(run / "checkpoint.pt", work / f"{name}-{step}.pt", half=True)
        scores = score(export, DRY["samples"] if dry else 2000)
        rows.append(
            {"run": name, "step": step, "seconds": round(seconds, 1),
             "steps_per_s": round(rate, 1), **{k: round(v, 4) for k, v in scores.items()}}
        )  # fmt: skip
        (work / f"{name}.json").write_text(json.dumps(rows))
        print(f"{name}: {rows[-1]}", flush=True)


def markdown(rows: list[dict], failed: dict[str, str], device: str, seconds: float) -> str:
    lines = [f"# GPU training of the shipped recipes: {device}, {seconds:.0f} s", ""]
    fixed = ["run", "step", "seconds", "steps_per_s"]
    header = fixed + sorted({k for row in rows for k in row} - set(fixed))
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(row.get(k, "")) for k in header) + " |" for row in rows]
    lines += [f"\n{name} failed: {why}" for name, why in failed.items()]
    return "\n".join(lines) + "\n"


def gpu_train(out: Path, seconds: float, dry: bool = False, only: list[str] | None = None) -> dict:
    """Train every recipe (or those named in `only`) for `seconds`, side by side; write OUT
    as the module says."""
    import torch

    device = "CPU (dry run)" if dry else torch.cuda.get_device_name(0)
    out.mkdir(parents=True, exist_ok=True)
    until = time.time() + seconds
    rows, failed = [], {}
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        names = only or list(recipes())
        workers = {
            name: subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    name,
                    "--until",
                    str(until),
                    "--out",
                    str(work),
                ]
                + (["--dry"] if dry else []),
                stderr=subprocess.PIPE,
                text=True,
            )  # fmt: skip
            for name in names
        }
        for name, process in workers.items():
            _, errors = process.communicate()
            if process.returncode:
                failed[name] = (errors.strip().splitlines() or ["(no message)"])[-1]
            done = work / f"{name}.json"
            runs = json.loads(done.read_text()) if done.exists() else []
            if not runs:
                failed.setdefault(name, "no piece finished in the time given")
                continue
            best = max(runs, key=bar_value)
            shutil.copy(work / f"{name}-{best['step']}.pt", out / f"{name}-best.pt")
            if best is not runs[-1]:
                shutil.copy(work / f"{name}-{runs[-1]['step']}.pt", out / f"{name}-last.pt")
            rows += runs
    report = {"device": device, "seconds": seconds, "rows": rows, "failed": failed}
    (out / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    (out / "report.md").write_text(markdown(rows, failed, device, seconds))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("gpu-train"), help="the report folder")
    parser.add_argument("--seconds", type=float, default=240.0, help="time for the training")
    parser.add_argument("--dry", action="store_true", help="on the CPU at toy sizes")
    parser.add_argument("--only", nargs="+", choices=sorted(recipes()), help="these recipes")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # one recipe's process
    parser.add_argument("--until", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.until, args.out, args.dry)
        return 0
    report = gpu_train(args.out, args.seconds, args.dry, args.only)
    print((args.out / "report.md").read_text())
    return 1 if report["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
