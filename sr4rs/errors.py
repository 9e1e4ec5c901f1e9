"""One error hierarchy: every failure a user can fix is an Sr4rsError with a one-line message."""


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
