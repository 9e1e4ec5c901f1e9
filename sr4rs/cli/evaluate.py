"""``sr4rs evaluate``: score models against bicubic and other baselines on --hr references, with their
--lr images or, without --lr, with the HR images degraded by the model's factor (Wald's protocol); or,
with --lr images alone, their consistency with the input (no reference needed)."""
from __future__ import annotations

import argparse
import sys

from . import options as opt
from .common import progress_bar, quiet_tensorflow


def add_arguments(parser: argparse.ArgumentParser) -> None:
    opt.model(parser, repeatable=True)
    parser.add_argument("--hr", action="append", metavar="IMAGE",
                        help="high-resolution reference image (repeatable); without --hr, the --lr images are "
                        "scored without reference: consistency figures only")
    parser.add_argument("--input", action="append", metavar="IMAGE",
                        help="for fusion models: the images of one area at their native resolutions, finest first "
                        "(repeatable), or one product with --bands of several resolutions; scored by Wald's protocol "
                        "against cubic upsampling, the regression baseline and OTB's pansharpening")
    parser.add_argument("--lr", action="append", metavar="IMAGE",
                        help="low-resolution image of the --hr in the same position (repeatable); "
                        "without --lr, the HR images are degraded by the model's factor (Wald's protocol)")
    parser.add_argument("--scenes", action="append", metavar="LIST", help="score the models on every scene of a list "
                        "(repeatable; the corpus's index.csv, a scenes CSV or a list of products, as sr4rs extract "
                        "--scenes), by Wald's protocol: a row per scene and a summary (mean and worst) in --out")
    parser.add_argument("--tiles", type=lambda t: tuple(n for n in t.replace(",", " ").split() if n), default=(),
                        metavar="T1,T2", help="with --scenes: only the scenes of these tiles (e.g. those left out "
                        "of the model's training: a leave-tiles-out evaluation)")
    opt.bands(parser, "the images (products: Sentinel-2 .SAFE or .zip, Landsat folders; or GeoTIFFs)")
    opt.nodata(parser)
    # default None: the library's DEFAULT_BORDER (16)
    parser.add_argument("--border", type=int, help="HR pixels left out along the image edges and around "
                        "nodata (default 16)")
    parser.add_argument("--data-range", type=float, nargs="+", metavar="PEAK",
                        help="PSNR and SSIM peak value, one for all bands or one per band (e.g. 10000 for "
                        "reflectance x 10000; default: each band's valid max - min in the references)")
    parser.add_argument("--out", metavar="FOLDER", help="folder for evaluation.json, evaluation.csv and the "
                        "panel PNG (default: print the table only)")
    parser.add_argument("--panel-window", type=int, nargs=3, metavar=("COL", "ROW", "SIZE"),
                        help="panel window in LR pixels (default: the centre)")
    parser.add_argument("--degradation", type=_blurs, metavar="SIGMAS",
                        help="Wald's protocol at several blurs: comma-separated Gaussian sigmas in units of the "
                        "factor (0: plain block averaging; the default blur is 1/3), one table row per method "
                        "and blur, e.g. --degradation 0,0.33,0.5")
    parser.add_argument("--consistency-operator", choices=("block", "bilinear"), default="block",
                        help="how outputs are brought back to the LR grid for the consistency, synthesis and "
                        "hallucination columns: block averaging (default) or opensr-test's triangle filter "
                        "(bilinear); the reports hold both")
    opt.tiling(parser)
    opt.scale(parser)
    parser.add_argument("--keep-images", action="store_true",
                        help="keep the LR and upsampled images in FOLDER/images (needs --out)")
    opt.overwrite(parser, "existing files in --out")
    opt.no_progress(parser)


def _blurs(text: str):
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of numbers (e.g. 0,0.33,0.5)")


def _data_range(values):
    return None if values is None else values[0] if len(values) == 1 else values


def _models(args: argparse.Namespace, api):
    models = [api.bundled_model_path(name) for name in args.model or []] + list(args.savedmodel or [])
    return models or None


