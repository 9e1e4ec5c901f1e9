"""Pure logic of patch extraction: LR/HR grid checks, patch placement, the train/validation split.

No GDAL here: images are described by ``Grid`` (size and geotransform) and
patches by ``Window`` (in LR pixels); ``patches_io`` does the reading and writing.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Tuple

import numpy as np

from .errors import InputError
from .windows import Window

# A pixel size ratio closer than this (relative) to an integer is that integer:
# pixel sizes written with 8 significant digits (3.3333333 m) must still pass.
_RATIO_TOLERANCE = 1e-6
# Grids whose origins differ by less than this many HR pixels are aligned (float noise of warps).
_ALIGN_TOLERANCE = 1e-3

SKIP_REASONS = ("outside", "nodata")


@dataclass(frozen=True)
class Grid:
    """The pixel grid of an image: size in pixels and GDAL geotransform."""

    width: int
    height: int
    geotransform: Tuple[float, ...]
    name: str = "image"

    @property
    def bounds(self) -> Tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) in map units, for a north-up grid."""
        x0, dx, _, y0, _, dy = self.geotransform
        xs = (x0, x0 + dx * self.width)
        ys = (y0, y0 + dy * self.height)
        return min(xs), min(ys), max(xs), max(ys)


@dataclass(frozen=True)
class PairGeometry:
    """How an LR grid maps onto an aligned HR grid ``ratio`` times finer.

    ``col_offset``/``row_offset``: the HR pixel holding the LR origin, so LR pixel
    (c, r) covers HR pixels [c*ratio + col_offset, (c+1)*ratio + col_offset) (same in rows).
    """

    ratio: int
    col_offset: int
    row_offset: int
    lr: Grid
    hr: Grid

    def hr_window(self, lr_window: Window) -> Window:
        """The HR window covering the same ground as ``lr_window``."""
        w = lr_window.scaled(self.ratio)
        return Window(w.col_off + self.col_offset, w.row_off + self.row_offset, w.width, w.height)


def inside(window: Window, width: int, height: int) -> bool:
    """Whether ``window`` lies wholly inside a ``width`` x ``height`` image."""
    return (window.col_off >= 0 and window.row_off >= 0
            and window.col_off + window.width <= width and window.row_off + window.height <= height)


def _check_north_up(grid: Grid) -> None:
    _, dx, rx, _, ry, dy = grid.geotransform
    if rx or ry:
        raise InputError(f"{grid.name} has a rotated geotransform (terms {rx}, {ry}): "
                         "warp it north-up first (gdalwarp)")
    if dx <= 0 or dy == 0:
        raise InputError(f"{grid.name} has an unusable pixel size ({dx}, {dy}): fix its georeferencing")


def _integer_ratio(lr_size: float, hr_size: float, axis: str, lr: Grid, hr: Grid) -> int:
    ratio = abs(lr_size) / abs(hr_size)
    whole = round(ratio)
    if whole < 1 or abs(ratio - whole) > _RATIO_TOLERANCE * max(ratio, 1.0):
        hint = " (are --lr and --hr swapped?)" if ratio < 1 else ""
        raise InputError(f"LR/HR pixel size ratio is {ratio:.6g} in {axis} ({lr.name} {abs(lr_size):.6g}, "
                         f"{hr.name} {abs(hr_size):.6g}): the HR pixel size must divide the LR pixel size "
                         f"a whole number of times{hint}; resample the HR image (gdalwarp -tr)")
    return int(whole)


def check_overlap(lr: Grid, hr: Grid) -> None:
    """An InputError unless the two footprints share some ground."""
    a, b = lr.bounds, hr.bounds
    if min(a[2], b[2]) <= max(a[0], b[0]) or min(a[3], b[3]) <= max(a[1], b[1]):
        raise InputError(f"{lr.name} (x {a[0]:.6g}..{a[2]:.6g}, y {a[1]:.6g}..{a[3]:.6g}) and {hr.name} "
                         f"(x {b[0]:.6g}..{b[2]:.6g}, y {b[1]:.6g}..{b[3]:.6g}) do not overlap: "
                         "give images of the same area")


