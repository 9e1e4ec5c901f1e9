"""The QGIS plugin in a real QGIS (Debian's qgis and python3-qgis 3.22, headless): packaged as the zip QGIS
installs, enabled with ``qgis_process.bin plugins enable``, its algorithms listed and run by
``qgis_process.bin``, and driven through the Processing API (cancel through the feedback object, the dialog
drawn offscreen) by ``qgis_harness.py`` under QGIS's own Python."""
import configparser
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from osgeo import gdal

import sr4rs
from conftest import LANDSAT, read
from integration_tools import HERE, ROOT, SYSTEM_PYTHON, require_program, worker_env

ALGORITHMS = ("sr4rs:superresolve", "sr4rs:superresolve_product", "sr4rs:extract", "sr4rs:train", "sr4rs:evaluate")


@pytest.fixture(scope="module")
def qgis(tmp_path_factory):
    """The plugin built and installed into a plugin folder of its own, enabled in a profile of its own."""
    qgis_process = require_program("qgis_process.bin")
    from sr4rs.integrations.qgis.package import build

    base = tmp_path_factory.mktemp("qgis")
    archive = build(str(base / "dist"))
    with zipfile.ZipFile(archive) as z:
        z.extractall(base / "plugins")
    env = worker_env(QT_QPA_PLATFORM="offscreen", QGIS_PLUGINPATH=str(base / "plugins"),
                     QGIS_CUSTOM_CONFIG_PATH=str(base / "profile"), XDG_RUNTIME_DIR=str(base),
                     SR4RS_PYTHON=sys.executable)
    (base / "work").mkdir()
    enable = subprocess.run([qgis_process, "plugins", "enable", "sr4rs_qgis"], capture_output=True, text=True,
                            env=env, timeout=120)
    assert enable.returncode == 0, enable.stderr
    # QGIS writes statistics beside the rasters it opens (.aux.xml): the tests give it a copy of the crop.
    gdal.Translate(str(base / "landsat.tif"), LANDSAT)
    return {"bin": qgis_process, "env": env, "base": base, "zip": archive, "landsat": str(base / "landsat.tif")}


def qgis_process(qgis, *args, env=None, timeout=300):
    return subprocess.run([qgis["bin"], *args], capture_output=True, text=True, env=env or qgis["env"],
                          timeout=timeout, cwd=qgis["base"] / "work")


def harness(qgis, command, args):
    path = qgis["base"] / f"{command}.json"
    path.write_text(json.dumps(args))
    proc = subprocess.run([SYSTEM_PYTHON, os.path.join(HERE, "qgis_harness.py"), str(qgis["base"] / "plugins"),
                           command, str(path)], capture_output=True, text=True, env=qgis["env"], timeout=600)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("HARNESS ")]
    assert lines, proc.stdout[-2000:] + proc.stderr[-3000:]
    return json.loads(lines[-1][len("HARNESS "):])


def test_the_zip_is_a_plugin_qgis_installs(qgis):
    with zipfile.ZipFile(qgis["zip"]) as z:
        names = z.namelist()
        meta = configparser.ConfigParser()
        meta.read_string(z.read("sr4rs_qgis/metadata.txt").decode())
    assert {"sr4rs_qgis/__init__.py", "sr4rs_qgis/metadata.txt", "sr4rs_qgis/provider.py"} <= set(names)
    general = meta["general"]
    assert general["version"] == sr4rs.__version__
    assert general["hasProcessingProvider"] == "yes" and general["qgisMinimumVersion"] == "3.22"


def test_qgis_process_lists_the_algorithms(qgis):
    plugins = qgis_process(qgis, "plugins")
    assert "* sr4rs_qgis" in plugins.stdout  # enabled, with a Processing provider
    listed = qgis_process(qgis, "list")
    assert listed.returncode == 0, listed.stderr
    for algorithm in ALGORITHMS:
        assert algorithm in listed.stdout
    assert "native:buffer" in listed.stdout  # QGIS's own algorithms still load beside them


def test_qgis_process_super_resolves_a_geotiff(qgis):
    """The bundled model picked for three bands, the output x4 on the same grid, pixels those of sr4rs."""
    out = qgis["base"] / "work" / "sr.tif"
    proc = qgis_process(qgis, "run", "sr4rs:superresolve", "--", f"INPUT={qgis['landsat']}", "OUTPUT=sr.tif",
                        "NODATA=0", "TILE_SIZE=256")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "landsat-rgb-x4" in proc.stdout and "100 - done" in proc.stdout
    src, dst = gdal.Open(LANDSAT), gdal.Open(str(out))
    assert (dst.RasterXSize, dst.RasterYSize, dst.RasterCount) == (src.RasterXSize * 4, src.RasterYSize * 4, 3)
    sgt, dgt = src.GetGeoTransform(), dst.GetGeoTransform()
    assert dgt[0] == sgt[0] and dgt[3] == sgt[3] and dgt[1] == sgt[1] / 4 and dgt[5] == sgt[5] / 4
    assert dst.GetSpatialRef().IsSame(src.GetSpatialRef())
    expected = qgis["base"] / "expected.tif"
    sr4rs.api.apply(LANDSAT, str(expected), options=sr4rs.api.ApplyOptions(nodata=0, tile_size=256))
    np.testing.assert_array_equal(read(out), read(expected))


