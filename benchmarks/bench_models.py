#!/usr/bin/env python3
"""Streamed apply of two or more single-image models on one scene, in turn in one process (each loaded once, its
first run discarded as warm-up); prints each model's median wall time and its ratio to the first model's, measured
in the same run.

Usage: python benchmarks/bench_models.py --model landsat-rgb-x4 --model OTHER [--input SCENE] [--repeat 3]
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
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--model", action="append", required=True, help="a bundled model or a SavedModel folder "
                        "(repeat it: the first is the reference)")
    parser.add_argument("--input", default=os.path.join(ROOT, "examples", "landsat8_rgb_512.tif"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from sr4rs import api

    models = [api.load_model(m) for m in args.model]
    times = {i: [] for i in range(len(models))}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.repeat + 1):
            for i, model in enumerate(models):
                out = os.path.join(tmp, f"{i}_{round_}.tif")
                start = time.perf_counter()
                api.apply(args.input, out, model, api.ApplyOptions())
                if round_:
                    times[i].append(time.perf_counter() - start)
                os.remove(out)
    info = api.read_info(args.input)
    first = statistics.median(times[0])
    for i, model in enumerate(models):
        median = statistics.median(times[i])
        print(f"{args.model[i]} ({model.precision}, margin {model.metadata.margin if model.has_metadata else '?'}): "
              f"{median:.2f} s for {info.width} x {info.height} input pixels (median of {args.repeat}), "
              f"{first / median:.2f} times the first model's speed")


if __name__ == "__main__":
    main()
