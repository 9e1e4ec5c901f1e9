"""The results of an evaluation: figures per method (pooled over the scenes and per scene), as a
terminal table, JSON and CSV."""
from __future__ import annotations

import csv
import io
import json
import math
import warnings
from dataclasses import dataclass
from typing import Iterator, Optional, Sequence, Tuple

import numpy as np

from ..io.files import write_text
from . import metrics
from .metrics import ConsistencySums, Scores, ScoreSums
from .opensr import BORDER as OPENSR_BORDER, OpensrFigures
from .plan import EvaluationPlan, Method
from .scoring import OPERATORS, Figures, mean_shift


@dataclass(frozen=True)
class MethodResult:
    """One row: figures against the reference, consistency by each operator (``block`` means, opensr-test's
    antialiased ``bilinear``), and opensr-test's synthesis and correctness (NaN where not measured)."""

    name: str
    kind: str
    factor: int
    scores: Scores
    consistency: metrics.Consistency  # by block means
    consistency_bilinear: metrics.Consistency
    opensr: OpensrFigures
    blur: Optional[float] = None  # Wald's blur sigma in units of the factor (None: the default, 1/3)

    def by(self, operator: str) -> metrics.Consistency:
        return self.consistency_bilinear if operator == "bilinear" else self.consistency


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
    operator: str = "block"  # the consistency operator the table shows (both are in the reports)

    def method(self, name: str) -> MethodResult:
        for m in self.methods:
            if m.name == name:
                return m
        raise KeyError(f"no method '{name}' (there are: {', '.join(m.name for m in self.methods)})")

    def to_dict(self) -> dict:
        return {
            "protocol": "wald" if self.wald else "pairs" if self.reference else "consistency",
            "border": self.border, "bands": list(self.bands), "operator": self.operator,
            "data_range": [_number(v) for v in self.data_range],
            "methods": [_method_dict(m, self.bands) for m in self.methods],
            "not_measured": not_measured(self),
            "scenes": [{"name": s.name, "hr": s.hr, "lr": s.lr, "factor": s.factor,
                        "methods": [_method_dict(m, self.bands) for m in s.methods]} for s in self.scenes],
        }


def _bias(scores, band: Optional[int] = None) -> float:
    """A mean bias in % (the overall one, or ``band``'s); NaN where not measured."""
    if scores.bias is None:
        return math.nan
    return scores.bias.overall if band is None else scores.bias.bands[band]


def _number(value):
    """JSON has no infinity or NaN: inf becomes "inf" (identical images), NaN null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def _method_dict(m: MethodResult, bands: Sequence[str]) -> dict:
    s, c, b, o = m.scores, m.consistency, m.consistency_bilinear, m.opensr
    return {
        "name": m.name, "kind": m.kind, "factor": m.factor, "blur": m.blur, "pixels": s.pixels,
        "psnr": _number(s.psnr.overall), "ssim": _number(s.ssim.overall), "rmse": _number(s.rmse.overall),
        "sam": _number(s.sam), "ergas": _number(s.ergas), "reflectance": _number(c.reflectance.overall),
        "spectral": _number(c.spectral), "reflectance_bilinear": _number(b.reflectance.overall),
        "spectral_bilinear": _number(b.spectral), "spatial": _number(c.spatial.magnitude),
        "spatial_dy": _number(c.spatial.dy), "spatial_dx": _number(c.spatial.dx), "lr_pixels": c.pixels,
        "synthesis": _number(o.synthesis), "improvement": _number(o.improvement), "omission": _number(o.omission),
        "hallucination": _number(o.hallucination), "bias": _number(_bias(s)),
        "bands": [{"band": name, "psnr": _number(s.psnr.bands[i]), "ssim": _number(s.ssim.bands[i]),
                   "rmse": _number(s.rmse.bands[i]), "reflectance": _number(c.reflectance.bands[i]),
                   "reflectance_bilinear": _number(b.reflectance.bands[i]), "bias": _number(_bias(s, i))}
                  for i, name in enumerate(bands)],
    }


CSV_COLUMNS = ("scene", "method", "kind", "factor", "blur", "band", "psnr", "ssim", "rmse", "sam", "ergas",
               "reflectance", "spectral", "reflectance_bilinear", "spectral_bilinear", "spatial", "spatial_dy",
               "spatial_dx", "synthesis", "improvement", "omission", "hallucination", "pixels", "bias")


def _csv_rows(scope: str, m: MethodResult, bands: Sequence[str]) -> Iterator[dict]:
    s, c, b, o = m.scores, m.consistency, m.consistency_bilinear, m.opensr
    base = {"scene": scope, "method": m.name, "kind": m.kind, "factor": m.factor, "pixels": s.pixels,
            "blur": "" if m.blur is None else m.blur}
    yield dict(base, band="all", psnr=s.psnr.overall, ssim=s.ssim.overall, rmse=s.rmse.overall, sam=s.sam,
               ergas=s.ergas, reflectance=c.reflectance.overall, spectral=c.spectral,
               reflectance_bilinear=b.reflectance.overall, spectral_bilinear=b.spectral,
               spatial=c.spatial.magnitude, spatial_dy=c.spatial.dy, spatial_dx=c.spatial.dx,
               synthesis=o.synthesis, improvement=o.improvement, omission=o.omission, hallucination=o.hallucination,
               bias=_bias(s))
    for i, name in enumerate(bands):
        yield dict(base, band=name, psnr=s.psnr.bands[i], ssim=s.ssim.bands[i], rmse=s.rmse.bands[i],
                   reflectance=c.reflectance.bands[i], reflectance_bilinear=b.reflectance.bands[i], bias=_bias(s, i))


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


OPERATOR_NAMES = {"block": "SR averaged by blocks back to the LR grid vs LR",
                  "bilinear": "SR brought back to the LR grid by antialiased bilinear downsampling "
                              "(opensr-test's operator) vs LR"}


def _cell(value: float, spec: str) -> str:
    """A figure in the table's format, or n/a where it could not be measured (``not_measured`` says why)."""
    width = int("".join(c for c in spec.split(".")[0] if c.isdigit()) or 0)
    return f"{'n/a':>{width}}" if isinstance(value, float) and math.isnan(value) else format(value, spec)


