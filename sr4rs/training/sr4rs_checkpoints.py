"""Checkpoints written by SR4RS's own ``train.py`` (TensorFlow 1 ``Saver`` checkpoints, and the variables of
the SavedModels it exports), read into the networks and optimisers of ``--arch sr4rs``.

SR4RS names its variables after scopes: ``gen/res_2x/conv1/weight``, ``dis/bn/dense1/bias``; its optimisers'
moments are ``apply_gen_gradients/<variable>/Adam`` (first moment) and ``.../Adam_1`` (second), those of the
pre-training optimiser ``<variable>/Adam``, and each optimiser's step count survives as ``beta2_power``
(beta2 to the power step + 1). The Keras layers of ``sr4rs.nets.sr4rs`` and ``sr4rs.nets.discriminator`` are
named after the same scopes and keep their weights in the same units (the equalised learning rate's scale is
applied when a layer runs, as SR4RS does), so every value is copied as it is.
"""
from __future__ import annotations

import math
import os
from typing import Optional

import tensorflow as tf

from ..errors import TrainingError, first_line

MARK = "gen/encoder/conv1_9x9/weight"  # present in every SR4RS checkpoint
OPTIMISER_SCOPES = {"g_opt": "apply_gen_gradients/", "d_opt": "apply_dis_gradients/", "p_opt": ""}


def tf1_prefix(path: str) -> Optional[str]:
    """The TF1 checkpoint prefix behind ``path`` (a prefix, or a SavedModel folder), or None."""
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        path = os.path.join(path, "variables", "variables")
    return path if os.path.isfile(path + ".index") else None


def _reader(path: str):
    prefix = tf1_prefix(path)
    if prefix is None:
        return None
    try:
        return tf.train.load_checkpoint(prefix)
    except Exception:  # noqa: BLE001 (not a readable checkpoint: the caller reports it its own way)
        return None


def is_sr4rs_checkpoint(path: str) -> bool:
    """Whether ``path`` (a checkpoint prefix or a SavedModel folder) holds SR4RS's generator variables."""
    reader = _reader(path)
    return reader is not None and reader.has_tensor(MARK)


def sr4rs_name(keras_path: str, scope: str) -> str:
    """``res_2x.conv1/kernel`` -> ``gen/res_2x/conv1/weight`` (``scope`` gen or dis)."""
    layer, variable = keras_path.rsplit("/", 1)
    return f"{scope}/{layer.replace('.', '/')}/{'weight' if variable == 'kernel' else variable}"


def made_with(reader) -> str:
    """The network flags an SR4RS checkpoint was made with, as words for a message."""
    shapes = reader.get_variable_to_shape_map()
    depth, bands = shapes[MARK][3], shapes[MARK][2]
    blocks = sum(1 for name in shapes if name.startswith("gen/encoder/ResBlock") and name.endswith("conv1/weight"))
    return f"--depth {depth} --nresblocks {blocks} on {bands}-band patches"


def _value(reader, name: str, shape, path: str):
    if not reader.has_tensor(name):
        raise TrainingError(f"SR4RS checkpoint '{path}' has no variable '{name}': it was not made by SR4RS's "
                            "train.py with the x4 generator; give one that was")
    value = reader.get_tensor(name)
    if tuple(value.shape) != tuple(shape):
        raise TrainingError(f"SR4RS checkpoint '{path}' holds '{name}' of shape {tuple(value.shape)}, the network "
                            f"here {tuple(shape)}: it was made with {made_with(reader)}; train with those flags")
    return value


def _assign_network(model, scope: str, reader, path: str) -> None:
    for variable in model.variables:
        variable.assign(_value(reader, sr4rs_name(variable.path, scope), variable.shape, path))


def _steps(reader, opt_scope: str, beta_2: float) -> int:
    """Updates an SR4RS optimiser made, from its ``beta2_power`` (beta2 ** (updates + 1))."""
    name = opt_scope + "beta2_power"
    if not reader.has_tensor(name):
        return 0
    power = float(reader.get_tensor(name))
    if power <= 0.0:  # underflowed after ~1e5 updates: every later count gives the same updates
        return int(math.ceil(math.log(1.2e-38) / math.log(beta_2)))
    return max(int(round(math.log(power) / math.log(beta_2))) - 1, 0)


def _assign_optimiser(opt, model, scope: str, opt_scope: str, reader, path: str) -> int:
    for variable in model.trainable_variables:
        name = opt_scope + sr4rs_name(variable.path, scope) + "/Adam"
        index = opt._get_variable_index(variable)  # noqa: SLF001 (Keras 3 keeps moments by variable index)
        opt._momentums[index].assign(_value(reader, name, variable.shape, path))  # noqa: SLF001
        opt._velocities[index].assign(_value(reader, name + "_1", variable.shape, path))  # noqa: SLF001
    steps = _steps(reader, opt_scope, float(opt.beta_2))
    opt.iterations.assign(steps)
    return steps


def restore_sr4rs(gan, path: str, weights_only: bool) -> int:
    """Copy an SR4RS checkpoint (or SavedModel) into ``gan`` (``--arch sr4rs``): the networks, and unless
    ``weights_only`` the three optimisers. Returns the steps SR4RS had trained (pre-training and training)."""
    reader = _reader(path)
    if reader is None:
        raise TrainingError(f"'{path}' is not a readable SR4RS checkpoint: give the prefix SR4RS's train.py saved "
                            "(the path before .index)")
    if gan.cfg.arch != "sr4rs":
        raise TrainingError(f"--load_ckpt '{path}' is an SR4RS checkpoint, made with {made_with(reader)}: "
                            f"train with --arch sr4rs (not --arch {gan.cfg.arch})")
    try:
        _assign_network(gan.generator, "gen", reader, path)
        if gan.discriminator is not None:
            _assign_network(gan.discriminator, "dis", reader, path)
        if weights_only:
            return 0
        steps = _assign_optimiser(gan.p_opt, gan.generator, "gen", OPTIMISER_SCOPES["p_opt"], reader, path)
        steps += _assign_optimiser(gan.g_opt, gan.generator, "gen", OPTIMISER_SCOPES["g_opt"], reader, path)
        if gan.discriminator is not None:
            _assign_optimiser(gan.d_opt, gan.discriminator, "dis", OPTIMISER_SCOPES["d_opt"], reader, path)
    except tf.errors.OpError as err:
        raise TrainingError(f"SR4RS checkpoint '{path}' cannot be read ({first_line(err, 200)}): it is damaged; "
                            "give a complete one") from None
    return steps
