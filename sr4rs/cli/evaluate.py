"""``sr4rs evaluate``: score models against bicubic and other baselines on --hr references, with their
--lr images or, without --lr, with the HR images degraded by the model's factor (Wald's protocol); or,
with --lr images alone, their consistency with the input (no reference needed)."""
from __future__ import annotations

import argparse
import sys

from .common import progress_bar, quiet_tensorflow


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--savedmodel", action="append", help="SavedModel folder to score (repeatable; default: "
                        "the model bundled with sr4rs). A model is a program: only load models you trust")
    parser.add_argument("--hr", action="append", metavar="IMAGE",
                        help="high-resolution reference image (repeatable); without --hr, the --lr images are "
                        "scored without reference: consistency figures only")
    parser.add_argument("--lr", action="append", metavar="IMAGE",
                        help="low-resolution image of the --hr in the same position (repeatable); "
                        "without --lr, the HR images are degraded by the model's factor (Wald's protocol)")
    parser.add_argument("--nodata", type=float, help="nodata value, used when the images have no nodata tag "
                        "(e.g. 0 for Landsat and Sentinel-2 fill)")
    # default None: the library's DEFAULT_BORDER (16), without importing it to build the parser
    parser.add_argument("--border", type=int, help="HR pixels left out along the image edges and around "
                        "nodata (default 16)")
    parser.add_argument("--data-range", type=float, nargs="+", metavar="PEAK",
                        help="PSNR and SSIM peak value, one for all bands or one per band (e.g. 10000 for "
                        "reflectance x 10000; default: each band's valid max - min in the references)")
    parser.add_argument("--out", metavar="FOLDER", help="folder for evaluation.json, evaluation.csv and the "
                        "panel PNG (default: print the table only)")
    parser.add_argument("--panel-window", type=int, nargs=3, metavar=("COL", "ROW", "SIZE"),
                        help="panel window in LR pixels (default: the centre)")
    parser.add_argument("--ts", type=int, help="tile size of the model runs, in HR pixels (default 512)")
    parser.add_argument("--pad", type=int, help="margin around each tile, in HR pixels (default: the model's)")
    parser.add_argument("--scale", type=int, help="scale factor of a model without sr4rs metadata (default 4)")
    parser.add_argument("--keep-images", action="store_true",
                        help="keep the LR and upsampled images in FOLDER/images (needs --out)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing files in --out")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _data_range(values):
    return None if values is None else values[0] if len(values) == 1 else values


def run(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from ..evaluate import DEFAULT_BORDER, check_inputs, check_out_dir, format_table, plan_evaluation, run_evaluation

    border = DEFAULT_BORDER if args.border is None else args.border
    if args.keep_images and not args.out:
        raise InputError("--keep-images needs --out FOLDER to keep them in")
    # Mistyped paths and existing reports are reported at once, before TensorFlow's seconds of import.
    check_inputs(args.hr, args.lr, border=border)
    if args.out:
        check_out_dir(args.out, args.overwrite)
    quiet_tensorflow()
    plan = plan_evaluation(args.savedmodel, args.hr, args.lr, factor=args.scale, nodata=args.nodata,
                           border=border, tile_size=args.ts, pad=args.pad, data_range=_data_range(args.data_range),
                           panel_window=tuple(args.panel_window) if args.panel_window else None)
    with progress_bar(plan.work, "evaluating", disable=args.no_progress) as bar:
        evaluation = run_evaluation(plan, args.out, overwrite=args.overwrite, keep_images=args.keep_images,
                                    progress=bar.update)
    print(format_table(evaluation))
    for path in (evaluation.json_path, evaluation.csv_path, *evaluation.panels):
        if path:
            print(f"wrote {path}", file=sys.stderr)
    return 0
