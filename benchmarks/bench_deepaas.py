#!/usr/bin/env python3
"""Load on the DEEPaaS service: the real ``deepaas-run`` on a loopback port, N predictions of small real crops
from C concurrent clients; prints latency, throughput, and the memory and open files of the server and its
workers before and after (they should stay flat), and whether the temporary folder is empty at the end.

Loopback only, bounded in count; it starts and stops its own server. Needs requirements-deepaas.txt.

Usage: python benchmarks/bench_deepaas.py [--requests 50] [--clients 4] [--workers 1] [--model landsat-rgb-x4]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests", "integrations"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import psutil  # noqa: E402 (installed with requirements-deepaas.txt)
import requests  # noqa: E402

from deepaas_server import Server  # noqa: E402

LANDSAT = os.path.join(ROOT, "tests", "testdata", "landsat8_rgb_crop.tif")


def crops(folder: str, n: int = 8):
    """n different 48 x 40 crops of the real Landsat test crop."""
    from osgeo import gdal

    paths = []
    for i in range(n):
        path = os.path.join(folder, f"crop{i}.tif")
        gdal.Translate(path, LANDSAT, srcWin=[(i * 19) % 150, (i * 13) % 110, 48, 40])
        paths.append(path)
    return [open(p, "rb").read() for p in paths]


def footprint(pid: int):
    """Resident memory (MiB) and open files of the server and its worker processes."""
    root = psutil.Process(pid)
    procs = [root] + root.children(recursive=True)
    rss, fds = 0, 0
    for p in procs:
        try:
            rss += p.memory_info().rss
            fds += p.num_fds()
        except psutil.NoSuchProcess:
            pass
    return rss / 2 ** 20, fds, len(procs)


def load(url: str, bodies, total: int, clients: int, model: str):
    latencies, failures, lock, counter = [], [], threading.Lock(), iter(range(total))

    def client():
        with requests.Session() as session:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                t0 = time.perf_counter()
                answer = session.post(f"{url}/v2/models/sr4rs/predict/", params={"model": model},
                                      headers={"accept": "image/tiff"}, files={"data": ("c.tif", bodies[i % len(bodies)])},
                                      timeout=300)
                with lock:
                    latencies.append(time.perf_counter() - t0)
                    if answer.status_code != 200 or answer.content[:4] != b"II*\0":
                        failures.append(answer.status_code)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, failures, time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=1, help="deepaas-run --workers")
    parser.add_argument("--model", default="landsat-rgb-x4")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as base:
        tmp = os.path.join(base, "tmp")
        os.mkdir(tmp)
        bodies = crops(base)
        server = Server({"TMPDIR": tmp}, os.path.join(base, "server.log"), ["--workers", str(args.workers)])
        try:
            server.wait()
            load(server.url, bodies, 2 * args.clients, args.clients, args.model)  # warm-up: every worker busy once
            before = footprint(server.process.pid)
            latencies, failures, seconds = load(server.url, bodies, args.requests, args.clients, args.model)
            after = footprint(server.process.pid)
            left = os.listdir(tmp)
        finally:
            server.stop()
    lat = sorted(latencies)
    print(f"{args.requests} predictions of 48 x 40 crops (x4: 192 x 160 GeoTIFFs) with {args.model}, "
          f"{args.clients} concurrent clients, {args.workers} worker(s)")
    print(f"  failures: {len(failures)}; wall {seconds:.1f} s, {args.requests / seconds:.2f} predictions/s")
    print(f"  latency: median {statistics.median(lat):.2f} s, p95 {lat[int(0.95 * (len(lat) - 1))]:.2f} s, "
          f"max {lat[-1]:.2f} s")
    print(f"  server + workers after warm-up: {before[0]:.0f} MiB, {before[1]} open files, {before[2]} processes")
    print(f"  server + workers after the load: {after[0]:.0f} MiB ({after[0] - before[0]:+.0f}), {after[1]} open "
          f"files ({after[1] - before[1]:+d}), {after[2]} processes")
    print(f"  temporary folder afterwards: {'empty' if not left else left}")
    return 1 if failures or left else 0


if __name__ == "__main__":
    sys.exit(main())
