"""Evaluation over many scenes (a corpus index, a scenes CSV, a list of products): each scene scored by Wald's
protocol as one image is (fusion models against cubic upsampling and the classical fusions; single-image models
against bicubic and Lanczos, at each ``--degradation`` blur), then a row per scene, method and band (RMSE and its
ratio to bicubic's, PSNR, SSIM, spectral angle, mean bias in %) and a summary over the scenes: the mean and the
worst of each figure, as ``scenes.csv``, ``summary.csv`` and ``summary.json``."""
from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import InputError, ModelError
from ..io.files import write_text
from ..io.paths import Read, Target, check_targets, csv_with_header, json_with_keys
from ..io.scenes import SceneFiles, group_images
from ..model.bundled import default_model_path
from ..model.contract import read_metadata
from .fusion import plan_fusion_scenes
from .plan import DEFAULT_BORDER, EvaluationPlan, plan_evaluation
from .reports import Evaluation, MethodResult

SINGLE_BASELINES = ("bicubic", "lanczos")
REFERENCE = "bicubic"  # RMSE ratios are to bicubic (GDAL's cubic) upsampling of the same LR, at the same blur
SCENE_COLUMNS = ("scene", "tile", "date", "level", "method", "kind", "blur", "band", "rmse", "rmse_ratio",
                 "rmse_ratio_regression", "psnr", "psnr_gain", "ssim", "sam", "bias")
SUMMARY_COLUMNS = ("method", "kind", "blur", "band", "scenes", "rmse_mean", "rmse_worst", "rmse_ratio_mean",
                   "rmse_ratio_worst", "rmse_ratio_regression_mean", "rmse_ratio_regression_worst", "psnr_mean",
                   "psnr_worst", "psnr_gain_mean", "psnr_gain_worst", "ssim_mean", "ssim_worst", "sam_mean",
                   "sam_worst", "bias_mean", "bias_worst", "worst_scene")
SCENES_CSV, SUMMARY_CSV, SUMMARY_JSON = "scenes.csv", "summary.csv", "summary.json"


def select_scenes(scenes: Sequence[SceneFiles], tiles: Sequence[str] = ()) -> List[SceneFiles]:
    """The scenes of ``tiles`` (all without), each tile named checked to have a scene."""
    if not tiles:
        return list(scenes)
    known = {s.tile for s in scenes}
    unknown = [t for t in tiles if t not in known]
    if unknown:
        raise InputError(f"--tiles names {', '.join(unknown)}, which no scene has (tiles: {', '.join(sorted(known))})")
    return [s for s in scenes if s.tile in tiles]


def _model_inputs(models: Sequence[str]) -> Tuple[Tuple[str, ...], ...]:
    """The bands of each input of the models (all the same), from their metadata."""
    found = []
    for path in models:
        meta = read_metadata(path)
        if meta is None:
            raise ModelError(f"model '{path}' has no sr4rs metadata: give --bands, the bands it takes, in order")
        found.append(tuple(i.bands for i in meta.inputs))
    if len(set(found)) > 1:
        raise ModelError("the models take different inputs: evaluate models of the same bands together, the others "
                         "in another run")
    return found[0]


def plan_scene_evaluation(models: Optional[Sequence[str]], scenes: Sequence[SceneFiles], *,
                          bands: Optional[Sequence[str]] = None, sensor: Optional[str] = None,
                          tiles: Sequence[str] = (), blurs: Optional[Sequence[float]] = None,
                          nodata: Optional[float] = None, border: int = DEFAULT_BORDER, data_range=None,
                          tile_size: Optional[int] = None, pad: Optional[int] = None,
                          operator: str = "block") -> EvaluationPlan:
    """Every scene of ``tiles`` (all without) by Wald's protocol: a fusion model's resolution groups (its input
    bands, or ``bands``, found in each scene), or a single-image model's bands (one group) degraded at each blur of
    ``blurs``. Models: SavedModel paths (None: the bundled default)."""
    models = list(models) if models else [default_model_path()]
    chosen = select_scenes(scenes, tiles)
    inputs = _model_inputs(models) if not bands else None
    fusion = len(inputs) > 1 if inputs else None
    wanted = list(bands) if bands else [b for group in inputs for b in group]
    groups = [_groups(s, wanted, sensor) for s in chosen]
    fusion = len(groups[0]) > 1 if fusion is None else fusion
    names = [s.name for s in chosen]
    if fusion:
        if blurs:
            raise InputError("--degradation applies to single-image models: fusion scenes are degraded by the "
                             "Wald factor's own filter; drop --degradation")
        return plan_fusion_scenes(models, groups, nodata=nodata, border=border, tile_size=tile_size, pad=pad,
                                  data_range=data_range, names=names, operator=operator)
    several = [s.name for s, g in zip(chosen, groups) if len(g) != 1]
    if several:
        raise InputError(f"scene '{several[0]}' gives the bands in several resolution groups: a single-image model "
                         "takes bands of one resolution (--bands)")
    return plan_evaluation(models, [g[0] for g in groups], nodata=nodata, border=border, tile_size=tile_size, pad=pad,
                           data_range=data_range, baselines=SINGLE_BASELINES, blurs=blurs, operator=operator,
                           names=names)


