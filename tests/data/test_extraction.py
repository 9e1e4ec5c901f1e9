"""Patch extraction (sr4rs extract), the patches reader and the tf.data pipeline, on the real crops.

LR/HR pairs are made here: the HR image is a test crop, the LR image its GDAL
'average' resampling, so both are georeferenced, aligned, and the block mean of
an HR patch is exactly its LR patch.
"""
import csv
import os

import numpy as np
import pytest
from osgeo import gdal, ogr, osr

from conftest import LANDSAT, RGBN, read, run_cli
from sr4rs.geo.degrade import block_mean, degrade
from sr4rs.errors import InputError, OutputError
from sr4rs.data import extraction as patches_io
from sr4rs.data.extraction import extract_patches, plan_extraction
from sr4rs.io.patches import describe_patches, read_patches

gdal.UseExceptions()


# --- helpers -----------------------------------------------------------------------------------

def _lr(tmp_path, src, factor, name="lr.tif"):
    """``src`` averaged ``factor`` times coarser, float32 so that block means are exact."""
    x0, dx, _, y0, _, dy = gdal.Open(src).GetGeoTransform()
    path = str(tmp_path / name)
    gdal.Warp(path, src, resampleAlg="average", xRes=dx * factor, yRes=-dy * factor, outputType=gdal.GDT_Float32)
    return path


def _copy(tmp_path, src, name, geotransform=None, srs=None, nodata=None):
    """A copy of ``src`` with its geotransform, CRS or nodata tag changed."""
    path = str(tmp_path / name)
    gdal.Translate(path, src)
    ds = gdal.Open(path, gdal.GA_Update)
    if geotransform is not None:
        ds.SetGeoTransform(geotransform)
    if srs is not None:
        ds.SetProjection(srs)
    if nodata is not None:
        for i in range(ds.RasterCount):
            ds.GetRasterBand(i + 1).SetNoDataValue(nodata)
    ds = None
    return path


def _image(path):
    ds = gdal.Open(path)
    return np.moveaxis(ds.ReadAsArray(), 0, -1), ds.GetGeoTransform()


def _centres(path):
    with open(os.path.splitext(path)[0] + ".csv") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def _write_stack(path, patches, nodata=None):
    """An OTBTF patches image written with plain GDAL: (N, P, P, C) stacked into P x N*P."""
    n, p, _, c = patches.shape
    stacked = patches.reshape(n * p, p, c)
    dtype = gdal.GetDataTypeByName({"uint16": "UInt16", "int16": "Int16", "float32": "Float32",
                                    "uint8": "Byte"}[patches.dtype.name])
    ds = gdal.GetDriverByName("GTiff").Create(str(path), p, n * p, c, dtype)
    for b in range(c):
        ds.GetRasterBand(b + 1).WriteArray(stacked[..., b])
        if nodata is not None:
            ds.GetRasterBand(b + 1).SetNoDataValue(nodata)
    ds = None
    return str(path)


def _listing(folder):
    return sorted(os.listdir(folder))


@pytest.fixture(scope="module")
def landsat_pair(tmp_path_factory):
    """Landsat crop (HR, 30 m, untagged 0 fill) and its 60 m average (LR)."""
    folder = tmp_path_factory.mktemp("landsat")
    return _lr(folder, LANDSAT, 2), LANDSAT


@pytest.fixture(scope="module")
def landsat_patches(tmp_path_factory, landsat_pair):
    """The pair cut into 8 px LR patches, split into train/val files."""
    folder = tmp_path_factory.mktemp("patches")
    lr, hr = landsat_pair
    report = extract_patches(lr, hr, str(folder / "lr.tif"), str(folder / "hr.tif"), 8, step=4,
                             nodata=0, val_fraction=0.3, seed=1)
    parts = [(str(folder / f"lr_{p}.tif"), str(folder / f"hr_{p}.tif")) for p in ("train", "val")]
    return report, parts


# --- extraction geometry -----------------------------------------------------------------------

