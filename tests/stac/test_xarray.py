"""sr4rs.xarray on odc-stac loads of the served items: eager (NumPy) and lazy (Dask) results equal sr4rs apply's
pixels, on its grid (coordinates of its pixel centres), in its CRS; a fusion model takes one array per grid."""
import numpy as np
import pytest
from osgeo import gdal

from conftest import read
from sr4rs import api
from sr4rs.io.products import resolve
from stac_fixtures import stac  # noqa: F401 (the fixture)

odc_stac = pytest.importorskip("odc.stac")  # the [xarray] extra, installed by scripts/test.sh


def _load(stac, key, bands, chunks):
    import pystac
    from affine import Affine
    from odc.geo.geobox import GeoBox

    grid = gdal.Open(resolve(stac["safe"], [bands[0]]))
    geobox = GeoBox((grid.RasterYSize, grid.RasterXSize), Affine.from_gdal(*grid.GetGeoTransform()), "EPSG:32618")
    item = pystac.Item.from_file(stac[key])
    return odc_stac.load([item], bands=bands, geobox=geobox, chunks=chunks).to_array("band")


@pytest.mark.parametrize("chunks", [None, {}], ids=["eager", "lazy"])
def test_superresolve_equals_apply(stac, x4_model, tmp_path, chunks):
    from sr4rs.xarray import superresolve

    options = api.ApplyOptions(tile_size=64)
    reference = str(tmp_path / "ref.tif")
    api.apply(stac["es_old"], reference, x4_model, options)  # stored values without offset: what odc-stac loads
    da = _load(stac, "es_old", ["red", "green", "blue"], chunks)
    result = superresolve(da, x4_model, options, chunk_tiles=2)
    assert (type(result.data).__module__.split(".")[0] == "dask") == (chunks is not None)
    if chunks is not None:
        assert result.chunks[1][:2] == (128, 128)  # whole tiles of 64 output pixels
    ds = gdal.Open(reference)
    x0, px, _, y0, _, py = ds.GetGeoTransform()
    np.testing.assert_array_equal(result.x.values, x0 + (np.arange(ds.RasterXSize) + 0.5) * px)
    np.testing.assert_array_equal(result.y.values, y0 + (np.arange(ds.RasterYSize) + 0.5) * py)
    assert result.rio.crs.to_epsg() == 32618 and list(result.band.values) == ["B4 red", "B3 green", "B2 blue"]
    np.testing.assert_array_equal(np.moveaxis(result.values, 0, -1).astype(np.int64), read(reference).astype(np.int64))


def test_a_fusion_model_takes_one_array_per_grid(stac, fusion_model, tmp_path):
    from sr4rs.xarray import superresolve

    reference = str(tmp_path / "ref.tif")
    api.apply(stac["es_old"], reference, fusion_model, api.ApplyOptions(tile_size=32))
    fine = _load(stac, "es_old", ["blue", "green", "red", "nir"], {})
    coarse = _load(stac, "es_old", ["rededge1", "rededge2", "rededge3", "nir08", "swir16", "swir22"], {})
    for chunk_tiles in (None, 1):  # one chunk; chunks of one tile (32 x 32 fine, 16 x 16 coarse pixels)
        result = superresolve([fine, coarse], fusion_model, api.ApplyOptions(tile_size=32), chunk_tiles=chunk_tiles)
        assert result.shape == (6, 99, 127)
        np.testing.assert_array_equal(np.moveaxis(result.values, 0, -1).astype(np.int64),
                                      read(reference).astype(np.int64))


def test_bands_are_matched_by_name(stac, x4_model):
    from sr4rs.xarray import superresolve

    da = _load(stac, "es_old", ["nir", "blue", "green"], None)
    with pytest.raises(api.InputError, match="no band of the array answers to the model's 'B4 red'"):
        superresolve(da, x4_model)


def test_a_stackstac_load_gives_apply_s_pixels(stac, x4_model, tmp_path):
    """stackstac (coordinates at pixel centres, lazy, float with NaN for nodata, the stored values: rescale=False, as
    odc-stac loads them) on the same served item: the same pixels as sr4rs apply, on the same grid."""
    stackstac = pytest.importorskip("stackstac")
    import pystac

    from sr4rs.xarray import superresolve

    options = api.ApplyOptions(tile_size=64)
    reference = str(tmp_path / "ref.tif")
    api.apply(stac["es_old"], reference, x4_model, options)
    grid = gdal.Open(resolve(stac["safe"], ["red"]))
    x0, px, _, y0, _, py = grid.GetGeoTransform()
    bounds = (x0, y0 + grid.RasterYSize * py, x0 + grid.RasterXSize * px, y0)
    item = pystac.Item.from_file(stac["es_old"])
    da = stackstac.stack([item], assets=["red", "green", "blue"], epsg=32618, resolution=px, bounds=bounds,
                         xy_coords="center", dtype="float64", fill_value=np.nan, rescale=False).squeeze("time", drop=True)
    assert type(da.data).__module__.split(".")[0] == "dask"
    result = superresolve(da, x4_model, options, chunk_tiles=2, nodata=0)
    ds = gdal.Open(reference)
    rx0, rpx, _, ry0, _, rpy = ds.GetGeoTransform()
    np.testing.assert_allclose(result.x.values, rx0 + (np.arange(ds.RasterXSize) + 0.5) * rpx)
    np.testing.assert_allclose(result.y.values, ry0 + (np.arange(ds.RasterYSize) + 0.5) * rpy)
    # float in, float out: the GeoTIFF's UInt16 are those values rounded
    np.testing.assert_array_equal(np.rint(np.moveaxis(result.values, 0, -1)), read(reference).astype(np.float64))
