"""``sr4rs apply-many``: super-resolve many scenes, and scenes too large for one machine, on a Dask cluster.

Each scene is written to ``DIR/<scene name>_x<factor>.tif``; a scene an earlier run finished is skipped, so
running the same command again resumes a job. Without --scheduler, a cluster of --workers processes runs on
this machine.
"""
from __future__ import annotations

import argparse
import sys

from . import options as opt
from .common import progress_bar

PROG = "sr4rs apply-many"
INTERRUPTED = "the scenes finished so far are kept; run the same command again to do the others"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenes", nargs="+", metavar="SCENE", help="images or products (Sentinel-2 .SAFE or .zip, "
                        "Landsat folders, STAC items), ItemCollections (a saved STAC API search: each of its items) or "
                        "folders of items, or glob patterns in quotes ('/data/S2*.SAFE')")
    parser.add_argument("--output-dir", required=True, metavar="DIR", help="where each scene is written, as "
                        "DIR/<scene name>_x<factor>.tif (made if missing; on a cluster, a folder every worker reaches)")
    opt.bands(parser, "each scene")
    opt.model(parser)
    parser.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask cluster: its scheduler's address "
                        "(tcp://host:8786) or scheduler file; default: a cluster on this machine")
    parser.add_argument("--workers", type=opt.positive_int, metavar="N", help="worker processes of the cluster on "
                        "this machine (default: one per four cores; each uses its share of the cores)")
    parser.add_argument("--block-tiles", type=opt.positive_int, default=64, metavar="N", help="a scene of more "
                        "tiles than this is cut into blocks of about N tiles, computed by several workers and put "
                        "together bit for bit as one run writes it (default 64)")
    parser.add_argument("--retries", type=int, default=2, metavar="N", help="times a task that failed unexpectedly "
                        "runs again (a lost worker's tasks always run again; default 2)")
    opt.encoding(parser, "the outputs")
    opt.tiling(parser)
    parser.add_argument("--batch-size", type=int, help="tiles per model call (default: automatic)")
    opt.nodata(parser)
    opt.scale(parser)
    opt.creation_options(parser)
    parser.add_argument("--cog", action="store_true", help="write Cloud Optimized GeoTIFFs")
    opt.stac(parser)
    opt.overwrite(parser, "outputs, even those an earlier run finished (by default they are skipped)")
    opt.no_progress(parser)


def run(args: argparse.Namespace, cancel=None) -> int:
    from .. import api
    from ..integrations import dask_apply
    from ..scenes import expand_scenes

    options = api.ApplyOptions(tile_size=args.ts, pad=args.pad, batch_size=args.batch_size, nodata=args.nodata,
                               encoding=args.encoding, creation_options=api.parse_creation_options(args.creation_options),
                               cog=args.cog, overwrite=args.overwrite, stac=args.stac)
    model = api.bundled_model_path(args.model) if args.model else args.savedmodel
    if model is None:  # chosen as apply chooses it, for the first scene
        model, note = api.choose_model(expand_scenes(args.scenes)[0], None, args.bands, args.sensor)
        print(note, file=sys.stderr)
    checked = dask_apply.check_job(args.scenes, args.output_dir, model, options, bands=args.bands,
                                   sensor=args.sensor, scale=args.scale, block_tiles=args.block_tiles,
                                   scheduler=args.scheduler)
    for check in checked.checks:
        for line in check.notes:
            print(line, file=sys.stderr)
    with progress_bar(checked.work, "super-resolving", disable=args.no_progress) as bar:
        results = dask_apply.run_job(checked, scheduler=args.scheduler, workers=args.workers, retries=args.retries,
                                     progress=bar.update, cancel=cancel)
    print(summary(results))
    failed = [r for r in results if r.status == "failed"]
    done = sum(r.status == "done" for r in results)
    skipped = sum(r.status == "skipped" for r in results)
    print(f"{done} scene(s) written, {skipped} finished before, {len(failed)} failed, in {args.output_dir}",
          file=sys.stderr)
    return 1 if failed else 0


def summary(results) -> str:
    """One line per scene: its status, time, blocks, worker and output (or why it failed)."""
    rows = [("scene", "status", "seconds", "blocks", "worker", "output / message")]
    for r in results:
        rows.append((r.scene, r.status, f"{r.seconds:.1f}" if r.status == "done" else "-",
                     str(r.blocks or 1) if r.status != "skipped" else "-", r.worker or "-",
                     r.message if r.status == "failed" else r.output))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row[:5], widths)) + "  " + row[5] for row in rows)
