"""A training, from a DEEPaaS worker process: the client's arguments resolved to the server's folders (patches
only from its training data folder, the model into its models folder, checkpoints in a private folder), checked,
then run by a child process (bootstrap.py, then trainer.py) that DEEPaaS's cancel reaches as the API's
CancelToken: DEEPaaS stops a cancelled training by killing this worker, and the kernel then signals the child,
which stops before its next batch, keeps the checkpoints of its finished epochs and removes the rest. This worker
writes nothing, so that being killed at any instant leaves nothing behind."""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import uuid
from typing import Dict

from ... import api
from ...errors import InputError
from . import runs, settings
from .args import PATH_FIELDS, SERVER_FIELDS
from .errors import ServiceError, service_error

BOOTSTRAP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bootstrap.py")


def data_path(name: str, what: str) -> str:
    """A file or folder of the training data folder, by its name there: never a path outside it."""
    folder = settings.data_dir()
    if not isinstance(name, str) or not name or os.path.isabs(name) or ".." in name.replace("\\", "/").split("/"):
        raise InputError(f"{what} '{name}' must be the name of a file in the server's training data folder, not a path")
    path = os.path.realpath(os.path.join(folder, name))
    if os.path.commonpath([folder, path]) != folder or path == folder:
        raise InputError(f"{what} '{name}' leaves the server's training data folder: give a name inside it")
    if not os.path.exists(path):
        raise InputError(f"no '{name}' in the server's training data folder (GET /v2/models/sr4rs/ lists what it holds)")
    return path


def build_config(args: Dict[str, object], work: str) -> api.TrainConfig:
    """The TrainConfig of a client's arguments: names resolved in the server's folders, checkpoints in ``work``."""
    values = {f.name: args[f.name] for f in dataclasses.fields(api.TrainConfig)
              if f.name not in SERVER_FIELDS and f.name in args}
    for name in PATH_FIELDS:
        value = values.get(name)
        if isinstance(value, (list, tuple)):
            values[name] = tuple(data_path(v, name) for v in value)
        elif value:
            values[name] = data_path(value, name)
    for name, value in list(values.items()):
        if isinstance(value, list):
            values[name] = tuple(value)
    values.setdefault("hr_patches", ())
    model_name = str(args.get("model_name") or "")
    values["savedmodel"] = settings.trained_model_path(model_name)
    values["save_ckpt"] = os.path.join(work, "ckpt")
    values["ckpt_folder"] = True  # sr4rs's layout: the run's checkpoints in that folder
    if args.get("resume") and args.get("finetune_from"):
        raise InputError("resume goes on from this model's kept checkpoints, finetune_from starts from another "
                         "model's weights: give one of them")
    if args.get("resume"):
        kept = runs.kept_folder(model_name)
        if kept is None:
            raise InputError(f"no checkpoint of a cancelled training of '{model_name}' is kept here: nothing to "
                             "resume (GET /v2/models/sr4rs/ lists the kept ones); drop resume to start afresh")
        values["load_ckpt"] = kept
    if args.get("finetune_from"):
        values["load_ckpt"] = settings.find_model(str(args["finetune_from"])).path
        values["finetune"] = True
    return api.TrainConfig(**values)


def run(args: Dict[str, object]) -> dict:
    """Train as the arguments say; returns what the run reports (steps, seconds, last losses, the model's name).
    Failures are ServiceErrors with one line. This worker writes nothing: the child makes its work folder once
    its signal handling is in place, and removes it (a cancel kills this worker at any instant)."""
    names: Dict[str, str] = {}
    folder = settings.models_dir()
    if folder:
        names[folder] = "<models>"
    try:
        names[settings.data_dir()] = "<data>"
    except InputError:
        pass
    work = os.path.join(tempfile.gettempdir(), f"sr4rs-train-{uuid.uuid4().hex}")  # made by the child
    names[work] = "<work>"
    try:
        cfg = build_config(args, work)
        api.check_train(cfg)  # flags, names and patches: an answer at once, before TensorFlow starts
    except Exception as err:  # noqa: BLE001 (every failure becomes one safe line)
        raise service_error(err, names) from None
    return _run_child(cfg)


def _run_child(cfg: api.TrainConfig) -> dict:
    """Run ``bootstrap`` (as a script: it handles signals before importing anything heavy) on ``cfg``; its
    answer comes back on a pipe."""
    read_end, write_end = os.pipe()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    try:
        child = subprocess.Popen([sys.executable, BOOTSTRAP, str(write_end), str(os.getpid())],
                                 stdin=subprocess.PIPE, pass_fds=(write_end,), env=env)
    finally:
        os.close(write_end)
    try:
        with contextlib.suppress(BrokenPipeError):
            child.stdin.write(json.dumps(dataclasses.asdict(cfg)).encode())
        with contextlib.suppress(BrokenPipeError):
            child.stdin.close()
        with os.fdopen(read_end, "rb") as answer:
            text = answer.read()
        child.wait()
    finally:
        if child.poll() is None:  # this worker is being stopped: the child is cancelled, then waited for
            child.terminate()
            child.wait()
    try:
        result = json.loads(text)
    except ValueError:
        raise ServiceError(500, f"the training stopped without a result (exit status {child.returncode}): the "
                           "server's log has the details") from None
    if not result.get("ok"):
        raise ServiceError(int(result.get("status", 500)), str(result.get("message", "the training failed")))
    return result["result"]
