"""Runtimes that run a model, and the precisions they compute in, found by name in one small registry.

The SavedModel is the model users exchange; a runtime runs it as it is (``native``: TensorFlow) or through a
form converted from it and cached by content (``onnxruntime``, ``openvino``). Every runtime offers what the
engine and the planner use: ``path``, ``name``, ``metadata``, ``has_metadata``, ``inputs``, ``scale``,
``pads``, ``output_for(pad)`` and ``predict(batch, pad)``. This module imports no TensorFlow: a command line
lists the choices, and a planner describes a model, in milliseconds.
"""
from __future__ import annotations

import importlib
import logging
import os
from dataclasses import dataclass
from typing import Mapping, Optional, Protocol, Tuple, Union, runtime_checkable

import numpy as np

from ..errors import InputError

log = logging.getLogger(__name__)

PRECISIONS = ("auto", "float32", "bfloat16")
PRECISION_ENV = "SR4RS_PRECISION"  # the default of --precision (e.g. float32 for bit-stable runs everywhere)


@dataclass(frozen=True)
class RuntimeInfo:
    module: str  # defines load(path, precision, scale) -> a Runtime
    # the precisions it offers: those that keep the quality bounds in benchmarks/bench_runtimes.py (int8, and
    # OpenVINO's own bfloat16, are measured there and miss them)
    precisions: Tuple[str, ...]
    description: str
    package: Optional[str] = None  # the optional package it needs
    extra: Optional[str] = None  # the sr4rs extra that installs it


RUNTIMES = {
    "native": RuntimeInfo("sr4rs.model.load", ("float32", "bfloat16"),
                          "TensorFlow running the SavedModel (bfloat16: convolutions through oneDNN in bfloat16, the "
                          "skip path and the output in float32)"),
    "onnxruntime": RuntimeInfo("sr4rs.model.onnx", ("float32",),
                               "ONNX Runtime on the model converted to ONNX",
                               package="onnxruntime", extra="onnx"),
    "openvino": RuntimeInfo("sr4rs.model.openvino", ("float32",),
                            "OpenVINO on the model converted from the SavedModel (or its ONNX form)", package="openvino",
                            extra="openvino"),
}
BACKENDS = tuple(RUNTIMES) + ("otbtf",)  # otbtf: OTBTF's TensorflowModelServe, which runs the plan itself


@runtime_checkable
class Runtime(Protocol):
    """A loaded model, whatever computes it."""

    path: str
    metadata: object  # ModelMetadata
    has_metadata: bool
    inputs: tuple  # ModelInput per model input, finest first
    backend: str
    precision: str  # the precision it computes in (never "auto")

    @property
    def name(self) -> str: ...

    @property
    def scale(self) -> int: ...

    @property
    def pads(self) -> Tuple[int, ...]: ...

    def output_for(self, pad: int) -> Tuple[str, int]: ...

    def predict(self, batch: Union[np.ndarray, Mapping[str, np.ndarray]], pad: int) -> np.ndarray: ...


def cpu_has_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512_BF16 or AMX): elsewhere oneDNN emulates it, slower
    than float32."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool({"avx512_bf16", "amx_bf16"} & flags)
    except OSError:
        pass
    return False


def default_precision() -> str:
    """``SR4RS_PRECISION`` where set (checked), else ``auto``."""
    value = os.environ.get(PRECISION_ENV, "").strip().lower()
    if not value:
        return "auto"
    if value not in PRECISIONS:
        raise InputError(f"{PRECISION_ENV}={value} is not a precision: set it to one of {', '.join(PRECISIONS)}")
    return value


def check_choice(backend: str, precision: Optional[str]) -> str:
    """The precision asked for (``None``: the default), checked against the registry; returns it."""
    if backend not in BACKENDS:
        raise InputError(f"unknown --backend '{backend}': choose one of {', '.join(BACKENDS)}")
    precision = default_precision() if precision is None else str(precision).lower()
    if precision not in PRECISIONS:
        raise InputError(f"unknown --precision '{precision}': choose one of {', '.join(PRECISIONS)}")
    offered = RUNTIMES["native"].precisions if backend == "otbtf" else RUNTIMES[backend].precisions
    if backend == "otbtf" and precision not in ("auto", "float32"):
        raise InputError(f"--backend otbtf runs float32 only: drop --precision {precision}")
    if precision != "auto" and precision not in offered:
        raise InputError(f"--backend {backend} does not compute in {precision} (it offers "
                         f"{', '.join(offered)}): choose one of them, or another --backend")
    return precision


def available(backend: str) -> bool:
    """Whether the optional package ``backend`` needs imports here."""
    package = RUNTIMES[backend].package
    if package is None:
        return True
    try:
        importlib.import_module(package)
    except ImportError:
        return False
    return True


def resolve(backend: str, precision: Optional[str] = None) -> Tuple[str, str]:
    """The runtime and precision that will run: ``backend``, or ``native`` with one warning line where its
    package is not installed; ``precision`` checked (``auto`` is decided by the runtime when it loads)."""
    precision = check_choice(backend, precision)
    if backend in RUNTIMES and not available(backend):
        info = RUNTIMES[backend]
        log.warning("%s is not installed (pip install 'sr4rs[%s]'): running the native TensorFlow runtime instead",
                    info.package, info.extra)
        backend = "native"
        if precision not in RUNTIMES["native"].precisions:
            precision = "auto"
    return backend, precision


def load_runtime(path: str, backend: str = "native", precision: Optional[str] = None,
                 scale: Optional[int] = None) -> Runtime:
    """The SavedModel at ``path`` ready to run on ``backend`` in ``precision`` (see ``resolve``)."""
    backend, precision = resolve(backend, precision)
    if backend == "otbtf":
        backend = "native"  # OTBTF runs the SavedModel; the engine-side object is the float32 TensorFlow model
        precision = "float32"
    module = importlib.import_module(RUNTIMES[backend].module)
    return module.load(path, precision=precision, scale=scale)
