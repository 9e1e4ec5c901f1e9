"""Checkpoints: one per epoch, holding the networks, the optimisers, the random generator and the counters.

As SR4RS, each is written at ``--save_ckpt`` + the run's name + ``-EPOCH`` (``--save_ckpt`` is a prefix: end it
with ``/`` for a folder), and ``--load_ckpt`` starts a run from a checkpoint's state and trains ``--epochs``
more. With ``--ckpt_folder``, ``--save_ckpt`` is a folder of checkpoints and ``--load_ckpt FOLDER`` resumes a
run where it stopped, so that it ends exactly where an uninterrupted one does. SR4RS's own checkpoints are
read by ``sr4rs.training.sr4rs_checkpoints``."""
from __future__ import annotations

import glob
import logging
import os
from typing import Optional

import tensorflow as tf

from ..errors import TrainingError, first_line
from ..io.files import remove_quietly, write_failure
from .gan import SRGAN
from .sr4rs_checkpoints import is_sr4rs_checkpoint, restore_sr4rs

log = logging.getLogger(__name__)


def is_savedmodel(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "saved_model.pb"))


def latest_checkpoint(path: str) -> Optional[str]:
    """The newest checkpoint of a folder, ``path`` itself if it is a checkpoint prefix, or a SavedModel folder
    (whose weights a run can start from, with --finetune)."""
    if is_savedmodel(path):
        return path
    if os.path.isdir(path):
        return tf.train.latest_checkpoint(path)
    return path if os.path.exists(path + ".index") else None


def restore_savedmodel_weights(generator, path: str) -> None:
    """The generator's weights from a SavedModel sr4rs exported (the same network and flags), by variable name."""
    try:
        loaded = tf.saved_model.load(path)
        saved = {v.name.split(":")[0]: v for v in getattr(loaded, "variables", ())}
    except Exception as err:  # noqa: BLE001 (TensorFlow raises many types for a damaged model)
        raise TrainingError(f"SavedModel '{path}' cannot be loaded ({first_line(err, 200)}): give a complete "
                            "SavedModel exported by sr4rs") from None
    for variable in generator.variables:
        source = saved.get(variable.path)
        if source is None or tuple(source.shape) != tuple(variable.shape):
            raise TrainingError(f"SavedModel '{path}' has no weight '{variable.path}' of shape {tuple(variable.shape)}: "
                                "it was made with another --arch/--depth/--nresblocks or band count")
        variable.assign(source)


def _holds(path: str, part: str) -> bool:
    """Whether the checkpoint at ``path`` holds variables of ``part`` (False if it cannot be read)."""
    try:
        return any(name.split("/")[0] == part for name, _ in tf.train.list_variables(path))
    except Exception:  # noqa: BLE001 (unreadable: corrupt or not a checkpoint)
        return False


def _fits(path: str, parts: dict) -> bool:
    """Whether ``parts`` (trackables by name) restore from the checkpoint at ``path``."""
    try:
        tf.train.Checkpoint(**parts).read(path).expect_partial().assert_existing_objects_matched()
        return True
    except Exception:  # noqa: BLE001 (a mismatch or a damaged file)
        return False


class Counters:
    """Global step, epoch within the phase, and phase (0 pre-training, 1 training)."""

    def __init__(self):
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.phase = tf.Variable(0, dtype=tf.int64, trainable=False, name="phase")

    def reset(self) -> None:
        self.step.assign(0)
        self.epoch.assign(0)
        self.phase.assign(0)

    def __getitem__(self, name: str) -> int:
        return int(getattr(self, name).numpy())


