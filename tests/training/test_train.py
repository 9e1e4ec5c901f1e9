"""Training on patches cut from the real crops: every loss configuration learns, runs repeat
with a seed, a killed run resumes, bad inputs stop before training, the export runs."""
import dataclasses
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from osgeo import gdal

from conftest import LANDSAT, ROOT, read, run_cli
from sr4rs.errors import OutputError
from sr4rs.data.extraction import extract_patches
from sr4rs.api import TrainConfig, TrainingError, train

EXAMPLE = os.path.join(ROOT, "examples", "landsat8_rgb_512.tif")


@pytest.fixture(scope="module")
def patches(tmp_path_factory):
    """Wald pairs from a 192 x 192 crop of the real Landsat sample (x4, LR patches 8 px)."""
    d = tmp_path_factory.mktemp("patches")
    hr = str(d / "hr_image.tif")
    gdal.Translate(hr, EXAMPLE, srcWin=[100, 100, 192, 192])
    extract_patches(None, hr, str(d / "lr.tif"), str(d / "hr.tif"), 8, step=8, factor=4, val_fraction=0.25, seed=0)
    return {k: str(d / f"{k}.tif") for k in ("lr_train", "hr_train", "lr_val", "hr_val")}


def _cfg(patches, tmp_path, **kw):
    base = dict(lr_patches=(patches["lr_train"],), hr_patches=(patches["hr_train"],),
                save_ckpt=str(tmp_path / "ckpt"), arch="edsr", depth=8, nresblocks=1, batchsize=4, epochs=3,
                l1weight=0.0, l2weight=0.0, vggweight=0.0, ganweight=0.0, adam_lr=0.002, adam_b1=0.9, seed=1,
                ckpt_folder=True)
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="module")
def vgg_file(tmp_path_factory):
    """A VGG19-shaped weights dict (same layer names, narrow channels), seeded: no download."""
    rng = np.random.default_rng(0)
    weights, cin = {}, 3
    for block, n, width in ((1, 2, 4), (2, 2, 4), (3, 4, 8), (4, 4, 8), (5, 4, 8)):
        for i in range(n):
            weights[f"conv{block}_{i + 1}"] = [rng.normal(0, 0.2, (3, 3, cin, width)).astype(np.float32),
                                              np.zeros(width, np.float32)]
            cin = width
    path = str(tmp_path_factory.mktemp("vgg") / "vgg19.npy")
    np.save(path, weights, allow_pickle=True)
    return path


@pytest.mark.parametrize("name,kw,term", [
    ("l1", dict(l1weight=1.0), "l1"),
    ("l2", dict(l2weight=100.0), "l2"),
    ("wgan-gp", dict(l2weight=100.0, ganweight=0.001, losstype="WGAN-GP", adam_b1=0.0), "l2"),
    ("lsgan", dict(l2weight=100.0, ganweight=0.001, losstype="LSGAN", adam_b1=0.0), "l2"),
    ("sr4rs-arch", dict(arch="sr4rs", depth=4, nresblocks=1, l1weight=1.0, ganweight=0.001), "l1"),
])
def test_each_loss_configuration_lowers_its_loss(patches, tmp_path, name, kw, term):
    result = train(_cfg(patches, tmp_path, **kw))
    first, last = result.history[0][term], result.history[-1][term]
    assert np.isfinite(last) and last < first, (name, result.history)
    if "ganweight" in kw:
        assert "gan" in result.history[-1] and "dis" in result.history[-1]


def test_vgg_loss_from_a_user_weights_file(patches, tmp_path, vgg_file):
    result = train(_cfg(patches, tmp_path, vggweight=1.0, vggfile=vgg_file, vggfeatures="vgg344454", epochs=4))
    assert result.history[-1]["vgg"] < result.history[0]["vgg"]
    assert result.history[0]["vgg"] > 0


def test_pretrain_then_train_and_validation_psnr(patches, tmp_path):
    cfg = _cfg(patches, tmp_path, l1weight=1.0, pretrain=True, epochs=2,
               valid_lr_patches=(patches["lr_val"],), valid_hr_patches=(patches["hr_val"],))
    result = train(cfg)
    assert [h["phase"] for h in result.history] == ["pretrain", "pretrain", "train", "train"]
    assert {"val_psnr", "val_psnr_bicubic"} <= set(result.history[-1])


def test_a_seed_repeats_a_run(patches, tmp_path):
    a = train(_cfg(patches, tmp_path / "a", l1weight=1.0, epochs=1, augment=True))
    b = train(_cfg(patches, tmp_path / "b", l1weight=1.0, epochs=1, augment=True))
    assert a.history[-1]["l1"] == pytest.approx(b.history[-1]["l1"], rel=1e-5)


