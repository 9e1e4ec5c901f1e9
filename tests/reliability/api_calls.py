"""Calls of the public API with odd pixel types, as a program using sr4rs makes them: ``python
tests/reliability/api_calls.py NAME MODEL OUT``. An error sr4rs anticipates is printed as its one line (exit 1);
anything else escapes with its traceback, which the reliability rows refuse."""
import os
import sys

import numpy as np

from sr4rs import api
from sr4rs.inference.engine import run_apply
from sr4rs.io.geotiff import GeoTiffSink
from sr4rs.io.source import OutputSpec
from sr4rs.geo.windows import Window

GRID = dict(geotransform=(500000.0, 30.0, 0.0, 4000000.0, 0.0, -30.0))


def _array(dtype):
    values = np.arange(40 * 40 * 3).reshape(40, 40, 3) % 97 - 40  # negative and positive values
    return values.astype(dtype) if dtype != "object" else values.astype(object)


def _apply(dtype, model, out):
    """An array of ``dtype`` through the model into a GeoTIFF; prints the type written and its first pixel."""
    source = api.MemorySource(_array(dtype), **GRID)
    path = os.path.join(out, "sr.tif")
    api.import_tensorflow_quietly()
    run_apply(source, api.load_model(model), lambda spec: GeoTiffSink(path, spec), api.ApplyOptions())
    from osgeo import gdal

    ds = gdal.Open(path)
    print(f"wrote {path}: {gdal.GetDataTypeName(ds.GetRasterBand(1).DataType)}, min "
          f"{ds.GetRasterBand(1).ComputeRasterMinMax()[0]:g}")


def _fusion_unplaced(out):
    """The 10 m crop placed on its grid and the 20 m crop as an array placed nowhere, through a fusion model."""
    from osgeo import gdal

    data = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "testdata")
    fine = gdal.Open(os.path.join(data, "s2_10m_crop.tif"))
    coarse = gdal.Open(os.path.join(data, "s2_20m_crop.tif")).ReadAsArray()
    sources = [api.MemorySource(np.moveaxis(fine.ReadAsArray(), 0, -1), geotransform=fine.GetGeoTransform(),
                                projection=fine.GetProjection()), api.MemorySource(np.moveaxis(coarse, 0, -1))]
    path = os.path.join(out, "fused.tif")
    api.import_tensorflow_quietly()
    run_apply(sources, api.load_model("s2-20m-x2"), lambda spec: GeoTiffSink(path, spec), api.ApplyOptions())
    print(f"wrote {path}")


def _sink(dtype, out):
    """A GeoTIFF sink of ``dtype`` pixels, as a caller writing its own arrays makes one."""
    sink = GeoTiffSink(os.path.join(out, "own.tif"), OutputSpec(8, 8, 1, np.dtype(dtype)))
    sink.write(Window(0, 0, 8, 8), np.full((8, 8, 1), -3, dtype))
    sink.commit()
    print(f"wrote {os.path.join(out, 'own.tif')}")


CALLS = {
    "memory-bool": lambda model, out: _apply("bool", model, out),
    "memory-complex": lambda model, out: _apply("complex64", model, out),
    "memory-object": lambda model, out: _apply("object", model, out),
    "memory-float16": lambda model, out: _apply("float16", model, out),
    "memory-int64": lambda model, out: _apply("int64", model, out),
    "memory-int8": lambda model, out: _apply("int8", model, out),
    "fusion-unplaced": lambda model, out: _fusion_unplaced(out),
    "sink-float16": lambda model, out: _sink("float16", out),
    "sink-int8": lambda model, out: _sink("int8", out),
}


if __name__ == "__main__":
    name, model, out = sys.argv[1:4]
    try:
        CALLS[name](model, out)
    except api.Sr4rsError as err:
        print(f"{name}: error: {err}", file=sys.stderr)
        sys.exit(1)
