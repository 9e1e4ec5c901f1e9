"""What a training leaves on the server besides its model: the checkpoints of the finished epochs of a cancelled
run, kept in the models folder (``.checkpoints/NAME/``, never served as a model) so that a training of that name
with ``resume=true`` continues from them; and whether a training of a name holds its lock (``bootstrap`` takes
it), which tells the server when a cancelled run has ended. Nothing here imports TensorFlow."""
from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import tempfile
from typing import Optional

from . import bootstrap, settings

FOLDER = bootstrap.CHECKPOINTS  # in the models folder: no model's name (names start with a letter or digit)
STATE = "kept.json"  # in a kept folder: which epoch its checkpoint ends


def _root(create: bool = False) -> Optional[str]:
    models = settings.models_dir(create=create)
    if models is None:
        return None
    root = os.path.join(models, FOLDER)
    if create:
        os.makedirs(root, exist_ok=True)
    return root


def kept_folder(name: str) -> Optional[str]:
    """The kept checkpoints of model ``name`` (None where there are none)."""
    root = _root()
    path = os.path.join(root, settings.check_name(name)) if root else None
    return path if path and os.path.isfile(os.path.join(path, STATE)) else None


def kept_state(name: str) -> Optional[dict]:
    """What the kept checkpoints of ``name`` are: {"phase", "epoch", "epochs", "step"}, or None."""
    folder = kept_folder(name)
    if folder is None:
        return None
    try:
        with open(os.path.join(folder, STATE), encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def all_kept() -> list:
    """Every kept set, for the metadata: [{"model", "phase", "epoch", "epochs"}]."""
    root = _root()
    if root is None or not os.path.isdir(root):
        return []
    found = []
    for name in sorted(os.listdir(root))[:1000]:
        state = kept_state(name) if settings.NAME.match(name) else None
        if state:
            found.append(dict(state, model=name))
    return found


def keep(name: str, ckpt: str, state: dict) -> None:
    """The checkpoint folder ``ckpt`` of a cancelled run becomes the kept set of ``name`` (replacing an earlier
    one), in one rename: a copy half-made is never taken for a kept set."""
    root = _root(create=True)
    staging = tempfile.mkdtemp(prefix=f".{name}.", suffix=".partial", dir=root)
    try:
        target = os.path.join(staging, "ckpt")
        shutil.copytree(ckpt, target)
        with open(os.path.join(target, STATE), "w", encoding="utf-8") as f:
            json.dump(state, f)
        final = os.path.join(root, name)
        old = None
        if os.path.lexists(final):
            old = os.path.join(staging, "old")
            os.replace(final, old)
        os.replace(target, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def discard(name: str) -> None:
    """The kept set of ``name`` is no longer needed (its model is exported)."""
    root = _root()
    if root:
        shutil.rmtree(os.path.join(root, settings.check_name(name)), ignore_errors=True)
        _tidy()


def _tidy() -> None:
    """The folder of kept checkpoints goes when it holds nothing."""
    root = _root()
    if root:
        with contextlib.suppress(OSError):
            os.rmdir(root)


def _lock_path(name: str) -> Optional[str]:
    models = settings.models_dir()
    return bootstrap.lock_path(models, settings.check_name(name)) if models else None


def running(name: str) -> bool:
    """Whether a training of ``name`` holds its lock now (a cancelled one holds it until it has ended)."""
    path = _lock_path(name)
    try:
        fd = os.open(path, os.O_RDONLY) if path else None
    except FileNotFoundError:
        return False
    if fd is None:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except OSError as err:
        if err.errno in (errno.EWOULDBLOCK, errno.EACCES):
            return True
        raise
    finally:
        os.close(fd)