def _groups(scene: SceneFiles, bands: Sequence[str], sensor: Optional[str]) -> List[str]:
    try:
        return group_images(scene, bands, sensor)
    except InputError as err:
        raise InputError(f"{err}" if scene.name in str(err) else f"scene '{scene.name}': {err}") from None


# --------------------------------------------------------------------------- figures per scene and summary


@dataclass(frozen=True)
class SceneRow:
    """One scene's figures for one method and band (``band`` "all": over the bands): RMSE and its ratios to bicubic's
    and to the classical regression fusion's (fusion scenes), PSNR and its gain over bicubic's (dB), SSIM, spectral
    angle (over the bands only), mean bias (%)."""

    scene: SceneFiles
    method: MethodResult
    band: str
    rmse: float
    rmse_ratio: float
    rmse_ratio_regression: float
    psnr: float
    psnr_gain: float
    ssim: float
    sam: float
    bias: float


def _reference(methods: Sequence[MethodResult], m: MethodResult, name: str = REFERENCE) -> Optional[MethodResult]:
    """The baseline ``name`` scored at the same factor and blur as ``m``."""
    for other in methods:
        if other.kind == "baseline" and other.name.split(" ")[0] == name and \
                (other.factor, other.blur) == (m.factor, m.blur):
            return other
    return None


def _figures(m: MethodResult, cubic: Optional[MethodResult], regression: Optional[MethodResult],
             band: Optional[int]) -> dict:
    """The row's figures for one band (None: over the bands)."""
    def get(result, figure):
        if result is None:
            return math.nan
        value = getattr(result.scores, figure)
        return value.overall if band is None else value.bands[band]

    bias = m.scores.bias
    return dict(rmse=get(m, "rmse"), rmse_ratio=_ratio(get(m, "rmse"), get(cubic, "rmse")),
                rmse_ratio_regression=_ratio(get(m, "rmse"), get(regression, "rmse")), psnr=get(m, "psnr"),
                psnr_gain=get(m, "psnr") - get(cubic, "psnr"), ssim=get(m, "ssim"),
                sam=m.scores.sam if band is None else math.nan,
                bias=math.nan if bias is None else bias.overall if band is None else bias.bands[band])


def scene_rows(evaluation: Evaluation, scenes: Sequence[SceneFiles]) -> List[SceneRow]:
    """A row per scene, method and band (and "all"), scenes matched to ``scenes`` by name (blur suffix aside)."""
    by_name = {s.name: s for s in scenes}
    rows = []
    for result in evaluation.scenes:
        scene = by_name.get(result.name) or by_name[result.name.rsplit("_blur", 1)[0]]
        for m in result.methods:
            cubic, regression = _reference(result.methods, m), _reference(result.methods, m, "regression")
            for i, band in enumerate(("all",) + tuple(evaluation.bands)):
                rows.append(SceneRow(scene, m, band, **_figures(m, cubic, regression, None if i == 0 else i - 1)))
    return rows


def _ratio(value: float, reference: float) -> float:
    return value / reference if reference and math.isfinite(reference) else math.nan


# Which way is worse, per figure: the largest RMSE, ratio, spectral angle and |bias|; the smallest PSNR and SSIM.
_WORST = {"rmse": max, "rmse_ratio": max, "rmse_ratio_regression": max, "psnr": min, "psnr_gain": min, "ssim": min,
          "sam": max}


def summary(rows: Sequence[SceneRow]) -> List[dict]:
    """Per method and band: the mean and the worst over the scenes of each figure, and the scene of the worst RMSE
    ratio (or RMSE, without a reference)."""
    groups: Dict[Tuple[str, str], List[SceneRow]] = {}
    for row in rows:
        groups.setdefault((row.method.name, row.band), []).append(row)
    out = []
    for (name, band), mine in groups.items():
        m = mine[0].method
        entry = {"method": name, "kind": m.kind, "blur": m.blur, "band": band, "scenes": len(mine)}
        for figure, pick in _WORST.items():
            values = [getattr(r, figure) for r in mine if math.isfinite(getattr(r, figure))]
            entry[f"{figure}_mean"] = float(np.mean(values)) if values else math.nan
            entry[f"{figure}_worst"] = pick(values) if values else math.nan
        biases = [r.bias for r in mine if math.isfinite(r.bias)]
        entry["bias_mean"] = float(np.mean(biases)) if biases else math.nan
        entry["bias_worst"] = max(biases, key=abs) if biases else math.nan
        key = "rmse_ratio" if any(math.isfinite(r.rmse_ratio) for r in mine) else "rmse"
        entry["worst_scene"] = max(mine, key=lambda r: getattr(r, key) if math.isfinite(getattr(r, key)) else -1).scene.name
        out.append(entry)
    return out


