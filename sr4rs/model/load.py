"""Load a SavedModel that honours the model contract and run it on batches of windows."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, replace
from typing import Dict, Mapping, Optional, Tuple, Union

import numpy as np

from . import contract
from ..errors import ModelError, first_line
from ..geo.dtypes import cast_clipped, outside_range
from .contract import InputSpec, ModelMetadata

log = logging.getLogger(__name__)


def _tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    return tf


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with its C++ start-up notices (absl, oneDNN), which TF_CPP_MIN_LOG_LEVEL does not
    silence, sent to /dev/null; nothing if it is imported already."""
    import sys

    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow  # noqa: F401 (imported here, with stderr silenced)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def tensorflow_summary() -> Dict[str, object]:
    """TensorFlow's and Keras's versions and the devices TensorFlow sees (``sr4rs doctor``)."""
    import_tensorflow_quietly()
    tf = _tf()
    import keras

    devices = [f"{d.device_type}:{d.name.rsplit(':', 1)[-1]}" for d in tf.config.list_physical_devices()]
    return {"version": tf.__version__, "keras": keras.__version__, "devices": devices,
            "cuda": bool(tf.test.is_built_with_cuda())}


def check_model_dir(path: str) -> None:
    """A ModelError unless ``path`` is a SavedModel folder."""
    if not os.path.exists(path):
        raise ModelError(f"model '{path}' does not exist: give the SavedModel folder with --savedmodel")
    if not os.path.isdir(path):
        raise ModelError(f"model '{path}' is a file: give the SavedModel folder (the one holding saved_model.pb)")
    if not os.path.exists(os.path.join(path, "saved_model.pb")):
        raise ModelError(f"model '{path}' is not a SavedModel (no saved_model.pb inside): "
                         "give the folder written by sr4rs train or SR4RS")


@dataclass(frozen=True)
class ModelInput:
    """A model input as the signature takes it: its key there, band count and number type."""

    spec: InputSpec
    key: str
    nbands: Optional[int]
    dtype: np.dtype


@dataclass
class LoadedModel:
    """A SavedModel ready to run: ``predict(inputs, pad)`` returns output windows cropped by ``pad``."""

    path: str
    metadata: ModelMetadata
    has_metadata: bool
    inputs: Tuple[ModelInput, ...]
    _signature: object
    _outputs: Dict[int, str]  # crop in output pixels -> signature output key
    _range_warned: set = field(default_factory=set)
    precision: str = "float32"
    _session: Optional[object] = None  # bfloat16: the graph rewritten, run in a TF1 session (bfloat16.py)
    backend = "native"

    @property
    def name(self) -> str:
        return os.path.basename(os.path.normpath(self.path))

    @property
    def scale(self) -> int:
        return self.metadata.scale

    @property
    def input_bands(self) -> Optional[int]:
        """Band count of a single-input model (None where the signature leaves it open)."""
        return self.inputs[0].nbands

    @property
    def input_dtype(self) -> np.dtype:
        return self.inputs[0].dtype

    @property
    def pads(self) -> Tuple[int, ...]:
        return tuple(sorted(self._outputs))

    def output_for(self, pad: int) -> Tuple[str, int]:
        """The output to use for a margin of ``pad`` output pixels, and the crop it already applies."""
        if pad in self._outputs:
            return self._outputs[pad], pad
        smaller = [p for p in self._outputs if p <= pad]
        if not smaller:
            raise ModelError(f"the model has no output usable with --pad {pad} (it has "
                             f"{', '.join(self._outputs.values())}): use --pad {min(self._outputs)}")
        best = max(smaller)
        return self._outputs[best], best

    def predict(self, batch: Union[np.ndarray, Mapping[str, np.ndarray]], pad: int) -> np.ndarray:
        """Run (N, H, W, C) float32 raw values (one array per input name, or one array for a
        single-input model); return (N, H*s - 2*crop, W*s - 2*crop, C_out)."""
        key, _ = self.output_for(pad)
        if self._signature is None and self._session is None:
            raise ModelError(f"model '{self.path}' was described from its metadata, not loaded: load it to run it")
        if not isinstance(batch, Mapping):
            batch = {self.inputs[0].spec.name: batch}
        arrays = [self._as_input_type(batch[m.spec.name], m) for m in self.inputs]
        if self._session is not None:
            return self._session.run(key, arrays)
        tf = _tf()
        feeds = {m.key: tf.constant(a) for m, a in zip(self.inputs, arrays)}
        return self._signature(**feeds)[key].numpy()

    def _as_input_type(self, array: np.ndarray, model_input: ModelInput) -> np.ndarray:
        dtype = model_input.dtype
        if array.dtype == dtype:
            return array
        if dtype.kind not in "ui":
            return array.astype(dtype)
        # rounded and clipped (not wrapped around) to the input type, with one warning
        if model_input.key not in self._range_warned and outside_range(array, dtype):
            self._range_warned.add(model_input.key)
            info = np.iinfo(dtype)
            log.warning("model '%s' takes %s: input values outside %s (%d..%d) are clipped; give it "
                        "an input in its training dynamic", self.path, dtype.name, dtype.name, info.min, info.max)
        return cast_clipped(array, dtype)