def test_export_runs_through_apply_and_a_tf1_session(patches, tmp_path):
    from sr4rs import SessionModel, load_model

    cfg = _cfg(patches, tmp_path, l1weight=1.0, epochs=1, savedmodel=str(tmp_path / "model"), nodata=0.0,
               bands=("B4 red", "B3 green", "B2 blue"))
    train(cfg)
    model = load_model(cfg.savedmodel)
    assert model.scale == 4 and model.metadata.input_bands == ("B4 red", "B3 green", "B2 blue")
    assert model.metadata.training["flags"]["arch"] == "edsr" and model.metadata.margin % 4 == 0
    out = tmp_path / "sr.tif"
    result = run_cli("apply.py", "--input", LANDSAT, "--savedmodel", cfg.savedmodel, "--output", str(out))
    assert result.returncode == 0, result.stderr
    assert gdal.Open(str(out)).RasterXSize == 203 * 4
    lr = read(LANDSAT)[60:100, 10:50][None].astype(np.float32)
    session = SessionModel(cfg.savedmodel)
    np.testing.assert_allclose(session.run(lr, "output_32"), model.predict(lr, 32), rtol=1e-4, atol=0.5)
    session.close()
    with pytest.raises(OutputError, match="already exists"):
        train(dataclasses.replace(cfg, save_ckpt=str(tmp_path / "ckpt2")))


def test_killed_run_resumes_from_its_last_checkpoint(patches, tmp_path):
    ckpt = tmp_path / "ckpt"
    args = ["train.py", "--lr_patches", patches["lr_train"], "--hr_patches", patches["hr_train"],
            "--save_ckpt", str(ckpt), "--arch", "edsr", "--depth", "8", "--nresblocks", "1", "--batchsize", "4",
            "--epochs", "200", "--l1weight", "1", "--ganweight", "0", "--seed", "1", "--ckpt_folder"]
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    deadline = time.time() + 180
    while time.time() < deadline and not (ckpt / "checkpoint").exists():
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    import tensorflow as tf

    saved = tf.train.latest_checkpoint(str(ckpt))
    assert saved is not None
    saved_step = int(saved.rsplit("-", 1)[1])
    reader = tf.train.load_checkpoint(saved)
    saved_epoch = int(reader.get_tensor("epoch/.ATTRIBUTES/VARIABLE_VALUE"))
    steps_per_epoch = saved_step // saved_epoch
    cfg = _cfg(patches, tmp_path, l1weight=1.0, epochs=saved_epoch + 1, load_ckpt=str(ckpt),
               save_ckpt=str(ckpt))
    result = train(cfg)
    assert result.step == saved_step + steps_per_epoch
    assert [h["epoch"] for h in result.history] == [saved_epoch + 1]


def test_missing_or_corrupt_checkpoint_is_a_loud_error(patches, tmp_path):
    with pytest.raises(TrainingError, match="holds no checkpoint"):
        train(_cfg(patches, tmp_path, l1weight=1.0, load_ckpt=str(tmp_path / "nothing")))
    good = train(_cfg(patches, tmp_path / "a", l1weight=1.0, epochs=1))
    assert good.step > 0
    index = next(p for p in (tmp_path / "a" / "ckpt").iterdir() if p.name.endswith(".index"))
    index.write_bytes(b"\0" * 64)
    with pytest.raises(TrainingError, match="cannot be restored"):
        train(_cfg(patches, tmp_path / "b", l1weight=1.0, load_ckpt=str(tmp_path / "a" / "ckpt")))
    # another architecture's checkpoint is refused too
    with pytest.raises(TrainingError):
        train(_cfg(patches, tmp_path / "c", l1weight=1.0, depth=16, load_ckpt=str(tmp_path / "a" / "ckpt")))


