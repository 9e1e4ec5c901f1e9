"""Runtimes and precisions on real crops: each gives float32 TensorFlow's pixels within its stated tolerance, every
one is seam-free, the bfloat16 default keeps each bundled model's held-out PSNR within 0.05 dB of float32's,
``sr4rs export-onnx`` writes a file ONNX Runtime loads with the model's metadata, and a missing optional runtime
falls back to TensorFlow with one line. Tests of ONNX Runtime and OpenVINO skip only where their package is
missing (scripts/test.sh installs them)."""
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from osgeo import gdal

from conftest import DATA, ROOT, run_cli
from sr4rs.api import (ApplyOptions, InputError, MemorySink, MemorySource, ModelError, bundled_model_path,
                       check_runtime, describe_for_planning, load_model, read_metadata)
from sr4rs.evaluation.metrics import psnr
from sr4rs.geo.degrade import degrade
from sr4rs.inference.engine import run_apply
from sr4rs.model.runtime import cpu_has_bfloat16

HELDOUT = {f: os.path.join(DATA, f"s2_heldout_{r}.tif") for f, r in ((1, "10m"), (2, "20m"), (6, "60m"))}
DEMO = os.path.join(ROOT, "examples", "landsat8_rgb_512.tif")  # rows held out of the Landsat model's training
BUNDLED = ("landsat-rgb-x4", "s2-rgbn-x4", "s2-20m-x2", "s2-60m-x6")
# The tolerances each runtime and precision states (docs/performance.md): float32 runtimes agree with TensorFlow to
# rounding (in output units, reflectance x 10000 here); reduced precisions by PSNR against float32's output (peak:
# its range per band), and by the largest error relative to that range.
FLOAT32_MAX_ERROR = 0.5  # models normalised by local statistics: up to 0.22 measured between runtimes
REDUCED_PSNR, REDUCED_MAX_ERROR = 55.0, 0.02
# Seam-free: the same pixels whatever the tile size, to rounding in float32. In a reduced precision, windows of other
# shapes may round some values the other way (oneDNN picks its kernels by shape): the tiled output is the untiled
# one within the precision's tolerance, and differs no more along the tiles' edges than inside them.
HAS = {name: importlib.util.find_spec(name) is not None for name in ("onnxruntime", "tf2onnx", "openvino")}
needs_onnx = pytest.mark.skipif(not (HAS["onnxruntime"] and HAS["tf2onnx"]), reason="onnxruntime/tf2onnx missing")
needs_openvino = pytest.mark.skipif(not HAS["openvino"], reason="openvino missing")


