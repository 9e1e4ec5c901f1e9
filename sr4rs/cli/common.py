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


VERBOSE_ENV = "SR4RS_VERBOSE"  # set by --verbose; worker processes inherit it


def verbose() -> bool:
    return bool(os.environ.get(VERBOSE_ENV))


def set_verbosity(on: bool) -> None:
    """Quiet by default: the libraries' notices (TensorFlow's C++ and Python logs, absl, Python warnings, GDAL's
    messages) are hidden and a run prints its own lines only. ``--verbose`` (or SR4RS_VERBOSE=1) shows them."""
    if on:
        os.environ[VERBOSE_ENV] = "1"
    if verbose():
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
        logging.getLogger("sr4rs.gdal").setLevel(logging.DEBUG)  # every GDAL warning and error message
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    for name in ("absl", "tensorflow", "h5py", "matplotlib"):
        logging.getLogger(name).setLevel(logging.ERROR)


def quiet_tensorflow() -> None:
    """Import TensorFlow with its C++ start-up chatter (absl, oneDNN notices) sent to /dev/null:
    TF_CPP_MIN_LOG_LEVEL does not silence those lines, and the terminal is kept for our own one-line
    messages. With --verbose, TensorFlow is imported as it is, with all its messages."""
    if verbose():
        import tensorflow  # noqa: F401
        return
    from ..api import import_tensorflow_quietly

    set_verbosity(False)
    import_tensorflow_quietly()
    set_verbosity(False)  # after the import too: absl and TensorFlow set their loggers up when imported


def missing_module_line(err: ImportError) -> Optional[str]:
    """One line naming the missing module and its install command; None when ``err`` is not a missing module."""
    from .doctor import missing_module

    return missing_module(err)


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
    if not (os.environ.get("SR4RS_DEBUG") or verbose()):
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
        except ImportError as err:  # a dependency is missing: which, and the line that installs it
            line = None if os.environ.get("SR4RS_DEBUG") else missing_module_line(err)
            if line is None:
                return _unexpected(prog, err)
            print(f"{prog}: error: {line}", file=sys.stderr)
            return EXIT_ERROR
        except Exception as err:  # noqa: BLE001 (the last resort: never a traceback by default)
            return _unexpected(prog, err)


def _unexpected(prog: str, err: BaseException) -> int:
    if os.environ.get("SR4RS_DEBUG"):
        raise err
    print(f"{prog}: error: unexpected {type(err).__name__}: {first_line(err)} "
          "(run again with SR4RS_DEBUG=1 for the traceback, and report it)", file=sys.stderr)
    return EXIT_ERROR


def script_main(module, script: str, argv=None) -> int:
    """Entry point of a top-level script (``apply.py``, ``train.py``) running one command module: same
    flags and error handling as ``sr4rs <command>``."""
    import argparse

    from .main import HelpFormatter, verbose_flag
    from .options import aliases

    argv = sys.argv[1:] if argv is None else list(argv)
    set_verbosity("--verbose" in argv)
    summary = module.__doc__.splitlines()[0].split(": ", 1)[-1]  # without the "``sr4rs apply``:" prefix
    parser = argparse.ArgumentParser(prog=script, description=summary[:1].upper() + summary[1:],
                                     formatter_class=HelpFormatter)
    try:
        module.add_arguments(parser)
    except ImportError as err:
        if missing_module_line(err) is None:
            raise
        print(f"{script}: error: {missing_module_line(err)}", file=sys.stderr)
        return EXIT_ERROR
    verbose_flag(parser)
    aliases(parser)
    args = parser.parse_args(argv)
    return run_command(module.PROG, lambda cancel: module.run(args, cancel),
                       interrupted=getattr(module, "INTERRUPTED", "nothing was written"))


class _TqdmHandler(logging.Handler):
    """Log lines on stdout (a report, like evaluate's table: stderr keeps the progress bar and the one-line error),
    written above a progress bar rather than through it."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from tqdm import tqdm

            tqdm.write(self.format(record), file=sys.stdout)
            sys.stdout.flush()
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