class Checkpoints:
    """Saves and restores a run's state, keeping the newest ``keep`` of the checkpoints this run wrote."""

    def __init__(self, gan: SRGAN, counters: Counters, cfg, keep: int, folder: Optional[str] = None):
        """``folder``: where a worker other than the chief writes its (discarded) checkpoints instead."""
        self.gan, self.counters, self.cfg = gan, counters, cfg
        self.checkpoint = tf.train.Checkpoint(**gan.trackables(), step=counters.step, epoch=counters.epoch,
                                              phase=counters.phase)
        self.folder = folder or cfg.save_ckpt
        self.prefix = cfg.ckpt_prefix if folder is None else os.path.join(folder, os.path.basename(cfg.ckpt_prefix))
        self.manager = tf.train.CheckpointManager(self.checkpoint, self.folder, max_to_keep=keep) \
            if cfg.ckpt_folder else None
        self.keep, self.written = keep, []

    @property
    def latest(self) -> Optional[str]:
        if self.manager is not None:
            return self.manager.latest_checkpoint
        return self.written[-1] if self.written else None

    def restore(self, path: str, weights_only: bool = False) -> None:
        """Restore everything from ``path`` (or, ``weights_only``, the networks alone; from a SavedModel, the
        generator's weights). Without --ckpt_folder the run then trains --epochs more, as SR4RS. Unless the
        whole state of an sr4rs checkpoint was restored, the moving average of the weights (--ema) starts from
        the weights restored: the other sources hold none."""
        holds_average = False
        if is_sr4rs_checkpoint(path):
            self._restore_sr4rs(path, weights_only)
        elif is_savedmodel(path):
            if not weights_only:
                raise TrainingError(f"--load_ckpt '{path}' is a SavedModel: it holds weights only, without the "
                                    "optimiser's state: add --finetune")
            restore_savedmodel_weights(self.gan.generator, path)
            log.info("started from the weights of %s", path)
        else:
            self._restore_state(path, weights_only)
            holds_average = not weights_only
        if not holds_average:
            self.gan.restart_average()

    def _restore_state(self, path: str, weights_only: bool) -> None:
        if weights_only:  # a checkpoint trained without the GAN loss still gives the generator its weights
            nets = self.gan.networks()
            if "discriminator" in nets and not _holds(path, "discriminator"):
                nets.pop("discriminator")
                log.info("%s holds no discriminator: the discriminator starts from random weights", path)
            target = tf.train.Checkpoint(**nets)
        else:
            target = self.checkpoint
        try:
            target.read(path).expect_partial().assert_existing_objects_matched()
            reason = None
        except Exception as err:  # noqa: BLE001 (a damaged file raises IndexError, OpError, ValueError...)
            reason = first_line(err, 200)
        if reason is not None:
            raise TrainingError(self._mismatch(path, reason, weights_only))
        if not self.cfg.ckpt_folder:
            self.counters.epoch.assign(0)
            self.counters.phase.assign(0)
        log.info("restored %s at step %d", path, self.counters["step"])

    def _mismatch(self, path: str, reason: str, weights_only: bool) -> str:
        """Why ``path`` does not fit this run, naming the flag when all but a part it lacks would restore."""
        if not weights_only:
            missing = [part for part in ("ema", "discriminator") if part in self.gan.trackables()
                       and not _holds(path, part)]
            rest = {k: v for k, v in self.gan.trackables().items()
                    if k not in missing and not (k == "d_opt" and "discriminator" in missing)}
            rest.update(step=self.counters.step, epoch=self.counters.epoch, phase=self.counters.phase)
            if missing and _fits(path, rest):
                if "ema" in missing:
                    return (f"checkpoint '{path}' holds no moving average of the weights: it was trained without "
                            "--ema; resume it without --ema, or start from its weights with --finetune --ema")
                return (f"checkpoint '{path}' holds no discriminator: it was trained without the GAN loss; "
                        "resume it with --ganweight 0, or start from its weights with --finetune")
        return (f"checkpoint '{path}' cannot be restored ({reason}): it is corrupt or was made with other "
                "--arch/--depth/--nresblocks or bands")

    def _restore_sr4rs(self, path: str, weights_only: bool) -> None:
        if is_savedmodel(path) and not weights_only:
            raise TrainingError(f"--load_ckpt '{path}' is a SavedModel of SR4RS: it holds weights to start from: "
                                "add --finetune (or give the checkpoint prefix to resume its training)")
        steps = restore_sr4rs(self.gan, path, weights_only)
        self.counters.reset()
        self.counters.step.assign(steps)
        log.info("started from SR4RS checkpoint %s (%d steps trained)", path, steps)

    def save(self) -> str:
        """Save the state; a failure (a full disk, a folder gone read-only) removes what it began to write
        and keeps the earlier checkpoints."""
        number = self.counters["step"] if self.manager is not None else self.counters["epoch"] - 1
        prefix = os.path.join(self.folder, f"ckpt-{number}") if self.manager is not None \
            else f"{self.prefix}-{number}"
        try:
            return self.manager.save(checkpoint_number=number) if self.manager is not None else self._write(prefix)
        except (tf.errors.OpError, OSError) as err:
            reason = first_line(err, 200)
        for leftover in glob.glob(glob.escape(prefix) + "_temp*") + glob.glob(glob.escape(prefix) + ".*"):
            remove_quietly(leftover)
        keep = f"; the last good checkpoint is {self.latest}" if self.latest else ""
        raise write_failure(prefix, reason.split("; ")[-1], f"check free space and permissions{keep}",
                            failed=f"saving checkpoint '{prefix}' failed")

    def _write(self, prefix: str) -> str:
        """SR4RS's layout: ``PREFIX-EPOCH``, the folder's ``checkpoint`` state file naming it (as TensorFlow's
        savers do); only this run's older checkpoints are removed."""
        path = self.checkpoint.write(prefix)
        self.written = [p for p in self.written if p != path] + [path]
        for old in self.written[:-self.keep]:
            for leftover in glob.glob(glob.escape(old) + ".*"):
                remove_quietly(leftover)
        self.written = self.written[-self.keep:]
        tf.compat.v1.train.update_checkpoint_state(os.path.dirname(os.path.abspath(path)), path,
                                         all_model_checkpoint_paths=self.written)
        return path
