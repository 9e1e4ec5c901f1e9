"""``sr4rs apply`` (and ``apply.py``): super-resolve a scene with a SavedModel.

The flags of SR4RS's ``sr.py`` (--input, --savedmodel, --output, --encoding,
--pad, --ts) keep their meaning: --pad and --ts are in output pixels.
"""
from __future__ import annotations

import argparse
import sys

from .common import progress_bar, quiet_tensorflow, script_main

PROG = "sr4rs apply"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..raster import ENCODING_CHOICES

    parser.add_argument("--input", required=True, help="low-resolution image (any GDAL raster)")
    parser.add_argument("--savedmodel", help="SavedModel folder (default: the model bundled with sr4rs). "
                        "A model is a program: only load models you trust")
    parser.add_argument("--output", required=True, help="output GeoTIFF")
    # As in SR4RS's sr.py, --encoding and --pad given without a value mean their defaults.
    parser.add_argument("--encoding", default="auto", const="auto", nargs="?", type=str.lower, choices=ENCODING_CHOICES,
                        metavar="TYPE", help="output pixel type: auto (the input's), uint8, int16, uint16, "
                        "int32, uint32, float32, float64, or SR4RS's names (unsigned_short, float, ...)")
    parser.add_argument("--pad", type=int, nargs="?", const=None, help="margin around each tile, in output pixels "
                        "(default: the model's recommended margin; 64 for SR4RS models)")
    parser.add_argument("--ts", type=int, help="tile size, in output pixels (default 512)")
    parser.add_argument("--batch-size", type=int, help="tiles per model call (default: automatic)")
    parser.add_argument("--nodata", type=float, help="nodata value of the input, used when the file has no "
                        "nodata tag (e.g. 0 for Landsat and Sentinel-2 fill)")
    parser.add_argument("--scale", type=int, help="scale factor of a model without sr4rs metadata "
                        "(SR4RS's models: 4, the default)")
    parser.add_argument("-co", "--co", dest="creation_options", action="append", default=[],
                        metavar="NAME=VALUE", help="GDAL creation option, as gdal_translate -co (repeatable)")
    parser.add_argument("--cog", action="store_true", help="write a Cloud Optimized GeoTIFF")
    parser.add_argument("--quicklook", metavar="PNG", help="also write a contrast-stretched PNG of the result")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")
    parser.add_argument("--backend", choices=("native", "otbtf"), default="native",
                        help="native (default) or OTBTF's TensorflowModelServe where OTBTF is installed")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bar (there is none either when stderr is not a terminal)")


def run(args: argparse.Namespace) -> int:
    quiet_tensorflow()
    from ..engine import ApplyOptions
    from ..raster import parse_creation_options
    from .. import api

    options = ApplyOptions(tile_size=args.ts, pad=args.pad, batch_size=args.batch_size, nodata=args.nodata,
                           encoding=args.encoding, creation_options=parse_creation_options(args.creation_options),
                           cog=args.cog, overwrite=args.overwrite)
    if args.backend == "otbtf":
        from ..otbtf import apply_with_otbtf

        apply_with_otbtf(args.input, args.savedmodel, args.output, options, scale=args.scale)
    else:
        total = api.input_pixels(args.input)
        with progress_bar(total, "super-resolving", disable=True if args.no_progress else None) as bar:
            report = api.apply(args.input, args.output, savedmodel=args.savedmodel, options=options,
                               scale=args.scale, progress=bar.update)
        print(f"wrote {report.output} ({report.width} x {report.height} pixels, x{report.scale}) "
              f"in {report.seconds:.1f} s", file=sys.stderr)
    if args.quicklook:
        from ..raster import write_quicklook

        write_quicklook(args.output, args.quicklook)
        print(f"wrote {args.quicklook}", file=sys.stderr)
    return 0


def main(argv=None) -> int:
    """Entry point of the top-level ``apply.py`` (SR4RS's ``sr.py`` command lines run unchanged)."""
    return script_main(sys.modules[__name__], "apply.py", argv)
