"""Training on several devices and machines through ``tf.distribute``, and in mixed precision.

``--strategy mirrored``: one replica per GPU of this machine (the CPUs TensorFlow shows where there is no
GPU); ``--strategy multiworker``: ``MultiWorkerMirroredStrategy`` over the workers of ``TF_CONFIG``. The
global batch (``--batchsize``) is split across the replicas, each replica's loss is scaled so that the summed
gradients are those of the whole batch, and only the chief (worker 0, or the ``chief`` task) writes: config,
checkpoints, logs, the exported model. A checkpoint holds plain values, so a run resumes on any number of
workers.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from typing import Optional

from ..errors import InputError, TrainingError

STRATEGIES = ("none", "mirrored", "multiworker")


def check_tf_config(strategy: str, environ=os.environ) -> None:
    """``--strategy multiworker`` needs the workers described by TF_CONFIG (checked before TensorFlow starts)."""
    if strategy != "multiworker":
        return
    text = environ.get("TF_CONFIG")
    fix = ("set TF_CONFIG on each worker, e.g. {\"cluster\": {\"worker\": [\"host1:12345\", \"host2:12345\"]}, "
           "\"task\": {\"type\": \"worker\", \"index\": 0}}")
    if not text:
        raise InputError(f"--strategy multiworker needs TF_CONFIG describing the workers: {fix}")
    try:
        config = json.loads(text)
        workers = config["cluster"].get("worker", []) + config["cluster"].get("chief", [])
        task = config["task"]
        index, kind = int(task["index"]), task["type"]
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise InputError(f"TF_CONFIG is not valid ({err}): {fix}") from None
    if not workers or kind not in config["cluster"] or not 0 <= index < len(config["cluster"][kind]):
        raise InputError(f"TF_CONFIG's task {kind} {index} is not in its cluster: {fix}")


def make_strategy(name: str):
    """The ``tf.distribute`` strategy of ``--strategy``; created first thing, before any other TensorFlow
    operation (collective operations are configured at start-up)."""
    import tensorflow as tf

    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
        ops = None if gpus else tf.distribute.ReductionToOneDevice()
        return tf.distribute.MirroredStrategy(devices, cross_device_ops=ops)
    return tf.distribute.get_strategy()


def is_chief(strategy) -> bool:
    """Whether this process writes: always, but for the workers of a multi-worker run other than the chief."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def check_batch(batch_size: int, strategy) -> None:
    replicas = strategy.num_replicas_in_sync
    if batch_size % replicas:
        raise TrainingError(f"--batchsize {batch_size} is not divisible by the {replicas} replicas of this run: give "
                            f"a multiple of {replicas} (the global batch is split across them)")


def distribute_dataset(strategy, dataset):
    """Batches of the global batch, each split across the replicas: every worker builds the same batches
    (same seed) and keeps its replicas' parts, so a step sees the global batch a single worker would see."""
    import tensorflow as tf

    if strategy.num_replicas_in_sync == 1 and getattr(strategy, "cluster_resolver", None) is None:
        return dataset
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return strategy.experimental_distribute_dataset(dataset.with_options(options))


@contextlib.contextmanager
def precision(policy):
    """Within the block, new Keras layers compute under the dtype policy ``policy`` (a name Keras's
    ``dtype_policies.get`` takes: ``float32``, ``mixed_float16``, ``mixed_bfloat16``; weights stay float32).
    ``True``/``False`` mean ``mixed_float16``/``float32``, as ``--mixed-precision``."""
    if isinstance(policy, bool):
        policy = "mixed_float16" if policy else "float32"
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(keras.dtype_policies.get(policy))
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


class WorkerFolder:
    """Where this worker saves checkpoints: the real folder on the chief; a private temporary one elsewhere
    (every worker takes part in a save, only the chief's is kept), removed at the end."""

    def __init__(self, folder: str, chief: bool):
        self.chief = chief
        self.path = folder if chief else tempfile.mkdtemp(prefix="sr4rs-worker-ckpt-")

    def close(self) -> None:
        if not self.chief:
            shutil.rmtree(self.path, ignore_errors=True)


def replicas(strategy: Optional[object]) -> int:
    return 1 if strategy is None else strategy.num_replicas_in_sync
