"""The model run by OpenVINO: its converter reads the SavedModel directly; the IR it makes is cached by the
model's content. The runtime offers float32; OpenVINO's own bfloat16 (``load(..., "bfloat16")``, which rounds the
input to bfloat16 too) is measured by benchmarks/bench_runtimes.py but misses the quality bounds there."""
from __future__ import annotations

import os
from typing import Optional

import numpy as np

from . import contract
from ..errors import BackendError, ModelError, first_line
from .cache import cached
from .load import LoadedModel, _metadata_without_file, check_model_dir
from .onnx import _onnx_inputs, require

IR_NAME = "model.xml"
_HINTS = {"float32": "f32", "bfloat16": "bf16"}


class _Ports:
    """What ``_onnx_inputs`` reads of a runtime's inputs: name, shape, type."""

    def __init__(self, port):
        self.name = port.get_any_name()
        shape = port.get_partial_shape()
        last = shape[shape.rank.get_length() - 1]
        self.shape = [None] * (shape.rank.get_length() - 1) + [last.get_length() if last.is_static else None]
        self.type = {"f32": "tensor(float)", "i32": "tensor(int32)", "u16": "tensor(uint16)", "u8": "tensor(uint8)",
                     "i16": "tensor(int16)", "f64": "tensor(double)"}.get(port.get_element_type().get_type_name(),
                                                                         "tensor(float)")


class OpenVinoModel(LoadedModel):
    """``predict`` as ``LoadedModel``'s, through one OpenVINO infer request."""

    backend = "openvino"

    def predict(self, batch, pad: int) -> np.ndarray:
        key, _ = self.output_for(pad)
        if not hasattr(batch, "keys"):
            batch = {self.inputs[0].spec.name: batch}
        feeds = {m.key: self._as_input_type(batch[m.spec.name], m) for m in self.inputs}
        compiled, request = self._signature
        result = request.infer(feeds)
        return np.array(result[compiled.output(key)], copy=True)


def _reason(err: BaseException) -> str:
    """The line of OpenVINO's report that says what it could not convert."""
    lines = [line.strip("- ").strip() for line in str(err).splitlines() if line.strip()]
    return next((line for line in lines if "No conversion rule" in line), first_line(err))


def cached_ir(path: str) -> str:
    """OpenVINO's IR of the SavedModel ``path``, in the cache. Its converter reads SavedModels directly; where it
    lacks an op (OpenVINO 2026.4's TensorFlow reader has no ResizeBicubic, the skip path of the EDSR models) it
    reads the model's ONNX form instead."""
    ov = require("openvino", "openvino")

    def make(folder: str) -> None:
        from .load import import_tensorflow_quietly
        from .onnx import cached_onnx

        import_tensorflow_quietly()
        try:
            model = ov.convert_model(path)
        except Exception as err:  # the converter raises its own types
            reason = _reason(err)
            try:
                model = ov.convert_model(cached_onnx(path))
            except BackendError:
                raise ModelError(f"OpenVINO cannot convert model '{path}' ({reason}) and tf2onnx, which would go "
                                 "through ONNX, is not installed: pip install 'sr4rs[onnx]', or use --backend "
                                 "native") from None
            except Exception as again:  # noqa: BLE001 (the converter's own types)
                raise ModelError(f"OpenVINO cannot convert model '{path}' ({reason}; through ONNX: "
                                 f"{_reason(again)}): run it with --backend native") from None
        ov.save_model(model, os.path.join(folder, IR_NAME), compress_to_fp16=False)

    return os.path.join(cached(path, f"openvino-{ov.get_version().split('-')[0]}", make), IR_NAME)


def load(path: str, precision: str = "float32", scale: Optional[int] = None) -> OpenVinoModel:
    """The ``openvino`` runtime of ``sr4rs.model.runtime``: float32 (auto), or OpenVINO's bfloat16."""
    ov = require("openvino", "openvino")
    check_model_dir(path)
    if precision == "auto":
        precision = "float32"
    core = ov.Core()
    model = core.read_model(cached_ir(path))
    compiled = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": _HINTS[precision]})
    ports = [_Ports(p) for p in compiled.inputs]
    metadata = contract.read_metadata(path)
    has_metadata = metadata is not None
    if metadata is None:
        metadata = _metadata_without_file(ports[0].shape[-1], scale, path)

    outputs = {}
    for port in compiled.outputs:
        for name in port.get_names():
            if contract.parse_output_pad(name) is not None:
                outputs[contract.parse_output_pad(name)] = name
    return OpenVinoModel(path, metadata, has_metadata, _onnx_inputs(ports, metadata, path),
                         (compiled, compiled.create_infer_request()), outputs, precision=precision)
