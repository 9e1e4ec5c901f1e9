"""The DEEPaaS service for real: ``deepaas-run`` on a loopback port serving sr4rs, called over HTTP. Metadata,
predictions on real crops (GeoTIFF, PNG, JSON; a Sentinel-2 product zip through a fusion model), a tiny
training and a prediction with the model it made, a cancelled training, every kind of bad input followed by a
request that still succeeds; the server's temporary folder holds nothing after each."""
import dataclasses
import io
import os
import platform
import shutil
import socket
import subprocess
import time
import zipfile

import numpy as np
import pytest
from osgeo import gdal

from conftest import DATA, LANDSAT, RGBN, ROOT, read

try:
    import deepaas  # noqa: F401
    import requests
except ImportError:  # scripts/test.sh installs requirements-deepaas.txt; only a bare pytest run lacks it
    if os.environ.get("CI"):
        raise
    pytest.skip("deepaas is not installed (pip install -r requirements-deepaas.txt)", allow_module_level=True)

from deepaas_server import Server

EXAMPLE = os.path.join(ROOT, "examples", "landsat8_rgb_512.tif")
MAX_UPLOAD = 3_000_000
MAX_PIXELS = 200_000  # examples/landsat8_rgb_512.tif (262144 pixels) is over it
TMPFS_MIB = 64  # the server's temporary folder, on a tmpfs of its own where root can mount one (a full disk)
TRAIN = dict(lr_patches="lr.tif", hr_patches="hr.tif", arch="edsr", depth=8, nresblocks=1, batchsize=4,
             ganweight=0, vggweight=0, l1weight=1, l2weight=0, seed=1)


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    from importlib.metadata import entry_points

    from models import export_fusion_model, export_test_model
    from sr4rs.data.extraction import extract_patches

    assert "sr4rs" in [e.name for e in entry_points(group="deepaas.v2.model")], \
        "the sr4rs entry point is not installed: run scripts/setup.sh (pip install -e .)"
    base = tmp_path_factory.mktemp("deepaas")
    tmp, data, models = base / "tmp", base / "data", base / "models"
    for d in (tmp, data, models):
        d.mkdir()
    tmpfs = os.geteuid() == 0 and shutil.which("mount") is not None and not subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_MIB}m", "tmpfs", str(tmp)], capture_output=True).returncode
    server = Server({"TMPDIR": str(tmp), "SR4RS_DEEPAAS_DATA": str(data), "SR4RS_DEEPAAS_MODELS": str(models),
                     "SR4RS_DEEPAAS_MAX_UPLOAD": str(MAX_UPLOAD), "SR4RS_DEEPAAS_MAX_PIXELS": str(MAX_PIXELS)},
                    str(base / "server.log"))
    server.tmp, server.models, server.base, server.tmpfs = tmp, models, base, tmpfs
    try:  # while the server starts (models and data are looked up per request)
        export_test_model(str(models / "test-x4"), scale=4, margin=8)
        export_fusion_model(str(models / "test-fusion"))
        hr = str(base / "hr.tif")
        gdal.Translate(hr, EXAMPLE, srcWin=[100, 100, 96, 96])
        extract_patches(None, hr, str(data / "lr.tif"), str(data / "hr.tif"), 8, step=8, factor=4)
        server.wait()
    except BaseException:
        server.stop()
        if tmpfs:
            subprocess.run(["umount", str(tmp)], check=False)
        raise
    yield server
    server.stop()
    left = os.listdir(tmp)
    if tmpfs:
        subprocess.run(["umount", str(tmp)], check=False)
    assert left == [], f"left in the server's temporary folder: {left}"


def predict(service, path=None, accept="image/tiff", content=None, filename="image.tif", **params):
    body = content if content is not None else open(path, "rb").read()
    return requests.post(f"{service.url}/v2/models/sr4rs/predict/", params=params, headers={"accept": accept},
                         files={"data": (filename, body)}, timeout=120)


def crop(tmp_path, src=LANDSAT, window=(20, 10, 64, 48), name="crop.tif"):
    path = str(tmp_path / name)
    gdal.Translate(path, src, srcWin=list(window))
    return path


def assert_clean(service):
    assert os.listdir(service.tmp) == []


