"""The streaming engine on real Landsat 8 and RGBN crops."""
import json
import numpy as np
import pytest
from osgeo import gdal

from conftest import LANDSAT, RGBN, read
from sr4rs import ApplyOptions, load_model, super_resolve
from sr4rs.geo.nodata import resolve_nodata
from sr4rs.io.rasters import default_creation_options


def _run(tmp_path, model, name="sr.tif", src=LANDSAT, **kw):
    out = tmp_path / name
    report = super_resolve(src, model, str(out), ApplyOptions(**kw))
    return out, report


def test_georeferencing_size_and_bands_are_exact(tmp_path, x4_model):
    out, report = _run(tmp_path, x4_model, nodata=0)
    src, dst = gdal.Open(LANDSAT), gdal.Open(str(out))
    assert (dst.RasterXSize, dst.RasterYSize) == (203 * 4, 157 * 4)  # odd, non-square
    assert dst.GetProjection() == src.GetProjection()
    x0, dx, rx, y0, ry, dy = src.GetGeoTransform()
    assert dst.GetGeoTransform() == (x0, dx / 4, rx / 4, y0, ry / 4, dy / 4)
    assert [dst.GetRasterBand(i + 1).GetDescription() for i in range(3)] == ["B4 red", "B3 green", "B2 blue"]
    assert dst.GetRasterBand(1).DataType == gdal.GDT_UInt16
    assert dst.GetMetadataItem("SR4RS_SCALE") == "4"
    structure = dst.GetMetadata("IMAGE_STRUCTURE")
    assert structure["COMPRESSION"] in ("ZSTD", "DEFLATE")
    assert dst.GetRasterBand(1).GetBlockSize() == [256, 256]
    assert report.width == 812 and report.height == 628
    # The ground covered is the same: corners agree to the metre.
    for px, py in ((203, 157), (0, 0)):
        assert gdal.ApplyGeoTransform(src.GetGeoTransform(), px, py) == \
            gdal.ApplyGeoTransform(dst.GetGeoTransform(), px * 4, py * 4)


def test_result_is_close_to_the_input_radiometry(tmp_path, x4_model):
    """The test model is bicubic plus a small residual: block means must match the input."""
    out, _ = _run(tmp_path, x4_model, encoding="float32", nodata=0)
    lr = read(LANDSAT).astype(np.float64)
    sr = read(out).astype(np.float64)
    valid = ~np.all(lr == 0, axis=-1)
    # bring SR back to the LR grid by 4x4 block averaging
    back = sr.reshape(157, 4, 203, 4, 3).mean(axis=(1, 3))
    inner = valid.copy()
    inner[:3], inner[-3:], inner[:, :3], inner[:, -3:] = False, False, False, False
    # fill pixels neighbouring the border are disturbed; use pixels far from any fill pixel
    assert np.median(np.abs(back[inner] - lr[inner]) / lr[inner]) < 0.05


@pytest.mark.parametrize("ts,batch", [(32, 1), (96, 3), (512, None)])
def test_tile_size_does_not_change_pixels(tmp_path, x4_model, ts, batch):
    reference, _ = _run(tmp_path, x4_model, "ref.tif", encoding="float32", tile_size=1024)
    out, report = _run(tmp_path, x4_model, encoding="float32", tile_size=ts, batch_size=batch)
    a, b = read(reference), read(out)
    assert a.shape == b.shape == (628, 812, 3)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=0.05)
    assert report.tiles >= 1


def test_threaded_and_sequential_runs_agree(tmp_path, x4_model):
    a, _ = _run(tmp_path, x4_model, "a.tif", tile_size=64, threads=True)
    b, _ = _run(tmp_path, x4_model, "b.tif", tile_size=64, threads=False)
    np.testing.assert_array_equal(read(a), read(b))


def test_nodata_pixels_stay_nodata_and_empty_tiles_are_skipped(tmp_path, x4_model):
    out, report = _run(tmp_path, x4_model, tile_size=32, nodata=0)
    lr, sr = read(LANDSAT), read(out)
    lr_fill = np.all(lr == 0, axis=-1)
    assert 0.05 < lr_fill.mean() < 0.9  # the crop really straddles the fill border
    hr_fill = np.repeat(np.repeat(lr_fill, 4, 0), 4, 1)
    sr_fill = np.all(sr == 0, axis=-1)
    np.testing.assert_array_equal(sr_fill, hr_fill)
    assert gdal.Open(str(out)).GetRasterBand(1).GetNoDataValue() == 0
    assert report.skipped_tiles > 0


