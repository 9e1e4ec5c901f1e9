"""Running an evaluation: each method's output for each scene (one on disk at a time), scored block by
block, then the reports and the panel."""
from __future__ import annotations

import logging
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..errors import InputError, OutputError
from ..geo.nodata import resolve_nodata
from ..inference.engine import run_apply
from ..io.files import check_output_path, remove_quietly
from ..io.geotiff import GeoTiffSink
from ..io.images import upsample
from ..io.paths import Read, Target, check_targets, csv_with_header, json_with_keys, png_file
from ..io.rasters import GdalSource
from ..model.load import LoadedModel
from ..model.statistics import input_warning
from ..progress import CancelToken, Progress, Work
from .fusion import guide_band, pansharpen, regression_baseline
from .panel import panel_crop, write_panel
from .plan import BASELINES, DEFAULT_BORDER, EvaluationPlan, Method, Scene, plan_evaluation
from .reports import CSV_COLUMNS, Evaluation, assemble, write_reports
from .scoring import (Figures, check_valid_pixels, measure_data_range, score_consistency, score_scene, write_clean_lr,
                      write_degraded, write_wald_lr)

JSON_NAME, CSV_NAME = "evaluation.json", "evaluation.csv"


def output_paths(plan: EvaluationPlan, out_dir: str) -> Tuple[str, str, Dict[str, str]]:
    """evaluation.json, evaluation.csv and the panel of each scene in ``out_dir``."""
    panels = {s.name: os.path.join(out_dir, "panel.png" if len(plan.scenes) == 1 else f"panel_{s.name}.png")
              for s in plan.scenes}
    return os.path.join(out_dir, JSON_NAME), os.path.join(out_dir, CSV_NAME), panels


def _targets(out_dir: str, panels: Sequence[str] = ()) -> List[Target]:
    targets = [Target(out_dir, "--out", "evaluation folder", folder=True),
               Target(os.path.join(out_dir, JSON_NAME), "--out", "evaluation report", json_with_keys("protocol", "methods")),
               Target(os.path.join(out_dir, CSV_NAME), "--out", "evaluation table", csv_with_header(",".join(CSV_COLUMNS)))]
    return targets + [Target(p, "--out", "evaluation panel", png_file) for p in panels]


def check_out_dir(out_dir: str, overwrite: bool, reads: Sequence[str] = (), panels: Sequence[str] = ()) -> None:
    """Before loading any model: --out must be a folder that holds no input and lies in none; existing
    reports are replaced only with ``overwrite`` and only when they are earlier reports."""
    check_targets(_targets(out_dir, panels), [Read(p, "input") for p in reads], overwrite)


def _prepare_out_dir(plan: EvaluationPlan, out_dir: str, overwrite: bool, with_panels: bool = True):
    json_path, csv_path, panels = output_paths(plan, out_dir)
    panels = panels if with_panels else {}
    models = [m.model.path for m in plan.methods if m.model is not None]
    check_out_dir(out_dir, overwrite, list(plan.inputs) + models, list(panels.values()))
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as err:
        raise OutputError(f"cannot create --out folder '{out_dir}' ({err.strerror}): choose another") from None
    for path in (json_path, csv_path, *panels.values()):
        check_output_path(path, "--out")
    return json_path, csv_path, panels


@dataclass(frozen=True)
class _SceneImages:
    """The LR image models run on, the one baselines interpolate (its holes a tagged number, which GDAL
    leaves out rather than spreads), and the finer groups of a fusion scene (finest first), all degraded."""

    lr: str
    clean_lr: str
    guides: Tuple[str, ...] = ()


def _produce(scene: Scene, index: int, method: Method, images: _SceneImages, folder: str, plan: EvaluationPlan,
             work: Work) -> str:
    """One method's output for one scene, as a float32 GeoTIFF in ``folder``."""
    path = os.path.join(folder, f"{scene.name}_{index:02d}_{method.name.replace(' ', '_')}.tif")
    if method.model is None and method.fusion is None:
        return upsample(images.clean_lr, path, scene.factor, method.resampling, work)
    if method.fusion is not None:
        return _classical_fusion(scene, method, images, path, folder, work)
    sources = [GdalSource(p) for p in images.guides + (images.lr,)]
    try:
        options = plan.apply_options
        run_apply(sources, method.model, lambda spec: GeoTiffSink(path, spec, options.creation_options,
                                                                  overwrite=True),
                  options, progress=work.progress, cancel=work.cancel)
    finally:
        for source in sources:
            source.close()
    return path


def _classical_fusion(scene: Scene, method: Method, images: _SceneImages, path: str, folder: str, work: Work) -> str:
    cubic = upsample(images.clean_lr, path[:-4] + "_cubic.tif", scene.factor, "cubic")
    try:
        if method.fusion == "regression":
            return regression_baseline(images.guides, images.clean_lr, scene, folder, path, cubic, work)
        band = guide_band(images.guides[0], images.clean_lr, scene)
        pansharpen(method.fusion, images.guides[0], band, cubic, path)
        work.advance(scene.lr_width * scene.lr_height)
        return path
    finally:
        remove_quietly(cubic)