def _signature_of(loaded, path: str):
    signatures = getattr(loaded, "signatures", {})
    if contract.SIGNATURE not in signatures:
        raise ModelError(f"model '{path}' has no '{contract.SIGNATURE}' signature "
                         f"(it has: {', '.join(signatures) or 'none'}): export it with sr4rs train")
    return signatures[contract.SIGNATURE]


def _outputs_of(sig, path: str) -> Dict[int, str]:
    outputs = {}
    for key in sig.structured_outputs:
        pad = contract.parse_output_pad(key)
        if pad is not None:
            outputs[pad] = key
    if not outputs:
        raise ModelError(f"model '{path}' has no output_<pad> output (it has: {', '.join(sig.structured_outputs)}): "
                         "it does not follow the sr4rs/SR4RS model contract")
    return outputs


def _metadata_without_file(nbands: Optional[int], scale: Optional[int], path: str) -> ModelMetadata:
    """SR4RS's published models carry no metadata: x4 (or ``scale``), bands by number."""
    factor = scale or contract.SR4RS_DEFAULT_SCALE
    log.info("model %s has no metadata: assuming scale %d", path, factor)
    names = tuple(f"band{i + 1}" for i in range(nbands or 0))
    return ModelMetadata(scale=factor, input_bands=names, output_bands=names,
                         margin=64 if 64 % factor == 0 else factor * 16,
                         description="SavedModel without sr4rs metadata (SR4RS-style)")


def _inputs_of(sig, metadata: ModelMetadata, path: str) -> Tuple[ModelInput, ...]:
    specs = sig.structured_input_signature[1]
    keys = {contract.strip_tensor_suffix(k): k for k in specs}
    inputs = []
    for spec in metadata.inputs:
        key = keys.get(spec.name)
        if key is None:
            raise ModelError(f"model '{path}' has no '{spec.name}' input (it has: {', '.join(specs)}): "
                             "it does not follow the sr4rs/SR4RS model contract")
        tensor = specs[key]
        if not (tensor.dtype.is_floating or tensor.dtype.is_integer):
            raise ModelError(f"model '{path}' takes {tensor.dtype.name} as '{spec.name}': "
                             "it does not follow the sr4rs/SR4RS model contract (a number type)")
        shape = tensor.shape
        nbands = int(shape[-1]) if shape.rank and shape[-1] is not None else None
        inputs.append(ModelInput(spec, key, nbands, np.dtype(tensor.dtype.as_numpy_dtype)))
    return tuple(inputs)