def test_without_nodata_the_fill_is_super_resolved_like_any_value(tmp_path, x4_model):
    out, report = _run(tmp_path, x4_model, tile_size=32)
    assert report.skipped_tiles == 0
    assert gdal.Open(str(out)).GetRasterBand(1).GetNoDataValue() is None


def test_nodata_policy_order():
    assert resolve_nodata(-1.0, 0.0, 5.0) == -1.0
    assert resolve_nodata(None, 0.0, 5.0) == 0.0
    assert resolve_nodata(None, None, 5.0) == 5.0
    assert np.isnan(resolve_nodata(float("nan"), 0.0, None))  # NaN is a nodata value like any other


def test_nan_nodata_is_masked_and_does_not_spread(tmp_path, x4_model):
    """A float input whose fill is NaN: fill stays NaN, valid pixels next to it stay finite."""
    src = tmp_path / "nan.tif"
    arr = read(LANDSAT).astype(np.float32)
    arr[np.all(arr == 0, axis=-1)] = np.nan
    ds = gdal.GetDriverByName("GTiff").Create(str(src), 203, 157, 3, gdal.GDT_Float32)
    ds.SetGeoTransform(gdal.Open(LANDSAT).GetGeoTransform())
    for i in range(3):
        ds.GetRasterBand(i + 1).WriteArray(arr[..., i])
        ds.GetRasterBand(i + 1).SetNoDataValue(float("nan"))
    ds = None
    out, report = _run(tmp_path, x4_model, src=str(src), tile_size=32)
    sr = read(out)
    lr_fill = np.isnan(arr).all(-1)
    hr_fill = np.repeat(np.repeat(lr_fill, 4, 0), 4, 1)
    assert np.isnan(sr[hr_fill]).all() and np.isfinite(sr[~hr_fill]).all()
    assert np.isnan(gdal.Open(str(out)).GetRasterBand(1).GetNoDataValue())
    assert report.skipped_tiles > 0


def test_nodata_that_the_output_type_cannot_hold_is_refused(tmp_path, x4_model):
    from sr4rs.errors import InputError

    with pytest.raises(InputError, match="does not fit the output type uint8"):
        _run(tmp_path, x4_model, nodata=-9999, encoding="uint8")
    assert list(tmp_path.iterdir()) == []


def test_band_offsets_scales_units_and_metadata_carry_over(tmp_path, x4_model):
    """Landsat Collection 2 and Sentinel-2 products carry reflectance factors per band: kept, so the
    output's DN convert as the input's do. Statistics of the input's pixels are not copied."""
    src = tmp_path / "tagged.tif"
    gdal.Translate(str(src), LANDSAT)
    ds = gdal.Open(str(src), gdal.GA_Update)
    for i, name in enumerate(("B4", "B3", "B2")):
        band = ds.GetRasterBand(i + 1)
        band.SetScale(2.75e-05)
        band.SetOffset(-0.2)
        band.SetUnitType("reflectance")
        band.SetMetadata({"BAND_NAME": name, "STATISTICS_MEAN": "123"})
    ds = None
    (tmp_path / "out").mkdir()
    out, _ = _run(tmp_path / "out", x4_model, src=str(src))
    dst = gdal.Open(str(out))
    for i, name in enumerate(("B4", "B3", "B2")):
        band = dst.GetRasterBand(i + 1)
        assert (band.GetScale(), band.GetOffset(), band.GetUnitType()) == (2.75e-05, -0.2, "reflectance")
        assert band.GetMetadata() == {"BAND_NAME": name}


def test_clipping_to_wide_integer_types_does_not_wrap():
    from sr4rs.geo.dtypes import cast_clipped

    values = np.array([3e9, -3e9, np.inf, -np.inf, 5.4], np.float32)
    assert cast_clipped(values, np.int32).tolist() == [2**31 - 1, -2**31, 2**31 - 1, -2**31, 5]
    assert cast_clipped(values, np.uint32).tolist() == [3000000000, 0, 2**32 - 1, 0, 5]