def _scratch_bytes(plan: EvaluationPlan, keep_images: bool) -> int:
    """Disk the run needs at most: a scene's Wald LR and one output at a time (all of them, kept)."""
    def scene_bytes(scene: Scene) -> Tuple[int, int]:
        lr = scene.lr_width * scene.lr_height * scene.count * 4  # the Wald LR, or the baselines' copy of the LR
        return lr, scene.lr_width * scene.lr_height * scene.factor ** 2 * scene.count * 4

    if keep_images:
        return sum(lr + out * sum(m.scores(s) for m in plan.methods)
                   for s in plan.scenes for lr, out in [scene_bytes(s)])
    return max(lr + out for lr, out in map(scene_bytes, plan.scenes))


def _size(n: int) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e8 else f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


def check_free_space(folder: str, nbytes: int) -> None:
    """An OutputError, before any computing, if ``folder`` cannot hold ``nbytes`` (as uncompressed float32)."""
    free = shutil.disk_usage(folder).free
    if free < nbytes:
        raise OutputError(f"evaluating needs up to {_size(nbytes)} of scratch images in '{folder}' but only "
                          f"{_size(free)} are free ({_size(nbytes - free)} short): free some space or give --out "
                          "on a larger disk")


class _Scratch:
    """Where outputs are made: a temporary folder removed afterwards, or ``out/images`` when kept."""

    def __init__(self, out_dir: Optional[str], keep_images: bool):
        self.kept = keep_images and bool(out_dir)
        if self.kept:
            self.folder = os.path.join(out_dir, "images")
            os.makedirs(self.folder, exist_ok=True)
        else:
            self.folder = tempfile.mkdtemp(prefix=".sr4rs-evaluate-", dir=out_dir or None)

    def done_with(self, path: str) -> None:
        if not self.kept:
            remove_quietly(path)

    def close(self) -> None:
        if not self.kept:
            shutil.rmtree(self.folder, ignore_errors=True)


def _lr_images(scene: Scene, plan: EvaluationPlan, scratch: _Scratch, work: Work) -> _SceneImages:
    """A scene's LR images: the Wald LR (and, for a fusion scene, every group degraded alike), or the given
    LR image and its copy for the baselines."""
    if scene.groups:
        degraded = tuple(write_degraded(g, scene.factor, resolve_nodata(g.nodata, scene.nodata),
                                        os.path.join(scratch.folder, f"{scene.name}_group{i}.tif"), plan.block_rows,
                                        work) for i, g in enumerate(scene.groups))
        return _SceneImages(degraded[-1], degraded[-1], degraded[:-1])
    if scene.lr is None:
        wald = write_wald_lr(scene, os.path.join(scratch.folder, f"{scene.name}_lr.tif"), plan.block_rows, work)
        return _SceneImages(wald, wald)
    clean = write_clean_lr(scene, scene.lr.path, os.path.join(scratch.folder, f"{scene.name}_lr_clean.tif"),
                           plan.block_rows)
    return _SceneImages(scene.lr.path, clean)


def _score(scene: Scene, plan: EvaluationPlan, scratch: _Scratch, peaks, panel: bool, work: Work):
    """Every method's figures on ``scene`` (name -> figures), and the panel tiles when ``panel``."""
    methods = [m for m in plan.methods if m.scores(scene)]
    images = _lr_images(scene, plan, scratch, work)
    figures: Dict[str, Figures] = {}
    shown = []
    for i, m in enumerate(methods):  # one output on disk at a time
        path = _produce(scene, i, m, images, scratch.folder, plan, work)
        if scene.hr is not None:
            figures.update(score_scene(scene, images.lr, {m.name: path}, peaks, plan.border, plan.block_rows, work))
        else:
            figures.update(score_consistency(scene, images.lr, {m.name: path}, plan.border, plan.block_rows, work))
        if panel and (m.model is not None or m.resampling == BASELINES["bicubic"]):
            shown.append((m.name,) + panel_crop(scene, path, plan.panel_window))
        scratch.done_with(path)
    for extra in {images.clean_lr, *images.guides} - {images.lr}:
        scratch.done_with(extra)
    return images.lr, figures, shown