def _columns(m: MethodResult, operator: str) -> dict:
    s, c, o = m.scores, m.by(operator), m.opensr
    return {"PSNR": s.psnr.overall, "SSIM": s.ssim.overall, "RMSE": s.rmse.overall, "SAM": s.sam,
            "ERGAS": s.ergas, "refl.": c.reflectance.overall, "spec.": c.spectral, "shift": c.spatial.magnitude,
            "synth.": o.synthesis, "halluc.": o.hallucination}


def _why(column: str, evaluation: "Evaluation") -> str:
    """Why a figure could not be measured on these images (the conditions of the scoring code)."""
    border = evaluation.border
    factors = sorted({s.factor for s in evaluation.scenes}) or [1]
    lower = " or lower --border" if border else ""
    if column == "SSIM":
        size = 2 * metrics.SSIM_RADIUS + 1
        return (f"SSIM needs {size} x {size} compared HR pixels in a row (inside the {border}-pixel border, away from "
                f"nodata), which these images do not have: give larger images{lower}")
    if column in ("refl.", "spec."):
        return (f"consistency needs LR pixels whose {factors[-1]} x {factors[-1]} HR block is compared whole (inside "
                f"the {border}-pixel border, away from nodata), which these images do not have: give larger "
                f"images{lower}")
    if column == "shift":
        return ("the shift needs 4 or more compared LR pixels of an image that is not flat, which these images do "
                f"not have: give larger images{lower}")
    if column in ("synth.", "halluc."):
        need = min(OPENSR_BORDER * 2 // f + 2 for f in factors)
        return (f"synthesis and hallucination (opensr-test) need a central window of {need} x {need} LR pixels or more "
                f"without nodata, which these images do not have: give larger images")
    return f"{column} needs compared HR pixels, which these images do not have: give larger images{lower}"


def not_measured(evaluation: "Evaluation") -> dict:
    """The table's figures that could not be measured (n/a, NaN in the reports), each with why."""
    reasons = {}
    keep = None if evaluation.reference else ("refl.", "spec.", "shift")
    for m in evaluation.methods:
        for column, value in _columns(m, evaluation.operator).items():
            if (keep is None or column in keep) and math.isnan(value) and column not in reasons:
                reasons[column] = _why(column, evaluation)
    if "synth." in reasons and "halluc." in reasons:
        del reasons["halluc."]
    if "refl." in reasons and "spec." in reasons:
        del reasons["spec."]
    return reasons


def format_table(evaluation: Evaluation) -> str:
    """The pooled figures, one row per method, for the terminal; consistency by ``evaluation.operator``; a
    figure that could not be measured is n/a, and a line under the table says why."""
    width = max([18] + [len(m.name) for m in evaluation.methods])
    header = (f"{'method':<{width}} {'PSNR dB':>8} {'SSIM':>7} {'RMSE':>9} {'SAM °':>7} {'ERGAS':>7} | "
              f"{'refl.':>9} {'spec. °':>8} {'shift px':>8} | {'synth.':>8} {'halluc.':>7}")
    if not evaluation.reference:
        header = f"{'method':<{width}} {'refl.':>9} {'spec. °':>8} {'shift px':>8}"
    lines = [header, "-" * len(header)]
    for m in evaluation.methods:
        v = _columns(m, evaluation.operator)
        figures = "" if not evaluation.reference else (
            f" {_cell(v['PSNR'], '>8.2f')} {_cell(v['SSIM'], '>7.4f')} {_cell(v['RMSE'], '>9.4g')} "
            f"{_cell(v['SAM'], '>7.3f')} {_cell(v['ERGAS'], '>7.3f')} |")
        extra = "" if not evaluation.reference else f" | {_cell(v['synth.'], '>8.4g')} {_cell(v['halluc.'], '>7.3f')}"
        lines.append(f"{m.name:<{width}}{figures} {_cell(v['refl.'], '>9.4g')} {_cell(v['spec.'], '>8.3f')} "
                     f"{_cell(v['shift'], '>8.3f')}{extra}")
    lines.append(_footer(evaluation))
    lines += [f"n/a: {why}" for why in not_measured(evaluation).values()]
    return "\n".join(lines)


def _footer(evaluation: Evaluation) -> str:
    images = len({s.hr or s.lr for s in evaluation.scenes})
    operator = OPERATOR_NAMES[evaluation.operator]
    if not evaluation.reference:
        pixels = evaluation.methods[0].consistency.pixels if evaluation.methods else 0
        return (f"no reference: consistency with the LR image only; {images} image(s), {pixels} LR pixels "
                f"compared (nodata and a {evaluation.border}-HR-pixel border excluded); consistency: {operator}")
    pixels = evaluation.methods[0].scores.pixels if evaluation.methods else 0
    protocol = "Wald's protocol (LR = degraded HR)" if evaluation.wald else "true LR/HR pairs"
    return (f"{protocol}; {images} image(s), {pixels} HR pixels compared "
            f"(nodata and a {evaluation.border}-pixel border excluded); consistency: {operator}; "
            "synthesis and hallucination as opensr-test 1.3.3 defines them, on the central window")


_NO_OPENSR = OpensrFigures(math.nan, math.nan, math.nan)


def _pooled_opensr(values: Sequence[Optional[OpensrFigures]]) -> OpensrFigures:
    """opensr-test's figures averaged over the scenes where they were measured."""
    values = [v for v in values if v is not None]
    if not values:
        return _NO_OPENSR
    keys = ("reflectance", "spectral", "spatial", "synthesis", "improvement", "omission", "hallucination")
    with np.errstate(invalid="ignore"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return OpensrFigures(*(float(np.nanmean([getattr(v, k) for v in values])) for k in keys))


def _result(m: Method, figures: Figures, peaks) -> MethodResult:
    return MethodResult(m.name, m.kind, m.factor, figures.scores.scores(m.factor, peaks),
                        figures.consistency["block"].consistency(figures.shift),
                        figures.consistency["bilinear"].consistency(figures.shift),
                        figures.opensr or _NO_OPENSR, m.blur)


def _pooled(m: Method, mine: Sequence[Figures], nbands: int) -> Figures:
    consistency = {op: sum((f.consistency[op] for f in mine), ConsistencySums.empty(nbands)) for op in OPERATORS}
    return Figures(sum((f.scores for f in mine), ScoreSums.empty(nbands)), consistency,
                   mean_shift([f.shift for f in mine]), _pooled_opensr([f.opensr for f in mine]))


def assemble(plan: EvaluationPlan, per_scene, peaks) -> Evaluation:
    """The figures of each method per scene and pooled over all scenes (sums added, shifts averaged)."""
    scenes, pooled = [], []
    for scene, figures in per_scene:
        rows = tuple(_result(m, figures[m.name], peaks) for m in plan.methods if m.name in figures)
        scenes.append(SceneResult(scene.name, scene.hr.path if scene.hr else None, scene.lr.path if scene.lr else None,
                                  scene.factor, rows))
    nbands = len(plan.bands)
    for m in plan.methods:
        mine = [figures[m.name] for _, figures in per_scene if m.name in figures]
        pooled.append(_result(m, _pooled(m, mine, nbands), peaks))
    return Evaluation(tuple(pooled), tuple(scenes), plan.bands, tuple(float(p) for p in peaks), plan.border,
                      plan.wald, reference=plan.reference, operator=plan.operator)
