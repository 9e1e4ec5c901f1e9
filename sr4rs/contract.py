"""The model contract shared by training (export) and inference (apply).

A model is a TensorFlow SavedModel directory, tag ``serve``, signature
``serving_default``, with input ``lr_input`` (float32, NHWC, raw pixel values)
and outputs ``output_{pad}``: the super-resolved image cropped by ``pad``
high-resolution pixels on each side (``output_0`` is uncropped). The metadata
below lives in ``assets.extra/sr4rs.json`` inside the SavedModel.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, Optional, Tuple

from .errors import ModelError

TAG = "serve"
SIGNATURE = "serving_default"
INPUT_KEY = "lr_input"
OUTPUT_PREFIX = "output_"
PADS = (32, 64, 128, 256, 512)  # the cropped outputs SR4RS exports, in HR pixels
METADATA_PATH = os.path.join("assets.extra", "sr4rs.json")
SR4RS_DEFAULT_SCALE = 4  # SR4RS's published models carry no metadata and are x4

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
class ModelMetadata:
    """What a model expects and returns. ``margin`` is in HR pixels (the default --pad)."""

    scale: int
    input_bands: Tuple[str, ...]
    output_bands: Tuple[str, ...]
    lr_scale: float = 1.0
    hr_scale: float = 1.0
    nodata: Optional[float] = None
    margin: int = 64
    description: str = ""
    training: Dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.scale, (int, float)) or int(self.scale) != self.scale or self.scale < 1:
            raise ModelError(f"model metadata: scale must be a positive integer, received {self.scale!r}")
        if self.margin % self.scale:
            raise ModelError(f"model metadata: margin {self.margin} is not a multiple of the scale {self.scale}")
        object.__setattr__(self, "input_bands", tuple(self.input_bands))
        object.__setattr__(self, "output_bands", tuple(self.output_bands))

    def to_json(self) -> str:
        data = asdict(self)
        data["format"] = "sr4rs-model/1"
        return json.dumps(data, indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "ModelMetadata":
        if not isinstance(data, dict):
            raise ModelError("model metadata is not a JSON object: re-export the model with sr4rs")
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        missing = {"scale", "input_bands", "output_bands"} - set(known)
        if missing:
            raise ModelError(f"model metadata lacks {', '.join(sorted(missing))}: re-export the model with sr4rs")
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
