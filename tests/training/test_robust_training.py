"""The training flags for models that hold up on other imagery, each on tiny real Landsat patches: random
degradations drawn per patch, misregistration, one-cycle schedule, progressive resizing, fine-tuning from a
SavedModel, a moving average of the weights, a spectral angle loss, and the exact-consistency export."""
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from osgeo import gdal

from conftest import ROOT, read
from sr4rs.api import TrainConfig, TrainingError, load_model, train
from sr4rs.data.datasets import PatchesDataset
from sr4rs.data.extraction import extract_patches
from sr4rs.geo.degrade import block_mean, degrade
from sr4rs.training.degradations import blur_and_average, make_transform, progressive_fraction, shift_image
from sr4rs.training.gan import OneCycle

EXAMPLE = os.path.join(ROOT, "examples", "landsat8_rgb_512.tif")


@pytest.fixture(scope="module")
def patches(tmp_path_factory):
    d = tmp_path_factory.mktemp("robust")
    hr = str(d / "hr_image.tif")
    gdal.Translate(hr, EXAMPLE, srcWin=[100, 100, 192, 192])
    extract_patches(None, hr, str(d / "lr.tif"), str(d / "hr.tif"), 8, step=8, factor=4)
    return {"lr": str(d / "lr.tif"), "hr": str(d / "hr.tif"), "image": hr}


def _cfg(patches, tmp_path, **kw):
    base = dict(lr_patches=(patches["lr"],), hr_patches=(patches["hr"],), save_ckpt=str(tmp_path / "ckpt"),
                arch="edsr", depth=8, nresblocks=1, batchsize=4, epochs=2, l1weight=1.0, l2weight=0.0,
                vggweight=0.0, ganweight=0.0, adam_lr=0.002, adam_b1=0.9, seed=1, ckpt_folder=True)
    base.update(kw)
    return TrainConfig(**base)


def _hr_patch():
    return read(EXAMPLE)[40:72, 40:72].astype(np.float32)


def test_no_blur_is_plain_block_averaging_and_a_wald_blur_matches_walds_lr():
    hr = _hr_patch()
    np.testing.assert_allclose(blur_and_average(tf.constant(hr), 4, 0.0, 0.0, 6).numpy(), block_mean(hr, 4),
                               rtol=1e-5)
    # Away from the patch's mirrored edges, sigma = 4/3 is Wald's degradation of sr4rs extract.
    ours = blur_and_average(tf.constant(hr), 4, 4 / 3, 4 / 3, 6).numpy()
    np.testing.assert_allclose(ours[2:-2, 2:-2], degrade(hr, 4)[2:-2, 2:-2], rtol=2e-3)


def test_random_degradation_draws_a_blur_per_patch_and_adds_noise():
    hr = tf.constant(_hr_patch())
    lr = tf.zeros((8, 8, 3))
    plain = block_mean(_hr_patch(), 4)
    transform = make_transform(4, "random", 0.5, False, 0.0, 0.0)
    outs = [transform((lr, hr), tf.constant([i, 7], tf.int64))[0].numpy() for i in range(8)]
    spreads = [np.abs(o - plain).mean() for o in outs]
    assert len({round(float(s), 6) for s in spreads}) >= 6  # a blur drawn for every patch
    assert min(spreads) < 2 and max(spreads) > 20  # from (nearly) no blur to the range's end
    again = transform((lr, hr), tf.constant([3, 7], tf.int64))[0].numpy()
    np.testing.assert_array_equal(again, outs[3])  # the same seed, the same draw
    noisy = make_transform(4, "random", 0.0, False, 0.05, 0.0)
    diffs = [noisy((lr, hr), tf.constant([i, 1], tf.int64))[0].numpy() - plain for i in range(4)]
    assert max(d.std() for d in diffs) > 10  # DN around 8000: up to 5 % noise


def test_anisotropic_blur_differs_along_the_two_axes():
    hr = tf.constant(_hr_patch())
    lr = blur_and_average(hr, 4, 2.0, 0.0, 6).numpy()
    rows, cols = np.abs(np.diff(lr, axis=0)).mean(), np.abs(np.diff(lr, axis=1)).mean()
    assert rows < 0.8 * cols  # blurred across rows only
    iso, aniso = (make_transform(4, "random", 0.5, a, 0.0, 0.0) for a in (False, True))
    hr_t, lr0 = tf.constant(_hr_patch()), tf.zeros((8, 8, 3))
    seed = tf.constant([5, 2], tf.int64)
    a, b = iso((lr0, hr_t), seed)[0].numpy(), aniso((lr0, hr_t), seed)[0].numpy()
    assert not np.allclose(a, b)  # the same draw across rows, another across columns


