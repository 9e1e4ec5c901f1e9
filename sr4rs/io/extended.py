"""Orfeo ToolBox extended filenames: ``in.tif?&bands=1:3&skipcarto=true``, ``out.tif?&gdal:co:COMPRESS=DEFLATE``.

OTB reads everything after ``?&`` as ``&``-separated ``key=value`` options of its reader or writer. sr4rs
understands them the same way, so a name written for an OTB pipeline means the same file and the same
options here, never a file literally called ``out.tif?&gdal:co:...``. Options OTB knows but sr4rs cannot
honour, and options OTB does not know (OTB only warns about those), are refused in one line rather than
silently dropped.
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from typing import Dict, List, Tuple

from ..errors import InputError, OutputError, name_virtual
from ._gdal import gdal

MARK = "?&"
_TRUE = {"on", "true", "1"}
_FALSE = {"off", "false", "0"}
_VSIMEM = "/vsimem/sr4rs-extended"
# Reader options that change nothing here: sr4rs reads no .geom sidecar (skipgeom) and carries no RPC
# tags over to a resampled output (skiprpctag).
_READER_NOOPS = ("skipgeom", "skiprpctag")
_READER_REFUSED = {
    "geom": "sr4rs reads no .geom sensor model: orthorectify the image first (otbcli_OrthoRectification)",
    "sdataidx": "open the subdataset by its GDAL name instead (gdalinfo lists them: SUBDATASET_n_NAME)",
    "resol": "read the full resolution, or make the reduced one first (gdal_translate -outsize)",
}
# Writer options that change nothing here: sr4rs writes no .geom file and no RPC tags, and streams by
# its own tiles whatever OTB's streaming options say.
_WRITER_NOOPS = ("writegeom", "streaming:type", "streaming:sizemode", "streaming:sizevalue")
_WRITER_REFUSED = {
    "box": "crop the input instead (gdal_translate -srcwin, or otbcli_ExtractROI)",
    "bands": "select the input's bands instead (in.tif?&bands=...) or the output's afterwards (gdal_translate -b)",
    "nodata": "give the input's nodata value with --nodata, or tag the input (gdal_edit -a_nodata)",
    "writerpctags": "sr4rs writes no RPC tags (its output is on the input's map grid)",
}


def is_extended(name: str) -> bool:
    return isinstance(name, str) and MARK in name


def split(name: str, error=InputError, example: str = "in.tif?&bands=1:3") -> Tuple[str, Dict[str, str]]:
    """(file name, options) of an extended filename; a plain name has no options."""
    if not is_extended(name):
        return name, {}
    path, _, rest = name.partition("?")
    options: Dict[str, str] = {}
    for item in filter(None, rest.split("&")):
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise error(f"option '{item}' of '{name}' is not key=value: write e.g. {example}")
        if key in options:
            raise error(f"option '{key}' is given twice in '{name}': keep one")
        options[key] = value
    return path, options


def _flag(key: str, value: str, name: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise InputError(f"option {key}={value} of '{name}' is not a boolean: write {key}=true or {key}=false")


def band_list(text: str, count: int, name: str) -> List[int]:
    """Band numbers (from 1) of OTB's band range syntax: ``1,3``, ``2:4``, ``:2``, ``-1`` (the last band)."""
    bands = []
    for token in text.split(","):
        match = re.fullmatch(r"(-?\d+)?(?:(:)(-?\d+)?)?", token.strip())
        if not token.strip() or not match:
            raise InputError(f"bands={text} of '{name}' is not a band range: write e.g. bands=1,2,3 or bands=1:3")
        first, colon, last = match.groups()
        a = int(first) if first else 1
        b = (int(last) if last else count) if colon else a
        a, b = (v + count + 1 if v < 0 else v for v in (a, b))
        if not 1 <= a <= b <= count:
            raise InputError(f"bands={text} of '{name}' does not fit its {count} bands: give bands 1 to {count}")
        bands.extend(range(a, b + 1))
    return bands


