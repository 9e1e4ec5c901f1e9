"""Inputs of the rows on the newer paths (--all-bands, images of several resolutions, apply-many, products'
metadata, sensor files, pixel types), made once per session from the real crops; a case's setup copies those
it reads into its {in} (``given``), where their checksums are checked like every input's."""
from __future__ import annotations

import json
import os
import re
import shutil

import numpy as np
from osgeo import gdal

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SENSOR = os.path.join(ROOT, "sr4rs", "io", "sensors", "landsat-oli-c2-l1.json")


def _product(folder, name, level="L1C", baseline="02.01"):
    from products import make_sentinel2

    made = make_sentinel2(folder / f"tmp-{name}", level, baseline)
    shutil.move(made, folder / name)
    shutil.rmtree(folder / f"tmp-{name}")
    return str(folder / name)


def _edit_metadata(safe, edit):
    path = next(os.path.join(safe, n) for n in os.listdir(safe) if n.startswith("MTD_MSIL"))
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(edit(text))


def _brighter(safe):
    """Every valid pixel of every band 500 higher: a product that any mix with another would show."""
    for folder, _, files in os.walk(safe):
        for name in files:
            if name.endswith(".jp2") and "IMG_DATA" in folder:
                path = os.path.join(folder, name)
                src = gdal.Open(path)
                data = src.ReadAsArray().astype(np.int64)
                mem = gdal.GetDriverByName("MEM").Create("", src.RasterXSize, src.RasterYSize, 1, gdal.GDT_UInt16)
                mem.SetGeoTransform(src.GetGeoTransform())
                mem.SetProjection(src.GetProjection())
                mem.GetRasterBand(1).WriteArray(np.where(data > 0, data + 500, 0).astype(np.uint16))
                src = None
                gdal.GetDriverByName("JP2OpenJPEG").CreateCopy(path, mem, options=["QUALITY=100", "REVERSIBLE=YES"])
                if os.path.exists(path + ".aux.xml"):
                    os.remove(path + ".aux.xml")


def _products(extra):
    _product(extra, "s2.SAFE")
    _brighter(_product(extra, "s2_brighter.SAFE"))
    no = _product(extra, "s2_n0400_nooff.SAFE", baseline="04.00")
    _edit_metadata(no, lambda t: re.sub(r"<Radiometric_Offset_List>.*</Radiometric_Offset_List>", "", t, flags=re.S))
    b5 = _product(extra, "s2_n0400_b5off.SAFE", baseline="04.00")
    _edit_metadata(b5, lambda t: t.replace('<RADIO_ADD_OFFSET band_id="4">-1000</RADIO_ADD_OFFSET>', ""))
    empty = _product(extra, "s2_n0400_emptyoff.SAFE", baseline="04.00")
    _edit_metadata(empty, lambda t: t.replace('<RADIO_ADD_OFFSET band_id="4">-1000</RADIO_ADD_OFFSET>',
                                              '<RADIO_ADD_OFFSET band_id="4"></RADIO_ADD_OFFSET>'))
    l2a = _product(extra, "s2a_n0400_nooff.SAFE", level="L2A", baseline="04.00")
    _edit_metadata(l2a, lambda t: re.sub(r"<BOA_ADD_OFFSET_VALUES_LIST>.*</BOA_ADD_OFFSET_VALUES_LIST>", "", t,
                                         flags=re.S))
    nob8a = _product(extra, "s2_nob8a.SAFE")
    for folder, _, files in os.walk(nob8a):
        for name in files:
            if name.endswith("_B8A.jp2"):
                os.remove(os.path.join(folder, name))
    from products import make_landsat

    shutil.move(make_landsat(extra, bands=("B3", "B4")), extra / "landsat_nob2")
    shutil.move(make_landsat(extra), extra / "landsat_c2")


