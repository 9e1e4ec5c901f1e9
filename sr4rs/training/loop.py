"""The training run: check the data, train epoch by epoch (checkpoint after each), export a SavedModel."""
from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Callable, Dict, Optional

from ..errors import Cancelled, TrainingError
from ..io.files import remove_quietly, write_failure
from ..model.contract import INPUT_KEY, InputSpec, ModelMetadata
from ..progress import CancelToken
from .config import TrainConfig, check_config
from .data import TrainingData, datasets, describe_data, training_statistics
from .report import kept, say_end, say_epoch

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
    skipped: int = 0  # patch pairs left out: their LR or HR patch is all fill


def check_data(cfg: TrainConfig) -> TrainingData:
    """The training data, described and checked (see ``sr4rs.training.data``)."""
    return describe_data(cfg)


class _Run:
    """One training run's state: networks, checkpoints, data and monitoring."""

    def __init__(self, cfg: TrainConfig, desc: TrainingData, strategy=None):
        import keras

        from .distribute import is_chief

        self.cfg, self.desc, self.strategy = cfg, desc, strategy
        self.chief = strategy is None or is_chief(strategy)  # the one process that writes
        if cfg.seed is not None:
            keras.utils.set_random_seed(cfg.seed)
        # Patches are read and checked before anything is written (pairs with an all-fill patch left out).
        self.source, self.valid = datasets(cfg, desc)
        self.skipped = getattr(self.source, "skipped", 0)
        if self.skipped:
            log.warning("%d of %d patch pairs are all fill (0 or the nodata value) and were left out",
                        self.skipped, desc.count)
        self.checkpoints, self.folder, self.made = None, None, []
        if not self.chief:
            return  # only the chief writes the run's flags and checkpoints
        folder = cfg.save_ckpt if cfg.ckpt_folder else os.path.dirname(os.path.abspath(cfg.ckpt_prefix))
        self.made = _missing_folders(folder)
        try:
            os.makedirs(folder, exist_ok=True)
            cfg.save()
        except OSError as err:
            self.discard()
            raise write_failure(cfg.config_path, err.strerror or str(err)) from None

    def prepare(self) -> None:
        """Networks, optimisers and checkpoints, restored from --load_ckpt when given; monitoring."""
        from .checkpoints import Checkpoints, Counters, latest_checkpoint
        from .gan import SRGAN
        from .monitoring import Monitor
        from .report import StepTimer, say_start

        from .distribute import WorkerFolder, check_batch

        cfg = self.cfg
        if self.strategy is not None:
            check_batch(cfg.batchsize, self.strategy)
        self.steps_per_epoch = self.source.count // cfg.batchsize
        self.gan = SRGAN(cfg, self.desc, total_steps=self.steps_per_epoch * cfg.epochs, strategy=self.strategy)
        self.counters = Counters()
        self.folder = WorkerFolder(cfg.save_ckpt, self.chief)
        self.checkpoints = Checkpoints(self.gan, self.counters, cfg, cfg.keep_ckpt,
                                       folder=None if self.chief else self.folder.path)
        if cfg.load_ckpt is not None:
            self.checkpoints.restore(latest_checkpoint(cfg.load_ckpt), weights_only=cfg.finetune)
        self.monitor = Monitor(cfg if self.chief else replace(cfg, logdir=None, preview=None))
        phases = 2 if cfg.pretrain and self.counters["phase"] == 0 else 1
        self.timer = StepTimer(self.steps_per_epoch, phases * cfg.epochs - self.counters["epoch"])
        if self.chief:
            say_start(cfg, self.source.count, self.steps_per_epoch)

    def learning_rate(self) -> float:
        """The generator optimiser's learning rate now (a schedule's current value)."""
        rate = self.gan.g_opt.learning_rate
        return float(rate.numpy() if hasattr(rate, "numpy") else rate)

    def discard(self) -> None:
        """A run that saved no checkpoint takes back its saved flags and the folders it made; a worker other
        than the chief removes its private checkpoints."""
        if self.folder is not None:
            self.folder.close()
        if self.chief and (self.checkpoints is None or self.checkpoints.latest is None):
            remove_quietly(self.cfg.config_path)
            for folder in self.made:  # deepest first
                try:
                    os.rmdir(folder)
                except OSError:
                    break  # something else is in it now: left alone

    def batches(self, phase_index: int, epoch: int):
        cfg = self.cfg
        # one seed per (phase, epoch): a resumed run shuffles and augments as the whole run would have
        seed = None if cfg.seed is None else cfg.seed * 1_000_003 + phase_index * 10_007 + epoch
        from .degradations import chain, make_transform, progressive_fraction, radiometric_transform

        transform = radiometric_transform(cfg.gain, cfg.offset, cfg.lr_scale, cfg.hr_scale)
        if not self.desc.fusion:
            crop = progressive_fraction(epoch, cfg.epochs) if cfg.progressive else None
            transform = chain(transform, make_transform(self.desc.scale, cfg.degradation, cfg.blur_max, cfg.anisotropic,
                                                        cfg.noise, cfg.shift, crop, cfg.blur_zero))
        batches = self.source.batches(cfg.batchsize, shuffle=True, augment=cfg.augment, seed=seed,
                                      drop_remainder=True, transform=transform)
        if self.strategy is None:
            return batches
        from .distribute import distribute_dataset

        return distribute_dataset(self.strategy, batches)

    def epoch(self, phase: str, phase_index: int, last_good: Optional[str], on_step, cancel) -> Dict[str, float]:
        """One epoch of ``phase``; the mean of each loss term."""
        step_fn = self.gan.pretrain_step if phase == "pretrain" else self.gan.train_step
        epoch, sums = self.counters["epoch"], {}
        for i, (lr, hr) in enumerate(self.batches(phase_index, epoch)):
            if cancel is not None:
                cancel.check()
            logs = {k: float(v) for k, v in step_fn(lr, hr).items()}
            if self.chief:
                self.timer.step()
            _check_finite(logs, self.counters["step"], last_good)
            for k, v in logs.items():
                sums[k] = sums.get(k, 0.0) + v
            self.counters.step.assign_add(1)
            self.monitor.step(phase, self.counters["step"], logs, self.learning_rate(), self.gan.generator)
            if on_step is not None:
                on_step(phase, epoch, i + 1, self.steps_per_epoch, logs)
        means = {k: v / max(self.steps_per_epoch, 1) for k, v in sums.items()}
        if self.valid is not None:
            from .monitoring import validate
            with self.gan.averaged_weights():
                means.update(validate(self.gan.generator, self.cfg, self.valid))
        with self.gan.averaged_weights():
            self.monitor.epoch(self.gan.generator, self.counters["step"], means)
        return means