def test_casting_rounds_clips_and_maps_nan_to_zero():
    from sr4rs.geo.dtypes import cast_clipped

    values = np.array([[70000.0, -3.0, np.nan], [2.5, 3.5, 254.6]], np.float32)
    scratch = values.copy()
    assert cast_clipped(scratch, np.uint16, in_place=True).tolist() == [[65535, 0, 0], [2, 4, 255]]
    assert cast_clipped(values, np.int16).tolist() == [[32767, -3, 0], [2, 4, 255]]
    assert cast_clipped(values, np.uint8).tolist() == [[255, 0, 0], [2, 4, 255]]


def test_valid_pixels_the_model_puts_on_nodata_are_moved_off_it():
    from sr4rs.geo.nodata import protect_nodata as _protect_nodata

    hr = gdal.Open(LANDSAT).ReadAsArray(0, 120, 40, 30).transpose(1, 2, 0).copy()
    before = hr.copy()
    hr[3, 4] = 0  # a valid pixel the model made black in every band
    hr[5, 6, 1] = 0  # 0 in one band only: not nodata, left alone
    out = _protect_nodata(hr, 0.0, np.uint16)
    assert out[3, 4].tolist() == [1, 1, 1] and out[5, 6, 1] == 0
    untouched = np.ones(hr.shape[:2], bool)
    untouched[3, 4] = untouched[5, 6] = False
    assert np.array_equal(out[untouched], before[untouched])
    top = np.full((2, 2, 3), 65535, np.uint16)  # nodata at the top of the range: moved down
    assert _protect_nodata(top, 65535.0, np.uint16).tolist() == np.full((2, 2, 3), 65534).tolist()
    floats = np.zeros((1, 1, 3), np.float32)
    assert (_protect_nodata(floats, 0.0, np.float32) > 0).all()


def test_nodata_mask_needs_every_band_at_nodata_or_one_not_finite():
    from sr4rs.geo.nodata import nodata_mask as _nodata_mask

    crop = gdal.Open(LANDSAT).ReadAsArray(0, 120, 40, 30).transpose(1, 2, 0).copy()  # valid ground
    assert (crop != 0).all()
    crop[0, 0] = 0  # all three bands: nodata
    crop[0, 1, 0] = 0  # one band only: a valid pixel
    crop[1, :, :] = 0  # a whole row
    mask = _nodata_mask(crop, 0.0)
    assert mask.tolist() == np.all(crop == 0, axis=-1).tolist()
    assert mask[0, 0] and not mask[0, 1] and mask[1].all() and mask.sum() == (crop == 0).all(-1).sum()
    as_float = crop.astype(np.float32)
    as_float[as_float == 0] = np.nan
    one_band_nan = mask.copy()
    one_band_nan[0, 1] = True  # NaN in one band is never data, whatever the tag says
    assert _nodata_mask(as_float, float("nan")).tolist() == one_band_nan.tolist()
    assert _nodata_mask(as_float, None).tolist() == one_band_nan.tolist()
    assert _nodata_mask(crop, None) is None  # an integer image without nodata: nothing to mask


def test_auto_encoding_holds_every_band(tmp_path, x4_model):
    """A Byte band stacked with UInt16 bands: the output is UInt16, nothing clipped at 255."""
    byte = tmp_path / "byte.tif"
    gdal.Translate(str(byte), LANDSAT, bandList=[1], outputType=gdal.GDT_Byte, scaleParams=[[0, 20000, 0, 255]])
    green, blue = tmp_path / "green.tif", tmp_path / "blue.tif"
    gdal.Translate(str(green), LANDSAT, bandList=[2])
    gdal.Translate(str(blue), LANDSAT, bandList=[3])
    vrt = tmp_path / "stack.vrt"
    gdal.BuildVRT(str(vrt), [str(byte), str(green), str(blue)], separate=True)
    out, _ = _run(tmp_path, x4_model, src=str(vrt))
    assert gdal.Open(str(out)).GetRasterBand(1).DataType == gdal.GDT_UInt16
    assert read(out)[..., 1].max() > 255


