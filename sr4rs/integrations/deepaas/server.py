"""What the DEEPaaS server itself does for sr4rs, installed when deepaas-run loads the entry point: one aiohttp
middleware that holds every request to the upload limit (deepaas-run sets none by default), answers every
error with one line of JSON (no paths, no tracebacks, whatever raised it) and removes each result file once its
answer is under way."""
from __future__ import annotations

import json
import logging
import os
import re
import sys
import tempfile

from . import settings
from .errors import ServiceError
from .predict import RESULT_PREFIX

LOG = logging.getLogger("sr4rs.deepaas")
_CANCEL = re.compile(r"^.*/models/sr4rs/train/([0-9a-f]{32})$")
_RESULT = re.compile(re.escape(RESULT_PREFIX) + r"[A-Za-z0-9_]+\.(tif|png)$")


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


def middleware(limit: int):
    """The middleware, for an upload limit of ``limit`` bytes."""
    import asyncio

    from aiohttp import web

    @web.middleware
    async def sr4rs_guard(request, handler):
        if request.content_length is not None and request.content_length > limit:
            return _answer(413, f"the upload has {request.content_length} bytes, more than this server takes "
                                f"({limit}): send a smaller image")
        try:
            response = await handler(request.clone(client_max_size=limit))
        except ServiceError as err:
            return _answer(err.status, err.message)
        except web.HTTPException as err:
            if err.status < 400:
                raise
            if err.status >= 500:
                LOG.error("%s %s: %s", request.method, request.path, err.reason)
            return _answer(err.status, http_message(err))
        except asyncio.CancelledError:
            raise
        except TypeError:
            cancelled = _cancelled_training(request)
            if cancelled is None:
                LOG.exception("%s %s failed", request.method, request.path)
                return _answer(500, "internal error: the server's log has the details")
            return web.json_response(cancelled)
        except Exception:  # noqa: BLE001 (the client gets one line, the log the traceback)
            LOG.exception("%s %s failed", request.method, request.path)
            return _answer(500, "internal error: the server's log has the details")
        _remove_result(response)
        return response

    return sr4rs_guard


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
    app.middlewares.append(middleware(limit))
    LOG.info("sr4rs: uploads limited to %d bytes", limit)
    return True
