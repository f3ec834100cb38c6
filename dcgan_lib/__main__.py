"""Command line: `python -m dcgan_lib train|export|download|bench ...`; `--help` on each.

A user's mistake (a bad option value, missing data, a corrupt or mismatched checkpoint, a
precision the device lacks) prints one line, ``error: ...`` naming the fix, and exits with
status 2 (a run that diverged to NaN: 1); ``--debug`` shows the traceback as well. A bug in
the course keeps its traceback.
Ctrl-C or SIGTERM during training saves the checkpoint at the last whole step and exits with
128 + the signal number (130, 143), printing the command that resumes.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import MISSING, fields
from pathlib import Path

from .config import TrainConfig
from .errors import CourseError, TrainingDiverged, TrainingInterrupted

PROG = "python -m dcgan_lib"
USER_ERROR = 2  # like argparse's own exit status for a bad command line


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line naming the fix, not the whole usage text."""

    def error(self, message: str):
        self.exit(USER_ERROR, f"error: {message}; see `{self.prog} --help`\n")


def _add_config_options(parser: argparse.ArgumentParser) -> None:
    for f in fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        default = f.default if f.default is not MISSING else None
        if f.type in (bool, "bool", "bool | None"):  # None: settled by the device (auto)
            parser.add_argument(
                flag,
                action=argparse.BooleanOptionalAction,
                default=default,
                help=f"{f.metadata['help']} (default: {'auto' if default is None else default})",
            )
        else:
            kind = {"int": int, "float": float, "float | None": float, "str": str}.get(
                str(f.type), type(default)
            )
            parser.add_argument(
                flag,
                type=kind,
                default=default,
                metavar=f.name.upper(),
                help=f"{f.metadata['help']} (default: {default!r})",
            )


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog=PROG, description="Train and inspect DCGANs (the course library).")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors too")
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument(
            "--debug",
            action="store_true",
            default=argparse.SUPPRESS,
            help="show tracebacks of errors too",
        )
        return sub

    train = command("train", "train a DCGAN (resumes from OUT/checkpoint.pt)")
    train.add_argument(
        "--out", type=Path, required=True, help="folder for samples/ and checkpoint.pt"
    )
    train.add_argument(
        "--no-resume",
        action="store_true",
        help="start over even if OUT/checkpoint.pt exists (it is overwritten)",
    )
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_config_options(train)
    export = command("export", "write a small copy of a checkpoint (no optimiser state)")
    export.add_argument("source", type=Path)
    export.add_argument("target", type=Path)
    export.add_argument("--half", action="store_true", help="store weights as float16")
    download = command("download", "download a torchvision dataset")
    download.add_argument("dataset", choices=["mnist", "fashion-mnist", "cifar10", "celeba"])
    download.add_argument(
        "--root", type=Path, default=None, help="where to put it (default ~/dcgan_datasets)"
    )
    from .perf import add_bench_options

    add_bench_options(command("bench", "measure training throughput of the speed features"))
    check = command(
        "gpu-check", "everything a lent GPU should measure, in one run (make gpu-check)"
    )
    check.add_argument("--out", type=Path, required=True, help="folder for report.json/.md")
    check.add_argument("--dry", action="store_true", help="the same phases on the CPU, toy sizes")
    check.add_argument("--device", default="auto", help="auto (cuda > mps > cpu), cuda or cpu")
    check.add_argument("--phases", default="all", help="comma-separated, of bench, quality, "
                       "full_mode, ddp, batch_scan (default: all)")  # fmt: skip
    return parser


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The TrainConfig that `train`'s options describe (tools/gpu_train.py reads recipes so)."""
    return TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})


def run_train(args, argv: list[str]) -> int:
    from .distributed import finish_distributed
    from .train import train

    config = config_from_args(args)
    try:
        result = train(
            config, out_dir=args.out, resume=not args.no_resume, progress=not args.quiet
        )
    except TrainingInterrupted as stop:
        if stop.checkpoint_path is not None:  # the same command without --no-resume resumes
            resume = [a for a in argv if a != "--no-resume"]
            stop.args = (f"{stop}\nresume with: {shlex.join(PROG.split() + resume)}",)
        raise
    finally:
        finish_distributed()  # under torchrun; a no-op in a single process
    if result.out_dir is None:  # a torchrun process other than rank 0: rank 0 reports
        return 0
    last = {k: round(v[-1], 4) for k, v in result.history.items() if v}
    print(f"trained to step {result.step} in {result.seconds:.1f} s; last step: {last}")
    print(f"samples:    {args.out / 'samples'}")
    print(f"checkpoint: {result.checkpoint_path}")
    return 0


def run_command(args, argv: list[str]) -> int:
    if args.command == "train":
        return run_train(args, argv)
    if args.command == "export":
        from .checkpoints import export_checkpoint

        path = export_checkpoint(args.source, args.target, half=args.half)
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
    elif args.command == "download":
        from .data import load_dataset

        dataset = load_dataset(args.dataset, root=args.root, download=True)
        print(f"{args.dataset}: {len(dataset)} images ready")
    elif args.command == "gpu-check":
        from .perf.gpu_check import PHASES, failed_phases, gpu_check

        phases = tuple(name.strip() for name in args.phases.split(",") if name.strip())
        phases = PHASES if phases == ("all",) else phases
        report = gpu_check(args.out, dry=args.dry, device=args.device, phases=phases)
        failed = failed_phases(report)
        print(f"wrote {args.out / 'report.md'} and report.json; phases that failed: "
              f"{', '.join(failed) or 'none'}; seconds: {report.get('seconds')}")  # fmt: skip
        return 1 if failed else 0
    elif args.command == "bench":
        import json

        from .perf import bench_from_args, format_table

        result = bench_from_args(args)
        print(result["meta"])
        for row in result.get("quality", []):
            print(row)
        if "rows" in result:
            print(format_table(result))
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    try:
        return run_command(args, argv)
    except KeyboardInterrupt:  # Ctrl-C before training started (loading data, building)
        if args.debug:
            raise
        print("interrupted before training started; nothing was written", file=sys.stderr)
        return 130
    except (CourseError, OSError) as error:  # the user's to fix; anything else is a bug
        if args.debug:
            raise
        if isinstance(error, TrainingInterrupted):  # not a mistake: say where to pick up
            print(error, file=sys.stderr)
            return 128 + error.signal_number
        message = str(error)
        if "Original Traceback" in message:  # raised in a DataLoader worker: keep its last line
            message = message.strip().splitlines()[-1]
        print("error: " + " ".join(message.split()), file=sys.stderr)  # one line
        return 1 if isinstance(error, TrainingDiverged) else USER_ERROR


if __name__ == "__main__":
    sys.exit(main())
