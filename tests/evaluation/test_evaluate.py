"""``evaluate`` and ``sr4rs evaluate`` on real Landsat 8 crops, by Wald's protocol."""
import csv
import dataclasses
import json
import os

import numpy as np
import pytest
from osgeo import gdal
from PIL import Image

from conftest import LANDSAT, ROOT, read, run_cli
from sr4rs.evaluation import metrics
from sr4rs.geo.degrade import degrade
from sr4rs.errors import InputError, OutputError
from sr4rs.api import evaluate, format_table, plan_evaluation

SCENE = os.path.join(ROOT, "examples", "landsat8_rgb_512.tif")
METHODS = ["nearest", "bilinear", "bicubic", "lanczos", "x4"]


@pytest.fixture(scope="module")
def hr_crop(tmp_path_factory):
    """A 128 x 128 HR crop of the example scene (32 x 32 LR pixels at x4): seconds, not minutes."""
    path = str(tmp_path_factory.mktemp("hr") / "hr128.tif")
    gdal.Translate(path, SCENE, srcWin=[192, 160, 128, 128])
    return path


@pytest.fixture(scope="module")
def wald(tmp_path_factory, hr_crop, x4_model):
    out = str(tmp_path_factory.mktemp("evaluation"))
    steps = []
    # block_rows=5: several statistics blocks, so block-wise sums are checked against whole arrays.
    result = evaluate([x4_model], [hr_crop], out_dir=out, keep_images=True, block_rows=5, progress=steps.append)
    return result, out, steps


def _direct_bicubic(tmp_path, hr_path, factor=4):
    """The bicubic row made independently: degrade with numpy, upsample with gdal.Translate."""
    hr = read(hr_path).astype(np.float64)
    lr = degrade(hr, factor)
    src = gdal.Open(hr_path)
    x0, dx, rx, y0, ry, dy = src.GetGeoTransform()
    lr_path, up_path = str(tmp_path / "lr.tif"), str(tmp_path / "bicubic.tif")
    ds = gdal.GetDriverByName("GTiff").Create(lr_path, lr.shape[1], lr.shape[0], 3, gdal.GDT_Float32)
    ds.SetGeoTransform((x0, dx * factor, rx, y0, ry, dy * factor))
    ds.SetProjection(src.GetProjection())
    ds.WriteArray(np.moveaxis(lr, -1, 0))
    ds = None
    gdal.Translate(up_path, lr_path, width=lr.shape[1] * factor, height=lr.shape[0] * factor,
                   resampleAlg="cubic", outputType=gdal.GDT_Float32)
    return hr, lr, read(up_path).astype(np.float64)


def test_reports_and_panel_are_written(wald, hr_crop, x4_model):
    result, out, steps = wald
    assert [m.name for m in result.methods] == METHODS
    assert result.json_path == os.path.join(out, "evaluation.json")
    data = json.load(open(result.json_path))
    assert data["protocol"] == "wald" and data["border"] == 16
    assert [m["name"] for m in data["methods"]] == METHODS
    assert [b["band"] for b in data["methods"][2]["bands"]] == ["B4 red", "B3 green", "B2 blue"]
    rows = list(csv.DictReader(open(result.csv_path)))
    assert len(rows) == len(METHODS) * 4  # overall + 3 bands per method
    bicubic = next(r for r in rows if r["method"] == "bicubic" and r["band"] == "all")
    assert float(bicubic["psnr"]) == pytest.approx(result.method("bicubic").scores.psnr.overall)
    panel = Image.open(result.panels[0])
    assert panel.size[0] >= 4 * 256 and panel.size[1] > 256  # LR, bicubic, x4, HR
    # Progress: Wald LR, then the four baselines and the model, each output and its statistics,
    # 32 x 32 LR pixels each.
    assert sum(steps) == 11 * 32 * 32 == plan_evaluation([x4_model], [hr_crop]).work
    assert len(steps) > 7  # the baselines report as GDAL upsamples, not once at the end
    table = format_table(result)
    assert all(name in table for name in METHODS) and "PSNR" in table


