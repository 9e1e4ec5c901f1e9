"""Training data for multi-resolution fusion, by Wald's protocol as DSen2 makes it: every band of a sensor
degraded by the ratio between its coarsest bands and its finest ones, the network learning to return the
coarsest bands at their native resolution.

The images (one per resolution group, finest first, on one grid: same corner, resolutions whole multiples)
give a patch *set*: a folder holding one OTBTF patches image per input (``input_0.tif``: the finest),
``target.tif`` (the coarsest group's native bands) and ``patches.json`` describing them. Patches are placed
on the degraded finest grid, which is the native grid of the coarsest group.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import InputError, OutputError, shown
from ..geo.degrade import degrade, lr_margin
from ..geo.dtypes import cast_clipped
from ..geo.nodata import representable, resolve_nodata, valid_pixels
from ..geo.patches import check_val_fraction, grid_windows, split_indices
from ..geo.windows import Window, pad_to
from ..io.files import check_output_path, remove_quietly
from ..io.geotiff import GeoTiffSink
from ..io.grids import check_stack
from ..io.paths import Read, Target, check_targets, json_with_keys, raster_reads, raster_with_metadata
from ..io.patches import SET_MANIFEST, patches_creation_options, patches_spec, write_set_manifest
from ..io.rasters import GdalSource, read_info
from ..io.source import RasterInfo
from ..progress import CancelToken, Progress, Work


@dataclass(frozen=True)
class FusionPlan:
    """The groups (finest first), their factors relative to the finest, the Wald factor (the coarsest
    group's), and the candidate windows on the degraded finest grid."""

    paths: Tuple[str, ...]
    infos: Tuple[RasterInfo, ...]
    factors: Tuple[int, ...]
    patch_size: int
    windows: Tuple[Window, ...]
    nodata: Tuple[Optional[float], ...]
    originals: Tuple[str, ...] = ()
    shifts: Tuple[Tuple[int, int], ...] = ()  # per window, in pixels of the coarsest group (none: all (0, 0))
    phases: int = 1

    def shift(self, k: int) -> Tuple[int, int]:
        """How far (columns, rows of the coarsest group's pixels) window ``k``'s block grid is shifted."""
        return self.shifts[k] if self.shifts else (0, 0)

    @property
    def wald(self) -> int:
        return self.factors[-1]

    @property
    def unit(self) -> int:
        return math.lcm(*self.factors)

    @property
    def work(self) -> int:
        return 2 * len(self.windows)


def _group_factors(infos: Sequence[RasterInfo]) -> List[int]:
    """Each image's pixel size in units of the first's (``sr4rs.io.grids.check_stack``: georeferenced, one CRS,
    nested grids from one corner, finest first)."""
    return check_stack(infos)


def plan_fusion_extraction(paths: Sequence[str], patch_size: int, step: Optional[int] = None,
                           nodata: Optional[float] = None, originals: Sequence[str] = (),
                           phases: int = 1, allow_empty: bool = False) -> FusionPlan:
    """Check the images (finest first, at least two) and place the patches (``patch_size`` and ``step`` in
    pixels of the degraded finest grid, multiples of every group's factor).

    ``phases`` N > 1 places them N x N times: with the images' corner moved by 0 to N-1 pixels of the coarsest
    group in each direction before degrading, so that the Wald factor's blocks fall at N x N phases on the same
    ground (up to the Wald factor: every phase). Small coarse bands give that many times more distinct inputs.
    ``allow_empty``: images too small for a patch give a plan without windows (one scene of many) instead of an
    error."""
    if len(paths) < 2:
        raise InputError("a fusion patch set needs images of at least two resolutions: give one --input per "
                         "resolution (finest first), or a product with --bands of several resolutions")
    infos = tuple(read_info(p) for p in paths)
    factors = _group_factors(infos)
    unit = math.lcm(*factors)
    step = patch_size if step is None else step
    for flag, value in (("--patch-size", patch_size), ("--step", step)):
        if isinstance(value, bool) or int(value) != value or value < unit or value % unit:
            raise InputError(f"{flag} {value} must be a positive multiple of {unit} (every group's factor divides it)")
    d = factors[-1]
    if isinstance(phases, bool) or int(phases) != phases or not 1 <= phases <= d:
        raise InputError(f"--phases {phases} must be a whole number from 1 to the Wald factor, {d}")
    if phases > 1 and any(d % f for f in factors):
        raise InputError(f"--phases needs every image's factor ({', '.join(map(str, factors))}) to divide the Wald "
                         f"factor {d}: a shift of one coarse pixel would fall between pixels of another image")
    width, height = infos[0].width // d, infos[0].height // d
    windows, shifts = [], []
    for b in range(int(phases)):
        for a in range(int(phases)):
            placed = grid_windows((infos[0].width - a * d) // d, (infos[0].height - b * d) // d, int(patch_size),
                                  int(step))
            windows += placed
            shifts += [(a, b)] * len(placed)
    if not windows and not allow_empty:
        fit = min(width, height) // unit * unit
        if fit < unit:
            raise InputError(f"the images are too small for Wald's protocol: {shown(infos[0].path)} "
                             f"({infos[0].width} x {infos[0].height} pixels) degraded by {d} is {width} x {height} "
                             f"pixels, less than the smallest patch ({unit} pixels): give a larger area")
        raise InputError(f"no patch of {patch_size} pixels fits the degraded image ({width} x {height} pixels at "
                         f"{d} times the finest pixel size): lower --patch-size (to {fit} at most)")
    return FusionPlan(tuple(paths), infos, tuple(factors), int(patch_size), tuple(windows),
                      tuple(resolve_nodata(i.nodata, nodata) for i in infos), tuple(originals),
                      tuple(shifts) if phases > 1 else (), int(phases))


class FusionReader:
    """The patches of one window: each group degraded by the Wald factor (with the blur's margin read around
    it, mirrored past the edges as ``degrade`` does), and the coarsest group's native pixels."""

    def __init__(self, plan: FusionPlan):
        self.plan = plan
        self.sources = [GdalSource(p) for p in plan.paths]
        self.margin = lr_margin(plan.wald)

    def _group(self, i: int, window: Window, shift: Tuple[int, int]) -> Tuple[Optional[np.ndarray], bool]:
        f, d, info = self.plan.factors[i], self.plan.wald, self.plan.infos[i]
        sx, sy = shift[0] * d // f, shift[1] * d // f  # the shift in this group's pixels
        degraded = window.coarsened(f)
        native = degraded.grown(self.margin).scaled(d)  # in the image whose corner is moved by the shift
        width, height = ((info.width - sx) // d) * d, ((info.height - sy) // d) * d
        if not degraded.scaled(d).inside(width, height):
            return None, False
        part = native.clip(width, height)
        inner = self.sources[i].read(Window(part.col_off + sx, part.row_off + sy, part.width, part.height))
        valid = bool(valid_pixels(inner, self.plan.nodata[i]).all())
        lr = degrade(pad_to(inner, native, width, height, "symmetric"), d)
        m = self.margin
        return lr[m:m + degraded.height, m:m + degraded.width], valid

    def read(self, window: Window, shift: Tuple[int, int] = (0, 0)):
        """(inputs, target, usable): None patches when the window leaves an image; usable False with nodata."""
        inputs, usable = [], True
        for i in range(len(self.plan.paths)):
            patch, valid = self._group(i, window, shift)
            if patch is None:
                return None, None, False
            inputs.append(patch)
            usable &= valid
        target = self.sources[-1].read(Window(window.col_off + shift[0], window.row_off + shift[1], window.width,
                                              window.height))
        usable &= bool(valid_pixels(target, self.plan.nodata[-1]).all())
        return inputs, target, usable

    def close(self) -> None:
        for source in self.sources:
            source.close()


@dataclass(frozen=True)
class FusionReport:
    candidates: int
    kept: int
    train: int
    val: int
    skipped: Dict[str, int]
    folders: Tuple[str, ...]
    seconds: float


def set_folders(out: str, val_fraction: float) -> List[str]:
    return [os.path.join(out, "train"), os.path.join(out, "val")] if val_fraction > 0 else [out]


def _files(plan: FusionPlan, folder: str) -> List[str]:
    return [os.path.join(folder, f"input_{i}.tif") for i in range(len(plan.paths))] + \
        [os.path.join(folder, "target.tif"), os.path.join(folder, SET_MANIFEST)]


def check_set_outputs(plan: FusionPlan, out: str, val_fraction: float, overwrite: bool,
                      others: Sequence[FusionPlan] = ()) -> None:
    """The files of the set, checked against what ``plan`` (and ``others``: the scenes of the same set) read."""
    plans = [plan, *others]
    reads = [r for p in plans for info in p.infos for r in raster_reads(info.files or (info.path,), "--input")]
    reads += [Read(original, "--input") for p in plans for original in p.originals]
    targets = [Target(out, "--out", "patch set folder", folder=True)]
    for folder in set_folders(out, val_fraction):
        if folder != out:
            targets.append(Target(folder, "--out", "patch set folder", folder=True))
        for path in _files(plan, folder):
            ours = json_with_keys("inputs", "target") if path.endswith(".json") else raster_with_metadata("SR4RS_ROLE")
            targets.append(Target(path, "--out", "patch set of sr4rs extract", ours))
    check_targets(targets, reads, overwrite)


def skip_reason(plan: FusionPlan, reader: FusionReader, index: int) -> Optional[str]:
    """Why window ``index`` is skipped (outside an image, nodata), or None: it is kept."""
    inputs, _, usable = reader.read(plan.windows[index], plan.shift(index))
    return "outside" if inputs is None else None if usable else "nodata"


def scan(plan: FusionPlan, reader: FusionReader, work: Work):
    kept, skipped = [], {"outside": 0, "nodata": 0}
    for i in range(len(plan.windows)):
        reason = skip_reason(plan, reader, i)
        if reason:
            skipped[reason] += 1
        else:
            kept.append(i)
        work.advance(1)
    work.advance(len(plan.windows) - len(kept))
    return kept, skipped


def _sinks(plan: FusionPlan, folder: str, count: int, overwrite: bool,
           target_dtype: Optional[np.dtype] = None) -> List[GeoTiffSink]:
    sinks = []
    p = plan.patch_size
    for i, info in enumerate(plan.infos):
        size = p // plan.factors[i]
        spec = patches_spec(size, count, info.count, np.float32, None, info.descriptions, info.color_interps,
                            {"SR4RS_ROLE": f"input_{i}", "SR4RS_PATCH_SIZE": str(size), "SR4RS_PATCHES": str(count)})
        sinks.append(GeoTiffSink(os.path.join(folder, f"input_{i}.tif"), spec, patches_creation_options(size),
                                 overwrite=overwrite))
    target = plan.infos[-1]
    dtype = target.dtype if target_dtype is None else target_dtype
    nodata = representable(plan.nodata[-1], dtype)
    spec = patches_spec(p, count, target.count, dtype, nodata, target.descriptions, target.color_interps,
                        {"SR4RS_ROLE": "target", "SR4RS_PATCH_SIZE": str(p), "SR4RS_PATCHES": str(count)})
    sinks.append(GeoTiffSink(os.path.join(folder, "target.tif"), spec, patches_creation_options(p),
                             overwrite=overwrite))
    return sinks


def _write_set(items: Sequence[Tuple[FusionPlan, "FusionReader", int]], like: FusionPlan, folder: str, overwrite: bool,
               work: Work, target_dtype: Optional[np.dtype] = None) -> List[GeoTiffSink]:
    """The patches of ``items`` (a plan, its reader, a window index), in order, into one set's sinks (made
    after ``like``: sizes, bands)."""
    os.makedirs(folder, exist_ok=True)
    sinks = _sinks(like, folder, len(items), overwrite, target_dtype)
    dtype = like.infos[-1].dtype if target_dtype is None else target_dtype
    try:
        for k, (plan, reader, index) in enumerate(items):
            inputs, target, _ = reader.read(plan.windows[index], plan.shift(index))
            for i, patch in enumerate(inputs):
                size = plan.patch_size // plan.factors[i]
                sinks[i].write(Window(0, k * size, size, size), patch.astype(np.float32))
            p = plan.patch_size
            sinks[-1].write(Window(0, k * p, p, p), cast_clipped(target, dtype))
            work.advance(1)
    except BaseException:
        for sink in sinks:
            sink.abort()
        raise
    return sinks


class SetWriter:
    """Writes the parts of a patch set (``out``, or ``out/train`` and ``out/val``) all or nothing: sinks are
    committed and manifests written once every part is cut; on error or cancel, what was committed and the
    folders made are taken back."""

    def __init__(self, out: str, folders: Sequence[str], overwrite: bool):
        self.overwrite = overwrite
        self.made = [f for f in [out, *folders] if not os.path.exists(f)]
        self.sinks: List[GeoTiffSink] = []
        self.committed: List[str] = []

    def write(self, items, like: FusionPlan, folder: str, work: Work, target_dtype: Optional[np.dtype] = None) -> None:
        self.sinks += _write_set(items, like, folder, self.overwrite, work, target_dtype)

    def commit(self, manifests: Dict[str, dict]) -> None:
        for sink in self.sinks:
            sink.commit()
            self.committed.append(sink.path)
        for folder, content in manifests.items():
            self.committed.append(write_set_manifest(folder, content, self.overwrite))

    def abort(self) -> None:
        for sink in self.sinks:
            sink.abort()
        for path in self.committed:
            remove_quietly(path)
        for folder in reversed(self.made):
            if os.path.isdir(folder) and not os.listdir(folder):
                os.rmdir(folder)


def extract_set(plan: FusionPlan, out: str, val_fraction: float = 0.0, seed: int = 0, overwrite: bool = False,
                progress: Optional[Progress] = None, cancel: Optional[CancelToken] = None) -> FusionReport:
    """Cut the patches of ``plan`` into a patch set in ``out`` (``out/train`` and ``out/val`` with
    ``val_fraction``); nothing is left on error or cancel (folders it made are taken back)."""
    start = time.monotonic()
    val_fraction = check_val_fraction(val_fraction)
    check_set_outputs(plan, out, val_fraction, overwrite)
    check_output_path(os.path.join(out, "x") if os.path.isdir(out) else out, "--out")
    work, reader = Work(progress, cancel), FusionReader(plan)
    folders = set_folders(out, val_fraction)
    writer = SetWriter(out, folders, overwrite)
    try:
        kept, skipped = scan(plan, reader, work)
        if not kept:
            raise InputError(f"no patch kept out of {len(plan.windows)} ({skipped['outside']} outside an image, "
                             f"{skipped['nodata']} with nodata): choose an area with valid pixels in every image")
        parts = _split(plan, kept, val_fraction, seed)
        for folder, indices in zip(folders, parts):
            writer.write([(plan, reader, kept[i]) for i in indices], plan, folder, work)
        writer.commit({folder: manifest(plan, len(indices)) for folder, indices in zip(folders, parts)})
    except BaseException:
        writer.abort()
        raise
    finally:
        reader.close()
    train, val = (len(p) for p in parts) if val_fraction > 0 else (len(kept), 0)
    return FusionReport(len(plan.windows), len(kept), train, val, skipped, tuple(folders), time.monotonic() - start)


def _split(plan: FusionPlan, kept: Sequence[int], val_fraction: float, seed: int) -> List[List[int]]:
    """Positions in ``kept`` of the training (and validation) patches. The phases of one window cover nearly the
    same ground: they go to the same side."""
    places = list(dict.fromkeys((plan.windows[k].col_off, plan.windows[k].row_off) for k in kept))
    side = {}
    for part, indices in enumerate(split_indices(len(places), val_fraction, seed)):
        side.update({places[i]: part for i in indices})
    parts = [[] for _ in range(2 if val_fraction > 0 else 1)]
    for i, k in enumerate(kept):
        parts[side[(plan.windows[k].col_off, plan.windows[k].row_off)]].append(i)
    return parts


def manifest(plan: FusionPlan, count: int) -> dict:
    p = plan.patch_size
    return {
        "format": "sr4rs-patch-set/1", "count": count, "wald_factor": plan.wald, "phases": plan.phases,
        "inputs": [{"file": f"input_{i}.tif", "bands": list(info.band_names), "factor": f, "patch_size": p // f}
                   for i, (info, f) in enumerate(zip(plan.infos, plan.factors))],
        "target": {"file": "target.tif", "bands": list(plan.infos[-1].band_names), "patch_size": p},
        "sources": [os.path.basename(s) for s in (plan.originals or plan.paths)],
    }