def test_metadata_lists_models_inputs_and_limits(service):
    meta = service.get("/v2/models/sr4rs/")
    models = {m["name"]: m for m in meta["models"]}
    bundled = models["landsat-rgb-x4"]
    assert (bundled["origin"], bundled["scale"], bundled["inputs"][0]["bands"]) == \
        ("bundled", 4, ["B4 red", "B3 green", "B2 blue"])
    fusion = models["test-fusion"]
    assert fusion["origin"] == "trained"
    assert [(i["name"], i["factor"]) for i in fusion["inputs"]] == [("fine", 1), ("coarse", 2)]
    assert "lr.tif" in meta["training_data"]
    assert meta["limits"] == {"upload_bytes": MAX_UPLOAD, "pixels": MAX_PIXELS, "trainings": 1, "queued_predictions": 8}
    assert "sr4rs" in [m["name"] for m in service.get("/v2/models/")["models"]]
    spec = service.get("/swagger.json")
    args = {p["name"]: p for p in spec["paths"]["/v2/models/sr4rs/train/"]["post"]["parameters"]}
    assert args["epochs"]["type"] == "integer" and args["adam_lr"]["type"] == "number"
    assert set(args["arch"]["enum"]) >= {"sr4rs", "edsr"} and args["augment"]["type"] == "boolean"
    from sr4rs.api import TrainConfig
    from sr4rs.integrations.deepaas.args import SERVER_FIELDS

    every = {f.name for f in dataclasses.fields(TrainConfig)} - set(SERVER_FIELDS)
    assert every <= set(args), f"train.py's flags missing from the train endpoint: {every - set(args)}"


def test_predict_a_geotiff_crop_as_the_library_does(service, tmp_path):
    from sr4rs import api

    image = crop(tmp_path)
    answer = predict(service, image, model="landsat-rgb-x4")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "image/tiff"
    got = tmp_path / "got.tif"
    got.write_bytes(answer.content)
    assert_clean(service)
    ds, src = gdal.Open(str(got)), gdal.Open(image)
    assert (ds.RasterXSize, ds.RasterYSize, ds.RasterCount) == (256, 192, 3)
    gt, sgt = ds.GetGeoTransform(), src.GetGeoTransform()
    assert gt[0] == sgt[0] and gt[3] == sgt[3] and gt[1] == sgt[1] / 4 and gt[5] == sgt[5] / 4
    assert ds.GetSpatialRef().IsSame(src.GetSpatialRef())
    expected = str(tmp_path / "expected.tif")
    api.apply(image, expected, "landsat-rgb-x4")
    np.testing.assert_array_equal(read(got), read(expected))


def test_png_and_json_answers(service, tmp_path):
    image = crop(tmp_path)
    png = predict(service, image, accept="image/png")  # no model named: the bundled one for 3 bands
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    summary = predict(service, image, accept="application/json", model="test-x4").json()
    assert (summary["model"], summary["scale"], summary["output"]["width"], summary["output"]["height"]) == \
        ("test-x4", 4, 256, 192)
    figures = {m["name"]: m for m in summary["figures"]["methods"]}
    assert summary["figures"]["protocol"] == "consistency" and set(figures) == {"test-x4", "bicubic"}
    assert np.isfinite(figures["test-x4"]["reflectance"]) and figures["test-x4"]["lr_pixels"] > 0
    assert_clean(service)


def test_a_sentinel2_product_zip_through_a_fusion_model(service, tmp_path):
    from products import make_sentinel2
    from sr4rs import api

    product = make_sentinel2(tmp_path, level="L2A", baseline="04.00", as_zip=True)
    answer = predict(service, product, model="test-fusion", filename="S2.zip")
    assert answer.status_code == 200, answer.text
    got = tmp_path / "got.tif"
    got.write_bytes(answer.content)
    expected = str(tmp_path / "expected.tif")
    api.apply(product, expected, str(service.models / "test-fusion"))
    np.testing.assert_array_equal(read(got), read(expected))
    assert gdal.Open(str(got)).GetGeoTransform() == gdal.Open(expected).GetGeoTransform()
    assert_clean(service)


