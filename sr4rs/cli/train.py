"""``sr4rs train`` (and ``train.py``): train a generator on LR/HR patches and export a SavedModel.

Flag names and defaults are SR4RS's, so its documented command lines run unchanged;
each flag fills the TrainConfig field of the same name.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys

from . import options as opt
from .common import quiet_tensorflow, script_main, show_lines

PROG = "sr4rs train"
INTERRUPTED = "the checkpoints of the epochs finished before the stop (if any) are kept in --save_ckpt"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..api import LOSS_TYPES, NETWORKS, VGG_FEATURES, TrainConfig

    d = TrainConfig(lr_patches=(), hr_patches=(), save_ckpt="")
    p.add_argument("--lr_patches", nargs="+", required=True, help="LR patches images (OTBTF format), or patch set "
                   "folders (several inputs and a target, from sr4rs extract with several --input) for --arch fusion")
    p.add_argument("--hr_patches", nargs="+", default=(), help="HR patches images, same order as --lr_patches "
                   "(not with patch sets, which hold their target)")
    p.add_argument("--valid_lr_patches", nargs="+", default=(), help="validation LR patches or patch sets (PSNR vs "
                   "bicubic each epoch)")
    p.add_argument("--valid_hr_patches", nargs="+", default=(), help="validation HR patches")
    _path_arguments(p, d)
    p.add_argument("--vggfile", help="VGG19 weights (vgg19.npy) for the perceptual loss; nothing is downloaded")
    p.add_argument("--lr_scale", type=float, default=d.lr_scale, help="LR radiometric scaling (built into the model)")
    p.add_argument("--hr_scale", type=float, default=d.hr_scale, help="HR radiometric scaling (built into the model)")
    p.add_argument("--previews_step", type=int, default=d.previews_step, help="steps between previews "
                   f"(default {d.previews_step})")
    p.add_argument("--arch", choices=tuple(NETWORKS), default=d.arch, help="generator: " + "; ".join(
        f"{name}: {info.description}" for name, info in NETWORKS.items()) + f" (default {d.arch})")
    p.add_argument("--depth", type=int, default=d.depth, help="generator and discriminator depth")
    p.add_argument("--nresblocks", type=int, default=d.nresblocks, help="residual blocks in the generator")
    p.add_argument("--epochs", type=int, default=d.epochs, help="epochs to train (more, from --load_ckpt)")
    p.add_argument("--batchsize", type=int, default=d.batchsize, help="patch pairs per step (the global batch with "
                   "--strategy)")
    p.add_argument("--adam_lr", type=float, default=d.adam_lr, help="Adam learning rate")
    p.add_argument("--adam_b1", type=float, default=d.adam_b1, help="Adam beta1")
    p.add_argument("--l1weight", type=float, default=d.l1weight, help="L1 (mean absolute error) loss weight")
    p.add_argument("--l2weight", type=float, default=d.l2weight, help="L2 (mean squared error) loss weight")
    p.add_argument("--vggweight", type=float, default=d.vggweight, help="VGG loss weight (used with --vggfile)")
    # As in SR4RS, --vggfeatures and --losstype given without a value mean their defaults.
    p.add_argument("--vggfeatures", default=d.vggfeatures, const=d.vggfeatures, nargs="?",
                   choices=tuple(VGG_FEATURES), help="VGG19 layers the perceptual loss compares")
    p.add_argument("--ganweight", type=float, default=d.ganweight, help="adversarial loss weight (0: no GAN)")
    p.add_argument("--losstype", default=d.losstype, const=d.losstype, nargs="?", choices=LOSS_TYPES,
                   help="adversarial loss (with --ganweight above 0)")
    p.add_argument("--streaming", action="store_true", help="read patches from disk as needed (low RAM)")
    p.add_argument("--pretrain", action="store_true", help="first train --epochs on the pixel losses alone")
    p.add_argument("--augment", action="store_true", help="random flips and 90-degree rotations")
    p.add_argument("--seed", type=int, help="seed: the same seed repeats a run")
    p.add_argument("--keep_ckpt", type=int, default=d.keep_ckpt, help="checkpoints of the run kept (default "
                   f"{d.keep_ckpt}, as SR4RS)")
    p.add_argument("--bands", nargs="+", default=(), help="band names, in order, recorded in the model")
    _robust_arguments(p, d)
    _scale_out_arguments(p, d)
    _scene_arguments(p, d)
    p.add_argument("--nodata", type=float, help="nodata value recorded in the model (used by apply)")
    p.add_argument("--description", default="", help="free text recorded in the model")
    opt.no_progress(p)


def _path_arguments(p: argparse.ArgumentParser, d) -> None:
    """Checkpoints, export, previews and logs: SR4RS's meanings, sr4rs's stricter ones behind flags."""
    p.add_argument("--save_ckpt", required=True, help="checkpoint prefix, as SR4RS: each epoch is saved as "
                   "PREFIX + the run's name + -EPOCH (end it with / for a folder); with --ckpt_folder, a folder")
    p.add_argument("--load_ckpt", help="start from this checkpoint (prefix, or a folder: its newest), then train "
                   "--epochs more, as SR4RS; SR4RS's own checkpoints too (--arch sr4rs); with --ckpt_folder, resume "
                   "the run to --epochs; with --finetune, also a SavedModel (sr4rs's or SR4RS's) or a bundled model "
                   "by name (sr4rs models)")
    p.add_argument("--ckpt_folder", action="store_true", help="sr4rs's layout: --save_ckpt is a folder (config.json, "
                   "checkpoints), --logdir is used as given, and --load_ckpt FOLDER resumes a stopped run exactly")
    p.add_argument("--no_parents", action="store_true", help="refuse missing parent folders of --save_ckpt, "
                   "--logdir and --savedmodel (by default they are made, as SR4RS)")
    p.add_argument("--finetune", action="store_true", help="with --load_ckpt: keep the weights only, restart "
                   "the epoch count and the optimiser (to fine-tune a model on new data)")
    p.add_argument("--savedmodel", help="export a SavedModel here at the end (with --epochs 0 and --load_ckpt: "
                   "the checkpoint's weights as they are)")
    opt.overwrite(p, "an existing --savedmodel folder")
    p.add_argument("--preview", help="LR image (or product: its --bands) super-resolved into TensorBoard after "
                   "the first step and every --previews_step steps")
    p.add_argument("--preview_crop", type=int, default=d.preview_crop, metavar="N", help="preview the central N x N "
                   "LR pixels only (default 0: the whole image, as SR4RS)")
    p.add_argument("--sensor", metavar="NAME|FILE", help="the sensor of a --preview product (default: detected)")
    p.add_argument("--logdir", help="TensorBoard logs, as SR4RS: written in the folder --logdir + the run's name "
                   "(end it with / for a folder of runs); with --ckpt_folder, in --logdir itself")


def _robust_arguments(p: argparse.ArgumentParser, d) -> None:
    """Degradation-robust training and the schedules of the EDSR literature (Galar et al.)."""
    from ..api import DEGRADATIONS, SCHEDULES

    p.add_argument("--degradation", choices=DEGRADATIONS, default=d.degradation, help="fixed: the LR patches as "
                   "extracted; random: each LR patch made from its HR patch at every use, with a Gaussian blur of "
                   "sigma drawn in [0, --blur_max x factor] HR pixels (0: plain block averaging) and --noise")
    p.add_argument("--blur_max", type=float, default=d.blur_max, help="largest blur sigma, in units of the factor "
                   f"(default {d.blur_max})")
    p.add_argument("--anisotropic", action="store_true", help="random: one blur sigma per axis")
    p.add_argument("--noise", type=float, default=d.noise, help="random: largest sensor noise, as a fraction of "
                   "the patch's mean value (default 0)")
    p.add_argument("--shift", type=float, default=d.shift, help="largest misregistration of the LR patch, in LR "
                   "pixels (for true pairs; default 0)")
    p.add_argument("--lr_schedule", choices=SCHEDULES, default=d.lr_schedule, help="constant --adam_lr, or "
                   "onecycle (up to --adam_lr over 30 %% of the steps, then down, cosine)")
    p.add_argument("--progressive", action="store_true", help="progressive resizing: crops of 1/2, then 3/4 of the "
                   "patches, then whole patches, over thirds of the epochs")
    p.add_argument("--ema", type=float, default=d.ema, help="moving average of the weights (e.g. 0.999), used for "
                   "validation and export (default 0: none)")
    p.add_argument("--samweight", type=float, default=d.samweight, help="spectral angle loss weight (default 0)")
    p.add_argument("--consistency", action="store_true", help="export a last layer that makes the output's "
                   "factor x factor block means equal the input exactly")


def _scene_arguments(p: argparse.ArgumentParser, d) -> None:
    """What makes a model hold on scenes it never saw (docs/training.md)."""
    p.add_argument("--guide", default=d.guide, help="fusion: what the network corrects: regression (a local "
                   "regression of the coarse bands on the finest ones, the default) or none (the coarse bands "
                   "upsampled)")
    p.add_argument("--normalise", default=d.normalise, help="what the network sees: standard (each band centred "
                   "and divided by its local spread: gains and offsets of a scene or product level do not matter), "
                   "local (divided by its local mean; fusion), or fixed (times --lr_scale); default: the network's "
                   "(fusion: standard; edsr and sr4rs: fixed)")
    p.add_argument("--consistency_layer", default=d.consistency_layer, help="fusion: backprojection (the "
                   "default: the output, degraded as the model assumes, gives back its coarsest input) or none")
    p.add_argument("--gain", type=float, default=d.gain, help="radiometric augmentation: each sample times "
                   "exp(u), u drawn in [-gain, gain], each band by a fifth of that (e.g. 0.5; default 0: none)")
    p.add_argument("--offset", type=float, default=d.offset, help="radiometric augmentation: each band plus an "
                   "offset drawn in [-offset, offset], in the network's units (e.g. 0.02 in reflectance)")
    p.add_argument("--blur_zero", type=float, default=d.blur_zero, help="--degradation random: the probability "
                   "that the LR is the plain block mean (default 0)")


def _scale_out_arguments(p: argparse.ArgumentParser, d) -> None:
    """Several GPUs and machines (tf.distribute), float16 compute."""
    from ..api import STRATEGIES, TRAIN_PRECISIONS

    p.add_argument("--strategy", choices=STRATEGIES, default=d.strategy, help="none (default); mirrored: one "
                   "replica per GPU of this machine; multiworker: the workers TF_CONFIG describes, one process "
                   "each (MultiWorkerMirroredStrategy). --batchsize is the global batch, split across replicas; "
                   "only the chief writes checkpoints, logs and the model")
    p.add_argument("--mixed-precision", "--mixed_precision", dest="mixed_precision", action="store_true",
                   help="compute in float16 with float32 weights and dynamic loss scaling (for GPUs with tensor "
                   "cores; slow on CPUs); the exported model is float32. The same as --precision mixed_float16")
    p.add_argument("--precision", choices=TRAIN_PRECISIONS, default=d.precision, help="the networks' Keras dtype "
                   "policy: float32, mixed_float16 (GPUs with tensor cores) or mixed_bfloat16 (CPUs and TPUs with "
                   "bfloat16 units, no loss scaling); weights and the exported model stay float32")


def config_from_args(args: argparse.Namespace):
    from ..api import TrainConfig

    values = {}
    for f in dataclasses.fields(TrainConfig):
        value = getattr(args, f.name, f.default)
        values[f.name] = tuple(value) if isinstance(value, list) else value
    return TrainConfig(**values)


class _Bars:
    """One tqdm bar per epoch (on a terminal only), showing the step's losses."""

    def __init__(self, epochs: int, disable: bool):
        self.epochs, self.disable, self.bars = epochs, disable, {}

    def __call__(self, phase, epoch, i, steps, logs) -> None:
        from tqdm import tqdm

        key = (phase, epoch)
        if key not in self.bars:
            self.close()
            self.bars[key] = tqdm(total=steps, desc=f"{phase} {epoch + 1}/{self.epochs}", unit="step",
                                  disable=True if self.disable else None, dynamic_ncols=True)
        self.bars[key].update(1)
        self.bars[key].set_postfix({k: f"{v:.4g}" for k, v in logs.items()}, refresh=False)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars.clear()


