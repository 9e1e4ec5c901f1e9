"""Converted forms of a SavedModel (ONNX, OpenVINO's IR), made once and cached by the model's content.

The cache is a folder of the user's (``SR4RS_CACHE_DIR``, else ``$XDG_CACHE_HOME/sr4rs``, else
``~/.cache/sr4rs``), never the package's folders: a model changed in place gets a new key, and an entry appears
whole or not at all (made under a temporary name, then renamed).
"""
from __future__ import annotations

import hashlib
import os
import shutil
from typing import Callable

from ..errors import OutputError, first_line

CACHE_ENV = "SR4RS_CACHE_DIR"


def cache_dir() -> str:
    """Where converted models are kept."""
    found = os.environ.get(CACHE_ENV)
    if found:
        return os.path.abspath(os.path.expanduser(found))
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "sr4rs")


def model_digest(path: str) -> str:
    """A digest of every file of the SavedModel folder ``path`` (names and contents)."""
    digest = hashlib.sha256()
    for folder, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(folder, name)
            digest.update(os.path.relpath(full, path).encode("utf-8") + b"\0")
            with open(full, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk)
    return digest.hexdigest()[:24]


def cached(path: str, kind: str, make: Callable[[str], None]) -> str:
    """The cache folder of the form ``kind`` of the SavedModel ``path``, made by ``make(folder)`` if missing."""
    target = os.path.join(cache_dir(), model_digest(path), kind)
    if os.path.isdir(target):
        return target
    tmp = f"{target}.partial-{os.getpid()}"
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
    except OSError as err:
        raise OutputError(f"cannot write the model cache '{cache_dir()}' ({first_line(err)}): set {CACHE_ENV} to "
                          "a writable folder") from None
    try:
        make(tmp)
        os.replace(tmp, target)
    except OSError:
        if not os.path.isdir(target):  # not another process that made it first
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