def test_bicubic_row_equals_direct_metrics(wald, tmp_path):
    result, out, _ = wald
    hr, lr, bicubic = _direct_bicubic(tmp_path, result.scenes[0].hr)
    kept_lr = read(os.path.join(out, "images", "hr128_lr.tif"))
    np.testing.assert_allclose(kept_lr, lr, rtol=1e-6)  # the Wald LR made strip by strip is degrade's
    mask = metrics.evaluation_mask(np.ones(hr.shape[:2], bool), 16)
    direct = metrics.compare(hr, bicubic, 4, mask, metrics.data_range(hr))
    row = result.method("bicubic")
    assert row.scores.pixels == direct.pixels == 96 * 96
    for name in ("psnr", "ssim", "rmse"):
        assert getattr(row.scores, name).bands == pytest.approx(getattr(direct, name).bands, rel=1e-6)
    assert row.scores.sam == pytest.approx(direct.sam, rel=1e-6)
    assert row.scores.ergas == pytest.approx(direct.ergas, rel=1e-6)
    lr_mask = mask.reshape(32, 4, 32, 4).all(axis=(1, 3))
    consistency = metrics.consistency(bicubic, lr, 4, lr_mask)
    assert row.consistency.reflectance.bands == pytest.approx(consistency.reflectance.bands, rel=1e-5)
    assert row.consistency.spectral == pytest.approx(consistency.spectral, rel=1e-4)
    assert row.consistency.spatial.magnitude == pytest.approx(consistency.spatial.magnitude, abs=0.01)


def test_figures_rank_as_expected(wald):
    """Nearest reproduces its LR exactly; interpolation beats nearest; the test model is near bicubic."""
    result, _, _ = wald
    nearest, bicubic, model = (result.method(n) for n in ("nearest", "bicubic", "x4"))
    assert nearest.consistency.reflectance.overall < 1e-6 * 7000 and nearest.consistency.spatial.magnitude == 0
    assert bicubic.scores.psnr.overall > nearest.scores.psnr.overall
    assert abs(model.scores.psnr.overall - bicubic.scores.psnr.overall) < 1.0
    assert all(np.isfinite([m.scores.ssim.overall, m.scores.ergas, m.consistency.spectral]).all()
               for m in result.methods)


def test_nodata_fill_is_left_out(tmp_path, x4_model):
    """The Landsat crop's untagged 0 fill, declared with nodata=0, counts nowhere."""
    result = evaluate([x4_model], [LANDSAT], out_dir=str(tmp_path), nodata=0, keep_images=True, block_rows=6)
    hr = read(LANDSAT).astype(np.float64)[:156, :200]  # 157 x 203 -> 39 x 50 LR pixels
    lr = read(tmp_path / "images" / "landsat8_rgb_crop_lr.tif")
    assert gdal.Open(str(tmp_path / "images" / "landsat8_rgb_crop_lr.tif")).GetRasterBand(1).GetNoDataValue() == 0
    lr_valid = metrics.valid_pixels(lr, 0)
    assert not lr_valid[0, -1] and lr_valid[-1, 0]  # fill top right, data bottom left
    valid = metrics.valid_pixels(hr, 0) & np.repeat(np.repeat(lr_valid, 4, 0), 4, 1)
    mask = metrics.evaluation_mask(valid, 16)
    assert 0 < mask.sum() < 0.5 * mask.size
    for row in result.methods:
        assert row.scores.pixels == mask.sum()
        assert np.isfinite(row.scores.psnr.overall) and row.scores.psnr.overall > 15
    bicubic = read(tmp_path / "images" / "landsat8_rgb_crop_02_bicubic.tif").astype(np.float64)
    full = read(LANDSAT)
    direct = metrics.compare(hr, bicubic, 4, mask, metrics.data_range(full, metrics.valid_pixels(full, 0)))
    assert result.method("bicubic").scores.rmse.bands == pytest.approx(direct.rmse.bands, rel=1e-6)
    assert result.method("bicubic").scores.ssim.overall == pytest.approx(direct.ssim.overall, rel=1e-6)
    assert result.data_range == pytest.approx(tuple(metrics.data_range(full, metrics.valid_pixels(full, 0))))


