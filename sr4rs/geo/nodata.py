"""The nodata rule, used alike by apply, extract, train and evaluate.

- The nodata value of an image is its file's tag, else the user's ``--nodata``, else the model's
  metadata; none of these: no value marks fill (NaN is a nodata value like any other).
- A pixel holds no data when every band equals the nodata value (how Landsat and Sentinel-2 mark
  fill), or when any band is not finite: NaN and infinities are never data, whatever the tag says.
- Invalid pixels are given to a model as 0 (NaN would spread through every convolution) and come
  out as nodata, or NaN in a float output that has no nodata value.
"""
from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np

from ..errors import InputError


def resolve_nodata(tagged: Optional[float], flag: Optional[float] = None,
                   model: Optional[float] = None) -> Optional[float]:
    """The file's tag wins, then --nodata, then the model's metadata."""
    for value in (tagged, flag, model):
        if value is not None:
            return float(value)
    return None


def _all_bands(pixels: np.ndarray, test: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """(..., H, W) mask of the pixels whose every band passes ``test``; band by band, which is several
    times faster than ``np.all(..., axis=-1)`` on the short last axis."""
    mask = test(pixels[..., 0])
    for b in range(1, pixels.shape[-1]):
        mask &= test(pixels[..., b])
    return mask


def _any_band(pixels: np.ndarray, test: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    mask = test(pixels[..., 0])
    for b in range(1, pixels.shape[-1]):
        mask |= test(pixels[..., b])
    return mask


def nodata_mask(pixels: np.ndarray, nodata: Optional[float]) -> Optional[np.ndarray]:
    """(..., H, W) mask of the pixels holding no data (see the module's rule), or None where none
    can be (an integer image without nodata value): the caller skips the masking work."""
    mask = None
    if pixels.dtype.kind == "f":
        mask = _any_band(pixels, lambda band: ~np.isfinite(band))
    if nodata is not None and not math.isnan(nodata):
        fill = _all_bands(pixels, lambda band: band == nodata)
        mask = fill if mask is None else mask | fill
    return mask


# How extraction decides that a patch holds no data: "all" (this module's rule: a pixel whose every band is
# the nodata value, or any band not finite) or "any" (OTBTF's PatchesExtraction: any band of any pixel equal
# to the nodata value, or not finite).
NODATA_RULES = ("all", "any")


def holds_nodata(pixels: np.ndarray, nodata: Optional[float], rule: str = "all") -> bool:
    """Whether ``pixels`` (H, W, C) hold a nodata pixel under ``rule`` (see ``NODATA_RULES``)."""
    if rule not in NODATA_RULES:
        raise InputError(f"nodata rule '{rule}' is not one of {', '.join(NODATA_RULES)}: choose all or any")
    pixels = np.asarray(pixels)
    if rule == "all":
        return not valid_pixels(pixels, nodata).all()
    if pixels.dtype.kind == "f" and not np.isfinite(pixels).all():
        return True
    return nodata is not None and not math.isnan(nodata) and bool((pixels == nodata).any())


def valid_pixels(pixels: np.ndarray, nodata: Optional[float] = None) -> np.ndarray:
    """(H, W) mask of the pixels holding data; a 2-D array is one band."""
    pixels = np.asarray(pixels)
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    mask = nodata_mask(pixels, nodata)
    return np.ones(pixels.shape[:-1], bool) if mask is None else ~mask


def model_input(pixels: np.ndarray) -> np.ndarray:
    """``pixels`` as float32 for a model, non-finite values (which are nodata) set to 0."""
    floating = pixels.dtype.kind == "f"
    pixels = pixels.astype(np.float32, copy=False)
    if floating and not np.isfinite(pixels).all():
        pixels = np.nan_to_num(pixels, nan=0.0, posinf=0.0, neginf=0.0)
    return pixels


def protect_nodata(pixels: np.ndarray, nodata: Optional[float], dtype) -> np.ndarray:
    """Valid pixels that a model put on the nodata value are moved one step off it, so that they are
    not read back as holes (in place)."""
    if nodata is None or math.isnan(nodata):
        return pixels
    hit = _all_bands(pixels, lambda band: band == nodata)
    if hit.any():
        dtype = np.dtype(dtype)
        step = 1 if dtype.kind in "ui" else np.finfo(dtype).eps * max(abs(nodata), 1)
        top = np.iinfo(dtype).max if dtype.kind in "ui" else np.inf
        pixels[hit] = nodata + step if nodata < top else nodata - step
    return pixels


def check_nodata_fits(nodata: Optional[float], dtype) -> None:
    """The output type must hold the nodata value exactly, or nodata pixels could not be marked."""
    if nodata is None:
        return
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        if not math.isnan(nodata) and np.isinf(dtype.type(nodata)):
            raise InputError(f"nodata {nodata:g} does not fit the output type {dtype.name}: choose --encoding float64")
        return
    info = np.iinfo(dtype)
    if math.isnan(nodata) or nodata != int(nodata) or not info.min <= nodata <= info.max:
        raise InputError(f"nodata {nodata:g} does not fit the output type {dtype.name} "
                         f"({info.min}..{info.max}): choose --encoding float32, or another --nodata")


def representable(nodata: Optional[float], dtype) -> Optional[float]:
    """``nodata`` if ``dtype`` holds it exactly, else None (a tag outside the type would mislead)."""
    dtype = np.dtype(dtype)
    if nodata is None or dtype.kind == "f":
        return nodata
    info = np.iinfo(dtype)
    return nodata if float(nodata).is_integer() and info.min <= nodata <= info.max else None


def empty_patches(patches: np.ndarray, nodata: Optional[float]) -> np.ndarray:
    """(N,) mask of the patches of ``patches`` (N, P, P, C) that carry no image: every value equal to
    the nodata value or, in a file without one, to 0 (the fill of Landsat and Sentinel-2, and of OTBTF's
    PatchesExtraction, which writes no tag)."""
    flat = patches.reshape(patches.shape[0], -1)
    fill = 0 if nodata is None or math.isnan(nodata) else nodata
    empty = np.all(flat == fill, axis=1)
    if patches.dtype.kind == "f" and nodata is not None and math.isnan(nodata):
        empty |= np.all(np.isnan(flat), axis=1)
    return empty


def nonfinite_patches(patches: np.ndarray) -> np.ndarray:
    """(N,) mask of the patches holding a NaN or infinite value."""
    if patches.dtype.kind != "f":
        return np.zeros(patches.shape[0], bool)
    return ~np.all(np.isfinite(patches.reshape(patches.shape[0], -1)), axis=1)