def run(args: argparse.Namespace, cancel=None) -> int:
    from .. import api

    if args.preview and (args.sensor or api.is_product(args.preview)):  # a product: the bands of --bands
        args.preview = api.open_inputs(args.preview, args.bands or None, args.sensor)[0]
    if args.load_ckpt and args.finetune and not os.path.exists(args.load_ckpt) \
            and args.load_ckpt in api.list_model_names():
        args.load_ckpt = api.bundled_model_path(args.load_ckpt)  # --load_ckpt landsat-rgb-x4 --finetune
    cfg = config_from_args(args)
    api.check_train(cfg)  # at once, before TensorFlow starts
    quiet_tensorflow()
    show_lines("sr4rs.training")  # the run's folders, its time per epoch, each epoch's figures
    bars = _Bars(cfg.epochs, args.no_progress)
    try:
        result = api.train(cfg, bars, cancel)
    finally:
        bars.close()
    if result.history:
        print(f"trained {result.step} steps in {result.seconds:.0f} s", file=sys.stderr)
    else:
        print(f"no epoch run (--epochs {cfg.epochs}): the weights of --load_ckpt are kept as they are "
              f"({result.step} steps trained)", file=sys.stderr)
    if result.skipped:
        print(f"left out {result.skipped} patch pairs that are all fill (0 or the nodata value)", file=sys.stderr)
    return 0


def main(argv=None) -> int:
    """Entry point of the top-level ``train.py`` (SR4RS's train.py command lines run unchanged)."""
    return script_main(sys.modules[__name__], "train.py", argv)
