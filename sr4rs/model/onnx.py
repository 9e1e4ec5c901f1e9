"""The model as ONNX: exported for other tools (``sr4rs export-onnx``), and run by ONNX Runtime.

tf2onnx converts the SavedModel's ``serving_default`` signature (its inputs and every ``output_{pad}``, the
contract kept); the model's metadata goes into the ONNX file's metadata, as the JSON of ``sr4rs.json`` under
``sr4rs`` and as flat keys (``scale``, ``margin``, ``input_bands``...) for tools that read only strings.
"""
from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from typing import Dict, Optional

import numpy as np

from . import contract
from ..errors import BackendError, ModelError, OutputError, first_line
from ..io.files import StagedFile
from .cache import cached
from .contract import ModelMetadata
from .load import LoadedModel, ModelInput, _metadata_without_file

OPSET = 17
METADATA_KEY = "sr4rs"
ONNX_NAME = "model.onnx"


def require(package: str, extra: str = "onnx"):
    """Import an optional package, or a BackendError naming the extra that installs it."""
    try:
        return importlib.import_module(package)
    except ImportError:
        raise BackendError(f"{package} is not installed: pip install 'sr4rs[{extra}]'") from None


def _version(package: str, extra: str = "onnx") -> str:
    """The installed version of ``package`` (not imported: tf2onnx imports TensorFlow), or a BackendError."""
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        raise BackendError(f"{package} is not installed: pip install 'sr4rs[{extra}]'") from None


def _converter_reason(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "Error" in line or "ERROR" in line]
    return (errors or lines or ["no message"])[-1][-300:]


def convert(savedmodel: str, target: str, opset: int = OPSET) -> None:
    """Convert the SavedModel's serving signature to the ONNX file ``target`` (tf2onnx, in a child process:
    its TensorFlow graph work stays out of this one)."""
    _version("tf2onnx")
    cmd = [sys.executable, "-m", "tf2onnx.convert", "--saved-model", savedmodel, "--tag", contract.TAG,
           "--signature_def", contract.SIGNATURE, "--opset", str(opset), "--output", target]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0 or not os.path.exists(target):
        raise ModelError(f"tf2onnx cannot convert model '{savedmodel}' ({_converter_reason(done.stderr)}): "
                         "run it with --backend native")
    missing = unconverted_ops(target)
    if missing:  # tf2onnx keeps what it cannot map (e.g. MatrixSolve, the fusion models' local regression)
        raise ModelError(f"tf2onnx left operations ONNX does not define in model '{savedmodel}' "
                         f"({', '.join(missing)}): run it with --backend native")


def unconverted_ops(onnx_path: str) -> list:
    """The operations of an ONNX file that the standard ONNX domain does not define (none in a usable file)."""
    import onnx
    from onnx import defs

    graph = onnx.load(onnx_path, load_external_data=False).graph
    return sorted({n.op_type for n in graph.node if n.domain in ("", "ai.onnx") and not defs.has(n.op_type)})


def metadata_props(metadata: Optional[ModelMetadata]) -> Dict[str, str]:
    """The ONNX metadata of a model: its sr4rs metadata (without the training history) and flat keys."""
    if metadata is None:
        return {}
    data = json.loads(metadata.to_json())
    data.pop("training", None)
    inputs = [{"name": i.name, "bands": list(i.bands), "factor": i.factor} for i in metadata.inputs]
    return {METADATA_KEY: json.dumps(data, sort_keys=True), "scale": str(metadata.scale),
            "margin": str(metadata.margin), "lr_scale": repr(float(metadata.lr_scale)),
            "hr_scale": repr(float(metadata.hr_scale)), "nodata": "" if metadata.nodata is None else repr(metadata.nodata),
            "inputs": json.dumps(inputs), "input_bands": ",".join(metadata.input_bands),
            "output_bands": ",".join(metadata.output_bands), "description": metadata.description,
            "units": "raw pixel values in and out (the scales are applied inside the graph)"}


def write_metadata(onnx_path: str, metadata: Optional[ModelMetadata]) -> None:
    onnx = require("onnx")
    model = onnx.load(onnx_path)
    del model.metadata_props[:]
    for key, value in metadata_props(metadata).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    model.producer_name = "sr4rs"
    onnx.save(model, onnx_path)


def read_onnx_metadata(onnx_path: str) -> Optional[ModelMetadata]:
    """The sr4rs metadata an ONNX file carries, or None."""
    onnx = require("onnx")
    props = {p.key: p.value for p in onnx.load(onnx_path, load_external_data=False).metadata_props}
    return ModelMetadata.from_dict(json.loads(props[METADATA_KEY])) if METADATA_KEY in props else None


