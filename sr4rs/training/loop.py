"""The training run: check the data, train epoch by epoch (checkpoint after each), export a SavedModel."""
from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, Optional

from ..errors import InputError, TrainingError
from ..geo.patches import PatchesDescription
from ..io.files import remove_quietly, write_failure
from ..io.patches import describe_patches
from ..io.rasters import read_info
from ..model.contract import ModelMetadata
from ..progress import CancelToken
from .config import TrainConfig, check_config

log = logging.getLogger(__name__)

StepCallback = Callable[[str, int, int, int, Dict[str, float]], None]  # phase, epoch, step in epoch, steps, logs


@dataclass
class TrainResult:
    step: int
    epoch: int
    losses: Dict[str, float]
    history: list = field(default_factory=list)  # per epoch: mean losses (+ validation PSNR)
    savedmodel: Optional[str] = None
    seconds: float = 0.0


def check_data(cfg: TrainConfig) -> PatchesDescription:
    """The training patches, described and checked against the validation patches and the flags."""
    desc = describe_patches(list(cfg.lr_patches), list(cfg.hr_patches))
    if cfg.valid_lr_patches:
        vdesc = describe_patches(list(cfg.valid_lr_patches), list(cfg.valid_hr_patches))
        if (vdesc.ratio, vdesc.lr_bands, vdesc.hr_bands) != (desc.ratio, desc.lr_bands, desc.hr_bands):
            raise InputError("validation patches differ from training patches in ratio or bands: "
                             "extract both with the same settings")
    if desc.lr_bands != desc.hr_bands:
        raise InputError(f"LR patches have {desc.lr_bands} band(s) but HR patches {desc.hr_bands}: the generators "
                         "map each band to itself, extract LR and HR with the same bands")
    if desc.ratio < 2 or desc.ratio & (desc.ratio - 1):
        raise InputError(f"the HR/LR patch size ratio is {desc.ratio}: the networks support powers of two (2, 4, 8)")
    if cfg.bands and len(cfg.bands) != desc.lr_bands:
        raise InputError(f"--bands names {len(cfg.bands)} bands but the patches have {desc.lr_bands}: "
                         "name every band, in order")
    if cfg.preview:
        count = read_info(cfg.preview).count
        if count != desc.lr_bands:
            raise InputError(f"--preview '{cfg.preview}' has {count} band(s) but the LR patches have "
                             f"{desc.lr_bands}: give an LR image with the same bands")
    if desc.count < cfg.batchsize:
        raise InputError(f"{desc.count} patches are fewer than --batchsize {cfg.batchsize}: "
                         "extract more patches or lower --batchsize")
    return desc


class _Run:
    """One training run's state: networks, checkpoints, data and monitoring."""

    def __init__(self, cfg: TrainConfig, desc: PatchesDescription):
        import keras

        from ..data.datasets import PatchesDataset

        self.cfg, self.desc = cfg, desc
        if cfg.seed is not None:
            keras.utils.set_random_seed(cfg.seed)
        # Patches are read and checked (no empty or all-nodata patch) before anything is written.
        self.source = PatchesDataset(list(cfg.lr_patches), list(cfg.hr_patches), streaming=cfg.streaming)
        self.valid = PatchesDataset(list(cfg.valid_lr_patches), list(cfg.valid_hr_patches)) \
            if cfg.valid_lr_patches else None
        self.created, self.checkpoints = not os.path.exists(cfg.save_ckpt), None
        try:
            os.makedirs(cfg.save_ckpt, exist_ok=True)
            cfg.save(cfg.save_ckpt)
        except OSError as err:
            self.discard()
            raise write_failure(os.path.join(cfg.save_ckpt, "config.json"), err.strerror or str(err)) from None

    def prepare(self) -> None:
        """Networks, optimisers and checkpoints, restored from --load_ckpt when given; monitoring."""
        from .checkpoints import Checkpoints, Counters, latest_checkpoint
        from .gan import SRGAN
        from .monitoring import Monitor

        cfg = self.cfg
        self.gan = SRGAN(cfg, self.desc.lr_bands, self.desc.ratio)
        self.counters = Counters()
        self.checkpoints = Checkpoints(self.gan, self.counters, cfg.save_ckpt, cfg.keep_ckpt)
        if cfg.load_ckpt is not None:
            self.checkpoints.restore(latest_checkpoint(cfg.load_ckpt), weights_only=cfg.finetune)
        self.monitor = Monitor(cfg)
        self.steps_per_epoch = self.desc.count // cfg.batchsize

    def discard(self) -> None:
        """A run that made its checkpoint folder and saved no checkpoint takes the folder back."""
        if self.created and (self.checkpoints is None or self.checkpoints.latest is None):
            remove_quietly(os.path.join(self.cfg.save_ckpt, "config.json"))
            try:
                os.rmdir(self.cfg.save_ckpt)
            except OSError:
                pass  # something else is in it now: left alone

    def batches(self, phase_index: int, epoch: int):
        cfg = self.cfg
        # one seed per (phase, epoch): a resumed run shuffles and augments as the whole run would have
        seed = None if cfg.seed is None else cfg.seed * 1_000_003 + phase_index * 10_007 + epoch
        return self.source.batches(cfg.batchsize, shuffle=True, augment=cfg.augment, seed=seed, drop_remainder=True)

    def epoch(self, phase: str, phase_index: int, last_good: Optional[str], on_step, cancel) -> Dict[str, float]:
        """One epoch of ``phase``; the mean of each loss term."""
        step_fn = self.gan.pretrain_step if phase == "pretrain" else self.gan.train_step
        epoch, sums = self.counters["epoch"], {}
        for i, (lr, hr) in enumerate(self.batches(phase_index, epoch)):
            if cancel is not None:
                cancel.check()
            logs = {k: float(v) for k, v in step_fn(lr, hr).items()}
            _check_finite(logs, self.counters["step"], last_good)
            for k, v in logs.items():
                sums[k] = sums.get(k, 0.0) + v
            self.counters.step.assign_add(1)
            self.monitor.step(phase, self.counters["step"], logs)
            if on_step is not None:
                on_step(phase, epoch, i + 1, self.steps_per_epoch, logs)
        means = {k: v / max(self.steps_per_epoch, 1) for k, v in sums.items()}
        if self.valid is not None:
            from .monitoring import validate
            means.update(validate(self.gan.generator, self.cfg, self.valid))
        self.monitor.epoch(self.gan.generator, self.counters["step"], means)
        return means


