"""A training, from a DEEPaaS worker process: the client's arguments resolved to the server's folders (patches
only from its training data folder, the model into its models folder, checkpoints in a private folder), checked,
then run by a child process (trainer.py) that DEEPaaS's cancel reaches as the API's CancelToken: DEEPaaS stops a
cancelled training by killing this worker, and the kernel then signals the child, which stops within one batch
and removes what it had begun. Every intermediate file is removed at the end, whatever happens."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from typing import Dict

from ... import api
from ...errors import InputError
from . import settings
from .args import PATH_FIELDS, SERVER_FIELDS
from .errors import ServiceError, request_folder

RESULT = "result.json"


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
    """The TrainConfig of a client's arguments: names resolved in the server's folders."""
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
    values["savedmodel"] = settings.trained_model_path(str(args.get("model_name") or ""))
    values["save_ckpt"] = os.path.join(work, "ckpt")
    values["ckpt_folder"] = True  # sr4rs's layout: the run's checkpoints in that folder
    if args.get("finetune_from"):
        values["load_ckpt"] = settings.find_model(str(args["finetune_from"])).path
        values["finetune"] = True
    return api.TrainConfig(**values)


def run(args: Dict[str, object]) -> dict:
    """Train as the arguments say; returns what the run reports (steps, seconds, last losses, the model's name).
    Failures are ServiceErrors with one line."""
    names: Dict[str, str] = {}
    folder = settings.models_dir()
    if folder:
        names[folder] = "<models>"
    try:
        names[settings.data_dir()] = "<data>"
    except InputError:
        pass
    with request_folder("sr4rs-train-", names) as work:
        cfg = build_config(args, work)
        api.check_train(cfg)  # flags, names and patches: an answer at once, before TensorFlow starts
        with open(os.path.join(work, "config.json"), "w", encoding="utf-8") as f:
            json.dump(dataclasses.asdict(cfg), f)
        return _run_child(work, names)


def _run_child(work: str, names: Dict[str, str]) -> dict:
    os.makedirs(os.path.join(work, "tmp"))
    env = dict(os.environ, TMPDIR=os.path.join(work, "tmp"), TF_CPP_MIN_LOG_LEVEL="3")
    child = subprocess.Popen([sys.executable, "-m", "sr4rs.integrations.deepaas.trainer", work, str(os.getpid())],
                             stdin=subprocess.DEVNULL, env=env)
    try:
        child.wait()
    finally:
        if child.poll() is None:  # this worker is being stopped: the child is cancelled, then waited for
            child.terminate()
            child.wait()
    try:
        with open(os.path.join(work, RESULT), encoding="utf-8") as f:
            result = json.load(f)
    except (OSError, ValueError):
        raise ServiceError(500, f"the training stopped without a result (exit status {child.returncode}): the "
                           "server's log has the details") from None
    if not result.get("ok"):
        raise ServiceError(int(result.get("status", 500)), str(result.get("message", "the training failed")))
    return result["result"]
