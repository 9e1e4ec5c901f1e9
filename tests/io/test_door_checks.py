"""Checks made at the door of sr4rs.io, on real crops: pixel types, sensor files' dtype, images of several
resolutions checked together, staged files that never replace a file another run wrote, and in-memory raster
names never shown to users."""
import os
import threading

import numpy as np
import pytest
from osgeo import gdal, osr

from conftest import LANDSAT, S2_10M, S2_20M
from sr4rs.errors import InputError, OutputError, name_virtual, user_text
from sr4rs.geo.windows import Window
from sr4rs.io.files import StagedFile
from sr4rs.io.geotiff import GeoTiffSink
from sr4rs.io.grids import check_stack
from sr4rs.io.rasters import read_info
from sr4rs.io.sensors import parse_sensor
from sr4rs.io.source import MemorySource, OutputSpec


@pytest.mark.parametrize("dtype,kind", [("bool", "boolean"), ("complex64", "complex"), ("datetime64[s]", "non-numeric"),
                                        ("U2", "non-numeric"), ("object", "non-numeric")])
def test_arrays_of_what_is_not_numbers_are_refused(dtype, kind):
    with pytest.raises(InputError, match=f"array '<memory>' has {kind} pixels"):
        MemorySource(np.zeros((4, 4, 3)).astype(dtype))


def test_geotiff_sinks_write_64_bit_integers_and_refuse_types_they_would_change(tmp_path):
    path = str(tmp_path / "i64.tif")
    sink = GeoTiffSink(path, OutputSpec(8, 8, 1, np.dtype("int64"), nodata=-9))
    sink.write(Window(0, 0, 8, 8), np.full((8, 8, 1), -2 ** 40, np.int64))
    sink.commit()
    ds = gdal.Open(path)  # kept while its band is used
    band = ds.GetRasterBand(1)
    assert gdal.GetDataTypeName(band.DataType) == "Int64" and band.GetNoDataValue() == -9
    assert band.ReadAsArray()[0, 0] == -2 ** 40
    for dtype in ("int8", "float16", "bool", "complex64"):  # int8 would read back -3 as 253
        with pytest.raises(OutputError, match=f"a GeoTIFF cannot hold {dtype} pixels exactly"):
            GeoTiffSink(str(tmp_path / f"{dtype}.tif"), OutputSpec(8, 8, 1, np.dtype(dtype)))
    assert sorted(os.listdir(tmp_path)) == ["i64.tif"]


def test_complex_and_signed_byte_rasters_are_refused_when_opened(tmp_path):
    src = gdal.Open(LANDSAT)
    for name, kind, options in (("c.tif", gdal.GDT_CInt16, []), ("s8.tif", gdal.GDT_Byte, ["PIXELTYPE=SIGNEDBYTE"])):
        ds = gdal.GetDriverByName("GTiff").Create(str(tmp_path / name), 16, 16, 1, kind, options)
        ds.SetGeoTransform(src.GetGeoTransform())
        ds = None
    with pytest.raises(InputError, match="has complex pixels"):
        read_info(str(tmp_path / "c.tif"))
    with pytest.raises(InputError, match="signed 8-bit pixels, which GDAL .* reads as unsigned"):
        read_info(str(tmp_path / "s8.tif"))


@pytest.mark.parametrize("dtype", ["float16", "bool", "complex64", "datetime64", "M8[D]", "S10", 16, "object"])
def test_sensor_files_give_a_type_product_bands_can_have(dtype):
    data = {"name": "x", "format": "band-files", "dtype": dtype, "bands": [{"name": "B1", "resolution": 30,
                                                                          "file": "*_B1.TIF"}]}
    with pytest.raises(InputError, match="field 'dtype' .* is not a pixel type of a product's bands"):
        parse_sensor(data, "x.json")
    assert parse_sensor(dict(data, dtype="UInt16"), "x.json").dtype == "uint16"
    with pytest.raises(InputError, match="field 'offsets'"):
        parse_sensor(dict(data, dtype="uint16", offsets={"metadata": 5}), "x.json")


