"""sr4rs apply-many on a LocalCluster of two worker processes: four real crops and one scene cut into blocks,
each output identical to a single-process apply; resume; a worker killed mid-task loses nothing."""
import glob
import os
import signal
import threading
import time

import distributed  # installed by scripts/setup.sh (requirements.txt): a missing Dask fails here, never skips
import numpy as np
import pytest
from osgeo import gdal

from conftest import LANDSAT, ROOT, read, run_cli
from sr4rs import api
from sr4rs.integrations import dask_apply

EXAMPLE = os.path.join(ROOT, "examples", "landsat8_rgb_512.tif")
OPTIONS = api.ApplyOptions(tile_size=64, nodata=0)  # batches of 16 tiles
BLOCK_TILES = 64  # the crops (8 x 7 tiles) are one task each; the Landsat crop (13 x 10) is cut into three blocks
# Tiles of 32 output pixels, one per model call: a scene is a few hundred calls, long enough for a worker to be
# killed in the middle of one.
SLOW = api.ApplyOptions(tile_size=32, batch_size=1, nodata=0)


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    """Four crops of the real Landsat 8 demo scene (different places, fields and fill), and the Landsat crop."""
    folder = tmp_path_factory.mktemp("scenes")
    paths = []
    for i, (col, row) in enumerate(((0, 0), (380, 40), (150, 300), (392, 412))):
        path = str(folder / f"crop{i}.tif")
        gdal.Translate(path, EXAMPLE, srcWin=[col, row, 120, 100])
        paths.append(path)
    return paths + [LANDSAT]


def _references(scenes, model_path, folder, options):
    model, out = api.load_model(model_path), {}
    for scene in scenes:
        out[scene] = str(folder / os.path.basename(scene))
        api.apply(scene, out[scene], model, options)
    return out


@pytest.fixture(scope="module")
def references(scenes, x4_model, tmp_path_factory):
    """Each scene super-resolved by a plain apply in this process."""
    return _references(scenes, x4_model, tmp_path_factory.mktemp("single"), OPTIONS)


@pytest.fixture(scope="module")
def client():
    """Two worker processes, as ``sr4rs apply-many --workers 2`` starts them (they find this checkout)."""
    os.environ["PYTHONPATH"] = os.pathsep.join([ROOT] + [p for p in [os.environ.get("PYTHONPATH")] if p])
    with dask_apply.connect(workers=2) as c:
        yield c


def _same_output(path, reference):
    a, b = gdal.Open(path), gdal.Open(reference)
    assert a.GetMetadata() == b.GetMetadata() and a.GetGeoTransform() == b.GetGeoTransform()
    assert a.GetProjection() == b.GetProjection()
    for i in range(1, b.RasterCount + 1):
        x, y = a.GetRasterBand(i), b.GetRasterBand(i)
        assert (x.DataType, x.GetNoDataValue(), x.GetDescription()) == (y.DataType, y.GetNoDataValue(), y.GetDescription())
    np.testing.assert_array_equal(read(path), read(reference))


def _partials(folder):
    return glob.glob(os.path.join(folder, ".*partial*")) + glob.glob(os.path.join(folder, ".*", ".*partial*"))


def _job(scenes, folder, model, options=OPTIONS, **kw):
    return dask_apply.check_job(scenes, str(folder), model, options, block_tiles=BLOCK_TILES, **kw)


def test_scenes_and_blocks_equal_single_process_runs_and_resume(scenes, references, client, x4_model, tmp_path):
    checked = _job(scenes, tmp_path, x4_model)
    done = []
    results = dask_apply.run_job(checked, client=client, progress=done.append)
    assert [r.status for r in results] == ["done"] * 5, results
    assert [r.blocks for r in results] == [1, 1, 1, 1, 3]  # 9 batches of 16 tiles, 4 per block
    assert sum(done) == checked.work == 4 * 120 * 100 + 203 * 157  # progress of the whole job, to the pixel
    for scene, result in zip(scenes, results):
        assert result.output == str(tmp_path / (os.path.basename(scene)[:-4] + "_x4.tif"))
        _same_output(result.output, references[scene])
    assert sorted(os.listdir(tmp_path)) == sorted(os.path.basename(r.output) for r in results)  # no block files left
    # the model was loaded once by each worker, not once per task (15 tasks here)
    loads = client.run(dask_apply.models_loaded)
    assert set(loads.values()) == {1} and len(loads) == 2
    # resume: finished scenes are skipped, untouched; a missing one is made again
    stamps = {r.output: os.stat(r.output).st_mtime_ns for r in results}
    os.remove(results[1].output)
    again = dask_apply.run_job(_job(scenes, tmp_path, x4_model), client=client)
    assert [r.status for r in again] == ["skipped", "done", "skipped", "skipped", "skipped"]
    assert all(os.stat(o).st_mtime_ns == t for o, t in stamps.items() if o != results[1].output)
    _same_output(results[1].output, references[scenes[1]])


