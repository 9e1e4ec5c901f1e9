"""What a training run tells: where it writes (checkpoints, logs, previews, the model) at its start and end, the
time an epoch takes on this machine (measured on its first steps), each epoch's losses and validation figures,
and, when it stops early, what it leaves. Lines go to the ``sr4rs.training`` logger (level INFO): the command line
prints them; a library caller attaches a handler to see them."""
from __future__ import annotations

import logging
import os
import time
from typing import Dict, List, Optional

from .config import TrainConfig

log = logging.getLogger("sr4rs.training")
TIMED_STEPS = 3  # steps measured after the first (which also builds the graph) for the estimate


def duration(seconds: float) -> str:
    """``42 s``, ``3.5 min``, ``2.1 h``."""
    if seconds < 90:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def folders(cfg: TrainConfig) -> List[str]:
    """Where the run writes, one phrase each."""
    if cfg.ckpt_folder:
        where = [f"checkpoints in {os.path.abspath(cfg.save_ckpt)}{os.sep}"]
    else:
        where = [f"checkpoints {os.path.abspath(cfg.ckpt_prefix)}-EPOCH"]
    if cfg.logdir:
        where.append(f"TensorBoard logs in {os.path.abspath(cfg.log_folder)}{os.sep}")
        if cfg.preview:
            where.append(f"previews of {cfg.preview} every {cfg.previews_step} steps in those logs")
    if cfg.savedmodel:
        where.append(f"the model exported to {os.path.abspath(cfg.savedmodel)}{os.sep}")
    return where


def prefix_hint(cfg: TrainConfig) -> Optional[str]:
    """A word when --save_ckpt, a prefix as in SR4RS, scatters checkpoint files in a folder of other things."""
    if cfg.ckpt_folder or cfg.save_ckpt.endswith(("/", os.sep)):
        return None
    return (f"--save_ckpt {cfg.save_ckpt} is a prefix, as in SR4RS: the checkpoint files start with "
            f"'{os.path.basename(cfg.ckpt_prefix)}' in {os.path.dirname(os.path.abspath(cfg.ckpt_prefix))}; "
            f"end it with / (--save_ckpt {cfg.save_ckpt}/) for a folder of their own")


def losses_used(cfg: TrainConfig) -> str:
    terms = [f"{name} x{weight:g}" for name, weight in (("L1", cfg.l1weight), ("L2", cfg.l2weight),
                                                          ("SAM", cfg.samweight)) if weight]
    if cfg.vggfile and cfg.vggweight:
        terms.append(f"VGG{cfg.vggfeatures} x{cfg.vggweight:g}")
    if cfg.use_gan:
        terms.append(f"{cfg.losstype} GAN x{cfg.ganweight:g}")
    return ", ".join(terms) or "none"


def say_start(cfg: TrainConfig, pairs: int, steps: int) -> None:
    log.info("run %s: %s generator, losses %s; %d patch pairs, %d steps of %d per epoch, %d epoch(s)",
             cfg.run_name, cfg.arch, losses_used(cfg), pairs, steps, cfg.batchsize, cfg.epochs)
    log.info("writes: %s", "; ".join(folders(cfg)))
    hint = prefix_hint(cfg)
    if hint:
        log.info("%s", hint)


def say_end(cfg: TrainConfig, latest: Optional[str], savedmodel: Optional[str]) -> None:
    parts = [f"last checkpoint {latest}" if latest else "no checkpoint written"]
    if cfg.logdir:
        parts.append(f"TensorBoard logs in {os.path.abspath(cfg.log_folder)} (tensorboard --logdir "
                     f"{os.path.abspath(cfg.log_folder)})")
    if savedmodel:
        parts.append(f"model in {os.path.abspath(savedmodel)}")
    log.info("done: %s", "; ".join(parts))


class StepTimer:
    """Times the first steps of a run and says, once, how long an epoch and the whole run will take."""

    def __init__(self, steps_per_epoch: int, epochs_left: int):
        self.steps, self.epochs = steps_per_epoch, epochs_left
        self.ends: List[float] = []
        self.start = time.perf_counter()
        self.said = False

    def step(self) -> None:
        if self.said:
            return
        self.ends.append(time.perf_counter())
        if len(self.ends) == min(TIMED_STEPS + 1, self.steps):
            self.said = True
            log.info("%s", self.estimate())

    def estimate(self) -> str:
        first = self.ends[0] - self.start
        if len(self.ends) > 1:
            per_step = (self.ends[-1] - self.ends[0]) / (len(self.ends) - 1)
            how = f"measured on steps 2 to {len(self.ends)}; the first took {duration(first)} with the graph's build"
        else:
            per_step, how = first, "measured on the first step, the graph's build included"
        epoch = per_step * self.steps
        return (f"time: about {duration(per_step)} per step on this machine, {duration(epoch)} per epoch, "
                f"{duration(epoch * self.epochs)} for {self.epochs} epoch(s) ({how})")


def _weights(cfg: TrainConfig) -> Dict[str, float]:
    """The weight of each loss term in the total (the steps also log terms of weight 0)."""
    return {"l1": cfg.l1weight, "l2": cfg.l2weight, "vgg": cfg.vggweight if cfg.vggfile else 0.0,
            "sam": cfg.samweight, "gan": cfg.ganweight}


def say_epoch(cfg: TrainConfig, phase: str, epoch: int, means: Dict[str, float], seconds: float) -> None:
    """The epoch's mean loss and the terms it is made of (those of weight 0 left out), and the validation PSNR."""
    weights = _weights(cfg)
    losses = ", ".join(f"{k} {v:.4g}" for k, v in means.items() if not k.startswith("val_") and weights.get(k, 1))
    epochs = cfg.epochs
    line = f"{phase} epoch {epoch}/{epochs} ({duration(seconds)}): {losses}"
    if "val_psnr" in means:
        line += (f"; validation PSNR {means['val_psnr']:.2f} dB (bicubic {means['val_psnr_bicubic']:.2f} dB, "
                 f"{means['val_psnr'] - means['val_psnr_bicubic']:+.2f})")
    log.info("%s", line)


def kept(cfg: TrainConfig, latest: Optional[str]) -> str:
    """What an interrupted run leaves, truly."""
    if latest is None:
        return "no checkpoint had been written (a run saves one at the end of each epoch): nothing is kept"
    where = cfg.save_ckpt if cfg.ckpt_folder else os.path.dirname(os.path.abspath(latest))
    resume = f"--load_ckpt {cfg.save_ckpt} resumes it" if cfg.ckpt_folder else f"--load_ckpt {latest} starts from it"
    return f"the last checkpoint is {latest} (in {where}); {resume}"
