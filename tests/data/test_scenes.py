"""Many scenes into one training set, on real corpus blocks (three Sentinel-2 L2A blocks of two tiles, see
tests/testdata/README.md) and the T18SVG L1C crops: scene lists, the split by scene, and the patches, which are
those each scene gives alone."""
import json
import os

import numpy as np
import pytest
from osgeo import gdal

from conftest import DATA, read, run_cli
from products import make_sentinel2
from sr4rs.errors import InputError
from sr4rs.geo.sampling import random_sampler, split_scenes
from sr4rs.io.patches import read_patches
from sr4rs.io.scenes import name_ids, read_scene_lists

CORPUS = os.path.join(DATA, "corpus", "index.csv")
SCENES = os.path.join(DATA, "scenes.csv")  # the T18SVG crops as one more scene
BLOCKS = ("s2_T29SNB_20171002_x49y25", "s2_T29UPU_20170617_x04y55", "s2_T29UPU_20180225_x39y25")
FUSION_X2 = "B2,B3,B4,B8,B5,B6,B7,B8A,B11,B12"


def _extract(*args):
    return run_cli("-m", "sr4rs.cli.main", "extract", *args, "--no-progress")


def _block(name, res):
    group = {10: "10m_B2B3B4B8", 20: "20m_B5B6B7B8AB11B12", 60: "60m_B1B9"}[res]
    return os.path.join(DATA, "corpus", f"{name}_{group}.tif")


def test_scene_lists_give_each_block_its_groups_finest_first():
    scenes = read_scene_lists([CORPUS, SCENES])
    assert [s.name for s in scenes] == list(BLOCKS) + ["T18SVG_20160112_crop"]
    assert [(s.tile, s.date) for s in scenes[:3]] == [("T29SNB", "2017-10-02"), ("T29UPU", "2017-06-17"),
                                                      ("T29UPU", "2018-02-25")]
    assert scenes[0].files == tuple(_block(BLOCKS[0], r) for r in (10, 20, 60))
    assert scenes[3].files == tuple(os.path.join(DATA, f"s2_{r}_crop.tif") for r in ("10m", "20m", "60m"))
    assert scenes[3].level == "L1C" and scenes[1].key("tile") == "T29UPU" and scenes[1].key("tile-date") == \
        "T29UPU_2017-06-17"


def test_a_list_of_products_reads_tile_and_date_from_their_names(tmp_path):
    product = make_sentinel2(tmp_path, "L2A", "04.00")
    listing = tmp_path / "products.txt"
    listing.write_text(f"# one product per line\n{os.path.basename(product)}\n")
    (scene,) = read_scene_lists([str(listing)])
    assert (scene.tile, scene.date, scene.product) == ("T18SVG", "2016-01-12", True)
    assert name_ids("LC08_L1TP_224078_20200518_20200527_02_T1") == ("224078", "2020-05-18")
    assert name_ids("S2A_L1C_T18SVG_20160112_10m_B2B3B4B8.tif") == ("T18SVG", "2016-01-12")
    (tmp_path / "odd.txt").write_text(f"{product}\n{DATA}/rgbn_5m_crop.tif\n")
    with pytest.raises(InputError, match="row 2: cannot tell the tile and date of 'rgbn_5m_crop.tif'"):
        read_scene_lists([str(tmp_path / "odd.txt")])


