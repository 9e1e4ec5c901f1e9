"""What the DEEPaaS server itself does for sr4rs, installed when deepaas-run loads the entry point: one aiohttp
middleware that holds every request to the upload limit (deepaas-run sets none by default), answers every
error with one line of JSON (no paths, no tracebacks, whatever raised it) and removes each result file once its
answer is under way."""
from __future__ import annotations

import asyncio
import collections
import contextlib
import gc
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
from typing import Dict

from ...errors import InputError
from . import pools, runs, settings
from .errors import ServiceError, disk_full
from .predict import RESULT_PREFIX

LOG = logging.getLogger("sr4rs.deepaas")
_CANCEL = re.compile(r"^.*/models/sr4rs/train/([0-9a-f]{32})$")
_RESULT = re.compile(re.escape(RESULT_PREFIX) + r"[A-Za-z0-9_]+\.(tif|png)$")
CANCEL_WAIT = 120  # seconds a cancel waits for its run to end (it stops before its next batch)
KEEP_CANCELLED = 200  # cancelled trainings whose status the server remembers


def _flatten(messages, prefix: str = "") -> list:
    """webargs' {"field": ["message"]} (nested by location or field) as "field: message" items."""
    if isinstance(messages, dict):
        items = []
        for key, value in messages.items():
            if key in ("querystring", "form", "headers", "json", "files", "match_info"):
                items += _flatten(value, prefix)
            else:
                items += _flatten(value, f"{prefix}{key}: " if not prefix else f"{prefix}{key}.")
        return items
    if isinstance(messages, (list, tuple)):
        return [item for value in messages for item in _flatten(value, prefix)]
    return [f"{prefix}{messages}"]


def http_message(err) -> str:
    """One line for an aiohttp HTTP error: webargs' argument errors named, aiohttp's own lines (413's sizes)
    kept; a server error says no more than that."""
    if err.status >= 500:
        return "internal error: the server's log has the details"
    text = (err.text or "").strip()
    if err.status == 422 and text.startswith("{"):
        try:
            return "invalid arguments: " + "; ".join(_flatten(json.loads(text)))[:400]
        except ValueError:
            pass
    line = " ".join(text.split()) or err.reason
    line = re.sub(r"^\d{3}: ", "", line)
    return line[:300] if "/" not in line else err.reason


def _answer(status: int, message: str):
    from aiohttp import web

    return web.json_response({"message": message}, status=status)


def _remove_result(response) -> None:
    """A result file is unlinked once DEEPaaS has opened it for the answer (the open file is still sent)."""
    name = getattr(getattr(response, "body", None), "filename", None)
    if isinstance(name, str) and _RESULT.match(name):
        try:
            os.remove(os.path.join(tempfile.gettempdir(), name))
        except FileNotFoundError:
            pass
        extension = os.path.splitext(name)[1]
        response.headers["Content-Disposition"] = f'attachment; filename="sr4rs{extension}"'


def _cancelled_training(request):
    """deepaas 2.6.0 cancels a running training (it kills the worker, which cancels our run) but then fails to
    describe it (its pool returns None for a killed task): the answer it meant to give."""
    match = _CANCEL.match(request.path)
    if request.method != "DELETE" or not match:
        return None
    return {"uuid": match.group(1), "status": "cancelled"}


def _retry(status: int, message: str, seconds: int):
    answer = _answer(status, message)
    answer.headers["Retry-After"] = str(seconds)
    return answer


def _disconnected(err: BaseException) -> bool:
    """The client went away mid-request (mid-upload): nobody reads an answer."""
    from aiohttp.http_exceptions import HttpProcessingError

    return isinstance(err, (ConnectionError, HttpProcessingError)) or type(err).__name__ in (
        "ClientPayloadError", "ClientConnectionError", "ClientConnectionResetError", "EofStream")