def test_a_checkpoint_lacking_a_part_the_run_needs_names_the_flag(patches, tmp_path):
    """Trained without --ema or without the GAN loss: resuming with them names that flag; fine-tuning with the
    GAN loss starts the generator from the checkpoint and the discriminator afresh."""
    plain = train(_cfg(patches, tmp_path / "a", l1weight=1.0, epochs=1))
    ckpt = str(tmp_path / "a" / "ckpt")
    with pytest.raises(TrainingError, match=r"holds no moving average .* without --ema; resume it without --ema"):
        train(_cfg(patches, tmp_path / "b", l1weight=1.0, ema=0.9, load_ckpt=ckpt))
    with pytest.raises(TrainingError, match=r"holds no discriminator: .* --ganweight 0, or .* --finetune"):
        train(_cfg(patches, tmp_path / "c", l2weight=100.0, ganweight=0.001, load_ckpt=ckpt))
    with pytest.raises(TrainingError, match=r"other --arch/--depth"):  # a mismatch elsewhere is not blamed on --ema
        train(_cfg(patches, tmp_path / "d", l1weight=1.0, ema=0.9, depth=16, load_ckpt=ckpt))
    tuned = train(_cfg(patches, tmp_path / "e", l2weight=100.0, ganweight=0.001, epochs=1, adam_lr=1e-9,
                       finetune=True, load_ckpt=ckpt, savedmodel=str(tmp_path / "tuned")))
    assert tuned.step > 0 and plain.savedmodel is None
    import tensorflow as tf
    from sr4rs.nets import build_generator
    generator = build_generator("edsr", 3, 4, 8, 1)
    tf.train.Checkpoint(generator=generator).restore(tf.train.latest_checkpoint(ckpt)).expect_partial()
    after = {v.name.split(":")[0]: v.numpy() for v in tf.saved_model.load(str(tmp_path / "tuned")).variables}
    np.testing.assert_allclose(after["head/kernel"], generator.get_layer("head").kernel.numpy(), atol=1e-6)


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(patches, tmp_path):
    with pytest.raises(TrainingError, match="non-finite"):
        train(_cfg(patches, tmp_path, l2weight=1.0, lr_scale=1e30, hr_scale=1e30))


