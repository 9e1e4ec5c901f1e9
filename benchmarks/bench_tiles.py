#!/usr/bin/env python3
"""Streamed apply of the bundled models at two tile sizes, in turn in one process; prints each model's median wall
time at each size and their ratio, measured in the same run, and the peak memory of a process that applies at
each size.

The scenes are 1024 x 1024 output pixels (1020 at x6), so that both sizes tile them without waste: the Landsat
example (256 x 256 pixels, x4), and mirrored mosaics of the Sentinel-2 test crops at their native resolutions
(fusion models: 10 m with 20 m, and 60 m for x6; s2-rgbn-x4: 256 x 256 pixels at 10 m). A larger tile recomputes
less margin per pixel kept: a tile of T with a margin of P computes (T + 2P)^2 pixels for T^2.

Usage: python benchmarks/bench_tiles.py [--model NAME ...] [--tiles 512 1024] [--repeat 3]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
MODELS = ("s2-20m-x2", "s2-60m-x6", "s2-rgbn-x4", "landsat-rgb-x4")


def scenes(folder: str) -> dict:
    """Each model's inputs (finest first), covering 1024 (1020 at x6) output pixels a side."""
    from osgeo import gdal

    from bench_fusion import mosaic

    def cut(path, side, name, bands=None):
        out = os.path.join(folder, name)
        gdal.Translate(out, path, srcWin=[0, 0, side, side], bandList=bands)
        return out

    m10, m20, m60 = (mosaic(r, 11, folder) for r in (10, 20, 60))  # 1386 x 1056 at 10 m
    landsat = os.path.join(ROOT, "examples", "landsat8_rgb_512.tif")
    return {
        "s2-20m-x2": [cut(m10, 1024, "x2_10.tif"), cut(m20, 512, "x2_20.tif")],
        "s2-60m-x6": [cut(m10, 1020, "x6_10.tif"), cut(m20, 510, "x6_20.tif"), cut(m60, 170, "x6_60.tif", [1, 2])],
        "s2-rgbn-x4": [cut(m10, 256, "x4_10.tif")],
        "landsat-rgb-x4": [cut(landsat, 256, "x4_landsat.tif")],
    }


def apply_once(model, inputs, tile, out):
    from sr4rs import api

    api.apply(inputs, out, model, api.ApplyOptions(tile_size=tile, overwrite=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--model", action="append", choices=MODELS, help="a bundled model (default: all four)")
    parser.add_argument("--tiles", type=int, nargs=2, default=[512, 1024], metavar=("SMALL", "LARGE"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory", nargs=3, help=argparse.SUPPRESS)  # a child: MODEL TILE FOLDER
    args = parser.parse_args()

    if args.memory:
        name, tile, folder = args.memory
        apply_once(name, scenes(folder)[name], int(tile), os.path.join(folder, "memory.tif"))
        with open("/proc/self/status") as status:  # the peak of this process's own memory (ru_maxrss would
            peak = [line.split()[1] for line in status if line.startswith("VmHWM:")]  # keep its parent's)
        print(json.dumps(int(peak[0]) / 1024 if peak else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
        return

    from sr4rs import api

    tmp = tempfile.mkdtemp(prefix="sr4rs-bench-tiles-")
    inputs = scenes(tmp)
    for name in args.model or MODELS:
        model = api.load_model(name)
        unit = model.metadata.grid_unit
        sizes = [t // unit * unit for t in args.tiles]
        times = {t: [] for t in sizes}
        for round_ in range(args.repeat + 1):  # the first round warms up; the order alternates
            for tile in sizes if round_ % 2 else sizes[::-1]:
                start = time.perf_counter()
                apply_once(model, inputs[name], tile, os.path.join(tmp, "out.tif"))
                if round_:
                    times[tile].append(time.perf_counter() - start)
        memory = {}
        for tile in sizes:
            child = subprocess.run([sys.executable, __file__, "--memory", name, str(tile), tmp], capture_output=True,
                                   text=True, check=True)
            memory[tile] = float(child.stdout.strip().splitlines()[-1])
        small, large = sizes
        medians = {t: statistics.median(v) for t, v in times.items()}
        pad = model.metadata.margin
        print(f"{name} (margin {pad}, {model.precision}): tiles of {small}: {medians[small]:.2f} s, of {large}: "
              f"{medians[large]:.2f} s (medians of {args.repeat}); {large} is {medians[small] / medians[large]:.2f} "
              f"times {small}'s speed (margin share {((small + 2 * pad) / small) ** 2:.2f} -> "
              f"{((large + 2 * pad) / large) ** 2:.2f}); peak memory of an apply {memory[small]:.0f} / "
              f"{memory[large]:.0f} MiB", flush=True)


if __name__ == "__main__":
    main()
