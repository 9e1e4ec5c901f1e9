"""The model contract shared by export (training) and inference (apply).

A model is a TensorFlow SavedModel folder, tag ``serve``, signature ``serving_default``, with one
input per resolution group (raw pixel values, NHWC; a single-input model's is ``lr_input``, as in
SR4RS) and outputs ``output_{pad}``: the result cropped by ``pad`` output pixels on each side
(``output_0`` is uncropped). Every input lies on a grid ``factor`` times coarser than the output:
4 for the LR image of an x4 model; 1 and 2 for the 10 m and 20 m inputs of a model that brings
20 m bands to 10 m. The metadata below lives in ``assets.extra/sr4rs.json`` inside the SavedModel.
"""
from __future__ import annotations

import json
import math
import os
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, Optional, Tuple

from ..errors import ModelError

TAG = "serve"
SIGNATURE = "serving_default"
INPUT_KEY = "lr_input"
OUTPUT_PREFIX = "output_"
PADS = (32, 64, 128, 256, 512)  # the cropped outputs SR4RS exports, in output pixels
METADATA_PATH = os.path.join("assets.extra", "sr4rs.json")
FORMAT = "sr4rs-model/2"
SR4RS_DEFAULT_SCALE = 4  # SR4RS's published models carry no metadata and are x4
CONSISTENCY = ("", "block", "backprojection")

_OUTPUT_RE = re.compile(r"^output_(\d+)(?::0)?$")


def output_key(pad: int) -> str:
    return f"{OUTPUT_PREFIX}{pad}"


def parse_output_pad(key: str) -> Optional[int]:
    """``output_64`` (or SR4RS's ``output_64:0``) -> 64; anything else -> None."""
    match = _OUTPUT_RE.match(key)
    return int(match.group(1)) if match else None


def strip_tensor_suffix(key: str) -> str:
    """SR4RS exported its signature keys with the tensor suffix (``lr_input:0``)."""
    return key[:-2] if key.endswith(":0") else key


@dataclass(frozen=True)
class InputSpec:
    """One model input: its signature key, its bands in order, and how many times coarser than the
    output its pixels are."""

    name: str
    bands: Tuple[str, ...]
    factor: int

    def __post_init__(self):
        object.__setattr__(self, "bands", tuple(self.bands))
        if not isinstance(self.factor, int) or isinstance(self.factor, bool) or self.factor < 1:
            raise ModelError(f"model metadata: input '{self.name}' has factor {self.factor!r}, "
                             "a positive integer is needed")

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "InputSpec":
        try:
            return cls(str(data["name"]), tuple(data["bands"]), int(data["factor"]))
        except (KeyError, TypeError, ValueError):
            raise ModelError(f"model metadata: input {data!r} lacks a name, bands or factor: "
                             "re-export the model with sr4rs") from None


@dataclass(frozen=True)
class ModelMetadata:
    """What a model expects and returns. ``margin`` is in output pixels (the default --pad).

    A single-input model may be described by ``scale`` and ``input_bands`` alone (its input is
    ``lr_input``, ``scale`` times coarser than the output). ``scale`` is the largest input factor.
    """

    scale: int
    input_bands: Tuple[str, ...] = ()
    output_bands: Tuple[str, ...] = ()
    lr_scale: float = 1.0
    hr_scale: float = 1.0
    nodata: Optional[float] = None
    margin: int = 64
    description: str = ""
    training: Dict[str, Any] = field(default_factory=dict)
    inputs: Tuple[InputSpec, ...] = ()
    # "block": a last layer adds back the difference between the input and the output averaged over factor x
    # factor blocks, so that the output's block means are the input exactly (reflectance consistency 0);
    # "backprojection": the network's own last layer makes its output, degraded as the model assumes (Wald's blur,
    # then block means), give back its coarsest input.
    consistency: str = ""
    # What the training data looked like (``sr4rs.geo.radiometry.statistics_record``): per input and band, the range
    # over the training scenes of their 2nd, 50th and 98th percentiles, and the scenes' product levels. Inputs far
    # outside it get a warning at apply and evaluate; empty (older models): no check.
    statistics: Dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.scale, (int, float)) or int(self.scale) != self.scale or self.scale < 1:
            raise ModelError(f"model metadata: scale must be a positive integer, received {self.scale!r}")
        inputs = tuple(i if isinstance(i, InputSpec) else InputSpec.from_dict(i) for i in self.inputs)
        if not inputs:
            inputs = (InputSpec(INPUT_KEY, tuple(self.input_bands), int(self.scale)),)
        names = [i.name for i in inputs]
        if len(set(names)) != len(names):
            raise ModelError(f"model metadata: input names {names} repeat")
        object.__setattr__(self, "inputs", tuple(sorted(inputs, key=lambda i: i.factor)))
        object.__setattr__(self, "input_bands", tuple(b for i in self.inputs for b in i.bands))
        object.__setattr__(self, "output_bands", tuple(self.output_bands))
        if max(i.factor for i in inputs) != self.scale:
            raise ModelError(f"model metadata: scale {self.scale} is not the largest input factor "
                             f"({max(i.factor for i in inputs)}): re-export the model")
        if self.consistency not in CONSISTENCY:
            raise ModelError(f"model metadata: unknown consistency operator '{self.consistency}' (known: "
                             f"{', '.join(c for c in CONSISTENCY if c)})")
        if self.margin % self.grid_unit:
            raise ModelError(f"model metadata: margin {self.margin} is not a multiple of {self.grid_unit} "
                             "(every input's factor must divide it)")

    @property
    def grid_unit(self) -> int:
        """Tiles and margins are multiples of this many output pixels: the least common multiple of
        the input factors (so that every input window falls on whole pixels)."""
        return math.lcm(*(i.factor for i in self.inputs))

    @property
    def fine_factor(self) -> int:
        """The factor of the finest input, whose grid the output shares (times this factor)."""
        return self.inputs[0].factor

    def to_json(self) -> str:
        data = asdict(self)
        data["format"] = FORMAT
        return json.dumps(data, indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "ModelMetadata":
        if not isinstance(data, dict):
            raise ModelError("model metadata is not a JSON object: re-export the model with sr4rs")
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        missing = {"scale", "output_bands"} - set(known)
        if not known.get("inputs") and "input_bands" not in known:
            missing.add("input_bands")
        if missing:
            raise ModelError(f"model metadata lacks {', '.join(sorted(missing))}: re-export the model with sr4rs")
        if known.get("inputs"):
            if not isinstance(known["inputs"], list):
                raise ModelError("model metadata: 'inputs' is not a list: re-export the model with sr4rs")
            known["inputs"] = tuple(InputSpec.from_dict(i) for i in known["inputs"])
            known.pop("input_bands", None)  # derived from the inputs
        return cls(**known)


def read_metadata(savedmodel_dir: str) -> Optional[ModelMetadata]:
    """The metadata of a SavedModel, or None where it has none (SR4RS's own models)."""
    path = os.path.join(savedmodel_dir, METADATA_PATH)
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            return ModelMetadata.from_dict(json.load(f))
    except (OSError, ValueError, TypeError) as err:  # ValueError covers JSON and decoding errors
        raise ModelError(f"model metadata '{path}' is unreadable ({err}): re-export the model") from None


def write_metadata(savedmodel_dir: str, metadata: ModelMetadata) -> str:
    path = os.path.join(savedmodel_dir, METADATA_PATH)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(metadata.to_json() + "\n")
    return path