def test_cli_prints_a_table(tmp_path, hr_crop, x4_model):
    out = tmp_path / "out"
    proc = run_cli("-m", "sr4rs.cli.main", "evaluate", "--savedmodel", x4_model, "--hr", hr_crop,
                   "--out", str(out), "--panel-window", "4", "4", "16", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert "bicubic" in proc.stdout and "PSNR" in proc.stdout and "x4" in proc.stdout
    assert sorted(os.listdir(out)) == ["evaluation.csv", "evaluation.json", "panel.png"]
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("args,message", [
    (["--hr", "missing.tif"], "does not exist"),
    (["--hr", LANDSAT, "--hr", LANDSAT, "--lr", LANDSAT], "2 --hr image(s) but 1 --lr"),
])
def test_cli_bad_input_is_one_line(tmp_path, args, message):
    proc = run_cli("-m", "sr4rs.cli.main", "evaluate", "--savedmodel", str(tmp_path / "no-model"), *args,
                   "--no-progress")
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and lines[0].startswith("sr4rs evaluate: error:")


def test_bad_settings_are_refused_before_computing(wald, hr_crop, x4_model, tmp_path):
    from sr4rs import load_model

    model = load_model(x4_model)
    _, out, _ = wald
    with pytest.raises(OutputError, match="--overwrite"):
        evaluate([model], [hr_crop], out_dir=out)
    with pytest.raises(InputError, match=r"--panel-window 20 0 16 does not fit .* \(32 x 32 pixels\)"):
        evaluate([model], [hr_crop], out_dir=str(tmp_path), panel_window=(20, 0, 16))
    with pytest.raises(InputError, match="--border 64"):
        evaluate([model], [hr_crop], border=64)
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- true LR/HR pairs


def test_a_pair_with_walds_lr_scores_as_walds_protocol(wald, x4_model, tmp_path):
    """Given as a true pair, the LR image Wald's protocol made gives the same figures."""
    result, out, _ = wald
    lr_path = os.path.join(out, "images", "hr128_lr.tif")
    pair = evaluate([x4_model], [result.scenes[0].hr], [lr_path], out_dir=str(tmp_path))
    assert json.load(open(pair.json_path))["protocol"] == "pairs"
    for name in METHODS:
        mine, theirs = pair.method(name), result.method(name)
        assert mine.scores.pixels == theirs.scores.pixels == 96 * 96
        assert mine.scores.psnr.bands == pytest.approx(theirs.scores.psnr.bands, rel=1e-9)
        assert mine.scores.sam == pytest.approx(theirs.scores.sam, rel=1e-9)
        assert mine.consistency.reflectance.overall == pytest.approx(theirs.consistency.reflectance.overall,
                                                                     rel=1e-9, abs=1e-9)


def _pair_lr(tmp_path, hr_path, name="lr.tif", **changes):
    """A true pair's LR side: the HR crop block-averaged by 4 with GDAL (not Wald's blur)."""
    path = str(tmp_path / name)
    gdal.Translate(path, hr_path, width=32, height=32, resampleAlg="average", outputType=gdal.GDT_Float32)
    ds = gdal.Open(path, gdal.GA_Update)
    if "shift" in changes:  # move the origin by whole LR pixels
        x0, dx, rx, y0, ry, dy = ds.GetGeoTransform()
        ds.SetGeoTransform((x0 + changes["shift"] * dx, dx, rx, y0, ry, dy))
    if "epsg" in changes:
        from osgeo import osr
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(changes["epsg"])
        ds.SetProjection(srs.ExportToWkt())
    ds = None
    return path


def test_true_pair_bicubic_row_equals_direct_metrics(hr_crop, tmp_path):
    lr_path = _pair_lr(tmp_path, hr_crop)
    result = evaluate([], [hr_crop], [lr_path], baselines=("bicubic",), data_range=10000)
    hr = read(hr_crop).astype(np.float64)
    up = str(tmp_path / "up.tif")
    gdal.Translate(up, lr_path, width=128, height=128, resampleAlg="cubic", outputType=gdal.GDT_Float32)
    mask = metrics.evaluation_mask(np.ones(hr.shape[:2], bool), 16)
    direct = metrics.compare(hr, read(up).astype(np.float64), 4, mask, np.full(3, 10000.0))
    row = result.method("bicubic")
    assert result.data_range == (10000.0,) * 3
    assert row.scores.psnr.bands == pytest.approx(direct.psnr.bands, rel=1e-6)
    assert row.scores.ssim.overall == pytest.approx(direct.ssim.overall, rel=1e-6)
    # Block averaging is no blur: the pair differs from Wald's LR, and so do the figures.
    assert not np.allclose(read(lr_path), degrade(hr, 4), rtol=1e-3)


@pytest.mark.parametrize("changes,message", [
    ({"epsg": 32631}, "reproject one onto the other"),
    ({"shift": 2}, "same upper-left corner"),
])
def test_misregistered_pairs_are_refused(hr_crop, tmp_path, changes, message):
    lr_path = _pair_lr(tmp_path, hr_crop, **changes)
    with pytest.raises(InputError, match=message):
        evaluate([], [hr_crop], [lr_path])
    assert sorted(os.listdir(tmp_path)) == ["lr.tif"]


def test_pairs_lacking_a_crs_or_a_georeferencing_are_refused(hr_crop, tmp_path):
    lr_path = _pair_lr(tmp_path, hr_crop)
    ds = gdal.Open(lr_path, gdal.GA_Update)
    ds.SetProjection("")  # an LR with a geotransform but no CRS
    ds = None
    with pytest.raises(InputError, match=r"lr.tif' has no CRS but HR .* is in .*EPSG:\d+.*gdal_edit.py -a_srs"):
        evaluate([], [hr_crop], [lr_path])
    hr_no_crs = str(tmp_path / "hr_no_crs.tif")
    gdal.Translate(hr_no_crs, hr_crop)
    ds = gdal.Open(hr_no_crs, gdal.GA_Update)
    ds.SetProjection("")
    ds = None
    bare = str(tmp_path / "bare.tif")  # no CRS, no geotransform
    pixels = read(lr_path)
    ds = gdal.GetDriverByName("GTiff").Create(bare, 32, 32, 3, gdal.GDT_Float32)
    ds.WriteArray(np.moveaxis(pixels, -1, 0))
    ds = None
    with pytest.raises(InputError, match="hr_no_crs.tif' is georeferenced but .*bare.tif' is not"):
        evaluate([], [hr_no_crs], [bare])


def test_pair_size_and_bands_are_checked(hr_crop, tmp_path):
    small = str(tmp_path / "small.tif")
    gdal.Translate(small, hr_crop, width=100, height=100)
    with pytest.raises(InputError, match="pixel size ratio is 1.28 in x .* a whole number of times"):
        evaluate([], [hr_crop], [small])
    # Without georeferencing, pairs are matched by their sizes.
    bare_hr, bare_lr = str(tmp_path / "bare_hr.tif"), str(tmp_path / "bare_lr.tif")
    for src, dst in ((hr_crop, bare_hr), (small, bare_lr)):
        ds = gdal.GetDriverByName("GTiff").Create(dst, *gdal.Open(src).ReadAsArray().shape[:0:-1], 3, gdal.GDT_UInt16)
        ds.WriteArray(gdal.Open(src).ReadAsArray())
        ds = None
    with pytest.raises(InputError, match="not 2 or more times the size"):
        evaluate([], [bare_hr], [bare_lr])
    one_band = str(tmp_path / "one.tif")
    gdal.Translate(one_band, _pair_lr(tmp_path, hr_crop), bandList=[1])
    with pytest.raises(InputError, match="has 3 band.s. but LR .* 1"):
        evaluate([], [hr_crop], [one_band])


def test_cli_data_range_sets_the_psnr_peak(tmp_path, hr_crop):
    lr_path = _pair_lr(tmp_path, hr_crop)
    out = tmp_path / "out"
    proc = run_cli("-m", "sr4rs.cli.main", "evaluate", "--hr", hr_crop, "--lr", lr_path, "--data-range",
                   "10000", "20000", "30000", "--out", str(out), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    data = json.load(open(out / "evaluation.json"))
    assert data["data_range"] == [10000, 20000, 30000]
    proc = run_cli("-m", "sr4rs.cli.main", "evaluate", "--hr", hr_crop, "--lr", lr_path, "--data-range",
                   "1", "2", "--no-progress")
    assert proc.returncode != 0 and "--data-range" in proc.stderr and "Traceback" not in proc.stderr


def test_one_output_at_a_time_on_disk(hr_crop, x4_model, tmp_path, monkeypatch):
    """Whole scenes make large float32 outputs: each is scored and removed before the next is made."""
    import sr4rs.evaluation.run as ev

    seen, produce = [], ev._produce

    def spy(scene, index, method, lr_path, folder, *args):
        seen.append(sorted(os.listdir(folder)))
        return produce(scene, index, method, lr_path, folder, *args)

    monkeypatch.setattr(ev, "_produce", spy)
    result = evaluate([x4_model], [hr_crop], out_dir=str(tmp_path / "out"))
    assert seen == [["hr128_lr.tif"]] * len(METHODS)
    assert [m.name for m in result.methods] == METHODS
    assert sorted(os.listdir(tmp_path / "out")) == ["evaluation.csv", "evaluation.json", "panel.png"]


def test_too_little_scratch_space_is_refused_before_computing(hr_crop, tmp_path, monkeypatch):
    import shutil

    import sr4rs.evaluation.run as ev

    usage = shutil.disk_usage(tmp_path)
    # The 128 x 128 x 3 crop at x4: a 32 x 32 Wald LR and one 128 x 128 output, float32.
    need = (32 * 32 + 128 * 128) * 3 * 4
    monkeypatch.setattr(ev.shutil, "disk_usage", lambda path: usage._replace(free=need - 8000))
    with pytest.raises(OutputError, match=r"needs up to 0.2 MB of scratch images .* but only 0.2 MB are free "
                                          r"\(8.0 kB short\): free some space"):
        evaluate([], [hr_crop], out_dir=str(tmp_path / "out"), factor=4)
    assert os.listdir(tmp_path / "out") == []
    monkeypatch.setattr(ev.shutil, "disk_usage", lambda path: usage._replace(free=need))
    evaluate([], [hr_crop], out_dir=str(tmp_path / "out"), factor=4)


# --------------------------------------------------------------------------- LR images alone


def test_lr_alone_gives_the_pairs_consistency_figures(hr_crop, x4_model, tmp_path):
    """Without a reference, the consistency of each method with its LR image is what the same LR
    image, given as a true pair, gives (same outputs, same border)."""
    lr_path = _pair_lr(tmp_path, hr_crop)
    pair = evaluate([x4_model], [hr_crop], [lr_path])
    alone = evaluate([x4_model], [], [lr_path], out_dir=str(tmp_path / "out"))
    assert not alone.reference and [m.name for m in alone.methods] == METHODS
    for name in METHODS:
        a, p = alone.method(name).consistency, pair.method(name).consistency
        assert a.pixels == p.pixels == 24 * 24  # 32 x 32 LR pixels less a 4-pixel border (16 HR pixels)
        assert a.reflectance.bands == pytest.approx(p.reflectance.bands, rel=1e-5)  # float32 outputs
        assert a.spectral == pytest.approx(p.spectral, rel=1e-5, abs=1e-9)
        assert a.spatial.magnitude == pytest.approx(p.spatial.magnitude, abs=1e-4)
        assert alone.method(name).scores.pixels == 0 and np.isnan(alone.method(name).scores.psnr.overall)
    assert alone.method("nearest").consistency.reflectance.overall < 1e-3  # nearest averages back to LR
    data = json.load(open(alone.json_path))
    assert data["protocol"] == "consistency" and data["methods"][0]["psnr"] is None
    assert sorted(os.listdir(tmp_path / "out")) == ["evaluation.csv", "evaluation.json", "panel.png"]
    table = format_table(alone)
    assert "PSNR" not in table and "no reference" in table


def test_cli_lr_alone(tmp_path):
    proc = run_cli("-m", "sr4rs.cli.main", "evaluate", "--lr", LANDSAT, "--nodata", "0", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert "no reference" in proc.stdout and "bicubic" in proc.stdout and "landsat-rgb-x4" in proc.stdout
    proc = run_cli("-m", "sr4rs.cli.main", "evaluate", "--lr", LANDSAT, "--data-range", "10000", "--no-progress")
    assert proc.returncode != 0 and "need --hr" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli("-m", "sr4rs.cli.main", "evaluate", "--no-progress")
    assert proc.returncode != 0 and "no image given" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


# --------------------------------------------------------------------------- degradations and operators


def test_degradation_gives_one_row_per_method_and_blur(hr_crop, tmp_path):
    """--degradation 0,0.5: the references degraded by plain block means and by a Gaussian of 0.5 x factor;
    each row is what degrading and upsampling by hand gives, and a blurrier LR scores lower."""
    result = evaluate([], [hr_crop], out_dir=str(tmp_path / "out"), factor=4, baselines=("bicubic",), blurs=[0, 0.5])
    assert [m.name for m in result.methods] == ["bicubic @blur 0", "bicubic @blur 0.5"]
    assert [s.name for s in result.scenes] == ["hr128_blur0", "hr128_blur0.5"]
    sharp, blurred = result.methods
    assert (sharp.blur, blurred.blur) == (0.0, 0.5)
    assert sharp.scores.psnr.overall > blurred.scores.psnr.overall + 0.5
    hr = read(hr_crop).astype(np.float64)
    lr = degrade(hr, 4, sigma=0)
    upsampled = _upsample_like(tmp_path, hr_crop, lr)
    mask = metrics.evaluation_mask(np.ones(hr.shape[:2], bool), 16)
    direct = metrics.compare(hr, upsampled, 4, mask, metrics.data_range(hr))
    assert sharp.scores.psnr.bands == pytest.approx(direct.psnr.bands, rel=1e-6)
    data = json.load(open(result.json_path))
    assert [m["blur"] for m in data["methods"]] == [0.0, 0.5]
    rows = list(csv.DictReader(open(result.csv_path)))
    assert {r["blur"] for r in rows if r["scene"] == "all"} == {"0.0", "0.5"}
    assert "bicubic @blur 0.5" in format_table(result)


def _upsample_like(tmp_path, hr_path, lr, factor=4):
    src = gdal.Open(hr_path)
    x0, dx, rx, y0, ry, dy = src.GetGeoTransform()
    lr_path, up_path = str(tmp_path / "lr_direct.tif"), str(tmp_path / "up_direct.tif")
    ds = gdal.GetDriverByName("GTiff").Create(lr_path, lr.shape[1], lr.shape[0], lr.shape[2], gdal.GDT_Float32)
    ds.SetGeoTransform((x0, dx * factor, rx, y0, ry, dy * factor))
    ds.SetProjection(src.GetProjection())
    ds.WriteArray(np.moveaxis(lr, -1, 0))
    ds = None
    gdal.Translate(up_path, lr_path, width=lr.shape[1] * factor, height=lr.shape[0] * factor,
                   resampleAlg="cubic", outputType=gdal.GDT_Float32)
    return read(up_path).astype(np.float64)


def test_consistency_operators_differ_and_are_both_reported(wald):
    """Nearest is exactly block-consistent (each block repeats its LR pixel) but not under opensr-test's
    triangle filter, which mixes neighbouring blocks; the table shows the operator chosen."""
    result, out, _ = wald
    nearest = result.method("nearest")
    assert nearest.consistency.reflectance.overall < 1e-3
    assert nearest.consistency_bilinear.reflectance.overall > 100 * max(nearest.consistency.reflectance.overall, 1e-3)
    data = json.load(open(os.path.join(out, "evaluation.json")))
    assert data["methods"][0]["reflectance_bilinear"] == pytest.approx(nearest.consistency_bilinear.reflectance.overall)
    assert "opensr-test's operator" in format_table(dataclasses.replace(result, operator="bilinear"))


@pytest.mark.parametrize("args,message", [
    (["--degradation", "0,3"], "--degradation 3 is out of range"),
    (["--degradation", "a,b"], "not a comma-separated list"),
    (["--consistency-operator", "gauss"], "invalid choice"),
])
def test_cli_degradation_and_operator_checks(tmp_path, hr_crop, args, message):
    proc = run_cli("-m", "sr4rs.cli.main", "evaluate", "--hr", hr_crop, "--scale", "4", "--no-progress", *args)
    assert proc.returncode != 0 and message in proc.stderr and "Traceback" not in proc.stderr


def test_cli_degradation_table(tmp_path, hr_crop):
    proc = run_cli("-m", "sr4rs.cli.main", "evaluate", "--hr", hr_crop, "--savedmodel", os.path.join(
        ROOT, "sr4rs", "model", "bundled", "landsat-rgb-x4"), "--degradation", "0,0.33",
        "--consistency-operator", "bilinear", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert "landsat-rgb-x4 @blur 0.33" in proc.stdout and "bicubic @blur 0" in proc.stdout
    assert "opensr-test's operator" in proc.stdout
