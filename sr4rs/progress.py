"""Progress callbacks and cancel tokens, the two hooks a GUI, a server or the CLI attaches to long work.

The library calls ``progress(n)`` with the units just done (pixels, patches, steps: each function says
which, and gives the total beforehand) and checks its ``CancelToken`` between batches: a cancelled
token makes the work raise ``Cancelled`` within one batch, after removing what it had begun to write.
"""
from __future__ import annotations

import threading
from typing import Callable, Optional

from .errors import Cancelled

Progress = Callable[[int], None]


class CancelToken:
    """A flag another thread (or a signal handler) sets; the work checks it between batches."""

    def __init__(self):
        self._event = threading.Event()
        self.reason = "cancelled"

    def cancel(self, reason: str = "cancelled") -> None:
        self.reason = reason
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise ``Cancelled`` if the token was cancelled."""
        if self._event.is_set():
            raise Cancelled(self.reason)


class Work:
    """The progress callback and the cancel token of one job, both optional: ``advance(n)`` checks
    the token, then reports ``n`` units done."""

    def __init__(self, progress: Optional[Progress] = None, cancel: Optional[CancelToken] = None):
        self.progress, self.cancel = progress, cancel

    def check(self) -> None:
        if self.cancel is not None:
            self.cancel.check()

    def advance(self, n: int) -> None:
        self.check()
        if self.progress is not None and n:
            self.progress(n)

    @property
    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.cancelled
