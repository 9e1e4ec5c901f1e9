"""Products read directly: Sentinel-2 L1C and L2A (.SAFE folders and zips, before and after processing
baseline 04.00) and Landsat Collection 2 folders, laid out as real ones from the real crops; apply,
extract and evaluate on them give the pixels of hand-stacked GeoTIFFs of the same bands."""
import os

import numpy as np
import pytest
from osgeo import gdal

from conftest import LANDSAT, S2_10M, S2_20M, read, run_cli
from products import make_landsat, make_sentinel2
from sr4rs.errors import InputError
from sr4rs.io.products import open_product, resolve, stack


@pytest.fixture(scope="module")
def products(tmp_path_factory):
    folder = tmp_path_factory.mktemp("products")
    return {
        "l1c": make_sentinel2(folder, "L1C", "02.01"),
        "l1c_04": make_sentinel2(folder, "L1C", "04.00"),
        "l2a": make_sentinel2(folder, "L2A", "02.14"),
        "l2a_04_zip": make_sentinel2(folder, "L2A", "05.10", as_zip=True),
        "landsat": make_landsat(folder),
    }


def _stack(path, bands):
    return read(resolve(path, bands))


def test_sentinel2_bands_are_the_files_pixels_and_geometry(products):
    ref10, ref20 = read(S2_10M), read(S2_20M)
    for key in ("l1c", "l1c_04", "l2a", "l2a_04_zip"):
        product = open_product(products[key])
        assert product.sensor.name == ("sentinel2-l1c" if key.startswith("l1c") else "sentinel2-l2a")
        np.testing.assert_array_equal(_stack(products[key], ["B4", "B3", "B2", "B8"]), ref10[..., [2, 1, 0, 3]])
        np.testing.assert_array_equal(_stack(products[key], ["B5", "B12"]), ref20[..., [0, 5]])
        ds, crop = gdal.Open(resolve(products[key], ["B2"])), gdal.Open(S2_10M)
        assert ds.GetGeoTransform() == crop.GetGeoTransform()
        assert ds.GetRasterBand(1).GetDescription() == "B2" and ds.GetRasterBand(1).GetNoDataValue() == -32768


def test_baseline_04_offsets_are_read_from_the_metadata_and_removed(products):
    """After 04.00 every stored value is 1000 more; the metadata's -1000 gives back the same reflectances."""
    before, after = open_product(products["l1c"]), open_product(products["l1c_04"])
    assert (before.baseline, after.baseline) == ("02.01", "04.00")
    assert before.offsets == {} and set(after.offsets.values()) == {-1000.0} and len(after.offsets) == 13
    raw = gdal.Open(after.files["B4"]).ReadAsArray()
    assert (raw[raw > 0] >= 1000).all()  # stored with the offset
    np.testing.assert_array_equal(_stack(products["l1c"], ["B4"]), _stack(products["l1c_04"], ["B4"]))
    assert open_product(products["l2a_04_zip"]).offsets["B9"] == -1000.0  # BOA_ADD_OFFSET, in a zip


def test_l2a_bands_come_from_their_native_resolution_folder(products):
    product = open_product(products["l2a"])
    assert "/R20m/" in product.files["B5"] and product.files["B5"].endswith("_B05_20m.jp2")
    assert "/R10m/" in product.files["B2"] and "/R60m/" in product.files["B1"] and "B10" not in product.files


def test_landsat_folder(products):
    product = open_product(products["landsat"])
    assert product.sensor.name == "landsat-oli-c2-l1" and sorted(product.files) == ["B2", "B3", "B4"]
    np.testing.assert_array_equal(_stack(products["landsat"], ["B4", "B3", "B2"]), read(LANDSAT))


def test_product_mistakes_are_one_line(products, tmp_path):
    with pytest.raises(InputError, match=r"mixes resolutions \(10 m: B4; 20 m: B5\)"):
        resolve(products["l1c"], ["B4", "B5"])
    with pytest.raises(InputError, match="has no band 'B13'"):
        resolve(products["l1c"], ["B13"])
    with pytest.raises(InputError, match="has no file for band\\(s\\) B5"):
        resolve(products["landsat"], ["B5"])
    with pytest.raises(InputError, match="is a sentinel2-l2a product: choose its bands with --bands "
                                         r"\(10 m: B2,B3,B4,B8; 20 m: B5,B6,B7,B8A,B11,B12; 60 m: B1,B9\)"):
        resolve(products["l2a"], None)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="not a product sr4rs knows"):
        resolve(str(tmp_path / "empty"), ["B4"])
    broken = tmp_path / "broken.SAFE"
    os.makedirs(broken / "GRANULE" / "x" / "IMG_DATA")
    (broken / "MTD_MSIL1C.xml").write_text("<not xml")
    (broken / "GRANULE" / "x" / "IMG_DATA" / "T_B04.jp2").write_bytes(b"")
    with pytest.raises(InputError, match="MTD_MSIL1C.xml' of product .* is not valid XML"):
        open_product(str(broken))


