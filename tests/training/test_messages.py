"""What a training run tells: its name says the losses it computes, it prints its folders at start and end, an
estimate of the time per epoch before its first epoch ends, each epoch's validation PSNR, and, stopped, only what
is true about the checkpoints it leaves."""
import os
import re

import pytest
from osgeo import gdal

from conftest import ROOT, run_cli
from sr4rs.api import CancelToken, TrainConfig, train
from sr4rs.data.extraction import extract_patches
from sr4rs.errors import Cancelled
from sr4rs.training.config import sr4rs_run_name

EXAMPLE = os.path.join(ROOT, "examples", "landsat8_rgb_512.tif")


@pytest.fixture(scope="module")
def patches(tmp_path_factory):
    """Wald pairs from a 160 x 160 crop of the real Landsat sample (x4, LR patches 8 px), a fifth for validation."""
    d = tmp_path_factory.mktemp("patches")
    hr = str(d / "hr_image.tif")
    gdal.Translate(hr, EXAMPLE, srcWin=[100, 100, 160, 160])
    extract_patches(None, hr, str(d / "lr.tif"), str(d / "hr.tif"), 8, step=8, factor=4, val_fraction=0.2, seed=0)
    return {k: str(d / f"{k}.tif") for k in ("lr_train", "hr_train", "lr_val", "hr_val")}


def test_the_run_name_says_the_losses_used():
    base = dict(lr_patches=(), hr_patches=(), save_ckpt="x")
    edsr_l1 = sr4rs_run_name(TrainConfig(**base, arch="edsr", ganweight=0, l1weight=1, l2weight=0))
    assert "_L1-1" in edsr_l1 and not re.search("Loss|VGG|Gan|L2", edsr_l1), edsr_l1
    gan = sr4rs_run_name(TrainConfig(**base))  # SR4RS's defaults, no --vggfile: no VGG loss computed
    assert "_Gan1.0_L2-1000.0_LossWGAN-GP_" in gan and "VGG" not in gan
    vgg = sr4rs_run_name(TrainConfig(**base, vggfile="vgg19.npy", samweight=0.5))
    assert "_SAM0.5_VGG1e-05_VGGFeat1234_LossWGAN-GP_" in vgg


def test_the_command_says_its_folders_its_time_per_epoch_and_each_epochs_validation(patches, tmp_path):
    ckpt, logs, model = tmp_path / "ckpt", tmp_path / "logs", tmp_path / "model"
    proc = run_cli("train.py", "--lr_patches", patches["lr_train"], "--hr_patches", patches["hr_train"],
                   "--valid_lr_patches", patches["lr_val"], "--valid_hr_patches", patches["hr_val"],
                   "--arch", "edsr", "--depth", "8", "--nresblocks", "1", "--epochs", "2", "--batchsize", "4",
                   "--ganweight", "0", "--l1weight", "1", "--l2weight", "0", "--save_ckpt", str(ckpt),
                   "--logdir", str(logs) + os.sep, "--savedmodel", str(model), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()  # the run's report; stderr holds the bar and errors only
    start = next(i for i, line in enumerate(lines) if line.startswith("run SR4RS_E2_"))
    assert "edsr generator, losses L1 x1;" in lines[start] and "WGAN" not in lines[start], lines
    assert lines[start + 1].startswith(f"writes: checkpoints {tmp_path}{os.sep}ckptSR4RS_") and \
        f"TensorBoard logs in {logs}{os.sep}SR4RS_" in lines[start + 1] and str(model) in lines[start + 1]
    # --save_ckpt without a trailing / is a prefix: one line says where its files go and how to get a folder
    assert f"end it with / (--save_ckpt {ckpt}/)" in lines[start + 2]
    timing = next(i for i, line in enumerate(lines) if line.startswith("time: about "))
    first_epoch = next(i for i, line in enumerate(lines) if line.startswith("train epoch 1/2"))
    assert start < timing < first_epoch and "per epoch" in lines[timing] and "for 2 epoch(s)" in lines[timing]
    epochs = [line for line in lines if re.match(r"train epoch \d/2 \(", line)]
    # the loss and its one term (L2 and VGG, of weight 0, left out), the validation PSNR against bicubic
    assert len(epochs) == 2 and all(re.search(r"\): loss [\d.e-]+, l1 [\d.e-]+; validation PSNR [\d.]+ dB "
                                              r"\(bicubic [\d.]+ dB, [+-][\d.]+\)$", e) for e in epochs), epochs
    done = next(line for line in lines if line.startswith("done: "))
    assert re.search(r"last checkpoint .*ckptSR4RS_.*-1; TensorBoard logs in .*; model in ", done), done
    assert os.path.exists(re.search(r"last checkpoint (\S+);", done).group(1) + ".index")


def _cfg(patches, tmp_path, **kw):
    return TrainConfig(lr_patches=(patches["lr_train"],), hr_patches=(patches["hr_train"],),
                       save_ckpt=str(tmp_path / "ckpt"), ckpt_folder=True, arch="edsr", depth=8, nresblocks=1,
                       epochs=3, batchsize=4, ganweight=0.0, l1weight=1.0, l2weight=0.0, seed=1, **kw)


@pytest.mark.parametrize("stop_epoch", [0, 1])
def test_an_interrupted_run_says_what_it_keeps(patches, tmp_path, stop_epoch):
    """Stopped in its first epoch, a run has written no checkpoint and says so (it said they were kept);
    stopped later, it names its last one."""
    token = CancelToken()

    def on_step(phase, epoch, i, steps, logs):
        if epoch == stop_epoch and i == 2:
            token.cancel("stopped by SIGTERM")

    with pytest.raises(Cancelled) as stopped:
        train(_cfg(patches, tmp_path), on_step, token)
    if stop_epoch == 0:
        assert stopped.value.kept.startswith("no checkpoint had been written")
        assert not (tmp_path / "ckpt").exists()  # the folder it made is gone too
    else:
        assert re.fullmatch(r"the last checkpoint is .*ckpt-\d+ \(in .*ckpt\); --load_ckpt .*ckpt resumes it",
                            stopped.value.kept), stopped.value.kept
        assert os.path.exists(re.search(r"is (\S+) ", stopped.value.kept).group(1) + ".index")
