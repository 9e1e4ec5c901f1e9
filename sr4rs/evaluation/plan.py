"""Planning an evaluation: the scenes (HR references with their LR images, HR references degraded by
Wald's protocol, or LR images alone), the methods (models and GDAL baselines), all checked before any
model is loaded or pixel computed."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..errors import InputError, ModelError
from ..geo.nodata import resolve_nodata
from ..geo.pairs import PIXEL_GRID, Grid, check_same_corner_pair
from ..inference.plan import ApplyOptions, check_models_options
from ..io.rasters import read_info
from ..io.source import RasterInfo
from ..io.vectors import check_same_crs
from ..model.bands import put_in_order
from ..model.bundled import default_model_name, default_model_path, default_note
from ..model.contract import read_metadata
from ..model.load import LoadedModel, load_model

# Baselines: name -> GDAL resampling algorithm.
BASELINES = {"nearest": "near", "bilinear": "bilinear", "bicubic": "cubic", "lanczos": "lanczos"}
DEFAULT_BORDER = 16  # HR pixels


@dataclass(frozen=True, eq=False)
class Method:
    """A row of the table: a model, an upsampling of the LR image by GDAL, or (for fusion scenes) a classical
    fusion of the LR image with the finer groups (``fusion``: ``regression``, or OTB's ``rcs``, ``lmvm``,
    ``bayes`` pansharpening)."""

    name: str
    factor: int
    model: Optional[LoadedModel] = None
    resampling: Optional[str] = None  # GDAL's name, for baselines
    fusion: Optional[str] = None
    blur: Optional[float] = None  # the Wald blur of the scenes it is scored on (None: the default)

    def scores(self, scene: "Scene") -> bool:
        """Whether this row is computed on ``scene``."""
        return self.factor == scene.factor and self.blur == scene.blur

    @property
    def kind(self) -> str:
        return "model" if self.model is not None else "baseline"


@dataclass(frozen=True)
class Scene:
    """One HR reference at one scale factor, with its LR image (None: made by Wald's protocol);
    or, without a reference (``hr`` None), an LR image alone, for the consistency figures."""

    name: str
    hr: Optional[RasterInfo]
    lr: Optional[RasterInfo]
    factor: int
    nodata: Optional[float]
    lr_width: int
    lr_height: int
    # A fusion scene: every resolution group, finest first (the last is ``hr``), and their factors relative to the
    # finest; all are degraded by ``factor`` (the coarsest group's) and the coarsest is returned to its own grid.
    groups: Tuple[RasterInfo, ...] = ()
    group_factors: Tuple[int, ...] = ()
    blur: Optional[float] = None  # Wald's protocol: the blur sigma in units of the factor (None: the default)

    @property
    def image(self) -> RasterInfo:
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
    operator: str = "block"  # consistency operator shown in the table: block, or bilinear (opensr-test's)
    notes: Tuple[str, ...] = ()  # the lines saying which model was chosen and how the bands were ordered

    @property
    def inputs(self) -> Tuple[str, ...]:
        """Every image the evaluation reads."""
        return tuple(sorted({i.path for s in self.scenes for i in (s.hr, s.lr) if i is not None}))


def _grid(info: RasterInfo, role: str) -> Grid:
    return Grid(info.width, info.height, info.geotransform or PIXEL_GRID, f"{role} '{info.path}'")


def pair_factor(hr: RasterInfo, lr: RasterInfo) -> int:
    """The factor of a true pair (``sr4rs.geo.pairs.check_same_corner_pair``), after the checks that
    need the files: band counts, CRSs, georeferencing on both or neither."""
    if hr.count != lr.count:
        raise InputError(f"HR '{hr.path}' has {hr.count} band(s) but LR '{lr.path}' {lr.count}: "
                         "give the same bands in the same order")
    check_same_crs(lr, hr)
    if bool(hr.geotransform) != bool(lr.geotransform):
        has, lacks = (hr, lr) if hr.geotransform else (lr, hr)
        raise InputError(f"'{has.path}' is georeferenced but '{lacks.path}' is not: give both images a "
                         "georeferencing (gdal_edit.py -a_ullr -a_srs), or neither")
    return check_same_corner_pair(_grid(lr, "LR"), _grid(hr, "HR"), georeferenced=bool(hr.geotransform))


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
    his = [read_info(p) for p in hr_paths]
    lis = [read_info(p) for p in lr_paths]
    images = his or lis
    if len({i.count for i in images}) > 1:
        raise InputError(f"the {'HR' if his else 'LR'} images have {', '.join(str(i.count) for i in images)} bands: "
                         "give images with the same bands, or evaluate them separately")
    pair_factors = [pair_factor(h, lr) for h, lr in zip(his, lis)]
    return his, lis, pair_factors


def _load_models(models, factor: Optional[int]) -> List[LoadedModel]:
    return [m if isinstance(m, LoadedModel) else load_model(m, scale=factor) for m in models]


def choose_models(models, first: RasterInfo) -> Tuple[list, List[str]]:
    """The models to score: ``models``, or (None) the bundled model ``apply`` takes for images like ``first`` (by
    its band names, then its band count), with the line saying so."""
    if models is not None:
        return list(models), []
    names = first.descriptions if first.descriptions and all(first.descriptions) else ()
    name = default_model_name(first.count, names)
    return [default_model_path(first.count, names)], [default_note(name, names)]


def order_images(models, hr_paths: Sequence[str], lr_paths: Sequence[str]):
    """The images with their bands in the order of the first model's input, when both name them (as ``apply``
    reads them); the lines saying so. No TensorFlow."""
    if not models:
        return list(hr_paths), list(lr_paths), []
    first = models[0]
    if isinstance(first, LoadedModel):
        meta, name = first.metadata, first.name
    else:
        meta, name = read_metadata(first), os.path.basename(os.path.normpath(first))
    if meta is None or len(meta.inputs) != 1:
        return list(hr_paths), list(lr_paths), []
    ordered = [put_in_order(p, meta.inputs[0].bands, name) for p in list(hr_paths) + list(lr_paths)]
    paths = [p for p, _ in ordered]
    return paths[:len(hr_paths)], paths[len(hr_paths):], [note for _, note in ordered if note]


def _check_models(loaded: Sequence[LoadedModel], count: int, pair_factors: Sequence[int]) -> None:
    for m in loaded:
        if len(m.inputs) > 1:
            raise ModelError(f"model '{m.path}' takes {len(m.inputs)} inputs: evaluate scores single-input models")
        nbands = m.input_bands or len(m.metadata.input_bands)
        outputs = len(m.metadata.output_bands) if m.has_metadata else count
        if nbands and nbands != count or outputs != count:
            bands = ", ".join(m.metadata.input_bands)
            raise ModelError(f"model '{m.path}' maps {nbands} band(s) to {outputs} but the images have "
                             f"{count}: give images with the model's bands ({bands})")
        if pair_factors and any(f != m.scale for f in pair_factors):
            raise ModelError(f"model '{m.path}' is x{m.scale} but the pairs are x{', x'.join(map(str, pair_factors))}: "
                             "give pairs at the model's scale, or no --lr (Wald's protocol)")


def _unique(names: Sequence[str]) -> List[str]:
    seen: Dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return out


def _blur_label(blur: Optional[float]) -> str:
    return "" if blur is None else f" @blur {blur:g}"


def _methods(factors: Sequence[int], models: Sequence[LoadedModel], baselines: Sequence[str],
             blurs: Sequence[Optional[float]] = (None,)) -> Tuple[Method, ...]:
    suffix = len(factors) > 1  # "bicubic x2", "bicubic x4" when several factors share the table
    rows = []
    for f in factors:
        for blur in blurs:
            tail = (f" x{f}" if suffix else "") + _blur_label(blur)
            rows += [(b + tail, f, None, BASELINES[b], blur) for b in baselines]
            rows += [(m.name + _blur_label(blur), f, m, None, blur) for m in models if m.scale == f]
    names = _unique([r[0] for r in rows])  # two models in folders of the same name stay apart
    return tuple(Method(n, f, model=m, resampling=r, blur=b) for n, (_, f, m, r, b) in zip(names, rows))


def _check_panel_window(window, scene: Scene) -> None:
    if window is None:
        return
    col, row, size = window
    if size < 1 or col < 0 or row < 0 or col + size > scene.lr_width or row + size > scene.lr_height:
        raise InputError(f"--panel-window {col} {row} {size} does not fit in the LR image of '{scene.image.path}' "
                         f"({scene.lr_width} x {scene.lr_height} pixels): choose col + size <= {scene.lr_width} "
                         f"and row + size <= {scene.lr_height}")


def _lr_scenes(stems, lis, factors, nodata, border) -> List[Scene]:
    """LR images alone: one scene per image and factor."""
    scenes = []
    for stem, lr in zip(stems, lis):
        for f in factors:
            if min(lr.width, lr.height) <= 2 * -(-border // f):
                raise InputError(f"--border {border} leaves no pixel of LR '{lr.path}' ({lr.width} x {lr.height}) "
                                 f"to compare at x{f}: lower --border or give a larger image")
            scenes.append(Scene(f"{stem}_x{f}" if len(factors) > 1 else stem, None, lr, f,
                                nodata(lr), lr.width, lr.height))
    return scenes


def _hr_scenes(stems, his, lis, pair_factors, factors, nodata, border, blurs=(None,)) -> List[Scene]:
    """HR references: with their LR image (at the pair's factor), or degraded at every factor and blur."""
    scenes = []
    for i, (stem, hr) in enumerate(zip(stems, his)):
        for f in ([pair_factors[i]] if lis else factors):
            lr = lis[i] if lis else None
            for blur in ((None,) if lis else blurs):
                name = (f"{stem}_x{f}" if len(factors) > 1 else stem) + ("" if blur is None else f"_blur{blur:g}")
                scene = Scene(name, hr, lr, f, nodata(hr), lr.width if lr else hr.width // f,
                              lr.height if lr else hr.height // f, blur=blur)
                if min(scene.width, scene.height) <= 2 * border:
                    raise InputError(f"--border {border} leaves no pixel of HR '{hr.path}' ({hr.width} x {hr.height}) "
                                     f"to compare at x{f}: lower --border or give a larger image")
                scenes.append(scene)
    return scenes


def _check_blurs(blurs, lr_paths) -> Tuple[Optional[float], ...]:
    if not blurs:
        return (None,)
    if lr_paths:
        raise InputError("--degradation degrades the references (Wald's protocol): drop --lr, or --degradation")
    for blur in blurs:
        if not 0 <= blur <= 2:
            raise InputError(f"--degradation {blur:g} is out of range: give blur sigmas of 0 to 2 (in units of the "
                             "factor; 0 is plain block averaging, 1/3 the default Wald blur)")
    return tuple(float(b) for b in blurs)


def peaks_for(data_range, count: int) -> Optional[np.ndarray]:
    if data_range is None:
        return None
    peaks = np.asarray(data_range, float) * np.ones(count) if np.ndim(data_range) == 0 \
        else np.asarray(data_range, float)
    if peaks.shape != (count,) or not np.all(peaks > 0):
        raise InputError(f"--data-range {data_range!r} must be one positive number or one per band ({count})")
    return peaks


def plan_evaluation(models: Optional[Sequence[Union[str, LoadedModel]]], hr_paths: Sequence[str],
                    lr_paths: Optional[Sequence[str]] = None, *, factor: Optional[int] = None,
                    nodata: Optional[float] = None, border: int = DEFAULT_BORDER,
                    tile_size: Optional[int] = None, pad: Optional[int] = None,
                    panel_window: Optional[Tuple[int, int, int]] = None, data_range=None,
                    baselines: Sequence[str] = tuple(BASELINES), block_rows: Optional[int] = None,
                    blurs: Optional[Sequence[float]] = None, operator: str = "block",
                    names: Optional[Sequence[str]] = None) -> EvaluationPlan:
    """Check the inputs (before loading any model) and resolve scenes, factors and methods.

    ``models``: SavedModel paths or loaded models; None: the bundled model; empty: baselines only
    (then ``factor`` is required). ``factor`` is also the scale of models without metadata. ``blurs``: with
    Wald's protocol, the Gaussian sigmas (in units of the factor; 0: plain block averaging) to degrade the
    references with, one table row per method and blur. ``operator``: the consistency figures the table
    shows (``block`` or opensr-test's ``bilinear``; the reports hold both). ``names``: the scenes' names (default:
    the images' file names).
    """
    blurs = _check_blurs(blurs, lr_paths)
    if operator not in ("block", "bilinear"):
        raise InputError(f"unknown consistency operator '{operator}': choose block or bilinear")
    his, lis, pair_factors = check_inputs(hr_paths, lr_paths, border=border, block_rows=block_rows,
                                          baselines=baselines)
    models, notes = choose_models(models, (his or lis)[0])
    named = list(hr_paths or lr_paths or [])  # scenes are named after the files given
    hr_paths, lr_paths, ordered = order_images(models, hr_paths or [], lr_paths or [])
    if ordered:
        notes += ordered
        his, lis, pair_factors = check_inputs(hr_paths, lr_paths, border=border, block_rows=block_rows,
                                              baselines=baselines)
    reference = bool(his)
    first = (his or lis)[0]  # the band count and names of all the images (check_inputs made them agree)
    if not reference and data_range is not None:
        raise InputError("--data-range sets the peak of PSNR and SSIM, which need --hr references: drop it")
    if factor is not None and factor < 2:
        raise InputError(f"scale factor {factor} must be 2 or more")
    loaded = _load_models(models, factor)
    if not loaded and factor is None and not pair_factors:
        raise InputError("no model given: give --savedmodel, or the scale factor of the baselines")
    _check_models(loaded, first.count, pair_factors)
    if factor is not None and any(f != factor for f in pair_factors):
        raise InputError(f"scale factor {factor} contradicts the pairs' sizes (x{', x'.join(map(str, pair_factors))}): "
                         "drop the factor or give pairs at that scale")
    factors = sorted({m.scale for m in loaded} or set(pair_factors) or {factor})
    model_nodata = next((m.metadata.nodata for m in loaded if m.metadata.nodata is not None), None)
    stems = _unique(list(names) if names else [os.path.splitext(os.path.basename(p))[0] for p in named])
    scene_nodata = lambda info: resolve_nodata(info.nodata, nodata, model_nodata)  # noqa: E731
    scenes = _hr_scenes(stems, his, lis, pair_factors, factors, scene_nodata, border, blurs) if reference \
        else _lr_scenes(stems, lis, factors, scene_nodata, border)
    for scene in scenes:
        _check_panel_window(panel_window, scene)
    methods = _methods(sorted({s.factor for s in scenes}), loaded, baselines, blurs if reference and not lis else (None,))
    options = ApplyOptions(tile_size=tile_size, pad=pad, nodata=nodata, encoding="float32", overwrite=True)
    check_models_options(loaded, options)  # before any image is made
    # Progress in LR pixels: the Wald LR, then each method's output and its statistics.
    work = sum(s.lr_width * s.lr_height * ((s.lr is None) + 2 * sum(m.scores(s) for m in methods)) for s in scenes)
    return EvaluationPlan(tuple(scenes), methods, first.band_names, border, peaks_for(data_range, first.count), options,
                          panel_window, block_rows, reference and not lis, work, reference, operator, tuple(notes))
