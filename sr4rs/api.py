"""The functions the CLI and the integrations call."""
from __future__ import annotations

import os
from typing import Optional

from . import raster
from .engine import ApplyOptions, ApplyReport, Progress, super_resolve
from .errors import ModelError
from .model import load_model

_BUNDLED = os.path.join(os.path.dirname(__file__), "models", "default")


def default_model_path() -> str:
    """The model shipped inside the package, used when no --savedmodel is given."""
    if not os.path.exists(os.path.join(_BUNDLED, "saved_model.pb")):
        raise ModelError("no --savedmodel given and this installation has no bundled model: "
                         "pass --savedmodel PATH")
    return _BUNDLED


def input_pixels(path: str) -> int:
    info = raster.read_info(path)
    return info.width * info.height


def apply(input_path: str, output_path: str, savedmodel: Optional[str] = None,
          options: ApplyOptions = ApplyOptions(), scale: Optional[int] = None,
          progress: Optional[Progress] = None) -> ApplyReport:
    """Super-resolve ``input_path`` into ``output_path`` with ``savedmodel`` (default: the bundled model).

    Only the model named here (or the bundled one) is loaded: a SavedModel is a program.
    """
    raster.read_info(input_path)  # a bad input is reported before the model is loaded
    raster.check_output_path(output_path, options.overwrite)
    model = load_model(savedmodel or default_model_path(), scale=scale)
    return super_resolve(input_path, model, output_path, options, progress)
