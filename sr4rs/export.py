"""Export a Keras generator as a SavedModel that honours the model contract.

``keras.export.ExportArchive`` is used rather than a bare ``tf.Module``: its
variables restore in a TF1 session too, which is how OTBTF runs models.
"""
from __future__ import annotations

import os
import shutil

from . import contract
from .contract import ModelMetadata
from .errors import OutputError


def export_savedmodel(generator, path: str, metadata: ModelMetadata, overwrite: bool = False) -> str:
    """Write ``generator`` (normalised LR -> normalised HR, or a list whose last item is
    the full-resolution output) to ``path`` with the radiometric scaling of ``metadata``
    built in, the ``output_{pad}`` crops and the metadata file."""
    import keras
    import tensorflow as tf

    if os.path.exists(path) and not overwrite:
        raise OutputError(f"SavedModel folder '{path}' already exists: remove it or pass --overwrite")
    nbands = len(metadata.input_bands)
    lr_scale, hr_scale = float(metadata.lr_scale), float(metadata.hr_scale)

    def serve(lr_input):
        out = generator(lr_input * lr_scale, training=False)
        if isinstance(out, (list, tuple)):
            out = out[-1]
        hr = out / hr_scale
        result = {contract.output_key(0): hr}
        for pad in contract.PADS:
            result[contract.output_key(pad)] = hr[:, pad:-pad, pad:-pad, :]
        return result

    archive = keras.export.ExportArchive()
    archive.track(generator)
    archive.add_endpoint(contract.SIGNATURE, serve, input_signature=[
        tf.TensorSpec([None, None, None, nbands], tf.float32, name=contract.INPUT_KEY)])
    staging = path.rstrip("/\\") + ".partial"
    shutil.rmtree(staging, ignore_errors=True)
    old = path.rstrip("/\\") + ".replaced"
    try:
        archive.write_out(staging, verbose=False)
        contract.write_metadata(staging, metadata)
        if os.path.exists(path):  # set aside, not deleted, until the new model is in place
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
        os.replace(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if os.path.exists(old) and not os.path.exists(path):
            os.replace(old, path)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return path
