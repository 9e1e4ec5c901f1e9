#!/usr/bin/env python3
"""Throughput of a fusion model (Sentinel-2's 20 m or 60 m bands to 10 m) in the streaming engine; prints
figures measured in one run.

The scene is an n x n mirrored mosaic of the Sentinel-2 test crops at their three resolutions (cut to whole
60 m pixels, so that the groups stay on one grid). Printed: pixels per second at 10 m of the streamed apply,
its ratio to the pure model compute of the same windows (median of paired runs), and what that rate means
for a whole 10980 x 10980 product.

Usage: python benchmarks/bench_fusion.py --model s2-20m-x2 [--model OTHER ...] [--mosaic 6] [--repeat 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

CROPS = {10: ("s2_10m_crop.tif", 126, 96), 20: ("s2_20m_crop.tif", 63, 48), 60: ("s2_60m_crop.tif", 21, 16)}
TILE_SIDE = 10980


def mosaic(resolution, n, folder, bands=None):
    """The crop at ``resolution`` cut to whole 60 m pixels, mirrored into an n x n mosaic."""
    import numpy as np
    from osgeo import gdal

    name, width, height = CROPS[resolution]
    src = gdal.Open(os.path.join(ROOT, "tests", "testdata", name))
    arr = src.ReadAsArray(0, 0, width, height)
    if bands is not None:
        arr = arr[bands]
    rows = [np.concatenate([arr if j % 2 == 0 else arr[:, :, ::-1] for j in range(n)], axis=2) for _ in range(n)]
    big = np.concatenate([r if i % 2 == 0 else r[:, ::-1, :] for i, r in enumerate(rows)], axis=1)
    path = os.path.join(folder, f"s2_{resolution}m_x{n}.tif")
    ds = gdal.GetDriverByName("GTiff").Create(path, big.shape[2], big.shape[1], big.shape[0], gdal.GDT_UInt16,
                                              ["TILED=YES", "COMPRESS=DEFLATE"])
    ds.SetGeoTransform(src.GetGeoTransform())
    ds.SetProjection(src.GetProjection())
    ds.WriteArray(big)
    ds = None
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", help="a bundled fusion model, or a SavedModel folder (repeat it to "
                        "compare models of the same inputs: they run in turn, in one process; default s2-20m-x2)")
    parser.add_argument("--mosaic", type=int, default=6, help="n for an n x n mosaic of the crops (default 6)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from bench_apply import pure_compute_seconds
    from sr4rs import api

    models = [api.load_model(m) for m in args.model or ["s2-20m-x2"]]
    resolutions = {1: 10, 2: 20, 6: 60}
    tmp = tempfile.mkdtemp(prefix="sr4rs-bench-fusion-")
    inputs = [mosaic(resolutions[i.spec.factor], args.mosaic, tmp, [0, 1] if i.spec.factor == 6 else None)
              for i in models[0].inputs]
    info = api.read_info(inputs[0])
    pixels = info.width * info.height
    print(f"scene {info.width} x {info.height} at 10 m ({pixels / 1e6:.2f} Mpx); inputs "
          f"{[i.spec.factor for i in models[0].inputs]}")
    options = api.ApplyOptions(overwrite=True)
    ratios, rates = [[] for _ in models], [[] for _ in models]
    for i in range(args.repeat):
        for k, model in enumerate(models):  # in turn, so that the machine's load weighs on each alike
            compute, _ = pure_compute_seconds(inputs, model, options)
            start = time.perf_counter()
            api.apply(inputs, os.path.join(tmp, "out.tif"), model, options)
            wall = time.perf_counter() - start
            ratios[k].append(wall / compute)
            rates[k].append(pixels / wall)
            print(f"  run {i + 1}, {model.path}: streamed {wall:.2f} s, pure compute {compute:.2f} s, ratio "
                  f"{wall / compute:.3f}, {pixels / wall / 1e3:.1f} kpx/s at 10 m")
    first = statistics.median(rates[0])
    for k, model in enumerate(models):
        rate = statistics.median(rates[k])
        hours = TILE_SIDE ** 2 / rate / 3600
        print(f"{model.path} ({model.precision}, margin {model.metadata.margin}): {rate / 1e3:.1f} kpx/s at 10 m "
              f"(median of {args.repeat}), {rate / first:.2f} times the first model's; streamed / pure compute "
              f"{statistics.median(ratios[k]):.3f}; a whole {TILE_SIDE} x {TILE_SIDE} product: about {hours:.2f} h "
              "on this machine")


if __name__ == "__main__":
    main()