def test_lr_and_hr_patches_cover_the_same_ground(tmp_path, landsat_pair):
    lr_path, hr_path = landsat_pair
    report = extract_patches(lr_path, hr_path, str(tmp_path / "p_lr.tif"), str(tmp_path / "p_hr.tif"), 8, nodata=0)
    assert report.ratio == 2 and report.hr_patch_size == 16 and report.kept > 10
    assert report.kept + sum(report.skipped.values()) == report.candidates
    assert report.skipped["nodata"] > 0  # the crop's fill corner
    lr, hr = read_patches(str(tmp_path / "p_lr.tif")), read_patches(str(tmp_path / "p_hr.tif"))
    assert lr.shape == (report.kept, 8, 8, 3) and hr.shape == (report.kept, 16, 16, 3)
    assert hr.dtype == np.uint16 and lr.dtype == np.float32  # each input's type kept
    # The HR patch brought to the LR grid is the LR patch (the LR image is an average of the HR one).
    np.testing.assert_allclose(np.stack([block_mean(h, 2) for h in hr]), lr, rtol=1e-6)
    lr_img, lr_gt = _image(lr_path)
    hr_img, hr_gt = _image(hr_path)
    lr_rows, hr_rows = _centres(str(tmp_path / "p_lr.tif")), _centres(str(tmp_path / "p_hr.tif"))
    for k, (a, b) in enumerate(zip(lr_rows, hr_rows)):
        assert (a["x"], a["y"]) == pytest.approx((b["x"], b["y"]), abs=1e-6)  # same centre on the ground
        c, r, hc, hrow = int(a["col"]), int(a["row"]), int(b["col"]), int(b["row"])
        assert gdal.ApplyGeoTransform(lr_gt, c + 4, r + 4) == pytest.approx([a["x"], a["y"]])
        assert gdal.ApplyGeoTransform(hr_gt, hc + 8, hrow + 8) == pytest.approx([b["x"], b["y"]])
        np.testing.assert_array_equal(lr[k], lr_img[r:r + 8, c:c + 8])
        np.testing.assert_array_equal(hr[k], hr_img[hrow:hrow + 16, hc:hc + 16])
        assert not np.all(hr[k] == 0, axis=-1).any()
    ds = gdal.Open(str(tmp_path / "p_hr.tif"))
    assert (ds.RasterXSize, ds.RasterYSize) == (16, 16 * report.kept)
    assert ds.GetGeoTransform(can_return_null=True) is None  # patches images carry no geotransform
    assert [ds.GetRasterBand(i + 1).GetDescription() for i in range(3)] == ["B4 red", "B3 green", "B2 blue"]
    assert _listing(tmp_path) == ["p_hr.csv", "p_hr.tif", "p_lr.csv", "p_lr.tif"]


def test_x4_pair_with_overlapping_grid_and_encoding(tmp_path):
    lr_path = _lr(tmp_path, RGBN, 4)
    report = extract_patches(lr_path, RGBN, str(tmp_path / "a.tif"), str(tmp_path / "b.tif"), 6, step=3,
                             encoding="float32")
    lr_ds = gdal.Open(lr_path)
    cols = (lr_ds.RasterXSize - 6) // 3 + 1
    rows = (lr_ds.RasterYSize - 6) // 3 + 1
    assert report.candidates == cols * rows and report.ratio == 4
    # The warp rounds the LR size up: the last LR column is partly off the HR image.
    assert report.skipped == {"outside": report.candidates - report.kept, "nodata": 0}
    hr = read_patches(str(tmp_path / "b.tif"))
    assert hr.dtype == np.float32 and hr.shape[1:] == (24, 24, 4)
    np.testing.assert_allclose(np.stack([block_mean(h, 4) for h in hr]), read_patches(str(tmp_path / "a.tif")),
                               rtol=1e-5)


def test_single_image_wald_mode_degrades_the_hr_image(tmp_path):
    report = extract_patches(None, RGBN, str(tmp_path / "lr.tif"), str(tmp_path / "hr.tif"), 8, factor=4,
                             step=5, encoding="float32")
    assert report.kept == report.candidates and report.ratio == 4 and report.lr_bands == 4
    full, _ = _image(RGBN)
    lr_full = degrade(full, 4)  # the whole image degraded: patches must be cut from it, edges included
    lr, hr = read_patches(str(tmp_path / "lr.tif")), read_patches(str(tmp_path / "hr.tif"))
    for k, row in enumerate(_centres(str(tmp_path / "lr.tif"))):
        c, r = int(row["col"]), int(row["row"])
        np.testing.assert_allclose(lr[k], lr_full[r:r + 8, c:c + 8], rtol=1e-5, atol=1e-3)
        np.testing.assert_array_equal(hr[k], full[4 * r:4 * r + 32, 4 * c:4 * c + 32])