def reader_name(name: str) -> str:
    """What GDAL opens for an input name: the file itself, or a virtual raster applying the reader options
    (``bands``, ``skipcarto``: no map projection nor geotransform, as OTB reads it)."""
    path, options = split(name)
    bands, skip_carto = None, False
    for key, value in options.items():
        if key == "bands":
            bands = value
        elif key == "skipcarto":
            skip_carto = _flag(key, value, name)
        elif key in _READER_NOOPS:
            _flag(key, value, name)
        elif key in _READER_REFUSED:
            raise InputError(f"extended filename option '{key}' of '{name}' is not supported: {_READER_REFUSED[key]}")
        else:
            known = ", ".join(sorted(("bands", "skipcarto", *_READER_NOOPS)))
            raise InputError(f"unknown extended filename option '{key}' in '{name}': an input takes {known}")
    if bands is None and not skip_carto:
        return path
    return _virtual(path, bands, skip_carto, name)


def _virtual(path: str, bands, skip_carto: bool, name: str) -> str:
    if not os.path.exists(path) and not path.startswith("/vsi"):
        raise InputError(f"input '{path}' (of '{name}') does not exist: check the path")
    src = gdal.Open(path if path.startswith("/vsi") else os.path.abspath(path))
    if src is None:
        raise InputError(f"input '{path}' (of '{name}') is not a raster GDAL can read")
    numbers = band_list(bands, src.RasterCount, name) if bands is not None else None
    digest = hashlib.sha1(f"{os.path.abspath(path)}|{name}".encode()).hexdigest()[:16]
    out = f"{_VSIMEM}/{digest}/{os.path.splitext(os.path.basename(path))[0]}.vrt"
    gdal.Translate(out, src, format="VRT", bandList=numbers)
    if skip_carto:
        _strip_georeferencing(out)
    return name_virtual(out, f"'{name}'")


def _strip_georeferencing(vrt: str) -> None:
    """Remove the map projection and geotransform of a virtual raster (OTB's skipcarto)."""
    handle = gdal.VSIFOpenL(vrt, "rb")
    try:
        xml = gdal.VSIFReadL(1, gdal.VSIStatL(vrt).size, handle).decode()
    finally:
        gdal.VSIFCloseL(handle)
    xml = re.sub(r"\s*<SRS[^>]*>.*?</SRS>", "", xml, flags=re.S)
    xml = re.sub(r"\s*<GeoTransform>.*?</GeoTransform>", "", xml, flags=re.S)
    gdal.FileFromMemBuffer(vrt, xml.encode())


@dataclass(frozen=True)
class WriterName:
    """An output name resolved: the file written and the GDAL creation options its name asks for."""

    path: str
    creation_options: Dict[str, str]


def writer_name(name: str, flag: str = "--output") -> WriterName:
    """The file and creation options of an output name (``gdal:co:KEY=VALUE`` options, as OTB's writer)."""
    path, options = split(name, OutputError, "out.tif?&gdal:co:COMPRESS=DEFLATE")
    creation = {}
    for key, value in options.items():
        if key.startswith("gdal:co:") and len(key) > len("gdal:co:"):
            creation[key[len("gdal:co:"):].upper()] = value
        elif key in _WRITER_NOOPS:
            continue
        elif key in _WRITER_REFUSED:
            raise OutputError(f"extended filename option '{key}' of {flag} '{name}' is not supported: "
                              f"{_WRITER_REFUSED[key]}")
        else:
            raise OutputError(f"unknown extended filename option '{key}' in {flag} '{name}': an output takes "
                              "gdal:co:KEY=VALUE (and OTB's streaming and writegeom options, which change nothing here)")
    if not os.path.basename(path):
        raise OutputError(f"{flag} '{name}' names no file before '?&': write e.g. out.tif?&gdal:co:COMPRESS=DEFLATE")
    return WriterName(path, creation)