def _copy(src, dst, **changes):
    """A GeoTIFF copy of ``src``'s pixels with its georeferencing changed: ``gt`` (None: none), ``wkt``, ``window``
    (col, row, width, height), ``dtype`` (a GDAL type), ``options``."""
    ds = gdal.Open(src)
    col, row, width, height = changes.get("window", (0, 0, ds.RasterXSize, ds.RasterYSize))
    data = ds.ReadAsArray(col, row, width, height)
    data = data[None] if data.ndim == 2 else data
    out = gdal.GetDriverByName("GTiff").Create(str(dst), width, height, ds.RasterCount,
                                               changes.get("dtype", ds.GetRasterBand(1).DataType),
                                               changes.get("options", []))
    gt = changes.get("gt", ds.GetGeoTransform())
    if gt is not None:
        x0, dx, _, y0, _, dy = gt
        out.SetGeoTransform((x0 + col * dx, dx, 0.0, y0 + row * dy, 0.0, dy))
    wkt = changes.get("wkt", ds.GetProjection())
    if wkt:
        out.SetProjection(wkt)
    out.WriteArray(data)
    out = None


def _utm19():
    from osgeo import osr

    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32619)
    return srs.ExportToWkt()


def _images(extra):
    from conftest import LANDSAT, S2_10M, S2_20M, S2_60M

    shutil.copy(S2_10M, extra / "s10.tif")
    shutil.copy(S2_20M, extra / "s20.tif")
    _copy(S2_20M, extra / "s20_utm19.tif", wkt=_utm19())
    _copy(S2_20M, extra / "s20_nogeo.tif", gt=None, wkt="")
    _copy(S2_20M, extra / "s20_nocrs.tif", wkt="")
    _copy(S2_10M, extra / "s10_nogeo.tif", gt=None, wkt="")
    x0, dx, _, y0, _, dy = gdal.Open(S2_20M).GetGeoTransform()
    _copy(S2_20M, extra / "s20_shifted.tif", gt=(x0 + 3.0, dx, 0.0, y0, 0.0, dy))  # 3 m (at 5 m, half a
    # 10 m pixel, it would be nested as Landsat's bands are)
    _copy(S2_10M, extra / "s10_5px.tif", window=(0, 0, 5, 5))
    _copy(S2_60M, extra / "s60_1px.tif", window=(0, 0, 1, 1))
    _copy(LANDSAT, extra / "int64.tif", dtype=gdal.GDT_Int64)
    _copy(LANDSAT, extra / "uint64.tif", dtype=gdal.GDT_UInt64)
    _copy(LANDSAT, extra / "cint16.tif", dtype=gdal.GDT_CInt16)
    _copy(LANDSAT, extra / "signed_byte.tif", dtype=gdal.GDT_Byte, options=["PIXELTYPE=SIGNEDBYTE"])


def _sensor_files(extra):
    with open(SENSOR) as f:
        base = json.load(f)
    for dtype in ("float16", "bool", "complex64", "datetime64"):
        with open(extra / f"sensor_{dtype}.json", "w") as f:
            json.dump(dict(base, name=f"landsat-{dtype}", dtype=dtype), f)


def _scheduler_files(extra):
    (extra / "sched_empty.json").write_text("{}\n")
    (extra / "sched_dashboard.json").write_text(json.dumps({"address": "https://127.0.0.1:8787"}) + "\n")
    (extra / "sched_garbled.json").write_text("scheduler at 127.0.0.1\n")


def _folders(extra):
    from conftest import S2_10M, S2_20M, run_cli

    (extra / "empty").mkdir()
    (extra / "shards").mkdir()
    (extra / "shards" / "shards.json").write_text("{}\n")
    proc = run_cli("-m", "sr4rs.cli.main", "extract", "--input", S2_10M, "--input", S2_20M, "--patch-size", "8",
                   "--out", str(extra / "set"), "--no-progress")
    assert proc.returncode == 0, proc.stderr