def _missing_folders(folder: str):
    """``folder`` and its parents that do not exist yet, deepest first."""
    made, path = [], os.path.abspath(folder)
    while not os.path.exists(path) and os.path.dirname(path) != path:
        made.append(path)
        path = os.path.dirname(path)
    return made


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
    from .config import with_run_name

    cfg = with_run_name(cfg)
    check_config(cfg)
    if cfg.load_ckpt is not None:
        from .checkpoints import latest_checkpoint
        if latest_checkpoint(cfg.load_ckpt) is None:
            raise TrainingError(f"--load_ckpt '{cfg.load_ckpt}' holds no checkpoint: give the --save_ckpt folder "
                                "of an earlier run (or drop --load_ckpt to start afresh)")
    desc = check_data(cfg)
    strategy = None
    if cfg.strategy != "none":
        from .distribute import make_strategy

        strategy = make_strategy(cfg.strategy)  # before any other TensorFlow operation
    run = _Run(cfg, desc, strategy)
    start = time.perf_counter()
    try:
        run.prepare()
        result = _train_phases(run, on_step, cancel)
        run.folder.close()
        result.seconds = time.perf_counter() - start
        if cfg.savedmodel and run.chief:
            if cancel is not None:
                cancel.check()
            run.gan.keep_averaged_weights()
            result.savedmodel = export(cfg, run.gan.plain_generator(), desc, result)
    except Cancelled as err:
        run.discard()
        err.kept = kept(cfg, run.checkpoints.latest if run.checkpoints is not None else None)
        raise
    except BaseException:
        run.discard()
        raise
    if run.chief:
        say_end(cfg, run.checkpoints.latest, result.savedmodel)
    return result


