"""Export a Keras generator as a SavedModel that honours the model contract.

``keras.export.ExportArchive`` is used rather than a bare ``tf.Module``: its variables restore in a
TF1 session too, which is how OTBTF runs models.
"""
from __future__ import annotations

import os

from . import contract
from ..errors import OutputError, first_line
from ..io.files import StagedFile, remove_quietly
from .contract import ModelMetadata


def _serving_function(generator, metadata: ModelMetadata):
    """Raw values in (one argument per input, in ``metadata.inputs`` order), the ``output_{pad}`` crops
    of the full-resolution estimate out, with the radiometric scaling built in."""
    lr_scale, hr_scale = float(metadata.lr_scale), float(metadata.hr_scale)

    def serve(*inputs):
        scaled = [x * lr_scale for x in inputs]
        out = generator(scaled[0] if len(scaled) == 1 else scaled, training=False)
        if isinstance(out, (list, tuple)):
            out = out[-1]
        hr = out / hr_scale
        if metadata.consistency == "block":
            hr = _block_consistent(hr, inputs[-1], metadata.inputs[-1].factor)
        result = {contract.output_key(0): hr}
        for pad in contract.PADS:
            result[contract.output_key(pad)] = hr[:, pad:-pad, pad:-pad, :]
        return result

    return serve


def _block_consistent(hr, lr, factor: int):
    """``hr`` plus the difference between ``lr`` and ``hr``'s factor x factor block means, spread over each
    block: the result's block means are ``lr`` exactly (in raw values)."""
    import tensorflow as tf

    low = tf.nn.avg_pool2d(hr, factor, factor, "VALID")
    correction = tf.repeat(tf.repeat(tf.cast(lr, hr.dtype) - low, factor, axis=1), factor, axis=2)
    return hr + correction


def export_savedmodel(generator, path: str, metadata: ModelMetadata, overwrite: bool = False) -> str:
    """Write ``generator`` (normalised inputs -> normalised output, or a list whose last item is the
    full-resolution output) to ``path`` with the ``output_{pad}`` crops and the metadata file.
    The folder appears whole or not at all; a replaced one is removed only once the new one is in place."""
    import keras
    import tensorflow as tf

    if os.path.exists(path) and not overwrite:
        raise OutputError(f"SavedModel folder '{path}' already exists: remove it or pass --overwrite")
    archive = keras.export.ExportArchive()
    archive.track(generator)
    archive.add_endpoint(contract.SIGNATURE, _serving_function(generator, metadata), input_signature=[
        tf.TensorSpec([None, None, None, len(i.bands)], tf.float32, name=i.name) for i in metadata.inputs])
    staged, old = StagedFile(path, overwrite=True), StagedFile(path, tag="replaced")
    try:
        archive.write_out(staged.tmp, verbose=False)
        contract.write_metadata(staged.tmp, metadata)
        if os.path.exists(path):  # set aside, not deleted, until the new model is in place
            os.replace(path, old.tmp)
        os.replace(staged.tmp, path)
    except BaseException as err:
        staged.abort()
        if os.path.exists(old.tmp) and not os.path.exists(path):
            os.replace(old.tmp, path)
        if isinstance(err, (OSError, tf.errors.OpError)):
            raise OutputError(f"cannot write SavedModel '{path}' ({first_line(err)}): check free space and "
                              "permissions") from None
        raise
    remove_quietly(old.tmp)
    return path
