"""What a command writes, checked before any work against what it reads and against each other.

Two paths clash when they are the same file (by name, symbolic link or hard link) or one lies inside the
other. A command never writes over a path it reads; ``--overwrite`` replaces only an earlier output of
the same kind (an image sr4rs wrote, a SavedModel folder sr4rs exported...), never anything else.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Callable, Iterable, Optional, Sequence, Tuple

from ..errors import OutputError
from ._gdal import gdal

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# What an exported SavedModel folder holds; anything else in it is somebody's file.
_SAVEDMODEL_ENTRIES = {"saved_model.pb", "saved_model.pbtxt", "variables", "assets", "assets.extra", "fingerprint.pb"}


@dataclass(frozen=True)
class Target:
    """A path a command writes. ``is_ours(path)`` says whether an existing one is an earlier output of the
    same kind (the only thing ``--overwrite`` may replace); ``folder``: a folder written into (checkpoints,
    logs), never replaced whole."""

    path: str
    flag: str
    what: str
    is_ours: Optional[Callable[[str], bool]] = None
    folder: bool = False


@dataclass(frozen=True)
class Read:
    """A path a command reads (a file, or a folder such as a SavedModel)."""

    path: str
    flag: str


def _real(path: str) -> str:
    return os.path.realpath(os.path.abspath(os.fspath(path)))


def same_file(a: str, b: str) -> bool:
    """The same file by name, symbolic link or hard link."""
    if _real(a) == _real(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def inside(child: str, folder: str) -> bool:
    """Whether ``child`` lies (at any depth) inside ``folder``."""
    folder = _real(folder)
    return _real(child).startswith(folder.rstrip(os.sep) + os.sep)


def _clash(a: str, b: str) -> Optional[str]:
    if same_file(a, b):
        return "is"
    if inside(a, b):
        return "is inside"
    if inside(b, a):
        return "holds"
    return None


def check_targets(targets: Sequence[Target], reads: Iterable[Read], overwrite: bool,
                  allowed: Sequence[Tuple[str, str]] = ()) -> None:
    """Refuse, before any work, an output that clashes with an input or another output, and an existing
    output that ``--overwrite`` may not replace. ``allowed``: (target flag, read flag) pairs that may
    name the same path (``--save_ckpt`` and ``--load_ckpt`` when a run resumes)."""
    reads = [r for r in reads if r.path]
    for i, t in enumerate(targets):
        for r in reads:
            how = _clash(t.path, r.path)
            if how and (t.flag, r.flag) not in allowed:
                raise OutputError(f"{t.flag} '{t.path}' {how} {r.flag} '{r.path}', which this command reads: "
                                  f"sr4rs never writes over its inputs; choose another {t.flag}")
        for other in targets[i + 1:]:
            how = _clash(t.path, other.path)
            # A folder written into may hold other outputs; a path replaced whole may not.
            if how and not (how == "holds" and t.folder or how == "is inside" and other.folder):
                raise OutputError(f"{t.flag} '{t.path}' {how} {other.flag} '{other.path}': "
                                  f"give each output a path of its own")
        _check_existing(t, overwrite)


def check_writes(targets: Sequence[Target], reads: Iterable[Read], overwrite: bool,
                 allowed: Sequence[Tuple[str, str]] = ()) -> None:
    """The one check of what a command writes, before any work: ``check_targets`` (no output over an input,
    inside a product or a model, nor over another output; ``--overwrite`` replaces only an earlier output of the
    same kind), then each file's folder (it exists and takes a file, and the file is no folder)."""
    from .files import check_output_path

    check_targets(targets, reads, overwrite, allowed)
    for target in targets:
        if not target.folder:
            check_output_path(target.path, target.flag)


def _check_existing(t: Target, overwrite: bool) -> None:
    if not os.path.lexists(t.path):
        return
    if t.folder:
        if not os.path.isdir(t.path):
            raise OutputError(f"{t.flag} '{t.path}' is a file, not a folder: give a folder for the {t.what}")
        return
    if not overwrite:
        raise OutputError(f"{t.flag} '{t.path}' already exists: remove it or pass --overwrite")
    if t.is_ours is not None and not t.is_ours(t.path):
        raise OutputError(f"{t.flag} '{t.path}' exists and is not an earlier {t.what}: --overwrite replaces only "
                          f"what sr4rs wrote; move it away yourself or choose another {t.flag}")


# --- what an earlier output of each kind looks like --------------------------------------------------

def raster_with_metadata(key: str) -> Callable[[str], bool]:
    """A raster (file) whose dataset metadata has ``key`` (e.g. SR4RS_SCALE: written by sr4rs apply)."""
    def check(path: str) -> bool:
        if not os.path.isfile(path):
            return False
        gdal.PushErrorHandler("CPLQuietErrorHandler")
        try:
            ds = gdal.OpenEx(path, gdal.OF_RASTER | gdal.OF_READONLY)
            return ds is not None and ds.GetMetadataItem(key) is not None
        except RuntimeError:
            return False
        finally:
            gdal.PopErrorHandler()
    return check


def apply_output(path: str) -> Optional[dict]:
    """What an existing output of ``sr4rs apply`` says of itself (its SR4RS_* metadata, ``width``, ``height``),
    if ``path`` is one and reads to its last pixel; else None."""
    if not os.path.isfile(path):
        return None
    gdal.PushErrorHandler("CPLQuietErrorHandler")
    try:
        ds = gdal.OpenEx(path, gdal.OF_RASTER | gdal.OF_READONLY)
        meta = ds.GetMetadata() if ds is not None else {}
        if not meta or "SR4RS_SCALE" not in meta:
            return None
        w, h, n = ds.RasterXSize, ds.RasterYSize, ds.RasterCount
        if ds.GetRasterBand(n).ReadRaster(w - 1, h - 1, 1, 1) is None:  # the last block decodes: the file is whole
            return None
        return {**{k: v for k, v in meta.items() if k.startswith("SR4RS_")}, "width": w, "height": h}
    except RuntimeError:
        return None
    finally:
        gdal.PopErrorHandler()


def png_file(path: str) -> bool:
    if not os.path.isfile(path):
        return False
    with open(path, "rb") as f:
        return f.read(len(_PNG_MAGIC)) == _PNG_MAGIC


def csv_with_header(header: str) -> Callable[[str], bool]:
    def check(path: str) -> bool:
        if not os.path.isfile(path):
            return False
        with open(path, "rb") as f:
            return f.readline().decode("ascii", "replace").strip() == header
    return check


def json_with_keys(*keys: str) -> Callable[[str], bool]:
    def check(path: str) -> bool:
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError):
            return False
        return isinstance(data, dict) and all(k in data for k in keys)
    return check


def savedmodel_folder(path: str) -> bool:
    """A folder holding a SavedModel and nothing else (an earlier export)."""
    if not os.path.isdir(path) or os.path.islink(path):
        return False
    entries = set(os.listdir(path))
    return "saved_model.pb" in entries and entries <= _SAVEDMODEL_ENTRIES


def raster_reads(files: Sequence[str], flag: str) -> Tuple[Read, ...]:
    """Every file a raster is made of (``RasterInfo.files``: a VRT's sources, side files), as reads."""
    return tuple(Read(f, flag) for f in files)