def check_pair(lr: Grid, hr: Grid, unit: str = "m") -> PairGeometry:
    """Ratio, alignment and overlap of an LR/HR pair (same CRS assumed); an InputError if unusable.

    ``unit`` names the map unit in messages (``m`` for projected CRSs).
    """
    _check_north_up(lr)
    _check_north_up(hr)
    lx0, ldx, _, ly0, _, ldy = lr.geotransform
    hx0, hdx, _, hy0, _, hdy = hr.geotransform
    if (ldy > 0) != (hdy > 0):
        raise InputError(f"{lr.name} and {hr.name} have opposite row directions (pixel heights {ldy}, {hdy}): "
                         "warp both north-up (gdalwarp)")
    rx = _integer_ratio(ldx, hdx, "x", lr, hr)
    ry = _integer_ratio(ldy, hdy, "y", lr, hr)
    if rx != ry:
        raise InputError(f"LR/HR pixel size ratio differs between x ({rx}) and y ({ry}): "
                         "resample the HR image to square ratios (gdalwarp -tr)")
    if rx == 1:
        raise InputError(f"{lr.name} and {hr.name} have the same pixel size ({abs(ldx):.6g}), ratio 1: "
                         "give an HR image finer than the LR image, or one image with --factor")
    check_overlap(lr, hr)
    # The HR origin in HR pixels from the LR origin: a whole number makes LR pixels unions of HR pixels.
    col = (hx0 - lx0) / hdx
    row = (hy0 - ly0) / hdy
    frac_c, frac_r = col - round(col) + 0.0, row - round(row) + 0.0  # + 0.0: no "-0.000" in messages
    if abs(frac_c) > _ALIGN_TOLERANCE or abs(frac_r) > _ALIGN_TOLERANCE:
        raise InputError(f"{hr.name} grid is not aligned with {lr.name} grid: the HR origin is "
                         f"{frac_c:+.3f} x {frac_r:+.3f} HR pixels ({frac_c * abs(hdx):+.4g} x "
                         f"{frac_r * abs(hdy):+.4g} {unit}) off a whole number of HR pixels from the LR origin: "
                         "resample the HR image onto a grid aligned with the LR one "
                         "(gdalwarp -te with the LR bounds and -tr)")
    return PairGeometry(rx, -int(round(col)), -int(round(row)), lr, hr)


def wald_geometry(hr: Grid, factor: int) -> PairGeometry:
    """The geometry of Wald's protocol: a virtual LR grid ``factor`` times coarser on the HR origin."""
    check_factor(factor)
    x0, dx, rx, y0, ry, dy = hr.geotransform
    width, height = hr.width // factor, hr.height // factor
    if width < 1 or height < 1:
        raise InputError(f"{hr.name} ({hr.width} x {hr.height}) is smaller than --factor {factor}: "
                         "give a larger image or a smaller factor")
    lr = Grid(width, height, (x0, dx * factor, rx * factor, y0, ry * factor, dy * factor), "degraded LR")
    return PairGeometry(factor, 0, 0, lr, hr)


def check_factor(factor) -> int:
    if isinstance(factor, bool) or int(factor) != factor or factor < 2:
        raise InputError(f"--factor must be an integer >= 2, received {factor!r}: e.g. --factor 4")
    return int(factor)


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
    """The ``size`` patch centred (to the nearest pixel edge) on each map point, in point order.

    Windows may pass the image edges; the caller skips them as outside.
    """
    x0, dx, _, y0, _, dy = geotransform
    windows = []
    for x, y in points:
        col = (x - x0) / dx - size / 2.0
        row = (y - y0) / dy - size / 2.0
        if not (math.isfinite(col) and math.isfinite(row)):
            windows.append(Window(-size, -size, size, size))  # an unprojectable point: outside
            continue
        windows.append(Window(int(math.floor(col + 0.5)), int(math.floor(row + 0.5)), size, size))
    return windows


def window_centre(window: Window, geotransform) -> Tuple[float, float]:
    """Map coordinates of the centre of ``window``."""
    x0, dx, rx, y0, ry, dy = geotransform
    c = window.col_off + window.width / 2.0
    r = window.row_off + window.height / 2.0
    return x0 + c * dx + r * rx, y0 + c * ry + r * dy


def nodata_pixels(patch: np.ndarray, nodata: Optional[float]) -> np.ndarray:
    """(rows, cols) mask of fill pixels: every band equals ``nodata`` (how Landsat marks fill),
    or any band is not finite (NaN/inf never train)."""
    mask = np.zeros(patch.shape[:2], dtype=bool)
    if patch.dtype.kind == "f":
        mask |= ~np.all(np.isfinite(patch), axis=-1)
    if nodata is not None:
        if isinstance(nodata, float) and math.isnan(nodata):
            mask |= np.all(np.isnan(patch), axis=-1)
        else:
            mask |= np.all(patch == nodata, axis=-1)
    return mask


def has_nodata(patch: np.ndarray, nodata: Optional[float]) -> bool:
    return bool(nodata_pixels(patch, nodata).any())


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


def check_patch_content(patches: np.ndarray, path: str, first_index: int, nodata: Optional[float]) -> None:
    """An InputError for the first patch of ``patches`` (N, P, P, C) that is all fill or holds NaN/inf.

    ``nodata`` is the file's tag; an untagged file's fill is taken as 0 (Landsat, Sentinel-2):
    a patch whose every value is 0 carries no image.
    """
    flat = patches.reshape(patches.shape[0], -1)
    if patches.dtype.kind == "f":
        bad = ~np.all(np.isfinite(flat), axis=1)
        if bad.any():
            k = first_index + int(np.argmax(bad))
            raise InputError(f"patch {k} of '{path}' holds NaN or infinite values: "
                             "extract again (sr4rs extract rejects such patches)")
    fill = 0 if nodata is None else nodata
    empty = np.all(flat == fill, axis=1)
    if empty.any():
        k = first_index + int(np.argmax(empty))
        raise InputError(f"patch {k} of '{path}' is entirely nodata ({fill:g}): extract again with "
                         "--nodata set to the fill value so that such patches are skipped")
