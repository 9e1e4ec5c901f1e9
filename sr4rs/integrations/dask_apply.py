"""Many scenes (a country, a season) and scenes too large for one machine, super-resolved on a Dask cluster.

Each scene is a task. A scene of more than ``block_tiles`` tiles is cut into blocks of whole batches of its
plan, each a task on any worker, and one more task puts their files together: pixel for pixel what
``sr4rs apply`` writes. Workers load the model once each. Every file is written under a temporary name and
renamed when whole, so a worker lost mid-task leaves only a temporary file, which the job removes, and the
scheduler runs the task again elsewhere; a scene an earlier run finished is skipped. Dask is imported when a
job starts, so ``sr4rs --help`` stays fast. Only the public API is used: ``sr4rs.api``, and ``sr4rs.scenes``
for the steps of a scene.
"""
from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .. import api
from ..errors import first_line
from ..scenes import (SceneCheck, ScenePlan, apply_block, assemble_blocks, check_scenes, finished_output,
                      plan_scene, remove_leftovers, scene_name)

TOPIC = "sr4rs-apply-many"  # progress events the workers send: {"job", "task", "done"}
DEFAULT_BLOCK_TILES = 64  # default tiles (up to 1024 output pixels a side): a few minutes of a CPU worker


@dataclass(frozen=True)
class SceneResult:
    """What became of one scene: ``done``, ``skipped`` (finished by an earlier run) or ``failed``."""

    scene: str
    output: str
    status: str
    seconds: float = 0.0
    blocks: int = 0
    worker: str = ""
    message: str = ""


@dataclass(frozen=True)
class Job:
    """What every task of a job needs (sent to the workers)."""

    job_id: str
    model: str  # a bundled model's name (found again on each worker) or a SavedModel folder they all reach
    scale: Optional[int]
    options: api.ApplyOptions
    bands: Optional[Tuple[str, ...]]
    sensor: Optional[str]
    block_tiles: Optional[int]

    def scene_args(self) -> dict:
        return dict(options=self.options, bands=self.bands, sensor=self.sensor, block_tiles=self.block_tiles)


# --- on the workers -----------------------------------------------------------------------------------------

_MODELS: Dict[Tuple[str, Optional[int]], api.LoadedModel] = {}
_LOCK = threading.Lock()
_LOADS = [0]


def _model(job: Job) -> api.LoadedModel:
    """The job's model, loaded at this worker's first task and kept for the next ones."""
    key = (job.model, job.scale)
    with _LOCK:
        if key not in _MODELS:
            api.import_tensorflow_quietly()
            _MODELS[key] = api.load_model(job.model, scale=job.scale)
            _LOADS[0] += 1
        return _MODELS[key]


def models_loaded() -> int:
    """How many times this worker process loaded a model (``client.run(models_loaded)``)."""
    return _LOADS[0]


def _worker_address() -> str:
    from distributed import get_worker

    return get_worker().address


class _Reporter:
    """A task's progress callback: the units done so far, sent to the client at most five times a second."""

    def __init__(self, job: Job, task: str):
        from distributed import get_worker

        self.job, self.task, self.done, self.sent = job, task, 0, 0.0
        self.worker = get_worker()  # here: the engine reports from its writing thread, where Dask's context is not

    def __call__(self, n: int) -> None:
        self.done += n
        if time.monotonic() - self.sent >= 0.2:
            self.send()

    def send(self) -> None:
        self.sent = time.monotonic()
        self.worker.log_event(TOPIC, {"job": self.job.job_id, "task": self.task, "done": self.done})


def _outcome(func: Callable[[], Optional[str]]) -> dict:
    """Run one step; an error sr4rs anticipated (bad input, full disk) is the scene's outcome, not retried.
    Anything else propagates: the scheduler retries the task."""
    start = time.perf_counter()
    try:
        status = func() or "done"
        message = ""
    except api.Sr4rsError as err:
        status, message = "failed", str(err)
    return {"status": status, "message": message, "seconds": time.perf_counter() - start,
            "worker": _worker_address()}