def load_model(path: str, scale: Optional[int] = None, precision: str = "float32") -> LoadedModel:
    """Load ``path``; ``scale`` overrides the factor of models without metadata (SR4RS's: 4). ``precision``:
    float32 (the SavedModel as it is), bfloat16 (``bfloat16.BFloat16Session``) or auto (bfloat16 where the CPU computes it
    natively and no GPU is used, else float32)."""
    if scale is not None and (isinstance(scale, bool) or not isinstance(scale, int) or not 2 <= scale <= 16):
        raise ModelError(f"--scale {scale} is out of range: give the model's scale factor, 2 to 16 (SR4RS's models: 4)")
    check_model_dir(path)
    metadata = contract.read_metadata(path)
    if metadata is not None and scale is not None and scale != metadata.scale:
        raise ModelError(f"--scale {scale} contradicts the model's metadata (scale {metadata.scale}): drop --scale")
    tf = _tf()
    try:
        loaded = tf.saved_model.load(path, tags=[contract.TAG])
    except Exception as err:  # TensorFlow raises many types for a broken model
        raise ModelError(f"model '{path}' cannot be loaded ({first_line(err, 200)}): "
                         "check it is a complete SavedModel") from None
    sig = _signature_of(loaded, path)
    has_metadata = metadata is not None
    if metadata is None:
        specs = sig.structured_input_signature[1]
        key = next((k for k in specs if contract.strip_tensor_suffix(k) == contract.INPUT_KEY), None)
        shape = specs[key].shape if key is not None else None
        nbands = int(shape[-1]) if shape is not None and shape.rank and shape[-1] is not None else None
        metadata = _metadata_without_file(nbands, scale, path)
    inputs = _inputs_of(sig, metadata, path)
    outputs = _outputs_of(sig, path)
    precision = _resolve_precision(precision, tf)
    session = None
    if precision == "bfloat16":
        from .bfloat16 import BFloat16Session

        session = BFloat16Session(sig, [m.key for m in inputs])
    model = LoadedModel(path, metadata, has_metadata, inputs, sig, outputs, precision=precision, _session=session)
    model._loaded = loaded  # keeps the functions' variables alive
    return model


def model_spec(path: str) -> LoadedModel:
    """The model as a planner sees it (inputs, bands, factors, margins, the ``output_{pad}`` crops sr4rs exports),
    from its metadata alone: no TensorFlow, nothing run. ``predict`` is not available on it."""
    check_model_dir(path)
    metadata = contract.read_metadata(path)
    if metadata is None:
        raise ModelError(f"model '{path}' has no sr4rs metadata: load it (its signature tells its inputs) to plan a run")
    inputs = tuple(ModelInput(spec, spec.name, len(spec.bands) or None, np.dtype(np.float32))
                   for spec in metadata.inputs)
    outputs = {pad: contract.output_key(pad) for pad in (0,) + contract.PADS}
    return LoadedModel(path, metadata, True, inputs, None, outputs, precision="none")


def load(path: str, precision: str = "float32", scale: Optional[int] = None) -> LoadedModel:
    """The ``native`` runtime of ``sr4rs.model.runtime``."""
    return load_model(path, scale=scale, precision=precision)


def _resolve_precision(precision: str, tf) -> str:
    if precision == "auto":
        from .runtime import cpu_has_bfloat16

        return "bfloat16" if cpu_has_bfloat16() and not tf.config.list_logical_devices("GPU") else "float32"
    if precision not in ("float32", "bfloat16"):
        raise ModelError(f"TensorFlow computes in float32 or bfloat16, not '{precision}': "
                         "choose --precision float32 or bfloat16")
    return precision


class SessionModel:
    """Runs a SavedModel the way OTBTF's TensorflowModelServe does: a TF1 session loaded with tag
    ``serve``, tensors found through the ``serving_default`` SignatureDef."""

    def __init__(self, path: str):
        check_model_dir(path)
        tf = _tf()
        self._graph = tf.Graph()
        self._session = tf.compat.v1.Session(graph=self._graph)
        with self._graph.as_default():
            meta = tf.compat.v1.saved_model.loader.load(self._session, [contract.TAG], path)
        sig = meta.signature_def[contract.SIGNATURE]
        self.inputs = {contract.strip_tensor_suffix(k): v.name for k, v in sig.inputs.items()}
        self.outputs = {contract.strip_tensor_suffix(k): v.name for k, v in sig.outputs.items()}

    def run(self, batch: Union[np.ndarray, Mapping[str, np.ndarray]], output: str) -> np.ndarray:
        feeds = batch if isinstance(batch, Mapping) else {contract.INPUT_KEY: batch}
        return self._session.run(self.outputs[output], {self.inputs[k]: v for k, v in feeds.items()})

    def close(self):
        self._session.close()