class Guard:
    """The server's own limits, checked before a request is read (so that refusing it costs nothing): trainings
    at once (429), one training per model name (409), predictions when every worker trains or too many wait
    (503), room on the temporary disk for an upload (507). It also follows cancelled trainings to their end,
    so that their status says which checkpoints are kept."""

    def __init__(self, limit: int, workers: int):
        self.limit, self.workers, self.predicting = limit, max(1, workers), 0
        self.handler = None  # deepaas's training handler: its trainings, by uuid
        self.cancelled: Dict[str, dict] = collections.OrderedDict()

    def trainings(self, request) -> dict:
        if self.handler is None:
            for app in request.match_info.apps:
                for route in app.router.routes():
                    owner = getattr(route.handler, "__self__", None)
                    if isinstance(getattr(owner, "_trainings", None), dict):
                        self.handler = owner
        return getattr(self.handler, "_trainings", {})

    def running(self, request) -> list:
        """The arguments of the trainings running or waiting for a worker."""
        return [t["args"] for t in self.trainings(request).values() if not t["task"].done()]

    def refuse_training(self, request):
        running = self.running(request)
        most = min(settings.max_trainings(), self.workers)
        if len(running) >= most:
            return _retry(429, f"{len(running)} training(s) running, the most this server runs at once ({most}): "
                               "try again when one has ended, or cancel one", 60)
        name = request.query.get("model_name", "")
        if name and (name in [a.get("model_name") for a in running] or _locked(name)):
            return _answer(409, f"a training of model '{name}' is running or ending: wait for it (GET "
                                "/v2/models/sr4rs/train/), or cancel it")
        return None

    def refuse_prediction(self, request):
        free = self.workers - len(self.running(request))
        if free <= 0:
            return _retry(503, f"every worker of this server is training ({self.workers}): try again later (its "
                               "administrator gives deepaas-run more --workers than trainings)", 60)
        if self.predicting >= free + settings.max_queue():
            return _retry(503, f"this server is busy ({self.predicting} predictions under way or waiting): try "
                               "again in a few seconds", 5)
        size = request.content_length or 0
        if size and shutil.disk_usage(tempfile.gettempdir()).free < 2 * size + (1 << 20):
            LOG.warning("an upload of %d bytes refused: the temporary disk is full", size)
            return _answer(507, "the server's disk is full: try again later, or send a smaller image")
        return None

    async def cancel(self, request, handler):
        """DELETE of a training: deepaas cancels it; then wait (bounded) until its run has ended, and say
        which checkpoints of its model are kept."""
        match = _CANCEL.match(request.path)
        training = self.trainings(request).get(match.group(1)) if match else None
        name = (training or {}).get("args", {}).get("model_name")
        try:
            response = await handler(request)
        except TypeError:  # deepaas 2.6.0 on a training its pool killed
            response = None
        except asyncio.CancelledError:  # deepaas 2.6.0 on a training still waiting for a worker: it re-raises
            if _being_cancelled():  # the training's cancellation, not this request's (the server stopping)
                raise
            response = None
        deadline = time.monotonic() + CANCEL_WAIT
        while pools.ending() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)  # the killed worker's pool ends in a thread of its own (pools.py)
        gc.collect()  # that pool, its pipes closed, sits in reference cycles: freed now
        if response is not None and (response.status != 200 or not name or _status(response) != "cancelled"):
            return response  # not found, or a training that had ended already: deepaas's answer
        answer = _cancelled_training(request)
        if name:
            deadline = time.monotonic() + CANCEL_WAIT
            while _locked(name) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)  # the run stops before its next batch, then releases its lock
            answer.update(cancel_status(name, ended=not _locked(name)))
        self.cancelled[answer["uuid"]] = answer
        while len(self.cancelled) > KEEP_CANCELLED:
            self.cancelled.popitem(last=False)
        from aiohttp import web

        return web.json_response(answer)


def _status(response) -> str:
    try:
        return json.loads(response.body).get("status", "")
    except (TypeError, ValueError, AttributeError):
        return ""


def _being_cancelled() -> bool:
    """Whether the current task (this request) is being cancelled."""
    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)  # Python 3.11
    return bool(cancelling()) if cancelling else False


def _locked(name: str) -> bool:
    try:
        return runs.running(name)
    except (InputError, OSError):
        return False


def cancel_status(name: str, ended: bool) -> dict:
    """The status of a cancelled training of model ``name``: which checkpoints of it are kept."""
    kept = runs.kept_state(name)
    if not ended:
        message = f"cancelled: the run is still ending its batch; GET /v2/models/sr4rs/ lists what is kept"
    elif kept:
        message = (f"cancelled: the checkpoints kept for model '{name}' end at its {kept['phase']} epoch "
                   f"{kept['epoch']} of {kept['epochs']}; train model_name={name} with resume=true to go on")
    else:
        message = "cancelled before an epoch had finished: no checkpoint is kept"
    return {"model": name, "kept": kept, "message": message}


_TRAIN = re.compile(r"^.*/models/sr4rs/train/?$")
_PREDICT = re.compile(r"^.*/models/sr4rs/predict/?$")
_TRAINING = re.compile(r"^.*/models/sr4rs/train/([0-9a-f]{32})$")


def _failure(request, err: BaseException):
    """The one-line answer to an exception a handler raised."""
    from aiohttp import web

    if isinstance(err, ServiceError):
        return _answer(err.status, err.message)
    if isinstance(err, web.HTTPException):
        if err.status >= 500:
            LOG.error("%s %s: %s", request.method, request.path, err.reason)
        return _answer(err.status, http_message(err))
    if disk_full(err):
        LOG.warning("%s %s: the disk is full (%s)", request.method, request.path, err)
        return _answer(507, "the server's disk is full: try again later, or send a smaller image")
    if _disconnected(err):
        LOG.info("%s %s: the client went away mid-request (%s)", request.method, request.path, type(err).__name__)
        traceback.clear_frames(err.__traceback__)  # the half-read upload's spooled file, closed now
        return _answer(400, "the request ended before its body was whole")
    LOG.error("%s %s failed", request.method, request.path, exc_info=err)
    return _answer(500, "internal error: the server's log has the details")


