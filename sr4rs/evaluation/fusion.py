"""Scoring fusion models (a sensor's coarse bands brought to its fine grid) under Wald's protocol, against
cubic upsampling and two classical fusions:

- ``regression``: per band, a linear regression of the coarse band on the finer bands brought to the coarse
  grid (block means), then the regressed band's high frequencies (itself minus its cubic-upsampled block
  mean) added to the cubic-upsampled coarse band;
- OTB's ``Pansharpening`` (RCS, LMVM, Bayes; Debian's ``otb-bin``), with one fine band as the guide: the fine
  band most correlated with the coarse bands' mean.
"""
from __future__ import annotations

import math
import os
import shutil
import subprocess
from typing import List, Optional, Sequence, Tuple

import numpy as np

from ..errors import BackendError, InputError, ModelError
from ..geo.nodata import resolve_nodata, valid_pixels
from ..geo.windows import Window
from ..io.images import resample
from ..io.products import crop
from ..io.rasters import GdalSource, read_info
from ..io.source import OutputSpec
from ..io.geotiff import GeoTiffSink
from ..inference.plan import ApplyOptions, check_models_options
from ..model.load import LoadedModel, load_model
from ..progress import Work
from .plan import BASELINES, DEFAULT_BORDER, EvaluationPlan, Method, Scene, peaks_for
from .scoring import lr_row_blocks, numeric_nodata

PANSHARPENING = ("rcs", "lmvm", "bayes")
FUSION_BASELINES = ("regression",) + PANSHARPENING


