"""OTBTF patches images on disk: read patches by index (one GDAL window read each), describe and
check sets of LR/HR files, and create the image a set of patches is written into.

A patches image stacks N square P x P patches vertically (width P, height N*P, patch k in rows
k*P..(k+1)*P), all bands; the LR and HR files of an extraction hold the same patches in the same order.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import InputError, first_line
from ..geo.nodata import empty_patches, nonfinite_patches
from ..geo.patches import PatchesDescription, PatchesLayout, check_file_lists, describe_layouts, layout_from_shape
from ._gdal import gdal, gdal_array
from .rasters import open_raster
from .source import OutputSpec

# The scan for all-fill patches reads this many bytes of a patches file at a time.
_SCAN_BYTES = 64 * 1024 ** 2


def _open_patches(path: str) -> gdal.Dataset:
    if os.path.isfile(path) and os.path.getsize(path) == 0:
        raise InputError(f"patches file '{path}' is empty (0 bytes): extract patches again with sr4rs extract")
    return open_raster(path)


def _layout(ds: gdal.Dataset, path: str) -> PatchesLayout:
    band = ds.GetRasterBand(1)
    names = tuple(ds.GetRasterBand(i + 1).GetDescription() for i in range(ds.RasterCount))
    dtype = gdal_array.GDALTypeCodeToNumericTypeCode(band.DataType)
    return layout_from_shape(path, ds.RasterXSize, ds.RasterYSize, ds.RasterCount, dtype, names)


def read_layout(path: str) -> PatchesLayout:
    """Patch count, size, bands and dtype of one patches image (header only)."""
    return _layout(_open_patches(path), path)


class PatchesReader:
    """Reads patches of one patches image by index, through a handle of its own (one per thread)."""

    def __init__(self, path: str):
        self.path = path
        self._ds = _open_patches(path)
        self.layout = _layout(self._ds, path)
        self.nodata = self._ds.GetRasterBand(1).GetNoDataValue()

    def read(self, start: int, count: int = 1) -> np.ndarray:
        """Patches ``start``..``start + count`` as (count, P, P, C), in the file's dtype."""
        p, c = self.layout.size, self.layout.bands
        arr = self._ds.ReadAsArray(0, start * p, p, count * p)
        arr = arr.reshape(c, count, p, p)  # (C, N*P, P) -> (C, N, P, P): rows of patch k are contiguous
        return np.ascontiguousarray(np.transpose(arr, (1, 2, 3, 0)))

    def check_content(self) -> None:
        """An InputError at the first patch that is all fill or holds NaN; reads in bounded chunks."""
        lay = self.layout
        chunk = max(1, _SCAN_BYTES // (lay.size * lay.size * lay.bands * lay.dtype.itemsize))
        for start in range(0, lay.count, chunk):
            n = min(chunk, lay.count - start)
            check_patch_content(self.read(start, n), self.path, start, self.nodata)

    def empty_mask(self) -> np.ndarray:
        """(count,) mask of the patches that are all fill (``sr4rs.geo.nodata.empty_patches``); an InputError
        at the first patch holding NaN; reads in bounded chunks."""
        lay = self.layout
        chunk = max(1, _SCAN_BYTES // (lay.size * lay.size * lay.bands * lay.dtype.itemsize))
        masks = []
        for start in range(0, lay.count, chunk):
            patches = self.read(start, min(chunk, lay.count - start))
            check_finite(patches, self.path, start)
            masks.append(empty_patches(patches, self.nodata))
        return np.concatenate(masks) if masks else np.zeros(0, bool)

    def read_all(self) -> np.ndarray:
        return self.read(0, self.layout.count)

    def close(self) -> None:
        self._ds = None


def read_checked(path: str, check_content: bool = True) -> np.ndarray:
    """All patches of a patches image, refused (``check_patch_content``) if one is empty or not finite."""
    reader = PatchesReader(path)
    try:
        patches = reader.read_all()
    finally:
        reader.close()
    if check_content:
        check_patch_content(patches, path, 0, reader.nodata)
    return patches


def read_patches(path: str) -> np.ndarray:
    """All patches of an OTBTF patches image as (N, P, P, C), in the file's dtype."""
    return with_reader(path, PatchesReader.read_all)


def describe_patches(lr_files: Sequence[str], hr_files: Sequence[str],
                     check_content: bool = False) -> PatchesDescription:
    """Count, LR/HR patch sizes, bands, ratio and dtypes of LR/HR patches files, checked to pair up.

    Reads headers only, unless ``check_content`` (one pass over the files, in bounded
    memory) where all-fill or NaN patches are also refused. Any problem is an InputError
    naming the file.
    """
    lr_files, hr_files = as_list(lr_files), as_list(hr_files)
    check_file_lists(lr_files, hr_files)
    description = describe_layouts([(read_layout(lr), read_layout(hr)) for lr, hr in zip(lr_files, hr_files)])
    if check_content:
        for path in lr_files + hr_files:
            with_reader(path, PatchesReader.check_content)
    return description


def with_reader(path: str, func):
    """``func(reader)`` on a PatchesReader of ``path``, closed afterwards."""
    reader = PatchesReader(path)
    try:
        return func(reader)
    finally:
        reader.close()


def as_list(files) -> List[str]:
    if isinstance(files, (str, os.PathLike)):
        return [os.fspath(files)]
    return [os.fspath(f) for f in files]


def check_finite(patches: np.ndarray, path: str, first_index: int) -> None:
    """An InputError for the first patch of ``patches`` (N, P, P, C) that holds NaN or infinite values."""
    bad = nonfinite_patches(patches)
    if bad.any():
        k = first_index + int(np.argmax(bad))
        raise InputError(f"patch {k} of '{path}' holds NaN or infinite values: "
                         "extract again (sr4rs extract rejects such patches)")


def read_with_empty(path: str):
    """All patches of a patches image and the (N,) mask of those that are all fill; an InputError if one holds
    NaN."""
    reader = PatchesReader(path)
    try:
        patches = reader.read_all()
    finally:
        reader.close()
    check_finite(patches, path, 0)
    return patches, empty_patches(patches, reader.nodata)


def check_patch_content(patches: np.ndarray, path: str, first_index: int, nodata: Optional[float]) -> None:
    """An InputError for the first patch of ``patches`` (N, P, P, C) that holds NaN/inf or carries no
    image (``sr4rs.geo.nodata.empty_patches``)."""
    check_finite(patches, path, first_index)
    empty = empty_patches(patches, nodata)
    if empty.any():
        k = first_index + int(np.argmax(empty))
        fill = 0 if nodata is None else nodata
        raise InputError(f"patch {k} of '{path}' is entirely nodata ({fill:g}): extract again with "
                         "--nodata set to the fill value so that such patches are skipped")


def patches_spec(size: int, count: int, bands: int, dtype, nodata: Optional[float], descriptions=(),
                 color_interps=(), metadata: Optional[Dict[str, str]] = None) -> OutputSpec:
    """The output of ``count`` patches of ``size`` pixels, stacked in one column."""
    return OutputSpec(size, count * size, bands, np.dtype(dtype), nodata=nodata, descriptions=descriptions,
                      color_interps=color_interps, metadata=metadata or {})


# One strip per patch: a streaming reader decodes exactly the patch it asks for.
def patches_creation_options(size: int) -> Dict[str, str]:
    return {"TILED": "NO", "BLOCKYSIZE": str(size)}


# --- patch sets: several inputs (one per resolution) and a target ----------------------------------

SET_MANIFEST = "patches.json"


@dataclass(frozen=True)
class PatchSet:
    """A patch set folder: one patches image per model input (finest first) and the target's."""

    folder: str
    inputs: Tuple[PatchesLayout, ...]
    factors: Tuple[int, ...]
    input_bands: Tuple[Tuple[str, ...], ...]
    target: PatchesLayout
    target_bands: Tuple[str, ...]
    count: int


def is_patch_set(path: str) -> bool:
    return os.path.isdir(path) and os.path.isfile(os.path.join(path, SET_MANIFEST))


def write_set_manifest(folder: str, manifest: dict, overwrite: bool = True) -> str:
    from .files import write_text

    return write_text(os.path.join(folder, SET_MANIFEST), json.dumps(manifest, indent=2) + "\n", overwrite)


def read_patch_set(folder: str) -> PatchSet:
    """A patch set's manifest and layouts, checked to agree (counts, sizes: input patches the target's divided
    by their factor)."""
    path = os.path.join(folder, SET_MANIFEST)
    if not os.path.isfile(path):
        raise InputError(f"'{folder}' is not a patch set (no {SET_MANIFEST}): give a folder written by "
                         "sr4rs extract with several --input, or patches images with --hr_patches")
    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
        inputs = [read_layout(os.path.join(folder, i["file"])) for i in manifest["inputs"]]
        factors = tuple(int(i["factor"]) for i in manifest["inputs"])
        target = read_layout(os.path.join(folder, manifest["target"]["file"]))
        bands = tuple(tuple(i["bands"]) for i in manifest["inputs"])
        target_bands = tuple(manifest["target"]["bands"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise InputError(f"patch set '{folder}' has an unreadable {SET_MANIFEST} ({first_line(err)}): "
                         "extract it again") from None
    for layout, factor in zip(inputs, factors):
        if layout.count != target.count or layout.size * factor != target.size:
            raise InputError(f"patch set '{folder}': '{layout.path}' holds {layout.count} patches of {layout.size} "
                             f"pixels, but the target {target.count} of {target.size} (factor {factor}): extract it again")
    return PatchSet(folder, tuple(inputs), factors, bands, target, target_bands, target.count)


@dataclass(frozen=True)
class SetsDescription:
    """What a trainer needs to know of patch sets (all checked consistent)."""

    sets: Tuple[PatchSet, ...]
    count: int
    factors: Tuple[int, ...]
    input_bands: Tuple[Tuple[str, ...], ...]
    target_bands: Tuple[str, ...]
    patch_size: int  # the target's (output grid) patch size

    @property
    def scale(self) -> int:
        return max(self.factors)


def describe_sets(folders: Sequence[str]) -> SetsDescription:
    if not folders:
        raise InputError("no patch set given: pass the folders written by sr4rs extract with several --input")
    sets = [read_patch_set(f) for f in folders]
    first = sets[0]
    for other in sets[1:]:
        same = (other.factors, [len(b) for b in other.input_bands], len(other.target_bands), other.target.size) == \
            (first.factors, [len(b) for b in first.input_bands], len(first.target_bands), first.target.size)
        if not same:
            raise InputError(f"patch sets '{first.folder}' and '{other.folder}' differ in inputs, bands or patch size: "
                             "extract them with the same settings")
    return SetsDescription(tuple(sets), sum(s.count for s in sets), first.factors, first.input_bands,
                           first.target_bands, first.target.size)
