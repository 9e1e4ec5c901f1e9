"""Uploaded files, checked before GDAL sees them: not empty, a raster or a product zip whose members stay in
their folder and do not unpack to far more than was sent; and messages freed of the server's paths."""
from __future__ import annotations

import os
import re
import stat
import zipfile
from typing import Dict

from ...errors import InputError

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
MAX_MEMBERS = 20_000
MAX_RATIO = 200  # unpacked / packed size of one member; JPEG 2000 bands barely compress, a zip bomb's do
RATIO_FLOOR = 1 << 20  # members smaller than this unpacked are not held to MAX_RATIO (XML compresses well)
_PATH = re.compile(r"(?<![\w.])(?!/v2/)(?:/vsi\w+)?/(?:[^\s'\",;()\[\]]+/)*[^\s'\",;()\[\]]*")
# The command line's flags, as the service names its arguments.
_FLAGS = {"--input": "data", "--bands": "bands", "--model": "model", "--savedmodel": "model", "--pad": "margin",
          "--encoding": "encoding", "--nodata": "nodata"}


def kind(path: str) -> str:
    """'zip' or 'raster' (GDAL decides later whether it is one), from the first bytes; an empty upload is refused."""
    size = os.path.getsize(path)
    if size == 0:
        raise InputError("the upload is empty: send the image (a GeoTIFF) or the product zip in the 'data' field")
    with open(path, "rb") as f:
        head = f.read(4)
    return "zip" if head in ZIP_MAGIC else "raster"


def _member_problem(info: zipfile.ZipInfo) -> str:
    name = info.filename
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts:
        return "a path leaving the product's folder"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link"
    if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        return f"a member that unpacks {info.file_size // max(info.compress_size, 1)} times larger than it is packed"
    return ""


def check_zip(path: str, limit: int) -> None:
    """A product zip whose members all stay inside one folder, with no links, and that unpacks to at most
    ``limit`` bytes with no member packed more than MAX_RATIO times: else an InputError."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise InputError("the upload starts like a zip but is not a readable one: send the product zip as "
                         "downloaded") from None
    if not members:
        raise InputError("the product zip is empty: send the product as downloaded")
    if len(members) > MAX_MEMBERS:
        raise InputError(f"the product zip holds {len(members)} files, more than a product has ({MAX_MEMBERS}): "
                         "send one product")
    tops = set()
    for info in members:
        problem = _member_problem(info)
        if problem:
            raise InputError(f"the product zip holds {problem} ({_PATH.sub('<path>', info.filename)[:80]!r}): "
                             "it is refused; send the product as downloaded")
        tops.add(info.filename.replace("\\", "/").split("/")[0])
    if len(tops) > 1:
        raise InputError(f"the product zip holds {len(tops)} folders at its top: send one product (one .SAFE folder)")
    unpacked = sum(info.file_size for info in members)
    if unpacked > limit:
        raise InputError(f"the product zip unpacks to {unpacked} bytes, more than this server takes ({limit}): "
                         "send a smaller product, or a GeoTIFF of the area")


def safe_message(text: str, names: Dict[str, str]) -> str:
    """One line without the server's paths: ``names`` maps known paths to what the client calls them,
    any other absolute path becomes <path>; the command line's flags become the service's arguments."""
    line = " ".join(str(text).split())
    for path in sorted(names, key=len, reverse=True):
        if path:
            line = line.replace(path, names[path])
    line = _PATH.sub("<path>", line)
    for flag, arg in _FLAGS.items():
        line = re.sub(rf"{flag}\b(?!-)", f"'{arg}'", line)
    return line[:400]
