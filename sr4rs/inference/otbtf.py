"""``--backend otbtf``: run the same job through OTBTF's TensorflowModelServe.

Its receptive field, expression field and spacing scale follow from the plan the native engine uses
(``plan_apply``), with the margin one of the crops the model exports (OTBTF cannot crop further).
"""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from typing import Dict, List, Union

import numpy as np

from ..errors import BackendError, InputError, first_line
from ..io.files import StagedFile
from ..io.rasters import default_creation_options, read_info
from ..model import contract
from ..model.load import LoadedModel, load_model
from .plan import ApplyOptions, ApplyPlan, plan_apply

# OTB's output pixel types, by numpy dtype name.
_OTB_TYPES = {"uint8": "uint8", "int16": "int16", "uint16": "uint16", "int32": "int32",
              "uint32": "uint32", "float32": "float", "float64": "double"}
_APP = "TensorflowModelServe"


@dataclass(frozen=True)
class OtbtfJob:
    """TensorflowModelServe parameters for one scene."""

    rfield: int  # input pixels fed per tile (receptive field)
    efield: int  # output pixels produced per tile (expression field)
    spcscale: float  # output spacing / input spacing
    output_name: str
    pixel_type: str

    def parameters(self, image: str, savedmodel: str, out: str) -> Dict[str, object]:
        return {
            "source1.il": [image], "source1.rfieldx": self.rfield, "source1.rfieldy": self.rfield,
            "source1.placeholder": contract.INPUT_KEY, "model.dir": savedmodel, "model.fullyconv": "on",
            "output.names": [self.output_name], "output.efieldx": self.efield, "output.efieldy": self.efield,
            "output.spcscale": self.spcscale, "optim.tilesizex": self.efield, "optim.tilesizey": self.efield,
            "optim.disabletiling": 1, "out": out,
        }

    def command_line(self, image: str, savedmodel: str, out: str) -> List[str]:
        args = ["otbcli_" + _APP]
        for key, value in self.parameters(image, savedmodel, out).items():
            args.append("-" + key)
            args.extend(str(v) for v in (value if isinstance(value, list) else [value]))
        args.append(self.pixel_type)  # the pixel type follows -out
        return args


def job_for(plan: ApplyPlan) -> OtbtfJob:
    """TensorflowModelServe's fields for a plan: efield = tile, rfield = (tile + 2 pad) / scale."""
    s = plan.fine.factor
    return OtbtfJob(rfield=(plan.tile + 2 * plan.pad) // s, efield=plan.tile, spcscale=1.0 / s,
                    output_name=contract.output_key(plan.crop), pixel_type=_OTB_TYPES[np.dtype(plan.out_dtype).name])


def _otb_application():
    try:
        import otbApplication
    except ImportError:
        return None
    return otbApplication.Registry.CreateApplication(_APP)


def _run_in_process(app, parameters: Dict[str, object], pixel_type: str) -> None:
    import otbApplication

    for key, value in parameters.items():
        if isinstance(value, list):
            app.SetParameterStringList(key, [str(v) for v in value])
        elif isinstance(value, int):
            app.SetParameterInt(key, value)
        elif isinstance(value, float):
            app.SetParameterFloat(key, value)
        else:
            app.SetParameterString(key, value)
    app.SetParameterOutputImagePixelType("out", getattr(otbApplication, f"ImagePixelType_{pixel_type}"))
    app.ExecuteAndWriteOutput()


def apply_with_otbtf(image: str, model: Union[str, LoadedModel], output: str, options: ApplyOptions) -> None:
    """Run TensorflowModelServe in-process (otbApplication) or as otbcli; BackendError where OTBTF is absent."""
    app = _otb_application()
    if app is None and shutil.which("otbcli_" + _APP) is None:
        raise BackendError("OTBTF is not installed (no otbApplication with TensorflowModelServe, no "
                           "otbcli_TensorflowModelServe on PATH): use --backend native, the default")
    if options.cog or options.nodata is not None:
        raise InputError("--cog and --nodata are not supported with --backend otbtf: use the native backend")
    info = read_info(image)
    model = model if isinstance(model, LoadedModel) else load_model(model)
    if len(model.inputs) > 1:
        raise InputError("--backend otbtf runs single-input models: use the native backend for this model")
    plan = plan_apply(info, model, options, exported_pad_only=True)
    job = job_for(plan)
    staged = StagedFile(output, options.overwrite, tag="otbtf.partial")
    raw = plan.out_width * plan.out_height * info.count * plan.out_dtype.itemsize
    co = {**default_creation_options(plan.out_dtype, raw), **options.creation_options}
    # OTB's extended filename: creation options, and streaming by whole tiles of the expression field.
    out = staged.tmp + "?" + "&".join([f"gdal:co:{k}={v}" for k, v in co.items()] + [
        "streaming:type=tiled", "streaming:sizemode=height", f"streaming:sizevalue={job.efield}"])
    try:
        if app is not None:
            _run_in_process(app, job.parameters(image, model.path, out), job.pixel_type)
        else:
            subprocess.run(job.command_line(image, model.path, out), check=True)
    except (subprocess.CalledProcessError, RuntimeError) as err:
        staged.abort()
        raise BackendError(f"TensorflowModelServe failed ({first_line(err)}): try --backend native") from None
    except BaseException:
        staged.abort()
        raise
    staged.commit()
