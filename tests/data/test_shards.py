"""Shards: patches of real crops cut into small files, read back through tf.data interleave from disk and from an
HTTP server through GDAL's /vsicurl/, and trained on."""
import functools
import http.server
import json
import os
import threading

import numpy as np
import pytest
from osgeo import gdal

from conftest import ROOT, S2_10M, S2_20M, run_cli
from sr4rs.api import InputError, OutputError, TrainConfig, shard_patches, train
from sr4rs.data.datasets import PatchesDataset, PatchSetDataset, ShardedDataset
from sr4rs.data.extraction import extract_patches
from sr4rs.data.fusion import extract_set, plan_fusion_extraction

EXAMPLE = os.path.join(ROOT, "examples", "landsat8_rgb_512.tif")


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    """27 Wald pairs (LR 8 px, x4) of a crop of the real Landsat sample, and their shards (5 patches each)."""
    d = tmp_path_factory.mktemp("pairs")
    gdal.Translate(str(d / "hr_image.tif"), EXAMPLE, srcWin=[100, 100, 192, 192])
    extract_patches(None, str(d / "hr_image.tif"), str(d / "lr.tif"), str(d / "hr.tif"), 8, step=8, factor=4,
                    val_fraction=0.25, seed=0)
    report = shard_patches([str(d / "lr_train.tif")], [str(d / "hr_train.tif")], str(d / "shards"), 5, seed=3)
    assert (report.shards, report.patches) == (6, 27)
    return d


def _all(dataset, **kw):
    """Every sample of one pass, as rows of bytes (order-free comparison)."""
    rows = []
    for lr, hr in dataset.batches(4, **kw):
        lr = lr if isinstance(lr, tuple) else (lr,)
        for i in range(hr.shape[0]):
            rows.append(b"".join(np.asarray(x[i], np.float32).tobytes() for x in (*lr, hr)))
    return rows


def test_shards_hold_every_patch_once(pairs):
    manifest = json.loads((pairs / "shards" / "shards.json").read_text())
    assert manifest["kind"] == "pairs" and [s["count"] for s in manifest["shards"]] == [5, 5, 5, 5, 5, 2]
    assert manifest["inputs"] == [{"bands": ["B4 red", "B3 green", "B2 blue"], "factor": 4}]
    source = PatchesDataset(str(pairs / "lr_train.tif"), str(pairs / "hr_train.tif"))
    shards = ShardedDataset([str(pairs / "shards")])
    assert shards.count == source.count == 27
    expected = sorted(_all(source, shuffle=False))
    assert sorted(_all(shards, shuffle=False)) == expected
    shuffled = _all(shards, seed=5)
    assert sorted(shuffled) == expected and shuffled != _all(shards, shuffle=False)  # mixed across shards
    assert _all(shards, seed=5) == shuffled  # a seed repeats the order


def test_shards_are_read_over_http_through_vsicurl(pairs):
    class Ranges(http.server.SimpleHTTPRequestHandler):
        """Serves byte ranges, as object storage does (GDAL reads only the parts it needs)."""

        def send_head(self):
            path = self.translate_path(self.path)
            if not os.path.isfile(path) or "Range" not in self.headers:
                return super().send_head()
            size = os.path.getsize(path)
            first, _, last = self.headers["Range"].split("=")[1].partition("-")
            first, last = int(first), min(int(last or size - 1), size - 1)
            f = open(path, "rb")
            f.seek(first)
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
            self.send_header("Content-Length", str(last - first + 1))
            self.end_headers()
            return _Limited(f, last - first + 1)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Ranges, directory=str(pairs)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"/vsicurl/http://127.0.0.1:{server.server_address[1]}/shards"
        remote = ShardedDataset([url])
        assert sorted(_all(remote, seed=1)) == sorted(_all(ShardedDataset([str(pairs / "shards")]), shuffle=False))
    finally:
        server.shutdown()
        server.server_close()


class _Limited:
    """The first ``n`` bytes of a file, for copyfile."""

    def __init__(self, f, n):
        self.f, self.n = f, n

    def read(self, size=-1):
        size = self.n if size < 0 else min(size, self.n)
        data = self.f.read(size)
        self.n -= len(data)
        return data

    def close(self):
        self.f.close()


def test_training_reads_shards(pairs, tmp_path):
    cfg = TrainConfig(lr_patches=(str(pairs / "shards"),), hr_patches=(), save_ckpt=str(tmp_path / "ckpt"),
                      arch="edsr", depth=8, nresblocks=1, batchsize=4, epochs=3, l1weight=1.0, l2weight=0.0,
                      vggweight=0.0, ganweight=0.0, adam_lr=0.002, adam_b1=0.9, seed=1, augment=True)
    result = train(cfg)
    assert result.step == 3 * (27 // 4)
    assert result.history[-1]["l1"] < result.history[0]["l1"]


def test_patch_sets_are_sharded_with_their_inputs_and_target(tmp_path):
    plan = plan_fusion_extraction([S2_10M, S2_20M], 8, step=8)
    extract_set(plan, str(tmp_path / "set"))
    proc = run_cli("-m", "sr4rs.cli.main", "shard", "--lr_patches", str(tmp_path / "set"), "--output",
                   str(tmp_path / "shards"), "--shard-size", "16")
    assert proc.returncode == 0, proc.stderr
    shards = ShardedDataset([str(tmp_path / "shards")])
    assert shards.fusion and shards.description.factors == (1, 2)
    (fine, coarse), target = next(iter(shards.batches(4, shuffle=False)))
    assert fine.shape == (4, 8, 8, 4) and coarse.shape == (4, 4, 4, 6) and target.shape == (4, 8, 8, 6)
    assert sorted(_all(shards, shuffle=False)) == sorted(_all(PatchSetDataset([str(tmp_path / "set")]), shuffle=False))


def test_shard_mistakes_are_refused_and_nothing_is_left(pairs, tmp_path):
    lr, hr = str(pairs / "lr_train.tif"), str(pairs / "hr_train.tif")
    with pytest.raises(InputError, match="give their --hr_patches"):
        shard_patches([lr], [], str(tmp_path / "a"))
    with pytest.raises(OutputError, match="already exists"):
        shard_patches([lr], [hr], str(pairs / "shards"))
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="is not an earlier shards folder"):
        shard_patches([lr], [hr], str(tmp_path / "b"), overwrite=True)
    assert sorted(os.listdir(tmp_path)) == ["b"] and os.listdir(tmp_path / "b") == ["notes.txt"]