def fusion_scene(paths: Sequence[str], nodata: Optional[float], name: Optional[str] = None) -> Scene:
    """A fusion scene of images of one area at their native resolutions, finest first."""
    from ..data.fusion import _group_factors

    if len(paths) < 2:
        raise InputError("a fusion evaluation needs images of at least two resolutions: one --input each (finest "
                         "first), or a product with --bands of several resolutions")
    infos = tuple(read_info(p) for p in paths)
    factors = tuple(_group_factors(infos))
    # The largest area every group covers in whole pixels of every degraded grid: a multiple of every factor
    # on the degraded finest grid (which is the coarsest group's native grid).
    d, unit = factors[-1], math.lcm(*factors)
    width = min(info.width * f // d for info, f in zip(infos, factors)) // unit * unit
    height = min(info.height * f // d for info, f in zip(infos, factors)) // unit * unit
    if width < unit or height < unit:
        raise InputError(f"the images are too small to degrade by {d}: give a larger area")
    infos = tuple(read_info(crop(info.path, width * d // f, height * d // f)) for info, f in zip(infos, factors))
    target = infos[-1]
    stem = name or os.path.splitext(os.path.basename(target.path))[0]
    return Scene(stem, target, None, d, resolve_nodata(target.nodata, nodata), target.width // d,
                 target.height // d, infos, factors)


def check_fusion_models(models: Sequence[LoadedModel], scene: Scene) -> None:
    for m in models:
        factors = tuple(i.spec.factor for i in m.inputs)
        if factors != scene.group_factors:
            raise ModelError(f"model '{m.path}' takes inputs {factors[0] if len(factors) == 1 else factors} times "
                             f"coarser than its output, but the images are {scene.group_factors}: give the images "
                             "the model was made for")
        for model_input, info in zip(m.inputs, scene.groups):
            if model_input.nbands is not None and model_input.nbands != info.count:
                raise ModelError(f"model '{m.path}' takes {model_input.nbands} band(s) as '{model_input.spec.name}' "
                                 f"but '{info.path}' has {info.count}: give the bands {', '.join(model_input.spec.bands)}")


def fusion_methods(models: Sequence[LoadedModel], factor: int, baselines: Sequence[str]) -> Tuple[Method, ...]:
    from .plan import BASELINES

    rows = [Method(b, factor, resampling=BASELINES[b]) for b in baselines if b in BASELINES]
    rows += [Method(b if b == "regression" else f"otb-{b}", factor, fusion=b) for b in baselines
             if b in FUSION_BASELINES and (b == "regression" or shutil.which("otbcli_Pansharpening"))]
    rows += [Method(m.name, factor, model=m) for m in models]
    return tuple(rows)


# --------------------------------------------------------------------------- the regression baseline


def _to_grid(path: str, like_width: int, like_height: int, folder: str, name: str, algorithm: str) -> str:
    """``path`` resampled by GDAL onto a grid of ``like_width`` x ``like_height`` on the same ground."""
    out = os.path.join(folder, name)
    return resample(path, out, like_width, like_height, algorithm)


def regression_baseline(guides: Sequence[str], lr_path: str, scene: Scene, folder: str, out_path: str,
                        cubic_path: str, work: Optional[Work] = None) -> str:
    """The classical fusion of the module's docstring, block by block; ``cubic_path``: the cubic upsampling of
    ``lr_path`` on the output grid (the cubic baseline's output)."""
    width, height = scene.width, scene.height
    finest = guides[0]  # on the output grid already
    on_lr = _to_grid(finest, scene.lr_width, scene.lr_height, folder, "_guide_lr.tif", "average")
    coefficients = _fit([on_lr], lr_path, scene)
    synthetic = os.path.join(folder, "_synthetic.tif")
    _write_combination([finest], coefficients, width, height, synthetic, scene.hr)
    low = _to_grid(synthetic, scene.lr_width, scene.lr_height, folder, "_synthetic_lr.tif", "average")
    low_up = _to_grid(low, width, height, folder, "_synthetic_lr_up.tif", "cubic")
    _write_sum([(cubic_path, 1.0), (synthetic, 1.0), (low_up, -1.0)], width, height, out_path, scene.hr)
    for scratch in (on_lr, synthetic, low, low_up):
        os.remove(scratch)
    if work is not None:
        work.advance(scene.lr_width * scene.lr_height)
    return out_path


def _stack(paths: Sequence[str], window: Window) -> np.ndarray:
    arrays = []
    for path in paths:
        with GdalSource(path) as source:
            arrays.append(source.read(window).astype(np.float64))
    return np.concatenate(arrays, axis=-1)


def _fit(guides_lr: Sequence[str], lr_path: str, scene: Scene) -> np.ndarray:
    """Least squares of each coarse band on [1, guide bands] over the pixels valid in all: (1 + G, bands)."""
    xtx = xty = None
    lr_nodata = numeric_nodata(scene.nodata)
    for r0, r1 in lr_row_blocks(scene.lr_height, scene.lr_width, 1, None):
        window = Window(0, r0, scene.lr_width, r1 - r0)
        g, y = _stack(guides_lr, window), _stack([lr_path], window)
        valid = valid_pixels(y, lr_nodata) & np.isfinite(g).all(axis=-1)
        x = np.concatenate([np.ones((valid.sum(), 1)), g[valid]], axis=1)
        xtx = x.T @ x if xtx is None else xtx + x.T @ x
        xty = x.T @ y[valid] if xty is None else xty + x.T @ y[valid]
    if xtx is None or xtx[0, 0] < xtx.shape[0]:
        raise InputError(f"too few valid pixels in '{scene.hr.path}' to fit the regression baseline")
    return np.linalg.lstsq(xtx, xty, rcond=None)[0]


def _write_blocks(width: int, height: int, path: str, like, compute) -> None:
    spec = OutputSpec(width, height, like.count, np.dtype(np.float32),
                      geotransform=like.geotransform, projection=like.projection)
    with GeoTiffSink(path, spec, overwrite=True) as sink:
        for r0, r1 in lr_row_blocks(height, width, 1, None):
            window = Window(0, r0, width, r1 - r0)
            sink.write(window, compute(window).astype(np.float32))


def _write_combination(guides: Sequence[str], coefficients: np.ndarray, width, height, path, like) -> None:
    _write_blocks(width, height, path, like,
                  lambda w: coefficients[0] + _stack(guides, w) @ coefficients[1:])


def _write_sum(terms: Sequence[Tuple[str, float]], width, height, path, like) -> None:
    _write_blocks(width, height, path, like, lambda w: sum(k * _stack([p], w) for p, k in terms))


# --------------------------------------------------------------------------- OTB's pansharpening


def guide_band(guide: str, lr_path: str, scene: Scene) -> int:
    """The band (from 1) of the finest group most correlated with the mean of the coarse bands, on the LR grid."""
    folder = os.path.dirname(lr_path)
    on_lr = _to_grid(guide, scene.lr_width, scene.lr_height, folder, "_pan_lr.tif", "average")
    window = Window(0, 0, scene.lr_width, scene.lr_height)
    g, y = _stack([on_lr], window), _stack([lr_path], window)
    os.remove(on_lr)
    valid = valid_pixels(y, numeric_nodata(scene.nodata))
    target = y[valid].mean(axis=-1)
    scores = [abs(np.corrcoef(g[valid][:, b], target)[0, 1]) for b in range(g.shape[-1])]
    return int(np.nanargmax(scores)) + 1


def pansharpen(method: str, guide: str, band: int, cubic_path: str, out_path: str) -> str:
    """OTB's Pansharpening of the cubic-upsampled LR image (on the guide's grid) with band ``band`` of ``guide``."""
    if shutil.which("otbcli_Pansharpening") is None:
        raise BackendError("OTB's Pansharpening is not installed (otbcli_Pansharpening, Debian's otb-bin)")
    pan = out_path[:-4] + "_pan.tif"
    subprocess.run(["otbcli_ExtractROI", "-in", guide, "-cl", f"Channel{band}", "-out", pan, "float"],
                   check=True, capture_output=True)
    args = {"rcs": [], "lmvm": ["-method.lmvm.radiusx", "3", "-method.lmvm.radiusy", "3"],
            "bayes": ["-method.bayes.lambda", "0.9999", "-method.bayes.s", "1"]}[method]
    try:
        subprocess.run(["otbcli_Pansharpening", "-inp", pan, "-inxs", cubic_path, "-method", method, *args,
                        "-out", out_path, "float"], check=True, capture_output=True)
    except subprocess.CalledProcessError as err:
        lines = (err.stderr or b"").decode(errors="replace").strip().splitlines()
        raise BackendError(f"OTB's Pansharpening ({method}) failed ({lines[-1] if lines else err})") from None
    finally:
        if os.path.exists(pan):
            os.remove(pan)
    return out_path


def plan_fusion_evaluation(models, inputs: Sequence[str], *, nodata: Optional[float] = None,
                           border: int = DEFAULT_BORDER, tile_size: Optional[int] = None, pad: Optional[int] = None,
                           panel_window=None, data_range=None, baselines: Sequence[str] = ("bicubic",) + FUSION_BASELINES,
                           block_rows: Optional[int] = None, name: Optional[str] = None,
                           operator: str = "block") -> EvaluationPlan:
    """Wald's protocol on images of one area at their native resolutions (finest first): every group degraded
    by the coarsest group's factor, each fusion model and baseline returning the coarsest group to its native
    grid, scored against it. ``operator``: the consistency figures the table shows (block or bilinear)."""
    return plan_fusion_scenes(models, [inputs], nodata=nodata, border=border, tile_size=tile_size, pad=pad,
                              panel_window=panel_window, data_range=data_range, baselines=baselines,
                              block_rows=block_rows, names=[name] if name else None, operator=operator)


def plan_fusion_scenes(models, scenes: Sequence[Sequence[str]], *, nodata: Optional[float] = None,
                       border: int = DEFAULT_BORDER, tile_size: Optional[int] = None, pad: Optional[int] = None,
                       panel_window=None, data_range=None, baselines: Sequence[str] = ("bicubic",) + FUSION_BASELINES,
                       block_rows: Optional[int] = None, names: Optional[Sequence[str]] = None,
                       operator: str = "block") -> EvaluationPlan:
    """``plan_fusion_evaluation`` over several scenes (each its images, finest first; ``names``: theirs), with
    the same resolutions and bands: one row per scene and method in the reports, and the figures pooled."""
    if operator not in ("block", "bilinear"):
        raise InputError(f"unknown consistency operator '{operator}': choose block or bilinear")
    found = [fusion_scene(paths, nodata, names[i] if names else None) for i, paths in enumerate(scenes)]
    unknown = [b for b in baselines if b not in BASELINES and b not in FUSION_BASELINES]
    if unknown:
        raise InputError(f"unknown baseline(s) {', '.join(unknown)}: choose among "
                         f"{', '.join(tuple(BASELINES) + FUSION_BASELINES)}")
    if border < 0:
        raise InputError(f"--border {border} must be 0 or more HR pixels")
    loaded = [m if isinstance(m, LoadedModel) else load_model(m) for m in models]
    for scene in found:
        check_fusion_models(loaded, scene)
        if min(scene.width, scene.height) <= 2 * border:
            what = f"scene '{scene.name}'" if names else f"'{scene.hr.path}'"
            raise InputError(f"--border {border} leaves no pixel of {what} ({scene.width} x {scene.height} pixels of "
                             f"the bands scored) to compare: lower --border")
    first = found[0]
    methods = fusion_methods(loaded, first.factor, baselines)
    options = ApplyOptions(tile_size=tile_size, pad=pad, nodata=nodata, encoding="float32", overwrite=True)
    check_models_options(loaded, options)  # before any image is made
    work = sum(s.lr_width * s.lr_height * (len(s.groups) + 2 * len(methods)) for s in found)
    return EvaluationPlan(tuple(found), methods, first.hr.band_names, border, peaks_for(data_range, first.count),
                          options, panel_window, block_rows, True, work, True, operator)