def test_misregistration_shifts_the_lr_patch():
    image = tf.constant(read(EXAMPLE)[:16, :16].astype(np.float32))
    moved = shift_image(image, 0.0, 1.0).numpy()
    np.testing.assert_allclose(moved[:, 1:], image.numpy()[:, :-1], rtol=1e-5)  # one pixel to the right
    half = shift_image(image, 0.5, 0.0).numpy()
    np.testing.assert_allclose(half[1:], (image.numpy()[1:] + image.numpy()[:-1]) / 2, rtol=1e-5)


def test_the_dataset_makes_lr_patches_on_the_fly(patches):
    source = PatchesDataset([patches["lr"]], [patches["hr"]])
    fixed = next(iter(source.batches(4, shuffle=False)))[0].numpy()
    transform = make_transform(4, "random", 0.5, False, 0.0, 0.0)
    first = next(iter(source.batches(4, shuffle=False, seed=1, transform=transform)))[0].numpy()
    second = next(iter(source.batches(4, shuffle=False, seed=2, transform=transform)))[0].numpy()
    assert first.shape == fixed.shape and not np.allclose(first, fixed) and not np.allclose(first, second)


def test_progressive_resizing_grows_the_patches(patches):
    assert [progressive_fraction(e, 6) for e in range(6)] == [0.5, 0.5, 0.75, 0.75, None, None]
    source = PatchesDataset([patches["lr"]], [patches["hr"]])
    lr, hr = next(iter(source.batches(4, transform=make_transform(4, "fixed", 0.5, False, 0.0, 0.0, crop=0.5))))
    assert lr.shape[1:3] == (4, 4) and hr.shape[1:3] == (16, 16)


def test_one_cycle_rises_then_falls():
    schedule = OneCycle(0.01, 100)
    rates = [float(schedule(s)) for s in (0, 15, 30, 60, 99)]
    assert rates[0] == pytest.approx(0.01 / 25) and rates[2] == pytest.approx(0.01)
    assert rates[0] < rates[1] < rates[2] > rates[3] > rates[4] and rates[4] < 0.0002


def test_one_cycle_and_progressive_training_runs_to_the_end(patches, tmp_path):
    result = train(_cfg(patches, tmp_path, epochs=3, lr_schedule="onecycle", progressive=True, logdir=str(tmp_path / "logs")))
    assert result.epoch == 3 and all(np.isfinite(h["loss"]) for h in result.history)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "logs"))
    events.Reload()
    rates = [float(tf.make_ndarray(e.tensor_proto)) for e in events.Tensors("learning_rate")]
    assert rates[0] < max(rates) and rates[-1] < max(rates) / 10  # logged as it changes


def test_random_degradation_training_learns(patches, tmp_path):
    result = train(_cfg(patches, tmp_path, epochs=4, degradation="random", noise=0.01, shift=0.25))
    losses = [h["loss"] for h in result.history]
    assert losses[-1] < losses[0]


def test_spectral_angle_loss_is_a_term_of_the_loss(patches, tmp_path):
    plain = train(_cfg(patches, tmp_path / "a"))
    with_sam = train(_cfg(patches, tmp_path / "b", samweight=10.0))
    assert "sam" not in plain.history[0] and with_sam.history[0]["sam"] > 0
    first = with_sam.history[0]
    assert first["loss"] == pytest.approx(first["l1"] + 10.0 * first["sam"], rel=1e-4)


def test_ema_exports_the_averaged_weights(patches, tmp_path):
    result = train(_cfg(patches, tmp_path, ema=0.9, savedmodel=str(tmp_path / "model"), epochs=2))
    from sr4rs.nets import build_generator

    checkpoint = tf.train.latest_checkpoint(str(tmp_path / "ckpt"))
    shadow = tf.train.load_checkpoint(checkpoint).get_tensor("ema/0/.ATTRIBUTES/VARIABLE_VALUE")  # head/kernel's
    generator = build_generator("edsr", 3, 4, 8, 1)
    tf.train.Checkpoint(generator=generator).restore(checkpoint).expect_partial()
    raw = generator.get_layer("head").kernel.numpy()
    assert not np.allclose(shadow, raw)  # the average lags behind the weights
    exported = {v.name.split(":")[0]: v.numpy() for v in tf.saved_model.load(str(tmp_path / "model")).variables}
    np.testing.assert_allclose(exported["head/kernel"], shadow, rtol=1e-6)
    assert result.savedmodel