def _fusion_plan(args, api, border):
    if args.hr or args.lr:
        raise api.InputError("--input (fusion models) goes without --hr and --lr")
    if args.degradation:
        raise api.InputError("--degradation applies to single-image models (--hr): fusion scenes are degraded "
                             "by each band's own filter; drop --degradation")
    models = _models(args, api)
    if not models:
        raise api.InputError("give the fusion model(s) to score with --model or --savedmodel")
    paths = api.open_groups(args.input, args.bands, args.sensor)
    if args.out:
        api.check_out_dir(args.out, args.overwrite, list(args.input) + models)
    quiet_tensorflow()
    return api.plan_fusion_evaluation(models, paths, nodata=args.nodata, border=border, tile_size=args.ts,
                                      pad=args.pad, data_range=_data_range(args.data_range),
                                      panel_window=tuple(args.panel_window) if args.panel_window else None,
                                      operator=args.consistency_operator)


def run(args: argparse.Namespace, cancel=None) -> int:
    from .. import api

    border = api.DEFAULT_BORDER if args.border is None else args.border
    if args.keep_images and not args.out:
        raise api.InputError("--keep-images needs --out FOLDER to keep them in")
    if args.scenes:
        return _scenes(args, api, border, cancel)
    if args.tiles:
        raise api.InputError("--tiles picks scenes of --scenes lists: drop it, or give --scenes")
    if args.input:
        return _report(api, _fusion_plan(args, api, border), args, cancel)
    originals = (args.hr or []) + (args.lr or [])
    hr = [api.open_inputs(p, args.bands, args.sensor)[0] for p in args.hr or []]
    lr = [api.open_inputs(p, args.bands, args.sensor)[0] for p in args.lr or []]
    # Mistyped paths and existing reports are reported at once, before TensorFlow's seconds of import.
    api.check_evaluation_inputs(hr, lr, border=border)
    models = _models(args, api)
    if args.out:
        api.check_out_dir(args.out, args.overwrite, originals + (models or []))
    quiet_tensorflow()
    plan = api.plan_evaluation(models, hr, lr, factor=args.scale, nodata=args.nodata,
                               border=border, tile_size=args.ts, pad=args.pad, data_range=_data_range(args.data_range),
                               panel_window=tuple(args.panel_window) if args.panel_window else None,
                               blurs=args.degradation, operator=args.consistency_operator)
    return _report(api, plan, args, cancel)


def _scenes(args, api, border, cancel) -> int:
    if args.hr or args.lr or args.input:
        raise api.InputError("--scenes replaces --hr, --lr and --input (each scene's files come from its list): drop them")
    scenes = api.select_scenes(api.read_scene_lists(args.scenes), args.tiles)
    models = _models(args, api)
    if args.out:
        reads = [f for s in scenes for f in s.files] + list(args.scenes) + (models or [])
        api.check_out_dir(args.out, args.overwrite, reads)
        api.check_scene_reports(args.out, args.overwrite, reads)
    quiet_tensorflow()
    plan = api.plan_scene_evaluation(models, scenes, bands=args.bands, sensor=args.sensor,
                                     blurs=args.degradation, nodata=args.nodata, border=border,
                                     data_range=_data_range(args.data_range), tile_size=args.ts, pad=args.pad,
                                     operator=args.consistency_operator)
    with progress_bar(plan.work, "evaluating", disable=args.no_progress) as bar:
        evaluation = api.run_evaluation(plan, args.out, overwrite=args.overwrite, keep_images=args.keep_images,
                                        progress=bar.update, cancel=cancel, panels=False)
    rows = api.scene_rows(evaluation, scenes)
    print(api.format_table(evaluation))
    print()
    print(api.format_summary(rows))
    if args.out:
        paths = api.write_scene_reports(args.out, rows, overwrite=args.overwrite)
        for path in (evaluation.json_path, evaluation.csv_path, *paths):
            print(f"wrote {path}", file=sys.stderr)
    return 0


def _report(api, plan, args, cancel) -> int:
    for line in getattr(plan, "notes", ()):  # the model chosen, the bands put in its order
        print(line, file=sys.stderr)
    with progress_bar(plan.work, "evaluating", disable=args.no_progress) as bar:
        evaluation = api.run_evaluation(plan, args.out, overwrite=args.overwrite, keep_images=args.keep_images,
                                        progress=bar.update, cancel=cancel)
    print(api.format_table(evaluation))
    for path in (evaluation.json_path, evaluation.csv_path, *evaluation.panels):
        if path:
            print(f"wrote {path}", file=sys.stderr)
    return 0
