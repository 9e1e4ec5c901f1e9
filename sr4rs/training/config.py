"""The training configuration: every flag of ``train.py`` (names and defaults are SR4RS's), resolved
once into a frozen object, checked, and saved beside the checkpoints."""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from typing import Optional, Tuple

from ..errors import InputError
from ..io.files import check_creatable_folder, check_writable_folder
from ..io.paths import Read, Target, check_targets, savedmodel_folder
from ..nets import NETWORKS
from ..nets.vgg import FEATURES

LOSS_TYPES = ("WGAN-GP", "LSGAN")
DEGRADATIONS = ("fixed", "random")
SCHEDULES = ("constant", "onecycle")
# Keras dtype policies: float32; float16 or bfloat16 compute with float32 weights (--mixed-precision: float16)
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


@dataclass(frozen=True)
class TrainConfig:
    """Every flag of ``train.py``; defaults and names are SR4RS's."""

    lr_patches: Tuple[str, ...]
    hr_patches: Tuple[str, ...]
    save_ckpt: str
    load_ckpt: Optional[str] = None
    finetune: bool = False
    savedmodel: Optional[str] = None
    overwrite: bool = False
    preview: Optional[str] = None
    logdir: Optional[str] = None
    vggfile: Optional[str] = None
    valid_lr_patches: Tuple[str, ...] = ()
    valid_hr_patches: Tuple[str, ...] = ()
    lr_scale: float = 0.0001
    hr_scale: float = 0.0001
    previews_step: int = 200
    arch: str = "sr4rs"
    depth: int = 64
    nresblocks: int = 16
    epochs: int = 120
    batchsize: int = 4
    # Defaults of SR4RS's latest train.py, so that its command lines train the same way.
    adam_lr: float = 0.001
    adam_b1: float = 0.0
    l1weight: float = 0.0
    l2weight: float = 1000.0
    vggweight: float = 0.00001
    vggfeatures: str = "1234"
    ganweight: float = 1.0
    losstype: str = "WGAN-GP"
    streaming: bool = False
    pretrain: bool = False
    augment: bool = False
    seed: Optional[int] = None
    keep_ckpt: int = 5  # SR4RS's Saver keeps 5
    bands: Tuple[str, ...] = ()
    nodata: Optional[float] = None
    description: str = ""
    # Degradation-robust training and the schedules of the EDSR literature for Sentinel-2 (Galar et al.).
    degradation: str = "fixed"  # fixed: the LR patches as extracted; random: made from the HR patch each time
    blur_max: float = 0.5  # random: Gaussian sigma drawn in [0, blur_max x factor] HR pixels
    anisotropic: bool = False
    noise: float = 0.0  # random: noise std drawn in [0, noise] x the patch's mean absolute value
    shift: float = 0.0  # misregistration drawn in [-shift, shift] LR pixels
    lr_schedule: str = "constant"  # constant, or onecycle
    progressive: bool = False  # growing patch sizes: 1/2, 3/4, then the whole patch
    ema: float = 0.0  # exponential moving average of the weights (momentum; 0: none)
    samweight: float = 0.0  # spectral angle loss weight
    consistency: bool = False  # export with the exact-consistency layer
    # Paths and previews: SR4RS's meanings unless these flags ask for sr4rs's stricter ones.
    ckpt_folder: bool = False  # --save_ckpt and --logdir are folders used as given; --load_ckpt FOLDER resumes
    no_parents: bool = False  # refuse missing parent folders instead of creating them
    preview_crop: int = 0  # preview the central N x N LR pixels (0: the whole image, as SR4RS)
    run_name: str = ""  # SR4RS's name of the run (flags and start time), set when the run starts

    @property
    def ckpt_prefix(self) -> str:
        """Where checkpoints go: SR4RS's ``--save_ckpt`` + run name (each checkpoint adds ``-EPOCH``), or the
        ``--ckpt_folder``."""
        return self.save_ckpt if self.ckpt_folder else self.save_ckpt + self.run_name

    @property
    def log_folder(self) -> Optional[str]:
        """The TensorBoard folder: SR4RS's ``--logdir`` + run name, or ``--logdir`` itself with --ckpt_folder."""
        if not self.logdir:
            return None
        return self.logdir if self.ckpt_folder else self.logdir + self.run_name
    # Beyond one device: tf.distribute (see sr4rs.training.distribute) and float16 compute on GPUs.
    strategy: str = "none"  # none, mirrored (the GPUs of this machine) or multiworker (the workers of TF_CONFIG)
    mixed_precision: bool = False  # SR4RS-style flag: the same as precision "mixed_float16"
    precision: str = "float32"  # the Keras dtype policy of the networks (PRECISIONS)

    @property
    def policy(self) -> str:
        """The Keras dtype policy the networks compute in (weights stay float32)."""
        return "mixed_float16" if self.mixed_precision else self.precision
    # Models that hold on scenes they never saw (docs/training.md): what a fusion network corrects, how a network
    # normalises what it sees, the consistency layer ("auto": the network's own default), radiometric
    # augmentation, and how often --degradation random draws plain block averaging.
    guide: str = "auto"
    normalise: str = "auto"
    consistency_layer: str = "auto"
    gain: float = 0.0  # each sample times exp(u), u drawn in [-gain, gain]; each band also by a fifth of that
    offset: float = 0.0  # each band plus an offset drawn in [-offset, offset] (in the network's units)
    blur_zero: float = 0.0  # --degradation random: probability that the LR is the plain block mean

    def net_options(self) -> dict:
        """The network's options, "auto" left to the network's defaults."""
        return {k: v for k, v in (("guide", self.guide), ("normalise", self.normalise),
                                  ("consistency", self.consistency_layer)) if v != "auto"}

    @property
    def use_gan(self) -> bool:
        return self.ganweight > 0

    @property
    def config_path(self) -> str:
        """Where the flags are saved: ``config.json`` in the --ckpt_folder, else beside the checkpoints."""
        return os.path.join(self.save_ckpt, "config.json") if self.ckpt_folder else self.ckpt_prefix + ".json"

    def save(self) -> str:
        path = self.config_path
        with open(path, "w", encoding="utf-8") as f:
            json.dump(asdict(self), f, indent=2)
        return path


