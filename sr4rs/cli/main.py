"""``sr4rs``: one program, one subcommand per job."""
from __future__ import annotations

import argparse
import importlib
import sys

from .common import run_command

# subcommand -> module under sr4rs.cli (dashes as underscores) exposing add_arguments(parser) and run(args, cancel)
COMMANDS = {
    "apply": "Super-resolve a scene with a SavedModel, region by region.",
    "apply-many": "Super-resolve many scenes (or very large ones) on a Dask cluster, local or running.",
    "evaluate": "Measure a model against bicubic and other baselines (PSNR, SSIM, SAM, ERGAS, consistency).",
    "extract": "Cut LR/HR patch pairs (OTBTF patches images) for training.",
    "shard": "Cut patches into shards that training reads in parallel, locally or from object storage.",
    "train": "Train a super-resolution network on patches and export a SavedModel.",
    "models": "List the models bundled with sr4rs.",
    "export-onnx": "Write a model as an ONNX file (its metadata inside) for other runtimes.",
    "sensors": "List the sensors whose products sr4rs reads (Sentinel-2, Landsat...), with their bands.",
}


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(prog="sr4rs", description="Super-resolution of remote sensing images.")
    parser.add_argument("--version", action="version", version=f"sr4rs {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        module = importlib.import_module(f".{name.replace('-', '_')}", __package__)
        module.add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    module = importlib.import_module(f".{args.command.replace('-', '_')}", __package__)
    interrupted = getattr(module, "INTERRUPTED", "nothing was written")
    return run_command(f"sr4rs {args.command}", lambda cancel: module.run(args, cancel), interrupted=interrupted)


if __name__ == "__main__":
    sys.exit(main())