def _finished(job: Job, output: str, model: api.LoadedModel, scene: str) -> bool:
    if job.options.overwrite:
        return False
    plan = plan_scene(scene, output, model, **job.scene_args())
    return finished_output(output, model.name, model.scale, plan.width, plan.height)


def plan_task(job: Job, scene: str, output: str):
    """How the scene is cut (``ScenePlan``), or the failure of a scene that cannot be planned."""
    try:
        return plan_scene(scene, output, _model(job), **job.scene_args())
    except api.Sr4rsError as err:
        return {"status": "failed", "message": str(err), "seconds": 0.0, "worker": _worker_address()}


def scene_task(job: Job, scene: str, output: str) -> dict:
    """The whole scene, as ``sr4rs apply`` runs it."""
    def run():
        model = _model(job)
        if _finished(job, output, model, scene):
            return "done"  # another attempt of this task finished it
        reporter = _Reporter(job, f"{scene}#0")
        try:
            api.apply(scene, output, model, job.options, bands=job.bands, sensor=job.sensor, progress=reporter)
        except api.OutputError:
            if _finished(job, output, model, scene):
                return "done"
            raise
        reporter.send()
        return None

    return _outcome(run)


def block_task(job: Job, scene: str, output: str, index: int) -> dict:
    """One block of the scene into its file."""
    def run():
        reporter = _Reporter(job, f"{scene}#{index}")
        apply_block(scene, output, _model(job), index, progress=reporter, **job.scene_args())
        reporter.send()

    return _outcome(run)


def assemble_task(job: Job, scene: str, output: str, *blocks: dict) -> dict:
    """The scene's output from its block files, once every block task is done."""
    failed = [b for b in blocks if b["status"] == "failed"]
    if failed:
        return failed[0]

    def run():
        model = _model(job)
        if _finished(job, output, model, scene):
            return "done"
        assemble_blocks(scene, output, model, **job.scene_args())
        return None

    result = _outcome(run)
    result["seconds"] += sum(b["seconds"] for b in blocks)
    return result


# --- on the client ------------------------------------------------------------------------------------------

class _Progress:
    """Progress events of the workers turned into the job's progress: per task, only what it did beyond
    what an earlier attempt (on a lost worker) already reported."""

    def __init__(self, job_id: str, progress: Optional[api.Progress]):
        self.job_id, self.progress, self.seen, self.lock = job_id, progress, {}, threading.Lock()

    def event(self, event) -> None:
        _, message = event
        if self.progress is None or message.get("job") != self.job_id:
            return
        with self.lock:
            before = self.seen.get(message["task"], 0)
            if message["done"] > before:
                self.seen[message["task"]] = message["done"]
                self.progress(message["done"] - before)


