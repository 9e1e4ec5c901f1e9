"""One prediction, in a DEEPaaS worker process: the upload checked and moved into a private folder under a
name of ours, the model found by name, the scene super-resolved through the engine (bounded memory), and the
answer (GeoTIFF, PNG quicklook or JSON figures) handed back as one file outside that folder, which is removed
whatever happens. The upload's own file name is never used."""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from typing import Dict, Optional, Sequence

from ... import api
from ...errors import InputError, ModelError
from . import settings, uploads
from .errors import ServiceError, request_folder

RESULT_PREFIX = "sr4rs-result-"
TIFF, PNG, JSON = "image/tiff", "image/png", "application/json"
ACCEPTS = (TIFF, PNG, JSON)
_LOADED: Dict[str, tuple] = {}  # model folder -> (saved_model.pb's mtime, LoadedModel), per worker process


@dataclass(frozen=True)
class Request:
    """What a client asked for, typed by the argument schema."""

    upload: str  # the temporary file DEEPaaS wrote the upload to
    model: Optional[str] = None
    accept: str = TIFF
    encoding: str = "auto"
    margin: Optional[int] = None
    bands: Optional[Sequence[str]] = None
    nodata: Optional[float] = None


def loaded(path: str):
    """The model in ``path``, loaded once per worker (again if it was retrained)."""
    stamp = os.stat(os.path.join(path, "saved_model.pb")).st_mtime_ns
    cached = _LOADED.get(path)
    if cached is None or cached[0] != stamp:
        _LOADED[path] = (stamp, api.load_model(path))
    return _LOADED[path][1]


def warm(names: Sequence[str]) -> None:
    """Load the default models once, so that the first request does not wait for them."""
    for name in names:
        loaded(settings.find_model(name).path)


def _place_upload(upload: str, work: str) -> str:
    """Move the upload into ``work`` under our own name: input.tif, or product.zip once its members are checked."""
    if uploads.kind(upload) == "zip":
        uploads.check_zip(upload, settings.UNPACKED_RATIO * settings.max_upload())
        target = os.path.join(work, "product.zip")
    else:
        target = os.path.join(work, "input.tif")
    shutil.move(upload, target)
    return target


def _choose_model(request: Request, source: str):
    if request.model:
        return loaded(settings.find_model(request.model).path)
    if source.endswith(".zip") and not request.bands:
        raise InputError("a product needs a model (model=NAME) or its bands (bands=B4,B3,B2): name one")
    try:  # as apply chooses: by the bands' names, then their count
        return loaded(api.choose_model(source, None, request.bands)[0])
    except ModelError as err:
        served = ", ".join(settings.served_models())
        raise ModelError(f"{str(err).split(' (bundled:')[0]}: name a model (model=NAME; this server has "
                         f"{served}), or send the bands one takes") from None


def _check_size(paths: Sequence[str]) -> None:
    """The pixel limit: a 413 before any model runs (the upload limit bounds bytes, this bounds the work)."""
    pixels = max(info.width * info.height for info in (api.read_info(p) for p in paths))
    if pixels > settings.max_pixels():
        raise ServiceError(413, f"the image has {pixels} pixels, more than this server super-resolves at once "
                                f"({settings.max_pixels()}): send a smaller area")


def _summary(model, inputs: Sequence[str], report, figures) -> dict:
    first = api.read_info(inputs[0])
    return {"status": "OK", "model": model.name, "scale": model.scale,
            "input": {"width": first.width, "height": first.height, "bands": list(first.band_names)},
            "output": {"width": report.width if report else first.width * model.scale,
                       "height": report.height if report else first.height * model.scale,
                       "bands": list(model.metadata.output_bands)},
            "figures": figures}


def _figures(model, inputs: Sequence[str], options) -> dict:
    """Reference-free consistency of the model's output with its input (and bicubic's, for scale); a fusion
    model is scored by Wald's protocol on its inputs."""
    if len(model.inputs) > 1:
        plan = api.plan_fusion_evaluation([model], list(inputs), nodata=options.nodata, pad=options.pad,
                                          baselines=("bicubic",))
        evaluation = api.run_evaluation(plan)
    else:
        evaluation = api.evaluate([model], [], list(inputs), nodata=options.nodata, pad=options.pad,
                                  baselines=("bicubic",))
    found = evaluation.to_dict()
    keep = ("name", "kind", "factor", "reflectance", "spectral", "spatial", "spatial_dy", "spatial_dx",
            "reflectance_bilinear", "spectral_bilinear", "lr_pixels", "psnr", "ssim", "sam", "ergas")
    return {"protocol": found["protocol"], "bands": found["bands"],
            "methods": [{k: m[k] for k in keep if m.get(k) is not None} for m in found["methods"]]}


def _result_file(suffix: str) -> str:
    fd, path = tempfile.mkstemp(prefix=RESULT_PREFIX, suffix=suffix)
    os.close(fd)
    return path


def run(request: Request) -> object:
    """The answer to ``request``: a ReturnedFile (GeoTIFF or PNG, which the server removes once it is sent) or
    the JSON summary. Any failure is a ServiceError with one line; the upload and every intermediate file are
    gone when this returns or raises."""
    names = {request.upload: "the upload"}
    try:
        with request_folder("sr4rs-predict-", names) as work:
            names.update({os.path.join(work, "input.tif"): "the uploaded image",
                          os.path.join(work, "product.zip"): "the uploaded product"})
            return _run(request, work)
    finally:
        if os.path.exists(request.upload):
            os.remove(request.upload)


def _run(request: Request, work: str) -> object:
    from deepaas.model.v2.wrapper import ReturnedFile

    started = time.monotonic()
    source = _place_upload(request.upload, work)
    if not source.endswith(".zip"):
        _check_size([source])  # before a model is chosen or loaded
    model = _choose_model(request, source)
    options = api.ApplyOptions(pad=request.margin, encoding=request.encoding, nodata=request.nodata)
    inputs = api.open_inputs(source, request.bands, None, model.metadata, model.name)
    _check_size(inputs)
    if request.accept == JSON:
        if request.encoding != "auto":
            raise InputError("encoding applies to the GeoTIFF answer: drop it, or ask for image/tiff")
        summary = _summary(model, inputs, None, _figures(model, inputs, options))
        summary["seconds"] = round(time.monotonic() - started, 3)
        return summary
    output = os.path.join(work, "output.tif")
    quicklook = os.path.join(work, "quicklook.png") if request.accept == PNG else None
    api.apply(inputs, output, model, options, quicklook=quicklook)
    result = _result_file(".png" if quicklook else ".tif")
    os.replace(quicklook or output, result)
    return ReturnedFile(name="result", filename=result, content_type=request.accept,
                        original_filename=os.path.basename(result))
