"""Failures as the service answers them: an HTTP status and one line without the server's paths. A
ServiceError crosses from DEEPaaS's worker processes to the server (it pickles) and the server's middleware
turns it into the answer."""
from __future__ import annotations

import contextlib
import errno
import logging
import shutil
import tempfile
import traceback
from typing import Dict, Iterator

from ...errors import Cancelled, InputError, ModelError, OutputError, Sr4rsError, TrainingError, first_line
from .uploads import safe_message

LOG = logging.getLogger("sr4rs.deepaas")


class ServiceError(Exception):
    """An answer's status and its one line."""

    def __init__(self, status: int, message: str):
        super().__init__(status, message)
        self.status, self.message = status, message

    def __str__(self) -> str:
        return self.message


DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def disk_full(err: BaseException) -> bool:
    """A write failed because the disk is full (sr4rs's one line says so, or the OS's error number)."""
    if isinstance(err, OSError) and err.errno in DISK_FULL:
        return True
    return isinstance(err, OutputError) and ("is full" in str(err) or "No space left" in str(err))


def status_for(err: BaseException) -> int:
    if disk_full(err):
        return 507
    if isinstance(err, (InputError, ModelError)):
        return 400
    if isinstance(err, Cancelled):
        return 409
    if isinstance(err, MemoryError):
        return 503
    if isinstance(err, (OutputError, TrainingError, Sr4rsError)):
        return 500
    return 500


def service_error(err: BaseException, names: Dict[str, str]) -> ServiceError:
    """The answer to ``err``: sr4rs's one-line message (without paths) for the errors it anticipates; for
    anything else a generic line, the details going to the server's log only."""
    status = status_for(err)
    if isinstance(err, Sr4rsError) and status != 507:
        return ServiceError(status, safe_message(first_line(err), names))
    if status == 507:
        LOG.warning("a write failed, the disk is full: %s", first_line(err))
        return ServiceError(status, "the server's disk is full: try again later, or send a smaller image")
    if isinstance(err, MemoryError):
        return ServiceError(status, "out of memory: send a smaller area, or try again later")
    LOG.error("unexpected failure: %s", "".join(traceback.format_exception(err)))
    return ServiceError(status, f"internal error ({type(err).__name__}): the server's log has the details")


@contextlib.contextmanager
def request_folder(prefix: str, names: Dict[str, str]) -> Iterator[str]:
    """A private temporary folder for one request, removed with all it holds whatever happens; a failure
    inside becomes a ServiceError with one line, the paths of ``names`` (filled in as the request goes; the
    folder itself is added) shown as words."""
    work = tempfile.mkdtemp(prefix=prefix)
    names[work] = "<work>"
    try:
        yield work
    except ServiceError:
        raise
    except Exception as err:  # noqa: BLE001 (every failure becomes one safe line)
        raise service_error(err, names) from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