def make_extra(root) -> str:
    """Every input of the newer rows in ``root/extra``, and an earlier --all-bands output of s2.SAFE."""
    extra = root / "extra"
    extra.mkdir()
    _products(extra)
    _images(extra)
    _sensor_files(extra)
    _scheduler_files(extra)
    _folders(extra)
    from conftest import run_cli

    proc = run_cli("-m", "sr4rs.cli.main", "apply", "--input", str(extra / "s2.SAFE"), "--model", "s2-20m-x2",
                   "--model", "s2-60m-x6", "--all-bands", "--output", str(root / "earlier_all.tif"))
    assert proc.returncode == 0, proc.stderr
    return str(extra)


# --------------------------------------------------------------------------- what the rows' setups and checks do


def given(*names, then=None):
    """A setup copying the inputs ``names`` into the case's {in} (then running ``then``)."""
    def setup(ws):
        for name in names:
            src = os.path.join(ws.assets["extra"], name)
            if os.path.isdir(src):
                shutil.copytree(src, os.path.join(ws.inp, name))
            else:
                shutil.copy(src, os.path.join(ws.inp, name))
        if then is not None:
            then(ws)
    return setup


def earlier_all_bands(name):
    """A setup: an --all-bands output of s2.SAFE written by an earlier run, at {out}/``name``."""
    return lambda ws: shutil.copy(ws.assets["earlier_all"], os.path.join(ws.out, name))


def symlink_to_band(name, band="B02"):
    """A setup: {out}/``name``, a symbolic link to one band file of {in}/s2.SAFE."""
    def setup(ws):
        found = [os.path.join(d, f) for d, _, files in os.walk(os.path.join(ws.inp, "s2.SAFE")) for f in files
                 if f.endswith(f"_{band}.jp2")]
        os.symlink(found[0], os.path.join(ws.out, name))
    return setup


def scenes_with_outputs(ws):
    """{in}/scenes: a scene and the output an earlier ``apply-many --output-dir {in}/scenes`` wrote beside it."""
    folder = os.path.join(ws.inp, "scenes")
    os.mkdir(folder)
    shutil.copy(os.path.join(ws.inp, "landsat.tif"), os.path.join(folder, "a.tif"))
    shutil.copy(ws.assets["earlier"], os.path.join(folder, "a_x4.tif"))
    ds = gdal.Open(os.path.join(folder, "a_x4.tif"), gdal.GA_Update)
    ds.SetMetadataItem("SR4RS_MODEL", os.path.basename(ws.model))  # as if made with the case's model
    ds = None


def all_bands_tagged(name):
    """A check: {out}/``name`` holds every band but B10 in the sensor's order, tagged as an apply output."""
    def check(ws, result):
        ds = gdal.Open(os.path.join(ws.out, name))
        bands = [ds.GetRasterBand(i + 1).GetDescription() for i in range(ds.RasterCount)]
        assert bands == ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B11", "B12"], bands
        assert (ds.GetMetadataItem("SR4RS_MODEL"), ds.GetMetadataItem("SR4RS_SCALE")) == ("s2-20m-x2,s2-60m-x6",
                                                                                        "2,6")
    return check


def pixel_type(name, gdal_type):
    """A check: {out}/``name`` is of ``gdal_type`` and holds the scene (not zeros)."""
    def check(ws, result):
        ds = gdal.Open(os.path.join(ws.out, name))
        assert gdal.GetDataTypeName(ds.GetRasterBand(1).DataType) == gdal_type
        assert ds.GetRasterBand(1).ComputeRasterMinMax()[1] > 1000
    return check


def says_why(*reasons):
    """A check: the table shows n/a, and a line under it says why for each of ``reasons``."""
    def check(ws, result):
        assert "nan" not in result.stdout and " n/a " in result.stdout, result.stdout
        notes = [line for line in result.stdout.splitlines() if line.startswith("n/a: ")]
        for reason in reasons:
            assert any(reason in note for note in notes), (reason, notes)
    return check
