"""Coordinate reference systems and vector files (OGR): CRS checks between images, patch centres
read from a point layer and reprojected to an image's CRS."""
from __future__ import annotations

import math
import os
from typing import List, Optional, Tuple

from ..errors import InputError
from ._gdal import gdal, ogr, osr
from .source import RasterInfo

# Only GDAL raises (configured in _gdal): ogr/osr results are checked here instead.


def _srs(wkt: str) -> Optional[osr.SpatialReference]:
    if not wkt:
        return None
    srs = osr.SpatialReference()
    srs.ImportFromWkt(wkt)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)  # x = easting/longitude always
    return srs


def _crs_name(srs: Optional[osr.SpatialReference]) -> str:
    if srs is None:
        return "no CRS"
    code = srs.GetAuthorityCode(None)
    return f"{srs.GetName()} (EPSG:{code})" if code else srs.GetName()


def check_same_crs(lr: RasterInfo, hr: RasterInfo) -> None:
    """An InputError unless both images have the same CRS (or neither has one)."""
    a, b = _srs(lr.projection), _srs(hr.projection)
    if a is None and b is None:
        return
    if a is None or b is None:
        lacking = lr.path if a is None else hr.path
        raise InputError(f"'{lacking}' has no CRS but {'HR' if a is None else 'LR'} "
                         f"'{hr.path if a is None else lr.path}' is in {_crs_name(b if a is None else a)}: "
                         "assign it the CRS it is in (gdal_edit.py -a_srs EPSG:...)")
    if not a.IsSame(b):
        raise InputError(f"LR '{lr.path}' is in {_crs_name(a)} but HR '{hr.path}' in {_crs_name(b)}: "
                         "reproject one onto the other's CRS and grid (gdalwarp -t_srs -tr -te)")


def _unit(srs: Optional[osr.SpatialReference]) -> str:
    if srs is None:
        return "map units"
    if srs.IsGeographic():
        return "degrees"
    name = srs.GetLinearUnitsName() or "map units"
    return "m" if name.lower() in ("metre", "meter", "m") else name


def read_points(path: str, image_wkt: str) -> List[Tuple[float, float]]:
    """(x, y) of every point of the first layer of a vector file, in the image's CRS.

    Features without geometry are ignored; points that cannot be reprojected come back as NaN
    (later skipped as outside). Any other geometry type is an InputError.
    """
    if not os.path.exists(path):
        raise InputError(f"points file '{path}' does not exist: check --points")
    gdal.PushErrorHandler("CPLQuietErrorHandler")  # the reason, if any, goes into our one-line message
    try:
        ds = ogr.Open(path)
        reason = gdal.GetLastErrorMsg()
    finally:
        gdal.PopErrorHandler()
    if ds is None:
        detail = f" ({reason.splitlines()[0]})" if reason else ""
        raise InputError(f"points file '{path}' is not a vector file OGR can read{detail}: "
                         "give a GeoPackage, GeoJSON or shapefile of points")
    if ds.GetLayerCount() == 0:
        raise InputError(f"points file '{path}' holds no layer: give a vector file with a point layer")
    layer = ds.GetLayer(0)
    transform = _points_transform(layer.GetSpatialRef(), _srs(image_wkt))
    points = []
    for feature in layer:
        geom = feature.GetGeometryRef()
        if geom is None or geom.IsEmpty():
            continue
        for x, y in _point_coordinates(geom, feature.GetFID(), path):
            points.append(_transform_point(transform, x, y))
    if not points:
        raise InputError(f"points file '{path}' (layer '{layer.GetName()}') holds no point: "
                         "give a layer of patch centres")
    return points


def _points_transform(layer_srs, image_srs):
    if layer_srs is None or image_srs is None:
        return None  # nothing to reproject from or to: coordinates are taken as the image's
    layer_srs = layer_srs.Clone()
    layer_srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    if layer_srs.IsSame(image_srs):
        return None
    transform = osr.CoordinateTransformation(layer_srs, image_srs)
    if transform is None:
        raise InputError(f"points in {_crs_name(layer_srs)} cannot be reprojected to the image's "
                         f"{_crs_name(image_srs)}: reproject the points file (ogr2ogr -t_srs)")
    return transform


def _point_coordinates(geom, fid: int, path: str):
    kind = ogr.GT_Flatten(geom.GetGeometryType())
    if kind == ogr.wkbPoint:
        return [(geom.GetX(), geom.GetY())]
    if kind == ogr.wkbMultiPoint:
        return [(geom.GetGeometryRef(i).GetX(), geom.GetGeometryRef(i).GetY())
                for i in range(geom.GetGeometryCount())]
    raise InputError(f"feature {fid} of '{path}' is a {geom.GetGeometryName()}, not a point: "
                     "give a point layer (e.g. centroids: ogr2ogr -dialect sqlite -sql "
                     "\"SELECT ST_Centroid(geometry) FROM layer\")")


def _transform_point(transform, x: float, y: float) -> Tuple[float, float]:
    if transform is None:
        return float(x), float(y)
    try:
        tx, ty, *_ = transform.TransformPoint(x, y)
    except RuntimeError:
        return math.nan, math.nan
    return (tx, ty) if math.isfinite(tx) and math.isfinite(ty) else (math.nan, math.nan)


def crs_unit(wkt: str) -> str:
    """The linear unit of a CRS as messages name it: ``m``, ``degrees``, or ``map units``."""
    return _unit(_srs(wkt))


def crs_name(wkt: str) -> str:
    """A CRS as messages name it: ``WGS 84 / UTM zone 18N (EPSG:32618)``, or ``no CRS``."""
    return _crs_name(_srs(wkt))


def same_crs(a: str, b: str) -> bool:
    """Whether two CRSs (WKT) are the same (two empty ones are)."""
    sa, sb = _srs(a), _srs(b)
    return (sa is None and sb is None) or (sa is not None and sb is not None and bool(sa.IsSame(sb)))


def crs_code(wkt: str) -> str:
    """A CRS as gdalwarp -t_srs takes it: ``EPSG:32618`` (a CRS without code: a placeholder for its WKT)."""
    srs = _srs(wkt)
    code = srs.GetAuthorityCode(None) if srs is not None else None
    name = srs.GetAuthorityName(None) if srs is not None else None
    return f"{name}:{code}" if code and name else "'<the WKT of its CRS>'"
