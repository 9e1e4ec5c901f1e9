"""``sr4rs extract``: cut LR/HR patch pairs into OTBTF patches images for training.

Two images (--lr, --hr: same CRS, aligned grids, integer pixel size ratio), or
one image (--hr with --factor) whose LR side is made by Wald's protocol. Patches
come from a grid (--patch-size, --step, in LR pixels) or are centred on the
points of a vector file (--points). With --val-fraction, OUT.tif becomes
OUT_train.tif and OUT_val.tif. Beside each patches image, OUT.csv lists the
patch centres in map coordinates. For fusion networks: one --input per
resolution (finest first), or a product with --bands of several resolutions,
and --out FOLDER: a patch set made by Wald's protocol. Many scenes: --scenes
LIST (the corpus's index.csv, a scenes CSV, or a list of products) into one
patch set (--out) or one pair of patches images (--factor, --out-lr, --out-hr),
split into training and validation by tile (--val-tiles, --val-fraction).
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
    parser.add_argument("--hr", help="high-resolution image, aligned with --lr")
    parser.add_argument("--input", action="append", metavar="IMAGE", help="for a fusion patch set: an image per "
                        "resolution, finest first (repeatable), or one product whose --bands span resolutions")
    parser.add_argument("--factor", type=int, help="scale factor: required without --lr (Wald's protocol); "
                        "with --lr, checked against the images' pixel size ratio")
    parser.add_argument("--patch-size", type=int, required=True, help="LR patch size in LR pixels "
                        "(HR patches are patch-size x factor)")
    parser.add_argument("--step", type=int, help="grid step in LR pixels (default: the patch size, no overlap)")
    parser.add_argument("--points", help="vector file (GeoPackage, GeoJSON, shapefile...) of patch centres, "
                        "first layer, reprojected to the image CRS; replaces the grid")
    parser.add_argument("--out-lr", help="output LR patches image (GeoTIFF)")
    parser.add_argument("--out-hr", help="output HR patches image (GeoTIFF)")
    parser.add_argument("--out", metavar="FOLDER", help="output patch set folder (with --input)")
    parser.add_argument("--val-fraction", type=float, default=0.0, help="fraction of the patches drawn at random "
                        "for validation, written to *_val.tif (the rest to *_train.tif); default 0: no split")
    parser.add_argument("--seed", type=int, default=0, help="seed of the validation draw (default 0)")
    parser.add_argument("--phases", type=int, default=1, metavar="N", help="fusion patch sets: cut the patches N x N "
                        "times, the images' corner moved by 0 to N-1 pixels of the coarsest bands in each direction "
                        "before degrading, so that Wald's blocks fall at N x N phases on the same ground (N up to "
                        "the Wald factor; default 1): more distinct inputs from small coarse bands")
    scenes = parser.add_argument_group("many scenes")
    scenes.add_argument("--scenes", action="append", metavar="LIST", help="a list of scenes (repeatable): the corpus's "
                        "index.csv, a scenes CSV (tile, date, and one column of files per resolution such as 10m, "
                        "20m, 60m, or a product column), or a text file of products, one per line")
    scenes.add_argument("--split-by", choices=("tile", "tile-date"), default="tile", help="what a validation split "
                        "keeps on one side: every scene of a tile (default), or of a tile and date")
    scenes.add_argument("--val-tiles", type=_names, metavar="T1,T2", default=(), help="tiles whose scenes validate "
                        "(instead of a --val-fraction of the tiles drawn at random)")
    scenes.add_argument("--exclude-tiles", type=_names, metavar="T1,T2", default=(), help="tiles left out of training "
                        "and validation (kept for a leave-tiles-out sr4rs evaluate)")
    scenes.add_argument("--max-per-scene", type=int, metavar="N", help="at most N patches of each scene, drawn at "
                        "random (--seed), so that large scenes do not outweigh small ones")
    scenes.add_argument("--samples", type=int, metavar="N", help="N patches drawn at random over all the scenes "
                        "instead of the grid (--seed): a scene, and a phase, in proportion to the places a patch fits "
                        "in it")
    opt.bands(parser, "the images (products: Sentinel-2 .SAFE or .zip, Landsat folders; or GeoTIFFs)")
    opt.encoding(parser, "the patches")
    opt.nodata(parser, "; patches holding nodata are skipped")
    parser.add_argument("--nodata-rule", choices=("all", "any"), default="all",
                        help="which patches hold nodata: all (default: a pixel whose every band is the nodata value) "
                        "or any (any band of any pixel, as OTBTF's PatchesExtraction)")
    opt.creation_options(parser)
    opt.overwrite(parser, "existing outputs")
    opt.no_progress(parser)


def _pairs(args: argparse.Namespace, api, cancel) -> str:
    if not (args.hr and args.out_lr and args.out_hr) or args.input or args.out:
        raise api.InputError("give --hr (and --lr or --factor) with --out-lr and --out-hr; or --input images with --out "
                             "for a fusion patch set")
    if args.phases != 1:
        raise api.InputError("--phases applies to fusion patch sets (--input images with --out): drop it")
    hr = api.open_inputs(args.hr, args.bands, args.sensor)[0]
    lr = api.open_inputs(args.lr, args.bands, args.sensor)[0] if args.lr else None
    originals = [p for p in (args.lr, args.hr) if p]
    plan = api.plan_extraction(lr, hr, args.patch_size, step=args.step, points=args.points, factor=args.factor,
                               nodata=args.nodata, originals=originals, nodata_rule=args.nodata_rule)
    with progress_bar(plan.work, "extracting", unit="step", disable=args.no_progress) as bar:
        report = api.extract(plan, args.out_lr, args.out_hr, val_fraction=args.val_fraction, seed=args.seed,
                             encoding=args.encoding, overwrite=args.overwrite, progress=bar.update, cancel=cancel,
                             creation_options=api.parse_creation_options(args.creation_options))
    split = f" ({report.train} train, {report.val} val)" if report.val else ""
    return (f"kept {report.kept} of {report.candidates} patches{split}, skipped {_skipped(report)}; "
            f"LR {report.patch_size} px, HR {report.hr_patch_size} px (x{report.ratio}); "
            f"wrote {', '.join(f for f in report.files if not f.endswith('.csv'))}")


def _set(args: argparse.Namespace, api, cancel) -> str:
    if not args.out or args.hr or args.lr or args.out_lr or args.out_hr or args.points or args.factor:
        raise api.InputError("a fusion patch set takes --input images (or one product with --bands) and --out FOLDER; "
                             "its factor comes from the images' resolutions")
    if args.creation_options or args.nodata_rule != "all":
        raise api.InputError("-co and --nodata-rule apply to --lr/--hr patches images: drop them for a fusion patch set")
    paths = api.open_groups(args.input, args.bands, args.sensor)
    plan = api.plan_fusion_extraction(paths, args.patch_size, step=args.step, nodata=args.nodata,
                                      originals=args.input, phases=args.phases)
    with progress_bar(plan.work, "extracting", unit="step", disable=args.no_progress) as bar:
        report = api.extract_set(plan, args.out, val_fraction=args.val_fraction, seed=args.seed,
                                 overwrite=args.overwrite, progress=bar.update, cancel=cancel)
    split = f" ({report.train} train, {report.val} val)" if report.val else ""
    phases = f", {plan.phases} x {plan.phases} phases" if plan.phases > 1 else ""
    return (f"kept {report.kept} of {report.candidates} patches{split}, skipped {_skipped(report)}; factors "
            f"{', '.join(map(str, plan.factors))} (Wald x{plan.wald}{phases}); wrote {', '.join(report.folders)}")


def _names(text: str):
    return tuple(n for n in text.replace(",", " ").split() if n)


def _scenes(args: argparse.Namespace, api, cancel) -> str:
    if args.input or args.hr or args.lr or args.points:
        raise api.InputError("--scenes replaces --input, --hr and --lr (each scene's files come from its list): "
                             "drop them, or list those images as one more scene")
    fusion = args.factor is None
    if fusion and not args.out or not fusion and not (args.out_lr and args.out_hr) or fusion and args.out_lr:
        raise api.InputError("--scenes takes --out FOLDER (a fusion patch set), or --factor with --out-lr and --out-hr "
                             "(single-image pairs by Wald's protocol)")
    if args.creation_options and fusion or args.nodata_rule != "all":
        raise api.InputError("-co applies to --out-lr/--out-hr patches images, --nodata-rule to one pair of images: "
                             "drop them")
    scenes = api.read_scene_lists(args.scenes)
    plan = api.plan_scenes(scenes, args.patch_size, step=args.step, factor=args.factor, bands=args.bands,
                           sensor=args.sensor, nodata=args.nodata, phases=args.phases, split_by=args.split_by,
                           val_fraction=args.val_fraction, seed=args.seed, val_tiles=args.val_tiles,
                           exclude_tiles=args.exclude_tiles, max_per_scene=args.max_per_scene, samples=args.samples)
    with progress_bar(plan.work, "extracting", unit="step", disable=args.no_progress) as bar:
        report = api.extract_scenes(plan, out=args.out, out_lr=args.out_lr, out_hr=args.out_hr, encoding=args.encoding,
                                    overwrite=args.overwrite, progress=bar.update, cancel=cancel,
                                    creation_options=api.parse_creation_options(args.creation_options))
    return f"kept {api.scene_report_line(report)}; wrote {', '.join(f for f in report.files if not f.endswith('.csv'))}"


def _skipped(report) -> str:
    return ", ".join(f"{n} {reason}" for reason, n in report.skipped.items())


def run(args: argparse.Namespace, cancel=None) -> int:
    from .. import api

    if args.scenes:
        line = _scenes(args, api, cancel)
    else:
        if args.val_tiles or args.exclude_tiles or args.max_per_scene is not None or args.samples is not None:
            raise api.InputError("--val-tiles, --exclude-tiles, --max-per-scene and --samples apply to --scenes: drop them")
        line = _set(args, api, cancel) if args.input else _pairs(args, api, cancel)
    print(line, file=sys.stderr)
    return 0
