"""Bands by name: the default model is chosen by the input's band names, then by its band count; named bands go
into the model in its order, with one line saying so; names that disagree are refused, naming both lists;
evaluate chooses as apply does."""
import os

import numpy as np
import pytest
from osgeo import gdal

from conftest import LANDSAT, RGBN, S2_10M, S2_20M, run_cli
from sr4rs import api
from sr4rs.errors import ModelError
from sr4rs.evaluation.plan import choose_models
from sr4rs.model.bands import keys, order, permutation
from sr4rs.model.bundled import default_model_name


def test_names_match_by_word_and_unpadded_band_number():
    assert keys("B04") & keys("B4") and keys("B4 red") & keys("red") and keys("B4 red") & keys("b4")
    assert not keys("B8A") & keys("B8") and not keys("B1") & keys("B11")
    assert permutation(("B2", "B3", "B4", "B8"), ("B4", "B3", "B2", "B8")) == (2, 1, 0, 3)
    assert permutation(("B02", "B03", "B04"), ("B4 red", "B3 green", "B2 blue")) == (2, 1, 0)
    assert permutation(("band1", "band2", "band3"), ("B4", "B3", "B2")) is None  # unnamed: no order by name
    assert permutation(("nir", "red", "green", "blue"), ("B4", "B3", "B2", "B8")) == (1, 2, 3, 0)  # sensors' names
    assert order(("", "", ""), ("B4", "B3", "B2"), "x", "m").note is None
    assert order(("B4", "B3", "B2"), ("B4 red", "B3 green", "B2 blue"), "x", "m").indexes is None  # same order


def test_names_that_disagree_are_refused_naming_both_lists():
    with pytest.raises(ModelError, match=r"has bands B5, B6, B7, B8A but model m takes B4, B3, B2, B8"):
        order(("B5", "B6", "B7", "B8A"), ("B4", "B3", "B2", "B8"), "'x.tif'", "m")
    with pytest.raises(ModelError, match=r"has bands B2, B3, B4, B5 but model m takes B4, B3, B2, B8"):
        order(("B2", "B3", "B4", "B5"), ("B4", "B3", "B2", "B8"), "'x.tif'", "m")
    # names of another kind (colours against band numbers) are taken in their order, and a line says so
    found = order(("Rouge", "Vert", "Bleu", "PIR"), ("B4", "B3", "B2", "B8"), "'x.tif'", "m")
    assert found.indexes is None and "taken in their order" in found.note


def test_the_default_model_is_chosen_by_names_then_by_count():
    assert default_model_name(4, ("B2", "B3", "B4", "B8")) == "s2-rgbn-x4"
    assert default_model_name(3, ("B2 blue", "B3 green", "B4 red")) == "landsat-rgb-x4"
    assert default_model_name(4, ()) == "s2-rgbn-x4" and default_model_name(3, ()) == "landsat-rgb-x4"
    with pytest.raises(ModelError, match="no bundled model takes 2 band"):
        default_model_name(2, ("B1", "B9"))