def test_apply_extract_evaluate_on_a_product_equal_a_hand_stack(products, tmp_path, x4_model):
    p = products["l1c_04"]
    stacked = str(tmp_path / "stacked.tif")
    gdal.Translate(stacked, S2_10M, bandList=[3, 2, 1])  # B4 B3 B2 of the 10 m crop
    outs = {}
    for name, src in (("product", ["--input", p, "--bands", "B4,B3,B2"]), ("stack", ["--input", stacked])):
        out = str(tmp_path / f"{name}.tif")
        proc = run_cli("-m", "sr4rs.cli.main", "apply", *src, "--savedmodel", x4_model, "--output", out,
                       "--encoding", "float32")
        assert proc.returncode == 0, proc.stderr
        outs[name] = read(out)
    np.testing.assert_array_equal(outs["product"], outs["stack"])
    for name, src in (("product", ["--hr", p, "--bands", "B4,B3,B2"]), ("stack", ["--hr", stacked])):
        proc = run_cli("-m", "sr4rs.cli.main", "extract", *src, "--factor", "4", "--patch-size", "6",
                       "--out-lr", str(tmp_path / f"{name}_lr.tif"), "--out-hr", str(tmp_path / f"{name}_hr.tif"))
        assert proc.returncode == 0, proc.stderr
    np.testing.assert_array_equal(read(tmp_path / "product_lr.tif"), read(tmp_path / "stack_lr.tif"))
    np.testing.assert_array_equal(read(tmp_path / "product_hr.tif"), read(tmp_path / "stack_hr.tif"))
    tables = {}
    for name, src in (("product", ["--hr", p, "--bands", "B4,B3,B2"]), ("stack", ["--hr", stacked])):
        proc = run_cli("-m", "sr4rs.cli.main", "evaluate", *src, "--savedmodel", x4_model, "--border", "4",
                       "--no-progress")
        assert proc.returncode == 0, proc.stderr
        tables[name] = [line.split()[1:] for line in proc.stdout.splitlines()[2:-1]]
    assert tables["product"] == tables["stack"]


def test_outputs_never_go_into_a_product(products, tmp_path, x4_model):
    p = products["l1c"]
    proc = run_cli("-m", "sr4rs.cli.main", "apply", "--input", p, "--bands", "B4,B3,B2", "--savedmodel", x4_model,
                   "--output", os.path.join(p, "sr.tif"))
    assert proc.returncode == 1 and "is inside --input" in proc.stderr
    assert not os.path.exists(os.path.join(p, "sr.tif"))


def test_stack_reads_in_windows_without_copying(products):
    """A product's bands are a virtual raster over the band files: nothing as large as the bands is written."""
    path = stack(open_product(products["l1c"]), ["B2", "B3", "B4", "B8"])
    assert path.startswith("/vsimem/") and path.endswith(".vrt")
    ds = gdal.Open(path)
    files = ds.GetFileList()
    assert sum(f.endswith(".jp2") for f in files) == 4
    window = ds.ReadAsArray(10, 20, 8, 4)
    np.testing.assert_array_equal(np.moveaxis(window, 0, -1), read(S2_10M)[20:24, 10:18])


def test_nest_moves_an_offset_coarse_grid_onto_the_fine_one_keeping_its_bands_metadata(tmp_path):
    """A coarse image half a fine pixel off the fine grid is read on the nested grid, with its band's description,
    scale and offset; a nested one is returned as it is."""
    from sr4rs.io.products import nest

    drv = gdal.GetDriverByName("GTiff")
    fine = drv.Create(str(tmp_path / "fine.tif"), 8, 8, 1, gdal.GDT_UInt16)
    fine.SetGeoTransform((0, 1, 0, 8, 0, -1))
    fine.SetProjection(gdal.Open(S2_10M).GetProjection())
    fine = None
    coarse = drv.Create(str(tmp_path / "coarse.tif"), 4, 4, 1, gdal.GDT_UInt16)
    coarse.SetGeoTransform((0.5, 2, 0, 7.5, 0, -2))
    coarse.SetProjection(gdal.Open(S2_10M).GetProjection())
    band = coarse.GetRasterBand(1)
    band.WriteArray(np.full((4, 4), 1000, np.uint16))
    band.SetScale(0.5)
    band.SetOffset(3.0)
    band.SetDescription("B4")
    coarse = None
    moved = gdal.Open(nest(str(tmp_path / "coarse.tif"), str(tmp_path / "fine.tif")))
    assert moved.GetGeoTransform() == (0.0, 2.0, 0.0, 8.0, 0.0, -2.0)
    band = moved.GetRasterBand(1)
    assert (band.GetDescription(), band.GetScale(), band.GetOffset()) == ("B4", 0.5, 3.0)
    assert (band.ReadAsArray()[1:-1, 1:-1] == 1000).all()  # a constant image stays constant inside
    assert nest(str(tmp_path / "fine.tif"), str(tmp_path / "coarse.tif")) == str(tmp_path / "fine.tif")
    bare = gdal.Translate(str(tmp_path / "bare.tif"), str(tmp_path / "coarse.tif"), outputSRS="EPSG:4326")
    bare = None  # another CRS: left to the checks that follow
    assert nest(str(tmp_path / "bare.tif"), str(tmp_path / "fine.tif")) == str(tmp_path / "bare.tif")
    assert nest(str(tmp_path / "missing.tif"), str(tmp_path / "fine.tif")) == str(tmp_path / "missing.tif")