# --- alignment checks ----------------------------------------------------------------------------

def _bad_pair(tmp_path, kind):
    lr = _lr(tmp_path, RGBN, 4)
    x0, dx, _, y0, _, dy = gdal.Open(RGBN).GetGeoTransform()
    if kind == "shifted":
        return lr, _copy(tmp_path, RGBN, "hr.tif", geotransform=(x0 + 0.4 * dx, dx, 0, y0, 0, dy))
    if kind == "crs":
        return lr, _copy(tmp_path, RGBN, "hr.tif", srs="EPSG:32617")
    if kind == "ratio":
        return _lr(tmp_path, RGBN, 2.5, "lr25.tif"), RGBN
    if kind == "swapped":
        return RGBN, lr
    if kind == "same":
        return RGBN, RGBN
    if kind == "apart":
        return lr, _copy(tmp_path, RGBN, "hr.tif", geotransform=(x0 + 1e5, dx, 0, y0, 0, dy))
    raise AssertionError(kind)


@pytest.mark.parametrize("kind,words", [
    ("shifted", ["not aligned", "+0.400 x +0.000 HR pixels", "(+2 x +0 m)"]),
    ("crs", ["UTM zone 18N", "UTM zone 17N", "gdalwarp"]),
    ("ratio", ["ratio is 2.5", "whole number"]),
    ("swapped", ["ratio is 0.25", "swapped"]),
    ("same", ["ratio 1"]),
    ("apart", ["do not overlap"]),
])
def test_misaligned_pairs_are_refused(tmp_path, kind, words):
    lr, hr = _bad_pair(tmp_path, kind)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(InputError) as err:
        extract_patches(lr, hr, str(out / "lr.tif"), str(out / "hr.tif"), 4)
    message = str(err.value)
    assert "\n" not in message
    for word in words:
        assert word in message, message
    assert _listing(out) == []


def test_factor_must_match_the_pair_ratio(tmp_path):
    with pytest.raises(InputError, match="--factor 2 but the images' pixel size ratio is 4"):
        plan_extraction(_lr(tmp_path, RGBN, 4), RGBN, 4, factor=2)


# --- nodata --------------------------------------------------------------------------------------

def test_nodata_patches_are_skipped_by_flag_or_tag(tmp_path, landsat_pair):
    lr, hr = landsat_pair
    untagged = plan_extraction(lr, hr, 8)
    assert untagged.hr_nodata is None  # Landsat's 0 fill is not tagged: nothing skipped without --nodata
    with_flag = extract_patches(lr, hr, str(tmp_path / "a.tif"), str(tmp_path / "b.tif"), 8, nodata=0)
    tagged_hr = _copy(tmp_path, hr, "tagged.tif", nodata=0)
    with_tag = extract_patches(lr, tagged_hr, str(tmp_path / "c.tif"), str(tmp_path / "d.tif"), 8)
    without = extract_patches(lr, hr, str(tmp_path / "e.tif"), str(tmp_path / "f.tif"), 8)
    assert with_flag.skipped["nodata"] == with_tag.skipped["nodata"] > 0
    assert without.skipped["nodata"] == 0 and without.kept > with_flag.kept
    assert gdal.Open(str(tmp_path / "b.tif")).GetRasterBand(1).GetNoDataValue() == 0  # fill value recorded
    for name in ("a.tif", "b.tif", "c.tif", "d.tif"):
        assert not np.all(read_patches(str(tmp_path / name)) == 0, axis=-1).any()


# --- points --------------------------------------------------------------------------------------

def _write_points(path, driver, points, epsg, polygon=False):
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    ds = ogr.GetDriverByName(driver).CreateDataSource(str(path))
    layer = ds.CreateLayer("centres", srs, ogr.wkbPolygon if polygon else ogr.wkbPoint)
    for x, y in points:
        feature = ogr.Feature(layer.GetLayerDefn())
        wkt = f"POLYGON(({x} {y},{x + 1} {y},{x + 1} {y + 1},{x} {y}))" if polygon else f"POINT({x} {y})"
        feature.SetGeometry(ogr.CreateGeometryFromWkt(wkt))
        layer.CreateFeature(feature)
    ds = None
    return str(path)


