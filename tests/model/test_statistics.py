"""The statistics a model records of its training data, and the one-line warning ``apply`` and ``evaluate`` print
when an input is far from them: on real pixels (corpus blocks of tests/testdata/corpus, Landsat 8 Level-1 digital
numbers, the T18SVG L1C crop), never a refusal."""
import json
import os

import numpy as np
import pytest
from osgeo import gdal

from conftest import DATA, run_cli
from sr4rs.api import read_metadata, warn_inputs
from sr4rs.geo.radiometry import envelope, out_of_range, percentiles
from sr4rs.io.statistics import sample_pixels

CORPUS = os.path.join(DATA, "corpus")
UPU = [os.path.join(CORPUS, f"s2_T29UPU_{b}_10m_B2B3B4B8.tif") for b in ("20170617_x04y55", "20180225_x39y25")]
SNB = os.path.join(CORPUS, "s2_T29SNB_20171002_x49y25_10m_B2B3B4B8.tif")
LANDSAT_DN = os.path.join(DATA, "landsat8_l1_ms_crop.tif")  # B4 B3 B2, Level-1 digital numbers


def _bgr(path):
    """B4 B3 B2 of a Sentinel-2 10 m file (B2 B3 B4 B8) as pixels."""
    return sample_pixels(path)[:, [2, 1, 0]]


def _shifted(tmp_path, path, offset):
    """The B4 B3 B2 of ``path`` with ``offset`` added to every value: an L2A product whose offset was not removed."""
    out = str(tmp_path / f"offset_{os.path.basename(path)}")
    ds = gdal.Translate(out, path, bandList=[3, 2, 1])
    for i in range(3):
        band = ds.GetRasterBand(i + 1)
        band.WriteArray(band.ReadAsArray().astype(np.int32) + offset)
    ds = None
    return out


@pytest.fixture(scope="module")
def record():
    return envelope([percentiles(_bgr(p)) for p in UPU], ["B4", "B3", "B2"])


def test_inputs_like_the_training_data_pass_and_others_are_named(record, tmp_path):
    assert out_of_range(record, percentiles(_bgr(SNB))) is None  # L2A, another tile and season
    assert out_of_range(record, percentiles(_bgr(os.path.join(DATA, "s2_10m_crop.tif")))) is None  # L1C, T18SVG
    reason = out_of_range(record, percentiles(sample_pixels(LANDSAT_DN)), ["L2A"])
    assert "B4 B3 B2 far from" in reason and "digital numbers (Level-1 DN) given to a model trained on reflectance" \
        in reason and "(trained on L2A)" in reason
    reason = out_of_range(record, percentiles(sample_pixels(_shifted(tmp_path, SNB, 1000))))
    assert "shifted by about +" in reason and "an offset not removed" in reason
    reflectance = sample_pixels(SNB)[:, [2, 1, 0]] / 10000  # 0-1 reflectance to a model of reflectance x 10000
    assert "reflectance of 0-1 given to a model trained on reflectance x 10000" in \
        out_of_range(record, percentiles(reflectance))


def test_models_without_statistics_are_not_checked(x4_model):
    assert not read_metadata(x4_model).statistics
    assert warn_inputs([LANDSAT_DN], read_metadata(x4_model), x4_model) is None


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small x2 model of B4 B3 B2 trained on the two T29UPU blocks (T29SNB left out)."""
    folder = tmp_path_factory.mktemp("stats")
    proc = run_cli("-m", "sr4rs.cli.main", "extract", "--scenes", os.path.join(CORPUS, "index.csv"), "--bands",
                   "B4,B3,B2", "--factor", "2", "--patch-size", "16", "--step", "8", "--exclude-tiles", "T29SNB",
                   "--out-lr", str(folder / "lr.tif"), "--out-hr", str(folder / "hr.tif"), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("train.py", "--lr_patches", str(folder / "lr.tif"), "--hr_patches", str(folder / "hr.tif"),
                   "--arch", "edsr", "--depth", "8", "--nresblocks", "1", "--epochs", "1", "--batchsize", "8",
                   "--ganweight", "0", "--l1weight", "1", "--l2weight", "0", "--adam_b1", "0.9", "--seed", "1",
                   "--save_ckpt", str(folder / "ckpt"), "--ckpt_folder", "--savedmodel", str(folder / "model"),
                   "--no-progress")
    assert proc.returncode == 0, proc.stderr
    return folder


def test_training_records_the_statistics_of_each_scene(trained):
    meta = json.loads((trained / "model" / "assets.extra" / "sr4rs.json").read_text())
    stats = meta["statistics"]
    assert stats["levels"] == ["L2A (BigEarthNet v1 processing)"] and stats["percentiles"] == [2, 50, 98]
    (entry,) = stats["inputs"]
    assert entry["bands"] == ["B4", "B3", "B2"] and entry["scenes"] == 2
    # the LR patches are the blocks degraded x2: their medians lie between the blocks' own
    medians = [percentiles(_bgr(p))[1] for p in UPU]
    for b in range(3):
        lo, hi = entry["p50"][b]
        assert 0.8 * min(m[b] for m in medians) <= lo <= hi <= 1.2 * max(m[b] for m in medians)


def _warnings(stderr):
    return [line for line in stderr.splitlines() if line.startswith("warning:")]


def test_apply_warns_once_on_digital_numbers_and_not_on_a_matching_input(trained, tmp_path):
    model = str(trained / "model")
    proc = run_cli("-m", "sr4rs.cli.main", "apply", "--savedmodel", model, "--input", LANDSAT_DN, "--output",
                   str(tmp_path / "dn.tif"), "--no-progress")
    assert proc.returncode == 0, proc.stderr  # a warning, never a refusal
    (line,) = _warnings(proc.stderr)
    assert "'landsat8_l1_ms_crop' does not look like the data 'model' was trained on" in line
    assert "digital numbers (Level-1 DN)" in line and (tmp_path / "dn.tif").exists()
    proc = run_cli("-m", "sr4rs.cli.main", "apply", "--savedmodel", model, "--input", SNB, "--bands", "B4,B3,B2",
                   "--output", str(tmp_path / "ok.tif"), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert _warnings(proc.stderr) == []


def test_evaluate_warns_once(trained, tmp_path):
    proc = run_cli("-m", "sr4rs.cli.main", "evaluate", "--savedmodel", str(trained / "model"), "--hr", LANDSAT_DN,
                   "--degradation", "0,0.495", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    (line,) = _warnings(proc.stderr)
    assert "digital numbers" in line
