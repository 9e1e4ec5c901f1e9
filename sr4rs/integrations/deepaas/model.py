"""The DEEPaaS model entry point (group ``deepaas.v2.model``, name ``sr4rs``): what ``deepaas-run`` serves.

DEEPaaS calls ``get_metadata`` in the server and runs ``warm``, ``predict`` and ``train`` in its worker
processes (``--workers``), so the server answers other requests while they run.
"""
from __future__ import annotations

import os
from typing import Dict

import sr4rs

from ... import api
from . import args as _args, predict as _predict, runs, server, settings, train as _train
from .errors import ServiceError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if not os.environ.get("SR4RS_VERBOSE"):
    import warnings

    # the deprecation notices of DEEPaaS's libraries (webargs, apispec, marshmallow, aiohttp) and of the fields
    # DEEPaaS's file uploads are declared with: noise in the server's log (SR4RS_VERBOSE=1 shows them)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", message="`Field` should not be instantiated")


def _response_schema():
    from webargs import fields

    return {"status": fields.Str(required=True), "model": fields.Str(required=True),
            "scale": fields.Int(required=True), "input": fields.Dict(required=True),
            "output": fields.Dict(required=True), "figures": fields.Dict(required=True),
            "seconds": fields.Float()}


schema = _response_schema()  # the JSON answer of predict (application/json)


def _model_entry(m: settings.ServedModel) -> dict:
    info = api.describe_model(m.path, m.name)
    return {"name": m.name, "origin": m.origin, "scale": info.scale, "description": info.description,
            "inputs": [{"name": i.name, "bands": list(i.bands), "factor": i.factor} for i in info.inputs],
            "output_bands": list(info.output_bands)}


def _training_data() -> list:
    try:
        folder = settings.data_dir()
    except api.InputError:
        return []
    return sorted(name for name in os.listdir(folder) if not name.startswith("."))[:1000]


def get_metadata() -> Dict[str, object]:
    """The service and the models clients may name (bundled, and trained on this server)."""
    models = []
    for m in settings.served_models().values():
        try:
            models.append(_model_entry(m))
        except api.Sr4rsError:  # a broken trained model is left out of the list, not the whole answer
            continue
    return {
        "id": "sr4rs", "name": "sr4rs", "version": sr4rs.__version__, "license": "Apache-2.0",
        "author": "sr4rs contributors",
        "description": "Super-resolution of remote sensing images: predict super-resolves an uploaded GeoTIFF or "
                       "Sentinel-2 product zip with a model chosen by name; train trains one on the server's "
                       "patches.",
        "models": models, "training_data": _training_data(), "accept": list(_predict.ACCEPTS),
        "checkpoints": runs.all_kept(),  # kept from cancelled trainings: train with resume=true goes on
        "limits": {"upload_bytes": settings.max_upload(), "pixels": settings.max_pixels(),
                   "trainings": settings.max_trainings(), "queued_predictions": settings.max_queue()},
    }


def get_predict_args():
    return _args.predict_args()


def get_train_args():
    return _args.train_args()


def warm() -> None:
    """Load the bundled models once in each worker process (TensorFlow imported without its start-up notices)."""
    if not os.environ.get("SR4RS_VERBOSE"):
        api.import_tensorflow_quietly()
    _predict.warm([m.name for m in api.list_models()])


def predict(**kwargs):
    data = kwargs.get("data")
    upload = getattr(data, "filename", None)
    if not isinstance(upload, str) or not os.path.isfile(upload):
        raise ServiceError(400, "send the image as a file in the 'data' field (multipart/form-data)")
    bands = kwargs.get("bands")
    request = _predict.Request(
        upload=upload, model=kwargs.get("model"), accept=kwargs.get("accept") or _predict.TIFF,
        encoding=kwargs.get("encoding") or "auto", margin=kwargs.get("margin"), nodata=kwargs.get("nodata"),
        bands=[b for b in bands.replace(",", " ").split() if b] if bands else None)
    if request.accept not in _predict.ACCEPTS:  # */*, which DEEPaaS answers as JSON
        request = _predict.Request(**dict(request.__dict__, accept=_predict.JSON))
    return _predict.run(request)


def train(**kwargs):
    return _train.run(kwargs)


server.install()
