"""Checkpoints: one per epoch in the ``--save_ckpt`` folder, holding the networks, the optimisers, the
random generator and the counters, so that a resumed run ends exactly where an uninterrupted one does."""
from __future__ import annotations

import glob
import logging
import os
from typing import Optional

import tensorflow as tf

from ..errors import TrainingError, first_line
from ..io.files import remove_quietly, write_failure
from .gan import SRGAN

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
    """Saves and restores a run's state in ``folder``, keeping the newest ``keep``."""

    def __init__(self, gan: SRGAN, counters: Counters, folder: str, keep: int):
        self.gan, self.counters = gan, counters
        self.checkpoint = tf.train.Checkpoint(**gan.trackables(), step=counters.step, epoch=counters.epoch,
                                              phase=counters.phase)
        self.manager = tf.train.CheckpointManager(self.checkpoint, folder, max_to_keep=keep)

    @property
    def latest(self) -> Optional[str]:
        return self.manager.latest_checkpoint

    def restore(self, path: str, weights_only: bool = False) -> None:
        """Restore everything from ``path`` (or, ``weights_only``, the networks alone; from a SavedModel, the
        generator's weights)."""
        if is_savedmodel(path):
            if not weights_only:
                raise TrainingError(f"--load_ckpt '{path}' is a SavedModel: it holds weights only, without the "
                                    "optimiser's state: add --finetune")
            restore_savedmodel_weights(self.gan.generator, path)
            log.info("started from the weights of %s", path)
            return
        target = tf.train.Checkpoint(**self.gan.networks()) if weights_only else self.checkpoint
        try:
            target.restore(path).expect_partial().assert_existing_objects_matched()
            reason = None
        except Exception as err:  # noqa: BLE001 (a damaged file raises IndexError, OpError, ValueError...)
            reason = first_line(err, 200)
        if reason is not None:
            raise TrainingError(f"checkpoint '{path}' cannot be restored ({reason}): it is corrupt or was made "
                                "with other --arch/--depth/--nresblocks")
        log.info("restored %s at step %d", path, self.counters["step"])

    def save(self) -> str:
        """Save the state; a failure (a full disk, a folder gone read-only) removes what it began to write
        and keeps the earlier checkpoints."""
        number = self.counters["step"]
        try:
            return self.manager.save(checkpoint_number=number)
        except (tf.errors.OpError, OSError) as err:
            reason = first_line(err, 200)
        prefix = os.path.join(self.manager.directory, f"ckpt-{number}")
        for leftover in glob.glob(prefix + "_temp*") + glob.glob(prefix + ".*"):
            remove_quietly(leftover)
        keep = f"; the last good checkpoint is {self.latest}" if self.latest else ""
        raise write_failure(prefix, reason.split("; ")[-1], f"check free space and permissions{keep}",
                            failed=f"saving checkpoint '{prefix}' failed")
