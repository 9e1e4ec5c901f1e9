#!/usr/bin/env python3
"""Throughput of a fusion model (Sentinel-2's 20 m or 60 m bands to 10 m) in the streaming engine; prints
figures measured in one run.

The scene is an n x n mirrored mosaic of the Sentinel-2 test crops at their three resolutions (cut to whole
60 m pixels, so that the groups stay on one grid). Printed: pixels per second at 10 m of the streamed apply,
its ratio to the pure model compute of the same windows (median of paired runs), and what that rate means
for a whole 10980 x 10980 product.

Usage: python benchmarks/bench_fusion.py --model s2-20m-x2 [--mosaic 6] [--repeat 3]
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
    parser.add_argument("--model", default="s2-20m-x2", help="a bundled fusion model, or a SavedModel folder")
    parser.add_argument("--mosaic", type=int, default=6, help="n for an n x n mosaic of the crops (default 6)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from bench_apply import pure_compute_seconds
    from sr4rs import api

    model = api.load_model(args.model)
    resolutions = {1: 10, 2: 20, 6: 60}
    tmp = tempfile.mkdtemp(prefix="sr4rs-bench-fusion-")
    inputs = [mosaic(resolutions[i.spec.factor], args.mosaic, tmp, [0, 1] if i.spec.factor == 6 else None)
              for i in model.inputs]
    info = api.read_info(inputs[0])
    pixels = info.width * info.height
    print(f"model {model.path}: inputs {[i.spec.factor for i in model.inputs]}, scene {info.width} x {info.height} "
          f"at 10 m ({pixels / 1e6:.2f} Mpx)")
    options = api.ApplyOptions(overwrite=True)
    ratios, rates = [], []
    for i in range(args.repeat):
        compute, _ = pure_compute_seconds(inputs, model, options)
        start = time.perf_counter()
        api.apply(inputs, os.path.join(tmp, "out.tif"), model, options)
        wall = time.perf_counter() - start
        ratios.append(wall / compute)
        rates.append(pixels / wall)
        print(f"  run {i + 1}: streamed {wall:.2f} s, pure compute {compute:.2f} s, ratio {wall / compute:.3f}, "
              f"{pixels / wall / 1e3:.1f} kpx/s at 10 m")
    rate = statistics.median(rates)
    hours = TILE_SIDE ** 2 / rate / 3600
    print(f"throughput: {rate / 1e3:.1f} kpx/s at 10 m (median of {args.repeat}); streamed / pure compute "
          f"{statistics.median(ratios):.3f}; a whole {TILE_SIDE} x {TILE_SIDE} product: about {hours:.1f} h on this "
          "machine")


if __name__ == "__main__":
    main()