def _local_env(workers: int) -> Dict[str, str]:
    """Each local worker's TensorFlow uses its share of the cores, so that workers do not fight over them."""
    threads = str(max(1, (os.cpu_count() or 1) // workers))
    return {"TF_NUM_INTRAOP_THREADS": threads, "TF_NUM_INTEROP_THREADS": "2", "OMP_NUM_THREADS": threads,
            "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3")}


def default_workers() -> int:
    """Local workers by default: one per four cores (each worker's TensorFlow uses its four)."""
    return max(1, (os.cpu_count() or 1) // 4)


# The schemes of Dask's communications; a web address is its dashboard's (http://HOST:8787), not the scheduler's.
_SCHEMES = ("tcp", "tls", "ucx", "inproc", "ws", "wss")
_PROBE_SECONDS = 5


def scheduler_address(scheduler: str) -> str:
    """The scheduler's address that ``--scheduler`` gives (itself, or the one its scheduler file holds), checked
    without connecting: a one-line BackendError for what cannot be one."""
    import json

    if os.path.isdir(scheduler):
        raise api.BackendError(f"--scheduler '{scheduler}' is a folder: give the scheduler's address "
                               "(tcp://HOST:8786) or the file dask scheduler --scheduler-file wrote")
    if os.path.isfile(scheduler):
        try:
            with open(scheduler, encoding="utf-8") as f:
                address = json.load(f).get("address")
        except (OSError, ValueError, AttributeError):
            address = None
        if not isinstance(address, str) or not address:
            raise api.BackendError(f"scheduler file '{scheduler}' holds no scheduler address (a JSON object with "
                                   "\"address\", as dask scheduler --scheduler-file writes it): give that file, or "
                                   "the address (tcp://HOST:8786)")
        return _checked_address(address, f"the address in scheduler file '{scheduler}'")
    if scheduler.endswith(".json") or (os.sep in scheduler and "://" not in scheduler):
        raise api.BackendError(f"scheduler file '{scheduler}' does not exist: check --scheduler (the file dask "
                               "scheduler --scheduler-file wrote, or the address tcp://HOST:8786)")
    return _checked_address(scheduler, f"--scheduler '{scheduler}'")


def _checked_address(address: str, what: str) -> str:
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    if scheme.lower() in ("http", "https"):
        raise api.BackendError(f"{what} is a web address (the scheduler's dashboard, http://HOST:8787): give the "
                               "scheduler's own, tcp://HOST:8786")
    if scheme.lower() not in _SCHEMES:
        raise api.BackendError(f"{what} has the scheme '{scheme}', which Dask does not speak "
                               f"({', '.join(_SCHEMES)}): give tcp://HOST:8786")
    host, colon, port = rest.rpartition(":")
    if not colon:
        host, port = rest, ""
    if scheme in ("tcp", "tls") and (not host or not port.isdigit()):
        raise api.BackendError(f"{what} has no {'port' if host else 'host'}: give it as {scheme}://HOST:PORT "
                               "(a scheduler listens on port 8786 unless told otherwise)")
    return address if sep else f"tcp://{address}"


def _probe(address: str) -> None:
    """Fail at once, in one line, where no scheduler listens (Dask would retry until its timeout)."""
    import socket

    scheme, _, rest = address.partition("://")
    if scheme not in ("tcp", "tls"):
        return
    host, _, port = rest.rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=_PROBE_SECONDS).close()
    except socket.gaierror:
        raise api.BackendError(f"cannot reach the Dask scheduler at '{address}': no such host; check --scheduler") \
            from None
    except OSError as err:
        why = "nothing listens there" if isinstance(err, ConnectionRefusedError) else \
            f"no answer in {_PROBE_SECONDS} s" if isinstance(err, TimeoutError) else first_line(err)
        raise api.BackendError(f"cannot reach the Dask scheduler at '{address}' ({why}): start it (dask scheduler) "
                               "or check --scheduler") from None


@contextlib.contextmanager
def connect(scheduler: Optional[str] = None, workers: Optional[int] = None):
    """A Dask client: of the running cluster at ``scheduler`` (``tcp://host:8786``, or a scheduler file), else of
    a ``LocalCluster`` of ``workers`` processes on this machine, closed on exit."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise api.BackendError("sr4rs apply-many runs on Dask: install it with pip install 'dask[distributed]'") \
            from None
    if scheduler:
        address = scheduler_address(scheduler)
        _probe(address)
        try:
            client = Client(address, timeout="20s")
        except (OSError, TimeoutError, ValueError, KeyError, TypeError, AssertionError) as err:
            raise api.BackendError(f"cannot connect to the Dask scheduler at '{address}' ({first_line(err)}): check "
                                   "--scheduler") from None
        with client:
            yield client
        return
    n = workers or default_workers()
    logs = logging.WARNING if os.environ.get("SR4RS_DEBUG") else logging.CRITICAL
    # dashboard on any free port: a second cluster on this machine must not warn about 8787
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=logs,
                      env=_local_env(n)) as cluster, Client(cluster) as client:
        yield client


def _model_for_workers(model_path: str) -> str:
    """A bundled model by name (each worker finds its own copy); any other model by its folder."""
    real = os.path.realpath(model_path)
    return next((m.name for m in api.list_models() if os.path.realpath(m.path) == real), real)


@dataclass(frozen=True)
class CheckedJob:
    """A job checked on the client: its settings and its scenes (``work``: progress units still to do)."""

    job: Job
    checks: Tuple[SceneCheck, ...]
    made_folder: Optional[str] = None  # the --output-dir the check made: removed if the job leaves it empty

    @property
    def work(self) -> int:
        return sum(c.work for c in self.checks if not c.finished)


def check_job(scenes: Sequence[str], output_dir: str, model: Optional[str] = None,
              options: api.ApplyOptions = api.ApplyOptions(), *, bands: Optional[Sequence[str]] = None,
              sensor: Optional[str] = None, scale: Optional[int] = None,
              block_tiles: Optional[int] = DEFAULT_BLOCK_TILES, scheduler: Optional[str] = None) -> CheckedJob:
    """Every scene and output checked on this machine before any work (``check_scenes``), and the
    ``scheduler`` address (or file) read: no TensorFlow, no cluster."""
    if block_tiles is not None and block_tiles < 1:
        raise api.InputError(f"--block-tiles must be at least 1, received {block_tiles}")
    if scheduler:
        scheduler_address(scheduler)
    made = None if os.path.isdir(output_dir) else output_dir
    model_path, checks = check_scenes(scenes, output_dir, model, options, bands, sensor, scale)
    job = Job(uuid.uuid4().hex[:8], _model_for_workers(model_path), scale, options,
              tuple(bands) if bands else None, sensor, block_tiles)
    return CheckedJob(job, tuple(checks), made)


def run_job(checked: CheckedJob, *, scheduler: Optional[str] = None, workers: Optional[int] = None, client=None,
            retries: int = 2, progress: Optional[api.Progress] = None,
            cancel: Optional[api.CancelToken] = None) -> List[SceneResult]:
    """Run a checked job on the cluster of ``client`` or ``scheduler``, else on a local one of ``workers``
    processes. One result per scene, in order."""
    results = {c.scene: SceneResult(c.scene, c.output, "skipped", message="finished by an earlier run")
               for c in checked.checks if c.finished}
    pending = [c for c in checked.checks if not c.finished]
    for check in pending:
        remove_leftovers(check.output)
    try:
        if pending and client is not None:
            results.update(_run(client, checked.job, pending, retries, progress, cancel))
        elif pending:
            with connect(scheduler, workers) as own:
                results.update(_run(own, checked.job, pending, retries, progress, cancel))
    finally:
        for check in pending:  # what killed workers left behind
            remove_leftovers(check.output)
        _remove_if_empty(checked.made_folder)
    return [results[c.scene] for c in checked.checks]


def _remove_if_empty(folder: Optional[str]) -> None:
    """The --output-dir a job made, removed when nothing was written in it (the scheduler was not reached...)."""
    try:
        if folder and not os.listdir(folder):
            os.rmdir(folder)
    except OSError:
        pass


def apply_many(scenes: Sequence[str], output_dir: str, model: Optional[str] = None,
               options: api.ApplyOptions = api.ApplyOptions(), *, bands: Optional[Sequence[str]] = None,
               sensor: Optional[str] = None, scale: Optional[int] = None,
               block_tiles: Optional[int] = DEFAULT_BLOCK_TILES, **run) -> List[SceneResult]:
    """Super-resolve ``scenes`` (paths, products or glob patterns) into ``output_dir/<scene>_x<factor>.tif``:
    ``check_job`` then ``run_job`` (``run``: its keyword arguments)."""
    checked = check_job(scenes, output_dir, model, options, bands=bands, sensor=sensor, scale=scale,
                        block_tiles=block_tiles, scheduler=run.get("scheduler"))
    return run_job(checked, **run)


def _load(job: Job) -> None:
    _model(job)


def warm_up(client, job: Job) -> Dict[str, object]:
    """Load the job's model on every worker now, all at once (each keeps it for the job's tasks): one task per
    worker, in its task thread, so that the worker's event loop keeps answering the scheduler meanwhile. A
    worker that cannot is reported (its tasks then fail with the reason), not raised; a worker lost meanwhile
    has its load run elsewhere (a no-op where the model is loaded)."""
    from distributed import wait

    futures = {w: client.submit(_load, job, workers=[w], allow_other_workers=True, pure=False,
                                key=f"sr4rs-load-{i}-{job.job_id}") for i, w in enumerate(client.nthreads())}
    wait(list(futures.values()))
    return {w: f.exception() if f.status == "error" else f.status for w, f in futures.items()}


def _submit_scene(client, job: Job, plan, retries: int) -> list:
    """The tasks of one planned scene; the last one's result is the scene's."""
    name, scene, output = scene_name(plan.scene), plan.scene, plan.output
    key = f"sr4rs-{name}-{job.job_id}"
    if len(plan.block_work) == 1:
        return [client.submit(scene_task, job, scene, output, key=f"{key}-scene", retries=retries)]
    blocks = [client.submit(block_task, job, scene, output, i, key=f"{key}-block{i}", retries=retries)
              for i in range(len(plan.block_work))]
    return blocks + [client.submit(assemble_task, job, scene, output, *blocks, key=f"{key}-assemble",
                                   retries=retries)]


def _result(check: SceneCheck, future, blocks: int) -> SceneResult:
    if future.status == "error":
        err = future.exception()
        return SceneResult(check.scene, check.output, "failed", blocks=blocks,
                           message=f"{type(err).__name__}: {first_line(err)}")
    r = future.result()
    return SceneResult(check.scene, check.output, r["status"], r["seconds"], blocks, r["worker"], r["message"])


def _run(client, job: Job, pending: Sequence[SceneCheck], retries: int, progress, cancel) -> Dict[str, SceneResult]:
    """Plan every scene on the workers (they hold the model), submit each scene's tasks as its plan arrives,
    collect the outcomes; a cancel stops what has not started."""
    from distributed import wait

    warm_up(client, job)
    tracker = _Progress(job.job_id, progress)
    client.subscribe_topic(TOPIC, tracker.event)
    plans = {client.submit(plan_task, job, c.scene, c.output, key=f"sr4rs-plan-{i}-{job.job_id}",
                           retries=retries): c for i, c in enumerate(pending)}
    finals: Dict[object, Tuple[SceneCheck, int]] = {}
    results: Dict[str, SceneResult] = {}
    outstanding, held = set(plans), []
    try:
        while outstanding:
            if cancel is not None and cancel.cancelled:
                client.cancel(list(outstanding) + held)
                cancel.check()
            try:
                done, _ = wait(list(outstanding), timeout=None if cancel is None else 0.5,
                               return_when="FIRST_COMPLETED")
            except TimeoutError:
                continue
            for future in done:
                outstanding.discard(future)
                if future in plans:
                    check = plans[future]
                    plan = future.result() if future.status == "finished" else None
                    if isinstance(plan, ScenePlan):
                        tasks = _submit_scene(client, job, plan, retries)
                        held += tasks
                        finals[tasks[-1]] = (check, len(plan.block_work))
                        outstanding.add(tasks[-1])
                        continue
                    results[check.scene] = _result(check, future, 0)
                else:
                    check, blocks = finals[future]
                    results[check.scene] = _result(check, future, blocks)
    finally:
        client.unsubscribe_topic(TOPIC)
    return results
