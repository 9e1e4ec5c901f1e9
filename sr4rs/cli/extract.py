"""``sr4rs extract``: cut LR/HR patch pairs into OTBTF patches images for training.

Two images (--lr, --hr: same CRS, aligned grids, integer pixel size ratio), or
one image (--hr with --factor) whose LR side is made by Wald's protocol. Patches
come from a grid (--patch-size, --step, in LR pixels) or are centred on the
points of a vector file (--points). With --val-fraction, OUT.tif becomes
OUT_train.tif and OUT_val.tif. Beside each patches image, OUT.csv lists the
patch centres in map coordinates.
"""
from __future__ import annotations

import argparse
import sys

from . import options as opt
from .common import progress_bar

PROG = "sr4rs extract"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__.split("\n\n", 1)[1].replace("\n", " ")
    parser.add_argument("--lr", help="low-resolution image; without it, --hr is degraded by --factor (Wald)")
    parser.add_argument("--hr", required=True, help="high-resolution image, aligned with --lr")
    parser.add_argument("--factor", type=int, help="scale factor: required without --lr (Wald's protocol); "
                        "with --lr, checked against the images' pixel size ratio")
    parser.add_argument("--patch-size", type=int, required=True, help="LR patch size in LR pixels "
                        "(HR patches are patch-size x factor)")
    parser.add_argument("--step", type=int, help="grid step in LR pixels (default: the patch size, no overlap)")
    parser.add_argument("--points", help="vector file (GeoPackage, GeoJSON, shapefile...) of patch centres, "
                        "first layer, reprojected to the image CRS; replaces the grid")
    parser.add_argument("--out-lr", required=True, help="output LR patches image (GeoTIFF)")
    parser.add_argument("--out-hr", required=True, help="output HR patches image (GeoTIFF)")
    parser.add_argument("--val-fraction", type=float, default=0.0, help="fraction of the patches drawn at random "
                        "for validation, written to *_val.tif (the rest to *_train.tif); default 0: no split")
    parser.add_argument("--seed", type=int, default=0, help="seed of the validation draw (default 0)")
    opt.encoding(parser, "the patches")
    opt.nodata(parser, "; patches holding nodata are skipped")
    opt.overwrite(parser, "existing outputs")
    opt.no_progress(parser)


def run(args: argparse.Namespace, cancel=None) -> int:
    from .. import api

    plan = api.plan_extraction(args.lr, args.hr, args.patch_size, step=args.step, points=args.points,
                               factor=args.factor, nodata=args.nodata)
    with progress_bar(plan.work, "extracting", unit="step", disable=args.no_progress) as bar:
        report = api.extract(plan, args.out_lr, args.out_hr, val_fraction=args.val_fraction, seed=args.seed,
                             encoding=args.encoding, overwrite=args.overwrite, progress=bar.update, cancel=cancel)
    skipped = ", ".join(f"{n} {reason}" for reason, n in report.skipped.items())
    split = f" ({report.train} train, {report.val} val)" if report.val else ""
    print(f"kept {report.kept} of {report.candidates} patches{split}, skipped {skipped}; "
          f"LR {report.patch_size} px, HR {report.hr_patch_size} px (x{report.ratio}); "
          f"wrote {', '.join(f for f in report.files if not f.endswith('.csv'))}",
          file=sys.stderr)
    return 0
