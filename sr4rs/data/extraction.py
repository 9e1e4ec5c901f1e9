"""Cut LR/HR patch pairs into OTBTF patches images, from two co-registered images or from one image
degraded by Wald's protocol.

Beside each patches image, ``<stem>.csv`` gives each patch's centre in map coordinates (and its
top-left pixel in the source grid). With a validation split, ``lr.tif`` becomes ``lr_train.tif`` and
``lr_val.tif`` (and so on for HR and the CSVs).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import InputError, OutputError
from ..geo.degrade import degrade, lr_margin
from ..geo.dtypes import cast_clipped, resolve_encoding
from ..geo.nodata import NODATA_RULES, holds_nodata, representable, resolve_nodata
from ..geo.pairs import PIXEL_GRID, Grid, PairGeometry, check_pair, wald_geometry
from ..geo.patches import (centres_path, check_patch_size, check_val_fraction, grid_windows, point_windows,
                           split_indices, split_path, window_centre)
from ..geo.windows import Window, pad_to
from ..io.extended import writer_name
from ..io.files import StagedFile, check_output_path, remove_quietly
from ..io.paths import Read, Target, check_targets, csv_with_header, raster_reads, raster_with_metadata
from ..io.geotiff import GeoTiffSink
from ..io.patches import patches_creation_options, patches_spec
from ..io.rasters import GdalSource, read_info
from ..io.source import RasterInfo
from ..io.vectors import check_same_crs, crs_unit, read_points
from ..progress import CancelToken, Progress, Work


@dataclass(frozen=True)
class ExtractionPlan:
    """What to cut, checked: the pair geometry and the candidate LR windows, in output order.

    ``lr_path`` is None in Wald mode (LR made by degrading the HR image by ``geometry.ratio``).
    """

    lr_path: Optional[str]
    hr_path: str
    geometry: PairGeometry
    patch_size: int
    windows: Tuple[Window, ...]
    lr_info: Optional[RasterInfo]
    hr_info: RasterInfo
    lr_nodata: Optional[float]
    hr_nodata: Optional[float]
    points: Optional[str] = None
    originals: Tuple[str, ...] = ()  # the paths as given (a product folder or zip), when they differ
    nodata_rule: str = "all"  # "any": OTBTF PatchesExtraction's rule (see sr4rs.geo.nodata.NODATA_RULES)

    @property
    def wald(self) -> bool:
        return self.lr_path is None

    @property
    def ratio(self) -> int:
        return self.geometry.ratio

    @property
    def hr_patch_size(self) -> int:
        return self.patch_size * self.ratio

    @property
    def work(self) -> int:
        """Progress steps of ``extract``: a check and a write (or skip) per candidate."""
        return 2 * len(self.windows)

    @property
    def inputs(self) -> Tuple[str, ...]:
        return tuple(p for p in (self.lr_path, self.hr_path) if p)


def _grid(info: RasterInfo, role: str, needed_for: Optional[str], alternative: str = "") -> Grid:
    gt = info.geotransform
    if gt is None:
        if needed_for:
            raise InputError(f"{role} '{info.path}' has no geotransform, needed for {needed_for}: "
                             f"georeference it (gdal_edit -a_ullr -a_srs){alternative}")
        gt = PIXEL_GRID
    return Grid(info.width, info.height, tuple(gt), f"{role} '{info.path}'")


def _pair_geometry(lr_info: RasterInfo, hr_info: RasterInfo, factor: Optional[int]) -> PairGeometry:
    check_same_crs(lr_info, hr_info)
    pairing = ("pairing LR and HR pixels", ", or give only --hr with --factor")
    geometry = check_pair(_grid(lr_info, "LR", *pairing), _grid(hr_info, "HR", *pairing),
                          unit=crs_unit(lr_info.projection))
    if factor is not None and factor != geometry.ratio:
        raise InputError(f"--factor {factor} but the images' pixel size ratio is {geometry.ratio}: "
                         f"drop --factor or pass --factor {geometry.ratio}")
    return geometry


def plan_extraction(lr_path: Optional[str], hr_path: str, patch_size: int, step: Optional[int] = None,
                    points: Optional[str] = None, factor: Optional[int] = None,
                    nodata: Optional[float] = None, originals: Sequence[str] = (),
                    nodata_rule: str = "all", allow_empty: bool = False) -> ExtractionPlan:
    """Check the inputs and place the patches; reads no pixel.

    Pair mode (``lr_path`` given): same CRS, overlap, integer pixel size ratio (equal to ``factor`` if
    given) and aligned grids are required. Wald mode (``lr_path`` None): ``factor`` is required and the
    LR image is the HR image degraded. Patches come from a grid of ``patch_size`` every ``step`` LR
    pixels over the LR image, or are centred on the points of the vector file ``points``. ``nodata``
    applies to an image without nodata tag; ``nodata_rule`` "any" skips a patch where any band of any pixel
    is nodata (OTBTF's PatchesExtraction), "all" where a pixel's every band is. ``allow_empty``: an image too
    small for a patch gives a plan without windows (one scene of many) instead of an error.
    """
    if nodata_rule not in NODATA_RULES:
        raise InputError(f"--nodata-rule {nodata_rule} is not one of {', '.join(NODATA_RULES)}: choose all "
                         "(a pixel is nodata when all its bands are) or any (as OTBTF's PatchesExtraction)")
    hr_info = read_info(hr_path)
    lr_info = None
    if lr_path is None:
        if factor is None:
            raise InputError("no --lr image and no --factor: give --lr, or --factor to make the LR side "
                             "by degrading the HR image (Wald's protocol)")
        geometry = wald_geometry(_grid(hr_info, "HR", "--points" if points is not None else None), factor)
        crs_wkt = hr_info.projection
    else:
        lr_info = read_info(lr_path)
        geometry = _pair_geometry(lr_info, hr_info, factor)
        crs_wkt = lr_info.projection
    lr = geometry.lr
    fits = min(lr.width, lr.height) >= patch_size
    patch_size, step = check_patch_size(patch_size, step, *((lr.width, lr.height) if fits or not allow_empty
                                                            else (patch_size, patch_size)), lr.name)
    if points is not None:
        windows = point_windows(read_points(points, crs_wkt), lr.geotransform, patch_size)
    else:
        windows = grid_windows(lr.width, lr.height, patch_size, step)
    if not windows and not allow_empty:
        raise InputError(f"no patch of {patch_size} pixels fits the {lr.name}: lower --patch-size")
    return ExtractionPlan(
        lr_path=lr_path, hr_path=hr_path, geometry=geometry, patch_size=patch_size, windows=tuple(windows),
        lr_info=lr_info, hr_info=hr_info,
        lr_nodata=None if lr_info is None else resolve_nodata(lr_info.nodata, nodata),
        hr_nodata=resolve_nodata(hr_info.nodata, nodata), points=points, originals=tuple(originals),
        nodata_rule=nodata_rule)


class PairSource:
    """Reads the LR and HR patch of a window: from two images, or degrading the HR one (Wald)."""

    def __init__(self, plan: ExtractionPlan):
        self.plan = plan
        self.hr = GdalSource(plan.hr_path)
        self.lr = None if plan.wald else GdalSource(plan.lr_path)
        self.margin = lr_margin(plan.ratio) if plan.wald else 0  # LR pixels the blur needs around a patch

    def has_nodata(self, window: Window) -> bool:
        rule = self.plan.nodata_rule
        if self.plan.wald:
            return holds_nodata(self._wald_hr(window)[1], self.plan.hr_nodata, rule)
        return (holds_nodata(self.lr.read(window), self.plan.lr_nodata, rule)
                or holds_nodata(self.hr.read(self.plan.geometry.hr_window(window)), self.plan.hr_nodata, rule))

    def read(self, window: Window) -> Tuple[np.ndarray, np.ndarray]:
        """(LR patch, HR patch) for a window inside both images."""
        if self.plan.wald:
            grown, _ = self._wald_hr(window)
            m, f = self.margin, self.plan.ratio
            lr = degrade(grown, f)[m:m + window.height, m:m + window.width]
            hr = grown[m * f:(m + window.height) * f, m * f:(m + window.width) * f]
            return lr, hr
        return self.lr.read(window), self.hr.read(self.plan.geometry.hr_window(window))

    def _wald_hr(self, window: Window) -> Tuple[np.ndarray, np.ndarray]:
        """The HR window grown by the blur margin, mirrored past the edges as degrade() does on the whole
        image ('symmetric' repeats the edge pixel, as scipy's 'reflect'), and its part inside the image."""
        f, lr = self.plan.ratio, self.plan.geometry.lr
        grown = window.grown(self.margin).scaled(f)
        # degrade() drops the HR rows/columns past a whole number of LR pixels: so do we.
        width, height = lr.width * f, lr.height * f
        inner = self.hr.read(grown.clip(width, height))
        return pad_to(inner, grown, width, height, mode="symmetric"), inner

    def close(self) -> None:
        self.hr.close()
        if self.lr is not None:
            self.lr.close()


@dataclass(frozen=True)
class ExtractReport:
    """What ``extract`` did: candidates, kept (train/val) and skipped patches per reason, files written."""

    candidates: int
    kept: int
    train: int
    val: int
    skipped: Dict[str, int]
    patch_size: int
    hr_patch_size: int
    ratio: int
    lr_bands: int
    hr_bands: int
    files: Tuple[str, ...]
    seconds: float = 0.0


@dataclass(frozen=True)
class _Output:
    """One part (all, train or val) of the extraction: its LR/HR paths and patch indices into ``kept``."""

    lr: str
    hr: str
    indices: Tuple[int, ...] = field(default=())


def output_paths(out_lr: str, out_hr: str, val_fraction: float) -> List[_Output]:
    """The LR/HR patches images written for ``out_lr``/``out_hr``: themselves, or *_train and *_val."""
    if val_fraction > 0:
        return [_Output(split_path(out_lr, part), split_path(out_hr, part)) for part in ("train", "val")]
    return [_Output(out_lr, out_hr)]


CENTRES_HEADER = "patch,x,y,col,row"


def check_outputs(plan: ExtractionPlan, out_lr: str, out_hr: str, val_fraction: float, overwrite: bool,
                  points: Optional[str] = None, others: Sequence[ExtractionPlan] = ()) -> None:
    """Every file ``extract`` writes, checked before any work against the inputs (of ``plan`` and ``others``:
    the scenes of the same extraction) and each other."""
    plans = [plan, *others]
    reads = [r for p in plans for info, flag in ((p.lr_info, "--lr"), (p.hr_info, "--hr")) if info is not None
             for r in raster_reads(info.files or (info.path,), flag)]
    if points:
        reads.append(Read(points, "--points"))
    reads += [Read(original, "input") for p in plans for original in p.originals]
    targets = []
    for out in output_paths(out_lr, out_hr, val_fraction):
        for path, flag in ((out.lr, "--out-lr"), (out.hr, "--out-hr")):
            targets.append(Target(path, flag, "patches image of sr4rs extract", raster_with_metadata("SR4RS_ROLE")))
            targets.append(Target(centres_path(path), flag, "centres CSV of sr4rs extract",
                                  csv_with_header(CENTRES_HEADER)))
    check_targets(targets, reads, overwrite)
    for target in targets:
        check_output_path(target.path, target.flag)


def extract(plan: ExtractionPlan, out_lr: str, out_hr: str, val_fraction: float = 0.0, seed: int = 0,
            encoding: str = "auto", overwrite: bool = False, progress: Optional[Progress] = None,
            cancel: Optional[CancelToken] = None,
            creation_options: Optional[Dict[str, str]] = None) -> ExtractReport:
    """Cut the patches of ``plan`` into LR/HR patches images (atomically: nothing is left on error or
    cancel). Patches outside either image or holding nodata (in either) are skipped and counted.
    ``val_fraction`` > 0 splits the kept patches at random (``seed``) into ``*_train`` and ``*_val``
    files. ``progress(n)`` advances by ``n`` of ``plan.work`` steps. ``creation_options`` (GDAL's, e.g.
    COMPRESS=DEFLATE for OTB builds without ZSTD) apply to both images, and an OTB extended filename's
    ``gdal:co:`` options to its own.
    """
    start = time.monotonic()
    names = {"lr": writer_name(out_lr, "--out-lr"), "hr": writer_name(out_hr, "--out-hr")}
    out_lr, out_hr = names["lr"].path, names["hr"].path
    options = {role: {**(creation_options or {}), **name.creation_options} for role, name in names.items()}
    val_fraction = check_val_fraction(val_fraction)
    lr_source_dtype = plan.hr_info.dtype if plan.wald else plan.lr_info.dtype
    dtypes = (resolve_encoding(encoding, lr_source_dtype), resolve_encoding(encoding, plan.hr_info.dtype))
    outputs = output_paths(out_lr, out_hr, val_fraction)
    check_outputs(plan, out_lr, out_hr, val_fraction, overwrite, plan.points)
    work = Work(progress, cancel)
    source = PairSource(plan)
    try:
        kept, skipped = scan(plan, source, work)
        if not kept:
            raise InputError(f"no patch kept out of {len(plan.windows)} ({skipped['outside']} outside an image, "
                             f"{skipped['nodata']} with nodata): choose points or a grid over valid pixels "
                             "of both images")
        train, val = split_indices(len(kept), val_fraction, seed)
        parts = [replace(outputs[0], indices=tuple(train))]
        if val_fraction > 0:
            parts.append(replace(outputs[1], indices=tuple(val)))
        files = _write(plan, source, kept, parts, dtypes, overwrite, work, options)
    finally:
        source.close()
    return ExtractReport(candidates=len(plan.windows), kept=len(kept), train=len(train), val=len(val),
                         skipped=skipped, patch_size=plan.patch_size, hr_patch_size=plan.hr_patch_size,
                         ratio=plan.ratio, lr_bands=plan.hr_info.count if plan.wald else plan.lr_info.count,
                         hr_bands=plan.hr_info.count, files=files, seconds=time.monotonic() - start)


def skip_reason(plan: ExtractionPlan, source: PairSource, index: int) -> Optional[str]:
    """Why window ``index`` is skipped (outside an image, nodata), or None: it is kept."""
    window = plan.windows[index]
    if not plan.geometry.is_inside(window):
        return "outside"
    return "nodata" if source.has_nodata(window) else None


def scan(plan: ExtractionPlan, source: PairSource, work: Work) -> Tuple[List[int], Dict[str, int]]:
    """Indices of the windows to keep, and the count skipped per reason."""
    kept, skipped = [], {"outside": 0, "nodata": 0}
    for i in range(len(plan.windows)):
        reason = skip_reason(plan, source, i)
        if reason:
            skipped[reason] += 1
        else:
            kept.append(i)
        work.advance(1)
    work.advance(len(plan.windows) - len(kept))  # skipped patches have nothing to write
    return kept, skipped


def _sink(path: str, plan: ExtractionPlan, role: str, count: int, dtype: np.dtype, overwrite: bool,
          creation_options: Dict[str, str], tags: Optional[Dict[str, str]] = None) -> GeoTiffSink:
    size = plan.patch_size if role == "lr" else plan.hr_patch_size
    info = plan.hr_info if plan.wald or role == "hr" else plan.lr_info
    nodata = plan.hr_nodata if plan.wald or role == "hr" else plan.lr_nodata
    source = (f"{os.path.basename(plan.hr_path)} degraded x{plan.ratio}" if plan.wald and role == "lr"
              else os.path.basename(info.path))
    spec = patches_spec(size, count, info.count, dtype, representable(nodata, dtype), info.descriptions,
                        info.color_interps, {"SR4RS_PATCH_SIZE": str(size), "SR4RS_PATCHES": str(count),
                                             "SR4RS_ROLE": role, "SR4RS_SOURCE": source,
                                             "SR4RS_RATIO": str(plan.ratio), **(tags or {})})
    return GeoTiffSink(path, spec, {**patches_creation_options(size), **creation_options}, overwrite=overwrite)


def _write(plan, source, kept, parts, dtypes, overwrite, work: Work, options) -> Tuple[str, ...]:
    return write_pairs(plan, [(part, [(plan, source, plan.windows[kept[i]]) for i in part.indices], {})
                              for part in parts], dtypes, overwrite, work, options)


def write_pairs(like: ExtractionPlan, parts, dtypes, overwrite, work: Work, options) -> Tuple[str, ...]:
    """Each part (its ``_Output``, its items: a plan, its ``PairSource`` and a window, and tags added to its
    images) into its LR/HR patches images and centres CSVs (made after ``like``: sizes, bands), all or nothing."""
    sinks: List[GeoTiffSink] = []
    csvs: List[StagedFile] = []
    committed: List[str] = []
    try:
        for part, items, tags in parts:
            lr_sink = _sink(part.lr, like, "lr", len(items), dtypes[0], overwrite, options["lr"], tags)
            sinks.append(lr_sink)
            hr_sink = _sink(part.hr, like, "hr", len(items), dtypes[1], overwrite, options["hr"], tags)
            sinks.append(hr_sink)
            rows = _write_part(items, lr_sink, hr_sink, dtypes, work)
            csvs.append(_write_centres(part.lr, rows["lr"], overwrite))
            csvs.append(_write_centres(part.hr, rows["hr"], overwrite))
        for sink in sinks:
            sink.commit()
            committed.append(sink.path)
        for csv in csvs:
            csv.commit()
            committed.append(csv.path)
        return tuple(committed)
    except BaseException:
        for sink in sinks:
            sink.abort()
        for csv in csvs:
            csv.abort()
        for path in committed:  # a later commit failed: take back what this run had put in place
            remove_quietly(path)
        raise


def _write_part(items, lr_sink, hr_sink, dtypes, work: Work) -> Dict[str, list]:
    rows = {"lr": [], "hr": []}
    for k, (plan, source, window) in enumerate(items):
        p, hp, g = plan.patch_size, plan.hr_patch_size, plan.geometry
        lr, hr = source.read(window)
        lr_sink.write(Window(0, k * p, p, p), cast_clipped(lr, dtypes[0]))
        hr_sink.write(Window(0, k * hp, hp, hp), cast_clipped(hr, dtypes[1]))
        hr_window = g.hr_window(window)
        rows["lr"].append((k, *window_centre(window, g.lr.geotransform), window.col_off, window.row_off))
        rows["hr"].append((k, *window_centre(hr_window, g.hr.geotransform), hr_window.col_off, hr_window.row_off))
        work.advance(1)
    return rows


def _write_centres(image_path: str, rows, overwrite: bool) -> StagedFile:
    """Write the centres CSV under a temporary name; the caller commits it with the images."""
    staged = StagedFile(centres_path(image_path), overwrite)
    try:
        with open(staged.tmp, "w", encoding="ascii") as f:
            f.write(CENTRES_HEADER + "\n")
            for k, x, y, col, row in rows:
                f.write(f"{k},{x!r},{y!r},{col},{row}\n")
    except OSError as err:
        staged.abort()
        raise OutputError(f"cannot write '{staged.path}' ({err.strerror}): check free space and permissions") from None
    return staged


def extract_patches(lr_path: Optional[str], hr_path: str, out_lr: str, out_hr: str, patch_size: int,
                    step: Optional[int] = None, points: Optional[str] = None, factor: Optional[int] = None,
                    val_fraction: float = 0.0, seed: int = 0, encoding: str = "auto",
                    nodata: Optional[float] = None, overwrite: bool = False,
                    progress: Optional[Progress] = None, cancel: Optional[CancelToken] = None) -> ExtractReport:
    """Plan and cut LR/HR patch pairs in one call (see ``plan_extraction`` and ``extract``).

    ``lr_path`` None with ``factor`` is Wald's protocol: the LR patches are the HR ones degraded.
    """
    plan = plan_extraction(lr_path, hr_path, patch_size, step=step, points=points, factor=factor, nodata=nodata)
    return extract(plan, out_lr, out_hr, val_fraction=val_fraction, seed=seed, encoding=encoding,
                   overwrite=overwrite, progress=progress, cancel=cancel)
