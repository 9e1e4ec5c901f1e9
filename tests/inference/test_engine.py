"""The engine through its interfaces: in-memory sources and sinks, a two-input fusion model on real
Sentinel-2 10 m and 20 m crops, and cancelling a run from another thread."""
import os
import threading
import time

import numpy as np
import pytest
from osgeo import gdal

from conftest import LANDSAT, ROOT, S2_10M, S2_20M, read
from sr4rs import api
from sr4rs.errors import InputError
from sr4rs.inference.engine import run_apply
from sr4rs.inference.plan import resolve_tile
from sr4rs.io.source import MemorySink, MemorySource


def _memory(path, **kw):
    ds = gdal.Open(path)
    return MemorySource(read(path), geotransform=ds.GetGeoTransform(), projection=ds.GetProjection(), **kw)


def _run_memory(sources, model, **options):
    sinks = []

    def make_sink(spec):
        sinks.append(MemorySink(spec))
        return sinks[-1]

    report = run_apply(sources, model, make_sink, api.ApplyOptions(**options))
    return sinks[0], report


def test_memory_source_and_sink_give_the_geotiff_pixels(tmp_path, x4_model):
    model = api.load_model(x4_model)
    sink, report = _run_memory(_memory(LANDSAT), model, encoding="float32", tile_size=64)
    api.apply(LANDSAT, str(tmp_path / "sr.tif"), model, api.ApplyOptions(encoding="float32", tile_size=64))
    np.testing.assert_array_equal(sink.array, read(tmp_path / "sr.tif"))
    assert sink.spec.geotransform == gdal.Open(str(tmp_path / "sr.tif")).GetGeoTransform()
    assert (report.width, report.height) == (812, 628)


def test_a_failed_run_aborts_the_sink(x4_model):
    model = api.load_model(x4_model)
    source = _memory(LANDSAT)
    sinks = []

    class Broken(MemorySink):
        def write(self, window, array):
            raise api.OutputError("disk full")

    with pytest.raises(api.OutputError):
        run_apply(source, model, lambda spec: sinks.append(Broken(spec)) or sinks[-1], api.ApplyOptions())
    assert sinks[0].aborted and sinks[0].array is None