def test_scene_list_mistakes_name_the_row(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("tile,date,10m\nT1,2020-01-01,missing.tif\n")
    with pytest.raises(InputError, match="row 2: 'missing.tif' does not exist"):
        read_scene_lists([str(bad)])
    with pytest.raises(InputError, match="listed twice"):
        read_scene_lists([CORPUS, CORPUS])


@pytest.mark.parametrize("seed", range(20))
def test_no_unit_of_the_split_falls_on_both_sides(seed):
    rng = np.random.default_rng(seed)
    tiles = [f"T{t}" for t in rng.integers(0, 6, 40)]
    dates = [f"2020-0{d}" for d in rng.integers(1, 4, 40)]
    for by in ("tile", "tile-date"):
        keys = [t if by == "tile" else f"{t}_{d}" for t, d in zip(tiles, dates)]
        if len(set(keys)) < 2:
            continue
        split = split_scenes(keys, tiles, by=by, val_fraction=0.3, seed=seed)
        assert not set(split.train) & set(split.val) and set(split.train) | set(split.val) == set(keys)
        assert split.val and split.train


def test_named_validation_and_excluded_tiles():
    tiles = ["A", "A", "B", "C", "C"]
    keys = [f"{t}_{d}" for t, d in zip(tiles, (1, 2, 1, 1, 2))]
    split = split_scenes(keys, tiles, by="tile-date", val_tiles=["C"], exclude_tiles=["B"])
    assert split.train == ("A_1", "A_2") and split.val == ("C_1", "C_2") and split.excluded == ("B_1",)
    assert split.side("B_1") is None
    with pytest.raises(InputError, match="--val-tiles names D, which no scene has"):
        split_scenes(keys, tiles, val_tiles=["D"])
    with pytest.raises(InputError, match="no scene is left for training"):
        split_scenes(["A", "B"], ["A", "B"], val_tiles=["A"], exclude_tiles=["B"])
    with pytest.raises(InputError, match="needs at least 2"):
        split_scenes(["A", "A"], ["A", "A"], val_fraction=0.5)


def test_the_random_sampler_weighs_scenes_by_area_and_stays_inside():
    extents = [(60, 60), (300, 60), (10, 10)]
    drawn = list(random_sampler(extents, 30, 2000, seed=1, unit=6))
    assert drawn == list(random_sampler(extents, 30, 2000, seed=1, unit=6))
    counts = np.bincount([s for s, _ in drawn], minlength=3)
    assert counts[2] == 0  # too small for a window
    # positions: 6 x 6 = 36 in the first scene, 46 x 6 = 276 in the second
    assert abs(counts[1] / counts.sum() - 276 / 312) < 0.03
    assert all(w.col_off % 6 == 0 and w.col_off + 30 <= extents[s][0] and w.row_off + 30 <= extents[s][1]
               for s, w in drawn)


def _manifest(folder):
    return json.loads((folder / "patches.json").read_text())


def test_a_fusion_set_of_many_scenes_is_split_by_tile(tmp_path):
    out = tmp_path / "x2"
    proc = _extract("--scenes", CORPUS, "--scenes", SCENES, "--bands", FUSION_X2, "--patch-size", "16", "--step", "8",
                    "--val-tiles", "T29UPU", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "72 val (1 tile: T29UPU)" in proc.stderr
    train, val = _manifest(out / "train"), _manifest(out / "val")
    assert train["split"] == val["split"] == {"by": "tile", "train": ["T18SVG", "T29SNB"], "val": ["T29UPU"],
                                              "excluded": []}
    assert [s["name"] for s in train["scenes"]] == [BLOCKS[0], "T18SVG_20160112_crop"]
    assert [s["name"] for s in val["scenes"]] == list(BLOCKS[1:])
    assert not {s["tile"] for s in train["scenes"]} & {s["tile"] for s in val["scenes"]}
    # 120 x 120 blocks degraded x2: 60 x 60, patches of 16 every 8: 6 x 6 each
    assert [s["count"] for s in val["scenes"]] == [36, 36] and val["count"] == 72
    assert train["inputs"][0]["bands"] == ["B2", "B3", "B4", "B8"] and train["target"]["bands"][-1] == "B12"
    # The second validation scene's patches are those its block gives alone, in the same order.
    alone = tmp_path / "alone"
    proc = _extract("--input", _block(BLOCKS[2], 10), "--input", _block(BLOCKS[2], 20), "--patch-size", "16",
                    "--step", "8", "--out", str(alone))
    assert proc.returncode == 0, proc.stderr
    first = val["scenes"][1]["first"]
    for name in ("input_0.tif", "input_1.tif", "target.tif"):
        np.testing.assert_array_equal(read_patches(str(out / "val" / name))[first:first + 36],
                                      read_patches(str(alone / name)))


def test_an_x6_set_of_scenes_with_phases_and_a_cap(tmp_path):
    out = tmp_path / "x6"
    proc = _extract("--scenes", CORPUS, "--bands", FUSION_X2 + ",B1,B9", "--patch-size", "12", "--step", "6",
                    "--phases", "6", "--split-by", "tile-date", "--val-fraction", "0.34", "--seed", "2",
                    "--max-per-scene", "30", "--exclude-tiles", "T29SNB", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    train, val = _manifest(out / "train"), _manifest(out / "val")
    assert train["split"]["by"] == "tile-date" and train["split"]["excluded"] == ["T29SNB_2017-10-02"]
    assert len(train["scenes"]) == len(val["scenes"]) == 1 and train["phases"] == 6
    assert {train["scenes"][0]["date"], val["scenes"][0]["date"]} == {"2017-06-17", "2018-02-25"}
    assert train["count"] == val["count"] == 30 and "left by --max-per-scene" in proc.stderr
    assert [i["factor"] for i in train["inputs"]] == [1, 2, 6] and train["target"]["bands"] == ["B1", "B9"]


def test_a_wald_set_of_many_scenes_for_a_single_image_model(tmp_path):
    lr, hr = tmp_path / "lr.tif", tmp_path / "hr.tif"
    proc = _extract("--scenes", CORPUS, "--scenes", SCENES, "--bands", "B4,B3,B2,B8", "--factor", "4", "--patch-size",
                    "12", "--step", "6", "--val-tiles", "T18SVG", "--out-lr", str(lr), "--out-hr", str(hr))
    assert proc.returncode == 0, proc.stderr
    ds = gdal.Open(str(tmp_path / "lr_val.tif"))
    record = json.loads(ds.GetMetadataItem("SR4RS_SCENES"))
    assert record["split"]["val"] == ["T18SVG"] and [s["name"] for s in record["scenes"]] == ["T18SVG_20160112_crop"]
    assert [ds.GetRasterBand(i + 1).GetDescription() for i in range(4)] == ["B4", "B3", "B2", "B8"]
    train = json.loads(gdal.Open(str(tmp_path / "hr_train.tif")).GetMetadataItem("SR4RS_SCENES"))
    assert [s["count"] for s in train["scenes"]] == [16, 16, 16]  # 30 x 30 LR pixels: 4 x 4 patches of 12 every 6
    # The T18SVG crop's patches are those of a Wald extraction of its 10 m bands alone.
    single = tmp_path / "one"
    stacked = str(tmp_path / "b4b3b2b8.tif")
    gdal.Translate(stacked, os.path.join(DATA, "s2_10m_crop.tif"), bandList=[3, 2, 1, 4])
    proc = _extract("--hr", stacked, "--factor", "4", "--patch-size", "12", "--step", "6", "--out-lr",
                    f"{single}_lr.tif", "--out-hr", f"{single}_hr.tif")
    assert proc.returncode == 0, proc.stderr
    np.testing.assert_array_equal(read(tmp_path / "lr_val.tif"), read(f"{single}_lr.tif"))
    np.testing.assert_array_equal(read(tmp_path / "hr_val.tif"), read(f"{single}_hr.tif"))


def test_scenes_of_other_bands_are_refused_with_the_fix(tmp_path):
    proc = _extract("--scenes", CORPUS, "--scenes", SCENES, "--patch-size", "12", "--out", str(tmp_path / "s"))
    assert proc.returncode == 1
    assert "scene 'T18SVG_20160112_crop' has bands B2 B3 B4 B8 | B5 B6 B7 B8A B11 B12 | B1 B9 B10" in proc.stderr
    assert "--bands" in proc.stderr and not (tmp_path / "s").exists()
    proc = _extract("--scenes", CORPUS, "--factor", "4", "--patch-size", "12", "--out-lr", str(tmp_path / "l.tif"),
                    "--out-hr", str(tmp_path / "h.tif"))
    assert proc.returncode == 1 and "name them with --bands" in proc.stderr
    proc = _extract("--input", _block(BLOCKS[0], 10), "--input", _block(BLOCKS[0], 20), "--patch-size", "16",
                    "--val-tiles", "T29SNB", "--out", str(tmp_path / "s"))
    assert proc.returncode == 1 and "apply to --scenes" in proc.stderr


def test_patches_drawn_at_random_over_the_scenes_are_patches_of_the_grid(tmp_path):
    common = ["--scenes", CORPUS, "--bands", FUSION_X2 + ",B1,B9", "--patch-size", "12", "--phases", "6", "--seed", "4"]
    drawn, again, grid = tmp_path / "drawn", tmp_path / "again", tmp_path / "grid"
    for out in (drawn, again):
        proc = _extract(*common, "--samples", "60", "--out", str(out))
        assert proc.returncode == 0, proc.stderr
    proc = _extract(*common, "--step", "6", "--out", str(grid))
    assert proc.returncode == 0, proc.stderr
    record = _manifest(drawn)
    assert 40 <= record["count"] <= 60 and len([s for s in record["scenes"] if s["count"]]) == 3  # repeats drawn once
    np.testing.assert_array_equal(read_patches(str(drawn / "target.tif")), read_patches(str(again / "target.tif")))
    # every position at every phase is on the grid of step 6 (the unit): each drawn patch is one of its patches
    cut = {p.tobytes() for p in read_patches(str(grid / "input_2.tif"))}
    targets = {p.tobytes() for p in read_patches(str(grid / "target.tif"))}
    assert all(p.tobytes() in cut for p in read_patches(str(drawn / "input_2.tif")))
    assert all(p.tobytes() in targets for p in read_patches(str(drawn / "target.tif")))


def test_no_output_replaces_a_scene_list(tmp_path):
    listing = tmp_path / "index.csv"
    listing.write_text((open(SCENES).read()).replace("s2_", os.path.join(DATA, "s2_")))
    before = listing.read_text()
    proc = _extract("--scenes", str(listing), "--bands", "B4,B3,B2", "--factor", "2", "--patch-size", "12",
                    "--out-lr", str(tmp_path / "index.tif"), "--out-hr", str(tmp_path / "hr.tif"), "--overwrite")
    assert proc.returncode == 1 and "which this command reads" in proc.stderr
    assert listing.read_text() == before and not (tmp_path / "index.tif").exists()