def _check_finite(logs: Dict[str, float], step: int, last_good: Optional[str]) -> None:
    if all(math.isfinite(v) for v in logs.values()):
        return
    bad = ", ".join(f"{k}={v}" for k, v in logs.items() if not math.isfinite(v))
    keep = f"the last good checkpoint is {last_good}" if last_good else "no checkpoint was saved"
    raise TrainingError(f"the loss became non-finite at step {step} ({bad}): "
                        f"lower --adam_lr or check the --lr_scale/--hr_scale; {keep}")


def train(cfg: TrainConfig, on_step: Optional[StepCallback] = None,
          cancel: Optional[CancelToken] = None) -> TrainResult:
    """Train a generator on the patches of ``cfg``; export a SavedModel if ``cfg.savedmodel``.
    ``on_step`` is called after every step; ``cancel`` stops the run before the next step (the
    checkpoints of the finished epochs are kept)."""
    check_config(cfg)
    if cfg.load_ckpt is not None:
        from .checkpoints import latest_checkpoint
        if latest_checkpoint(cfg.load_ckpt) is None:
            raise TrainingError(f"--load_ckpt '{cfg.load_ckpt}' holds no checkpoint: give the --save_ckpt folder "
                                "of an earlier run (or drop --load_ckpt to start afresh)")
    desc = check_data(cfg)
    run = _Run(cfg, desc)
    start = time.perf_counter()
    try:
        run.prepare()
        result = _train_phases(run, on_step, cancel)
    except BaseException:
        run.discard()
        raise
    result.seconds = time.perf_counter() - start
    if cfg.savedmodel:
        if cancel is not None:
            cancel.check()
        result.savedmodel = export(cfg, run.gan.generator, desc, result)
    return result


def _train_phases(run: _Run, on_step, cancel) -> TrainResult:
    """Pre-training (with --pretrain) then training, epoch by epoch, a checkpoint after each."""
    cfg = run.cfg
    result = TrainResult(step=run.counters["step"], epoch=run.counters["epoch"], losses={})
    last_good = run.checkpoints.latest
    if cfg.finetune:
        run.counters.reset()
    phases = (["pretrain"] if cfg.pretrain else []) + ["train"]
    for phase_index, phase in enumerate(phases):
        if cfg.pretrain and run.counters["phase"] > phase_index:
            continue  # resumed past this phase
        while run.counters["epoch"] < cfg.epochs:
            epoch = run.counters["epoch"]
            means = run.epoch(phase, phase_index, last_good, on_step, cancel)
            run.counters.epoch.assign_add(1)
            last_good = run.checkpoints.save()
            result.history.append({"phase": phase, "epoch": epoch + 1, **means})
            result.losses = means
            log.info("%s epoch %d: %s", phase, epoch + 1, means)
        if phase == "pretrain":
            run.counters.epoch.assign(0)
            run.counters.phase.assign(1)
    run.monitor.close()
    result.step, result.epoch = run.counters["step"], run.counters["epoch"]
    return result


def model_metadata(cfg: TrainConfig, desc: PatchesDescription, result: TrainResult) -> ModelMetadata:
    """What the exported model records: scale, bands, scaling, margin (the receptive field), training."""
    from ..nets import receptive_radius_lr

    scale = desc.ratio
    margin = scale * math.ceil(receptive_radius_lr(cfg.arch, scale, cfg.nresblocks))
    names = tuple(cfg.bands) or (tuple(desc.lr_band_names) if all(desc.lr_band_names)
                                 else tuple(f"band{i + 1}" for i in range(desc.lr_bands)))
    return ModelMetadata(
        scale=scale, input_bands=names, output_bands=names, lr_scale=cfg.lr_scale, hr_scale=cfg.hr_scale,
        nodata=cfg.nodata, margin=margin,
        description=cfg.description or f"{cfg.arch} generator x{scale}, trained with sr4rs",
        training={"flags": {k: v for k, v in asdict(cfg).items() if not isinstance(v, tuple)},
                  "data": {"patches": desc.count, "lr_patch_size": desc.lr_patch_size,
                           "hr_patch_size": desc.hr_patch_size, "lr_dtype": str(desc.lr_dtype),
                           "files": list(cfg.lr_patches)},
                  "steps": result.step, "history": result.history})


def export(cfg: TrainConfig, generator, desc: PatchesDescription, result: TrainResult) -> str:
    from ..model.export import export_savedmodel

    return export_savedmodel(generator, cfg.savedmodel, model_metadata(cfg, desc, result), overwrite=cfg.overwrite)
