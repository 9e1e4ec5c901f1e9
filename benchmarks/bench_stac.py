#!/usr/bin/env python3
"""Benchmark of apply on a STAC item read over HTTP (loopback) beside the same item read from local files; prints
ratios measured in one run.

The demo scene as a COG (and a 2 x 2 mosaic of it, 4 times larger) behind an item; each apply runs in a fresh process
(wall time, peak RSS). Over HTTP the COG is read window by window through /vsicurl/ from a server on loopback that
honours Range requests (tests/stac/http_server.py) and counts the bytes it sends.

Usage: python benchmarks/bench_stac.py [--model NAME]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests", "stac"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
EXAMPLE = os.path.join(ROOT, "examples", "landsat8_rgb_512.tif")


def child(item: str, output: str, model: str) -> None:
    """One apply in this process; prints its wall time and peak RSS as JSON."""
    from sr4rs import api

    start = time.perf_counter()
    api.apply(item, output, model, api.ApplyOptions(overwrite=True))
    print(json.dumps({"seconds": time.perf_counter() - start,
                      "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def _run(item: str, output: str, model: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", item, output, "--model", model], capture_output=True,
                         text=True, check=True, env=dict(os.environ, PYTHONPATH=ROOT))
    return json.loads(out.stdout.strip().splitlines()[-1])


def _scene(folder: str, tiles: int) -> str:
    """The demo scene tiled ``tiles`` x ``tiles`` as a COG."""
    from osgeo import gdal

    gdal.UseExceptions()
    path = os.path.join(folder, f"scene{tiles}.tif")
    vrt = gdal.Open(EXAMPLE)
    if tiles > 1:
        src = gdal.Open(EXAMPLE)
        data = src.ReadAsArray()
        import numpy as np

        mem = gdal.GetDriverByName("MEM").Create("", src.RasterXSize * tiles, src.RasterYSize * tiles, 3,
                                                 gdal.GDT_UInt16)
        mem.SetGeoTransform(src.GetGeoTransform())
        mem.SetProjection(src.GetProjection())
        for b in range(3):
            mem.GetRasterBand(b + 1).WriteArray(np.tile(data[b], (tiles, tiles)))
        vrt = mem
    gdal.Translate(path, vrt, format="COG", creationOptions=["COMPRESS=DEFLATE", "BLOCKSIZE=256"])
    return path


def _item(folder: str, cog: str, href: str, name: str) -> str:
    with open(os.path.join(ROOT, "examples", "landsat8_rgb_512_item.json")) as f:
        item = json.load(f)
    item["assets"]["rgb"]["href"] = href
    item["assets"]["rgb"].pop("proj:shape")
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        json.dump(item, f)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=2, metavar=("ITEM", "OUTPUT"))
    parser.add_argument("--model", default="landsat-rgb-x4")
    args = parser.parse_args()
    if args.child:
        child(*args.child, args.model)
        return
    from http_server import RangeServer

    with tempfile.TemporaryDirectory() as folder, RangeServer(folder) as server:
        rows = []
        for tiles in (1, 2):
            cog = _scene(folder, tiles)
            local = _item(folder, cog, os.path.basename(cog), f"local{tiles}.json")
            remote = _item(folder, cog, server.url(os.path.basename(cog)), f"remote{tiles}.json")
            a = _run(local, os.path.join(folder, "a.tif"), args.model)
            before = server.served["/" + os.path.basename(cog)]
            b = _run(server.url(os.path.basename(remote)), os.path.join(folder, "b.tif"), args.model)
            sent = server.served["/" + os.path.basename(cog)] - before
            rows.append((tiles, a, b, sent / os.path.getsize(cog)))
        print(f"{'scene':>12} {'local s':>8} {'http s':>8} {'http/local':>10} {'local MB':>9} {'http MB':>8} "
              f"{'bytes sent / COG':>16}")
        for tiles, a, b, sent in rows:
            print(f"{512 * tiles:>6} x {512 * tiles:<4} {a['seconds']:8.1f} {b['seconds']:8.1f} "
                  f"{b['seconds'] / a['seconds']:10.2f} {a['rss_mb']:9.0f} {b['rss_mb']:8.0f} {sent:16.2f}")
        print(f"peak RSS, 4 times the pixels: local x{rows[1][1]['rss_mb'] / rows[0][1]['rss_mb']:.2f}, "
              f"over HTTP x{rows[1][2]['rss_mb'] / rows[0][2]['rss_mb']:.2f}")


if __name__ == "__main__":
    main()