@pytest.mark.parametrize("driver,name,epsg", [("GeoJSON", "points.geojson", 4326), ("GPKG", "points.gpkg", 32621)])
def test_patches_centred_on_vector_points(tmp_path, landsat_pair, driver, name, epsg):
    lr, hr = landsat_pair
    _, gt = _image(lr)
    wanted = [(2, 60), (20, 62), (5, 70)]  # LR windows (col, row) in valid pixels
    # points on pixel centres: as OTBTF, the patch starts size // 2 pixels before the point's pixel
    utm = [gdal.ApplyGeoTransform(gt, c + 4.5, r + 4.5) for c, r in wanted]
    utm += [gdal.ApplyGeoTransform(gt, 90, 5),  # in the fill corner
            gdal.ApplyGeoTransform(gt, -30, 5)]  # west of both images
    points = utm
    if epsg != 32621:
        image, target = osr.SpatialReference(), osr.SpatialReference()
        image.ImportFromEPSG(32621)
        target.ImportFromEPSG(epsg)
        for s in (image, target):
            s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        transform = osr.CoordinateTransformation(image, target)
        points = [transform.TransformPoint(x, y)[:2] for x, y in utm]
    vector = _write_points(tmp_path / name, driver, points, epsg)
    report = extract_patches(lr, hr, str(tmp_path / "lr.tif"), str(tmp_path / "hr.tif"), 8, points=vector, nodata=0)
    assert (report.candidates, report.kept, report.skipped) == (5, 3, {"outside": 1, "nodata": 1})
    rows = _centres(str(tmp_path / "lr.tif"))
    assert [(int(r["col"]), int(r["row"])) for r in rows] == wanted  # point order kept
    for row, (c, r) in zip(rows, wanted):  # the window's centre: the corner before the point's pixel
        assert (row["x"], row["y"]) == pytest.approx(gdal.ApplyGeoTransform(gt, c + 4, r + 4), abs=0.01)


def test_non_point_layer_is_refused(tmp_path, landsat_pair):
    vector = _write_points(tmp_path / "zones.gpkg", "GPKG", [(750000, -2786000)], 32621, polygon=True)
    with pytest.raises(InputError, match="is a POLYGON, not a point"):
        plan_extraction(*landsat_pair, 8, points=vector)


# --- validation split ----------------------------------------------------------------------------

def test_validation_split(tmp_path, landsat_pair, landsat_patches):
    report, parts = landsat_patches
    assert report.val == round(0.3 * report.kept) and report.train + report.val == report.kept
    centres = [{(r["x"], r["y"]) for r in _centres(lr)} for lr, _ in parts]
    assert len(centres[0]) == report.train and len(centres[1]) == report.val
    assert not centres[0] & centres[1]
    everything = extract_patches(*landsat_pair, str(tmp_path / "all_lr.tif"), str(tmp_path / "all_hr.tif"), 8,
                                 step=4, nodata=0)
    assert {(r["x"], r["y"]) for r in _centres(str(tmp_path / "all_lr.tif"))} == centres[0] | centres[1]
    assert everything.kept == report.kept
    for lr, hr in parts:
        assert len(read_patches(lr)) == len(read_patches(hr))


# --- reader and tf.data pipeline -----------------------------------------------------------------

def test_reader_round_trip_with_a_plain_gdal_patches_image(tmp_path):
    rng = np.random.default_rng(0)
    lr = rng.integers(1, 4000, (5, 7, 7, 3)).astype(np.uint16)
    hr = rng.integers(1, 4000, (5, 14, 14, 3)).astype(np.uint16)
    np.testing.assert_array_equal(read_patches(_write_stack(tmp_path / "lr.tif", lr)), lr)
    _write_stack(tmp_path / "hr.tif", hr)
    d = describe_patches([str(tmp_path / "lr.tif")], [str(tmp_path / "hr.tif")])
    assert (d.count, d.lr_patch_size, d.hr_patch_size, d.ratio, d.lr_bands, d.hr_bands) == (5, 7, 14, 2, 3, 3)
    assert d.dtype == np.uint16
    # The OTBTF layout: patch k is rows k*P..(k+1)*P of the image.
    stacked = gdal.Open(str(tmp_path / "hr.tif")).ReadAsArray()
    np.testing.assert_array_equal(stacked[:, 28:42, :], np.moveaxis(hr[2], -1, 0))


