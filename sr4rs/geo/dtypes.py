"""Pixel types: the names ``--encoding`` accepts, and casting model outputs into a type."""
from __future__ import annotations

import numpy as np

from ..errors import InputError

# Names accepted by --encoding: SR4RS's (OTB pixel types), GDAL's and numpy's.
_ENCODINGS = {
    "unsigned_char": "uint8", "short": "int16", "unsigned_short": "uint16",
    "int": "int32", "unsigned_int": "uint32", "float": "float32", "double": "float64",
    "byte": "uint8", "uint8": "uint8", "int16": "int16", "uint16": "uint16",
    "int32": "int32", "uint32": "uint32", "float32": "float32", "float64": "float64",
}
ENCODING_CHOICES = ("auto",) + tuple(_ENCODINGS)
# What a GeoTIFF (and a GDAL virtual raster) holds exactly: int8 and float16 have no GDAL type here (GDAL 3.6
# would write int8 as unsigned bytes, -3 read back as 253), so outputs keep them in int16 and float32.
STORED_TYPES = ("uint8", "uint16", "int16", "uint32", "int32", "uint64", "int64", "float32", "float64")
_WIDER = {"int8": "int16", "float16": "float32"}


def check_pixel_type(dtype, what: str) -> np.dtype:
    """``dtype`` if sr4rs can compute with it (integers and floats); an InputError naming ``what`` otherwise
    (booleans, complex numbers, dates, text, objects)."""
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        dtype = np.dtype(object)
    if dtype.kind not in "uif":
        kind = {"b": "boolean", "c": "complex"}.get(dtype.kind, "non-numeric")
        fix = "take its amplitude or its real part first" if dtype.kind == "c" else "convert it to numbers first"
        raise InputError(f"{what} has {kind} pixels ({dtype}): sr4rs reads real numbers (integers or floats); "
                         f"{fix} (e.g. float32)")
    return dtype


def stored_type(dtype) -> np.dtype:
    """The type an output of pixels of ``dtype`` is written in: ``dtype`` itself, or the nearest wider type a
    GeoTIFF holds (int8 -> int16, float16 -> float32)."""
    dtype = np.dtype(dtype)
    return np.dtype(_WIDER.get(dtype.name, dtype.name))


def resolve_encoding(name: str, default) -> np.dtype:
    """The numpy dtype for an --encoding name; ``auto`` keeps ``default``."""
    key = str(name).lower()
    if key == "auto":
        return np.dtype(default)
    if key not in _ENCODINGS:
        raise InputError(f"unknown encoding '{name}': choose one of {', '.join(ENCODING_CHOICES)}")
    return np.dtype(_ENCODINGS[key])


def cast_clipped(array: np.ndarray, dtype, in_place: bool = False) -> np.ndarray:
    """``array`` in ``dtype``, rounded for integer types and clipped to the type's range
    (NaN becomes 0). ``in_place`` lets a float32 ``array`` be used as scratch space."""
    dtype = np.dtype(dtype)
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        # 8- and 16-bit bounds are exact in float32; wider ones need float64 (in float32 the
        # int32 and uint32 maxima round up past the range and the cast would wrap around).
        work_type = np.float64 if info.bits >= 32 else np.float32
        work = array if in_place and array.dtype == work_type else array.astype(work_type)
        hi = float(info.max) if info.bits < 64 else np.nextafter(float(info.max), 0)
        np.rint(work, out=work)
        np.clip(work, info.min, hi, out=work)  # NaN stays NaN: found (cheaply) after
        nan = np.isnan(work)
        if nan.any():
            work[nan] = 0.0
        return work.astype(dtype)
    if dtype == np.float32:
        info = np.finfo(dtype)
        return np.clip(array, info.min, info.max).astype(dtype)
    return array.astype(dtype)


def outside_range(array: np.ndarray, dtype) -> bool:
    """Whether values of ``array`` (finite) fall outside the range of the integer ``dtype``."""
    dtype = np.dtype(dtype)
    if dtype.kind not in "ui" or not array.size:
        return False
    info = np.iinfo(dtype)
    return bool(array.min() < info.min or array.max() > info.max)
