"""One GeoTIFF from the bands of several rasters on one grid (a product's fine bands and fused ones), in a
given band order: a virtual raster over them, translated once into the output."""
from __future__ import annotations

import uuid
from typing import Dict, Optional, Sequence, Tuple

from ..errors import InputError, first_line
from ._gdal import gdal
from .files import StagedFile, write_failure
from .geotiff import _cog_options
from .rasters import default_creation_options, read_info


def assemble_bands(parts: Sequence[Tuple[str, Sequence[str]]], order: Sequence[str], output: str, options,
                   metadata: Optional[Dict[str, str]] = None):
    """``parts``: (raster, its band names) on one grid; ``order``: the band names, in the order wanted (names
    not in any part are left out); ``metadata``: the output's dataset metadata. Returns the output's width and
    height."""
    where = {}
    for path, names in parts:
        for index, name in enumerate(names):
            where.setdefault(name, (path, index + 1))
    bands = [(name, *where[name]) for name in order if name in where]
    infos = {path: read_info(path) for path, _ in parts}
    grid = {(i.width, i.height, i.geotransform) for i in infos.values()}
    if len(grid) != 1:
        raise InputError("the bands to assemble are not on one grid: give the models of one product")
    vrt = f"/vsimem/sr4rs-assemble-{uuid.uuid4().hex}.vrt"  # one per run: runs in threads of one process
    _vrt(vrt, bands, metadata or {})
    first = next(iter(infos.values()))
    dtype = None if options.encoding == "auto" else _gdal_type(options.encoding)
    staged = StagedFile(output, options.overwrite)
    raw = first.width * first.height * len(bands) * 8
    creation = {**default_creation_options(first.dtype, raw), **options.creation_options}
    if options.cog:  # the COG driver tiles by itself and names the compression level LEVEL
        creation = _cog_options(creation, raw)
    try:
        gdal.Translate(staged.tmp, vrt, format="COG" if options.cog else "GTiff",
                       outputType=gdal.GetDataTypeByName(dtype) if dtype else gdal.GDT_Unknown,
                       creationOptions=[f"{k}={v}" for k, v in creation.items()])
        reason = None
    except RuntimeError as err:
        reason = first_line(err)
    except BaseException:
        staged.abort()
        raise
    finally:
        gdal.Unlink(vrt)
    if reason is not None:
        staged.abort()
        raise write_failure(output, reason)
    staged.commit()
    return first.width, first.height


def _gdal_type(name: str) -> str:
    import numpy as np

    from ..geo.dtypes import resolve_encoding
    from ._gdal import gdal_array

    return gdal.GetDataTypeName(gdal_array.NumericTypeCodeToGDALTypeCode(np.dtype(resolve_encoding(name, "float32"))))


def _vrt(vrt: str, bands, metadata: Dict[str, str]) -> None:
    """A VRT of ``bands`` ((name, raster, band index)), each keeping its description and nodata."""
    first = gdal.Open(bands[0][1])
    ds = gdal.GetDriverByName("VRT").Create(vrt, first.RasterXSize, first.RasterYSize, 0)
    ds.SetGeoTransform(first.GetGeoTransform())
    ds.SetProjection(first.GetProjection())
    if metadata:
        ds.SetMetadata(dict(metadata))
    for name, path, index in bands:
        source = gdal.Open(path)  # kept while its band is used: a band outliving its dataset crashes GDAL
        src = source.GetRasterBand(index)
        ds.AddBand(src.DataType)
        band = ds.GetRasterBand(ds.RasterCount)
        band.SetDescription(name)
        if src.GetNoDataValue() is not None:
            band.SetNoDataValue(src.GetNoDataValue())
        band.SetMetadataItem("source_0", f'<SimpleSource><SourceFilename relativeToVRT="0">{path}</SourceFilename>'
                             f"<SourceBand>{index}</SourceBand></SimpleSource>", "new_vrt_sources")
    ds = None
