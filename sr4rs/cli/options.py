"""Flags shared by several commands, each defined once (names match the library's fields)."""
from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, received {value}")
    return value


def model(parser: argparse.ArgumentParser, repeatable: bool = False) -> None:
    """--model NAME (a bundled model) and --savedmodel FOLDER."""
    action = "append" if repeatable else "store"
    group = parser.add_mutually_exclusive_group() if not repeatable else parser
    group.add_argument("--model", action=action, metavar="NAME",
                       help="a bundled model by name (see sr4rs models; default: the one for the input's band count)")
    group.add_argument("--savedmodel", action=action, metavar="FOLDER",
                       help="a SavedModel folder" + (" (repeatable)" if repeatable else "") +
                       ". A model is a program: only load models you trust")


def scale(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scale", type=int, help="scale factor of a model without sr4rs metadata "
                        "(SR4RS's models: 4, the default)")


def nodata(parser: argparse.ArgumentParser, effect: str = "") -> None:
    parser.add_argument("--nodata", type=float, help="nodata value of inputs without a nodata tag (e.g. 0 for "
                        "Landsat and Sentinel-2 fill); NaN and infinite values are nodata anyway" + effect)


def encoding(parser: argparse.ArgumentParser, what: str, bare: bool = False) -> None:
    from ..api import ENCODING_CHOICES

    # As in SR4RS's sr.py, --encoding given without a value means its default.
    extra = dict(const="auto", nargs="?") if bare else {}
    parser.add_argument("--encoding", default="auto", type=str.lower, choices=ENCODING_CHOICES, metavar="TYPE",
                        help=f"pixel type of {what}: auto (the input's), uint8, int16, uint16, int32, uint32, "
                        "float32, float64, or SR4RS's names (unsigned_short, float, ...)", **extra)


def tiling(parser: argparse.ArgumentParser, bare_pad: bool = False) -> None:
    extra = dict(nargs="?", const=None) if bare_pad else {}
    parser.add_argument("--ts", type=int, help="tile size, in output pixels (default: the image split evenly into "
                        "tiles of at most 1024)")
    parser.add_argument("--pad", type=int, help="margin around each tile, in output pixels (default: the "
                        "model's recommended margin; 64 for SR4RS models)", **extra)


def stac(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stac", action=argparse.BooleanOptionalAction, default=None,
                        help="write a STAC item (JSON) beside each output, linked to the input item (default: with "
                        "--cog)")


def overwrite(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--overwrite", action="store_true", help=f"replace {what}")


def runtime(parser: argparse.ArgumentParser, otbtf: bool = False) -> None:
    """--backend and --precision: which runtime computes the model, in which precision."""
    from ..api import BACKENDS, PRECISIONS

    choices = BACKENDS if otbtf else tuple(b for b in BACKENDS if b != "otbtf")
    parser.add_argument("--backend", choices=choices, default="native",
                        help="native: TensorFlow running the SavedModel (default); onnxruntime, openvino: the model "
                        "converted once and cached (pip install 'sr4rs[onnx]' or 'sr4rs[openvino]'; missing, native "
                        "runs instead)" + ("; otbtf: OTBTF's TensorflowModelServe where OTBTF is installed" if otbtf
                                           else ""))
    parser.add_argument("--precision", type=str.lower, choices=PRECISIONS, default=None,
                        help="auto (default, or $SR4RS_PRECISION): bfloat16 on CPUs that compute it natively (about "
                        "twice as fast, within 55 dB PSNR of float32; see docs/performance.md), else float32; "
                        "float32: the exact result of the SavedModel")


def no_progress(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bar (there is none either when stderr is not a terminal)")


def creation_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-co", "--co", dest="creation_options", action="append", default=[],
                        metavar="NAME=VALUE", help="GDAL creation option, as gdal_translate -co (repeatable)")


def bands(parser: argparse.ArgumentParser, what: str = "the input") -> None:
    """--bands and --sensor: bands picked from a product (or one raster) by name."""
    parser.add_argument("--bands", type=_band_list, metavar="B4,B3,B2", help=f"bands of {what}, in order, by name "
                        "(a product's band names or aliases, a GeoTIFF's band descriptions) or number; for a product, "
                        "default: the bands the model takes")
    parser.add_argument("--sensor", metavar="NAME|FILE", help="the sensor of a product (default: detected; "
                        "sr4rs sensors lists them), or a sensor description file")


def _band_list(text: str):
    names = [n for n in text.replace(",", " ").split() if n]
    if not names:
        raise argparse.ArgumentTypeError("give band names such as B4,B3,B2")
    return names


# sr4rs's own flags are written with dashes, SR4RS's (train.py, apply.py) with underscores: each command takes both
# spellings of every flag, and these names of the batch size, so that a flag written the other way still works.
ALIASES = {"--batchsize": "--batch-size", "--batch-size": "--batchsize"}


def aliases(parser: argparse.ArgumentParser) -> None:
    """Every ``--a_b`` flag also answers to ``--a-b`` and the other way round (and ``--batchsize`` to
    ``--batch-size``); the help shows each flag under its own name."""
    known = parser._option_string_actions  # argparse's table of option strings: the aliases join it unlisted
    for action in list(parser._actions):
        for name in list(action.option_strings):
            if not name.startswith("--"):
                continue
            spellings = {"--" + name[2:].replace("_", "-"), "--" + name[2:].replace("-", "_"), ALIASES.get(name)}
            for alias in spellings - {None, name}:
                known.setdefault(alias, action)
    parser.epilog = ((parser.epilog + " ") if parser.epilog else "") + \
        "Every flag also takes the other spelling (--batch-size or --batchsize, --save-ckpt or --save_ckpt)."
