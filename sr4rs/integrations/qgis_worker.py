"""The process the QGIS plugin runs sr4rs in: one job per process, in the Python environment that has sr4rs
and TensorFlow (which need not be QGIS's own: their numpy and GDAL can differ from QGIS's).

Protocol, one JSON object per line. The first line on standard input is the job ``{"task": ..., "params":
{...}}``; a later line ``cancel`` (or standard input closing) cancels it within one batch, leaving nothing
behind. Standard output carries events: ``{"event": "progress", "percent": 12.5}``, ``{"event": "log",
"text": ...}``, then one of ``{"event": "result", ...}``, ``{"event": "error", "kind": ..., "message": ...}``
or ``{"event": "cancelled"}``. Run it as ``python -m sr4rs.integrations.qgis_worker``.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import threading
from typing import Any, Callable, Dict, Optional

from .. import api
from ..errors import Cancelled, Sr4rsError

_out_lock = threading.Lock()


def emit(event: str, **fields: Any) -> None:
    with _out_lock:
        sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
        sys.stdout.flush()


class Percent:
    """A progress callback (units done) that emits whole tenths of a percent of ``total``."""

    def __init__(self, total: float, start: float = 0.0, span: float = 100.0):
        self.total, self.start, self.span = max(float(total), 1.0), start, span
        self.done, self._last = 0.0, None

    def __call__(self, n: float) -> None:
        self.done += n
        self.set(self.done / self.total)

    def set(self, fraction: float) -> None:
        percent = round(self.start + self.span * min(fraction, 1.0), 1)
        if percent != self._last:
            self._last = percent
            emit("progress", percent=percent)


def require_tensorflow() -> None:
    """An error naming this Python and the fix when TensorFlow is missing here."""
    try:
        import tensorflow  # noqa: F401
    except Exception as err:  # ImportError, or a broken build raising anything
        raise api.BackendError(
            f"TensorFlow is not importable from {sys.executable} ({type(err).__name__}: {str(err).splitlines()[0]}): "
            "install sr4rs's requirements there (bash scripts/setup.sh), or set 'Python with sr4rs' in Processing "
            "> Options > Providers > SR4RS to the python of an environment that has them") from None


def _options(p: Dict[str, Any]) -> api.ApplyOptions:
    return api.ApplyOptions(tile_size=p.get("ts"), pad=p.get("pad"), batch_size=p.get("batch_size"),
                            nodata=p.get("nodata"), encoding=p.get("encoding") or "auto",
                            creation_options=api.parse_creation_options(p.get("creation_options") or []),
                            cog=bool(p.get("cog")), overwrite=bool(p.get("overwrite")))


def task_check(p: Dict[str, Any], cancel: api.CancelToken) -> Dict[str, Any]:
    import sr4rs

    require_tensorflow()
    import tensorflow as tf

    return {"python": sys.executable, "sr4rs": sr4rs.__version__, "tensorflow": tf.__version__}


def task_models(p: Dict[str, Any], cancel: api.CancelToken) -> Dict[str, Any]:
    return {"models": [{"name": m.name, "path": m.path, "scale": m.scale, "description": m.description,
                        "inputs": [{"name": i.name, "bands": list(i.bands), "factor": i.factor} for i in m.inputs],
                        "output_bands": list(m.output_bands)} for m in api.list_models()]}


def task_apply(p: Dict[str, Any], cancel: api.CancelToken) -> Dict[str, Any]:
    """Super-resolve ``input`` (a raster, or a product with ``bands``) into ``output`` with ``model``."""
    options = _options(p)
    bands = p.get("bands") or None
    checked = api.check_apply(p["input"], p["output"], p.get("model"), options, bands=bands, sensor=p.get("sensor"))
    emit("log", text=f"model: {checked.model_path}")
    for line in checked.notes:  # the model chosen, the bands put in its order
        emit("log", text=line)
    require_tensorflow()
    info = checked.infos[0]
    report = api.apply(p["input"], p["output"], p.get("model"), options, bands=bands, sensor=p.get("sensor"),
                       progress=Percent(info.width * info.height), cancel=cancel)
    return {"output": report.output, "width": report.width, "height": report.height, "scale": report.scale,
            "seconds": report.seconds}


def task_extract(p: Dict[str, Any], cancel: api.CancelToken) -> Dict[str, Any]:
    plan = api.plan_extraction(p.get("lr"), p["hr"], p["patch_size"], step=p.get("step"), points=p.get("points"),
                               factor=p.get("factor"), nodata=p.get("nodata"),
                               nodata_rule=p.get("nodata_rule") or "all")
    report = api.extract(plan, p["out_lr"], p["out_hr"], val_fraction=p.get("val_fraction") or 0.0,
                         seed=p.get("seed") or 0, encoding=p.get("encoding") or "auto",
                         overwrite=bool(p.get("overwrite")), progress=Percent(plan.work), cancel=cancel,
                         creation_options=api.parse_creation_options(p.get("creation_options") or []))
    emit("log", text=f"kept {report.kept} of {report.candidates} patches, skipped "
                     + ", ".join(f"{n} {why}" for why, n in report.skipped.items()))
    return {"files": list(report.files), "kept": report.kept, "candidates": report.candidates}


class _LogLines(logging.Handler):
    """The training's own lines (its folders, time per epoch, each epoch's figures) as log events for QGIS."""

    def emit(self, record: logging.LogRecord) -> None:
        emit("log", text=record.getMessage())


def task_train(p: Dict[str, Any], cancel: api.CancelToken) -> Dict[str, Any]:
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in p.items()}
    config = api.TrainConfig(**fields)
    api.check_train(config)
    require_tensorflow()
    bar = Percent(1.0)

    def on_step(phase: str, epoch, step: int, steps: int, logs: Dict[str, float]) -> None:
        done = int(epoch)  # epochs finished before this one
        bar.set(0.99 * (done + step / max(steps, 1)) / config.epochs)  # the export is the last percent
        if step == steps:
            emit("log", text=f"{phase} epoch {done + 1}/{config.epochs}: "
                             + ", ".join(f"{k} {float(v):.4g}" for k, v in sorted(logs.items())))

    lines, log = _LogLines(), logging.getLogger("sr4rs.training")
    log.addHandler(lines)
    log.setLevel(logging.INFO)
    try:
        result = api.train(config, on_step, cancel)
    finally:
        log.removeHandler(lines)
    bar.set(1.0)
    return {"savedmodel": result.savedmodel, "epochs": result.epoch, "seconds": result.seconds}


def task_evaluate(p: Dict[str, Any], cancel: api.CancelToken) -> Dict[str, Any]:
    models = p.get("models")
    models = None if models is None else [api.bundled_model_path(m) if os.sep not in m and not os.path.isdir(m)
                                          else m for m in models]
    plan = api.plan_evaluation(models, p["hr"], p.get("lr") or None, factor=p.get("factor"), nodata=p.get("nodata"))
    for line in plan.notes:  # the model chosen (as apply chooses it), the bands put in its order
        emit("log", text=line)
    require_tensorflow()
    evaluation = api.run_evaluation(plan, p.get("out_dir"), overwrite=bool(p.get("overwrite")),
                                    progress=Percent(plan.work), cancel=cancel)
    table = api.format_table(evaluation)
    emit("log", text=table)
    return {"table": table, "out_dir": p.get("out_dir")}


TASKS: Dict[str, Callable[[Dict[str, Any], api.CancelToken], Dict[str, Any]]] = {
    "check": task_check, "models": task_models, "apply": task_apply, "extract": task_extract,
    "train": task_train, "evaluate": task_evaluate,
}


def _watch_stdin(cancel: api.CancelToken) -> None:
    """Cancel on a ``cancel`` line, or when the plugin closes standard input (QGIS gone)."""
    for line in sys.stdin:
        if line.strip() == "cancel":
            break
    cancel.cancel("cancelled from QGIS")


def run(job: Dict[str, Any], cancel: Optional[api.CancelToken] = None) -> int:
    cancel = cancel or api.CancelToken()
    task = TASKS.get(job.get("task"))
    if task is None:
        emit("error", kind="InputError", message=f"unknown task {job.get('task')!r}: one of {', '.join(TASKS)}")
        return 2
    try:
        emit("result", **task(job.get("params") or {}, cancel))
        return 0
    except Cancelled:
        emit("cancelled")
        return 130
    except Sr4rsError as err:
        emit("error", kind=type(err).__name__, message=str(err))
        return 1
    except Exception as err:  # a bug: its traceback goes to standard error, which the plugin shows
        import traceback

        traceback.print_exc()
        emit("error", kind=type(err).__name__, message=f"unexpected error in sr4rs ({type(err).__name__}: {err}): "
                                                       "please report it with the log above")
        return 1


def main() -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        job = json.loads(sys.stdin.readline() or "{}")
    except json.JSONDecodeError as err:
        emit("error", kind="InputError", message=f"the job is not JSON ({err})")
        return 2
    cancel = api.CancelToken()
    threading.Thread(target=_watch_stdin, args=(cancel,), daemon=True).start()
    return run(job, cancel)


if __name__ == "__main__":
    sys.exit(main())
