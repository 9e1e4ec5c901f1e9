"""The arguments of predict and train as DEEPaaS shows and checks them (webargs fields): numbers are numbers,
choices are enumerations. Training takes every field of sr4rs's TrainConfig (train.py's flags) except the
server's own paths, which it manages itself."""
from __future__ import annotations

import dataclasses
from typing import Dict

from ... import api
from .predict import ACCEPTS, TIFF

# TrainConfig fields the server fills itself: checkpoints and exports stay in its folders.
# Set by the service, not by clients: paths and their layout, and how the run is spread (one process here).
SERVER_FIELDS = ("save_ckpt", "load_ckpt", "finetune", "savedmodel", "preview", "logdir", "ckpt_folder", "no_parents",
                 "preview_crop", "run_name", "strategy")
PATH_FIELDS = ("lr_patches", "hr_patches", "valid_lr_patches", "valid_hr_patches", "vggfile")
CHOICES = {"arch": tuple(api.NETWORKS), "losstype": tuple(api.LOSS_TYPES), "vggfeatures": tuple(api.VGG_FEATURES),
           "degradation": tuple(api.DEGRADATIONS), "lr_schedule": tuple(api.SCHEDULES),
           "precision": tuple(api.TRAIN_PRECISIONS)}
AT_LEAST = {"epochs": 1, "batchsize": 1, "depth": 1, "keep_ckpt": 1, "previews_step": 1, "nresblocks": 0,
            "samweight": 0.0, "blur_max": 0.0, "noise": 0.0, "shift": 0.0, "ema": 0.0}
HELP = {
    "lr_patches": "LR patches images (or patch set folders), by their names in the server's training data folder",
    "hr_patches": "HR patches images, same order as lr_patches (not with patch sets)",
    "valid_lr_patches": "validation LR patches (names in the training data folder)",
    "valid_hr_patches": "validation HR patches (names in the training data folder)",
    "vggfile": "VGG19 weights (vgg19.npy) in the training data folder, for the perceptual loss",
    "lr_scale": "LR radiometric scaling (built into the model)", "hr_scale": "HR radiometric scaling",
    "arch": "generator network", "depth": "generator and discriminator depth",
    "nresblocks": "residual blocks in the generator", "ganweight": "adversarial loss weight (0: no GAN)",
    "streaming": "read patches from disk as needed (low RAM)", "pretrain": "first train on the pixel losses alone",
    "augment": "random flips and 90-degree rotations", "seed": "seed: the same seed repeats a run",
    "bands": "band names, in order, recorded in the model", "nodata": "nodata value recorded in the model",
    "description": "free text recorded in the model", "overwrite": "replace an earlier trained model of this name",
    "degradation": "fixed: the LR patches as extracted; random: made from each HR patch at every use",
    "lr_schedule": "constant learning rate, or onecycle", "ema": "moving average of the weights (0: none)",
    "consistency": "export a layer making the output's block means equal the input exactly",
    "precision": "Keras dtype policy of the networks (mixed_float16 for GPUs with tensor cores, mixed_bfloat16 for "
                 "CPUs and TPUs with bfloat16 units); the exported model is float32",
}


def _meta(text: str, **extra) -> dict:
    return dict({"description": text}, **extra)


def _fields():
    from marshmallow import validate
    from webargs import fields

    return fields, validate


def predict_args() -> Dict[str, object]:
    fields, validate = _fields()
    return {
        "data": fields.Field(required=True, metadata=_meta(
            "the image to super-resolve: a GeoTIFF (any GDAL raster), or a Sentinel-2 product zip",
            location="form", type="file")),
        "model": fields.Str(load_default=None, validate=validate.Length(1, 64), metadata=_meta(
            "the model's name (GET /v2/models/sr4rs/ lists them: " + ", ".join(m.name for m in api.list_models()) +
            " and the models trained here); default: the bundled model for the image's band count")),
        "encoding": fields.Str(load_default="auto", validate=validate.OneOf(api.ENCODING_CHOICES), metadata=_meta(
            "pixel type of the GeoTIFF (auto: the input's)", enum=list(api.ENCODING_CHOICES))),
        "margin": fields.Int(load_default=None, validate=validate.Range(0, 1024), metadata=_meta(
            "margin around each tile, in output pixels (default: the model's)")),
        "bands": fields.Str(load_default=None, validate=validate.Length(1, 200), metadata=_meta(
            "bands to read, e.g. B4,B3,B2 (a product's names, or a GeoTIFF's descriptions or numbers); "
            "default: those the model takes")),
        "nodata": fields.Float(load_default=None, allow_nan=False, metadata=_meta(
            "nodata value of an image with no nodata tag")),
        "accept": fields.Str(load_default=TIFF, validate=validate.OneOf(list(ACCEPTS)), metadata=_meta(
            "the answer: the super-resolved GeoTIFF, a PNG quicklook, or a JSON summary with consistency figures",
            location="headers", enum=list(ACCEPTS))),
    }


def _train_field(f, default, fields, validate):
    name, kind = f.name, str(f.type)
    help_text = HELP.get(name, f"as train.py's --{name}")
    if kind.startswith("Tuple"):
        item = fields.Str(validate=validate.Length(1, 255))
        if name == "lr_patches":
            return fields.List(item, required=True, validate=validate.Length(min=1), metadata=_meta(help_text))
        return fields.List(item, load_default=list, metadata=_meta(help_text))
    optional = kind.startswith("Optional")
    base = kind[len("Optional["):-1] if optional else kind
    kwargs = dict(load_default=default, allow_none=optional, metadata=_meta(help_text))
    checks = []
    if name in CHOICES:
        checks.append(validate.OneOf(CHOICES[name]))
        kwargs["metadata"]["enum"] = list(CHOICES[name])
    if name in AT_LEAST:
        checks.append(validate.Range(min=AT_LEAST[name]))
    if checks:
        kwargs["validate"] = checks
    if base == "float":
        return fields.Float(allow_nan=False, **kwargs)
    if base == "int":
        return fields.Int(strict=False, **kwargs)
    if base == "bool":
        return fields.Bool(**kwargs)
    return fields.Str(**kwargs)


def train_args() -> Dict[str, object]:
    fields, validate = _fields()
    defaults = api.TrainConfig(lr_patches=(), hr_patches=(), save_ckpt="")
    args = {"model_name": fields.Str(required=True, validate=validate.Length(1, 64), metadata=_meta(
        "name of the trained model: predict takes it by this name once the training is done"))}
    for f in dataclasses.fields(api.TrainConfig):
        if f.name not in SERVER_FIELDS:
            args[f.name] = _train_field(f, getattr(defaults, f.name), fields, validate)
    args["resume"] = fields.Bool(load_default=False, metadata=_meta(
        "go on from the checkpoints kept when a training of this model_name was cancelled (the metadata lists "
        "them), to its epochs"))
    args["finetune_from"] = fields.Str(load_default=None, validate=validate.Length(1, 64), metadata=_meta(
        "start from this model's weights (a bundled or trained model's name), as train.py's --finetune"))
    return args
