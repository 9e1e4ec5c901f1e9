#!/usr/bin/env python3
"""Runtimes and precisions side by side, measured in one run: which is fastest, and what it costs in quality.

For each model (the bundled ones and an SR4RS-architecture generator) and each candidate (TensorFlow float32 as
``sr4rs apply`` ran it before, TensorFlow with XLA, TensorFlow in bfloat16, ONNX Runtime in float32 and int8,
OpenVINO in float32 and bfloat16; those whose package is missing are left out with a line), it prints:

- streamed output pixels per second: ``sr4rs apply`` on real pixels (GeoTIFF in, GeoTIFF out), at each tile size
  asked for, the best one marked; the batch is the engine's automatic one, and every runtime uses both cores;
- tiles per second and achieved GFLOP/s of the network alone on the engine's windows (FLOPs: twice the
  multiply-adds of every convolution of the graph at that window size);
- peak memory of a whole apply in a fresh process (ru_maxrss);
- the difference to TensorFlow float32's output: largest error in output units, PSNR against it (peak: the
  float32 output's range per band);
- held-out PSNR by Wald's protocol (the model's output against the reference it was degraded from, on data
  outside its training) and its difference to float32's;
- seams: the largest difference between the output at the measured tile size and at a small one.

Then, for the models whose margin is a large part of their windows, the margin (``--pad``) against seams:
streamed speed and largest difference to the untiled result at margins below the model's.

Timings: the candidates are run in turn, ``--repeat`` times (interleaved, so that load changes on a shared
machine hit them alike); medians are printed, with the ratio to TensorFlow float32 measured in the same run.

Usage: python benchmarks/bench_runtimes.py [--models NAME ...] [--candidates NAME ...] [--size 1024]
       [--tiles 512 1024] [--repeat 3] [--json OUT.json] [--skip-memory] [--skip-margins]
"""
from __future__ import annotations

import argparse
import json
import math
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
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

SHARED = os.environ.get("SR4RS_SHARED_DATA", os.path.join(os.path.dirname(ROOT), "shared", "data"))
if not os.path.isdir(SHARED):
    SHARED = "/work/shared/data"
S2 = {f: os.path.join(SHARED, f"S2A_L1C_T18SVG_20160112_{r}.tif")
      for f, r in ((1, "10m_B2B3B4B8"), (2, "20m_B5B6B7B8AB11B12"), (6, "60m_B1B9B10"))}
LANDSAT = os.path.join(SHARED, "landsat8_224078_20200518_b234_30m.tif")
TESTDATA = os.path.join(ROOT, "tests", "testdata")
HELDOUT_S2 = {f: os.path.join(TESTDATA, f"s2_heldout_{r}.tif") for f, r in ((1, "10m"), (2, "20m"), (6, "60m"))}
HELDOUT_LANDSAT = os.path.join(ROOT, "examples", "landsat8_rgb_512.tif")
MODELS = ("landsat-rgb-x4", "s2-rgbn-x4", "s2-20m-x2", "s2-60m-x6", "sr4rs-64-16")
CANDIDATES = ("tf-float32", "tf-xla", "tf-bfloat16", "ort-float32", "ort-int8-dynamic", "ort-int8-static",
              "ov-float32", "ov-bfloat16")
WHOLE_S2_TILE = 10980 * 10980  # output pixels of a Sentinel-2 product at 10 m


# ----------------------------------------------------------------------------------------- models and scenes

def model_path(name: str, tmp: str) -> str:
    """A bundled model, or ``sr4rs-D-R``: an untrained SR4RS generator of depth D and R residual blocks (x4, three
    bands; the compute of a trained one)."""
    from sr4rs.api import bundled_model_path

    if not name.startswith("sr4rs-"):
        return bundled_model_path(name)
    from sr4rs.model.contract import ModelMetadata
    from sr4rs.model.export import export_savedmodel
    from sr4rs.nets import build_generator, receptive_radius_lr

    _, depth, nres = name.split("-")
    path = os.path.join(tmp, name)
    if os.path.exists(path):
        return path
    names = ("B4 red", "B3 green", "B2 blue")
    margin = 4 * math.ceil(receptive_radius_lr("sr4rs", 4, int(nres)))
    meta = ModelMetadata(scale=4, input_bands=names, output_bands=names, lr_scale=1e-4, hr_scale=1e-4, nodata=0,
                         margin=margin, description=f"untrained SR4RS generator, depth {depth}, {nres} blocks")
    import keras

    keras.utils.set_random_seed(0)
    return export_savedmodel(build_generator("sr4rs", 3, 4, int(depth), int(nres)), path, meta)


