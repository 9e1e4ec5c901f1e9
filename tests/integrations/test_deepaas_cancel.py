"""A DEEPaaS training cancelled at every instant, as the service cancels it: a worker process (running the
service's own ``train.run``) is killed with SIGKILL, and the kernel signals the training's child process. The
child writes a marker file at each instant when asked (SR4RS_DEEPAAS_MARKERS) and holds there until the signal
has come (SR4RS_DEEPAAS_HOLD), so that each cancel lands exactly at its instant; the tests wait on those files,
never on time. After each: nothing in the temporary folder, and in the models folder only the checkpoints of the
epochs that had finished."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from osgeo import gdal

from conftest import ROOT

try:
    import deepaas  # noqa: F401
except ImportError:
    if os.environ.get("CI"):
        raise
    pytest.skip("deepaas is not installed (pip install -r requirements-deepaas.txt)", allow_module_level=True)

EXAMPLE = os.path.join(ROOT, "examples", "landsat8_rgb_512.tif")
# 4 steps per epoch (36 patch pairs, batches of 8), 2 epochs: batch-1 traces, batch-6 is in the second epoch.
TRAIN = dict(lr_patches=["lr.tif"], hr_patches=["hr.tif"], arch="edsr", depth=8, nresblocks=1, batchsize=8,
             ganweight=0, vggweight=0, l1weight=1, l2weight=0, seed=1, model_name="tiny", epochs=2)
WORKER = """
import json, sys
from sr4rs.integrations.deepaas import train
try:
    print(json.dumps({"ok": True, "result": train.run(json.loads(sys.argv[1]))}))
except Exception as err:
    print(json.dumps({"ok": False, "status": getattr(err, "status", None), "message": str(err)}))
"""


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    from sr4rs.data.extraction import extract_patches

    base = tmp_path_factory.mktemp("cancel")
    (base / "data").mkdir()
    hr = str(base / "hr.tif")
    gdal.Translate(hr, EXAMPLE, srcWin=[100, 100, 192, 192])
    extract_patches(None, hr, str(base / "data" / "lr.tif"), str(base / "data" / "hr.tif"), 8, step=8, factor=4)
    return base


@pytest.fixture
def run(folders, tmp_path):
    """Start a worker training with ``hold`` set; returns the worker, the markers folder and the env."""
    made = []

    def start(hold=None, **params):
        for d in ("tmp", "models", "markers"):
            (tmp_path / d).mkdir(exist_ok=True)
        env = dict(os.environ, PYTHONPATH=ROOT, TMPDIR=str(tmp_path / "tmp"), TF_CPP_MIN_LOG_LEVEL="3",
                   SR4RS_DEEPAAS_DATA=str(folders / "data"), SR4RS_DEEPAAS_MODELS=str(tmp_path / "models"),
                   SR4RS_DEEPAAS_MARKERS=str(tmp_path / "markers"))
        env.pop("SR4RS_DEEPAAS_HOLD", None)
        if hold:
            env["SR4RS_DEEPAAS_HOLD"] = hold
        worker = subprocess.Popen([sys.executable, "-c", WORKER, json.dumps(dict(TRAIN, **params))], env=env,
                                  stdout=subprocess.PIPE, cwd=ROOT)
        made.append(worker)
        return worker, tmp_path / "markers"

    yield start
    for worker in made:
        if worker.poll() is None:
            worker.kill()
        worker.wait()


def wait_for(path, timeout=300):
    """Wait for a marker the training's child process writes (polling the file)."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"no marker {path.name} after {timeout} s"
        time.sleep(0.05)
    return int(path.read_text() or 0)


def cancel_as_deepaas(worker, markers, instant):
    """At ``instant``, kill the worker as deepaas cancels a training (SIGKILL); wait until the child has ended."""
    wait_for(markers / instant)
    worker.kill()
    worker.wait()
    wait_for(markers / "exit")