def _collect(ds):
    batches = [(lr.numpy(), hr.numpy()) for lr, hr in ds]
    return np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches]), batches


def test_dataset_in_memory_and_streaming_give_the_same_batches(landsat_patches):
    from sr4rs.data.datasets import make_dataset

    report, parts = landsat_patches
    lr_files, hr_files = [p[0] for p in parts], [p[1] for p in parts]
    lr_all = np.concatenate([read_patches(f) for f in lr_files])
    hr_all = np.concatenate([read_patches(f) for f in hr_files])
    plain = _collect(make_dataset(lr_files, hr_files, 16, shuffle=False, streaming=True))
    np.testing.assert_array_equal(plain[0], lr_all)
    np.testing.assert_array_equal(plain[1], hr_all.astype(np.float32))  # raw values, as float32
    assert plain[2][0][0].dtype == np.float32 and plain[2][0][1].shape == (16, 16, 16, 3)
    memory = _collect(make_dataset(lr_files, hr_files, 16, seed=7))
    streaming = _collect(make_dataset(lr_files, hr_files, 16, seed=7, streaming=True))
    assert len(memory[0]) == report.kept
    assert not np.array_equal(memory[0], lr_all)  # shuffled
    for a, b in zip(memory[2], streaming[2]):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])


def _symmetries(x):
    out = []
    for flip in (False, True):
        for k in range(4):
            y = np.rot90(x, k, axes=(0, 1))
            out.append(y[:, ::-1] if flip else y)
    return out


@pytest.mark.parametrize("streaming", [False, True])
def test_augmentation_applies_the_same_symmetry_to_lr_and_hr(landsat_patches, streaming):
    from sr4rs.data.datasets import make_dataset

    _, parts = landsat_patches
    lr_file, hr_file = parts[0]
    lr0, hr0 = read_patches(lr_file).astype(np.float32), read_patches(hr_file).astype(np.float32)
    lr, hr, _ = _collect(make_dataset(lr_file, hr_file, 32, shuffle=False, augment=True, seed=3,
                                      streaming=streaming))
    used = set()
    for k in range(len(lr0)):
        np.testing.assert_allclose(block_mean(hr[k], 2), lr[k], rtol=1e-6)  # still a consistent pair
        matches = [s for s, (a, b) in enumerate(zip(_symmetries(lr0[k]), _symmetries(hr0[k])))
                   if np.array_equal(a, lr[k]) and np.array_equal(b, hr[k])]
        assert matches, f"patch {k}: LR and HR transformed differently"
        used.add(matches[0])
    assert len(used) >= 4


def test_dataset_repeats_and_batches(landsat_patches):
    from sr4rs.data.datasets import make_dataset

    _, parts = landsat_patches
    ds = make_dataset(parts[1][0], parts[1][1], 4, repeat=True, seed=0, drop_remainder=True)
    shapes = [lr.shape for (lr, _), _ in zip(ds, range(12))]
    assert shapes == [(4, 8, 8, 3)] * 12


def _bad_patch_files(tmp_path, kind):
    rng = np.random.default_rng(1)
    lr = rng.integers(1, 1000, (4, 6, 6, 3)).astype(np.uint16)
    hr = rng.integers(1, 1000, (4, 12, 12, 3)).astype(np.uint16)
    a, b = _write_stack(tmp_path / "a_lr.tif", lr), _write_stack(tmp_path / "a_hr.tif", hr)
    if kind == "file counts":
        return [a, a], [b]
    if kind == "patch counts":
        return [a], [_write_stack(tmp_path / "short_hr.tif", hr[:3])]
    if kind == "not a multiple":
        return [a], [_write_stack(tmp_path / "odd_hr.tif", hr[:, :9, :9])]
    if kind == "ratios":
        return [a, _write_stack(tmp_path / "b_lr.tif", lr[:, :4, :4])], [b, _write_stack(tmp_path / "b_hr.tif", hr)]
    if kind == "bands":
        return [a, _write_stack(tmp_path / "b_lr.tif", lr[..., :2])], [b, b]
    if kind == "empty":
        (tmp_path / "empty_lr.tif").write_bytes(b"")
        return [str(tmp_path / "empty_lr.tif")], [b]
    if kind == "not patches":
        return [_copy(tmp_path, RGBN, "scene_lr.tif")], [b]
    if kind == "all nodata":
        hr[2] = 0
        return [a], [_write_stack(tmp_path / "fill_hr.tif", hr)]
    if kind == "tagged nodata":
        lr[1] = 7
        return [_write_stack(tmp_path / "fill_lr.tif", lr, nodata=7)], [b]
    raise AssertionError(kind)


