"""Load a SavedModel that honours the model contract and run it on batches of windows."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import numpy as np

from . import contract
from .contract import ModelMetadata
from .errors import ModelError
from .raster import cast_clipped

log = logging.getLogger(__name__)


def _tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    return tf


def _check_dir(path: str) -> None:
    if not os.path.exists(path):
        raise ModelError(f"model '{path}' does not exist: give the SavedModel folder with --savedmodel")
    if not os.path.isdir(path):
        raise ModelError(f"model '{path}' is a file: give the SavedModel folder (the one holding saved_model.pb)")
    if not os.path.exists(os.path.join(path, "saved_model.pb")):
        raise ModelError(f"model '{path}' is not a SavedModel (no saved_model.pb inside): "
                         "give the folder written by sr4rs train or SR4RS")


@dataclass
class LoadedModel:
    """A SavedModel ready to run: ``predict(batch, pad)`` returns HR windows cropped by ``pad``."""

    path: str
    metadata: ModelMetadata
    has_metadata: bool
    input_bands: Optional[int]
    _signature: object
    _input_name: str
    _outputs: Dict[int, str]  # crop in HR pixels -> signature output key
    input_dtype: np.dtype = np.dtype(np.float32)  # what lr_input takes (SR4RS's latest: the patches' type)
    _range_warned: bool = False

    @property
    def scale(self) -> int:
        return self.metadata.scale

    @property
    def pads(self) -> Tuple[int, ...]:
        return tuple(sorted(self._outputs))

    def output_for(self, pad: int) -> Tuple[str, int]:
        """The output to use for a margin of ``pad`` HR pixels, and the crop it already applies."""
        if pad in self._outputs:
            return self._outputs[pad], pad
        smaller = [p for p in self._outputs if p <= pad]
        if not smaller:
            raise ModelError(f"the model has no output usable with --pad {pad} (it has "
                             f"{', '.join(self._outputs.values())}): use --pad {min(self._outputs)}")
        best = max(smaller)
        return self._outputs[best], best

    def predict(self, batch: np.ndarray, pad: int) -> np.ndarray:
        """Run (N, H, W, C) float32 raw values; return (N, H*s - 2*crop, W*s - 2*crop, C_out)."""
        tf = _tf()
        key, _ = self.output_for(pad)
        if batch.dtype != self.input_dtype:
            if self.input_dtype.kind in "ui":  # rounded and clipped (not wrapped around) to the input type
                info = np.iinfo(self.input_dtype)
                if not self._range_warned and batch.size and (batch.min() < info.min or batch.max() > info.max):
                    self._range_warned = True
                    log.warning("model '%s' takes %s: input values outside %s (%d..%d) are clipped; give it "
                                "an input in its training dynamic", self.path, self.input_dtype.name,
                                self.input_dtype.name, info.min, info.max)
                batch = cast_clipped(batch, self.input_dtype)
            else:
                batch = batch.astype(self.input_dtype)
        result = self._signature(**{self._input_name: tf.constant(batch)})
        return result[key].numpy()


def load_model(path: str, scale: Optional[int] = None) -> LoadedModel:
    """Load ``path``; ``scale`` overrides the factor of models without metadata (SR4RS's: 4)."""
    _check_dir(path)
    metadata = contract.read_metadata(path)
    tf = _tf()
    try:
        loaded = tf.saved_model.load(path, tags=[contract.TAG])
    except Exception as err:  # TensorFlow raises many types for a broken model
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ModelError(f"model '{path}' cannot be loaded ({first}): check it is a complete SavedModel") from None
    signatures = getattr(loaded, "signatures", {})
    if contract.SIGNATURE not in signatures:
        raise ModelError(f"model '{path}' has no '{contract.SIGNATURE}' signature "
                         f"(it has: {', '.join(signatures) or 'none'}): export it with sr4rs train")
    sig = signatures[contract.SIGNATURE]
    inputs = sig.structured_input_signature[1]
    input_name = next((k for k in inputs if contract.strip_tensor_suffix(k) == contract.INPUT_KEY), None)
    if input_name is None:
        raise ModelError(f"model '{path}' has no '{contract.INPUT_KEY}' input (it has: {', '.join(inputs)}): "
                         "it does not follow the sr4rs/SR4RS model contract")
    outputs = {}
    for key in sig.structured_outputs:
        pad = contract.parse_output_pad(key)
        if pad is not None:
            outputs[pad] = key
    if not outputs:
        raise ModelError(f"model '{path}' has no output_<pad> output (it has: {', '.join(sig.structured_outputs)}): "
                         "it does not follow the sr4rs/SR4RS model contract")
    shape = inputs[input_name].shape
    nbands = int(shape[-1]) if shape.rank and shape[-1] is not None else None
    if metadata is None:
        factor = scale or contract.SR4RS_DEFAULT_SCALE
        log.info("model %s has no metadata: assuming scale %d", path, factor)
        names = tuple(f"band{i + 1}" for i in range(nbands or 0))
        metadata = ModelMetadata(scale=factor, input_bands=names, output_bands=names, margin=64 if 64 % factor == 0 else factor * 16,
                                 description="SavedModel without sr4rs metadata (SR4RS-style)")
        has_metadata = False
    else:
        if scale is not None and scale != metadata.scale:
            raise ModelError(f"--scale {scale} contradicts the model's metadata (scale {metadata.scale}): drop --scale")
        has_metadata = True
    dtype = inputs[input_name].dtype
    if not (dtype.is_floating or dtype.is_integer):
        raise ModelError(f"model '{path}' takes {dtype.name} as '{contract.INPUT_KEY}': "
                         "it does not follow the sr4rs/SR4RS model contract (a number type)")
    return LoadedModel(path, metadata, has_metadata, nbands, sig, input_name, outputs, np.dtype(dtype.as_numpy_dtype))


class SessionModel:
    """Runs a SavedModel the way OTBTF's TensorflowModelServe does: a TF1 session
    loaded with tag ``serve``, tensors found through the ``serving_default`` SignatureDef."""

    def __init__(self, path: str):
        _check_dir(path)
        tf = _tf()
        self._graph = tf.Graph()
        self._session = tf.compat.v1.Session(graph=self._graph)
        with self._graph.as_default():
            meta = tf.compat.v1.saved_model.loader.load(self._session, [contract.TAG], path)
        sig = meta.signature_def[contract.SIGNATURE]
        self.inputs = {contract.strip_tensor_suffix(k): v.name for k, v in sig.inputs.items()}
        self.outputs = {contract.strip_tensor_suffix(k): v.name for k, v in sig.outputs.items()}

    def run(self, batch: np.ndarray, output: str) -> np.ndarray:
        return self._session.run(self.outputs[output], {self.inputs[contract.INPUT_KEY]: batch})

    def close(self):
        self._session.close()
