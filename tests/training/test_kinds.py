"""Training data behind one interface: each kind of --lr_patches is an entry of KINDS (detect, describe, open), and
a set cut from many scenes gives the statistics of each scene to the exported model. No TensorFlow."""
import os

import pytest

from conftest import DATA
from sr4rs.api import extract_scenes, plan_scenes, read_scene_lists
from sr4rs.errors import InputError
from sr4rs.training.config import TrainConfig
from sr4rs.training.data import KINDS, describe_data, training_statistics

CORPUS = os.path.join(DATA, "corpus", "index.csv")


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A fusion x2 set and Wald x2 pairs of the three corpus blocks (T29SNB validating)."""
    folder = tmp_path_factory.mktemp("kinds")
    scenes = read_scene_lists([CORPUS])
    fusion = plan_scenes(scenes, 16, step=8, bands="B2 B3 B4 B8 B5 B6 B7 B8A B11 B12".split(), val_tiles=["T29SNB"])
    extract_scenes(fusion, out=str(folder / "set"))
    pairs = plan_scenes(scenes, 12, step=6, factor=2, bands=["B4", "B3", "B2"], val_tiles=["T29SNB"])
    extract_scenes(pairs, out_lr=str(folder / "lr.tif"), out_hr=str(folder / "hr.tif"))
    return folder


def _cfg(**fields):
    return TrainConfig(**{"hr_patches": (), "save_ckpt": "unused", "batchsize": 4, "ganweight": 0, **fields})


def test_each_kind_is_described_by_its_entry(made):
    assert list(KINDS) == ["shards", "sets", "images"]
    sets = describe_data(_cfg(lr_patches=(str(made / "set" / "train"),), arch="fusion"))
    assert sets.kind == "sets" and sets.fusion and sets.count == 72  # two T29UPU blocks, 6 x 6 patches each
    pairs = describe_data(_cfg(lr_patches=(str(made / "lr_train.tif"),), hr_patches=(str(made / "hr_train.tif"),)))
    assert pairs.kind == "images" and not pairs.fusion and pairs.input_names == (("B4", "B3", "B2"),)


def test_kinds_do_not_mix(made):
    with pytest.raises(InputError, match="--lr_patches mixes images and sets"):
        describe_data(_cfg(lr_patches=(str(made / "set" / "train"), str(made / "lr_train.tif")), arch="fusion"))


def test_the_statistics_are_taken_scene_by_scene(made):
    cfg = _cfg(lr_patches=(str(made / "set" / "train"),), arch="fusion")
    stats = training_statistics(cfg, describe_data(cfg))
    assert [i["scenes"] for i in stats["inputs"]] == [2, 2]  # the two training scenes, each a run of the set
    assert [i["bands"] for i in stats["inputs"]] == [["B2", "B3", "B4", "B8"], ["B5", "B6", "B7", "B8A", "B11", "B12"]]
    assert stats["levels"] == ["L2A (BigEarthNet v1 processing)"]
    for entry in stats["inputs"]:
        assert len(entry["per_scene"]) == 2
        for b, (lo, hi) in enumerate(entry["p50"]):
            assert lo == pytest.approx(min(s[1][b] for s in entry["per_scene"]), abs=0.01)
            assert hi == pytest.approx(max(s[1][b] for s in entry["per_scene"]), abs=0.01)
    cfg = _cfg(lr_patches=(str(made / "lr_val.tif"),), hr_patches=(str(made / "hr_val.tif"),))
    assert training_statistics(cfg, describe_data(cfg))["inputs"][0]["scenes"] == 1  # T29SNB alone