def _wait_training(service, uuid, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = requests.get(f"{service.url}/v2/models/sr4rs/train/{uuid}", timeout=10).json()
        if status["status"] != "running":
            return status
        time.sleep(0.5)  # polling the training's status, as a client does
    pytest.fail(f"training {uuid} still running after {timeout} s")


def _wait_until(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} after {timeout} s")
        time.sleep(0.2)  # polling files the server writes and removes


def test_train_then_predict_with_the_trained_model(service, tmp_path):
    started = requests.post(f"{service.url}/v2/models/sr4rs/train/", params=dict(TRAIN, epochs=1,
                                                                                  model_name="tiny"), timeout=30)
    assert started.status_code == 200, started.text
    status = _wait_training(service, started.json()["uuid"])
    assert status["status"] == "done", status
    assert status["result"]["output"]["model"] == "tiny" and status["result"]["output"]["steps"] > 0
    models = {m["name"]: m for m in service.get("/v2/models/sr4rs/")["models"]}
    assert models["tiny"]["origin"] == "trained" and models["tiny"]["scale"] == 4
    answer = predict(service, crop(tmp_path), model="tiny")
    assert answer.status_code == 200, answer.text
    got = tmp_path / "got.tif"
    got.write_bytes(answer.content)
    assert (gdal.Open(str(got)).RasterXSize, gdal.Open(str(got)).RasterYSize) == (256, 192)
    assert_clean(service)


def _zip(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            z.writestr(name, data)
    return buffer.getvalue()


BAD = {
    "not a raster": (dict(content=b"plain text, no image\n" * 10), 400, "not a raster"),
    "wrong band count": (dict(path=RGBN, model="landsat-rgb-x4"), 400, "band"),
    "no model for the band count": (dict(path=os.path.join(DATA, "s2_heldout_60m.tif")), 400,
                                    "no bundled model takes 2 band(s)"),
    "unknown model": (dict(path=LANDSAT, model="no-such-model"), 400, "unknown model 'no-such-model'"),
    "a path as model": (dict(path=LANDSAT, model="../../etc"), 400, "not valid"),
    "empty upload": (dict(content=b""), 400, "empty"),
    "over the limit": (dict(content=b"\0" * (MAX_UPLOAD + 1000)), 413, str(MAX_UPLOAD)),
    "over the pixel limit": (dict(path=EXAMPLE), 413, f"262144 pixels, more than this server super-resolves at "
                                                      f"once ({MAX_PIXELS})"),
    "zip bomb": (dict(content=_zip([("S2.SAFE/B04.jp2", b"\0" * (60 << 20))]), filename="p.zip"), 400, "times larger"),
    "escaping path": (dict(content=_zip([("S2.SAFE/a.xml", b"x"), ("S2.SAFE/../../evil.txt", b"x")]),
                       filename="p.zip"), 400, "leaving the product's folder"),
    "absolute path": (dict(content=_zip([("/etc/evil.txt", b"x")]), filename="p.zip"), 400,
                      "leaving the product's folder"),
    "bad choice": (dict(path=LANDSAT, encoding="float128"), 422, "encoding"),
    "bad number": (dict(path=LANDSAT, margin="-3"), 422, "margin"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_a_4xx_in_one_line_and_the_server_keeps_serving(service, tmp_path, case):
    kwargs, status, words = BAD[case]
    answer = predict(service, **kwargs)
    assert answer.status_code == status, answer.text
    message = answer.json()["message"]
    assert words in message and "\n" not in message
    assert "Traceback" not in message and str(service.base) not in message and "/tmp" not in message
    assert_clean(service)
    good = predict(service, crop(tmp_path, window=(0, 0, 32, 24)), model="test-x4", filename="../../evil.tif")
    assert good.status_code == 200 and good.content[:4] in (b"II*\0", b"MM\0*")
    assert not (service.base / "evil.tif").exists() and not (service.tmp.parent.parent / "evil.tif").exists()
    assert_clean(service)


def test_training_arguments_are_checked_and_stay_in_the_data_folder(service):
    for params, words in ((dict(TRAIN, lr_patches="/etc/passwd", model_name="x"), "not a path"),
                          (dict(TRAIN, lr_patches="../models/test-x4", model_name="x"), "not a path"),
                          (dict(TRAIN, lr_patches="missing.tif", model_name="x"), "no 'missing.tif'"),
                          (dict(TRAIN, model_name="landsat-rgb-x4"), "bundled"),
                          (dict(TRAIN, model_name="../up"), "not valid")):
        started = requests.post(f"{service.url}/v2/models/sr4rs/train/", params=params, timeout=30)
        assert started.status_code == 200, started.text
        status = _wait_training(service, started.json()["uuid"])
        assert status["status"] == "error" and words in status["message"], status
        assert "/tmp" not in status["message"] and str(service.base) not in status["message"]
    bad = requests.post(f"{service.url}/v2/models/sr4rs/train/", params=dict(TRAIN, epochs="two", model_name="x"),
                        timeout=30)
    assert bad.status_code == 422 and "epochs" in bad.json()["message"]
    assert_clean(service)


def _train(service, **params):
    try:
        started = requests.post(f"{service.url}/v2/models/sr4rs/train/", params=dict(TRAIN, **params), timeout=60)
    except requests.Timeout:
        pytest.fail(f"no answer to a training's start: {service.log_tail(6000)}")
    assert started.status_code == 200, started.text
    return started.json()["uuid"]


def _cancel(service, uuid, timeout=300):
    try:
        cancelled = requests.delete(f"{service.url}/v2/models/sr4rs/train/{uuid}", timeout=timeout)
    except requests.Timeout:
        pytest.fail(f"no answer to a cancel: {service.log_tail(6000)}")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled", cancelled.text
    return cancelled.json()


def test_cancel_in_the_first_instant_leaves_nothing(service, tmp_path):
    status = _cancel(service, _train(service, epochs=10000, model_name="never"))
    assert (status["model"], status["kept"]) == ("never", None)
    assert status["message"] == "cancelled before an epoch had finished: no checkpoint is kept"
    assert os.listdir(service.tmp) == [] and not (service.models / ".checkpoints").exists()
    assert "never" not in os.listdir(service.models)
    # a training still waiting for the worker (busy with a prediction of a few seconds): deepaas 2.6.0 raises
    # CancelledError into its cancel's request there, which would close the connection without an answer
    import threading

    busy = threading.Thread(target=predict, args=(service, crop(tmp_path, EXAMPLE, (0, 0, 192, 192))),
                            kwargs=dict(accept="application/json"))
    busy.start()
    _wait_until(lambda: os.listdir(service.tmp), 60, "the prediction never started")
    status = _cancel(service, _train(service, epochs=10000, model_name="never"))
    busy.join()
    assert status["kept"] is None and os.listdir(service.tmp) == []


def test_cancel_before_the_worker_has_taken_the_training(service, tmp_path):
    """The worker is stopped (SIGSTOP) while idle, so that it has not read the training when the cancel kills it:
    it dies holding its pool's task queue lock, on which deepaas 2.6.0's pool.terminate() waits for ever in the
    server's event loop. The server answers the cancel, then everything else."""
    import psutil

    read = {"x86_64": "0", "aarch64": "63"}.get(platform.machine())
    if read is None:
        pytest.skip(f"the read system call's number on {platform.machine()} is not known to this test")
    assert predict(service, crop(tmp_path), model="test-x4").status_code == 200  # the worker is up
    server = psutil.Process(service.process.pid)
    workers = [p for p in server.children() if "spawn_main" in " ".join(p.cmdline())]
    assert len(workers) == 1, [p.cmdline() for p in server.children()]
    worker = workers[0]

    def waiting():  # blocked reading its task queue, which it does holding the queue's lock, until a task comes
        with open(f"/proc/{worker.pid}/syscall") as f:
            return f.read().split()[0] == read

    _wait_until(waiting, 60, "the worker never waited for a task")
    try:
        worker.suspend()  # no task was sent since: it still holds the lock
        status = _cancel(service, _train(service, epochs=10000, model_name="never"), timeout=60)
        assert (status["model"], status["kept"]) == ("never", None)
        worker.wait(timeout=60)  # killed, and reaped by the server
    finally:
        if worker.is_running():
            worker.resume()
    assert service.get("/v2/models/sr4rs/")["name"] == "sr4rs"
    answer = predict(service, crop(tmp_path), model="test-x4")  # by the worker of the pool that replaced it
    assert answer.status_code == 200, answer.text
    assert os.listdir(service.tmp) == [] and "never" not in os.listdir(service.models)


def _pipes(service) -> int:
    """The pipes the server process holds open (its worker pools' queues). A descriptor listed may be closed before
    it is read (the server keeps running): it is not open, so not counted."""
    folder = f"/proc/{service.process.pid}/fd"
    count = 0
    for fd in os.listdir(folder):
        try:
            count += os.readlink(os.path.join(folder, fd)).startswith("pipe:")
        except FileNotFoundError:
            pass
    return count


def test_cancel_a_training_while_the_server_answers_and_refuses_more(service, tmp_path):
    pipes = _pipes(service)
    uuid = _train(service, epochs=10000, model_name="never")

    def checkpointing():  # the run is in its batches (a cancel is seen between two): it saved a checkpoint
        folders = [service.tmp / d / "ckpt" for d in os.listdir(service.tmp)]
        return any(f.name.endswith(".index") for d in folders if d.is_dir() for f in d.iterdir())

    _wait_until(checkpointing, 300, "the training never saved a checkpoint")
    t0 = time.monotonic()
    assert service.get("/v2/models/sr4rs/")["name"] == "sr4rs"  # the server answers while the training runs
    assert time.monotonic() - t0 < 5
    # one training at a time (the default), and its only worker is training: both refused at once
    more = requests.post(f"{service.url}/v2/models/sr4rs/train/", params=dict(TRAIN, model_name="other"), timeout=30)
    assert more.status_code == 429 and "the most this server runs at once (1)" in more.json()["message"]
    assert int(more.headers["Retry-After"]) > 0
    busy = predict(service, crop(tmp_path), model="test-x4")
    assert busy.status_code == 503 and "every worker of this server is training" in busy.json()["message"]
    status = _cancel(service, uuid)
    assert status["model"] == "never" and status["kept"]["epoch"] >= 1 and status["kept"]["epochs"] == 10000
    assert "resume=true" in status["message"]
    assert requests.get(f"{service.url}/v2/models/sr4rs/train/{uuid}", timeout=10).json() == status
    kept = service.models / ".checkpoints"
    assert os.listdir(kept) == ["never"] and os.listdir(service.tmp) == []  # the run had ended: its lock is gone
    assert {"model": "never", **status["kept"]} in service.get("/v2/models/sr4rs/")["checkpoints"]
    assert "never" not in [m["name"] for m in service.get("/v2/models/sr4rs/")["models"]]
    assert _pipes(service) <= pipes  # the worker pool deepaas replaced is closed (8 pipes, left to the GC before)
    shutil.rmtree(kept)


def test_a_client_gone_mid_upload_leaves_nothing_open(service, tmp_path):
    import psutil

    server = psutil.Process(service.process.pid)
    assert predict(service, crop(tmp_path), model="test-x4").status_code == 200
    before = server.num_fds()
    head = b'--b\r\nContent-Disposition: form-data; name="data"; filename="x.tif"\r\n\r\n'
    for _ in range(3):  # 2 of 2.5 MB sent: past aiohttp's 1 MiB spool, the upload was in a temporary file
        with socket.create_connection(("127.0.0.1", service.port)) as s:
            s.sendall(b"POST /v2/models/sr4rs/predict/ HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
                      b"boundary=b\r\nContent-Length: 2500000\r\n\r\n" + head + b"\0" * 2_000_000)
    _wait_until(lambda: "went away mid-request" in service.log_tail(20000) and server.num_fds() <= before, 60,
                "the server did not close the half-read uploads")
    assert not [f for f in server.open_files() if str(service.tmp) in f.path]
    assert predict(service, crop(tmp_path), model="test-x4").status_code == 200
    assert_clean(service)


def test_over_the_upload_limit_without_a_length_is_refused(service):
    def chunks():  # chunked: no Content-Length for the server to check before reading
        yield b'--b\r\nContent-Disposition: form-data; name="data"; filename="x.tif"\r\n\r\n'
        for _ in range(8):
            yield b"\0" * (MAX_UPLOAD // 4)

    answer = requests.post(f"{service.url}/v2/models/sr4rs/predict/", data=chunks(), timeout=60,
                           headers={"Content-Type": "multipart/form-data; boundary=b", "accept": "image/tiff"})
    assert answer.status_code == 413, answer.text
    assert_clean(service)


def test_a_full_temporary_disk_is_a_507_and_leaves_nothing(service, tmp_path):
    if not service.tmpfs:
        pytest.skip("needs root and mount: the server's temporary folder on a tmpfs of its own")
    image = crop(tmp_path, EXAMPLE, (0, 0, 256, 256), "c256.tif")  # x4: 1024 x 1024 x 3 UInt8 answer
    filler = service.tmp / "filler"

    def fill(free_kib):
        total = shutil.disk_usage(service.tmp).total
        filler.unlink(missing_ok=True)
        subprocess.run(["fallocate", "-l", str(total - free_kib * 1024), str(filler)], check=True)

    try:
        fill(600)  # the upload cannot be stored: refused before it is read
        t0 = time.monotonic()
        answer = predict(service, image, model="landsat-rgb-x4")
        assert answer.status_code == 507 and "disk is full" in answer.json()["message"]
        assert time.monotonic() - t0 < 5
        fill(2200)  # the upload fits, the answer does not: the write fails, everything of it is removed
        answer = predict(service, image, model="landsat-rgb-x4")
        assert answer.status_code == 507 and "disk is full" in answer.json()["message"], answer.text
        assert os.listdir(service.tmp) == ["filler"]
    finally:
        filler.unlink(missing_ok=True)
    assert predict(service, image, model="landsat-rgb-x4").status_code == 200
    assert_clean(service)