def leftovers(tmp_path):
    """Every file left in the temporary folder and the models folder."""
    return sorted(str(p.relative_to(tmp_path)) for d in ("tmp", "models") for p in (tmp_path / d).rglob("*"))


def only_kept(tmp_path):
    """The kept checkpoints of "tiny" are all that is left (no lock, no half-made copy, nothing in tmp)."""
    return os.listdir(tmp_path / "models" / ".checkpoints") == ["tiny"] and \
        not [f for f in leftovers(tmp_path) if not f.startswith("models/.checkpoints")]


@pytest.mark.parametrize("instant", ["handlers", "import", "batch-1"])
def test_a_cancel_before_an_epoch_has_finished_leaves_nothing(run, tmp_path, instant):
    # handlers: before anything heavy is imported (held there); import: while TensorFlow loads (not held);
    # batch-1: while the first step runs, which traces the network (between batches: the test below)
    worker, markers = run(hold=None if instant == "import" else instant)
    cancel_as_deepaas(worker, markers, instant)
    assert leftovers(tmp_path) == []
    assert "batch-2" not in os.listdir(markers)
    assert "epoch-1-end" not in os.listdir(markers)


def test_a_cancel_while_a_checkpoint_is_written_keeps_it_and_a_resume_ends_the_training(run, tmp_path):
    # The signal lands as the first epoch's checkpoint is being written (its last batch is done): the write
    # completes, the run stops before the next batch and keeps that checkpoint, whole.
    worker, markers = run(hold="epoch-1-end")
    cancel_as_deepaas(worker, markers, "epoch-1-end")
    kept = tmp_path / "models" / ".checkpoints" / "tiny"
    assert json.loads((kept / "kept.json").read_text()) == {"phase": "train", "epoch": 1, "epochs": 2}
    assert only_kept(tmp_path)
    assert "batch-5" not in os.listdir(markers)
    index = [f for f in os.listdir(kept) if f.endswith(".index")]
    assert index == ["ckpt-4.index"], os.listdir(kept)  # step 4: the end of epoch 1, nothing of epoch 2
    for f in os.listdir(markers):
        os.remove(markers / f)
    worker, markers = run(resume=True)
    out, _ = worker.communicate(timeout=600)
    answer = json.loads(out.decode().strip().splitlines()[-1])
    assert answer["ok"], answer
    assert answer["result"]["steps"] == 8  # epoch 2 only: 4 more steps from the kept step 4
    assert sorted(os.listdir(markers)) == ["batch-1", "batch-2", "batch-3", "batch-4", "batch-5", "epoch-2-end",
                                           "exit", "handlers", "import"]
    assert leftovers(tmp_path)[0] == "models/tiny" and not [f for f in leftovers(tmp_path) if ".checkpoints" in f]


def test_a_cancel_in_the_second_epoch_keeps_the_first_only(run, tmp_path):
    worker, markers = run(hold="batch-6")
    cancel_as_deepaas(worker, markers, "batch-6")
    kept = tmp_path / "models" / ".checkpoints" / "tiny"
    assert json.loads((kept / "kept.json").read_text())["epoch"] == 1
    assert sorted(f for f in os.listdir(kept) if f.endswith(".index")) == ["ckpt-4.index"]
    assert only_kept(tmp_path)


def test_a_signal_to_the_training_itself_answers_the_waiting_worker(run, tmp_path):
    # docker stop, an administrator's kill: SIGTERM to the child while its worker waits; during the import
    worker, markers = run()
    pid = wait_for(markers / "import")
    os.kill(pid, signal.SIGTERM)
    out, _ = worker.communicate(timeout=300)
    answer = json.loads(out.decode().strip().splitlines()[-1])
    assert answer == {"ok": False, "status": 409, "message": "the training was cancelled before it began (signal "
                      "15): no checkpoint of it is kept"}
    assert leftovers(tmp_path) == []
