"""The results of an evaluation: figures per method (pooled over the scenes and per scene), as a
terminal table, JSON and CSV."""
from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from typing import Iterator, Optional, Sequence, Tuple

from ..io.files import write_text
from . import metrics
from .metrics import ConsistencySums, Scores, ScoreSums, Shift
from .plan import EvaluationPlan, Method
from .scoring import mean_shift


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


def write_reports(evaluation: Evaluation, json_path: str, csv_path: str) -> None:
    """JSON (``Evaluation.to_dict``) and CSV (one row per scope, method and band; scope "all" pools the scenes)."""
    write_text(json_path, json.dumps(evaluation.to_dict(), indent=2) + "\n")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, restval="", lineterminator="\n")
    writer.writeheader()
    scopes = [("all", evaluation.methods)]
    if len(evaluation.scenes) > 1:
        scopes += [(s.name, s.methods) for s in evaluation.scenes]
    for scope, methods in scopes:
        for m in methods:
            writer.writerows(_csv_rows(scope, m, evaluation.bands))
    write_text(csv_path, buffer.getvalue())


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


def _result(m: Method, sums: ScoreSums, cons: ConsistencySums, shift: Shift, peaks) -> MethodResult:
    return MethodResult(m.name, m.kind, m.factor, sums.scores(m.factor, peaks), cons.consistency(shift))


def assemble(plan: EvaluationPlan, per_scene, peaks) -> Evaluation:
    """The figures of each method per scene and pooled over all scenes (sums added, shifts averaged)."""
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
        pooled.append(_result(m, sums, cons, mean_shift([f[2] for f in mine]), peaks))
    return Evaluation(tuple(pooled), tuple(scenes), plan.bands, tuple(float(p) for p in peaks), plan.border,
                      plan.wald, reference=plan.reference)
