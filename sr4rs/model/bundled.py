"""The models shipped inside the package, found by name (``sr4rs models`` lists them)."""
from __future__ import annotations

import os
from typing import Dict, Optional, Sequence

from ..errors import ModelError
from .bands import permutation
from .contract import ModelMetadata, read_metadata

BUNDLED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bundled")
# The model used for an input of these bands (by name), or of this many bands, when none is named.
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


def default_model_name(nbands: Optional[int] = None, names: Sequence[str] = ()) -> str:
    """The bundled model for an input of ``nbands`` bands named ``names``: the model of ``DEFAULTS`` whose bands
    are the input's (by name, in any order), else the one for the band count (the Landsat RGB model when
    neither is given). Every command and integration chooses its default model here."""
    for name in DEFAULTS.values():
        if name in bundled_models() and permutation(names, bundled_metadata(name).input_bands) is not None:
            return name
    if nbands is None and not names:
        return DEFAULT_MODEL
    count = len(names) if names else nbands
    name = DEFAULTS.get(count)
    if name is None:
        raise ModelError(f"no bundled model takes {count} band(s) (bundled: "
                         f"{', '.join(f'{n} ({b} bands)' for b, n in sorted(DEFAULTS.items()))}): "
                         "pass --savedmodel PATH, or stack the bands a bundled model takes")
    return name


def default_model_path(nbands: Optional[int] = None, names: Sequence[str] = ()) -> str:
    """The folder of ``default_model_name(nbands, names)``."""
    name = default_model_name(nbands, names)
    if name not in bundled_models():
        raise ModelError("no --savedmodel given and this installation has no bundled model: pass --savedmodel PATH")
    return bundled_model_path(name)


def resolve_model(model: Optional[str], nbands: Optional[int] = None, names: Sequence[str] = ()) -> str:
    """A SavedModel folder for ``model``: a bundled model's name, a folder, or None for the default (chosen by
    the input's band ``names``, then by its band count ``nbands``)."""
    if model is None:
        return default_model_path(nbands, names)
    if model in bundled_models() and not os.path.exists(model):
        return bundled_model_path(model)
    return model


def default_note(name: str, names: Sequence[str] = ()) -> str:
    """The line saying which bundled model was chosen for an input of bands ``names``, and why."""
    meta = bundled_metadata(name)
    bands = ", ".join(meta.input_bands)
    why = f"its bands {bands} are the input's, by name" if permutation(names, meta.input_bands) is not None \
        else f"for {len(meta.input_bands)}-band inputs: {bands}"
    return f"using the bundled model {name} (x{meta.scale}, {why}); --model or --savedmodel picks another"