@pytest.mark.parametrize("kind,words", [
    ("file counts", ["2 LR patches files but 1 HR"]),
    ("patch counts", ["a_lr.tif' holds 4 patches but", "short_hr.tif' holds 3"]),
    ("not a multiple", ["HR patch size 9", "odd_hr.tif", "not a multiple of LR patch size 6"]),
    ("ratios", ["ratio 3", "ratio 2", "b_lr.tif"]),
    ("bands", ["b_lr.tif' has 2 bands", "has 3"]),
    ("empty", ["empty_lr.tif' is empty"]),
    ("not patches", ["scene_lr.tif' is 121 x 95 pixels, not a patches image"]),
])
@pytest.mark.parametrize("streaming", [False, True])
def test_bad_patches_files_are_refused_before_training(tmp_path, kind, words, streaming):
    from sr4rs.data.datasets import make_dataset

    lr_files, hr_files = _bad_patch_files(tmp_path, kind)
    with pytest.raises(InputError) as err:
        make_dataset(lr_files, hr_files, 2, streaming=streaming)
    message = str(err.value)
    assert "\n" not in message
    for word in words:
        assert word in message, message


@pytest.mark.parametrize("kind,skipped", [("all nodata", 2), ("tagged nodata", 1)])
@pytest.mark.parametrize("streaming", [False, True])
def test_all_fill_patch_pairs_are_skipped_and_counted(tmp_path, kind, skipped, streaming):
    """OTBTF's PatchesExtraction writes all-0 patches without a nodata tag: such pairs are left out, not refused."""
    from sr4rs.data.datasets import PatchesDataset

    lr_files, hr_files = _bad_patch_files(tmp_path, kind)
    source = PatchesDataset(lr_files, hr_files, streaming=streaming)
    assert (source.count, source.skipped) == (4 - 1, 1)
    lrs = np.concatenate([lr.numpy() for lr, _ in source.batches(8, shuffle=False)])
    original = read(lr_files[0])
    kept = [k for k in range(4) if k != skipped]
    np.testing.assert_array_equal(lrs, original.reshape(4, -1, original.shape[1], original.shape[2])[kept])


# --- extraction arguments and outputs ------------------------------------------------------------

@pytest.mark.parametrize("kwargs,words", [
    (dict(patch_size=200), ["--patch-size 200 is larger", "30 x 23"]),
    (dict(patch_size=0), ["--patch-size must be a positive integer", "0"]),
    (dict(patch_size=4, step=0), ["--step must be", "received 0"]),
    (dict(patch_size=4, val_fraction=1.0), ["--val-fraction must be in [0, 1)", "1.0"]),
    (dict(patch_size=4, encoding="complex"), ["unknown encoding 'complex'"]),
])
def test_bad_extraction_arguments(tmp_path, kwargs, words):
    with pytest.raises(InputError) as err:
        extract_patches(None, RGBN, str(tmp_path / "a.tif"), str(tmp_path / "b.tif"), factor=4, **kwargs)
    for word in words:
        assert word in str(err.value), str(err.value)
    assert _listing(tmp_path) == []


def test_wald_mode_needs_a_factor_of_at_least_two(tmp_path):
    with pytest.raises(InputError, match="no --lr image and no --factor"):
        plan_extraction(None, RGBN, 4)
    with pytest.raises(InputError, match=r"--factor must be an integer >= 2, received 1"):
        plan_extraction(None, RGBN, 4, factor=1)


