"""One error hierarchy: every failure a user can fix is an Sr4rsError with a one-line message naming
the problem and the fix; each class also subclasses the matching builtin (as rasterio's errors do)."""
from __future__ import annotations


class Sr4rsError(Exception):
    """Base class. The message is one line naming the problem and the fix."""


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