def test_a_python_without_sr4rs_is_named_with_the_fix(qgis):
    env = dict(qgis["env"], SR4RS_PYTHON=SYSTEM_PYTHON)
    env.pop("PYTHONPATH")
    proc = qgis_process(qgis, "run", "sr4rs:superresolve", "--", f"INPUT={qgis['landsat']}", "OUTPUT=none.tif", env=env)
    text = proc.stdout + proc.stderr
    assert f"sr4rs is not importable from {SYSTEM_PYTHON}" in text and "Python with sr4rs" in text
    assert not os.path.exists(qgis["base"] / "work" / "none.tif")


def test_cancel_through_the_processing_feedback_leaves_nothing(qgis):
    folder = qgis["base"] / "cancel"
    folder.mkdir()
    out = harness(qgis, "run", {"steps": [{"id": "sr4rs:superresolve", "cancel_at": 0.1, "params": {
        "INPUT": qgis["landsat"], "OUTPUT": str(folder / "sr.tif"), "TILE_SIZE": 32, "BATCH_SIZE": 1}}]})
    step = out["steps"][0]
    assert "sr4rs" in out["providers"]
    assert step["cancelled_at"] is not None and step["cancelled_at"] < 50, step
    assert not step["ok"] and step["error"].startswith("cancelled"), step
    assert step["progress"] < 100, step  # stopped within a batch or so, far from the end
    assert os.listdir(folder) == []  # no output, no partial file


def test_extract_train_evaluate_and_a_product_in_qgis(qgis, tmp_path):
    """The other algorithms, chained as in the graphical modeler: patches from a Landsat crop by Wald's
    protocol, a one-epoch EDSR trained on them, evaluated; and a Sentinel-2 product's B4, B3, B2 at x4."""
    from products import make_sentinel2

    product = make_sentinel2(tmp_path, level="L2A", baseline="04.00", as_zip=True)
    w = tmp_path
    steps = [
        {"id": "sr4rs:extract", "params": {"HR": qgis["landsat"], "FACTOR": 4, "PATCH_SIZE": 8, "STEP": 4, "NODATA": 0,
                                           "NODATA_RULE": 0, "COMPRESSION": 1, "OUT_LR": str(w / "lr.tif"),
                                           "OUT_HR": str(w / "hr.tif")}},
        {"id": "sr4rs:train", "params": {"LR_PATCHES": str(w / "lr.tif"), "HR_PATCHES": str(w / "hr.tif"),
                                         "ARCH": 0, "DEPTH": 4, "NRESBLOCKS": 1, "EPOCHS": 1, "BATCHSIZE": 4,
                                         "SEED": 1, "CHECKPOINTS": str(w / "ckpt"), "OUTPUT": str(w / "model")}},
        {"id": "sr4rs:evaluate", "params": {"HR": qgis["landsat"], "SAVEDMODEL": str(w / "model"), "NODATA": 0,
                                            "OUT_FOLDER": str(w / "eval")}},
        {"id": "sr4rs:superresolve_product", "params": {"PRODUCT": product, "BANDS": [3, 2, 1],
                                                        "OUTPUT": str(w / "s2.tif")}},
    ]
    out = harness(qgis, "run", {"steps": steps})
    for step in out["steps"]:
        assert step["ok"], step
        assert step["progress"] == 100, step
    lr = gdal.Open(str(w / "lr.tif"))
    assert lr.RasterXSize == 8 and lr.GetMetadataItem("COMPRESSION", "IMAGE_STRUCTURE") == "DEFLATE"
    assert os.path.isfile(w / "model" / "saved_model.pb")
    assert "bicubic" in out["steps"][2]["results"]["TABLE"] and os.path.isfile(w / "eval" / "evaluation.json")
    s2 = gdal.Open(str(w / "s2.tif"))
    assert (s2.RasterXSize, s2.RasterYSize, s2.RasterCount) == (127 * 4, 99 * 4, 3)


def test_every_parameter_has_a_widget_in_the_dialog(qgis, tmp_path):
    """The dialog drawn offscreen (docs/qgis_dialog.png is this picture, with the Landsat crop loaded)."""
    png = tmp_path / "dialog.png"
    out = harness(qgis, "dialog", {"ids": list(ALGORITHMS), "png": str(png), "layers": [qgis["landsat"]]})
    for algorithm in ALGORITHMS:
        assert out[algorithm]["widgets"] == out[algorithm]["parameters"], algorithm
    # The model made for the layer's three bands is preselected.
    assert out["sr4rs:superresolve"]["model"].startswith("landsat-rgb-x4 (x4;")
    picture = gdal.Open(str(png))
    assert picture.RasterXSize >= 900 and read(png).std() > 10
