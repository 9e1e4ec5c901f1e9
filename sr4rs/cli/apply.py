"""``sr4rs apply`` (and ``apply.py``): super-resolve a scene with a SavedModel.

The flags of SR4RS's ``sr.py`` (--input, --savedmodel, --output, --encoding, --pad, --ts) keep their
meaning: --pad and --ts are in output pixels.
"""
from __future__ import annotations

import argparse
import sys

from . import options as opt
from .common import progress_bar, quiet_tensorflow, script_main

PROG = "sr4rs apply"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", required=True, action="append", metavar="IMAGE",
                        help="low-resolution image (any GDAL raster), or a product (Sentinel-2 .SAFE or .zip, Landsat "
                        "Collection 2 folder, STAC item: a JSON file or an http(s) address, ITEMS.json#ID for one item "
                        "of a saved search); a model with several inputs takes one --input each, finest first, "
                        "or one product")
    opt.bands(parser)
    opt.model(parser, repeatable=True)
    parser.add_argument("--output", required=True, help="output GeoTIFF")
    parser.add_argument("--all-bands", action="store_true", help="with a product and fusion models (--model "
                        "s2-20m-x2 --model s2-60m-x6): every band at the finest resolution in one file, the finest "
                        "bands as they are, the others fused")
    opt.encoding(parser, "the output", bare=True)
    opt.tiling(parser, bare_pad=True)
    parser.add_argument("--batch-size", type=int, help="tiles per model call (default: automatic)")
    opt.nodata(parser)
    opt.scale(parser)
    opt.creation_options(parser)
    parser.add_argument("--cog", action="store_true", help="write a Cloud Optimized GeoTIFF")
    opt.stac(parser)
    parser.add_argument("--quicklook", metavar="PNG", help="also write a contrast-stretched PNG of the result")
    opt.overwrite(parser, "an existing output")
    opt.runtime(parser, otbtf=True)
    opt.no_progress(parser)


def run(args: argparse.Namespace, cancel=None) -> int:
    from .. import api

    options = api.ApplyOptions(tile_size=args.ts, pad=args.pad, batch_size=args.batch_size, nodata=args.nodata,
                               encoding=args.encoding, creation_options=api.parse_creation_options(args.creation_options),
                               cog=args.cog, overwrite=args.overwrite, stac=args.stac)
    models = [api.bundled_model_path(m) for m in args.model or []] + list(args.savedmodel or [])
    if args.all_bands:
        return _all_bands(args, api, models, options, cancel)
    if len(models) > 1:
        raise api.InputError("give one --model or --savedmodel (several go with --all-bands)")
    model = models[0] if models else None
    # Checked at once, before TensorFlow starts.
    api.check_runtime(args.backend, args.precision)
    checked = api.check_apply(args.input, args.output, model, options, args.quicklook, args.bands, args.sensor)
    for line in checked.notes:  # the model sr4rs chose, the bands put in its order
        print(line, file=sys.stderr)
    total = checked.infos[0].width * checked.infos[0].height
    quiet_tensorflow()
    with progress_bar(total, "super-resolving", disable=args.no_progress) as bar:
        report = api.apply(args.input, args.output, model, options, quicklook=args.quicklook, scale=args.scale,
                           bands=args.bands, sensor=args.sensor, backend=args.backend, precision=args.precision,
                           progress=bar.update, cancel=cancel)
    runtime = f", {report.runtime}" if report.runtime else ""
    print(f"wrote {report.output} ({report.width} x {report.height} pixels, x{report.scale}{runtime}) "
          f"in {report.seconds:.1f} s" + (f" and {args.quicklook}" if args.quicklook else ""), file=sys.stderr)
    return 0


def _all_bands(args, api, models, options, cancel) -> int:
    if len(args.input) != 1:
        raise api.InputError(f"--all-bands takes one product as --input (a .SAFE folder or .zip, a Landsat folder), "
                             f"received {len(args.input)}: give the product alone")
    if args.bands:
        raise api.InputError("--all-bands takes every band of the product, and the models choose their inputs' bands: "
                             "drop --bands")
    # Checked at once, before TensorFlow starts.
    api.check_runtime(args.backend, args.precision)
    api.check_all_bands(args.input[0], args.output, models, options, args.quicklook, args.sensor)
    quiet_tensorflow()
    report = api.apply_all_bands(args.input[0], args.output, models, options, quicklook=args.quicklook,
                                 sensor=args.sensor, backend=args.backend,
                                 precision=args.precision, cancel=cancel)
    print(f"wrote {report.output} ({report.width} x {report.height} pixels, every band)"
          + (f" and {args.quicklook}" if args.quicklook else ""), file=sys.stderr)
    return 0


def main(argv=None) -> int:
    """Entry point of the top-level ``apply.py`` (SR4RS's ``sr.py`` command lines run unchanged)."""
    return script_main(sys.modules[__name__], "apply.py", argv)
