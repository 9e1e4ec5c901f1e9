"""Mixed precision with every network: SR4RS's generator (the default, with its GAN), EDSR and the fusion network
train under float16 (or bfloat16) compute and export float32 models whose outputs are finite."""
import os

import numpy as np
import pytest
from osgeo import gdal

from conftest import ROOT, S2_10M, S2_20M, run_cli
from sr4rs.api import TrainConfig, load_model, train
from sr4rs.data.extraction import extract_patches

EXAMPLE = os.path.join(ROOT, "examples", "landsat8_rgb_512.tif")


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    """Wald pairs from a 96 x 96 crop of the real Landsat sample (x4, LR patches 8 px)."""
    d = tmp_path_factory.mktemp("pairs")
    hr = str(d / "hr_image.tif")
    gdal.Translate(hr, EXAMPLE, srcWin=[100, 100, 96, 96])
    extract_patches(None, hr, str(d / "lr.tif"), str(d / "hr.tif"), 8, step=8, factor=4)
    return str(d / "lr.tif"), str(d / "hr.tif")


@pytest.fixture(scope="module")
def patch_set(tmp_path_factory):
    """A fusion patch set of the real Sentinel-2 crops: 10 m and 20 m bands."""
    from sr4rs import api

    folder = str(tmp_path_factory.mktemp("set") / "set")
    api.extract_set(api.plan_fusion_extraction([S2_10M, S2_20M], 12, step=12), folder)
    return folder


def _train(tmp_path, arch, lr, hr=(), **kw):
    cfg = TrainConfig(lr_patches=(lr,), hr_patches=hr, save_ckpt=str(tmp_path / "ckpt"), ckpt_folder=True,
                      arch=arch, depth=8, nresblocks=1, epochs=1, batchsize=4, seed=1,
                      savedmodel=str(tmp_path / "model"), **kw)
    result = train(cfg)
    assert all(np.isfinite(v) for h in result.history for k, v in h.items() if k != "phase"), result.history
    return load_model(cfg.savedmodel)


def test_the_default_network_with_its_gan_trains_with_the_flag(pairs, tmp_path):
    """SR4RS's generator blurred its float16 activations with a float32 kernel and stopped at the first step
    ("unexpected TypeError ... Blur.call()"). Its losses here are SR4RS's defaults: L2 and WGAN-GP."""
    proc = run_cli("train.py", "--lr_patches", pairs[0], "--hr_patches", pairs[1], "--save_ckpt",
                   str(tmp_path / "ckpt") + os.sep, "--depth", "8", "--nresblocks", "1", "--epochs", "1",
                   "--savedmodel", str(tmp_path / "model"), "--mixed-precision", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert "losses L2 x1000, WGAN-GP GAN x1" in proc.stdout and "train epoch 1/1" in proc.stdout, proc.stdout
    out = load_model(str(tmp_path / "model")).predict(np.full((1, 16, 16, 3), 1000.0, np.float32), 0)
    assert out.dtype == np.float32 and out.shape == (1, 64, 64, 3) and np.isfinite(out).all()


def test_edsr_trains_in_bfloat16(pairs, tmp_path):
    """--precision takes Keras's policies: bfloat16 compute (no loss scaling), for CPUs and TPUs that have it."""
    model = _train(tmp_path, "edsr", pairs[0], (pairs[1],), precision="mixed_bfloat16", ganweight=0.0,
                   l1weight=1.0, l2weight=0.0)
    assert np.isfinite(model.predict(np.full((1, 16, 16, 3), 1000.0, np.float32), 0)).all()
    import keras
    assert keras.config.dtype_policy().name == "float32"  # the process's policy is left as it was


def test_fusion_trains_in_mixed_precision(patch_set, tmp_path):
    model = _train(tmp_path, "fusion", patch_set, mixed_precision=True, ganweight=0.0, l1weight=1.0, l2weight=0.0)
    assert len(model.inputs) == 2


def test_precision_and_the_flag_must_agree(pairs, tmp_path):
    from sr4rs.api import InputError, check_train

    with pytest.raises(InputError, match="--mixed-precision means --precision mixed_float16"):
        check_train(TrainConfig(lr_patches=(pairs[0],), hr_patches=(pairs[1],), save_ckpt=str(tmp_path / "c"),
                                mixed_precision=True, precision="mixed_bfloat16"))
