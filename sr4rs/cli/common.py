"""What every command shares: quiet TensorFlow, signals mapped to the cancel token, one-line errors,
progress bars on terminals."""
from __future__ import annotations

import logging
import os
import signal
import sys
from typing import Callable, Optional

from ..errors import Cancelled, Sr4rsError, first_line
from ..progress import CancelToken

EXIT_ERROR = 1
_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")


def quiet_tensorflow() -> None:
    """Import TensorFlow with its C++ start-up chatter (absl, oneDNN notices) sent to /dev/null:
    TF_CPP_MIN_LOG_LEVEL does not silence those lines, and the terminal is kept for our own one-line
    messages."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    from ..api import import_tensorflow_quietly

    import_tensorflow_quietly()


class SignalCancel:
    """SIGINT, SIGTERM and SIGHUP cancel the token (the work stops within one batch and cleans up);
    a second signal interrupts at once. Restores the previous handlers on exit."""

    def __init__(self, token: CancelToken):
        self.token, self.signum, self._previous = token, None, {}

    def _handle(self, signum, frame) -> None:
        if self.signum is not None:
            raise KeyboardInterrupt  # a second signal: stop now (cleanup still runs on the way out)
        self.signum = signum
        self.token.cancel(f"stopped by {signal.Signals(signum).name}")

    def __enter__(self) -> "SignalCancel":
        for name in _SIGNALS:
            if hasattr(signal, name):
                num = getattr(signal, name)
                self._previous[num] = signal.signal(num, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for num, handler in self._previous.items():
            signal.signal(num, handler)

    @property
    def exit_status(self) -> int:
        """128 + the signal's number, as a shell reports a process the signal ended (130, 143, 129)."""
        return 128 + (self.signum or signal.SIGINT)


def _quiet_warnings() -> None:
    """Python warnings from the libraries (numpy, scikit-image) go to the ``py.warnings`` logger, shown only
    with SR4RS_DEBUG=1: a run prints its progress bar, its result or its one-line error, nothing else."""
    logging.captureWarnings(True)
    if not os.environ.get("SR4RS_DEBUG"):
        logger = logging.getLogger("py.warnings")
        logger.addHandler(logging.NullHandler())
        logger.propagate = False


def run_command(prog: str, func: Callable[[CancelToken], Optional[int]],
                interrupted: str = "nothing was written") -> int:
    """Run ``func(cancel_token)``; an error, a signal or Ctrl-C becomes one line on stderr and an exit code.

    Errors sr4rs anticipates carry their own fix; anything else (a TensorFlow failure, running out of
    memory) is still reported in one line, with its type, and SR4RS_DEBUG=1 shows the traceback.
    """
    token = CancelToken()
    _quiet_warnings()
    with SignalCancel(token) as signals:
        try:
            return func(token) or 0
        except (Cancelled, KeyboardInterrupt) as err:
            print(f"{prog}: interrupted: {getattr(err, 'kept', None) or interrupted}", file=sys.stderr)
            return signals.exit_status
        except Sr4rsError as err:
            print(f"{prog}: error: {err}", file=sys.stderr)
            return EXIT_ERROR
        except MemoryError:
            print(f"{prog}: error: out of memory: lower --ts or --batch-size", file=sys.stderr)
            return EXIT_ERROR
        except Exception as err:  # noqa: BLE001 (the last resort: never a traceback by default)
            if os.environ.get("SR4RS_DEBUG"):
                raise
            print(f"{prog}: error: unexpected {type(err).__name__}: {first_line(err)} "
                  "(run again with SR4RS_DEBUG=1 for the traceback, and report it)", file=sys.stderr)
            return EXIT_ERROR


def script_main(module, script: str, argv=None) -> int:
    """Entry point of a top-level script (``apply.py``, ``train.py``) running one command module: same
    flags and error handling as ``sr4rs <command>``."""
    import argparse

    summary = module.__doc__.splitlines()[0].split(": ", 1)[-1]  # without the "``sr4rs apply``:" prefix
    parser = argparse.ArgumentParser(prog=script, description=summary[:1].upper() + summary[1:])
    module.add_arguments(parser)
    args = parser.parse_args(argv)
    return run_command(module.PROG, lambda cancel: module.run(args, cancel),
                       interrupted=getattr(module, "INTERRUPTED", "nothing was written"))


class _TqdmHandler(logging.Handler):
    """Log lines on stderr, written above a progress bar rather than through it."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from tqdm import tqdm

            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # noqa: BLE001 (a log line never stops the work)
            self.handleError(record)


def show_lines(logger: str) -> None:
    """Print what the library logger ``logger`` says at INFO level and above (its one-line reports), as the
    command's own lines."""
    log = logging.getLogger(logger)
    if not any(isinstance(h, _TqdmHandler) for h in log.handlers):
        handler = _TqdmHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


class progress_bar:
    """A tqdm bar that appears at the first call, i.e. once the library has checked everything and
    starts the work, so that an error is never drawn under an empty bar. Shown only on a terminal
    (logs and pipes stay clean), never with ``disable=True``. Use as a context manager; the instance
    is the progress callback."""

    def __init__(self, total: int, desc: str, unit: str = "px", disable: bool = False):
        self._kwargs = dict(total=total, desc=desc, unit=unit, unit_scale=True, disable=True if disable else None,
                            dynamic_ncols=True)
        self._bar = None

    def __call__(self, n: int) -> None:
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(**self._kwargs)
        self._bar.update(n)

    update = __call__

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.close()
