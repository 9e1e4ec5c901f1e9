"""scripts/build_corpus.py rebuilds the corpus blocks of tests/testdata/corpus: the tile grid rule on their real
georeferencing always; the whole build, compared file by file, where the two pinned wheels are cached
(SR4RS_CORPUS_CACHE: a folder whose pkgs/ holds them, as scripts/build_corpus.sh leaves it). Nothing is downloaded."""
import csv
import importlib.util
import os
import sys

import numpy as np
import pytest
from osgeo import gdal

from conftest import DATA, ROOT

CORPUS = os.path.join(DATA, "corpus")


def _builder():
    spec = importlib.util.spec_from_file_location("build_corpus", os.path.join(ROOT, "scripts", "build_corpus.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _rows():
    with open(os.path.join(CORPUS, "index.csv"), newline="") as f:
        return list(csv.DictReader(f))


def test_the_tile_grid_rule_places_the_test_blocks_where_their_files_lie():
    build = _builder()
    for row in _rows():
        x, y = (int(v) for v in row["file"].split("_")[3][1:].split("y"))
        epsg, west, north = build.tile_corner(row["tile_or_pathrow"])
        ds = gdal.Open(os.path.join(CORPUS, row["file"]))
        gt = ds.GetGeoTransform()
        assert (gt[0], gt[3], gt[1]) == (west + 1200 * x, north - 1200 * y, float(row["res_m"]))
        assert int(ds.GetSpatialRef().GetAuthorityCode(None)) == epsg == int(row["epsg"])


def test_blocks_are_the_greedy_rectangles_of_touching_patches():
    build = _builder()
    cells = {(1, 0), (2, 0), (1, 1), (2, 1), (3, 1), (5, 5)}
    assert build.rectangles(cells) == [(1, 0, 2, 2), (3, 1, 1, 1), (5, 5, 1, 1)]


def _cache():
    cache = os.environ.get("SR4RS_CORPUS_CACHE")
    if not cache or not os.path.isdir(os.path.join(cache, "pkgs")):
        pytest.skip("the corpus wheels are not cached: run bash scripts/build_corpus.sh DIR once, then set "
                    "SR4RS_CORPUS_CACHE=DIR/.cache (the test downloads nothing)")
    return cache


def test_the_build_gives_the_test_blocks_pixel_for_pixel(tmp_path):
    build = _builder()
    line = build.build(str(tmp_path), _cache())
    assert "117 GeoTIFFs = 39 Sentinel-2 blocks" in line and "23 tile-dates, 16 tiles, 6 countries" in line
    with open(tmp_path / "index.csv", newline="") as f:
        built = {r["file"]: r for r in csv.DictReader(f)}
    for row in _rows():
        assert built[row["file"]] == row
        ours, theirs = gdal.Open(str(tmp_path / row["file"])), gdal.Open(os.path.join(CORPUS, row["file"]))
        np.testing.assert_array_equal(ours.ReadAsArray(), theirs.ReadAsArray())
        assert ours.GetGeoTransform() == theirs.GetGeoTransform()
        assert ours.GetSpatialRef().IsSame(theirs.GetSpatialRef())
        assert ours.GetMetadata() == theirs.GetMetadata()
        assert [ours.GetRasterBand(i + 1).GetDescription() for i in range(ours.RasterCount)] == row["bands"].split()
