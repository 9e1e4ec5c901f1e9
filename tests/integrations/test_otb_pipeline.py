"""docs/otb.md's command blocks, run as they are written, with Debian's otb-bin 8.1.1: Sentinel-2 10 m band
files stacked by ConcatenateImages, super-resolved by sr4rs (extended filenames on both sides), post-processed
by BandMath and DynamicConvert, classified by TrainImagesClassifier and ImageClassifier on the super-resolved
image, and cut into patches that OTB reads."""
import os
import re
import subprocess
import sys

import numpy as np
from osgeo import gdal, ogr, osr

from conftest import S2_10M, read
from integration_tools import ROOT, require_program, worker_env

DOC = os.path.join(ROOT, "docs", "otb.md")


def doc_commands():
    text = open(DOC, encoding="utf-8").read()
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def _band_files(folder):
    """B04, B03, B02, B08 of the 10 m crop as one file each, as a product delivers them."""
    for name, index in (("B04", 3), ("B03", 2), ("B02", 1), ("B08", 4)):
        gdal.Translate(str(folder / f"{name}.tif"), S2_10M, bandList=[index])


def _training_polygons(folder, size=5, step=9):
    """Squares of ``size`` 10 m pixels over the crop's darkest (class 1: water) and brightest (class 2) places."""
    src = gdal.Open(S2_10M)
    gt = src.GetGeoTransform()
    brightness = read(S2_10M)[..., :3].astype(float).mean(axis=-1)
    cells = [(brightness[r:r + size, c:c + size].mean(), brightness[r:r + size, c:c + size].std(), r, c)
             for r in range(0, brightness.shape[0] - size, step) for c in range(0, brightness.shape[1] - size, step)]
    cells = sorted(cell for cell in cells if cell[1] < 0.15 * cell[0])  # homogeneous squares only
    chosen = [(1, r, c) for _, _, r, c in cells[:6]] + [(2, r, c) for _, _, r, c in cells[-6:]]
    driver = ogr.GetDriverByName("GPKG")
    ds = driver.CreateDataSource(str(folder / "train.gpkg"))
    srs = osr.SpatialReference(wkt=src.GetProjection())
    layer = ds.CreateLayer("train", srs, ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("class", ogr.OFTInteger))
    for label, r, c in chosen:
        x0, y0 = gt[0] + c * gt[1], gt[3] + r * gt[5]
        x1, y1 = x0 + size * gt[1], y0 + size * gt[5]
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetField("class", label)
        feature.SetGeometry(ogr.CreateGeometryFromWkt(f"POLYGON(({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}))"))
        layer.CreateFeature(feature)
    ds = None
    return [(label, gt[0] + (c + size / 2) * gt[1], gt[3] + (r + size / 2) * gt[5]) for label, r, c in chosen]


def test_the_documented_otb_pipeline(tmp_path):
    for app in ("ConcatenateImages", "BandMath", "DynamicConvert", "ComputeImagesStatistics",
                "TrainImagesClassifier", "ImageClassifier", "ReadImageInfo"):
        require_program(f"otbcli_{app}")
    _band_files(tmp_path)
    samples = _training_polygons(tmp_path)
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "sr4rs").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m sr4rs "$@"\n')
    (shim / "sr4rs").chmod(0o755)
    env = worker_env(PATH=f"{shim}{os.pathsep}{os.environ['PATH']}", OTB_LOGGER_LEVEL="WARNING")
    blocks = doc_commands()
    assert len(blocks) == 5
    for block in blocks:
        proc = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=600)
        assert proc.returncode == 0, block + proc.stdout[-2000:] + proc.stderr[-2000:]
    src, sr = gdal.Open(S2_10M), gdal.Open(str(tmp_path / "sr.tif"))
    assert not [f for f in os.listdir(tmp_path) if "?" in f]  # extended names never became file names
    assert gdal.Open(str(tmp_path / "stack.tif")).GetMetadataItem("COMPRESSION", "IMAGE_STRUCTURE") == "DEFLATE"
    assert sr.GetMetadataItem("COMPRESSION", "IMAGE_STRUCTURE") == "DEFLATE"
    assert (sr.RasterXSize, sr.RasterYSize, sr.RasterCount) == (127 * 4, 99 * 4, 4)
    assert sr.GetMetadataItem("SR4RS_MODEL") == "s2-rgbn-x4"  # the Sentinel-2 model, not the Landsat one
    sgt, gt = src.GetGeoTransform(), sr.GetGeoTransform()
    assert gt[:1] == sgt[:1] and gt[3] == sgt[3] and gt[1] == 2.5 and gt[5] == -2.5
    index, byte = gdal.Open(str(tmp_path / "rb_index.tif")), gdal.Open(str(tmp_path / "sr_8bit.tif"))
    assert index.GetRasterBand(1).DataType == gdal.GDT_Float32 and byte.GetRasterBand(1).DataType == gdal.GDT_Byte
    assert read(tmp_path / "sr_8bit.tif").std() > 20  # stretched, not flat
    classes = gdal.Open(str(tmp_path / "classes.tif"))
    assert (classes.RasterXSize, classes.RasterYSize) == (sr.RasterXSize, sr.RasterYSize)
    assert classes.GetGeoTransform() == gt
    labels = classes.ReadAsArray()
    hits = [labels[int((y - gt[3]) / gt[5]), int((x - gt[0]) / gt[1])] == label for label, x, y in samples]
    assert np.mean(hits) >= 0.9 and set(np.unique(labels)) == {1, 2}
    lr = gdal.Open(str(tmp_path / "lr_patches.tif"))
    assert lr.GetMetadataItem("COMPRESSION", "IMAGE_STRUCTURE") == "DEFLATE" and lr.RasterXSize == 8
