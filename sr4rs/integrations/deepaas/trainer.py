"""The training child process: ``python -m sr4rs.integrations.deepaas.trainer WORK PARENT_PID`` trains with the
config in WORK and writes WORK/result.json. SIGTERM, SIGINT and SIGHUP, and the death of its parent (the DEEPaaS
worker, which the server kills to cancel a training), cancel its CancelToken: the run stops within one batch and
leaves nothing behind."""
from __future__ import annotations

import ctypes
import json
import logging
import os
import shutil
import signal
import sys
import time

from ... import api
from ...progress import CancelToken
from .errors import service_error

LOG = logging.getLogger("sr4rs.deepaas.trainer")
_PR_SET_PDEATHSIG = 1


def _cancel_on_signals(token: CancelToken, parent: int) -> None:
    for name in ("SIGTERM", "SIGINT", "SIGHUP"):
        signal.signal(getattr(signal, name), lambda signum, frame: token.cancel(f"stopped by signal {signum}"))
    try:  # Linux: the kernel sends SIGTERM when the parent dies, even by SIGKILL
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # it died before prctl took effect
        token.cancel("the training was cancelled")


class _EpochLog:
    """One log line per epoch (the server's log), with its losses."""

    def __init__(self, name: str):
        self.name, self.seen, self.started = name, set(), time.monotonic()

    def __call__(self, phase, epoch, i, steps, logs) -> None:
        if i + 1 == steps and (phase, epoch) not in self.seen:
            self.seen.add((phase, epoch))
            losses = ", ".join(f"{k} {v:.4g}" for k, v in logs.items())
            LOG.info("training %s: %s epoch %d done (%s) after %.0f s", self.name, phase, epoch + 1, losses,
                     time.monotonic() - self.started)


def _write(work: str, result: dict) -> None:
    path = os.path.join(work, "result.json")
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(result, f)
    os.replace(path + ".tmp", path)


def _config(work: str) -> api.TrainConfig:
    with open(os.path.join(work, "config.json"), encoding="utf-8") as f:
        values = json.load(f)
    return api.TrainConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def main(work: str, parent: int) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    token = CancelToken()
    _cancel_on_signals(token, parent)
    cfg = _config(work)
    name = os.path.basename(cfg.savedmodel or "")
    try:
        result = api.train(cfg, _EpochLog(name), token)
        last = result.history[-1] if result.history else {}
        _write(work, {"ok": True, "result": {
            "model": name, "steps": result.step, "seconds": round(result.seconds, 1),
            "last_epoch": {k: v for k, v in last.items() if isinstance(v, (int, float))}}})
        LOG.info("training %s: done, model %s exported", name, name)
        return 0
    except BaseException as err:  # noqa: BLE001 (reported in result.json, one line)
        failure = service_error(err, {work: "<work>", os.path.dirname(cfg.savedmodel or work): "<models>"})
        _write(work, {"ok": False, "status": failure.status, "message": failure.message})
        LOG.info("training %s: %s", name, failure.message)
        return 1
    finally:
        shutil.rmtree(cfg.save_ckpt, ignore_errors=True)
        if token.cancelled:  # the worker that waited for this run is gone: nobody reads the result
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2])))
