"""Files written whole or not at all, and the checks made on output paths before any work.

Every file sr4rs writes goes through ``StagedFile``: written under a temporary name beside its
target (``.NAME.XXXXXXXX.partial.EXT``, so that it is never mistaken for a result), then renamed
onto the target in one step; a failure, an interruption or a cancel removes it.
"""
from __future__ import annotations

import errno
import glob
import os
import shutil
import uuid
from typing import Callable, Optional

from ..errors import OutputError

_SIDE_FILES = ("", ".aux.xml", ".ovr", ".msk")  # GDAL may write these beside an image


# Less free space than this where a write failed: the disk is full.
_FULL_BYTES = 1024 ** 2


def write_failure(path: str, reason: str, fix: str = "check free space and permissions, then run again",
                  failed: Optional[str] = None) -> OutputError:
    """The one-line error of a failed write (``failed``: what failed, by default writing ``path``),
    saying so when the disk is full."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        free = None
    if free is not None and (free < _FULL_BYTES or "No space left" in reason):
        return OutputError(f"writing '{path}' failed: the disk holding '{folder}' is full ({free // 1024} kB free): "
                           "free some space or write elsewhere, then run again")
    return OutputError(f"{failed or f'writing {path!r} failed'} ({reason}): {fix}")


def remove_quietly(path: str) -> None:
    """Remove a file, or a folder and its content, if it exists."""
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.remove(path)
    except FileNotFoundError:
        pass


class StagedFile:
    """A file (or folder) written under a temporary name beside ``path`` and renamed by ``commit``."""

    def __init__(self, path: str, overwrite: bool = False, tag: str = "partial"):
        self.path, self.overwrite = path, overwrite
        folder = os.path.dirname(os.path.abspath(path))
        name = os.path.basename(os.path.normpath(path))
        ext = os.path.splitext(name)[1]
        self.tmp = os.path.join(folder, f".{name}.{uuid.uuid4().hex[:8]}.{tag}{ext}")

    def commit(self, source: Optional[str] = None) -> None:
        """Rename the temporary file (or ``source``, another temporary name) onto the target. Without
        ``overwrite``, a target that appeared meanwhile (another run writing the same output) is kept and this
        result dropped: the rename is a hard link, which fails rather than replace (atomic, unlike a test and a
        rename); where the filesystem has no hard links, a test just before the rename."""
        source = source or self.tmp
        try:
            if not self.overwrite and not os.path.isdir(source) and _link(source, self.path):
                os.remove(source)
            else:
                if os.path.lexists(self.path) and not self.overwrite:
                    raise FileExistsError(self.path)
                os.replace(source, self.path)
            self.abort()  # side files GDAL wrote beside the temporary name (.aux.xml...)
        except FileExistsError:
            self.abort()
            raise OutputError(f"'{self.path}' was written by another run (or program) while this one worked on it: "
                              "that file is kept and this result dropped; remove it or pass --overwrite to replace it, "
                              "or write elsewhere") from None
        except OSError as err:
            self.abort()
            raise write_failure(self.path, err.strerror or str(err)) from None

    def abort(self) -> None:
        """Remove the temporary file and GDAL's side files; the target is left untouched."""
        for suffix in _SIDE_FILES:
            remove_quietly(self.tmp + suffix)

    def __enter__(self) -> "StagedFile":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is not None:
            self.abort()


def _link(source: str, target: str) -> bool:
    """Give ``source`` the name ``target`` too, unless ``target`` exists (FileExistsError); False where the
    filesystem has no hard links."""
    try:
        os.link(source, target)
    except FileExistsError:
        raise
    except OSError as err:
        if err.errno in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK, errno.ENOSYS):
            return False
        raise
    return True


def staged_leftovers(path: str) -> list:
    """Temporary files ``StagedFile`` began for ``path`` and never renamed nor removed (the process writing
    them was killed): ``.NAME.XXXXXXXX.*partial.EXT`` beside it, and GDAL's side files of those."""
    folder = os.path.dirname(os.path.abspath(path))
    name = os.path.basename(os.path.normpath(path))
    pattern = f".{glob.escape(name)}.{'[0-9a-f]' * 8}.*partial*"
    return sorted(glob.glob(os.path.join(glob.escape(folder), pattern)))


def write_staged(path: str, write: Callable[[str], None], overwrite: bool = True, what: str = "file") -> str:
    """Call ``write(temporary_path)``, then rename the result onto ``path``; nothing is left on error."""
    staged = StagedFile(path, overwrite)
    try:
        write(staged.tmp)
    except OSError as err:
        staged.abort()
        raise write_failure(path, getattr(err, "strerror", None) or str(err)) from None
    except BaseException:
        staged.abort()
        raise
    staged.commit()
    return path


def write_text(path: str, text: str, overwrite: bool = True) -> str:
    """``text`` written to ``path`` whole or not at all."""
    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)

    return write_staged(path, write, overwrite)


def check_output_path(path: str, flag: str = "--output") -> None:
    """Refuse a folder as an output file, or an output in a missing or unwritable folder, before any
    compute (``sr4rs.io.paths.check_targets`` checks what already exists there)."""
    folder = os.path.dirname(os.path.abspath(path)) or "."
    if os.path.isdir(path):
        raise OutputError(f"{flag} '{path}' is a folder: give a file name such as {os.path.join(path, 'sr.tif')}")
    check_writable_folder(folder, "output folder", flag)


def check_writable_folder(folder: str, what: str = "folder", flag: str = "--output") -> None:
    """An OutputError unless ``folder`` exists and a file can be created in it."""
    if not os.path.isdir(folder):
        raise OutputError(f"{what} '{folder}' does not exist: create it first")
    _probe(folder, what, flag)


def check_creatable_folder(folder: str, flag: str) -> None:
    """An OutputError unless ``folder`` is a writable folder or can be made (its nearest existing parent
    is a writable folder); nothing is created."""
    path = os.path.abspath(folder)
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    if not os.path.isdir(path):
        raise OutputError(f"{flag} '{folder}' cannot be made: '{path}' is a file; choose another {flag}")
    _probe(path, f"{flag} folder" if path == os.path.abspath(folder) else f"the folder holding {flag}", flag)


def _probe(folder: str, what: str, flag: str) -> None:
    probe = os.path.join(folder, f".sr4rs-write-test-{uuid.uuid4().hex[:8]}")
    try:  # os.access says yes to root on a read-only mount; a real file does not lie
        with open(probe, "wb"):
            pass
        os.remove(probe)
    except OSError as err:
        raise OutputError(f"{what} '{folder}' is not writable ({err.strerror}): choose another {flag}") from None
