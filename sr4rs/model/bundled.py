"""The models shipped inside the package, found by name (``sr4rs models`` lists them)."""
from __future__ import annotations

import os
from typing import Dict, Optional

from ..errors import ModelError
from .contract import ModelMetadata, read_metadata

BUNDLED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bundled")
# The model used for an input of this many bands when none is named.
DEFAULTS = {3: "landsat-rgb-x4", 4: "s2-rgbn-x4"}
DEFAULT_MODEL = "landsat-rgb-x4"


def bundled_models() -> Dict[str, str]:
    """Name -> folder of every bundled model, in name order."""
    if not os.path.isdir(BUNDLED_DIR):
        return {}
    return {name: os.path.join(BUNDLED_DIR, name) for name in sorted(os.listdir(BUNDLED_DIR))
            if os.path.exists(os.path.join(BUNDLED_DIR, name, "saved_model.pb"))}


def bundled_metadata(name: str) -> ModelMetadata:
    return read_metadata(bundled_model_path(name))


def bundled_model_path(name: str) -> str:
    models = bundled_models()
    if name not in models:
        have = ", ".join(models) or "none in this installation"
        raise ModelError(f"no bundled model '{name}' (bundled: {have}): give one of them with --model, "
                         "or a SavedModel folder with --savedmodel")
    return models[name]


def default_model_path(nbands: Optional[int] = None) -> str:
    """The bundled model for an input of ``nbands`` bands (the Landsat RGB model when not given)."""
    name = DEFAULTS.get(nbands) if nbands is not None else DEFAULT_MODEL
    if name is None:
        raise ModelError(f"no bundled model takes {nbands} band(s) (bundled: "
                         f"{', '.join(f'{n} ({b} bands)' for b, n in sorted(DEFAULTS.items()))}): "
                         "pass --savedmodel PATH, or stack the bands a bundled model takes")
    if name not in bundled_models():
        raise ModelError("no --savedmodel given and this installation has no bundled model: pass --savedmodel PATH")
    return bundled_model_path(name)


def resolve_model(model: Optional[str], nbands: Optional[int] = None) -> str:
    """A SavedModel folder for ``model``: a bundled model's name, a folder, or None for the default."""
    if model is None:
        return default_model_path(nbands)
    if model in bundled_models() and not os.path.exists(model):
        return bundled_model_path(model)
    return model