def check_config(cfg: TrainConfig) -> None:
    """Refuse unknown choices, out-of-range numbers and unusable files, before anything is read."""
    if cfg.arch not in NETWORKS:
        raise InputError(f"unknown --arch '{cfg.arch}': choose one of {', '.join(NETWORKS)}")
    if cfg.losstype not in LOSS_TYPES:
        raise InputError(f"unknown --losstype '{cfg.losstype}': choose WGAN-GP or LSGAN")
    if cfg.vggfeatures not in FEATURES:
        raise InputError(f"unknown --vggfeatures '{cfg.vggfeatures}': choose one of {', '.join(FEATURES)}")
    for name in ("lr_scale", "hr_scale", "adam_lr"):
        if not getattr(cfg, name) > 0:
            raise InputError(f"--{name} must be positive, received {getattr(cfg, name)}")
    for name in ("batchsize", "depth", "keep_ckpt", "previews_step"):
        if getattr(cfg, name) < 1:
            raise InputError(f"--{name} must be at least 1, received {getattr(cfg, name)}")
    if cfg.epochs < 0 or cfg.epochs == 0 and cfg.load_ckpt is None:
        raise InputError(f"--epochs must be at least 1, received {cfg.epochs} (0 only with --load_ckpt, to export "
                         "a checkpoint's weights as they are)")
    if cfg.preview_crop < 0:
        raise InputError(f"--preview_crop must be 0 (the whole image) or more, received {cfg.preview_crop}")
    if cfg.nresblocks < 0:
        raise InputError(f"--nresblocks must be 0 or more, received {cfg.nresblocks}")
    _check_robust(cfg)
    if cfg.vggfile is not None:
        from ..nets.vgg import load_vgg_weights
        load_vgg_weights(cfg.vggfile)
    check_paths(cfg)


def _check_robust(cfg: TrainConfig) -> None:
    if cfg.degradation not in DEGRADATIONS:
        raise InputError(f"unknown --degradation '{cfg.degradation}': choose {' or '.join(DEGRADATIONS)}")
    if cfg.lr_schedule not in SCHEDULES:
        raise InputError(f"unknown --lr_schedule '{cfg.lr_schedule}': choose {' or '.join(SCHEDULES)}")
    for name, low, high in (("blur_max", 0.0, 2.0), ("noise", 0.0, 1.0), ("shift", 0.0, 2.0), ("ema", 0.0, 0.99999),
                            ("gain", 0.0, 2.0), ("offset", 0.0, 1.0), ("blur_zero", 0.0, 1.0)):
        value = getattr(cfg, name)
        if not low <= value <= high:
            raise InputError(f"--{name} {value} is out of range: give {low:g} to {high:g}")
    from ..nets import check_options

    check_options(cfg.arch, cfg.net_options())
    if cfg.samweight < 0:
        raise InputError(f"--samweight must be 0 or more, received {cfg.samweight}")
    if cfg.precision not in PRECISIONS:
        raise InputError(f"unknown --precision '{cfg.precision}': choose {', '.join(PRECISIONS)}")
    if cfg.mixed_precision and cfg.precision not in ("float32", "mixed_float16"):
        raise InputError(f"--mixed-precision means --precision mixed_float16, not {cfg.precision}: give one of them")
    from .distribute import STRATEGIES, check_tf_config

    if cfg.strategy not in STRATEGIES:
        raise InputError(f"unknown --strategy '{cfg.strategy}': choose {', '.join(STRATEGIES)}")
    check_tf_config(cfg.strategy)


