"""The training itself, in the child process ``bootstrap`` starts (signals already handled there): it trains with
the config the worker sent, answers the worker (``bootstrap.State.report``) and removes its work folder, however
the run ends. A cancelled run (a signal, or the death of the DEEPaaS worker that waited for it) stops before its
next batch; the checkpoints of the epochs it finished are kept for a later ``resume`` (``runs.keep``) and its
answer says which epoch they end."""
from __future__ import annotations

import json
import logging
import os
import shutil
import time

from ... import api
from . import runs
from .errors import service_error

LOG = logging.getLogger("sr4rs.deepaas.trainer")


class _EpochLog:
    """One log line per finished epoch (the server's log), with its losses; the last finished epoch."""

    def __init__(self, name: str, state):
        self.name, self.state, self.started = name, state, time.monotonic()
        self.finished = None  # (phase, epoch number)

    def __call__(self, phase, epoch, i, steps, logs) -> None:
        if i == steps and self.finished != (phase, epoch + 1):
            self.finished = (phase, epoch + 1)
            losses = ", ".join(f"{k} {v:.4g}" for k, v in logs.items())
            LOG.info("training %s: %s epoch %d done (%s) after %.0f s", self.name, phase, epoch + 1, losses,
                     time.monotonic() - self.started)
            self.state.mark(f"epoch-{epoch + 1}-end")  # its checkpoint is written next


class _MarkedToken(api.CancelToken):
    """With test markers: each check before a batch passed is marked ``batch-N`` (a hold there lets a signal
    land while that batch runs: the first one is traced then)."""

    def __init__(self, state):
        super().__init__()
        self.state, self.n = state, 0

    def check(self) -> None:
        super().check()
        self.n += 1
        self.state.mark(f"batch-{self.n}")


def _config(values: dict) -> api.TrainConfig:
    return api.TrainConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def _cancelled(name: str, cfg: api.TrainConfig, log: _EpochLog, reason: str) -> dict:
    """Keep the checkpoints of the finished epochs of a cancelled run; the answer says what is kept."""
    if log.finished and os.path.isfile(os.path.join(cfg.save_ckpt, "checkpoint")):
        phase, epoch = log.finished
        runs.keep(name, cfg.save_ckpt, {"phase": phase, "epoch": epoch, "epochs": cfg.epochs})
        kept = (f"the checkpoint of its {phase} epoch {epoch} of {cfg.epochs} is kept: train model_name={name} "
                "with resume=true to go on from it")
    else:
        earlier = runs.kept_state(name)
        kept = "no epoch had finished: no checkpoint of it is kept" + (
            f" (the one kept earlier, {earlier['phase']} epoch {earlier['epoch']}, stays)" if earlier else "")
    return {"ok": False, "status": 409, "message": f"the training was cancelled ({reason}): {kept}",
            "kept": runs.kept_state(name)}


def _train(state, cfg: api.TrainConfig, name: str) -> dict:
    token = _MarkedToken(state) if state.markers else api.CancelToken()
    log = _EpochLog(name, state)
    state.start_training(token)
    try:
        result = api.train(cfg, log, token)
    except api.Cancelled as err:
        state.phase = "finishing"
        return _cancelled(name, cfg, log, str(err))
    except BaseException as err:  # noqa: BLE001 (answered in one line)
        state.phase = "finishing"
        failure = service_error(err, {state.work: "<work>", os.path.dirname(cfg.savedmodel): "<models>"})
        return {"ok": False, "status": failure.status, "message": failure.message}
    state.phase = "finishing"
    runs.discard(name)  # the model is exported: checkpoints kept from a cancelled run of it are done with
    last = result.history[-1] if result.history else {}
    LOG.info("training %s: done, model %s exported", name, name)
    return {"ok": True, "result": {"model": name, "steps": result.step, "seconds": round(result.seconds, 1),
                                   "last_epoch": {k: v for k, v in last.items() if isinstance(v, (int, float))}}}


def main(state, values: dict) -> int:
    """Train as ``values`` (a TrainConfig as JSON) say; ``state`` is the bootstrap's."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    outcome = {"ok": False, "status": 500, "message": "the training stopped without a result"}
    try:
        cfg = _config(values)
        name = os.path.basename(cfg.savedmodel)
        outcome = _train(state, cfg, name)
        LOG.info("training %s: %s", name, "done" if outcome["ok"] else outcome["message"])
        return 0 if outcome["ok"] else 1
    finally:
        state.phase = "finishing"
        shutil.rmtree(state.work, ignore_errors=True)
        state.release_lock()
        state.report(json.loads(json.dumps(outcome)))
        state.mark("exit")