def test_tagged_nodata_wins(tmp_path, x4_model):
    tagged = tmp_path / "tagged.tif"
    gdal.Translate(str(tagged), LANDSAT, noData=0)
    out, report = _run(tmp_path, x4_model, src=str(tagged), tile_size=32, nodata=7)
    assert gdal.Open(str(out)).GetRasterBand(1).GetNoDataValue() == 0
    assert report.skipped_tiles > 0


def test_tiny_image_smaller_than_the_margin(tmp_path, x4_model):
    tiny = tmp_path / "tiny.tif"
    gdal.Translate(str(tiny), LANDSAT, srcWin=[150, 120, 5, 3])
    out, _ = _run(tmp_path, x4_model, src=str(tiny))
    assert read(out).shape == (12, 20, 3)


def test_encoding_clips_to_the_type(tmp_path, x4_model):
    out, _ = _run(tmp_path, x4_model, encoding="unsigned_char")  # SR4RS's name for uint8
    ds = gdal.Open(str(out))
    assert ds.GetRasterBand(1).DataType == gdal.GDT_Byte
    assert read(out).max() == 255  # Landsat DNs are above 255: clipped, not wrapped


def test_creation_options_and_cog(tmp_path, x4_model):
    out, _ = _run(tmp_path, x4_model, creation_options={"COMPRESS": "LZW", "BLOCKXSIZE": "128",
                                                        "BLOCKYSIZE": "128"})
    ds = gdal.Open(str(out))
    assert ds.GetMetadata("IMAGE_STRUCTURE")["COMPRESSION"] == "LZW"
    assert ds.GetRasterBand(1).GetBlockSize() == [128, 128]
    cog, _ = _run(tmp_path, x4_model, "cog.tif", cog=True)
    ds = gdal.Open(str(cog))
    assert ds.GetMetadata("IMAGE_STRUCTURE").get("LAYOUT") == "COG"
    assert ds.GetRasterBand(1).GetOverviewCount() >= 1
    np.testing.assert_array_equal(read(cog), read(out))
    # no intermediate left; a COG joins a catalog: its STAC item beside it (and none beside the plain GeoTIFF)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cog.json", "cog.tif", "sr.tif"]
    item = json.loads((tmp_path / "cog.json").read_text())
    assert item["assets"]["data"]["href"].endswith("cog.tif") and "cloud-optimized" in item["assets"]["data"]["type"]


def test_bigtiff_is_chosen_from_the_uncompressed_size():
    assert "BIGTIFF" not in default_creation_options(np.uint16, 2 * 1024 ** 3)
    # a Sentinel-2 tile, 10980 x 10980, 4 bands, x4, UInt16: 7.7 GB uncompressed
    assert default_creation_options(np.uint16, 43920 * 43920 * 4 * 2)["BIGTIFF"] == "YES"


def test_sr4rs_tf1_model_without_metadata(tmp_path, sr4rs_tf1_model):
    """SR4RS's published models: TF1 graph, keys 'lr_input:0' / 'output_64:0', no metadata, x4."""
    model = load_model(sr4rs_tf1_model)
    assert model.scale == 4 and not model.has_metadata and model.pads == (32, 64, 128, 256, 512)
    out, _ = _run(tmp_path, model, src=RGBN, pad=64, tile_size=128)
    ds = gdal.Open(str(out))
    assert (ds.RasterXSize, ds.RasterYSize, ds.RasterCount) == (121 * 4, 95 * 4, 4)
    # far from the edges, the engine's pixels equal one direct call of the model on the whole image
    lr = read(RGBN).astype(np.float32)
    padded = np.pad(lr, ((16, 16), (16, 16), (0, 0)), mode="reflect")[None]
    direct = model.predict(padded, 64)[0]
    np.testing.assert_allclose(read(out)[40:-40, 40:-40], np.clip(np.rint(direct), 0, 255)[40:-40, 40:-40],
                               atol=1)