def _row_dict(row: SceneRow) -> dict:
    return {"scene": row.scene.name, "tile": row.scene.tile, "date": row.scene.date, "level": row.scene.level,
            "method": row.method.name, "kind": row.method.kind, "blur": row.method.blur, "band": row.band,
            "rmse": row.rmse, "rmse_ratio": row.rmse_ratio, "rmse_ratio_regression": row.rmse_ratio_regression,
            "psnr": row.psnr, "psnr_gain": row.psnr_gain, "ssim": row.ssim, "sam": row.sam, "bias": row.bias}


def _csv(columns: Sequence[str], records: Sequence[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, restval="", lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({k: ("" if v is None or isinstance(v, float) and math.isnan(v) else v)
                         for k, v in record.items()})
    return buffer.getvalue()


def _json_safe(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def scene_report_paths(out_dir: str) -> Tuple[str, str, str]:
    return tuple(os.path.join(out_dir, name) for name in (SCENES_CSV, SUMMARY_CSV, SUMMARY_JSON))


def check_scene_reports(out_dir: str, overwrite: bool, reads: Sequence[str] = ()) -> None:
    """The cross-scene reports in ``out_dir``: none of ``reads`` (the scene lists, the scenes' files), replaced only
    with ``overwrite`` and when earlier ones."""
    scenes, table, report = scene_report_paths(out_dir)
    check_targets([Target(scenes, "--out", "per-scene table", csv_with_header(",".join(SCENE_COLUMNS))),
                   Target(table, "--out", "summary table", csv_with_header(",".join(SUMMARY_COLUMNS))),
                   Target(report, "--out", "summary report", json_with_keys("summary", "scenes"))],
                  [Read(path, "--scenes") for path in reads], overwrite)


def write_scene_reports(out_dir: str, rows: Sequence[SceneRow], overwrite: bool = False) -> Tuple[str, str, str]:
    """``scenes.csv`` (a row per scene, method and band), ``summary.csv`` and ``summary.json`` (both, and the
    scenes' tiles and dates)."""
    paths = scene_report_paths(out_dir)
    records, summed = [_row_dict(r) for r in rows], summary(rows)
    scenes = list(dict.fromkeys(r.scene for r in rows))
    write_text(paths[0], _csv(SCENE_COLUMNS, records), overwrite)
    write_text(paths[1], _csv(SUMMARY_COLUMNS, summed), overwrite)
    report = {"reference": REFERENCE, "scenes": [{"name": s.name, "tile": s.tile, "date": s.date, "level": s.level}
                                                 for s in scenes],
              "tiles": sorted({s.tile for s in scenes}), "summary": summed, "rows": records}
    write_text(paths[2], json.dumps(_json_safe(report), indent=2) + "\n", overwrite)
    return paths


def format_summary(rows: Sequence[SceneRow]) -> str:
    """The summary over all bands, one line per method: mean and worst RMSE ratio to bicubic, PSNR gain over
    bicubic, SSIM, SAM, and the worst band bias over the scenes."""
    entries = [e for e in summary(rows) if e["band"] == "all"]
    scenes = len({r.scene.name for r in rows})
    width = max([18] + [len(e["method"]) for e in entries])
    header = (f"{'method':<{width}} {'RMSE/bicubic':>13} {'worst':>6} {'dB/bicubic':>10} {'worst':>6} {'SSIM':>6} "
              f"{'worst':>6} {'SAM °':>6} {'worst':>6} {'worst bias %':>13}  worst scene")
    lines = [header, "-" * len(header)]
    for e in entries:
        lines.append(f"{e['method']:<{width}} {e['rmse_ratio_mean']:>13.3f} {e['rmse_ratio_worst']:>6.3f} "
                     f"{e['psnr_gain_mean']:>+10.2f} {e['psnr_gain_worst']:>+6.2f} {e['ssim_mean']:>6.4f} "
                     f"{e['ssim_worst']:>6.4f} {e['sam_mean']:>6.3f} {e['sam_worst']:>6.3f} {e['bias_worst']:>+13.2f}  "
                     f"{e['worst_scene']}")
    lines.append(f"over {scenes} scenes: mean, and worst of any scene; bias: a band's mean against the truth's, the "
                 "worst band of the worst scene; worst scene: the largest RMSE ratio")
    return "\n".join(lines)