def _crop(src: str, dst: str, x: int, y: int, w: int, h: int, bands=None) -> str:
    from osgeo import gdal

    gdal.Translate(dst, src, srcWin=[x, y, w, h], bandList=bands, creationOptions=["TILED=YES"])
    return dst


def scene_files(meta, size: int, tmp: str, tag: str):
    """Real pixels for the model's inputs, ``size`` output pixels a side (rounded to the grid unit)."""
    size = size // meta.grid_unit * meta.grid_unit
    if len(meta.inputs) > 1:  # Sentinel-2 fusion: the same ground in every resolution, from the shared product
        return [_crop(S2[i.factor], os.path.join(tmp, f"{tag}_{i.factor}.tif"), 0, 0, size // i.factor,
                      size // i.factor, list(range(1, len(i.bands) + 1))) for i in meta.inputs]
    lr = size // meta.scale
    if len(meta.inputs[0].bands) == 4:  # B4 B3 B2 B8 of Sentinel-2's 10 m file
        return [_crop(S2[1], os.path.join(tmp, f"{tag}.tif"), 0, 0, lr, lr, [3, 2, 1, 4])]
    return [_crop(LANDSAT, os.path.join(tmp, f"{tag}.tif"), 200, 200, lr, lr)]


def heldout_pair(meta):
    """(inputs, reference) by Wald's protocol on data outside the bundled models' training: the reference
    degraded by the model's factors (the held-out rows of tests/testdata, the demo scene for Landsat)."""
    import numpy as np
    from osgeo import gdal

    from sr4rs.geo.degrade import degrade

    def read(path, bands=None):
        ds = gdal.Open(path)
        arr = np.moveaxis(ds.ReadAsArray(), 0, -1).astype(np.float32)
        return arr if bands is None else arr[..., bands]

    f = meta.scale // meta.fine_factor if len(meta.inputs) > 1 else meta.scale
    if len(meta.inputs) > 1:
        # coarsest input's native grid is the reference; every input degraded by the model's largest factor
        arrays = [read(HELDOUT_S2[i.factor], list(range(len(i.bands)))) for i in meta.inputs]
        reference = arrays[-1]
        unit = meta.scale  # the coarsest factor: its native grid becomes the output grid
        h, w = (reference.shape[0] // unit) * unit, (reference.shape[1] // unit) * unit
        inputs = {}
        for spec, arr in zip(meta.inputs, arrays):
            k = spec.factor
            part = arr[:h * unit // k, :w * unit // k]
            inputs[spec.name] = degrade(part, unit)[None]
        return inputs, reference[:h, :w]
    bands = [2, 1, 0, 3] if len(meta.inputs[0].bands) == 4 else None
    hr = read(HELDOUT_S2[1], bands) if bands else read(HELDOUT_LANDSAT)
    h, w = hr.shape[0] // f * f, hr.shape[1] // f * f
    return {meta.inputs[0].name: degrade(hr[:h, :w], f)[None]}, hr[:h, :w]


# ----------------------------------------------------------------------------------------------- candidates

def _xla(path):
    """TensorFlow float32 with the signature compiled by XLA (benchmark only)."""
    import tensorflow as tf

    from sr4rs.model.load import LoadedModel, load_model

    base = load_model(path, precision="float32")

    class XlaModel(LoadedModel):
        def predict(self, batch, pad):
            key, _ = self.output_for(pad)
            if not hasattr(batch, "keys"):
                batch = {self.inputs[0].spec.name: batch}
            feeds = {m.key: tf.constant(self._as_input_type(batch[m.spec.name], m)) for m in self.inputs}
            return self._jit(**feeds)[key].numpy()

    model = XlaModel(base.path, base.metadata, base.has_metadata, base.inputs, base._signature, base._outputs,
                     precision="float32")
    model._loaded = base._loaded
    model._jit = tf.function(lambda **kw: base._signature(**kw), jit_compile=True)
    model.backend = "tensorflow-xla"
    return model


def _ort_static(path, meta, calibration):
    """ONNX Runtime with weights and activations in int8 (QDQ), calibrated on windows of the scene."""
    import onnxruntime as ort

    from sr4rs.model.cache import cached
    from sr4rs.model.onnx import ONNX_NAME, OnnxModel, cached_onnx, quantize_static

    source = cached_onnx(path)
    folder = cached(path, f"onnx-int8-static-ort{ort.__version__}",
                    lambda out: quantize_static(source, os.path.join(out, ONNX_NAME), calibration))
    session = ort.InferenceSession(os.path.join(folder, ONNX_NAME), providers=["CPUExecutionProvider"])
    from sr4rs.model.onnx import load

    base = load(path, "float32")
    model = OnnxModel(base.path, base.metadata, base.has_metadata, base.inputs, session, base._outputs,
                      precision="int8")
    return model


def load_candidate(name, path, meta, calibration):
    from sr4rs.model.runtime import available, load_runtime

    backend = {"tf": "native", "ort": "onnxruntime", "ov": "openvino"}[name.split("-")[0]]
    if backend != "native" and not available(backend):
        return None
    if name == "tf-xla":
        return _xla(path)
    if name == "ort-int8-static":
        return _ort_static(path, meta, calibration)
    if name == "ort-int8-dynamic":  # measured here, not offered (slower, and short of the bounds)
        from sr4rs.model.onnx import load

        return load(path, "int8")
    precision = name.split("-")[1]
    if name == "ov-bfloat16":  # OpenVINO's own bfloat16: measured here, not offered (it misses the bounds)
        from sr4rs.model.openvino import load

        return load(path, "bfloat16")
    return load_runtime(path, backend, precision)


def calibration_windows(meta, files, count=8, side=128):
    """Windows of the scene's inputs, as the quantiser's calibration reads them."""
    from sr4rs.api import GdalSource
    from sr4rs.geo.windows import Window

    sources = [GdalSource(f) for f in files]
    out = []
    for k in range(count):
        x = (k * 37) % max(1, sources[0].info.width - side)
        y = (k * 53) % max(1, sources[0].info.height - side)
        window = {}
        for spec, source in zip(meta.inputs, sources):
            f = spec.factor // meta.fine_factor if len(meta.inputs) > 1 else 1
            arr = source.read(Window(x // f, y // f, side // f, side // f)).astype("float32")
            window[spec.name] = arr[None]
        out.append(window)
    for s in sources:
        s.close()
    return out


# ------------------------------------------------------------------------------------------------ measures

def network_flops(path, meta, window: int) -> float:
    """FLOPs of one window of ``window`` output pixels a side (margins included): twice the multiply-adds of
    every convolution in the graph, with the shapes of that window."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    from sr4rs.model.load import load_model

    model = load_model(path, precision="float32")
    specs = [tf.TensorSpec([1, window // m.spec.factor, window // m.spec.factor, m.nbands or len(m.spec.bands)],
                           tf.as_dtype(m.dtype)) for m in model.inputs]
    keys = [m.key for m in model.inputs]
    fn = tf.function(lambda *xs: model._signature(**dict(zip(keys, xs)))[model.output_for(0)[0]])
    frozen = convert_variables_to_constants_v2(fn.get_concrete_function(*specs))
    macs = 0
    for op in frozen.graph.get_operations():
        if op.type in ("Conv2D", "DepthwiseConv2dNative"):
            out = op.outputs[0].shape.as_list()
            kernel = op.inputs[1].shape.as_list()
            per_output = kernel[0] * kernel[1] * (kernel[2] if op.type == "Conv2D" else 1)
            if None in out or None in kernel:
                return float("nan")
            macs += math.prod(out) * per_output
    return 2.0 * macs


def streamed(files, model, out, tile, pad=None, encoding="auto"):
    from sr4rs.api import ApplyOptions, apply

    options = ApplyOptions(tile_size=tile, pad=pad, overwrite=True, encoding=encoding)
    start = time.perf_counter()
    report = apply(files if len(files) > 1 else files[0], out, model, options)
    return time.perf_counter() - start, report


def engine_windows(files, model, tile):
    """The batches the engine runs for this tile size, read into memory."""
    from sr4rs.api import ApplyOptions, GdalSource, plan_apply
    from sr4rs.inference.engine import read_batch

    sources = [GdalSource(p) for p in files]
    plan = plan_apply([s.info for s in sources], model, ApplyOptions(tile_size=tile))
    batches = [read_batch(sources, tiles, plan).inputs for tiles in plan.batches()]
    for s in sources:
        s.close()
    return plan, [b for b in batches if b is not None]


def network_seconds(model, plan, batches) -> float:
    start = time.perf_counter()
    for batch in batches:
        model.predict(batch, plan.pad)
    return time.perf_counter() - start


def read_float(path):
    import numpy as np
    from osgeo import gdal

    ds = gdal.Open(path)
    return np.moveaxis(ds.ReadAsArray(), 0, -1).astype(np.float64) if ds.RasterCount > 1 else \
        ds.ReadAsArray()[..., None].astype(np.float64)


def compare(reference, test):
    """(largest error, PSNR against the reference with its range per band as the peak)."""
    import numpy as np

    from sr4rs.evaluation.metrics import psnr

    return float(np.abs(reference - test).max()), psnr(reference, test).overall


def child_memory(argv):
    """One apply in this fresh process; prints its peak RSS (MB) as JSON."""
    name, candidate, tile, out, files = argv[0], argv[1], int(argv[2]), argv[3], argv[4:]
    path = model_path(name, os.environ["SR4RS_BENCH_MODELS"])
    from sr4rs.model.contract import read_metadata

    meta = read_metadata(path)
    model = load_candidate(candidate, path, meta, calibration_windows(meta, files))
    seconds, _ = streamed(files, model, out, tile)
    print(json.dumps({"seconds": seconds, "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def worker(argv):
    """A process running one candidate, driven by JSON lines on stdin: each runtime lives in its own process
    (TensorFlow, ONNX Runtime and OpenVINO each bring their own oneDNN or thread pools), and the parent
    interleaves the candidates."""
    import numpy as np

    name, candidate, files = argv[0], argv[1], argv[2:]
    path = model_path(name, os.environ["SR4RS_BENCH_MODELS"])
    from sr4rs.model.contract import read_metadata

    meta = read_metadata(path)
    try:
        model = load_candidate(candidate, path, meta, calibration_windows(meta, files))
    except Exception as err:  # noqa: BLE001 (reported to the parent)
        model, error = None, f"{type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}"
    reply = (lambda data: print(json.dumps(data), flush=True))
    if model is None:
        return reply({"error": error if "error" in locals() else "package not installed"})
    reply({"ready": True})
    cache = {}
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["op"] == "quit":
            return None
        if cmd["op"] == "streamed":
            seconds, report = streamed(files, model, cmd["out"], cmd["tile"], cmd.get("pad"), cmd.get("encoding", "auto"))
            reply({"seconds": seconds, "pixels": report.width * report.height})
        elif cmd["op"] == "network":
            if cmd["tile"] not in cache:
                plan, batches = engine_windows(files, model, cmd["tile"])
                model.predict(batches[0], plan.pad)  # warm-up at this shape
                cache[cmd["tile"]] = plan, batches
            plan, batches = cache[cmd["tile"]]
            reply({"seconds": network_seconds(model, plan, batches), "pad": plan.pad,
                   "tiles": sum(len(next(iter(b.values()))) for b in batches)})
        elif cmd["op"] == "heldout":
            inputs, _ = heldout_pair(meta)
            np.save(cmd["out"], model.predict(inputs, 0)[0])
            reply({"done": True})


class Worker:
    def __init__(self, name, candidate, files, tmp):
        self.candidate = candidate
        self.proc = subprocess.Popen([sys.executable, __file__, "--worker", name, candidate, *files],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env=dict(os.environ, SR4RS_BENCH_MODELS=tmp))
        first = self._read()
        self.error = first.get("error")

    def _read(self):
        while True:
            line = self.proc.stdout.readline()
            if not line:
                return {"error": f"the worker stopped (exit code {self.proc.wait()})"}
            if line.startswith("{"):
                return json.loads(line)

    def ask(self, **cmd):
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        answer = self._read()
        if "error" in answer:
            raise RuntimeError(f"{self.candidate}: {answer['error']}")
        return answer

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
            self.proc.stdin.flush()
        self.proc.wait()


# ---------------------------------------------------------------------------------------------------- a model

def measure_model(name, args, tmp):
    import numpy as np

    from sr4rs.model.contract import read_metadata

    path = model_path(name, tmp)
    meta = read_metadata(path)
    files = scene_files(meta, args.size, tmp, name)
    workers, skipped = {}, []
    for cand in args.candidates:
        w = Worker(name, cand, files, tmp)
        if w.error:
            print(f"  {cand}: left out ({w.error})")
            skipped.append(cand)
            w.close()
        else:
            workers[cand] = w
    try:
        return _measure(name, path, meta, files, workers, skipped, args, tmp)
    finally:
        for w in workers.values():
            w.close()


def _measure(name, path, meta, files, workers, skipped, args, tmp):
    import numpy as np

    rows = {c: {"streamed": {t: [] for t in args.tiles}, "network": []} for c in workers}
    out_px = None
    for cand, w in workers.items():  # warm-up: the first call traces, compiles, converts
        w.ask(op="streamed", tile=args.tiles[0], out=os.path.join(tmp, f"{name}_{cand}.tif"))
    for rep in range(args.repeat):  # streamed apply, interleaved
        for tile in args.tiles:
            for cand, w in workers.items():
                got = w.ask(op="streamed", tile=tile, out=os.path.join(tmp, f"{name}_{cand}.tif"))
                out_px = got["pixels"]
                rows[cand]["streamed"][tile].append(got["seconds"])
    best_tile = {c: min(args.tiles, key=lambda t: statistics.median(rows[c]["streamed"][t])) for c in workers}
    tile = best_tile.get("tf-float32", args.tiles[-1])
    for rep in range(args.repeat):  # the network alone on the engine's windows at float32's best tile
        for cand, w in workers.items():
            got = w.ask(op="network", tile=tile)
            rows[cand]["network"].append(got["seconds"])
    pad, ntiles = got["pad"], got["tiles"]
    window = tile + 2 * pad
    flops = network_flops(path, meta, window) * ntiles
    outputs, held = {}, {}
    inputs, reference = heldout_pair(meta)
    for cand, w in workers.items():  # quality: float32 outputs, seams against a small tile, held-out PSNR
        out = os.path.join(tmp, f"{name}_{cand}_f32.tif")
        w.ask(op="streamed", tile=best_tile[cand], out=out, encoding="float32")
        outputs[cand] = read_float(out)
        small = os.path.join(tmp, f"{name}_{cand}_small.tif")
        w.ask(op="streamed", tile=max(meta.grid_unit, 128 // meta.grid_unit * meta.grid_unit), out=small,
              encoding="float32")
        rows[cand]["seam_max"] = float(np.abs(read_float(small) - outputs[cand]).max())
        w.ask(op="heldout", out=os.path.join(tmp, f"{name}_{cand}_heldout.npy"))
        pred = np.load(os.path.join(tmp, f"{name}_{cand}_heldout.npy")).astype(np.float64)
        held[cand] = compare(reference, pred)[1]
    ref = outputs.get("tf-float32")
    for cand in workers:
        r = rows[cand]
        r["max_err"], r["psnr_vs_f32"] = compare(ref, outputs[cand]) if ref is not None else (math.nan, math.nan)
        r["heldout_psnr"], r["heldout_delta"] = held[cand], held[cand] - held.get("tf-float32", math.nan)
        r["rss_mb"] = math.nan if args.skip_memory else peak_memory(name, cand, best_tile[cand], files, tmp)
    result = {"model": name, "output_pixels": out_px, "window": window, "tiles_measured": ntiles,
              "flops_per_tile": flops / ntiles, "pad": pad, "skipped": skipped, "candidates": {}}
    base = rows.get("tf-float32")
    for cand in workers:
        r = rows[cand]
        s, n = statistics.median(r["streamed"][best_tile[cand]]), statistics.median(r["network"])
        paired = [b / c for b, c in zip(base["streamed"][best_tile["tf-float32"]], r["streamed"][best_tile[cand]])] \
            if base else [math.nan]
        result["candidates"][cand] = {
            "best_tile": best_tile[cand], "streamed_px_s": out_px / s, "speedup": statistics.median(paired),
            "streamed_by_tile": {t: out_px / statistics.median(v) for t, v in r["streamed"].items()},
            "tiles_s": ntiles / n, "gflops": flops / n / 1e9, "rss_mb": r["rss_mb"], "max_err": r["max_err"],
            "psnr_vs_f32": r["psnr_vs_f32"], "heldout_psnr": r["heldout_psnr"],
            "heldout_delta": r["heldout_delta"], "seam_max": r["seam_max"],
            "whole_s2_minutes": WHOLE_S2_TILE / (out_px / s) / 60}
    if not args.skip_margins:
        result["margins"] = margins(name, meta, workers, args, tmp)
    return result


def peak_memory(name, cand, tile, files, tmp):
    proc = subprocess.run([sys.executable, __file__, "--child", name, cand, str(tile),
                           os.path.join(tmp, f"{name}_{cand}_rss.tif"), *files], capture_output=True, text=True,
                          env=dict(os.environ, SR4RS_BENCH_MODELS=tmp))
    return json.loads(proc.stdout.strip().splitlines()[-1])["maxrss_mb"] if proc.returncode == 0 else math.nan


def margins(name, meta, workers, args, tmp):
    """The margin against seams: streamed speed and largest difference to the untiled result, in float32 and
    bfloat16, at fractions of the model's margin."""
    import numpy as np

    unit = meta.grid_unit
    pads = sorted({max(0, int(meta.margin * k) // unit * unit) for k in (1.0, 0.75, 0.5, 0.25)}, reverse=True)
    rows, tile = [], args.tiles[-1]
    for cand in [c for c in ("tf-float32", "tf-bfloat16") if c in workers]:
        w = workers[cand]
        whole = os.path.join(tmp, f"{name}_{cand}_whole.tif")
        untiled_tile = -(-args.size // unit) * unit  # one window over the whole scene: no seams
        w.ask(op="streamed", tile=untiled_tile, out=whole, encoding="float32")
        untiled = read_float(whole)
        speeds = {pad: [] for pad in pads}
        for _ in range(args.repeat):
            for pad in pads:
                got = w.ask(op="streamed", tile=tile, pad=pad, out=os.path.join(tmp, f"{name}_{cand}_pad.tif"))
                speeds[pad].append(got["pixels"] / got["seconds"])
        for pad in pads:
            out = os.path.join(tmp, f"{name}_{cand}_pad_f32.tif")
            w.ask(op="streamed", tile=tile, pad=pad, out=out, encoding="float32")
            rows.append({"candidate": cand, "pad": pad, "tile": tile, "streamed_px_s": statistics.median(speeds[pad]),
                         "seam_max": float(np.abs(read_float(out) - untiled).max())})
    return rows


# ------------------------------------------------------------------------------------------------- printing

def print_model(result):
    print(f"\n{result['model']}: {result['output_pixels'] / 1e6:.2f} Mpx out; network windows of "
          f"{result['window']} px ({result['flops_per_tile'] / 1e9:.2f} GFLOP each, margin {result['pad']})")
    head = (f"{'candidate':<17}{'tile':>5}{'streamed kpx/s':>15}{'x f32':>7}{'S2 tile min':>12}{'tiles/s':>9}"
            f"{'GFLOP/s':>9}{'peak MB':>9}{'max err':>9}{'PSNR vs f32':>12}{'held-out':>9}{'d dB':>7}{'seam':>8}")
    print(head)
    for cand, r in result["candidates"].items():
        print(f"{cand:<17}{r['best_tile']:>5}{r['streamed_px_s'] / 1e3:>15.0f}{r['speedup']:>7.2f}"
              f"{r['whole_s2_minutes']:>12.1f}{r['tiles_s']:>9.2f}{r['gflops']:>9.0f}{r['rss_mb']:>9.0f}"
              f"{r['max_err']:>9.2f}{r['psnr_vs_f32']:>12.1f}{r['heldout_psnr']:>9.2f}{r['heldout_delta']:>7.3f}"
              f"{r['seam_max']:>8.3f}")
    for cand, r in result["candidates"].items():
        by_tile = ", ".join(f"{t}: {v / 1e3:.0f}" for t, v in r["streamed_by_tile"].items())
        print(f"  {cand} streamed kpx/s by tile: {by_tile}")
    for row in result.get("margins", []):
        print(f"  margin {row['pad']:>3} ({row['candidate']}, tile {row['tile']}): {row['streamed_px_s'] / 1e3:.0f} "
              f"kpx/s streamed, largest difference to the untiled output {row['seam_max']:.3f}")


def markdown(results) -> str:
    """The figures as the tables of docs/performance.md."""
    lines = ["| model | candidate | tile | streamed kpx/s | x float32 | S2 tile (min) | tiles/s | GFLOP/s | peak MB | "
             "max err | PSNR vs f32 | held-out PSNR | d dB | tile-size diff |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for result in results:
        for cand, r in result["candidates"].items():
            lines.append(f"| {result['model']} | {cand} | {r['best_tile']} | {r['streamed_px_s'] / 1e3:.0f} | "
                         f"{r['speedup']:.2f} | {r['whole_s2_minutes']:.0f} | {r['tiles_s']:.2f} | {r['gflops']:.0f} | "
                         f"{r['rss_mb']:.0f} | {r['max_err']:.2f} | {r['psnr_vs_f32']:.1f} | {r['heldout_psnr']:.3f} | "
                         f"{r['heldout_delta']:+.3f} | {r['seam_max']:.3f} |")
    margins = [(res["model"], row) for res in results for row in res.get("margins", [])]
    if margins:
        lines += ["", "| model | candidate | margin | tile | streamed kpx/s | largest difference to the untiled output |",
                  "| --- | --- | --- | --- | --- | --- |"]
        lines += [f"| {m} | {r['candidate']} | {r['pad']} | {r['tile']} | {r['streamed_px_s'] / 1e3:.0f} | "
                  f"{r['seam_max']:.3f} |" for m, r in margins]
    return "\n".join(lines).replace("nan", "-")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--candidates", nargs="+", default=list(CANDIDATES), choices=CANDIDATES)
    parser.add_argument("--size", type=int, default=1024, help="output pixels a side of the streamed scene")
    parser.add_argument("--tiles", type=int, nargs="+", default=[512, 1024])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-margins", action="store_true")
    parser.add_argument("--markdown", nargs="*", metavar="JSON", help="print the figures as markdown tables too; "
                        "with JSON files (written by --json), only print theirs")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child or args.worker:
        from sr4rs.cli.common import quiet_tensorflow

        quiet_tensorflow()
        return child_memory(args.child) if args.child else worker(args.worker)
    if args.markdown:
        results = [r for path in args.markdown for r in json.load(open(path, encoding="utf-8"))["results"]]
        print(markdown(results))
        return None
    if "tf-float32" in args.candidates:  # the reference goes first
        args.candidates = ["tf-float32"] + [c for c in args.candidates if c != "tf-float32"]
    os.environ.setdefault("SR4RS_CACHE_DIR", os.path.join(tempfile.gettempdir(), "sr4rs-bench-cache"))
    from sr4rs.cli.common import quiet_tensorflow

    quiet_tensorflow()
    load = os.getloadavg()
    print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    tmp = tempfile.mkdtemp(prefix="sr4rs-bench-")
    results = []
    for name in args.models:
        results.append(measure_model(name, args, tmp))
        print_model(results[-1])
        if args.json:
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump({"load_at_start": load, "results": results}, f, indent=1, default=str)
    load = os.getloadavg()
    print(f"\nload average at end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if args.markdown is not None:
        print(markdown(results))


if __name__ == "__main__":
    main()
