"""What this installation's GDAL can do: its version (bindings and library), whether numpy arrays work, and
the drivers and compressions sr4rs uses (``sr4rs doctor`` reports them)."""
from __future__ import annotations

from typing import Dict

from ._gdal import gdal

# driver -> what sr4rs reads or writes with it
DRIVERS = {"GTiff": "GeoTIFF inputs and every output", "VRT": "band selections and products' bands",
           "MEM": "in-memory rasters", "PNG": "quicklooks and panels",
           "JP2OpenJPEG": "Sentinel-2 .SAFE band files (JPEG 2000)", "COG": "--cog outputs"}
COMPRESSIONS = ("ZSTD", "DEFLATE", "LZW")  # ZSTD: the default output compression


def gdal_summary() -> Dict[str, object]:
    """Versions, drivers (name -> available) and the GeoTIFF driver's compressions (name -> available)."""
    try:
        from osgeo import gdal_array  # noqa: F401 (only whether it imports)
        arrays = True
    except ImportError:
        arrays = False
    gtiff = gdal.GetDriverByName("GTiff")
    options = gtiff.GetMetadataItem("DMD_CREATIONOPTIONLIST") or "" if gtiff is not None else ""
    return {"version": gdal.__version__, "library": gdal.VersionInfo("RELEASE_NAME"), "arrays": arrays,
            "drivers": {name: gdal.GetDriverByName(name) is not None for name in DRIVERS},
            "compressions": {name: name in options for name in COMPRESSIONS}}
