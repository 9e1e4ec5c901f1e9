"""SR4RS users' runs: its checkpoints export unchanged (train.py --load_ckpt PREFIX --epochs 0 --savedmodel OUT) and
resume with their optimiser state, its SavedModel starts --finetune, and train.py's paths mean what they mean in
SR4RS (--save_ckpt a prefix, --logdir a parent of the run's folder, missing parents made, previews every
--previews_step steps), with sr4rs's stricter layout behind --ckpt_folder and --no_parents."""
import glob
import os

import numpy as np
import pytest

from conftest import run_cli
from sr4rs_reference import CHECKPOINT, NETWORK, SAVEDMODEL, landsat_patches, reference_io  # noqa: F401

TOLERANCE = 1e-5  # relative to the outputs' range: SR4RS's outputs were made on another machine


def _cfg(patches, **kw):
    from sr4rs.api import TrainConfig

    base = dict(lr_patches=(patches["lr"],), hr_patches=(patches["hr"],), depth=8, nresblocks=1, epochs=1, seed=3)
    base.update(kw)
    return TrainConfig(**base)


def _sr4rs_outputs_agree(model_path, reference_io):
    from sr4rs.api import load_model

    model = load_model(model_path)
    for pad in (32, 64):
        ours, theirs = model.predict(reference_io["lr_input"], pad), reference_io[f"output_{pad}"]
        assert ours.shape == theirs.shape
        assert np.max(np.abs(ours - theirs)) / np.max(np.abs(theirs)) < TOLERANCE, pad


def test_an_sr4rs_checkpoint_exports_unchanged_with_epochs_0(landsat_patches, reference_io, tmp_path):
    out = tmp_path / "not" / "yet" / "model"  # SR4RS makes missing parents
    result = run_cli("train.py", "--lr_patches", landsat_patches["lr"], "--hr_patches", landsat_patches["hr"],
                     "--save_ckpt", str(tmp_path / "ckpt_"), "--load_ckpt", CHECKPOINT, "--epochs", "0",
                     "--savedmodel", str(out), "--no-progress", *NETWORK)
    assert result.returncode == 0, result.stderr
    assert "no epoch run" in result.stderr and "left out 13 patch pairs" in result.stderr, result.stderr
    _sr4rs_outputs_agree(str(out), reference_io)
    assert not glob.glob(str(tmp_path / "ckpt_*.index"))  # nothing trained, no checkpoint


def test_an_sr4rs_savedmodel_starts_finetune(landsat_patches, reference_io, tmp_path):
    from sr4rs.api import train

    result = train(_cfg(landsat_patches, save_ckpt=str(tmp_path / "c_"), load_ckpt=SAVEDMODEL, finetune=True,
                        epochs=0, savedmodel=str(tmp_path / "m")))
    assert result.step == 0 and result.skipped == 13
    _sr4rs_outputs_agree(str(tmp_path / "m"), reference_io)


def test_an_sr4rs_checkpoint_resumed_with_ema_averages_from_its_weights(landsat_patches, reference_io, tmp_path):
    """SR4RS's checkpoints hold no moving average: with --ema the average starts from the weights restored."""
    from sr4rs.api import train

    train(_cfg(landsat_patches, save_ckpt=str(tmp_path / "e_"), load_ckpt=CHECKPOINT, epochs=0, ema=0.5,
               savedmodel=str(tmp_path / "m")))
    _sr4rs_outputs_agree(str(tmp_path / "m"), reference_io)


def test_network_flags_other_than_the_checkpoints_are_named(landsat_patches, tmp_path):
    from sr4rs.api import TrainingError, train

    with pytest.raises(TrainingError, match="made with --depth 8 --nresblocks 1 on 3-band patches"):
        train(_cfg(landsat_patches, save_ckpt=str(tmp_path / "a_"), load_ckpt=CHECKPOINT, depth=16))
    with pytest.raises(TrainingError, match="train with --arch sr4rs"):
        train(_cfg(landsat_patches, save_ckpt=str(tmp_path / "b_"), load_ckpt=CHECKPOINT, arch="edsr"))


def _pairs(patches):
    from sr4rs.io.patches import read_patches

    lr, hr = (read_patches(patches[k]) for k in ("lr", "hr"))
    keep = np.flatnonzero(lr.reshape(len(lr), -1).any(axis=1) & hr.reshape(len(hr), -1).any(axis=1))[:4]
    return lr[keep], hr[keep]


def _l2(gan, lr, hr):
    lr_n, hr_n = gan._normalised(lr, hr)
    return gan.generator_terms(gan.losses.reals(hr_n), gan.estimates(lr_n))["l2"]