def _copy(tmp_path, name, src, wkt=None, gt=None):
    path = str(tmp_path / name)
    gdal.Translate(path, src)
    ds = gdal.Open(path, gdal.GA_Update)
    if wkt is not None:
        ds.SetProjection(wkt)
    if gt is not None:
        ds.SetGeoTransform(gt)
    ds = None
    return read_info(path)


def test_images_of_several_resolutions_are_checked_together(tmp_path):
    fine, coarse = read_info(S2_10M), read_info(S2_20M)
    assert check_stack([fine, coarse]) == [1, 2]
    utm19 = osr.SpatialReference()
    utm19.ImportFromEPSG(32619)
    other = _copy(tmp_path, "utm19.tif", S2_20M, wkt=utm19.ExportToWkt())
    with pytest.raises(InputError, match=r"utm19.tif' is in WGS 84 / UTM zone 19N \(EPSG:32619\) but .*s2_10m_crop.tif' "
                                         r"in WGS 84 / UTM zone 18N \(EPSG:32618\).*gdalwarp -t_srs EPSG:32618"):
        check_stack([fine, other])
    x0, dx, _, y0, _, dy = coarse.geotransform
    off = _copy(tmp_path, "off.tif", S2_20M, gt=(x0 - 3, dx, 0, y0, 0, dy))
    with pytest.raises(InputError, match=r"off.tif' does not start at the corner of .*: its corner is -3 x \+0 m away"):
        check_stack([fine, off])
    with pytest.raises(InputError, match="give the images from the finest resolution to the coarsest"):
        check_stack([coarse, fine])
    placed_nowhere = MemorySource(np.zeros((50, 64, 6), np.uint16)).info
    with pytest.raises(InputError, match="'<memory>' has no geotransform and no CRS, so its place against"):
        check_stack([fine, placed_nowhere])
    no_crs = _copy(tmp_path, "nocrs.tif", S2_20M, wkt="")
    with pytest.raises(InputError, match="nocrs.tif' has no CRS, so its place against .*s2_10m_crop.tif' cannot be"):
        check_stack([fine, no_crs])
    # arrays placed by their coordinates alone (no CRS on any): their grids are still checked
    arrays = [MemorySource(np.zeros((i.height, i.width, i.count), np.uint16), i.geotransform).info
              for i in (fine, coarse)]
    assert check_stack(arrays) == [1, 2]


def test_a_staged_file_never_replaces_what_another_run_wrote_meanwhile(tmp_path):
    target = str(tmp_path / "out.tif")
    runs = [StagedFile(target) for _ in range(8)]
    for i, run in enumerate(runs):
        with open(run.tmp, "w") as f:
            f.write(f"run {i}\n")
    outcomes = []

    def commit(run):
        try:
            run.commit()
            outcomes.append("ok")
        except OutputError as err:
            outcomes.append(str(err))

    threads = [threading.Thread(target=commit, args=(run,)) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("ok") == 1
    assert all("was written by another run (or program) while this one worked on it" in o for o in outcomes if o != "ok")
    assert os.listdir(tmp_path) == ["out.tif"] and open(target).read().startswith("run ")


def test_messages_show_in_memory_rasters_as_the_user_gave_them():
    path = name_virtual("/vsimem/sr4rs-test/abc/x_B5-B6.vrt", "'/data/x.SAFE' (bands B5, B6)")
    err = InputError(f"input '{path}' has 2 band(s) but the model expects 3")
    assert str(err) == "input '/data/x.SAFE' (bands B5, B6) has 2 band(s) but the model expects 3"
    assert user_text(f"GDAL said: {path}: no such file") == "GDAL said: '/data/x.SAFE' (bands B5, B6): no such file"
