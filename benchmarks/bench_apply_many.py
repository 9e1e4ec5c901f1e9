#!/usr/bin/env python3
"""Benchmark of sr4rs apply-many on a local Dask cluster; prints ratios measured in one run.

1. Speed-up of 2 local workers over 1 on 4 scenes (the four quadrants of the demo scene, 256 x 256 pixels each,
   x4 with the bundled model): the job's wall time with each cluster, the model already loaded on every
   worker (cluster start-up and model loading are timed apart). The runs alternate, ``--repeat`` times; the
   median of the paired ratios is printed. Workers share this machine's cores: one worker uses them all
   through TensorFlow's threads, two use half each.
2. A scene cut into blocks: the demo scene (16 tiles) as one task (one worker busy) against the same scene in
   blocks of 4 tiles that both workers share, then put together into one file.
3. What more cores or machines would give, extrapolated from the measured cost of a tile (stated as such).

Usage: python benchmarks/bench_apply_many.py [--savedmodel DIR] [--repeat N]
"""
from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["PYTHONPATH"] = os.pathsep.join([ROOT] + [p for p in [os.environ.get("PYTHONPATH")] if p])
SCENE = os.path.join(ROOT, "examples", "landsat8_rgb_512.tif")
TILE = 512  # output pixels: the demo scene in 16 tiles, each quadrant in 4 (the default tile would make them 4 and 1)


def quadrants(folder):
    from osgeo import gdal

    paths = []
    for i, (col, row) in enumerate(((0, 0), (256, 0), (0, 256), (256, 256))):
        paths.append(os.path.join(folder, f"quadrant{i}.tif"))
        gdal.Translate(paths[-1], SCENE, srcWin=[col, row, 256, 256])
    return paths


def timed_job(client, scenes, model, folder, **kw):
    """Seconds of one apply-many job (checked beforehand; model loaded on every worker beforehand)."""
    from sr4rs.api import ApplyOptions
    from sr4rs.integrations import dask_apply

    kw.setdefault("options", ApplyOptions(tile_size=TILE))
    checked = dask_apply.check_job(scenes, folder, model, **kw)
    dask_apply.warm_up(client, checked.job)
    start = time.perf_counter()
    results = dask_apply.run_job(checked, client=client)
    seconds = time.perf_counter() - start
    assert all(r.status == "done" for r in results), results
    return seconds, results


def tiles_of(scenes, model, ts=TILE):
    from sr4rs.api import read_info

    scale = model.scale
    return sum(-(-read_info(s).width * scale // ts) * -(-read_info(s).height * scale // ts) for s in scenes)


def speed_up(model_path, scenes, tmp, repeat):
    """Seconds of the 4-scene job on 1 and on 2 workers, alternating, ``repeat`` times each; and, per cluster,
    the seconds of its start, its model load and a first job of one scene."""
    from sr4rs.integrations import dask_apply

    times, started = {1: [], 2: []}, {}
    with contextlib.ExitStack() as stack:
        clients = {}
        for n in (1, 2):
            start = time.perf_counter()
            clients[n] = stack.enter_context(dask_apply.connect(workers=n))
            timed_job(clients[n], scenes[:1], model_path, os.path.join(tmp, f"warm{n}"))
            started[n] = time.perf_counter() - start
        for i in range(repeat):
            for n in (1, 2):
                times[n].append(timed_job(clients[n], scenes, model_path, os.path.join(tmp, f"r{i}w{n}"))[0])
    return times, started


def blocks(model_path, tmp):
    """(whole scene as one task, the same scene in blocks of 4 tiles, the assembly alone), on 2 workers."""
    from sr4rs.api import ApplyOptions
    from sr4rs.integrations import dask_apply

    with dask_apply.connect(workers=2) as client:
        whole, _ = timed_job(client, [SCENE], model_path, os.path.join(tmp, "whole"), block_tiles=None)
        cut, results = timed_job(client, [SCENE], model_path, os.path.join(tmp, "blocks"), block_tiles=4,
                                 options=ApplyOptions(tile_size=TILE))
    return whole, cut, results[0].blocks


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--savedmodel", help="default: the bundled landsat-rgb-x4")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from sr4rs.api import load_model
    from sr4rs.model.bundled import default_model_path

    model_path = args.savedmodel or default_model_path()
    model = load_model(model_path)
    tmp = tempfile.mkdtemp(prefix="sr4rs-bench-many-")
    scenes = quadrants(tmp)
    tiles = tiles_of(scenes, model)
    cores = os.cpu_count()
    print(f"model {os.path.basename(model_path)} (x{model.scale}); 4 scenes of 256 x 256 pixels, {tiles} tiles of "
          f"{TILE} output pixels; {cores} cores")
    times, started = speed_up(model_path, scenes, tmp, args.repeat)
    ratios = [a / b for a, b in zip(times[1], times[2])]
    t1, t2 = statistics.median(times[1]), statistics.median(times[2])
    print(f"cluster start, model load and a first job of one scene: 1 worker {started[1]:.1f} s, "
          f"2 workers {started[2]:.1f} s")
    print(f"4 scenes: 1 worker {t1:.2f} s, 2 workers {t2:.2f} s (medians of {args.repeat}); "
          f"speed-up 2 workers / 1: {statistics.median(ratios):.2f} (paired ratios "
          f"{', '.join(f'{r:.2f}' for r in ratios)})")
    per_tile = t1 / tiles
    print(f"cost of a tile with all {cores} cores: {per_tile:.3f} s ({tiles / t1:.2f} tiles/s)")
    whole, cut, nblocks = blocks(model_path, tmp)
    print(f"the demo scene (512 x 512) on 2 workers: one task {whole:.2f} s, {nblocks} blocks of 4 tiles "
          f"{cut:.2f} s (ratio {cut / whole:.2f}: blocks let workers share one scene; the copy into one file "
          "is the price)")
    landsat = 60 * 61  # a Landsat scene, about 7,700 x 7,800 pixels, x4 in tiles of 512 (TILE)
    print(f"extrapolation, not measured: a Landsat scene ({landsat} tiles at x4) takes {landsat * per_tile / 60:.0f} min "
          f"on this machine; scenes are independent tasks, so 100 scenes on 10 machines like it take "
          f"{100 * landsat * per_tile / 10 / 3600:.1f} h, and on 10 machines of 16 cores about "
          f"{100 * landsat * per_tile * cores / 16 / 10 / 3600:.1f} h if TensorFlow's throughput grows with the "
          "cores (it does up to a point; measure on the target machines)")


if __name__ == "__main__":
    main()
