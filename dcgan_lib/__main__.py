"""Command line: `python -m dcgan_lib train|export|download|bench ...`; `--help` on each."""
from __future__ import annotations

import argparse
import sys
from dataclasses import MISSING, fields
from pathlib import Path

from .train import TrainConfig


def _add_config_options(parser: argparse.ArgumentParser) -> None:
    for f in fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        default = f.default if f.default is not MISSING else None
        if f.type in (bool, "bool"):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default,
                                help=f"{f.metadata['help']} (default: {default})")
        else:
            kind = {"int": int, "float": float, "str": str}.get(str(f.type), type(default))
            parser.add_argument(flag, type=kind, default=default, metavar=f.name.upper(),
                                help=f"{f.metadata['help']} (default: {default!r})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dcgan_lib",
                                     description="Train and inspect DCGANs (the course library).")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train a DCGAN (resumes from OUT/checkpoint.pt)")
    train.add_argument("--out", type=Path, required=True, help="folder for samples/ and checkpoint.pt")
    train.add_argument("--no-resume", action="store_true",
                       help="start over even if OUT/checkpoint.pt exists (it is overwritten)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_config_options(train)
    export = commands.add_parser("export", help="write a small copy of a checkpoint (no optimiser state)")
    export.add_argument("source", type=Path)
    export.add_argument("target", type=Path)
    export.add_argument("--half", action="store_true", help="store weights as float16")
    download = commands.add_parser("download", help="download a torchvision dataset")
    download.add_argument("dataset", choices=["mnist", "fashion-mnist", "cifar10", "celeba"])
    download.add_argument("--root", type=Path, default=None, help="where to put it (default ~/dcgan_datasets)")
    from .bench import add_bench_options
    add_bench_options(commands.add_parser("bench", help="measure training throughput of the speed features"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "train":
        from .train import train
        config = TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
        result = train(config, out_dir=args.out, resume=not args.no_resume, progress=not args.quiet)
        from .distributed import finish_distributed
        finish_distributed()  # under torchrun; a no-op in a single process
        if result.out_dir is None:  # a torchrun process other than rank 0: rank 0 reports
            return 0
        last = {k: round(v[-1], 4) for k, v in result.history.items() if v}
        print(f"trained to step {result.step} in {result.seconds:.1f} s; last step: {last}")
        print(f"samples:    {args.out / 'samples'}")
        print(f"checkpoint: {result.checkpoint_path}")
    elif args.command == "export":
        from .train import export_checkpoint
        path = export_checkpoint(args.source, args.target, half=args.half)
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
    elif args.command == "download":
        from .data import load_dataset
        dataset = load_dataset(args.dataset, root=args.root, download=True)
        print(f"{args.dataset}: {len(dataset)} images ready")
    elif args.command == "bench":
        import json
        from .bench import bench_from_args, format_table
        result = bench_from_args(args)
        print(result["meta"])
        for row in result.get("quality", []):
            print(row)
        if "rows" in result:
            print(format_table(result))
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