def test_existing_outputs_and_inputs_as_outputs_are_refused(tmp_path):
    (tmp_path / "b.csv").write_text("x")
    with pytest.raises(OutputError, match="b.csv' already exists: remove it or pass --overwrite"):
        extract_patches(None, RGBN, str(tmp_path / "a.tif"), str(tmp_path / "b.tif"), 8, factor=4)
    with pytest.raises(OutputError, match="--out-hr '.*rgbn_5m_crop.tif' is --hr .* never writes over its inputs"):
        extract_patches(None, RGBN, str(tmp_path / "a.tif"), RGBN, 8, factor=4, overwrite=True)
    with pytest.raises(OutputError, match="give each output a path of its own"):
        extract_patches(None, RGBN, str(tmp_path / "a.tif"), str(tmp_path / "a.tif"), 8, factor=4)
    # --overwrite replaces what extract wrote, not a file of somebody's that has the name
    with pytest.raises(OutputError, match="b.csv' exists and is not an earlier centres CSV of sr4rs extract"):
        extract_patches(None, RGBN, str(tmp_path / "a.tif"), str(tmp_path / "b.tif"), 8, factor=4, overwrite=True)
    assert (tmp_path / "b.csv").read_text() == "x"
    (tmp_path / "b.csv").unlink()
    for _ in range(2):
        extract_patches(None, RGBN, str(tmp_path / "a.tif"), str(tmp_path / "b.tif"), 8, factor=4, overwrite=True)
    assert _listing(tmp_path) == ["a.csv", "a.tif", "b.csv", "b.tif"]


@pytest.mark.parametrize("where", ["progress", "centres"])
def test_nothing_is_left_behind_on_failure(tmp_path, monkeypatch, where):
    calls = []

    def progress(n):
        calls.append(n)
        if sum(calls) > 50:  # of 2 x 35 steps: in the write pass, after the check pass (35)
            raise KeyboardInterrupt

    if where == "centres":
        def broken(*args):
            raise OutputError("disk full")

        monkeypatch.setattr(patches_io, "_write_centres", broken)
        progress = None
    with pytest.raises((KeyboardInterrupt, OutputError)):
        extract_patches(None, RGBN, str(tmp_path / "a.tif"), str(tmp_path / "b.tif"), 4, factor=4,
                        val_fraction=0.5, progress=progress)
    assert _listing(tmp_path) == []


# --- CLI -----------------------------------------------------------------------------------------

def _cli(*args):
    # -W: ``python -m sr4rs.cli.main`` warns that sr4rs.cli imported main already (runpy), not our concern here.
    return run_cli("-W", "ignore::RuntimeWarning", "-m", "sr4rs.cli.main", "extract", *args)


def test_cli_extracts_with_a_split(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    result = _cli("--hr", RGBN, "--factor", "4", "--patch-size", "8", "--step", "4", "--val-fraction", "0.2",
                  "--out-lr", str(out / "lr.tif"), "--out-hr", str(out / "hr.tif"))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "kept" in result.stderr
    assert _listing(out) == ["hr_train.csv", "hr_train.tif", "hr_val.csv", "hr_val.tif",
                             "lr_train.csv", "lr_train.tif", "lr_val.csv", "lr_val.tif"]
    d = describe_patches([str(out / "lr_train.tif"), str(out / "lr_val.tif")],
                         [str(out / "hr_train.tif"), str(out / "hr_val.tif")])
    assert (d.lr_patch_size, d.hr_patch_size, d.ratio, d.lr_bands) == (8, 32, 4, 4)


@pytest.mark.parametrize("kind,words", [("shifted", ["not aligned"]), ("exists", ["--overwrite"])])
def test_cli_errors_are_one_line(tmp_path, kind, words):
    out = tmp_path / "out"
    out.mkdir()
    if kind == "exists":
        lr, hr = None, RGBN
        (out / "hr.tif").write_bytes(b"keep me")
    else:
        lr, hr = _bad_pair(tmp_path, kind)
    args = ["--lr", lr] if lr else ["--factor", "4"]
    result = _cli(*args, "--hr", hr, "--patch-size", "4", "--out-lr", str(out / "lr.tif"),
                  "--out-hr", str(out / "hr.tif"))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sr4rs extract: error:"), result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr
    assert _listing(out) == (["hr.tif"] if kind == "exists" else [])
