"""One error hierarchy: every failure a user can fix is an Sr4rsError with a one-line message naming
the problem and the fix; each class also subclasses the matching builtin (as rasterio's errors do)."""
from __future__ import annotations

from typing import Dict

# GDAL paths sr4rs makes in memory (a product's bands as a virtual raster: /vsimem/...vrt) and how the user
# gave them ("'S2A_...SAFE' (bands B5, B6)"): no message shows the internal name.
_USER_NAMES: Dict[str, str] = {}


def name_virtual(path: str, shown_as: str) -> str:
    """Record that the in-memory raster ``path`` is shown to users as ``shown_as``; returns ``path``."""
    _USER_NAMES[path] = shown_as
    return path


def user_name(path: str) -> str:
    """How the user knows ``path``: the name recorded for an in-memory raster, else the path itself."""
    return _USER_NAMES.get(path, path)


def shown(path: str) -> str:
    """``path`` as messages show it: quoted as the user gave it, or the name of the in-memory raster it is."""
    return _USER_NAMES.get(path, f"'{path}'")


def user_text(text: str) -> str:
    """``text`` with every in-memory raster path replaced by the name the user knows it by."""
    if "/vsimem/" not in text:
        return text
    for path in sorted(_USER_NAMES, key=len, reverse=True):
        if path in text:
            text = text.replace(f"'{path}'", _USER_NAMES[path]).replace(path, _USER_NAMES[path])
    return text


class Sr4rsError(Exception):
    """Base class. The message is one line naming the problem and the fix (in-memory raster paths shown as
    the user gave them)."""

    def __init__(self, *args):
        if args and isinstance(args[0], str):
            args = (user_text(args[0]),) + args[1:]
        super().__init__(*args)


class InputError(Sr4rsError, ValueError):
    """The input image or an argument is unusable."""


class ModelError(Sr4rsError, ValueError):
    """The SavedModel is missing, malformed or does not fit the input."""


class OutputError(Sr4rsError, OSError):
    """The output cannot be written, or writing it failed."""


class BackendError(Sr4rsError, RuntimeError):
    """An optional backend (OTBTF) is not available or failed."""


class TrainingError(Sr4rsError, RuntimeError):
    """Training cannot go on (a non-finite loss, a broken checkpoint)."""


class Cancelled(Sr4rsError):
    """The work was cancelled through its CancelToken (a GUI's button, a server, a signal);
    whatever it had begun to write is removed. ``kept``: what the work leaves, when it says (a training's
    last checkpoint), else None."""

    kept = None


def first_line(err: BaseException, limit: int = 300) -> str:
    """The first line of an exception's message (or its type's name), for one-line reports."""
    text = str(err).strip().splitlines()
    return text[0][:limit] if text else type(err).__name__