def _reads(cfg: TrainConfig):
    for flag in ("lr_patches", "hr_patches", "valid_lr_patches", "valid_hr_patches"):
        for path in getattr(cfg, flag):
            yield Read(path, f"--{flag}")
    for flag in ("preview", "vggfile", "load_ckpt"):
        if getattr(cfg, flag):
            yield Read(getattr(cfg, flag), f"--{flag}")
    if cfg.load_ckpt and not os.path.isdir(cfg.load_ckpt):  # a checkpoint prefix: its files
        folder = os.path.dirname(os.path.abspath(cfg.load_ckpt))
        name = os.path.basename(cfg.load_ckpt)
        if os.path.isdir(folder):
            yield from (Read(os.path.join(folder, f), "--load_ckpt") for f in os.listdir(folder) if f.startswith(name))


def check_paths(cfg: TrainConfig) -> None:
    """The checkpoints, the logs and the SavedModel, checked before anything is read or written: none is (or
    holds, or lies in) an input or another; the checkpoint folder may be the one resumed. Missing parent
    folders will be made, unless --no_parents."""
    cfg = with_run_name(cfg)  # the checkpoints' and logs' names
    targets = [Target(cfg.ckpt_prefix, "--save_ckpt", "checkpoint folder" if cfg.ckpt_folder else "checkpoints",
                      folder=True)]
    if cfg.logdir:
        targets.append(Target(cfg.log_folder, "--logdir", "log folder", folder=True))
    if cfg.savedmodel:
        targets.append(Target(cfg.savedmodel, "--savedmodel", "SavedModel exported by sr4rs", savedmodel_folder))
    check_targets(targets, list(_reads(cfg)), cfg.overwrite, allowed=[("--save_ckpt", "--load_ckpt")])
    for folder, existing, flag in _output_folders(cfg):
        if cfg.no_parents:
            check_writable_folder(existing, f"the folder holding {flag}", flag)
        check_creatable_folder(folder, flag)


def _output_folders(cfg: TrainConfig):
    """(folder written into, the folder that must exist with --no_parents, flag) of each output."""
    def parent(path):
        return os.path.dirname(os.path.abspath(path))

    if cfg.ckpt_folder:
        yield cfg.save_ckpt, parent(cfg.save_ckpt), "--save_ckpt"
    else:
        yield parent(cfg.ckpt_prefix), parent(cfg.ckpt_prefix), "--save_ckpt"
    if cfg.logdir:
        yield cfg.log_folder, parent(cfg.log_folder), "--logdir"
    if cfg.savedmodel:
        yield parent(cfg.savedmodel), parent(cfg.savedmodel), "--savedmodel"


def sr4rs_run_name(cfg: TrainConfig, now=None) -> str:
    """SR4RS's name of a run: its main flags and the start time, e.g.
    ``SR4RS_E120_B4_LR0.001_Gan1.0_L2-1000.0_LossWGAN-GP_D64_RB16_LRSC0.0001_HRSC0.0001_1Dec_14h2min``. As in
    SR4RS, weights at 0 are left out; the name also leaves out the losses the run does not compute (VGG without
    --vggfile, the GAN's loss type without the GAN), so that it says the losses used; sr4rs's spectral angle
    loss appears as ``SAM``."""
    import datetime

    now = now or datetime.datetime.now()
    vgg = bool(cfg.vggfile) and cfg.vggweight != 0
    parts = [("E", cfg.epochs), ("B", cfg.batchsize), ("LR", cfg.adam_lr), ("Gan", cfg.ganweight),
             ("L1-", cfg.l1weight), ("L2-", cfg.l2weight), ("SAM", cfg.samweight),
             ("VGG", cfg.vggweight if vgg else 0), ("VGGFeat", cfg.vggfeatures if vgg else 0),
             ("Loss", cfg.losstype if cfg.use_gan else 0), ("D", cfg.depth), ("RB", cfg.nresblocks),
             ("LRSC", cfg.lr_scale), ("HRSC", cfg.hr_scale)]
    name = "SR4RS" + "".join(f"_{key}{value}" for key, value in parts if value != 0)
    if cfg.pretrain:
        name += "pretrained"
    return name + f"_{now.day}{now.strftime('%b')}_{now.hour}h{now.minute}min"


def with_run_name(cfg: TrainConfig, now=None) -> TrainConfig:
    """``cfg`` with its run name set (kept if already set)."""
    from dataclasses import replace

    return cfg if cfg.run_name else replace(cfg, run_name=sr4rs_run_name(cfg, now))