def test_finetune_starts_from_a_savedmodels_weights(patches, tmp_path):
    train(_cfg(patches, tmp_path / "a", epochs=3, savedmodel=str(tmp_path / "model")))
    exported = {v.name.split(":")[0]: v.numpy() for v in tf.saved_model.load(str(tmp_path / "model")).variables}
    tuned = train(_cfg(patches, tmp_path / "b", epochs=1, adam_lr=1e-9, finetune=True,
                       load_ckpt=str(tmp_path / "model"), savedmodel=str(tmp_path / "tuned")))
    assert tuned.epoch == 1  # counters restart
    after = {v.name.split(":")[0]: v.numpy() for v in tf.saved_model.load(str(tmp_path / "tuned")).variables}
    np.testing.assert_allclose(after["head/kernel"], exported["head/kernel"], atol=1e-6)
    fresh = train(_cfg(patches, tmp_path / "c", epochs=1, adam_lr=1e-9, savedmodel=str(tmp_path / "fresh")))
    other = {v.name.split(":")[0]: v.numpy() for v in tf.saved_model.load(str(tmp_path / "fresh")).variables}
    assert not np.allclose(other["head/kernel"], exported["head/kernel"]) and fresh.step >= 1
    with pytest.raises(TrainingError, match="is a SavedModel: it holds weights only, .*: add --finetune"):
        train(_cfg(patches, tmp_path / "d", load_ckpt=str(tmp_path / "model")))
    with pytest.raises(TrainingError, match="has no weight"):
        train(_cfg(patches, tmp_path / "e", depth=16, finetune=True, load_ckpt=str(tmp_path / "model")))


def test_finetune_with_ema_averages_from_the_loaded_weights(patches, tmp_path):
    """The moving average starts from the weights fine-tuned, not from the random initialisation: with a
    negligible learning rate the exported (averaged) weights are the loaded ones."""
    train(_cfg(patches, tmp_path / "a", epochs=2, savedmodel=str(tmp_path / "model")))
    exported = {v.name.split(":")[0]: v.numpy() for v in tf.saved_model.load(str(tmp_path / "model")).variables}
    train(_cfg(patches, tmp_path / "b", epochs=1, adam_lr=1e-9, finetune=True, ema=0.5,
               load_ckpt=str(tmp_path / "model"), savedmodel=str(tmp_path / "tuned")))
    tuned = {v.name.split(":")[0]: v.numpy() for v in tf.saved_model.load(str(tmp_path / "tuned")).variables}
    np.testing.assert_allclose(tuned["head/kernel"], exported["head/kernel"], atol=1e-6)


def test_consistency_export_makes_the_outputs_block_means_the_input(patches, tmp_path):
    train(_cfg(patches, tmp_path, consistency=True, savedmodel=str(tmp_path / "model")))
    meta = json.loads((tmp_path / "model" / "assets.extra" / "sr4rs.json").read_text())
    assert meta["consistency"] == "block"
    model = load_model(str(tmp_path / "model"))
    lr = read(EXAMPLE)[:40, :40].astype(np.float32)
    out = model.predict(lr[None], 0)[0]
    np.testing.assert_allclose(block_mean(out, 4), lr, rtol=0, atol=0.02)  # float32 rounding on ~8000
    plain = tmp_path / "plain"
    train(_cfg(patches, tmp_path / "p", savedmodel=str(plain)))
    other = load_model(str(plain)).predict(lr[None], 0)[0]
    assert np.abs(block_mean(other, 4) - lr).max() > 1.0  # without the layer it is not exact


def test_finetune_from_a_bundled_model_by_name(patches, tmp_path):
    """`train.py --load_ckpt landsat-rgb-x4 --finetune` starts from the bundled model's weights."""
    from conftest import run_cli
    from sr4rs.api import bundled_model_path
    proc = run_cli("train.py", "--lr_patches", patches["lr"], "--hr_patches", patches["hr"], "--arch", "edsr",
                   "--depth", "32", "--nresblocks", "8", "--epochs", "1", "--batchsize", "4", "--adam_lr", "1e-9",
                   "--ganweight", "0", "--vggweight", "0", "--l2weight", "0", "--load_ckpt", "landsat-rgb-x4",
                   "--finetune", "--save_ckpt", str(tmp_path / "ckpt"), "--savedmodel", str(tmp_path / "tuned"),
                   "--no-progress")
    assert proc.returncode == 0, proc.stderr
    bundled = {v.name.split(":")[0]: v.numpy()
               for v in tf.saved_model.load(bundled_model_path("landsat-rgb-x4")).variables}
    tuned = {v.name.split(":")[0]: v.numpy() for v in tf.saved_model.load(str(tmp_path / "tuned")).variables}
    np.testing.assert_allclose(tuned["head/kernel"], bundled["head/kernel"], atol=1e-6)
