"""Training with tf.distribute on this machine's CPU: MultiWorkerMirroredStrategy with two worker processes on
loopback ports trains as one process does with the same global batch, only the chief writes, and its checkpoint
resumes on one worker; MirroredStrategy over two devices; mixed precision."""
import dataclasses
import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
from osgeo import gdal

from conftest import HERE, ROOT
from sr4rs.api import InputError, TrainConfig, check_train, load_model, train
from sr4rs.data.extraction import extract_patches

EXAMPLE = os.path.join(ROOT, "examples", "landsat8_rgb_512.tif")
WORKER = os.path.join(HERE, "training", "distributed_worker.py")
STEPS = 6  # 27 patches, global batch 4


@pytest.fixture(scope="module")
def patches(tmp_path_factory):
    """Wald pairs from a 192 x 192 crop of the real Landsat sample (x4, LR patches 8 px)."""
    d = tmp_path_factory.mktemp("patches")
    hr = str(d / "hr_image.tif")
    gdal.Translate(hr, EXAMPLE, srcWin=[100, 100, 192, 192])
    extract_patches(None, hr, str(d / "lr.tif"), str(d / "hr.tif"), 8, step=8, factor=4, val_fraction=0.25, seed=0)
    return {k: str(d / f"{k}.tif") for k in ("lr_train", "hr_train")}


def _cfg(patches, ckpt, **kw):
    base = dict(lr_patches=(patches["lr_train"],), hr_patches=(patches["hr_train"],), save_ckpt=str(ckpt),
                arch="edsr", depth=8, nresblocks=1, batchsize=4, epochs=1, l1weight=1.0, l2weight=0.0,
                vggweight=0.0, ganweight=0.0, adam_lr=0.002, adam_b1=0.9, seed=1, augment=True,
                ckpt_folder=True)  # --ckpt_folder: --save_ckpt is the folder checked below
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="module")
def reference(patches, tmp_path_factory):
    """Two epochs in this process, one device: the losses of every step."""
    losses = []
    train(_cfg(patches, tmp_path_factory.mktemp("single") / "ckpt", epochs=2),
          on_step=lambda phase, epoch, i, n, logs: losses.append(logs))
    assert len(losses) == 2 * STEPS
    return losses


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _start(cfg, folder, name, **env):
    config, out = folder / f"{name}.json", folder / f"{name}.out.json"
    config.write_text(json.dumps(dataclasses.asdict(cfg)))
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3", **env)
    proc = subprocess.Popen([sys.executable, WORKER, str(config), str(out)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc, out


def _finish(proc, out, timeout=300):
    try:
        log, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        log, _ = proc.communicate()
        pytest.fail(f"a training process did not finish in {timeout} s:\n{log[-3000:]}")
    assert proc.returncode == 0, log[-3000:]
    return json.loads(out.read_text())


def _same_losses(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert set(x) == set(y)
        for k in x:
            assert x[k] == pytest.approx(y[k], rel=2e-4, abs=1e-6), (k, a, b)


def test_two_workers_train_as_one_with_the_global_batch_and_resume_on_one(patches, reference, tmp_path):
    ckpt, tmp = tmp_path / "ckpt", tmp_path / "tmp"
    tmp.mkdir()
    cluster = {"worker": [f"127.0.0.1:{p}" for p in _free_ports(2)]}
    cfg = _cfg(patches, ckpt, strategy="multiworker", savedmodel=str(tmp_path / "model"))
    procs = [_start(cfg, tmp_path, f"worker{i}", TMPDIR=str(tmp),
                    TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}))
             for i in range(2)]
    chief, other = [_finish(*p) for p in procs]
    # each step's loss, averaged over the two workers' halves of the batch, is the one-process loss
    _same_losses(chief["losses"], reference[:STEPS])
    _same_losses(other["losses"], chief["losses"])
    assert chief["step"] == other["step"] == STEPS
    # only the chief wrote: its checkpoint, config and model; the other's private checkpoints are gone
    assert chief["savedmodel"] == cfg.savedmodel and other["savedmodel"] is None
    assert sorted(os.listdir(ckpt)) == sorted(["checkpoint", "config.json", f"ckpt-{STEPS}.data-00000-of-00001",
                                               f"ckpt-{STEPS}.index"])
    assert os.listdir(tmp) == []
    assert load_model(cfg.savedmodel).predict(np.full((1, 16, 16, 3), 1000.0, np.float32), 0).dtype == np.float32
    # the chief's checkpoint resumes on one worker: the second epoch is the one-process run's second epoch
    losses = []
    result = train(_cfg(patches, ckpt, epochs=2, load_ckpt=str(ckpt)),
                   on_step=lambda phase, epoch, i, n, logs: losses.append(logs))
    assert result.step == 2 * STEPS
    _same_losses(losses, reference[STEPS:])


def test_mirrored_over_two_devices_trains_as_one(patches, reference, tmp_path):
    cfg = _cfg(patches, tmp_path / "ckpt", strategy="mirrored")
    out = _finish(*_start(cfg, tmp_path, "mirrored", SR4RS_TEST_CPUS="2"))
    _same_losses(out["losses"], reference[:STEPS])


def test_mixed_precision_trains_and_exports_a_float32_model(patches, tmp_path):
    cfg = _cfg(patches, tmp_path / "ckpt", epochs=2, mixed_precision=True, savedmodel=str(tmp_path / "model"))
    result = train(cfg)
    assert all(np.isfinite(v) for h in result.history for k, v in h.items() if k != "phase")
    assert result.history[-1]["l1"] < result.history[0]["l1"]
    model = load_model(cfg.savedmodel)
    out = model.predict(np.full((1, 16, 16, 3), 1000.0, np.float32), 0)
    assert out.dtype == np.float32 and np.isfinite(out).all()
    import keras
    assert keras.config.dtype_policy().name == "float32"  # the process's policy is left as it was


@pytest.mark.parametrize("tf_config,message", [
    (None, "needs TF_CONFIG describing the workers"),
    ("{not json", "TF_CONFIG is not valid"),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}', "is not in its cluster"),
])
def test_multiworker_needs_a_valid_tf_config(patches, tmp_path, monkeypatch, tf_config, message):
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    with pytest.raises(InputError, match=message):
        check_train(_cfg(patches, tmp_path / "ckpt", strategy="multiworker"))
    assert not (tmp_path / "ckpt").exists()
