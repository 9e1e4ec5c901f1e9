"""``--backend otbtf``: run the same job through OTBTF's TensorflowModelServe.

The receptive field, expression field and spacing scale are derived from the
model's scale and the --ts / --pad options exactly as the native engine uses them.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import Dict, List, Optional

from . import contract, raster
from .engine import DEFAULT_TILE_SIZE, ApplyOptions
from .errors import BackendError, InputError

# OTB's output pixel types, by numpy dtype name.
_OTB_TYPES = {"uint8": "uint8", "int16": "int16", "uint16": "uint16", "int32": "int32",
              "uint32": "uint32", "float32": "float", "float64": "double"}
_APP = "TensorflowModelServe"


@dataclass(frozen=True)
class OtbtfJob:
    """TensorflowModelServe parameters for one scene."""

    rfield: int  # LR pixels fed per tile (receptive field)
    efield: int  # HR pixels produced per tile (expression field)
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


def plan_otbtf(scale: int, tile_size: Optional[int], pad: int, pads, dtype) -> OtbtfJob:
    """TensorflowModelServe's fields: efield = --ts, rfield = (efield + 2 pad) / scale."""
    ts = tile_size or DEFAULT_TILE_SIZE
    if ts % scale or pad % scale:
        raise InputError(f"--ts {ts} and --pad {pad} must be multiples of the scale factor {scale}")
    if pad not in pads:
        raise InputError(f"--pad {pad} is not one of the model's cropped outputs ({', '.join(map(str, pads))}); "
                         "OTBTF needs one of them")
    return OtbtfJob(rfield=(ts + 2 * pad) // scale, efield=ts, spcscale=1.0 / scale,
                    output_name=contract.output_key(pad), pixel_type=_OTB_TYPES[raster.np.dtype(dtype).name])


def default_pad(margin: int, pads) -> int:
    """The smallest cropped output covering the model's recommended margin (OTBTF needs an exported one)."""
    cropped = sorted(p for p in pads if p > 0)
    return next((p for p in cropped if p >= margin), cropped[-1] if cropped else margin)


def _otb_application():
    try:
        import otbApplication  # noqa: F401
    except ImportError:
        return None
    app = otbApplication.Registry.CreateApplication(_APP)
    return app


def apply_with_otbtf(image: str, savedmodel: Optional[str], output: str, options: ApplyOptions,
                     scale: Optional[int] = None) -> None:
    """Run TensorflowModelServe in-process (otbApplication) or as otbcli; BackendError where OTBTF is absent."""
    from .api import default_model_path
    from .model import load_model

    app = _otb_application()
    cli = shutil.which("otbcli_" + _APP)
    if app is None and cli is None:
        raise BackendError("OTBTF is not installed (no otbApplication with TensorflowModelServe, no "
                           "otbcli_TensorflowModelServe on PATH): use --backend native, the default")
    if options.cog or options.nodata is not None:
        raise InputError("--cog and --nodata are not supported with --backend otbtf: use the native backend")
    info = raster.read_info(image)
    raster.check_output_path(output, options.overwrite)
    savedmodel = savedmodel or default_model_path()
    model = load_model(savedmodel, scale=scale)
    pad = default_pad(model.metadata.margin, model.pads) if options.pad is None else options.pad
    dtype = raster.resolve_encoding(options.encoding, info.dtype)
    job = plan_otbtf(model.scale, options.tile_size, pad, model.pads, dtype)
    folder = os.path.dirname(os.path.abspath(output))
    tmp = os.path.join(folder, f".{os.path.basename(output)}.otbtf.partial.tif")
    raw = info.width * info.height * model.scale ** 2 * info.count * dtype.itemsize
    co = {**raster.default_creation_options(dtype, raw), **options.creation_options}
    # OTB's extended filename: creation options, and streaming by whole tiles of the expression field.
    out = tmp + "?" + "&".join([f"gdal:co:{k}={v}" for k, v in co.items()] + [
        "streaming:type=tiled", "streaming:sizemode=height", f"streaming:sizevalue={job.efield}"])
    try:
        if app is not None:
            for key, value in job.parameters(image, savedmodel, out).items():
                if isinstance(value, list):
                    app.SetParameterStringList(key, [str(v) for v in value])
                elif isinstance(value, int):
                    app.SetParameterInt(key, value)
                elif isinstance(value, float):
                    app.SetParameterFloat(key, value)
                else:
                    app.SetParameterString(key, value)
            import otbApplication

            app.SetParameterOutputImagePixelType("out", getattr(otbApplication, f"ImagePixelType_{job.pixel_type}"))
            app.ExecuteAndWriteOutput()
        else:
            subprocess.run(job.command_line(image, savedmodel, out), check=True)
        os.replace(tmp, output)
    except (subprocess.CalledProcessError, RuntimeError) as err:
        raise BackendError(f"TensorflowModelServe failed ({err}): try --backend native") from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
