"""What the service reads from its environment: where training patches are, where trained models go, and its
limits. Read at each use, so that the server and its worker processes agree."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Optional

from ... import api
from ...errors import InputError, ModelError

DATA_ENV = "SR4RS_DEEPAAS_DATA"  # the folder of patches trainings may read (nothing outside it)
MODELS_ENV = "SR4RS_DEEPAAS_MODELS"  # the folder trained models are written to and served from
MAX_UPLOAD_ENV = "SR4RS_DEEPAAS_MAX_UPLOAD"  # bytes, when deepaas-run's --client-max-size is 0 (its default)
MAX_PIXELS_ENV = "SR4RS_DEEPAAS_MAX_PIXELS"  # input pixels of one prediction
MAX_TRAININGS_ENV = "SR4RS_DEEPAAS_MAX_TRAININGS"  # trainings running (or waiting for a worker) at once
MAX_QUEUE_ENV = "SR4RS_DEEPAAS_MAX_QUEUE"  # predictions waiting for a free worker, beyond those computing
DEFAULT_MAX_UPLOAD = 1 << 30  # 1 GiB: a Sentinel-2 tile's zip, or a large GeoTIFF
DEFAULT_MAX_PIXELS = 150_000_000  # a whole Sentinel-2 tile at 10 m (10980 x 10980) fits
DEFAULT_MAX_TRAININGS = 1
DEFAULT_MAX_QUEUE = 8
UNPACKED_RATIO = 8  # a product zip may hold at most this many times the upload limit, unpacked
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _positive_int(env: str, default: int) -> int:
    text = os.environ.get(env, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise InputError(f"{env}={text!r} is not a whole number: fix the server's "
                         "environment") from None
    if value <= 0:
        raise InputError(f"{env}={value} must be positive: fix the server's environment")
    return value


def max_upload(client_max_size: int = 0) -> int:
    """The upload limit in bytes: deepaas-run's --client-max-size when given, else ours (never none)."""
    return client_max_size if client_max_size > 0 else _positive_int(MAX_UPLOAD_ENV, DEFAULT_MAX_UPLOAD)


def max_pixels() -> int:
    return _positive_int(MAX_PIXELS_ENV, DEFAULT_MAX_PIXELS)


def max_trainings() -> int:
    return _positive_int(MAX_TRAININGS_ENV, DEFAULT_MAX_TRAININGS)


def max_queue() -> int:
    text = os.environ.get(MAX_QUEUE_ENV, "").strip()
    return 0 if text == "0" else _positive_int(MAX_QUEUE_ENV, DEFAULT_MAX_QUEUE)


def data_dir() -> str:
    """The folder training patches are read from (set by the server's administrator)."""
    folder = os.environ.get(DATA_ENV, "").strip()
    if not folder:
        raise InputError(f"this server has no training data folder: its administrator sets {DATA_ENV} to the "
                         "folder of patches (made with sr4rs extract) before starting deepaas-run")
    if not os.path.isdir(folder):
        raise InputError(f"the training data folder of this server is missing: its administrator fixes {DATA_ENV}")
    return os.path.realpath(folder)


def models_dir(create: bool = False) -> Optional[str]:
    """The folder of trained models (None: not configured, then only the bundled models are served)."""
    folder = os.environ.get(MODELS_ENV, "").strip()
    if not folder:
        return None
    if create:
        os.makedirs(folder, exist_ok=True)
    return os.path.realpath(folder)


def check_name(name: str, what: str = "model") -> str:
    if not isinstance(name, str) or not NAME.match(name) or ".." in name:
        raise InputError(f"{what} name {name!r} is not valid: use 1 to 64 letters, digits, '.', '_' or '-', "
                         "starting with a letter or digit")
    return name


@dataclass(frozen=True)
class ServedModel:
    """A model clients may name: bundled with sr4rs, or trained on this server."""

    name: str
    path: str
    origin: str  # "bundled" or "trained"


def served_models() -> dict:
    """Name -> ServedModel: the bundled models, then the trained ones (a bundled name is never shadowed)."""
    models = {m.name: ServedModel(m.name, m.path, "bundled") for m in api.list_models()}
    folder = models_dir()
    if folder and os.path.isdir(folder):
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            if NAME.match(name) and name not in models and os.path.isfile(os.path.join(path, "saved_model.pb")):
                models[name] = ServedModel(name, path, "trained")
    return models


def find_model(name: str) -> ServedModel:
    """The model a client named: by name only, never a path (a SavedModel is a program)."""
    check_name(name)
    models = served_models()
    if name not in models:
        raise ModelError(f"unknown model '{name}': choose one of {', '.join(models) or 'none'} (GET /v2/models/sr4rs/ "
                         "lists them)")
    return models[name]


def trained_model_path(name: str) -> str:
    """Where a training named ``name`` writes its model."""
    check_name(name)
    if name in {m.name for m in api.list_models()}:
        raise InputError(f"model name '{name}' is a bundled model's: choose another name")
    folder = models_dir(create=True)
    if folder is None:
        raise InputError(f"this server has no folder for trained models: its administrator sets {MODELS_ENV} "
                         "before starting deepaas-run")
    return os.path.join(folder, name)