@pytest.mark.parametrize("case", ["count", "bands", "vgg", "ratio", "nodata"])
def test_bad_training_inputs_fail_before_training(patches, tmp_path, case):
    args = ["train.py", "--save_ckpt", str(tmp_path / "ck"), "--epochs", "1"]
    if case == "count":
        args += ["--lr_patches", patches["lr_train"], patches["lr_val"], "--hr_patches", patches["hr_train"]]
    elif case == "bands":
        one = str(tmp_path / "one_band.tif")
        gdal.Translate(one, patches["hr_train"], bandList=[1])
        args += ["--lr_patches", patches["lr_train"], "--hr_patches", one]
    elif case == "vgg":
        args += ["--lr_patches", patches["lr_train"], "--hr_patches", patches["hr_train"],
                 "--vggfile", str(tmp_path / "vgg19.npy")]
    elif case == "nodata":  # every HR patch but one entirely 0 (the fill of Landsat and Sentinel-2): pairs skipped
        filled = str(tmp_path / "filled.tif")
        gdal.Translate(filled, patches["hr_train"], noData=0)
        ds = gdal.Open(filled, gdal.GA_Update)
        ds.WriteRaster(0, 32, 32, ds.RasterYSize - 32, bytes(32 * (ds.RasterYSize - 32) * 3 * 2), band_list=[1, 2, 3])
        ds = None
        args += ["--lr_patches", patches["lr_train"], "--hr_patches", filled]
    else:  # HR patches 3x the LR ones in size, but the patch rows do not match the count
        odd = str(tmp_path / "odd.tif")
        gdal.Translate(odd, patches["hr_train"], width=24, height=24 * (gdal.Open(patches["hr_train"]).RasterYSize // 32))
        args += ["--lr_patches", patches["lr_train"], "--hr_patches", odd]
    result = run_cli(*args)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert not (tmp_path / "ck").exists()  # nothing written: no folder, no config.json
    if case == "nodata":
        assert "1 patch pairs hold an image" in lines[0] and "fewer than --batchsize 4" in lines[0]


def test_resume_is_exact(patches, tmp_path):
    """One epoch, then a resumed second one, ends where two uninterrupted epochs end:
    same shuffling, same augmentation, same gradient-penalty draws, same optimiser state."""
    kw = dict(l1weight=1.0, l2weight=10.0, ganweight=0.001, adam_b1=0.0, augment=True)
    whole = train(_cfg(patches, tmp_path / "whole", epochs=2, **kw))
    train(_cfg(patches, tmp_path / "cut", epochs=1, **kw))
    resumed = train(_cfg(patches, tmp_path / "cut", epochs=2, load_ckpt=str(tmp_path / "cut" / "ckpt"), **kw))
    assert resumed.step == whole.step
    for term in ("l1", "l2", "gan", "dis"):
        assert resumed.history[-1][term] == pytest.approx(whole.history[-1][term], rel=1e-4, abs=1e-6), term


def test_logdir_holds_every_loss_the_learning_rate_and_previews(patches, tmp_path):
    import tensorflow as tf

    preview = str(tmp_path / "preview.tif")
    gdal.Translate(preview, EXAMPLE, srcWin=[300, 300, 24, 24])
    logdir = tmp_path / "logs"
    train(_cfg(patches, tmp_path, l1weight=1.0, l2weight=1.0, ganweight=0.001, adam_b1=0.0, epochs=2,
               logdir=str(logdir), preview=preview, previews_step=3, valid_lr_patches=(patches["lr_val"],),
               valid_hr_patches=(patches["hr_val"],)))
    scalars, images = {}, {}
    for name in os.listdir(logdir):
        for event in tf.compat.v1.train.summary_iterator(str(logdir / name)):
            for value in event.summary.value:
                kind = value.metadata.plugin_data.plugin_name
                (scalars if kind == "scalars" else images).setdefault(value.tag, []).append(event.step)
    for term in ("loss", "l1", "l2", "vgg", "gan", "dis"):
        assert f"train/{term}" in scalars, sorted(scalars)
    assert {"learning_rate", "validation/val_psnr", "validation/val_psnr_bicubic"} <= set(scalars)
    steps_per_epoch = len(scalars["train/loss"]) // 2
    assert scalars["train/loss"] == list(range(1, 2 * steps_per_epoch + 1))  # every step
    # as SR4RS, a preview of each of the generator's outputs (x1/4, x1/2 and full resolution) after the first step
    # and every --previews_step steps
    assert sorted(images) == ["preview/scale_0", "preview/scale_1", "preview/scale_2"]
    assert all(steps == list(range(1, 2 * steps_per_epoch + 1, 3)) for steps in images.values())


def test_non_finite_loss_after_good_epochs_keeps_their_checkpoint(patches, tmp_path):
    import tensorflow as tf

    ckpt = str(tmp_path / "ckpt")
    good = train(_cfg(patches, tmp_path, l1weight=1.0, epochs=1))
    saved = tf.train.latest_checkpoint(ckpt)
    with pytest.raises(TrainingError, match=f"non-finite at step {good.step}.*last good checkpoint is {saved}"):
        train(_cfg(patches, tmp_path, l1weight=1.0, epochs=2, load_ckpt=ckpt, lr_scale=1e30, hr_scale=1e30))
    assert tf.train.latest_checkpoint(ckpt) == saved
    resumed = train(_cfg(patches, tmp_path, l1weight=1.0, epochs=2, load_ckpt=ckpt))
    assert resumed.step == 2 * good.step and np.isfinite(resumed.history[-1]["l1"])


def test_finetune_keeps_the_weights_and_restarts_the_count(patches, tmp_path):
    trained = train(_cfg(patches, tmp_path / "a", l1weight=1.0, epochs=4))
    fresh = train(_cfg(patches, tmp_path / "b", l1weight=1.0, epochs=1))
    tuned = train(_cfg(patches, tmp_path / "c", l1weight=1.0, epochs=1, finetune=True,
                       load_ckpt=str(tmp_path / "a" / "ckpt")))
    assert tuned.step == fresh.step and [h["epoch"] for h in tuned.history] == [1]
    # it starts from the trained weights: its first epoch is far better than a fresh one's
    assert tuned.history[0]["l1"] < 0.8 * fresh.history[0]["l1"]
    assert tuned.history[0]["l1"] < 1.2 * trained.history[-1]["l1"]


def test_streaming_reads_the_same_batches_as_memory(patches, tmp_path):
    memory = train(_cfg(patches, tmp_path / "m", l1weight=1.0, epochs=2, augment=True))
    streamed = train(_cfg(patches, tmp_path / "s", l1weight=1.0, epochs=2, augment=True, streaming=True))
    for a, b in zip(memory.history, streamed.history):
        assert a["l1"] == pytest.approx(b["l1"], rel=1e-5)


@pytest.mark.parametrize("arch", ["edsr", "sr4rs"])
def test_x2_training_and_export(tmp_path, arch):
    from sr4rs import load_model

    d = tmp_path / "patches"
    d.mkdir()
    hr = str(d / "hr_image.tif")
    gdal.Translate(hr, EXAMPLE, srcWin=[100, 100, 128, 128])
    extract_patches(None, hr, str(d / "lr.tif"), str(d / "hr.tif"), 8, step=8, factor=2)
    cfg = TrainConfig(lr_patches=(str(d / "lr.tif"),), hr_patches=(str(d / "hr.tif"),), save_ckpt=str(tmp_path / "ck"),
                      arch=arch, depth=8, nresblocks=1, batchsize=8, epochs=3, l1weight=1.0, l2weight=0.0,
                      vggweight=0.0, ganweight=0.0, adam_lr=0.002, adam_b1=0.9, seed=1,
                      savedmodel=str(tmp_path / "model"))
    result = train(cfg)
    assert result.history[-1]["l1"] < result.history[0]["l1"]
    model = load_model(cfg.savedmodel)
    assert model.scale == 2
    out = model.predict(read(LANDSAT)[100:140, 20:60][None].astype(np.float32), 0)
    assert out.shape == (1, 80, 80, 3)