def _hold_after_first_report(release: str) -> None:
    """On a worker: once its first tile is done, the task reports it and waits until the file ``release``
    exists, so that it stands still in the middle of its scene (partial output on disk) until the test has
    killed it."""
    call = dask_apply._Reporter.__call__
    held = []

    def call_then_hold(self, n):
        call(self, n)
        if self.done > 0 and not held:
            held.append(True)
            self.send()  # the test learns which worker holds a scene half-written
            while not os.path.exists(release):  # observable state: the test creates the file
                time.sleep(0.01)

    dask_apply._Reporter.__call__ = call_then_hold


def test_a_worker_killed_mid_task_loses_no_scene_and_leaves_no_partial_file(scenes, client, x4_model, tmp_path):
    (tmp_path / "single").mkdir()
    references = _references(scenes[:2], x4_model, tmp_path / "single", SLOW)
    out_dir = tmp_path / "out"
    release = str(tmp_path / "release")
    pids = client.run(os.getpid)
    client.run(_hold_after_first_report, release)  # each worker stops after its first report, until released
    events, first = [], threading.Event()
    watcher = distributed.Client(client.scheduler.address, set_as_default=False)

    def on_event(event):
        events.append(event[1])
        if event[1]["done"] > 0:
            first.set()

    watcher.subscribe_topic(dask_apply.TOPIC, on_event)
    checked = _job(scenes[:2], out_dir, x4_model, SLOW)
    out, done = {}, []
    job = threading.Thread(target=lambda: out.update(results=dask_apply.run_job(checked, client=client,
                                                                                progress=done.append)))
    job.start()
    try:
        assert first.wait(120), "no task reported progress"
        victim = next(e["worker"] for e in events if e["done"] > 0)  # held after that report: mid-scene
        partial = _partials(str(out_dir))
        os.kill(pids[victim], signal.SIGKILL)  # the worker dies at once, in the middle of its scene
    finally:
        open(release, "w").close()  # the other worker, and the lost scene's new attempt, go on
        job.join(300)
        watcher.close()
    assert not job.is_alive()
    assert partial, "the kill did not land while a scene was being written"
    results = out["results"]
    assert [r.status for r in results] == ["done"] * 2
    assert victim not in {r.worker for r in results}  # the lost worker's scene was made again elsewhere
    for scene, result in zip(scenes, results):
        _same_output(result.output, references[scene])
    assert _partials(str(out_dir)) == []
    assert sorted(os.listdir(out_dir)) == sorted(os.path.basename(r.output) for r in results)
    assert sum(done) == checked.work  # an attempt lost with its worker is not counted twice


def test_cli_runs_a_local_cluster_and_resumes(scenes, references, x4_model, tmp_path):
    args = ["-m", "sr4rs.cli.main", "apply-many", os.path.join(os.path.dirname(scenes[0]), "crop*.tif"),
            "--savedmodel", x4_model, "--output-dir", str(tmp_path / "out"), "--workers", "1", "--ts", "64",
            "--nodata", "0"]
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[0].split()[:2] == ["scene", "status"]
    assert first.stdout.count(" done ") == 4 and "4 scene(s) written" in first.stderr
    _same_output(str(tmp_path / "out" / "crop2_x4.tif"), references[scenes[2]])
    second = run_cli(*args)
    assert second.returncode == 0 and second.stdout.count(" skipped ") == 4


@pytest.mark.parametrize("case,message", [
    ("same-name", "would both be written to"),
    ("input-as-output", "which this command reads"),
    ("no-match", "no scene matches"),
    ("not-ours", "is not an earlier output of sr4rs apply"),
])
def test_bad_jobs_stop_before_any_work(scenes, x4_model, tmp_path, case, message):
    folder, todo = tmp_path / "out", list(scenes[:2])
    if case == "same-name":
        other = tmp_path / "elsewhere"
        other.mkdir()
        todo.append(str(other / "crop0.tif"))
        gdal.Translate(todo[-1], scenes[0])
    elif case == "input-as-output":  # a scene where another scene's output goes
        folder.mkdir()
        todo.append(str(folder / "crop1_x4.tif"))
        gdal.Translate(todo[-1], scenes[1])
    elif case == "no-match":
        todo.append(str(tmp_path / "nothing*.tif"))
    else:
        folder.mkdir()
        gdal.Translate(str(folder / "crop0_x4.tif"), scenes[0])
    before = sorted(os.listdir(folder)) if folder.exists() else None
    with pytest.raises(api.Sr4rsError, match=message):
        _job(todo, folder, x4_model)
    assert (sorted(os.listdir(folder)) if folder.exists() else None) == before