@pytest.mark.parametrize("tile_size", [16, 48, 128])
def test_two_input_model_is_seam_free_in_memory_and_through_geotiffs(tmp_path, fusion_model, tile_size):
    """10 m B2 B3 B4 B8 and 20 m B5 B6 B7 B8A B11 B12 of one area: six bands out on the 10 m grid."""
    model = api.load_model(fusion_model)
    assert [(i.spec.name, i.spec.factor) for i in model.inputs] == [("fine", 1), ("coarse", 2)]
    reference, _ = _run_memory({"fine": _memory(S2_10M), "coarse": _memory(S2_20M)}, model,
                               encoding="float32", tile_size=512)
    sink, report = _run_memory([_memory(S2_10M), _memory(S2_20M)], model, encoding="float32", tile_size=tile_size)
    np.testing.assert_allclose(sink.array, reference.array, rtol=1e-5, atol=0.02)
    out = tmp_path / "fused.tif"
    api.apply([S2_10M, S2_20M], str(out), model, api.ApplyOptions(encoding="float32", tile_size=tile_size))
    np.testing.assert_allclose(read(out), reference.array, rtol=1e-5, atol=0.02)
    ds, fine = gdal.Open(str(out)), gdal.Open(S2_10M)
    assert (ds.RasterXSize, ds.RasterYSize, ds.RasterCount) == (127, 99, 6)
    assert ds.GetGeoTransform() == fine.GetGeoTransform() and ds.GetProjection() == fine.GetProjection()
    assert [ds.GetRasterBand(i + 1).GetDescription() for i in range(6)] == ["B5", "B6", "B7", "B8A", "B11", "B12"]
    assert report.tiles == -(-127 // tile_size) * -(-99 // tile_size)
    # The fused bands follow the 20 m bands they sharpen: block means stay close to them.
    coarse = read(S2_20M).astype(np.float64)[:49, :63]
    back = reference.array[:98, :126].reshape(49, 2, 63, 2, 6).mean(axis=(1, 3))
    assert np.median(np.abs(back - coarse) / coarse) < 0.05


def test_inputs_on_several_grids_are_mirrored_about_the_scenes_edge_alike(fusion_model):
    """Past the scene's edges, a coarse input and a fine one still cover the same ground: a fine image that is the
    coarse one repeated 2 x 2 reads, in every padded window, as the coarse window repeated 2 x 2 (mirrored about
    the pixels' centres, the two grids would be a fine pixel apart out there)."""
    from sr4rs.geo.windows import Tile, Window
    from sr4rs.inference.engine import read_batch
    from sr4rs.inference.plan import plan_apply

    model = api.load_model(fusion_model)
    coarse = read(S2_20M).astype(np.float32)[:20, :24]
    fine = np.repeat(np.repeat(coarse[..., :4], 2, axis=0), 2, axis=1)
    sources = [MemorySource(fine, geotransform=(0, 10, 0, 0, 0, -10)),
               MemorySource(coarse, geotransform=(0, 20, 0, 0, 0, -20))]
    plan = plan_apply([s.info for s in sources], model, api.ApplyOptions(tile_size=16, pad=8))
    tile = Tile(Window(0, 0, 16, 16), Window(-8, -8, 32, 32))
    batch = read_batch(sources, [tile], plan)
    fine_window, coarse_window = batch.inputs["fine"][0], batch.inputs["coarse"][0]
    np.testing.assert_array_equal(fine_window, np.repeat(np.repeat(coarse_window[..., :4], 2, axis=0), 2, axis=1))


def test_nodata_in_a_coarse_input_masks_the_fine_pixels_it_covers(fusion_model):
    model = api.load_model(fusion_model)
    coarse = read(S2_20M).astype(np.float32)
    coarse[10, 20] = np.nan  # one 20 m pixel, every band
    coarse[30, 5, 2] = np.inf  # one band of another: not finite, never data
    grid = gdal.Open(S2_20M)
    coarse = MemorySource(coarse, geotransform=grid.GetGeoTransform(), projection=grid.GetProjection())
    sink, _ = _run_memory([_memory(S2_10M), coarse], model, encoding="float32", tile_size=32)
    hole = np.zeros((99, 127), bool)
    hole[20:22, 40:42] = hole[60:62, 10:12] = True
    assert np.isnan(sink.array[hole]).all()
    assert np.isfinite(sink.array[~hole]).all()


def test_inputs_on_other_grids_are_refused(fusion_model):
    model = api.load_model(fusion_model)
    with pytest.raises(api.InputError, match="must be 64 x 50"):
        _run_memory([_memory(S2_10M), MemorySource(read(S2_20M)[:40])], model)
    with pytest.raises(api.InputError, match="'<memory>' has no geotransform and no CRS, so its place against "
                       "'<memory>' cannot be checked: give MemorySource its geotransform and projection"):
        _run_memory([_memory(S2_10M), MemorySource(read(S2_20M))], model)  # a coarse array placed nowhere
    with pytest.raises(api.InputError, match="takes 2"):
        _run_memory([_memory(S2_10M)], model)
    with pytest.raises(api.InputError, match="--ts 33 must be a positive multiple of the scale factor 2"):
        _run_memory([_memory(S2_10M), _memory(S2_20M)], model, tile_size=33)


def test_cancel_from_another_thread_stops_within_a_batch_and_leaves_nothing(tmp_path, x4_model):
    """A GUI's cancel button: the run raises Cancelled soon after, and the output folder is empty."""
    model = api.load_model(x4_model)
    scene = os.path.join(ROOT, "examples", "landsat8_rgb_512.tif")
    token, started, outcome = api.CancelToken(), threading.Event(), {}
    done = []

    def progress(n):
        done.append(n)
        if sum(done) > 0:
            started.set()

    def work():
        try:
            api.apply(scene, str(tmp_path / "sr.tif"), model, api.ApplyOptions(tile_size=16, batch_size=1),
                      progress=progress, cancel=token)
            outcome["result"] = "finished"
        except api.Cancelled as err:
            outcome["result"] = f"cancelled: {err}"
            outcome["at"] = time.perf_counter()

    thread = threading.Thread(target=work)
    thread.start()
    assert started.wait(120), "the run never reported progress"
    pixels_when_cancelled = sum(done)
    cancelled_at = time.perf_counter()
    token.cancel()
    thread.join(60)
    assert not thread.is_alive()
    assert outcome["result"].startswith("cancelled"), outcome
    assert pixels_when_cancelled < 512 * 512  # it was mid-scene
    assert outcome["at"] - cancelled_at < 5.0  # within a batch (one 16-pixel tile here), not the scene
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("unit,expected", [(2, 1000), (4, 1000), (6, 1002), (3, 999)])
def test_the_default_tile_splits_the_image_evenly_on_every_factor(unit, expected):
    """A Sentinel-2 tile's 10980 pixels in 11 tiles of about 1000, multiples of the factor (x6 models cannot take
    1024-pixel tiles); a side is never split into more tiles than tiles of 1024 need, nor covered by one more
    grid step per tile than it needs."""
    assert resolve_tile(None, unit, 10980) == expected
    assert resolve_tile(None, unit, 100) == -(-100 // unit) * unit  # no larger than the image needs
    assert resolve_tile(None, unit, 1100) == -(-550 // unit) * unit  # two tiles of about 550, not two of 1024
    for side in (1, 7, 511, 1024, 1025, 2049, 5001, 10980):
        tile = resolve_tile(None, unit, side)
        count = -(-side // tile)
        assert tile % unit == 0 and tile <= max(1024 // unit, 1) * unit
        assert count == -(-side // (max(1024 // unit, 1) * unit))
        assert count * tile - side < count * unit
    with pytest.raises(InputError, match="--ts 512 must be a positive multiple of the scale factor 6"):
        resolve_tile(512, 6, 10980)