def test_sr4rs_model_with_an_integer_input(tmp_path, sr4rs_tf1_model, caplog):
    """SR4RS's latest train.py makes lr_input int16 (the patches' type): the windows are cast to it,
    and the result equals that of the same network taking float32."""
    from models import export_sr4rs_tf1_model

    int_model = load_model(export_sr4rs_tf1_model(str(tmp_path / "int16"), input_dtype="int16"))
    assert int_model.input_dtype == np.int16
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    a, _ = _run(tmp_path / "a", int_model, src=RGBN, pad=64, tile_size=128)
    b, _ = _run(tmp_path / "b", load_model(sr4rs_tf1_model), src=RGBN, pad=64, tile_size=128)
    assert np.array_equal(read(a), read(b))
    # Values past int16 are clipped, not wrapped around, and said once.
    big = np.full((1, 40, 40, 4), 40000.0, np.float32)
    with caplog.at_level("WARNING", logger="sr4rs.model.load"):
        clipped = int_model.predict(big, 32)
        int_model.predict(big, 32)
    np.testing.assert_allclose(clipped, int_model.predict(np.full_like(big, 32767.0), 32))
    assert len([r for r in caplog.records if "values outside int16" in r.getMessage()]) == 1


def test_scale_flag_overrides_models_without_metadata(sr4rs_tf1_model, x4_model):
    assert load_model(sr4rs_tf1_model, scale=2).scale == 2
    from sr4rs.errors import ModelError
    with pytest.raises(ModelError, match="contradicts"):
        load_model(x4_model, scale=2)


def test_exported_model_runs_in_a_tf1_session_like_otbtf(x4_model):
    """OTBTF's TensorflowModelServe: TF1 session, tag 'serve', tensors from the SignatureDef."""
    from sr4rs import SessionModel

    lr = read(LANDSAT)[:40, :40][None].astype(np.float32)
    session = SessionModel(x4_model)
    assert session.inputs.keys() == {"lr_input"}
    assert {"output_0", "output_32", "output_64", "output_512"} <= set(session.outputs)
    got = session.run(lr, "output_32")
    session.close()
    expected = load_model(x4_model).predict(lr, 32)
    assert got.shape == (1, 160 - 64, 160 - 64, 3)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-2)


def test_two_times_model_on_rgbn(tmp_path, x2_rgbn_model):
    out, _ = _run(tmp_path, x2_rgbn_model, src=RGBN, tile_size=64)
    ds = gdal.Open(str(out))
    assert (ds.RasterXSize, ds.RasterYSize, ds.RasterCount) == (242, 190, 4)
    assert ds.GetGeoTransform()[1] == gdal.Open(RGBN).GetGeoTransform()[1] / 2
    assert [ds.GetRasterBand(i + 1).GetDescription() for i in range(4)] == ["red", "green", "blue", "nir"]


def test_without_a_margin_seams_appear(tmp_path, x4_model):
    """The control for the tile-size test: with --pad 0 tile borders do change pixels."""
    a, _ = _run(tmp_path, x4_model, "a.tif", encoding="float32", tile_size=1024, pad=0)
    b, _ = _run(tmp_path, x4_model, "b.tif", encoding="float32", tile_size=32, pad=0)
    assert np.abs(read(a) - read(b)).max() > 1.0


def test_progress_reports_every_input_pixel_once(tmp_path, x4_model):
    calls = []
    super_resolve(LANDSAT, x4_model, str(tmp_path / "sr.tif"), ApplyOptions(tile_size=64), progress=calls.append)
    assert calls[0] == 0 and sum(calls) == 203 * 157 and len(calls) > 10


def test_cli_progress_bar_shows_pixels_per_second_on_a_terminal_only(monkeypatch):
    import io
    import sys

    from sr4rs.cli.common import progress_bar

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    for stream, shown in ((Terminal(), True), (io.StringIO(), False)):
        monkeypatch.setattr(sys, "stderr", stream)
        with progress_bar(1000, "super-resolving") as bar:
            bar(0)
            bar(1000)
        assert ("px/s" in stream.getvalue()) == shown
    monkeypatch.setattr(sys, "stderr", Terminal())
    with progress_bar(1000, "super-resolving", disable=True) as bar:
        bar(1000)
    assert sys.stderr.getvalue() == ""
