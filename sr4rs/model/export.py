"""Export a Keras generator as a SavedModel that honours the model contract.

``keras.export.ExportArchive`` is used rather than a bare ``tf.Module``: its variables restore in a
TF1 session too, which is how OTBTF runs models. The graph is then written without the node attributes
that TensorFlow versions older than the one exporting do not know (``NEWER_ATTRIBUTES``), so that OTBTF
4.x (TensorFlow 2.14) loads it without an error in its log.
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


# Node attributes TensorFlow 2.21 writes that TensorFlow 2.14 (OTBTF 4.x) does not know: the debug name of
# each variable (VarHandleOp), which plays no part in running the graph. 2.14 ignores them but logs an
# error for each node carrying one.
NEWER_ATTRIBUTES = ("debug_name",)


def drop_newer_attributes(folder: str) -> int:
    """Remove ``NEWER_ATTRIBUTES`` from every node of a SavedModel's graphs and functions (in place) and
    write its fingerprint again; returns how many were removed."""
    from tensorflow.core.protobuf import saved_model_pb2

    path = os.path.join(folder, "saved_model.pb")
    model = saved_model_pb2.SavedModel()
    with open(path, "rb") as f:
        model.ParseFromString(f.read())
    removed = 0
    for graph in model.meta_graphs:
        nodes = list(graph.graph_def.node)
        for function in graph.graph_def.library.function:
            nodes.extend(function.node_def)
        for node in nodes:
            for name in NEWER_ATTRIBUTES:
                if name in node.attr:
                    del node.attr[name]
                    removed += 1
    if removed:
        with open(path, "wb") as f:
            f.write(model.SerializeToString())
        _write_fingerprint(folder)
    return removed


def _write_fingerprint(folder: str) -> None:
    """fingerprint.pb holds a checksum of saved_model.pb: computed again, or left out (it is optional)
    where this TensorFlow cannot compute it."""
    target = os.path.join(folder, "fingerprint.pb")
    try:
        from tensorflow.python.saved_model.pywrap_saved_model import fingerprinting

        data = fingerprinting.CreateFingerprintDef(folder)
    except Exception:  # a private module: absent or changed in another TensorFlow
        remove_quietly(target)
        return
    with open(target, "wb") as f:
        f.write(data)


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
        drop_newer_attributes(staged.tmp)
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
