"""The course's CLI against the real pytorch/examples DCGAN script, whole process, as a user runs both.

    curl -LO https://raw.githubusercontent.com/pytorch/examples/77f55b912142e11fcfdf5b530231fb9c52f181e8/dcgan/main.py
    python bench/compare_examples.py --examples-main main.py

Both train the same network sizes (nz 100, ngf = ndf = 64, 64x64 RGB) on the same folder of
PNG files (synthetic shapes, written here) for the same number of steps (one epoch of
pytorch/examples: --images / --batch steps), each as its own `python` process from start to
exit: interpreter start-up, imports, reading the images, training, samples and checkpoints.
Each command runs --repeats times, alternating, and the table gives the median wall-clock
seconds and the ratio of the script's median to each row's (above 1: faster than the script).
The script is not vendored here: pass its path.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def write_folder(folder: Path, count: int, size: int) -> None:
    """count RGB PNGs of synthetic shapes in folder/shapes/ (ImageFolder wants a class folder)."""
    sys.path.insert(0, str(ROOT))
    from PIL import Image

    from dcgan_lib.data import SyntheticShapes, to_uint8

    target = folder / "shapes"
    target.mkdir(parents=True)
    shapes = SyntheticShapes(n=count, image_size=size, seed=0)
    for i in range(count):
        pixels = to_uint8(shapes[i][0]).permute(1, 2, 0).numpy()
        Image.fromarray(pixels).save(target / f"{i:05d}.png")


def commands(main_py: Path, folder: Path, out: Path, steps: int, args) -> dict[str, list[str]]:
    """Each row's command line: the script, the CLI's defaults, and the CLI as it was before."""
    script = [sys.executable, str(main_py), "--dataset", "folder", "--dataroot", str(folder),
              "--imageSize", str(args.image_size), "--batchSize", str(args.batch), "--niter", "1",
              "--workers", "2", "--manualSeed", "0", "--outf", str(out / "examples")]  # fmt: skip
    course = [sys.executable, "-m", "dcgan_lib", "train", "--dataset", f"folder:{folder}",
              "--image-size", str(args.image_size), "--batch-size", str(args.batch),
              "--ngf", "64", "--ndf", "64", "--steps", str(steps), "--sample-every", "100",
              "--checkpoint-every", str(steps), "--quiet", "--no-resume"]  # fmt: skip
    return {
        "pytorch/examples dcgan/main.py (2 loader workers)": script,
        "dcgan_lib train, its defaults": [*course, "--out", str(out / "defaults")],
        "dcgan_lib train, fp32 NCHW, a loader per step (the old defaults)": [
            *course,
            "--out",
            str(out / "old"),
            "--precision",
            "fp32",
            "--no-channels-last",
            "--no-data-on-device",
            "--num-workers",
            "2",
        ],  # fmt: skip
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples-main", type=Path, required=True,
                        help="path to pytorch/examples dcgan/main.py")  # fmt: skip
    parser.add_argument("--images", type=int, default=3200)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    if not args.examples_main.is_file():
        parser.exit(2, f"error: {args.examples_main} is not a file; download it with the curl "
                       f"line at the top of {Path(__file__).name}\n")  # fmt: skip
    steps = args.images // args.batch
    with tempfile.TemporaryDirectory(prefix="compare_examples_") as scratch:
        scratch = Path(scratch)
        write_folder(scratch / "images", args.images, args.image_size)
        rows = commands(args.examples_main, scratch / "images", scratch, steps, args)
        seconds: dict[str, list[float]] = {name: [] for name in rows}
        for repeat in range(args.repeats):
            for name, command in rows.items():
                started = time.perf_counter()
                subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
                seconds[name].append(time.perf_counter() - started)
                print(f"repeat {repeat + 1}: {name}: {seconds[name][-1]:.1f} s", flush=True)
    baseline = statistics.median(next(iter(seconds.values())))
    print(f"\n{args.images} images, {args.image_size}x{args.image_size}, batch {args.batch}, "
          f"{steps} steps, median of {args.repeats}\n")  # fmt: skip
    print("| command | seconds (median) | runs | ratio to the script |\n|---|---|---|---|")
    for name, values in seconds.items():
        median = statistics.median(values)
        runs = ", ".join(f"{v:.1f}" for v in values)
        print(f"| {name} | {median:.1f} | {runs} | {baseline / median:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