def test_training_resumes_from_an_sr4rs_checkpoint(landsat_patches, tmp_path):
    """The networks and the three Adam optimisers (moments, step counts) are SR4RS's; the run trains --epochs
    more, from there, and writes its checkpoints as SR4RS names them."""
    import tensorflow as tf

    from sr4rs.api import train
    from sr4rs.training.checkpoints import Checkpoints, Counters
    from sr4rs.training.data import describe_data
    from sr4rs.training.gan import SRGAN

    cfg = _cfg(landsat_patches, save_ckpt=str(tmp_path / "run_"), load_ckpt=CHECKPOINT)
    gan, counters = SRGAN(cfg, describe_data(cfg)), Counters()
    Checkpoints(gan, counters, cfg, 5).restore(CHECKPOINT)
    reader = tf.train.load_checkpoint(CHECKPOINT)
    # SR4RS trained 64 steps (256 patches, batches of 4), without pre-training
    assert (int(gan.g_opt.iterations), int(gan.d_opt.iterations), int(gan.p_opt.iterations)) == (64, 64, 0)
    assert counters["step"] == 64 and counters["epoch"] == 0
    kernel = gan.generator.get_layer("res_2x.conv3").kernel
    index = gan.g_opt._get_variable_index(kernel)
    np.testing.assert_array_equal(gan.g_opt._velocities[index].numpy(),
                                  reader.get_tensor("apply_gen_gradients/gen/res_2x/conv3/weight/Adam_1"))

    # the weights are the trained ones: on real pairs, an L2 far below a fresh network's
    lr, hr = _pairs(landsat_patches)
    loaded = float(_l2(gan, lr, hr))
    assert loaded < 0.5 * float(_l2(SRGAN(cfg, describe_data(cfg)), lr, hr))

    resumed = train(cfg)
    assert resumed.step == 64 + 2  # 11 pairs hold an image: 2 batches of 4
    assert resumed.history[0]["l2"] < 5 * loaded, resumed.history
    # SR4RS's name, less the VGG loss the run does not compute (no --vggfile)
    saved = glob.glob(str(tmp_path / "run_SR4RS_E1_B4_LR0.001_Gan1.0_L2-1000.0_LossWGAN-GP"
                                     "_D8_RB1_LRSC0.0001_HRSC0.0001_*-0.index"))
    assert len(saved) == 1, os.listdir(tmp_path)


def test_an_sr4rs_arch_checkpoint_of_sr4rs_exports_unchanged(landsat_patches, tmp_path):
    from sr4rs.api import load_model, train

    first = train(_cfg(landsat_patches, save_ckpt=str(tmp_path / "ck") + os.sep, savedmodel=str(tmp_path / "m1"),
                       logdir=str(tmp_path / "logs") + os.sep, ganweight=0.0))
    prefix = glob.glob(str(tmp_path / "ck" / "SR4RS_*-0.index"))[0][:-len(".index")]
    assert len(glob.glob(str(tmp_path / "logs" / "SR4RS_*" / "events.*"))) == 1  # SR4RS's run folder
    again = train(_cfg(landsat_patches, save_ckpt=str(tmp_path / "ck2_"), load_ckpt=prefix, epochs=0,
                       savedmodel=str(tmp_path / "m2"), ganweight=0.0))
    assert again.step == first.step and again.history == []
    lr = np.load(os.path.join(os.path.dirname(CHECKPOINT), "..", "reference_io.npz"))["lr_input"]
    np.testing.assert_array_equal(load_model(str(tmp_path / "m1")).predict(lr, 32),
                                  load_model(str(tmp_path / "m2")).predict(lr, 32))


def test_sr4rs_stricter_layout_and_parents(landsat_patches, tmp_path):
    from sr4rs.api import train
    from sr4rs.errors import OutputError

    result = train(_cfg(landsat_patches, arch="edsr", ganweight=0.0, save_ckpt=str(tmp_path / "folder"),
                        ckpt_folder=True, logdir=str(tmp_path / "logs"), epochs=2))
    assert result.step == 4
    assert (tmp_path / "folder" / "config.json").is_file() and (tmp_path / "folder" / "checkpoint").is_file()
    assert glob.glob(str(tmp_path / "logs" / "events.*"))  # --logdir used as given
    with pytest.raises(OutputError, match="does not exist"):
        train(_cfg(landsat_patches, arch="edsr", ganweight=0.0, save_ckpt=str(tmp_path / "c_"), no_parents=True,
                   savedmodel=str(tmp_path / "missing" / "model")))
    assert not glob.glob(str(tmp_path / "c_*"))


def test_previews_every_previews_step_steps(landsat_patches, tmp_path):
    """The whole preview image (as SR4RS) after the first step and every --previews_step steps; or a crop."""
    import tensorflow as tf

    from conftest import LANDSAT
    from sr4rs.api import train

    train(_cfg(landsat_patches, arch="edsr", ganweight=0.0, save_ckpt=str(tmp_path / "c_"), epochs=3,
               previews_step=2, preview=LANDSAT, logdir=str(tmp_path / "logs") + os.sep, ckpt_folder=False))
    steps = {}
    for path in glob.glob(str(tmp_path / "logs" / "*" / "events.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.tag.startswith("preview/"):
                    steps.setdefault(value.tag, []).append(event.step)
                    shape = tf.make_ndarray(value.tensor).tolist()[:2] if value.HasField("tensor") else None
    assert steps == {f"preview/scale_{i}": [1, 3, 5] for i in range(3)}, steps
    assert shape == [b"812", b"628"]  # the whole 203 x 157 image, x4