def _train_phases(run: _Run, on_step, cancel) -> TrainResult:
    """Pre-training (with --pretrain) then training, epoch by epoch, a checkpoint after each."""
    cfg = run.cfg
    result = TrainResult(step=run.counters["step"], epoch=run.counters["epoch"], losses={}, skipped=run.skipped)
    last_good = run.checkpoints.latest
    if cfg.finetune:
        run.counters.reset()
    phases = (["pretrain"] if cfg.pretrain else []) + ["train"]
    for phase_index, phase in enumerate(phases):
        if cfg.pretrain and run.counters["phase"] > phase_index:
            continue  # resumed past this phase
        while run.counters["epoch"] < cfg.epochs:
            epoch, started = run.counters["epoch"], time.perf_counter()
            means = run.epoch(phase, phase_index, last_good, on_step, cancel)
            run.counters.epoch.assign_add(1)
            last_good = run.checkpoints.save()
            result.history.append({"phase": phase, "epoch": epoch + 1, **means})
            result.losses = means
            if run.chief:
                say_epoch(cfg, phase, epoch + 1, means, time.perf_counter() - started)
        if phase == "pretrain":
            run.counters.epoch.assign(0)
            run.counters.phase.assign(1)
    run.monitor.close()
    result.step, result.epoch = run.counters["step"], run.counters["epoch"]
    return result


def model_metadata(cfg: TrainConfig, desc: TrainingData, result: TrainResult) -> ModelMetadata:
    """What the exported model records: inputs (bands, factor), scale, margin (the receptive field), training."""
    from ..nets import receptive_radius_lr, resolved_options

    network = resolved_options(cfg.arch, cfg.net_options())
    consistency = "block" if cfg.consistency else \
        "backprojection" if network.get("consistency") == "backprojection" else ""
    unit = math.lcm(*(f for _, f in desc.inputs))
    if desc.fusion:
        radius = receptive_radius_lr(cfg.arch, desc.inputs, cfg.nresblocks, **cfg.net_options())
        margin = unit * math.ceil(radius / unit)
        inputs = tuple(InputSpec(f"input_{i}", names, f)
                       for i, (names, (_, f)) in enumerate(zip(desc.input_names, desc.inputs)))
    else:
        margin = desc.scale * math.ceil(receptive_radius_lr(cfg.arch, desc.scale, cfg.nresblocks, **cfg.net_options()))
        inputs = (InputSpec(INPUT_KEY, desc.output_names, desc.scale),)
    kind = "fusion" if desc.fusion else f"x{desc.scale}"
    return ModelMetadata(
        scale=desc.scale, inputs=inputs, output_bands=desc.output_names, lr_scale=cfg.lr_scale,
        hr_scale=cfg.hr_scale, nodata=cfg.nodata, margin=margin, consistency=consistency,
        description=cfg.description or f"{cfg.arch} generator {kind}, trained with sr4rs",
        training={"flags": {k: v for k, v in asdict(cfg).items() if not isinstance(v, tuple)}, "network": network,
                  "data": {**desc.summary, "skipped_fill_patches": result.skipped}, "steps": result.step,
                  "history": result.history},
        statistics=training_statistics(cfg, desc))


def export(cfg: TrainConfig, generator, desc: TrainingData, result: TrainResult) -> str:
    from ..model.export import export_savedmodel

    os.makedirs(os.path.dirname(os.path.abspath(cfg.savedmodel)), exist_ok=True)  # SR4RS makes missing parents
    return export_savedmodel(generator, cfg.savedmodel, model_metadata(cfg, desc, result), overwrite=cfg.overwrite)
