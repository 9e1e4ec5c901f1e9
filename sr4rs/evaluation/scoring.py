"""Scoring a scene block by block in bounded memory: the Wald LR image, the reference's data range,
and each method's figures against the reference and the LR image."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, Iterator, Optional, Sequence, Tuple

import numpy as np
from scipy.ndimage import maximum_filter

from ..errors import InputError
from ..geo.degrade import degrade, gaussian_reach, default_sigma
from ..geo.nodata import valid_pixels
from ..geo.windows import Window, inside_mask, pad_to, row_blocks, scaled_geotransform
from ..io.geotiff import GeoTiffSink
from ..io.rasters import GdalSource
from ..io.source import OutputSpec, RasterInfo, RasterSource
from ..progress import Work
from . import metrics
from .metrics import ConsistencySums, ScoreSums, Shift
from .opensr import BORDER as OPENSR_BORDER, OpensrFigures, opensr_figures
from .plan import Scene

# Side, in LR pixels, of the central window where the spatial consistency (phase correlation) is
# measured: FFTs of a whole scene would not fit in memory, and a 512-pixel window pins a shift to 0.01 px.
SHIFT_WINDOW = 512
_BLOCK_HR_PIXELS = 2_000_000  # HR pixels per statistics block: a few tens of MB per array
SCRATCH_NODATA = float(np.finfo(np.float32).min)

OPERATORS = ("block", "bilinear")  # how an output is brought back to the LR grid for the consistency figures
# opensr-test's synthesis and correctness are measured on the central window of at most this many LR pixels
# (their histogram matching and percentile threshold take whole images, which a scene cannot be in memory).
OPENSR_WINDOW = 128


def lr_row_blocks(height: int, width: int, factor: int, rows: Optional[int]) -> Iterator[Tuple[int, int]]:
    """LR row ranges whose HR strips hold about _BLOCK_HR_PIXELS pixels (or ``rows`` rows each)."""
    return row_blocks(height, rows or max(1, _BLOCK_HR_PIXELS // max(1, width * factor * factor)))


def numeric_nodata(nodata: Optional[float]) -> float:
    """The value scratch images mark holes with: the scene's nodata, or float32's lowest where it has none
    (or NaN, which GDAL's interpolations spread where a number they leave out)."""
    return nodata if nodata is not None and math.isfinite(nodata) else SCRATCH_NODATA


def _scratch_sink(nodata: Optional[float], path: str, like, width: int, height: int, ratio: int) -> GeoTiffSink:
    spec = OutputSpec(width, height, like.count, np.dtype(np.float32),
                      geotransform=scaled_geotransform(like.geotransform, ratio, finer=False),
                      projection=like.projection, nodata=numeric_nodata(nodata),
                      descriptions=like.descriptions, color_interps=like.color_interps)
    return GeoTiffSink(path, spec, overwrite=True)


def write_degraded(image: RasterInfo, factor: int, nodata: Optional[float], path: str,
                   block_rows: Optional[int] = None, work: Optional[Work] = None, blur: Optional[float] = None) -> str:
    """Degrade ``image`` by ``factor`` (``sr4rs.geo.degrade.degrade``) into a float32 GeoTIFF with pixels
    ``factor`` times larger and the same origin, strip by strip.

    Each strip is read with a halo of at least the Gaussian's reach, so the result equals degrading the whole
    image. Pixels whose blur reaches a pixel holding no data become holes (``nodata``, or ``numeric_nodata``):
    they would mix fill or NaN in.
    """
    f, work = factor, work or Work()
    sigma = default_sigma(f) if blur is None else blur * f
    reach = gaussian_reach(sigma)
    halo = -(-reach // f) * f  # whole LR rows, so that blocks stay aligned
    width, height = image.width // f, image.height // f
    with _scratch_sink(nodata, path, image, width, height, f) as sink, GdalSource(image.path) as source:
        for r0, r1 in lr_row_blocks(height, width, f, block_rows):
            y0, y1 = max(r0 * f - halo, 0), min(r1 * f + halo, height * f)
            strip = source.read(Window(0, y0, width * f, y1 - y0))
            skip = (r0 * f - y0) // f
            lr = degrade(strip, f, sigma)[skip:skip + r1 - r0]
            invalid = ~valid_pixels(strip, nodata)
            if invalid.any():
                near = maximum_filter(invalid, size=2 * reach + 1, mode="constant", cval=False)
                hole = near.reshape(near.shape[0] // f, f, -1, f).any(axis=(1, 3))[skip:skip + r1 - r0]
                lr[hole] = numeric_nodata(nodata)
            sink.write(Window(0, r0, width, r1 - r0), lr)
            work.advance((r1 - r0) * width)
    return path


def write_wald_lr(scene: Scene, path: str, block_rows: Optional[int] = None, work: Optional[Work] = None) -> str:
    """The scene's reference degraded by its factor (Wald's protocol): ``write_degraded``."""
    return write_degraded(scene.hr, scene.factor, scene.nodata, path, block_rows, work, scene.blur)


def write_clean_lr(scene: Scene, lr_path: str, path: str, block_rows: Optional[int] = None) -> str:
    """A float32 copy of an LR image with its invalid pixels (nodata, NaN, infinities) set to a numeric
    nodata value and tagged: GDAL's interpolations leave such pixels out instead of spreading them."""
    with GdalSource(lr_path) as source, \
            _scratch_sink(scene.nodata, path, source.info, scene.lr_width, scene.lr_height, 1) as sink:
        nodata = scene.nodata if source.info.nodata is None else source.info.nodata
        for r0, r1 in lr_row_blocks(scene.lr_height, scene.lr_width, scene.factor, block_rows):
            lr = source.read(Window(0, r0, scene.lr_width, r1 - r0)).astype(np.float32)
            lr[~valid_pixels(lr, nodata)] = numeric_nodata(scene.nodata)
            sink.write(Window(0, r0, scene.lr_width, r1 - r0), lr)
    return path


def _read_halo(source: RasterSource, window: Window, width: int, height: int) -> Tuple[np.ndarray, np.ndarray]:
    """``window`` of the first ``width`` x ``height`` pixels of ``source``, edge-padded where it passes
    them, and the (H, W) mask of the pixels that are inside."""
    inner = window.clip(width, height)
    return pad_to(source.read(inner), window, width, height, mode="edge"), inside_mask(window, width, height)


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
        self.hr = GdalSource(scene.hr.path)
        self.lr = GdalSource(lr_path)
        lr_nodata = self.lr.info.nodata
        self.lr_nodata = scene.nodata if lr_nodata is None else lr_nodata

    def close(self):
        self.hr.close()
        self.lr.close()

    def hr_window(self, lr_window: Window) -> Window:
        return lr_window.scaled(self.scene.factor).grown(self.halo)

    def block(self, lr_window: Window) -> _Block:
        s, f, h = self.scene, self.scene.factor, self.halo
        grown = self.hr_window(lr_window)
        hr, inside = _read_halo(self.hr, grown, s.width, s.height)
        g = -(-h // f)  # LR pixels covering the halo
        lr, lr_inside = _read_halo(self.lr, lr_window.grown(g), s.lr_width, s.lr_height)
        lr_valid = valid_pixels(lr, self.lr_nodata) & lr_inside
        up = np.repeat(np.repeat(lr_valid, f, axis=0), f, axis=1)[g * f - h:, g * f - h:][:hr.shape[0], :hr.shape[1]]
        mask = metrics.evaluation_mask(inside & valid_pixels(hr, s.nodata) & up, self.border)
        core = (slice(h, h + lr_window.height * f), slice(h, h + lr_window.width * f))
        ssim = metrics.ssim_mask(mask)
        kept, kept_ssim = np.zeros_like(mask), np.zeros_like(mask)
        kept[core], kept_ssim[core] = mask[core], ssim[core]
        lr_core = lr[g:g + lr_window.height, g:g + lr_window.width]
        lr_mask = mask[core].reshape(lr_window.height, f, lr_window.width, f).all(axis=(1, 3))
        return _Block(hr, kept, kept_ssim, core, lr_core, lr_mask)

    def output(self, reader: RasterSource, lr_window: Window) -> np.ndarray:
        return _read_halo(reader, self.hr_window(lr_window), self.scene.width, self.scene.height)[0]


def _valid_ranges(path: str, nodata: Optional[float], block_rows: Optional[int],
                  work: Optional[Work]) -> Tuple[Optional[np.ndarray], Optional[np.ndarray]]:
    """Per band, the min and max of the valid pixels of ``path`` (None, None: it has none)."""
    lo = hi = None
    reader = GdalSource(path)
    info = reader.info
    tag = nodata if info.nodata is None else info.nodata
    try:
        for r0, r1 in lr_row_blocks(info.height, info.width, 1, block_rows):
            if work is not None:
                work.check()
            strip = reader.read(Window(0, r0, info.width, r1 - r0))
            values = strip[valid_pixels(strip, tag)].astype(np.float64)
            if len(values):
                lo = values.min(axis=0) if lo is None else np.minimum(lo, values.min(axis=0))
                hi = values.max(axis=0) if hi is None else np.maximum(hi, values.max(axis=0))
    finally:
        reader.close()
    return lo, hi


def check_valid_pixels(scenes: Sequence[Scene], block_rows: Optional[int] = None, work: Optional[Work] = None) -> None:
    """An InputError, before any model runs, for an image that holds no valid pixel."""
    for path, nodata in sorted({(i.path, s.nodata) for s in scenes for i in (s.hr, s.lr) if i is not None},
                               key=lambda item: item[0]):
        if _valid_ranges(path, nodata, block_rows, work)[0] is None:
            raise InputError(f"'{path}' holds no valid pixel (every pixel is nodata {nodata} or not finite): "
                             "check --nodata, or give an image with data")


def measure_data_range(scenes: Sequence[Scene], block_rows: Optional[int] = None,
                       work: Optional[Work] = None) -> np.ndarray:
    """Per band, max - min of the references' valid pixels over all scenes (a constant band: 1)."""
    lo = hi = None
    for path, nodata in {(s.hr.path, s.nodata) for s in scenes}:
        a, b = _valid_ranges(path, nodata, block_rows, work)
        if a is not None:
            lo = a if lo is None else np.minimum(lo, a)
            hi = b if hi is None else np.maximum(hi, b)
    if lo is None:
        raise InputError(f"the HR image(s) {', '.join(s.hr.path for s in scenes)} hold no valid pixel: "
                         "check --nodata")
    span = hi - lo
    return np.where(span > 0, span, 1.0)


def _central_window(scene: Scene, size: int = None) -> Window:
    size = size or SHIFT_WINDOW
    w, h = min(scene.lr_width, size), min(scene.lr_height, size)
    return Window((scene.lr_width - w) // 2, (scene.lr_height - h) // 2, w, h)


@dataclass(frozen=True, eq=False)
class Figures:
    """One output's figures on one scene: sums against the reference, consistency sums per operator
    (``block``, ``bilinear``), the shift, and opensr-test's synthesis and correctness (None without reference)."""

    scores: ScoreSums
    consistency: Dict[str, ConsistencySums]
    shift: Shift
    opensr: Optional[OpensrFigures] = None


def _consistency(out: np.ndarray, core: Tuple[slice, slice], lr: np.ndarray, factor: int, mask: np.ndarray,
                 halo: int) -> Dict[str, ConsistencySums]:
    """Both operators' sums for one block; ``out`` carries ``halo`` HR pixels of context around ``core``."""
    q = halo // factor  # whole LR pixels of context for the triangle filter (it reaches one LR pixel)
    region = out[core[0].start - q * factor:core[0].stop + q * factor, core[1].start - q * factor:core[1].stop + q * factor]
    return {op: ConsistencySums.of_block(region, lr, factor, mask, op, q) for op in OPERATORS}


def _opensr(scene: Scene, reader: "_SceneReader", output: RasterSource) -> Optional[OpensrFigures]:
    """opensr-test's figures on the central window (at most OPENSR_WINDOW LR pixels), when it holds no nodata."""
    window = _central_window(scene, OPENSR_WINDOW)
    block = reader.block(window)
    if not valid_pixels(block.hr[block.core], scene.nodata).all() or not valid_pixels(block.lr, reader.lr_nodata).all():
        return None
    sr = reader.output(output, window)[block.core]
    if not np.isfinite(sr).all() or min(window.width, window.height) * scene.factor <= 2 * OPENSR_BORDER + scene.factor:
        return None
    return opensr_figures(block.lr, sr, block.hr[block.core])


def score_scene(scene: Scene, lr_path: str, outputs: Dict[str, str], peaks: np.ndarray, border: int,
                block_rows: Optional[int] = None, work: Optional[Work] = None) -> Dict[str, Figures]:
    """Sums of every output (name -> path) against the reference and the LR image, block by block,
    and each output's shift and opensr-test figures on the central window."""
    nbands = scene.hr.count
    scores = {name: ScoreSums.empty(nbands) for name in outputs}
    cons = {name: {op: ConsistencySums.empty(nbands) for op in OPERATORS} for name in outputs}
    scene_reader = _SceneReader(scene, lr_path, border)
    readers = {name: GdalSource(path) for name, path in outputs.items()}
    try:
        for r0, r1 in lr_row_blocks(scene.lr_height, scene.lr_width, scene.factor, block_rows):
            window = Window(0, r0, scene.lr_width, r1 - r0)
            block = scene_reader.block(window)
            for name, reader in readers.items():
                out = scene_reader.output(reader, window)
                scores[name] = scores[name] + ScoreSums.of_block(block.hr, out, block.mask, peaks, block.ssim_mask)
                added = _consistency(out, block.core, block.lr, scene.factor, block.lr_mask, scene_reader.halo)
                cons[name] = {op: cons[name][op] + added[op] for op in OPERATORS}
            if work is not None:
                work.advance(window.width * window.height)
        centre = _central_window(scene)
        block = scene_reader.block(centre)
        figures = {name: Figures(scores[name], cons[name], metrics.spatial_consistency(
            scene_reader.output(reader, centre)[block.core], block.lr, scene.factor, block.lr_mask),
            _opensr(scene, scene_reader, reader)) for name, reader in readers.items()}
    finally:
        scene_reader.close()
        for reader in readers.values():
            reader.close()
    return figures


def _lr_block(reader: RasterSource, scene: Scene, window: Window, border: int) -> Tuple[np.ndarray, np.ndarray]:
    """The LR ``window`` and its mask: valid pixels at least ``border`` LR pixels from nodata and the edges."""
    g = border
    lr, inside = _read_halo(reader, window.grown(g), scene.lr_width, scene.lr_height)
    mask = metrics.evaluation_mask(valid_pixels(lr, scene.nodata) & inside, g)
    core = (slice(g, g + window.height), slice(g, g + window.width))
    return lr[core], mask[core]


def score_consistency(scene: Scene, lr_path: str, outputs: Dict[str, str], border: int,
                      block_rows: Optional[int] = None, work: Optional[Work] = None) -> Dict[str, Figures]:
    """Without a reference: each output (name -> path) against the LR image only, block by block, and its
    shift on the central window. ``border`` is in HR pixels, as for ``score_scene``."""
    f, nbands = scene.factor, scene.count
    g = -(-border // f)  # the same LR pixels as the HR border of score_scene leaves out
    cons = {name: {op: ConsistencySums.empty(nbands) for op in OPERATORS} for name in outputs}
    lr_reader = GdalSource(lr_path)
    readers = {name: GdalSource(path) for name, path in outputs.items()}
    try:
        for r0, r1 in lr_row_blocks(scene.lr_height, scene.lr_width, f, block_rows):
            window = Window(0, r0, scene.lr_width, r1 - r0)
            lr, mask = _lr_block(lr_reader, scene, window, g)
            for name, reader in readers.items():
                out = _read_halo(reader, window.grown(1).scaled(f), scene.width, scene.height)[0]
                core = (slice(f, f + window.height * f), slice(f, f + window.width * f))
                added = _consistency(out, core, lr, f, mask, f)
                cons[name] = {op: cons[name][op] + added[op] for op in OPERATORS}
            if work is not None:
                work.advance(window.width * window.height)
        centre = _central_window(scene)
        lr, mask = _lr_block(lr_reader, scene, centre, g)
        figures = {name: Figures(ScoreSums.empty(nbands), cons[name],
                                 metrics.spatial_consistency(reader.read(centre.scaled(f)), lr, f, mask))
                   for name, reader in readers.items()}
    finally:
        lr_reader.close()
        for reader in readers.values():
            reader.close()
    return figures


def mean_shift(shifts: Sequence[Shift]) -> Shift:
    """Scenes' shifts averaged (NaN where none could be measured)."""
    arr = np.array([(s.magnitude, s.dy, s.dx) for s in shifts], float)
    arr = arr[np.isfinite(arr).all(axis=1)]
    if not len(arr):
        return Shift(math.nan, math.nan, math.nan)
    return Shift(*(float(v) for v in arr.mean(axis=0)))

