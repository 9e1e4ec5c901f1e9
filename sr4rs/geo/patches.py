"""Pure logic of patches: placement (a grid or points), the train/validation split, and the layout of
OTBTF patches images (N square patches stacked in one column). Patches are ``Window``s in LR pixels;
``sr4rs.io.patches`` reads and writes the images, ``sr4rs.data`` cuts them."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Iterable, List, Sequence, Tuple

import numpy as np

from ..errors import InputError
from .windows import Window

SKIP_REASONS = ("outside", "nodata")


def check_patch_size(patch_size, step, width: int, height: int, name: str = "LR image") -> Tuple[int, int]:
    """(patch size, step) in LR pixels, validated; ``step`` defaults to the patch size."""
    if isinstance(patch_size, bool) or int(patch_size) != patch_size or patch_size < 1:
        raise InputError(f"--patch-size must be a positive integer (LR pixels), received {patch_size!r}")
    patch_size = int(patch_size)
    step = patch_size if step is None else step
    if isinstance(step, bool) or int(step) != step or step < 1:
        raise InputError(f"--step must be a positive integer (LR pixels), received {step!r}")
    if patch_size > min(width, height):
        raise InputError(f"--patch-size {patch_size} is larger than the {name} ({width} x {height} pixels): "
                         f"use at most {min(width, height)}")
    return patch_size, int(step)


def check_val_fraction(val_fraction) -> float:
    if not (0.0 <= float(val_fraction) < 1.0) or math.isnan(float(val_fraction)):
        raise InputError(f"--val-fraction must be in [0, 1), received {val_fraction!r}: e.g. 0.1")
    return float(val_fraction)


def grid_windows(width: int, height: int, size: int, step: int) -> List[Window]:
    """Patches of ``size`` every ``step`` pixels, row by row, wholly inside the image."""
    return [Window(col, row, size, size)
            for row in range(0, height - size + 1, step)
            for col in range(0, width - size + 1, step)]


def point_windows(points: Iterable[Tuple[float, float]], geotransform, size: int) -> List[Window]:
    """The ``size`` patch of each map point, in point order, placed as OTBTF's PatchesExtraction places it:
    from the pixel holding the point (a point on a pixel edge belongs to the pixel after it), ``size // 2``
    pixels back. An even patch has the point's pixel just after its centre.

    Windows may pass the image edges; the caller skips them as outside.
    """
    x0, dx, _, y0, _, dy = geotransform
    windows = []
    for x, y in points:
        col, row = (x - x0) / dx, (y - y0) / dy
        if not (math.isfinite(col) and math.isfinite(row)):
            windows.append(Window(-size, -size, size, size))  # an unprojectable point: outside
            continue
        windows.append(Window(int(math.floor(col)) - size // 2, int(math.floor(row)) - size // 2, size, size))
    return windows


def window_centre(window: Window, geotransform) -> Tuple[float, float]:
    """Map coordinates of the centre of ``window``."""
    x0, dx, rx, y0, ry, dy = geotransform
    c = window.col_off + window.width / 2.0
    r = window.row_off + window.height / 2.0
    return x0 + c * dx + r * rx, y0 + c * ry + r * dy


def split_indices(count: int, val_fraction: float, seed: int) -> Tuple[np.ndarray, np.ndarray]:
    """Random (train, validation) patch indices, each sorted; at least one of each when splitting."""
    if val_fraction <= 0:
        return np.arange(count), np.arange(0)
    if count < 2:
        raise InputError(f"only {count} patch kept: a --val-fraction split needs at least 2; "
                         "lower --step, add points or drop --val-fraction")
    n_val = min(max(int(round(count * val_fraction)), 1), count - 1)
    order = np.random.default_rng(seed).permutation(count)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def split_path(path: str, part: str) -> str:
    """``lr.tif`` -> ``lr_train.tif`` (``part`` = train) or ``lr_val.tif``."""
    stem, ext = os.path.splitext(path)
    return f"{stem}_{part}{ext or '.tif'}"


def centres_path(path: str) -> str:
    """The CSV of patch centres beside a patches image: ``lr_train.tif`` -> ``lr_train.csv``."""
    return os.path.splitext(path)[0] + ".csv"


# --- patches images (OTBTF layout) -------------------------------------------------------------

@dataclass(frozen=True)
class PatchesLayout:
    """Header of one OTBTF patches image: ``count`` patches of ``size`` x ``size`` stacked in rows."""

    path: str
    count: int
    size: int
    bands: int
    dtype: np.dtype
    band_names: Tuple[str, ...] = ()


def layout_from_shape(path: str, width: int, height: int, bands: int, dtype, band_names=()) -> PatchesLayout:
    """The layout of an image of ``width`` x ``height``; an InputError unless height = N * width."""
    if width < 1 or height < 1:
        raise InputError(f"patches file '{path}' is empty ({width} x {height} pixels): "
                         "extract patches again with sr4rs extract")
    if height % width:
        raise InputError(f"'{path}' is {width} x {height} pixels, not a patches image (height must be a "
                         f"multiple of the width, the patch size): give a file written by sr4rs extract "
                         "or OTBTF PatchesExtraction")
    return PatchesLayout(path, height // width, width, bands, np.dtype(dtype), tuple(band_names))


@dataclass(frozen=True)
class PatchesDescription:
    """What a trainer needs to know of a set of LR/HR patches files (all checked consistent)."""

    count: int
    lr_patch_size: int
    hr_patch_size: int
    lr_bands: int
    hr_bands: int
    ratio: int
    lr_dtype: np.dtype
    hr_dtype: np.dtype
    lr_band_names: Tuple[str, ...]
    hr_band_names: Tuple[str, ...]
    pairs: Tuple[Tuple[PatchesLayout, PatchesLayout], ...]

    @property
    def dtype(self) -> np.dtype:
        """The dtype both sides fit in without loss."""
        return np.result_type(self.lr_dtype, self.hr_dtype)


def check_file_lists(lr_files: Sequence[str], hr_files: Sequence[str]) -> None:
    if len(lr_files) == 0:
        raise InputError("no LR patches file given: pass at least one LR/HR pair of patches images")
    if len(lr_files) != len(hr_files):
        raise InputError(f"{len(lr_files)} LR patches files but {len(hr_files)} HR files: "
                         "give one HR file per LR file, in the same order")


def describe_layouts(pairs: Sequence[Tuple[PatchesLayout, PatchesLayout]]) -> PatchesDescription:
    """Check that LR/HR layouts pair up (counts, integer ratio, same sizes and bands everywhere)."""
    first_lr, first_hr = pairs[0]
    ratio = None
    for lr, hr in pairs:
        if lr.count != hr.count:
            raise InputError(f"'{lr.path}' holds {lr.count} patches but '{hr.path}' holds {hr.count}: "
                             "give the LR and HR files of the same extraction, in the same order")
        if hr.size % lr.size:
            raise InputError(f"HR patch size {hr.size} of '{hr.path}' is not a multiple of LR patch size "
                             f"{lr.size} of '{lr.path}' (ratio {hr.size / lr.size:.4g}): "
                             "pair files of the same extraction (are LR and HR swapped?)")
        this = hr.size // lr.size
        if ratio is not None and this != ratio:
            raise InputError(f"'{lr.path}'/'{hr.path}' have ratio {this} but '{first_lr.path}'/"
                             f"'{first_hr.path}' ratio {ratio}: train on pairs of one scale factor")
        ratio = this
        for side, ref, cur in (("LR", first_lr, lr), ("HR", first_hr, hr)):
            if cur.size != ref.size:
                raise InputError(f"{side} patch size {cur.size} of '{cur.path}' differs from {ref.size} of "
                                 f"'{ref.path}': extract all files with the same --patch-size")
            if cur.bands != ref.bands:
                raise InputError(f"{side} file '{cur.path}' has {cur.bands} bands but '{ref.path}' has "
                                 f"{ref.bands}: give files with the same bands")
    return PatchesDescription(
        count=sum(lr.count for lr, _ in pairs), lr_patch_size=first_lr.size, hr_patch_size=first_hr.size,
        lr_bands=first_lr.bands, hr_bands=first_hr.bands, ratio=ratio,
        lr_dtype=np.result_type(*[lr.dtype for lr, _ in pairs]),
        hr_dtype=np.result_type(*[hr.dtype for _, hr in pairs]),
        lr_band_names=first_lr.band_names, hr_band_names=first_hr.band_names, pairs=tuple(pairs))