def test_apply_puts_b2_b3_b4_b8_in_the_order_of_s2_rgbn_x4_and_says_so_in_one_line(tmp_path):
    """s2_10m_crop.tif holds B2 B3 B4 B8; the model takes B4 B3 B2 B8: the result is that of the bands stacked
    by hand in the model's order."""
    out = tmp_path / "sr.tif"
    proc = run_cli("-m", "sr4rs", "apply", "--input", S2_10M, "--output", str(out), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert any(line.startswith("using the bundled model s2-rgbn-x4") and "by name" in line for line in lines), lines
    said = [line for line in lines if "order" in line]
    assert said == [f"'{S2_10M}': bands B2, B3, B4, B8 read in the order of model s2-rgbn-x4: B4, B3, B2, B8"], lines
    stacked = str(tmp_path / "b4b3b2b8.tif")
    gdal.Translate(stacked, S2_10M, bandList=[3, 2, 1, 4])  # descriptions B4 B3 B2 B8: nothing to reorder
    report = api.apply(stacked, str(tmp_path / "by_hand.tif"), "s2-rgbn-x4")
    assert report.width == 127 * 4
    ds = gdal.Open(str(out))
    assert [ds.GetRasterBand(i + 1).GetDescription() for i in range(4)] == ["B4", "B3", "B2", "B8"]
    np.testing.assert_array_equal(ds.ReadAsArray(), gdal.Open(str(tmp_path / "by_hand.tif")).ReadAsArray())


def test_a_model_given_by_name_takes_the_bands_in_its_order_too(tmp_path):
    checked = api.check_apply(S2_10M, str(tmp_path / "sr.tif"), "s2-rgbn-x4")
    assert len(checked.notes) == 1 and "read in the order of model s2-rgbn-x4" in checked.notes[0]
    assert checked.infos[0].descriptions == ("B4", "B3", "B2", "B8")
    assert api.check_apply(LANDSAT, str(tmp_path / "sr.tif"), "landsat-rgb-x4").notes == ()


def test_bands_that_cannot_be_matched_are_refused_before_any_work(tmp_path):
    wrong = str(tmp_path / "b5b6b7b8a.tif")
    gdal.Translate(wrong, S2_20M, bandList=[1, 2, 3, 4])
    out = tmp_path / "sr.tif"
    proc = run_cli("-m", "sr4rs", "apply", "--input", wrong, "--model", "s2-rgbn-x4", "--output", str(out))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"'{wrong}' has bands B5, B6, B7, B8A but model s2-rgbn-x4 takes B4, B3, B2, B8" in proc.stderr
    assert os.listdir(tmp_path) == ["b5b6b7b8a.tif"]  # nothing written


def test_unnamed_and_other_kinds_of_names_still_go_by_count(tmp_path):
    plain = str(tmp_path / "plain.tif")
    ds = gdal.Translate(plain, S2_10M)
    for i in range(4):
        ds.GetRasterBand(i + 1).SetDescription("")
    ds = None
    assert api.choose_model(plain)[0] == api.bundled_model_path("s2-rgbn-x4")
    assert api.check_apply(plain, str(tmp_path / "sr.tif")).notes[1:] == ()
    # red green blue nir: the names Sentinel-2's description gives B4 B3 B2 B8, in the model's order already
    notes = api.check_apply(RGBN, str(tmp_path / "sr.tif")).notes
    assert len(notes) == 1 and "s2-rgbn-x4" in notes[0] and "by name" in notes[0]
    french = str(tmp_path / "rvbp.tif")
    ds = gdal.Translate(french, RGBN)
    for i, name in enumerate(("Rouge", "Vert", "Bleu", "PIR")):
        ds.GetRasterBand(i + 1).SetDescription(name)
    ds = None
    notes = api.check_apply(french, str(tmp_path / "sr.tif")).notes  # names no sensor knows: by count, in order
    assert "for 4-band inputs" in notes[0] and "taken in their order" in notes[1]


def test_evaluate_chooses_the_default_model_as_apply_does():
    """evaluate took the Landsat model for every image; it takes apply's choice, in the model's band order."""
    for image in (S2_10M, LANDSAT, RGBN):
        info = api.read_info(image)
        models, notes = choose_models(None, info)
        assert models == [api.choose_model(image)[0]] and notes == [api.choose_model(image)[1]]


def test_evaluate_scores_a_b2_b3_b4_b8_image_with_s2_rgbn_x4(tmp_path):
    proc = run_cli("-m", "sr4rs", "evaluate", "--hr", S2_10M, "--nodata", "0", "--no-progress", "--border", "4")
    assert proc.returncode == 0, proc.stderr
    assert "s2-rgbn-x4" in proc.stdout and "using the bundled model s2-rgbn-x4" in proc.stderr
    assert "read in the order of model s2-rgbn-x4: B4, B3, B2, B8" in proc.stderr
    assert [line.split()[0] for line in proc.stdout.splitlines()[2:7]] == \
        ["nearest", "bilinear", "bicubic", "lanczos", "s2-rgbn-x4"]