async def _route(guard: Guard, request, handler):
    """The request through the guard's limits, then deepaas."""
    from aiohttp import web

    if request.method == "POST" and _TRAIN.match(request.path):
        return guard.refuse_training(request) or await handler(request)
    training = _TRAINING.match(request.path)
    if request.method == "DELETE" and training:
        return await guard.cancel(request, handler)
    if request.method == "GET" and training and training.group(1) not in guard.trainings(request):
        done = guard.cancelled.get(training.group(1))
        if done is not None:
            return web.json_response(done)
    if request.method == "POST" and _PREDICT.match(request.path):
        refused = guard.refuse_prediction(request)
        if refused is not None:
            return refused
        guard.predicting += 1
        try:
            return await handler(request)
        finally:
            guard.predicting -= 1
    return await handler(request)


def middleware(limit: int, workers: int = 1):
    """The middleware, for an upload limit of ``limit`` bytes and ``workers`` worker processes."""
    from aiohttp import web

    guard = Guard(limit, workers)

    @web.middleware
    async def sr4rs_guard(request, handler):
        if request.content_length is not None and request.content_length > limit:
            return _answer(413, f"the upload has {request.content_length} bytes, more than this server takes "
                                f"({limit}): send a smaller image")
        try:
            response = await _route(guard, request.clone(client_max_size=limit), handler)
        except web.HTTPException as err:
            if err.status < 400:
                raise
            return _failure(request, err)
        except asyncio.CancelledError:
            raise
        except TypeError as err:
            cancelled = _cancelled_training(request)
            if cancelled is None:
                return _failure(request, err)
            return web.json_response(cancelled)
        except Exception as err:  # noqa: BLE001 (the client gets one line, the log the traceback)
            return _failure(request, err)
        _remove_result(response)
        return response

    sr4rs_guard.guard = guard
    return sr4rs_guard


class _Uploads:
    """deepaas's wrapper writes each upload to ``tempfile.mkstemp()``, and leaves the file if the write fails (a
    full disk): its module sees this in place of ``tempfile``, which notes each file so that it can be removed."""

    def __init__(self):
        self.made = []

    def mkstemp(self, *args, **kwargs):
        fd, path = tempfile.mkstemp(*args, **kwargs)
        self.made.append(path)
        return fd, path

    def __getattr__(self, name):
        return getattr(tempfile, name)


def _clean_failed_uploads() -> None:
    """Make deepaas's ModelWrapper.predict remove the upload files it made when it fails: it runs at once (no
    other request runs meanwhile), so the files noted during the call are its own."""
    from deepaas.model.v2 import wrapper

    if getattr(wrapper.ModelWrapper.predict, "sr4rs", False):
        return
    uploads, original = _Uploads(), wrapper.ModelWrapper.predict
    wrapper.tempfile = uploads

    def predict(self, *args, **kwargs):
        start = len(uploads.made)
        try:
            return original(self, *args, **kwargs)
        except BaseException:
            for path in uploads.made[start:]:
                with contextlib.suppress(OSError):
                    os.remove(path)
            raise
        finally:
            del uploads.made[start:]

    predict.sr4rs = True
    wrapper.ModelWrapper.predict = predict


def install() -> bool:
    """Add the middleware to the app deepaas-run is building (deepaas 2.6 loads model entry points while it
    does); export the upload limit to the worker processes. False where there is no such app (a worker)."""
    deepaas_api = sys.modules.get("deepaas.api")
    app = getattr(deepaas_api, "APP", None)
    if app is None or app.frozen:
        return False
    if any(getattr(m, "__name__", "") == "sr4rs_guard" for m in app.middlewares):
        return True
    from oslo_config import cfg

    limit = settings.max_upload(int(cfg.CONF.client_max_size or 0))
    os.environ[settings.MAX_UPLOAD_ENV] = str(limit)  # the workers, spawned after this, check zips against it
    app.middlewares.append(middleware(limit, int(cfg.CONF.workers or 1)))
    pools.install()  # deepaas's cancel ends a killed worker's pool without freezing the server
    _clean_failed_uploads()
    LOG.info("sr4rs: uploads limited to %d bytes, %d pixels; at most %d training(s) at once", limit,
             settings.max_pixels(), min(settings.max_trainings(), int(cfg.CONF.workers or 1)))
    return True
