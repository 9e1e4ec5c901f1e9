"""``sr4rs``: one program, one subcommand per job."""
from __future__ import annotations

import argparse
import importlib
import sys

from .common import missing_module_line, run_command, set_verbosity
from .options import aliases

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
    "doctor": "Say what this installation has and lacks (GDAL, TensorFlow, integrations), with install lines.",
}


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Help that shows each flag's default (where it has one to show)."""

    def _get_help_string(self, action):
        default = action.default
        if default is None or default is False or (isinstance(default, (tuple, list)) and not default) or \
                "%(default)" in (action.help or "") or "default" in (action.help or "").lower():
            return action.help
        return super()._get_help_string(action)


def verbose_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--verbose", action="store_true", help="show the libraries' messages (TensorFlow, absl, "
                        "GDAL, Python warnings), hidden by default")


def _command(argv) -> str:
    """The subcommand named on the command line (its parser alone is built), or None."""
    return next((a for a in argv if not a.startswith("-")), None)


def build_parser(only: str = None) -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(prog="sr4rs", description="Super-resolution of remote sensing images.",
                                     formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=f"sr4rs {__version__}")
    verbose_flag(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        if only in COMMANDS and name != only:
            continue
        module = importlib.import_module(f".{name.replace('-', '_')}", __package__)
        command = sub.add_parser(name, help=help_text, description=help_text, formatter_class=HelpFormatter)
        module.add_arguments(command)
        verbose_flag(command)
        aliases(command)
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    set_verbosity("--verbose" in argv)
    try:
        args = build_parser(_command(argv)).parse_args(argv)
    except ImportError as err:  # a module the flags need (GDAL's bindings) is missing
        if missing_module_line(err) is None:
            raise
        print(f"sr4rs: error: {missing_module_line(err)}", file=sys.stderr)
        return 1
    module = importlib.import_module(f".{args.command.replace('-', '_')}", __package__)
    interrupted = getattr(module, "INTERRUPTED", "nothing was written")
    return run_command(f"sr4rs {args.command}", lambda cancel: module.run(args, cancel), interrupted=interrupted)


if __name__ == "__main__":
    sys.exit(main())