def warn_statistics(plan: EvaluationPlan) -> Optional[str]:
    """One warning (logger ``sr4rs``) when some scenes' inputs look unlike the data a model was trained on (the
    statistics its metadata records), saying on how many scenes; returns the line, or None."""
    checks = {}
    for method in plan.methods:
        for scene in plan.scenes if method.model is not None else ():
            paths = tuple(g.path for g in scene.groups) if scene.groups else ((scene.hr or scene.lr).path,)
            checks.setdefault((method.model.path, paths), (method.model, scene.nodata))
    found = [line for (_, paths), (model, nodata) in checks.items()
             for line in [input_warning(paths, model.metadata, f"'{model.name}'", nodata)] if line]
    if not found:
        return None
    line = found[0] + (f" ({len(found)} of {len(checks)} scenes so)" if len(checks) > 1 else "")
    logging.getLogger("sr4rs").warning("warning: %s", line)
    return line


def _check_compared(evaluation: Evaluation) -> None:
    counted = [m.scores.pixels if evaluation.reference else m.consistency.pixels for m in evaluation.methods]
    if counted and not any(counted):
        raise InputError(f"no pixel is left to compare once nodata and a {evaluation.border}-pixel --border around "
                         "it and the image edges are left out: lower --border, or check --nodata")


def run_evaluation(plan: EvaluationPlan, out_dir: Optional[str] = None, *, overwrite: bool = False,
                   keep_images: bool = False, progress: Optional[Progress] = None,
                   cancel: Optional[CancelToken] = None, panels: bool = True) -> Evaluation:
    """Compute every method on every scene and score them; with ``out_dir``, write evaluation.json,
    evaluation.csv and (``panels``) a panel PNG per scene (``keep_images``: also the LR and output images, in
    ``out_dir/images``). ``progress`` is called with LR pixels done (``plan.work`` in all)."""
    paths = _prepare_out_dir(plan, out_dir, overwrite, panels) if out_dir else None
    work = Work(progress, cancel)
    scratch = _Scratch(out_dir, keep_images)
    per_scene, panels = [], []
    try:
        check_free_space(scratch.folder, _scratch_bytes(plan, scratch.kept))
        check_valid_pixels(plan.scenes, plan.block_rows, work)
        warn_statistics(plan)
        if plan.data_range is not None:
            peaks = plan.data_range
        elif plan.reference:
            peaks = measure_data_range(plan.scenes, plan.block_rows, work)
        else:
            peaks = np.full(len(plan.bands), math.nan)
        for scene in plan.scenes:
            lr_path, figures, shown = _score(scene, plan, scratch, peaks, paths is not None and scene.name in paths[2], work)
            per_scene.append((scene, figures))
            if paths and scene.name in paths[2]:
                panels.append(write_panel(scene, lr_path, shown, paths[2][scene.name], plan.panel_window))
            if scene.lr is None:
                scratch.done_with(lr_path)  # this scene's Wald LR (or its degraded coarsest group)
    finally:
        scratch.close()
    evaluation = assemble(plan, per_scene, peaks)
    _check_compared(evaluation)
    if paths:
        evaluation = replace(evaluation, json_path=paths[0], csv_path=paths[1], panels=tuple(panels))
        write_reports(evaluation, paths[0], paths[1])
    return evaluation


def evaluate(models: Optional[Sequence[Union[str, LoadedModel]]], hr_paths: Sequence[str],
             lr_paths: Optional[Sequence[str]] = None, out_dir: Optional[str] = None, *,
             factor: Optional[int] = None, nodata: Optional[float] = None, border: int = DEFAULT_BORDER,
             tile_size: Optional[int] = None, pad: Optional[int] = None,
             panel_window: Optional[Tuple[int, int, int]] = None, data_range=None,
             baselines: Sequence[str] = tuple(BASELINES), overwrite: bool = False, keep_images: bool = False,
             block_rows: Optional[int] = None, blurs: Optional[Sequence[float]] = None, operator: str = "block",
             progress: Optional[Progress] = None, cancel: Optional[CancelToken] = None) -> Evaluation:
    """Score ``models`` (SavedModel paths; None: the bundled model) and the GDAL baselines on the HR
    references ``hr_paths``, with the LR images ``lr_paths`` (same order) or, without them, by Wald's
    protocol: each HR image degraded by the model's factor (``sr4rs.geo.degrade.degrade``).

    Pixels that are nodata (the HR tag, else ``nodata``, else the model's metadata) in the HR or LR
    image, or within ``border`` HR pixels of them or of the image edge, are left out. ``data_range``
    (one peak or one per band) sets the PSNR/SSIM peak; default: the references' valid max - min per band.
    Sizes (``tile_size``, ``pad``) are in HR pixels, as for ``sr4rs apply``. See ``run_evaluation``.
    """
    plan = plan_evaluation(models, hr_paths, lr_paths, factor=factor, nodata=nodata, border=border,
                           tile_size=tile_size, pad=pad, panel_window=panel_window, data_range=data_range,
                           baselines=baselines, block_rows=block_rows, blurs=blurs, operator=operator)
    return run_evaluation(plan, out_dir, overwrite=overwrite, keep_images=keep_images, progress=progress,
                          cancel=cancel)