@pytest.fixture(scope="module", autouse=True)
def cache(tmp_path_factory):
    """Converted models go to a cache of this test run, not the user's."""
    old = os.environ.get("SR4RS_CACHE_DIR")
    os.environ["SR4RS_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield os.environ["SR4RS_CACHE_DIR"]
    if old is None:
        os.environ.pop("SR4RS_CACHE_DIR")
    else:
        os.environ["SR4RS_CACHE_DIR"] = old


def _read(path, bands=None):
    arr = np.moveaxis(gdal.Open(path).ReadAsArray(), 0, -1).astype(np.float32)
    return arr if bands is None else arr[..., bands]


def wald_pair(name):
    """The model's inputs made by Wald's protocol from held-out pixels, and the reference they came from."""
    meta = read_metadata(bundled_model_path(name))
    if len(meta.inputs) > 1:
        arrays = [_read(HELDOUT[i.factor], list(range(len(i.bands)))) for i in meta.inputs]
        unit = meta.scale
        h, w = arrays[-1].shape[0] // unit * unit, arrays[-1].shape[1] // unit * unit
        inputs = {i.name: degrade(a[:h * unit // i.factor, :w * unit // i.factor], unit)
                  for i, a in zip(meta.inputs, arrays)}
        return inputs, arrays[-1][:h, :w]
    hr = _read(HELDOUT[1], [2, 1, 0, 3]) if len(meta.input_bands) == 4 else _read(DEMO)[:256, :256]
    h, w = hr.shape[0] // 4 * 4, hr.shape[1] // 4 * 4
    return {meta.inputs[0].name: degrade(hr[:h, :w], meta.scale)}, hr[:h, :w]


def stream(model, arrays, tile):
    """The engine's float32 output over in-memory inputs at tile size ``tile``."""
    sinks = []

    def make(spec):
        sinks.append(MemorySink(spec))
        return sinks[-1]

    # Placed by geotransform (an output pixel is 10 units), as the grid check asks of inputs on several grids.
    sources = [MemorySource(arrays[i.spec.name], geotransform=(0, 10 * i.spec.factor, 0, 0, 0, -10 * i.spec.factor))
               for i in model.inputs]
    run_apply(sources, model, make, ApplyOptions(tile_size=tile, encoding="float32"))
    return sinks[0].array.astype(np.float64)


def untiled(model, arrays) -> int:
    """A tile size covering the whole output: one window, no seam."""
    side = max(arrays[model.inputs[0].spec.name].shape[:2]) * model.metadata.fine_factor
    return -(-side // model.metadata.grid_unit) * model.metadata.grid_unit


def seam_free(tiled, whole, tile, reduced):
    if not reduced:
        np.testing.assert_allclose(tiled, whole, atol=FLOAT32_MAX_ERROR, rtol=0)
        return
    within(whole, tiled, reduced=True)
    diff = np.abs(tiled - whole).max(axis=-1)
    rows, cols = np.arange(diff.shape[0]) % tile, np.arange(diff.shape[1]) % tile
    edge = (np.minimum(rows, tile - 1 - rows)[:, None] < 2) | (np.minimum(cols, tile - 1 - cols)[None, :] < 2)
    assert diff[edge].mean() <= 2 * diff[~edge].mean() + 0.01, (diff[edge].mean(), diff[~edge].mean())


def within(reference, test, reduced):
    """Whether ``test`` is ``reference`` within the stated tolerance (a message if not)."""
    err = np.abs(reference - test).max()
    if not reduced:
        assert err <= FLOAT32_MAX_ERROR, f"largest error {err} output units"
        return
    spread = float((reference.max(axis=(0, 1)) - reference.min(axis=(0, 1))).min())
    figure = psnr(reference, test).overall
    assert figure >= REDUCED_PSNR, f"PSNR {figure:.1f} dB against float32's output"
    assert err <= REDUCED_MAX_ERROR * spread, f"largest error {err:.2f} of a range of {spread:.0f}"


# ------------------------------------------------------------------------------------------------- choices

def test_choices_are_checked_before_anything_loads(monkeypatch):
    with pytest.raises(InputError, match="unknown --backend 'tensorrt'"):
        check_runtime("tensorrt", None)
    with pytest.raises(InputError, match="unknown --precision 'int8'"):
        check_runtime("native", "int8")
    with pytest.raises(InputError, match="does not compute in bfloat16"):
        check_runtime("onnxruntime", "bfloat16")
    with pytest.raises(InputError, match="float32 only"):
        check_runtime("otbtf", "bfloat16")
    monkeypatch.setenv("SR4RS_PRECISION", "half")
    with pytest.raises(InputError, match="SR4RS_PRECISION=half"):
        check_runtime("native", None)
    monkeypatch.setenv("SR4RS_PRECISION", "bfloat16")
    assert check_runtime("native", None) == "bfloat16" and check_runtime("native", "float32") == "float32"


def test_auto_is_bfloat16_where_the_cpu_computes_it_and_the_rewrite_is_checked():
    model = load_model("s2-20m-x2", precision="auto")
    assert model.precision == ("bfloat16" if cpu_has_bfloat16() else "float32")
    explicit = load_model("s2-20m-x2", precision="bfloat16")
    inputs, _ = wald_pair("s2-20m-x2")
    explicit.predict({k: v[None] for k, v in inputs.items()}, 0)
    assert explicit._session.rewritten  # the convolutions did run in bfloat16


def test_native_float32_is_the_savedmodel_as_it_is():
    """``--backend native --precision float32`` calls the SavedModel's signature unchanged."""
    import tensorflow as tf

    inputs, _ = wald_pair("s2-20m-x2")
    model = load_model("s2-20m-x2", precision="float32")
    sig = tf.saved_model.load(bundled_model_path("s2-20m-x2")).signatures["serving_default"]
    direct = sig(**{k: tf.constant(v[None]) for k, v in inputs.items()})["output_0"].numpy()
    np.testing.assert_array_equal(model.predict({k: v[None] for k, v in inputs.items()}, 0), direct)


# ------------------------------------------------------------------------- bfloat16, the default on such CPUs

@pytest.mark.parametrize("name", BUNDLED)
def test_bfloat16_keeps_quality_on_held_out_pixels(name):
    """The default's conditions: PSNR against float32's output >= 55 dB, held-out PSNR within 0.05 dB of
    float32's, and the same pixels whatever the tile size."""
    inputs, reference = wald_pair(name)
    f32, bf16 = load_model(name, precision="float32"), load_model(name, precision="bfloat16")
    batch = {k: v[None] for k, v in inputs.items()}
    a, b = f32.predict(batch, 0)[0].astype(np.float64), bf16.predict(batch, 0)[0].astype(np.float64)
    within(a, b, reduced=True)
    assert abs(psnr(reference, b).overall - psnr(reference, a).overall) <= 0.05


@pytest.mark.parametrize("name", ("landsat-rgb-x4", "s2-60m-x6"))
def test_bfloat16_is_seam_free(name):
    inputs, _ = wald_pair(name)
    model = load_model(name, precision="bfloat16")
    unit = model.metadata.grid_unit
    whole = stream(model, inputs, untiled(model, inputs))
    for tile in (4 * unit, 11 * unit):
        seam_free(stream(model, inputs, tile), whole, tile, reduced=True)


# ------------------------------------------------------------------------------- ONNX Runtime and OpenVINO

CASES = [pytest.param("onnxruntime", "float32", False, marks=needs_onnx),
         pytest.param("openvino", "float32", False, marks=needs_openvino)]


@pytest.mark.parametrize("backend,precision,reduced", CASES)
@pytest.mark.parametrize("name", ("landsat-rgb-x4", "s2-rgbn-x4"))
def test_other_runtimes_give_float32_pixels_within_tolerance_seam_free(name, backend, precision, reduced):
    inputs, _ = wald_pair(name)
    reference = load_model(name, precision="float32")
    model = load_model(name, backend=backend, precision=precision)
    assert (model.backend, model.precision) == (backend, precision)
    unit = model.metadata.grid_unit
    whole = stream(model, inputs, untiled(model, inputs))
    within(stream(reference, inputs, untiled(model, inputs)), whole, reduced)
    seam_free(stream(model, inputs, 6 * unit), whole, 6 * unit, reduced)


@needs_onnx
def test_converted_model_is_cached_by_content_outside_the_package(cache):
    from sr4rs.model.onnx import cached_onnx

    first = cached_onnx(bundled_model_path("landsat-rgb-x4"))
    assert first.startswith(cache) and not first.startswith(os.path.join(ROOT, "sr4rs"))
    mtime = os.path.getmtime(first)
    assert cached_onnx(bundled_model_path("landsat-rgb-x4")) == first and os.path.getmtime(first) == mtime


@needs_onnx
def test_export_onnx_writes_a_file_onnx_runtime_loads_with_its_metadata(tmp_path):
    import onnx
    import onnxruntime as ort

    out = tmp_path / "rgbn.onnx"
    proc = run_cli("-m", "sr4rs.cli.main", "export-onnx", "s2-rgbn-x4", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == f"wrote {out}"
    props = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    meta = json.loads(props["sr4rs"])
    assert props["scale"] == "4" and props["margin"] == "104" and props["output_bands"] == "B4,B3,B2,B8"
    assert [i["factor"] for i in meta["inputs"]] == [4] and meta["lr_scale"] == 1e-4 and "training" not in meta
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["lr_input"]
    assert {"output_0", "output_32", "output_64"} <= {o.name for o in session.get_outputs()}
    inputs, _ = wald_pair("s2-rgbn-x4")
    got = session.run(["output_0"], {k: v[None] for k, v in inputs.items()})[0]
    within(load_model("s2-rgbn-x4", precision="float32").predict({k: v[None] for k, v in inputs.items()}, 0), got,
           reduced=False)
    again = run_cli("-m", "sr4rs.cli.main", "export-onnx", "s2-rgbn-x4", str(out))
    assert again.returncode == 1 and "already exists: remove it or pass --overwrite" in again.stderr


@needs_onnx
def test_a_fusion_model_onnx_cannot_express_is_refused_in_one_line(tmp_path):
    """The fusion models' local regression solves a small linear system per pixel (MatrixSolve), which ONNX does
    not define: export-onnx and --backend onnxruntime say so on one line and write nothing."""
    out = tmp_path / "x2.onnx"
    proc = run_cli("-m", "sr4rs.cli.main", "export-onnx", "s2-20m-x2", str(out))
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "MatrixSolve" in proc.stderr and "--backend native" in proc.stderr and "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ModelError, match="MatrixSolve.*--backend native"):
        load_model("s2-20m-x2", backend="onnxruntime")


# ---------------------------------------------------------------------------------------------------- plans

def test_a_plan_from_the_metadata_is_the_loaded_models_plan_without_tensorflow():
    code = (
        "import sys\n"
        "from sr4rs.api import ApplyOptions, describe_for_planning, read_info, plan_apply\n"
        "from sr4rs.scenes import plan_scene\n"
        "spec = describe_for_planning('s2-20m-x2')\n"
        f"infos = [read_info(p) for p in ({HELDOUT[1]!r}, {HELDOUT[2]!r})]\n"
        "print(repr(plan_apply(infos, spec, ApplyOptions(tile_size=96))))\n"
        "assert 'tensorflow' not in sys.modules\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=ROOT), timeout=120)
    assert proc.returncode == 0, proc.stderr
    from sr4rs.api import plan_apply, read_info

    infos = [read_info(p) for p in (HELDOUT[1], HELDOUT[2])]
    loaded = plan_apply(infos, load_model("s2-20m-x2", precision="float32"), ApplyOptions(tile_size=96))
    assert proc.stdout.strip() == repr(loaded)
    with pytest.raises(ModelError, match="described from its metadata, not loaded"):
        describe_for_planning("s2-20m-x2").predict({k: v[None] for k, v in wald_pair("s2-20m-x2")[0].items()}, 0)


# ------------------------------------------------------------------------------------------------- fallback

def test_a_missing_runtime_falls_back_to_native_with_one_line(tmp_path):
    """A folder shadowing onnxruntime with a module that cannot be imported: the run goes on with TensorFlow."""
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "onnxruntime.py").write_text("raise ImportError('not installed here')\n")
    out = tmp_path / "sr.tif"
    env = dict(os.environ, PYTHONPATH=f"{shadow}{os.pathsep}{ROOT}", TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-m", "sr4rs", "apply", "--input", os.path.join(DATA, "landsat8_rgb_crop.tif"),
                           "--model", "landsat-rgb-x4", "--output", str(out), "--backend", "onnxruntime",
                           "--precision", "float32", "--no-progress"], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines == [
        "onnxruntime is not installed (pip install 'sr4rs[onnx]'): running the native TensorFlow runtime instead",
        lines[-1]] and "native float32" in lines[-1], lines
    assert gdal.Open(str(out)).GetMetadataItem("SR4RS_RUNTIME") == "native float32"