def export_onnx(savedmodel: str, output: str, overwrite: bool = False, opset: Optional[int] = None) -> str:
    """Write ``savedmodel`` as the ONNX file ``output`` (whole or not at all), with its metadata."""
    inside = os.path.commonpath([os.path.abspath(savedmodel), os.path.abspath(output)])
    if inside == os.path.abspath(savedmodel):
        raise OutputError(f"'{output}' is inside the model's folder: write the ONNX file elsewhere")
    if os.path.isdir(output):
        raise OutputError(f"'{output}' is a folder: give the ONNX file's name (e.g. model.onnx)")
    if os.path.exists(output) and not overwrite:
        raise OutputError(f"'{output}' already exists: remove it or pass --overwrite")
    if not os.path.isdir(os.path.dirname(os.path.abspath(output))):
        raise OutputError(f"the folder of '{output}' does not exist: create it first")
    staged = StagedFile(output, overwrite=True)
    try:
        convert(savedmodel, staged.tmp, opset or OPSET)
        write_metadata(staged.tmp, contract.read_metadata(savedmodel))
        staged.commit()
    except BaseException:
        staged.abort()
        raise
    return output


def cached_onnx(savedmodel: str, quantized: bool = False) -> str:
    """The ONNX form of ``savedmodel`` in the cache (int8 weights with ``quantized``), made if missing."""
    version = _version("tf2onnx")

    def make(folder: str) -> None:
        convert(savedmodel, os.path.join(folder, ONNX_NAME))
        write_metadata(os.path.join(folder, ONNX_NAME), contract.read_metadata(savedmodel))

    folder = cached(savedmodel, f"onnx-opset{OPSET}-tf2onnx{version}", make)
    if not quantized:
        return os.path.join(folder, ONNX_NAME)
    source = os.path.join(folder, ONNX_NAME)
    ort = require("onnxruntime")
    folder = cached(savedmodel, f"onnx-int8-dynamic-ort{ort.__version__}",
                    lambda out: quantize_dynamic(source, os.path.join(out, ONNX_NAME)))
    return os.path.join(folder, ONNX_NAME)


def quantize_dynamic(source: str, target: str) -> None:
    """Weights to int8, activations quantised on the fly (no calibration data)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic as _quantize

    _quantize(source, target, weight_type=QuantType.QInt8)


def quantize_static(source: str, target: str, windows) -> None:
    """Weights and activations to int8 (QDQ, per channel), activations' ranges calibrated on ``windows``: a list
    of {input name: (1, H, W, C) float32 array}. The interpolations and additions of the skip path stay float32
    only where the quantiser leaves them (it quantises convolutions and what it can fuse with them)."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static as _quantize

    class _Reader(CalibrationDataReader):
        def __init__(self):
            self._it = iter(windows)

        def get_next(self):
            return next(self._it, None)

    _quantize(source, target, _Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
              activation_type=QuantType.QInt8, weight_type=QuantType.QInt8, op_types_to_quantize=["Conv"])


class OnnxModel(LoadedModel):
    """A model converted to ONNX, run by ONNX Runtime: ``predict`` as ``LoadedModel``'s."""

    backend = "onnxruntime"

    def predict(self, batch, pad: int) -> np.ndarray:
        key, _ = self.output_for(pad)
        if not hasattr(batch, "keys"):
            batch = {self.inputs[0].spec.name: batch}
        feeds = {m.key: self._as_input_type(batch[m.spec.name], m) for m in self.inputs}
        return self._signature.run([key], feeds)[0]


def _onnx_inputs(ports, metadata: ModelMetadata, path: str):
    """The model's inputs from a runtime's input ports (each with ``name``, ``shape``, ``type`` as ONNX Runtime
    gives them)."""
    found = {contract.strip_tensor_suffix(i.name): i for i in ports}
    types = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(int32)": np.int32,
             "tensor(int16)": np.int16, "tensor(uint16)": np.uint16, "tensor(uint8)": np.uint8,
             "tensor(int64)": np.int64}
    inputs = []
    for spec in metadata.inputs:
        if spec.name not in found:
            raise ModelError(f"the ONNX form of '{path}' has no '{spec.name}' input: run it with --backend native")
        arg = found[spec.name]
        nbands = arg.shape[-1] if isinstance(arg.shape[-1], int) else None
        inputs.append(ModelInput(spec, arg.name, nbands, np.dtype(types.get(arg.type, np.float32))))
    return tuple(inputs)


def load(path: str, precision: str = "float32", scale: Optional[int] = None) -> OnnxModel:
    """The ``onnxruntime`` runtime of ``sr4rs.model.runtime``: float32; int8 (weights quantised, activations on the
    fly) for benchmarks/bench_runtimes.py, which finds it slower and short of the quality bounds."""
    from .load import check_model_dir

    ort = require("onnxruntime")
    check_model_dir(path)
    precision = "float32" if precision == "auto" else precision
    onnx_path = cached_onnx(path, quantized=precision == "int8")
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"])
    except Exception as err:  # ONNX Runtime raises its own types for a model it cannot run
        raise ModelError(f"ONNX Runtime cannot run the ONNX form of '{path}' ({first_line(err)}): "
                         "run it with --backend native") from None
    metadata = contract.read_metadata(path)
    has_metadata = metadata is not None
    if metadata is None:
        shape = session.get_inputs()[0].shape
        metadata = _metadata_without_file(shape[-1] if isinstance(shape[-1], int) else None, scale, path)
    outputs = {contract.parse_output_pad(o.name): o.name for o in session.get_outputs()
               if contract.parse_output_pad(o.name) is not None}
    return OnnxModel(path, metadata, has_metadata, _onnx_inputs(session.get_inputs(), metadata, path), session, outputs,
                     precision=precision)
