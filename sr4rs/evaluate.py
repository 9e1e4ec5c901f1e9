"""Measure super-resolution models against interpolation baselines (nearest, bilinear, bicubic, Lanczos)
on whole scenes, block by block: HR references given with their LR images, or degraded by Wald's protocol.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
from osgeo import gdal
from scipy.ndimage import maximum_filter

from . import metrics, raster
from .degrade import SIGMA_PER_FACTOR, degrade
from .engine import ApplyOptions, Progress, resolve_nodata, super_resolve
from .errors import InputError, ModelError, OutputError
from .metrics import ConsistencySums, Scores, ScoreSums, Shift
from .model import LoadedModel, load_model
from .patches_io import check_same_crs
from .windows import Window, pad_widths

# Baselines: name -> GDAL resampling algorithm.
BASELINES = {"nearest": "near", "bilinear": "bilinear", "bicubic": "cubic", "lanczos": "lanczos"}
DEFAULT_BORDER = 16  # HR pixels
# Side, in LR pixels, of the central window where the spatial consistency (phase correlation) is
# measured: FFTs of a whole scene would not fit in memory, and a 512-pixel window pins a shift to 0.01 px.
SHIFT_WINDOW = 512
_BLOCK_HR_PIXELS = 2_000_000  # HR pixels per statistics block: a few tens of MB per array
_PANEL_TILE = 256  # displayed pixels a panel tile has at least
JSON_NAME, CSV_NAME = "evaluation.json", "evaluation.csv"


@dataclass(frozen=True, eq=False)
class Method:
    """A row of the table: a model, or an upsampling of the LR image by GDAL."""

    name: str
    factor: int
    model: Optional[LoadedModel] = None
    resampling: Optional[str] = None  # GDAL's name, for baselines

    @property
    def kind(self) -> str:
        return "model" if self.model is not None else "baseline"


@dataclass(frozen=True)
class Scene:
    """One HR reference at one scale factor, with its LR image (None: made by Wald's protocol);
    or, without a reference (``hr`` None), an LR image alone, for the consistency figures."""

    name: str
    hr: Optional[raster.RasterInfo]
    lr: Optional[raster.RasterInfo]
    factor: int
    nodata: Optional[float]
    lr_width: int
    lr_height: int

    @property
    def image(self) -> raster.RasterInfo:
        """The image the scene is named after: the reference, else the LR image."""
        return self.hr if self.hr is not None else self.lr

    @property
    def count(self) -> int:
        return self.image.count

    @property
    def width(self) -> int:  # the HR extent compared: what the LR image covers
        return self.lr_width * self.factor

    @property
    def height(self) -> int:
        return self.lr_height * self.factor


@dataclass(frozen=True, eq=False)
class EvaluationPlan:
    """Everything checked and resolved before computing."""

    scenes: Tuple[Scene, ...]
    methods: Tuple[Method, ...]
    bands: Tuple[str, ...]
    border: int
    data_range: Optional[np.ndarray]  # None: measured on the references
    apply_options: ApplyOptions
    panel_window: Optional[Tuple[int, int, int]]
    block_rows: Optional[int]
    wald: bool
    work: int  # progress units (LR pixels) the run reports
    reference: bool = True  # False: LR images alone, consistency figures only


@dataclass(frozen=True)
class MethodResult:
    name: str
    kind: str
    factor: int
    scores: Scores
    consistency: metrics.Consistency


@dataclass(frozen=True)
class SceneResult:
    name: str
    hr: Optional[str]  # None: no reference
    lr: Optional[str]  # None: Wald's protocol
    factor: int
    methods: Tuple[MethodResult, ...]


@dataclass(frozen=True)
class Evaluation:
    """Figures per method pooled over the scenes, and per scene. Paths are None when not written."""

    methods: Tuple[MethodResult, ...]
    scenes: Tuple[SceneResult, ...]
    bands: Tuple[str, ...]
    data_range: Tuple[float, ...]
    border: int
    wald: bool
    json_path: Optional[str] = None
    csv_path: Optional[str] = None
    panels: Tuple[str, ...] = ()
    reference: bool = True  # False: consistency figures only (the reference columns are empty)

    def method(self, name: str) -> MethodResult:
        for m in self.methods:
            if m.name == name:
                return m
        raise KeyError(f"no method '{name}' (there are: {', '.join(m.name for m in self.methods)})")

    def to_dict(self) -> dict:
        return {
            "protocol": "wald" if self.wald else "pairs" if self.reference else "consistency",
            "border": self.border, "bands": list(self.bands),
            "data_range": [_number(v) for v in self.data_range],
            "methods": [_method_dict(m, self.bands) for m in self.methods],
            "scenes": [{"name": s.name, "hr": s.hr, "lr": s.lr, "factor": s.factor,
                        "methods": [_method_dict(m, self.bands) for m in s.methods]} for s in self.scenes],
        }


# --------------------------------------------------------------------------- planning


def _load_models(models, factor: Optional[int]) -> List[LoadedModel]:
    if models is None:
        from .api import default_model_path

        models = [default_model_path()]
    return [m if isinstance(m, LoadedModel) else load_model(m, scale=factor) for m in models]


def _pair_factor(hr: raster.RasterInfo, lr: raster.RasterInfo) -> int:
    """The factor relating a true pair: the LR image covers HR's first (LR size x factor) pixels."""
    factor = max(1, round(hr.width / lr.width))
    if hr.width // factor != lr.width or hr.height // factor != lr.height or factor < 2:
        raise InputError(f"HR '{hr.path}' ({hr.width} x {hr.height}) is not 2 or more times the size of LR "
                         f"'{lr.path}' ({lr.width} x {lr.height}): give pairs covering the same ground")
    if hr.count != lr.count:
        raise InputError(f"HR '{hr.path}' has {hr.count} band(s) but LR '{lr.path}' {lr.count}: "
                         "give the same bands in the same order")
    check_same_crs(lr, hr)
    if bool(hr.geotransform) != bool(lr.geotransform):
        has, lacks = (hr, lr) if hr.geotransform else (lr, hr)
        raise InputError(f"'{has.path}' is georeferenced but '{lacks.path}' is not: give both images a "
                         "georeferencing (gdal_edit.py -a_ullr -a_srs), or neither")
    if hr.geotransform and lr.geotransform:
        (hx, hdx, _, hy, _, hdy), (lx, ldx, _, ly, _, ldy) = hr.geotransform, lr.geotransform
        if max(abs(hx - lx) / abs(hdx), abs(hy - ly) / abs(hdy)) > 0.5:
            raise InputError(f"HR '{hr.path}' and LR '{lr.path}' origins differ by ({hx - lx:g}, {hy - ly:g}) "
                             "map units: give co-registered pairs with the same upper-left corner")
        if abs(ldx / hdx - factor) > 0.01 * factor or abs(ldy / hdy - factor) > 0.01 * factor:
            raise InputError(f"LR '{lr.path}' pixels ({ldx:g}) are not {factor} times HR '{hr.path}' pixels "
                             f"({hdx:g}): give pairs whose pixel sizes match their sizes")
    return factor


def _unique(names: Sequence[str]) -> List[str]:
    seen: Dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return out


def _check_panel_window(window, scene: Scene) -> None:
    if window is None:
        return
    col, row, size = window
    if size < 1 or col < 0 or row < 0 or col + size > scene.lr_width or row + size > scene.lr_height:
        raise InputError(f"--panel-window {col} {row} {size} does not fit in the LR image of '{scene.image.path}' "
                         f"({scene.lr_width} x {scene.lr_height} pixels): choose col + size <= {scene.lr_width} "
                         f"and row + size <= {scene.lr_height}")


def _methods(factors: Sequence[int], models: Sequence[LoadedModel], baselines: Sequence[str]) -> Tuple[Method, ...]:
    suffix = len(factors) > 1  # "bicubic x2", "bicubic x4" when several factors share the table
    rows = []
    for f in factors:
        rows += [(f"{b} x{f}" if suffix else b, f, None, BASELINES[b]) for b in baselines]
        rows += [(os.path.basename(os.path.normpath(m.path)), f, m, None) for m in models if m.scale == f]
    names = _unique([r[0] for r in rows])  # two models in folders of the same name stay apart
    return tuple(Method(n, f, model=m, resampling=r) for n, (_, f, m, r) in zip(names, rows))


def check_inputs(hr_paths: Sequence[str], lr_paths: Optional[Sequence[str]] = None, *,
                 border: int = DEFAULT_BORDER, block_rows: Optional[int] = None,
                 baselines: Sequence[str] = tuple(BASELINES)):
    """The checks that need no model (cheap: a CLI runs them before importing TensorFlow).
    Returns the HR and LR descriptions and each pair's factor."""
    hr_paths, lr_paths = list(hr_paths or []), list(lr_paths or [])
    if not hr_paths and not lr_paths:
        raise InputError("no image given: pass --hr references (with their --lr images or not), or --lr images "
                         "alone for the consistency figures")
    if hr_paths and lr_paths and len(lr_paths) != len(hr_paths):
        raise InputError(f"{len(hr_paths)} --hr image(s) but {len(lr_paths)} --lr image(s): give one --lr per "
                         "--hr in the same order, or no --lr to degrade the HR images (Wald's protocol)")
    if border < 0:
        raise InputError(f"--border {border} must be 0 or more HR pixels")
    if block_rows is not None and block_rows < 1:
        raise InputError(f"block_rows {block_rows} must be at least 1")
    unknown = [b for b in baselines if b not in BASELINES]
    if unknown:
        raise InputError(f"unknown baseline(s) {', '.join(unknown)}: choose among {', '.join(BASELINES)}")
    his = [raster.read_info(p) for p in hr_paths]
    lis = [raster.read_info(p) for p in lr_paths]
    images = his or lis
    if len({i.count for i in images}) > 1:
        raise InputError(f"the {'HR' if his else 'LR'} images have {', '.join(str(i.count) for i in images)} bands: "
                         "give images with the same bands, or evaluate them separately")
    pair_factors = [_pair_factor(h, l) for h, l in zip(his, lis)]
    return his, lis, pair_factors


def plan_evaluation(models: Optional[Sequence[Union[str, LoadedModel]]], hr_paths: Sequence[str],
                    lr_paths: Optional[Sequence[str]] = None, *, factor: Optional[int] = None,
                    nodata: Optional[float] = None, border: int = DEFAULT_BORDER,
                    tile_size: Optional[int] = None, pad: Optional[int] = None,
                    panel_window: Optional[Tuple[int, int, int]] = None, data_range=None,
                    baselines: Sequence[str] = tuple(BASELINES), block_rows: Optional[int] = None) -> EvaluationPlan:
    """Check the inputs (before loading any model) and resolve scenes, factors and methods.

    ``models``: SavedModel paths or loaded models; None: the bundled model; empty: baselines only
    (then ``factor`` is required). ``factor`` is also the scale of models without metadata.
    """
    his, lis, pair_factors = check_inputs(hr_paths, lr_paths, border=border, block_rows=block_rows,
                                          baselines=baselines)
    reference = bool(his)
    count = (his or lis)[0].count
    if not reference and data_range is not None:
        raise InputError("--data-range sets the peak of PSNR and SSIM, which need --hr references: drop it")
    if factor is not None and factor < 2:
        raise InputError(f"scale factor {factor} must be 2 or more")
    loaded = _load_models(models, factor)
    if not loaded and factor is None and not pair_factors:
        raise InputError("no model given: give --savedmodel, or the scale factor of the baselines")
    for m in loaded:
        nbands = m.input_bands or len(m.metadata.input_bands)
        outputs = len(m.metadata.output_bands) if m.has_metadata else count
        if nbands and nbands != count or outputs != count:
            bands = ", ".join(m.metadata.input_bands)
            raise ModelError(f"model '{m.path}' maps {nbands} band(s) to {outputs} but the images have "
                             f"{count}: give images with the model's bands ({bands})")
        if pair_factors and any(f != m.scale for f in pair_factors):
            raise ModelError(f"model '{m.path}' is x{m.scale} but the pairs are x{', x'.join(map(str, pair_factors))}: "
                             "give pairs at the model's scale, or no --lr (Wald's protocol)")
    if factor is not None and any(f != factor for f in pair_factors):
        raise InputError(f"scale factor {factor} contradicts the pairs' sizes (x{', x'.join(map(str, pair_factors))}): "
                         "drop the factor or give pairs at that scale")
    factors = sorted({m.scale for m in loaded} or set(pair_factors) or {factor})
    model_nodata = next((m.metadata.nodata for m in loaded if m.metadata.nodata is not None), None)
    stems = _unique([os.path.splitext(os.path.basename(p))[0] for p in (hr_paths if reference else lr_paths)])
    scenes = []
    for stem, lr in zip(stems, [] if reference else lis):  # LR images alone
        for f in factors:
            scene = Scene(f"{stem}_x{f}" if len(factors) > 1 else stem, None, lr, f,
                          resolve_nodata(lr.nodata, nodata, model_nodata), lr.width, lr.height)
            if min(lr.width, lr.height) <= 2 * -(-border // f):
                raise InputError(f"--border {border} leaves no pixel of LR '{lr.path}' ({lr.width} x {lr.height}) "
                                 f"to compare at x{f}: lower --border or give a larger image")
            _check_panel_window(panel_window, scene)
            scenes.append(scene)
    for i, (stem, hr) in enumerate(zip(stems, his)):
        for f in ([pair_factors[i]] if lis else factors):  # a pair has its own factor
            lr = lis[i] if lis else None
            name = f"{stem}_x{f}" if len(factors) > 1 else stem
            scene = Scene(name, hr, lr, f, resolve_nodata(hr.nodata, nodata, model_nodata),
                          lr.width if lr else hr.width // f, lr.height if lr else hr.height // f)
            if min(scene.width, scene.height) <= 2 * border:
                raise InputError(f"--border {border} leaves no pixel of HR '{hr.path}' ({hr.width} x {hr.height}) "
                                 f"to compare at x{f}: lower --border or give a larger image")
            _check_panel_window(panel_window, scene)
            scenes.append(scene)
    methods = _methods(sorted({s.factor for s in scenes}), loaded, baselines)
    peaks = None
    if data_range is not None:
        peaks = np.asarray(data_range, float) * np.ones(count) if np.ndim(data_range) == 0 \
            else np.asarray(data_range, float)
        if peaks.shape != (count,) or not np.all(peaks > 0):
            raise InputError(f"--data-range {data_range!r} must be one positive number or one per band "
                             f"({count})")
    options = ApplyOptions(tile_size=tile_size, pad=pad, nodata=nodata, encoding="float32", overwrite=True)
    # Progress in LR pixels: the Wald LR, then each method's output and its statistics.
    work = sum(s.lr_width * s.lr_height * ((s.lr is None) + 2 * sum(m.factor == s.factor for m in methods))
               for s in scenes)
    first = (his or lis)[0]
    names = first.descriptions if all(first.descriptions) else tuple(f"band{i + 1}" for i in range(count))
    return EvaluationPlan(tuple(scenes), methods, tuple(names), border, peaks, options, panel_window,
                          block_rows, reference and not lis, work, reference)


# --------------------------------------------------------------------------- images


def _coarser_geotransform(gt, factor: int):
    x0, dx, rx, y0, ry, dy = gt
    return (x0, dx * factor, rx * factor, y0, ry * factor, dy * factor)


def _row_blocks(height: int, width: int, factor: int, rows: Optional[int]) -> Iterator[Tuple[int, int]]:
    """LR row ranges whose HR strips hold about _BLOCK_HR_PIXELS pixels."""
    rows = rows or max(1, _BLOCK_HR_PIXELS // max(1, width * factor * factor))
    for r0 in range(0, height, rows):
        yield r0, min(r0 + rows, height)


def write_wald_lr(scene: Scene, path: str, block_rows: Optional[int] = None,
                  progress: Optional[Progress] = None) -> str:
    """Degrade ``scene.hr`` by ``scene.factor`` (``sr4rs.degrade.degrade``) into a float32 GeoTIFF with
    pixels ``factor`` times larger and the same origin, strip by strip.

    Each strip is read with a halo of at least the Gaussian's reach, so the result equals degrading
    the whole image. LR pixels whose blur reaches a nodata HR pixel become nodata: they would mix fill in.
    """
    f, hr = scene.factor, scene.hr
    reach = int(4.0 * f * SIGMA_PER_FACTOR + 0.5)  # scipy's Gaussian radius (truncate 4)
    halo = -(-reach // f) * f  # whole LR rows, so that blocks stay aligned
    writer = raster.AtomicWriter(
        path, scene.lr_width, scene.lr_height, hr.count, np.float32,
        geotransform=_coarser_geotransform(hr.geotransform, f) if hr.geotransform else None,
        projection=hr.projection, nodata=scene.nodata, descriptions=hr.descriptions,
        color_interps=hr.color_interps, overwrite=True)
    reader = raster.Reader(hr.path)
    try:
        for r0, r1 in _row_blocks(scene.lr_height, scene.lr_width, f, block_rows):
            y0, y1 = max(r0 * f - halo, 0), min(r1 * f + halo, scene.height)
            strip = reader.read(Window(0, y0, scene.width, y1 - y0))
            skip = (r0 * f - y0) // f
            lr = degrade(strip, f)[skip:skip + r1 - r0]
            if scene.nodata is not None:
                near = maximum_filter(~metrics.valid_pixels(strip, scene.nodata), size=2 * reach + 1,
                                      mode="constant", cval=False)
                hole = near.reshape(near.shape[0] // f, f, -1, f).any(axis=(1, 3))[skip:skip + r1 - r0]
                lr[hole] = scene.nodata
            writer.write(Window(0, r0, scene.lr_width, r1 - r0), lr)
            if progress is not None:
                progress((r1 - r0) * scene.lr_width)
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    finally:
        reader.close()
    return path


def upsample(lr_path: str, out_path: str, factor: int, resampling: str,
             progress: Optional[Progress] = None) -> str:
    """``lr_path`` enlarged ``factor`` times by GDAL (``near``, ``bilinear``, ``cubic``, ``lanczos``), float32.
    ``progress`` gets the LR pixels done, as for ``super_resolve``."""
    ds = gdal.Open(lr_path)
    total, reported = ds.RasterXSize * ds.RasterYSize, 0

    def callback(fraction, *_):
        nonlocal reported
        done = int(min(max(fraction, 0.0), 1.0) * total)
        if progress is not None and done > reported:
            progress(done - reported)
            reported = done
        return 1  # go on

    try:
        gdal.Translate(out_path, ds, width=ds.RasterXSize * factor, height=ds.RasterYSize * factor,
                       resampleAlg=resampling, outputType=gdal.GDT_Float32,
                       creationOptions=["TILED=YES", "BIGTIFF=IF_SAFER"], callback=callback)
        callback(1.0)
    except RuntimeError as err:
        raise OutputError(f"cannot write '{out_path}' ({str(err).strip().splitlines()[0]}): "
                          "check the free space of the output folder") from None
    return out_path


# --------------------------------------------------------------------------- statistics


def _read_halo(reader: raster.Reader, window: Window, width: int, height: int) -> Tuple[np.ndarray, np.ndarray]:
    """``window`` of the first ``width`` x ``height`` pixels, edge-padded where it passes them,
    and the (H, W) mask of the pixels that are inside."""
    inner = window.clip(width, height)
    arr = reader.read(inner)
    (top, bottom), (left, right) = pad_widths(window, width, height)
    inside = np.zeros((window.height, window.width), bool)
    inside[top:top + inner.height, left:left + inner.width] = True
    if top or bottom or left or right:
        arr = np.pad(arr, ((top, bottom), (left, right), (0, 0)), mode="edge")
    return arr, inside


@dataclass(frozen=True, eq=False)
class _Block:
    """One LR window of a scene and its HR counterpart grown by a halo of context."""

    hr: np.ndarray  # with halo
    mask: np.ndarray  # evaluation mask, False in the halo
    ssim_mask: np.ndarray  # False in the halo
    core: Tuple[slice, slice]  # the window inside the halo'd arrays
    lr: np.ndarray  # the LR window
    lr_mask: np.ndarray  # LR pixels whose HR pixels all count


class _SceneReader:
    """Reads aligned blocks of a scene's HR reference, LR image and method outputs."""

    def __init__(self, scene: Scene, lr_path: str, border: int):
        self.scene, self.border = scene, border
        self.halo = border + metrics.SSIM_RADIUS  # the mask needs +border, SSIM windows +radius more
        self.hr = raster.Reader(scene.hr.path)
        self.lr = raster.Reader(lr_path)
        lr_nodata = raster.read_info(lr_path).nodata
        self.lr_nodata = scene.nodata if lr_nodata is None else lr_nodata

    def close(self):
        self.hr.close()
        self.lr.close()

    def hr_window(self, lr_window: Window) -> Window:
        h = self.halo
        w = lr_window.scaled(self.scene.factor)
        return Window(w.col_off - h, w.row_off - h, w.width + 2 * h, w.height + 2 * h)

    def block(self, lr_window: Window) -> _Block:
        s, f, h = self.scene, self.scene.factor, self.halo
        grown = self.hr_window(lr_window)
        hr, inside = _read_halo(self.hr, grown, s.width, s.height)
        g = -(-h // f)  # LR pixels covering the halo
        lr_grown = Window(lr_window.col_off - g, lr_window.row_off - g, lr_window.width + 2 * g,
                          lr_window.height + 2 * g)
        lr, lr_inside = _read_halo(self.lr, lr_grown, s.lr_width, s.lr_height)
        lr_valid = metrics.valid_pixels(lr, self.lr_nodata) & lr_inside
        up = np.repeat(np.repeat(lr_valid, f, axis=0), f, axis=1)[g * f - h:, g * f - h:][:hr.shape[0], :hr.shape[1]]
        mask = metrics.evaluation_mask(inside & metrics.valid_pixels(hr, s.nodata) & up, self.border)
        core = (slice(h, h + lr_window.height * f), slice(h, h + lr_window.width * f))
        ssim = metrics.ssim_mask(mask)
        kept, kept_ssim = np.zeros_like(mask), np.zeros_like(mask)
        kept[core], kept_ssim[core] = mask[core], ssim[core]
        lr_core = lr[g:g + lr_window.height, g:g + lr_window.width]
        lr_mask = mask[core].reshape(lr_window.height, f, lr_window.width, f).all(axis=(1, 3))
        return _Block(hr, kept, kept_ssim, core, lr_core, lr_mask)

    def output(self, reader: raster.Reader, lr_window: Window) -> np.ndarray:
        return _read_halo(reader, self.hr_window(lr_window), self.scene.width, self.scene.height)[0]


def measure_data_range(scenes: Sequence[Scene], block_rows: Optional[int] = None) -> np.ndarray:
    """Per band, max - min of the references' valid pixels over all scenes (a constant band: 1)."""
    lo = hi = None
    for path, nodata in {(s.hr.path, s.nodata) for s in scenes}:
        info = raster.read_info(path)
        reader = raster.Reader(path)
        try:
            for r0, r1 in _row_blocks(info.height, info.width, 1, block_rows):
                strip = reader.read(Window(0, r0, info.width, r1 - r0))
                values = strip[metrics.valid_pixels(strip, nodata)].astype(np.float64)
                if len(values):
                    lo = values.min(axis=0) if lo is None else np.minimum(lo, values.min(axis=0))
                    hi = values.max(axis=0) if hi is None else np.maximum(hi, values.max(axis=0))
        finally:
            reader.close()
    if lo is None:
        raise InputError(f"the HR image(s) {', '.join(s.hr.path for s in scenes)} hold no valid pixel: "
                         "check --nodata")
    span = hi - lo
    return np.where(span > 0, span, 1.0)


def _central_window(scene: Scene) -> Window:
    w, h = min(scene.lr_width, SHIFT_WINDOW), min(scene.lr_height, SHIFT_WINDOW)
    return Window((scene.lr_width - w) // 2, (scene.lr_height - h) // 2, w, h)


def score_scene(scene: Scene, lr_path: str, outputs: Dict[str, str], peaks: np.ndarray, border: int,
                block_rows: Optional[int] = None, progress: Optional[Progress] = None
                ) -> Dict[str, Tuple[ScoreSums, ConsistencySums, Shift]]:
    """Sums of every output (name -> path) against the reference and the LR image, block by block,
    and each output's shift on the central window."""
    nbands = scene.hr.count
    sums = {name: (ScoreSums.empty(nbands), ConsistencySums.empty(nbands)) for name in outputs}
    scene_reader = _SceneReader(scene, lr_path, border)
    readers = {name: raster.Reader(path) for name, path in outputs.items()}
    try:
        for r0, r1 in _row_blocks(scene.lr_height, scene.lr_width, scene.factor, block_rows):
            window = Window(0, r0, scene.lr_width, r1 - r0)
            block = scene_reader.block(window)
            for name, reader in readers.items():
                out = scene_reader.output(reader, window)
                scores, cons = sums[name]
                sums[name] = (scores + ScoreSums.of_block(block.hr, out, block.mask, peaks, block.ssim_mask),
                              cons + ConsistencySums.of_block(out[block.core], block.lr, scene.factor, block.lr_mask))
            if progress is not None:
                progress(window.width * window.height)
        centre = _central_window(scene)
        block = scene_reader.block(centre)
        shifts = {name: metrics.spatial_consistency(scene_reader.output(reader, centre)[block.core], block.lr,
                                                    scene.factor, block.lr_mask)
                  for name, reader in readers.items()}
    finally:
        scene_reader.close()
        for reader in readers.values():
            reader.close()
    return {name: (sums[name][0], sums[name][1], shifts[name]) for name in outputs}


def _lr_block(reader: raster.Reader, scene: Scene, window: Window, border: int) -> Tuple[np.ndarray, np.ndarray]:
    """The LR ``window`` and its mask: valid pixels at least ``border`` LR pixels from nodata and the edges."""
    g = border
    grown = Window(window.col_off - g, window.row_off - g, window.width + 2 * g, window.height + 2 * g)
    lr, inside = _read_halo(reader, grown, scene.lr_width, scene.lr_height)
    mask = metrics.evaluation_mask(metrics.valid_pixels(lr, scene.nodata) & inside, g)
    core = (slice(g, g + window.height), slice(g, g + window.width))
    return lr[core], mask[core]


def score_consistency(scene: Scene, lr_path: str, outputs: Dict[str, str], border: int,
                      block_rows: Optional[int] = None, progress: Optional[Progress] = None
                      ) -> Dict[str, Tuple[ScoreSums, ConsistencySums, Shift]]:
    """Without a reference: each output (name -> path) against the LR image only, block by block, and its
    shift on the central window. ``border`` is in HR pixels, as for ``score_scene``."""
    f, nbands = scene.factor, scene.count
    g = -(-border // f)  # the same LR pixels as the HR border of score_scene leaves out
    sums = {name: ConsistencySums.empty(nbands) for name in outputs}
    lr_reader = raster.Reader(lr_path)
    readers = {name: raster.Reader(path) for name, path in outputs.items()}
    try:
        for r0, r1 in _row_blocks(scene.lr_height, scene.lr_width, f, block_rows):
            window = Window(0, r0, scene.lr_width, r1 - r0)
            lr, mask = _lr_block(lr_reader, scene, window, g)
            for name, reader in readers.items():
                sums[name] = sums[name] + ConsistencySums.of_block(reader.read(window.scaled(f)), lr, f, mask)
            if progress is not None:
                progress(window.width * window.height)
        centre = _central_window(scene)
        lr, mask = _lr_block(lr_reader, scene, centre, g)
        shifts = {name: metrics.spatial_consistency(reader.read(centre.scaled(f)), lr, f, mask)
                  for name, reader in readers.items()}
    finally:
        lr_reader.close()
        for reader in readers.values():
            reader.close()
    return {name: (ScoreSums.empty(nbands), sums[name], shifts[name]) for name in outputs}


def _mean_shift(shifts: Sequence[Shift]) -> Shift:
    """Scenes' shifts averaged (NaN where none could be measured)."""
    arr = np.array([(s.magnitude, s.dy, s.dx) for s in shifts], float)
    arr = arr[np.isfinite(arr).all(axis=1)]
    if not len(arr):
        return Shift(math.nan, math.nan, math.nan)
    return Shift(*(float(v) for v in arr.mean(axis=0)))


# --------------------------------------------------------------------------- outputs


def _stretch(tile: np.ndarray, lo: np.ndarray, hi: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """To 1-255 with a shared stretch; 0 (black) where there is no data."""
    out = np.clip((tile - lo) / np.maximum(hi - lo, 1e-6) * 254 + 1, 1, 255).astype(np.uint8)
    out[~valid] = 0
    return out


def _panel_windows(scene: Scene, window: Optional[Tuple[int, int, int]]) -> Tuple[Window, Window]:
    """The panel's LR and HR windows: ``window`` (col, row, size in LR pixels), default the centre."""
    f = scene.factor
    if window is None:
        size = min(scene.lr_width, scene.lr_height, max(32, _PANEL_TILE // f))
        window = ((scene.lr_width - size) // 2, (scene.lr_height - size) // 2, size)
    col, row, size = window
    return Window(col, row, size, size), Window(col * f, row * f, size * f, size * f)


def _panel_bands(scene: Scene) -> List[int]:
    return list(range(3)) if scene.count >= 3 else [0]


def panel_crop(scene: Scene, path: str, window: Optional[Tuple[int, int, int]] = None,
               hr_grid: bool = True) -> Tuple[np.ndarray, np.ndarray]:
    """The panel's window of ``path`` (an output on the HR grid, or with ``hr_grid=False`` the LR
    image): displayed bands as float64, and where they hold data."""
    lr_win, hr_win = _panel_windows(scene, window)
    reader = raster.Reader(path)
    try:
        tile = reader.read(hr_win if hr_grid else lr_win).astype(np.float64)[..., _panel_bands(scene)]
    finally:
        reader.close()
    tag = raster.read_info(path).nodata
    return tile, metrics.valid_pixels(tile, scene.nodata if tag is None else tag)


def write_panel(scene: Scene, lr_path: str, outputs: Sequence[Tuple[str, np.ndarray, np.ndarray]], png: str,
                window: Optional[Tuple[int, int, int]] = None) -> str:
    """A PNG of the LR image (nearest), each output and the HR reference (if any) side by side on
    ``window`` (col, row, size in LR pixels; default: the centre), with one 2-98 percentile stretch per
    band taken from the reference (else the LR image) and shared by all tiles. Bands 1-3 as RGB (or band 1 in grey). ``outputs`` are
    (label, tile, valid) as ``panel_crop`` reads them, so that the outputs need not be kept on disk."""
    from PIL import Image, ImageDraw

    f = scene.factor
    size = _panel_windows(scene, window)[0].width
    lr, lr_valid = panel_crop(scene, lr_path, window, hr_grid=False)
    tiles = [(f"LR (x{f} nearest)", np.repeat(np.repeat(lr, f, 0), f, 1),
              np.repeat(np.repeat(lr_valid, f, 0), f, 1))]
    tiles += list(outputs)
    if scene.hr is not None:
        tiles.append(("HR reference", *panel_crop(scene, scene.hr.path, window)))
    _, ref, ref_valid = tiles[-1] if scene.hr is not None else tiles[0]  # the stretch: the reference's, else LR's
    values = ref[ref_valid] if ref_valid.any() else ref.reshape(-1, ref.shape[-1])
    lo, hi = np.percentile(values, 2, axis=0), np.percentile(values, 98, axis=0)
    zoom = max(1, math.ceil(_PANEL_TILE / (size * f)))
    side, label_h, gap = size * f * zoom, 18, 4
    canvas = Image.new("RGB", (len(tiles) * (side + gap) - gap, side + label_h), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for i, (label, tile, valid) in enumerate(tiles):
        rgb = _stretch(tile, lo, hi, valid)
        rgb = np.repeat(np.repeat(rgb, zoom, 0), zoom, 1)
        image = Image.fromarray(rgb[..., 0] if rgb.shape[-1] == 1 else rgb, "L" if rgb.shape[-1] == 1 else "RGB")
        x = i * (side + gap)
        canvas.paste(image, (x, label_h))
        draw.text((x + 3, 3), label, fill=(0, 0, 0))
    tmp = png + ".partial.png"
    try:
        canvas.save(tmp, format="PNG")
        os.replace(tmp, png)
    except OSError as err:
        raise OutputError(f"cannot write panel '{png}' ({err}): check the --out folder") from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return png


def _number(value):
    """JSON has no infinity or NaN: inf becomes "inf" (identical images), NaN null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def _method_dict(m: MethodResult, bands: Sequence[str]) -> dict:
    s, c = m.scores, m.consistency
    return {
        "name": m.name, "kind": m.kind, "factor": m.factor, "pixels": s.pixels,
        "psnr": _number(s.psnr.overall), "ssim": _number(s.ssim.overall), "rmse": _number(s.rmse.overall),
        "sam": _number(s.sam), "ergas": _number(s.ergas), "reflectance": _number(c.reflectance.overall),
        "spectral": _number(c.spectral), "spatial": _number(c.spatial.magnitude),
        "spatial_dy": _number(c.spatial.dy), "spatial_dx": _number(c.spatial.dx), "lr_pixels": c.pixels,
        "bands": [{"band": name, "psnr": _number(s.psnr.bands[i]), "ssim": _number(s.ssim.bands[i]),
                   "rmse": _number(s.rmse.bands[i]), "reflectance": _number(c.reflectance.bands[i])}
                  for i, name in enumerate(bands)],
    }


CSV_COLUMNS = ("scene", "method", "kind", "factor", "band", "psnr", "ssim", "rmse", "sam", "ergas",
               "reflectance", "spectral", "spatial", "spatial_dy", "spatial_dx", "pixels")


def _csv_rows(scope: str, m: MethodResult, bands: Sequence[str]) -> Iterator[dict]:
    s, c = m.scores, m.consistency
    base = {"scene": scope, "method": m.name, "kind": m.kind, "factor": m.factor, "pixels": s.pixels}
    yield dict(base, band="all", psnr=s.psnr.overall, ssim=s.ssim.overall, rmse=s.rmse.overall, sam=s.sam,
               ergas=s.ergas, reflectance=c.reflectance.overall, spectral=c.spectral,
               spatial=c.spatial.magnitude, spatial_dy=c.spatial.dy, spatial_dx=c.spatial.dx)
    for i, name in enumerate(bands):
        yield dict(base, band=name, psnr=s.psnr.bands[i], ssim=s.ssim.bands[i], rmse=s.rmse.bands[i],
                   reflectance=c.reflectance.bands[i])


def _write_atomic(path: str, text: str) -> None:
    tmp = path + ".partial"
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as err:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise OutputError(f"cannot write '{path}' ({err.strerror}): check the --out folder") from None


def write_reports(evaluation: Evaluation, json_path: str, csv_path: str) -> None:
    """JSON (``Evaluation.to_dict``) and CSV (one row per scope, method and band; scope "all" pools the scenes)."""
    _write_atomic(json_path, json.dumps(evaluation.to_dict(), indent=2) + "\n")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, restval="", lineterminator="\n")
    writer.writeheader()
    scopes = [("all", evaluation.methods)]
    if len(evaluation.scenes) > 1:
        scopes += [(s.name, s.methods) for s in evaluation.scenes]
    for scope, methods in scopes:
        for m in methods:
            writer.writerows(_csv_rows(scope, m, evaluation.bands))
    _write_atomic(csv_path, buffer.getvalue())


def format_table(evaluation: Evaluation) -> str:
    """The pooled figures, one row per method, for the terminal."""
    header = (f"{'method':<18} {'PSNR dB':>8} {'SSIM':>7} {'RMSE':>9} {'SAM °':>7} {'ERGAS':>7} | "
              f"{'refl.':>9} {'spec. °':>8} {'shift px':>8}")
    if not evaluation.reference:
        header = f"{'method':<18} {'refl.':>9} {'spec. °':>8} {'shift px':>8}"
    lines = [header, "-" * len(header)]
    for m in evaluation.methods:
        s, c = m.scores, m.consistency
        figures = "" if not evaluation.reference else (
            f" {s.psnr.overall:>8.2f} {s.ssim.overall:>7.4f} {s.rmse.overall:>9.4g} {s.sam:>7.3f} {s.ergas:>7.3f} |")
        lines.append(f"{m.name:<18.18}{figures} {c.reflectance.overall:>9.4g} {c.spectral:>8.3f} "
                     f"{c.spatial.magnitude:>8.3f}")
    images = len({s.hr or s.lr for s in evaluation.scenes})
    if not evaluation.reference:
        pixels = evaluation.methods[0].consistency.pixels if evaluation.methods else 0
        lines.append(f"no reference: consistency with the LR image only; {images} image(s), {pixels} LR pixels "
                     f"compared (nodata and a {evaluation.border}-HR-pixel border excluded); "
                     "SR averaged back to the LR grid vs LR")
        return "\n".join(lines)
    pixels = evaluation.methods[0].scores.pixels if evaluation.methods else 0
    protocol = "Wald's protocol (LR = degraded HR)" if evaluation.wald else "true LR/HR pairs"
    lines.append(f"{protocol}; {images} image(s), {pixels} HR pixels compared "
                 f"(nodata and a {evaluation.border}-pixel border excluded); "
                 "consistency: SR averaged back to the LR grid vs LR")
    return "\n".join(lines)


# --------------------------------------------------------------------------- running


def _output_paths(plan: EvaluationPlan, out_dir: str) -> Tuple[str, str, Dict[str, str]]:
    panels = {s.name: os.path.join(out_dir, "panel.png" if len(plan.scenes) == 1 else f"panel_{s.name}.png")
              for s in plan.scenes}
    return os.path.join(out_dir, JSON_NAME), os.path.join(out_dir, CSV_NAME), panels


def check_out_dir(out_dir: str, overwrite: bool) -> None:
    """Refuse a file as --out, or existing reports without ``overwrite``: before loading any model."""
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise OutputError(f"--out '{out_dir}' is a file: give a folder for the JSON, CSV and PNG files")
    for name in (JSON_NAME, CSV_NAME):
        path = os.path.join(out_dir, name)
        if os.path.exists(path) and not overwrite:
            raise OutputError(f"'{path}' already exists: remove it, choose another --out or pass --overwrite")


def _prepare_out_dir(plan: EvaluationPlan, out_dir: str, overwrite: bool):
    check_out_dir(out_dir, overwrite)
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as err:
        raise OutputError(f"cannot create --out folder '{out_dir}' ({err.strerror}): choose another") from None
    json_path, csv_path, panels = _output_paths(plan, out_dir)
    for path in (json_path, csv_path, *panels.values()):
        raster.check_output_path(path, overwrite)
    return json_path, csv_path, panels


def _produce(scene: Scene, index: int, method: Method, lr_path: str, folder: str, options: ApplyOptions,
             progress: Optional[Progress]) -> str:
    """One method's output for one scene, as a float32 GeoTIFF in ``folder``."""
    path = os.path.join(folder, f"{scene.name}_{index:02d}_{method.name.replace(' ', '_')}.tif")
    if method.model is not None:
        super_resolve(lr_path, method.model, path, options, progress)
    else:
        upsample(lr_path, path, scene.factor, method.resampling, progress)
    return path


def _scratch_bytes(plan: EvaluationPlan, keep_images: bool) -> int:
    """Disk the run needs at most: a scene's Wald LR and one output at a time (all of them, kept)."""
    def scene_bytes(scene: Scene) -> Tuple[int, int]:
        lr = 0 if scene.lr is not None else scene.lr_width * scene.lr_height * scene.count * 4
        return lr, scene.lr_width * scene.lr_height * scene.factor ** 2 * scene.count * 4

    if keep_images:
        return sum(lr + out * sum(m.factor == s.factor for m in plan.methods)
                   for s in plan.scenes for lr, out in [scene_bytes(s)])
    return max(lr + out for lr, out in map(scene_bytes, plan.scenes))


def check_free_space(folder: str, nbytes: int) -> None:
    """An OutputError, before any computing, if ``folder`` cannot hold ``nbytes`` (as uncompressed float32)."""
    def size(n: int) -> str:
        return f"{n / 1e9:.2f} GB" if n >= 1e8 else f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"

    free = shutil.disk_usage(folder).free
    if free < nbytes:
        raise OutputError(f"evaluating needs up to {size(nbytes)} of scratch images in '{folder}' but only "
                          f"{size(free)} are free ({size(nbytes - free)} short): free some space or give --out "
                          "on a larger disk")


def run_evaluation(plan: EvaluationPlan, out_dir: Optional[str] = None, *, overwrite: bool = False,
                   keep_images: bool = False, progress: Optional[Progress] = None) -> Evaluation:
    """Compute every method on every scene and score them; with ``out_dir``, write evaluation.json,
    evaluation.csv and a panel PNG per scene (``keep_images``: also the LR and output images, in
    ``out_dir/images``). ``progress`` is called with LR pixels done (``plan.work`` in all)."""
    paths = _prepare_out_dir(plan, out_dir, overwrite) if out_dir else None
    if keep_images and out_dir:
        folder = os.path.join(out_dir, "images")
        os.makedirs(folder, exist_ok=True)
    else:
        folder = tempfile.mkdtemp(prefix=".sr4rs-evaluate-", dir=out_dir or None)
    per_scene: List[Tuple[Scene, Dict[str, tuple]]] = []
    panels = []
    kept = keep_images and bool(out_dir)
    try:
        check_free_space(folder, _scratch_bytes(plan, kept))
        if plan.data_range is not None:
            peaks = plan.data_range
        else:
            peaks = measure_data_range(plan.scenes, plan.block_rows) if plan.reference \
                else np.full(len(plan.bands), math.nan)
        for scene in plan.scenes:
            methods = [m for m in plan.methods if m.factor == scene.factor]
            lr_path = scene.lr.path if scene.lr else write_wald_lr(
                scene, os.path.join(folder, f"{scene.name}_lr.tif"), plan.block_rows, progress)
            figures, shown = {}, []
            for i, m in enumerate(methods):  # one output on disk at a time
                path = _produce(scene, i, m, lr_path, folder, plan.apply_options, progress)
                if scene.hr is not None:
                    figures.update(score_scene(scene, lr_path, {m.name: path}, peaks, plan.border, plan.block_rows,
                                               progress))
                else:
                    figures.update(score_consistency(scene, lr_path, {m.name: path}, plan.border, plan.block_rows,
                                                     progress))
                if paths and (m.model is not None or m.resampling == BASELINES["bicubic"]):
                    shown.append((m.name,) + panel_crop(scene, path, plan.panel_window))
                if not kept:
                    os.remove(path)
            per_scene.append((scene, figures))
            if paths:
                panels.append(write_panel(scene, lr_path, shown, paths[2][scene.name], plan.panel_window))
            if not kept and scene.lr is None:
                os.remove(lr_path)  # this scene's Wald LR
    finally:
        if not kept:
            shutil.rmtree(folder, ignore_errors=True)
    evaluation = _assemble(plan, per_scene, peaks)
    if paths:
        evaluation = replace(evaluation, json_path=paths[0], csv_path=paths[1], panels=tuple(panels))
        write_reports(evaluation, paths[0], paths[1])
    return evaluation


def _result(m: Method, sums: ScoreSums, cons: ConsistencySums, shift: Shift, peaks) -> MethodResult:
    return MethodResult(m.name, m.kind, m.factor, sums.scores(m.factor, peaks), cons.consistency(shift))


def _assemble(plan: EvaluationPlan, per_scene, peaks) -> Evaluation:
    scenes, pooled = [], []
    for scene, figures in per_scene:
        rows = tuple(_result(m, *figures[m.name], peaks) for m in plan.methods if m.name in figures)
        scenes.append(SceneResult(scene.name, scene.hr.path if scene.hr else None, scene.lr.path if scene.lr else None,
                                  scene.factor, rows))
    nbands = len(plan.bands)
    for m in plan.methods:
        mine = [figures[m.name] for _, figures in per_scene if m.name in figures]
        sums = sum((f[0] for f in mine), ScoreSums.empty(nbands))
        cons = sum((f[1] for f in mine), ConsistencySums.empty(nbands))
        pooled.append(_result(m, sums, cons, _mean_shift([f[2] for f in mine]), peaks))
    return Evaluation(tuple(pooled), tuple(scenes), plan.bands, tuple(float(p) for p in peaks), plan.border,
                      plan.wald, reference=plan.reference)


def evaluate(models: Optional[Sequence[Union[str, LoadedModel]]], hr_paths: Sequence[str],
             lr_paths: Optional[Sequence[str]] = None, out_dir: Optional[str] = None, *,
             factor: Optional[int] = None, nodata: Optional[float] = None, border: int = DEFAULT_BORDER,
             tile_size: Optional[int] = None, pad: Optional[int] = None,
             panel_window: Optional[Tuple[int, int, int]] = None, data_range=None,
             baselines: Sequence[str] = tuple(BASELINES), overwrite: bool = False, keep_images: bool = False,
             block_rows: Optional[int] = None, progress: Optional[Progress] = None) -> Evaluation:
    """Score ``models`` (SavedModel paths; None: the bundled model) and the GDAL baselines on the HR
    references ``hr_paths``, with the LR images ``lr_paths`` (same order) or, without them, by Wald's
    protocol: each HR image degraded by the model's factor (``sr4rs.degrade.degrade``).

    Pixels that are nodata (the HR tag, else ``nodata``, else the model's metadata) in the HR or LR
    image, or within ``border`` HR pixels of them or of the image edge, are left out. ``data_range``
    (one peak or one per band) sets the PSNR/SSIM peak; default: the references' valid max - min per band.
    Sizes (``tile_size``, ``pad``) are in HR pixels, as for ``sr4rs apply``. See ``run_evaluation``.
    """
    plan = plan_evaluation(models, hr_paths, lr_paths, factor=factor, nodata=nodata, border=border,
                           tile_size=tile_size, pad=pad, panel_window=panel_window, data_range=data_range,
                           baselines=baselines, block_rows=block_rows)
    return run_evaluation(plan, out_dir, overwrite=overwrite, keep_images=keep_images, progress=progress)
