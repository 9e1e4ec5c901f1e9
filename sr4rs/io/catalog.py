"""Outputs that join a catalog: beside an output GeoTIFF, a STAC Item (built with pystac) describing it: footprint
and bbox, ``proj:`` fields (code, transform, shape), ``eo:bands`` and ``raster:bands`` of its bands, a
``derived_from`` link to the input item, and what made it (processing extension: sr4rs's version, the model)."""
from __future__ import annotations

import datetime as dt
import json
import os
from typing import Optional, Sequence

from ..errors import InputError
from ._gdal import osr
from .files import write_text
from .rasters import read_info
from .source import RasterInfo

PROCESSING_EXTENSION = "https://stac-extensions.github.io/processing/v1.2.0/schema.json"
COG_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"
GEOTIFF_TYPE = "image/tiff; application=geotiff"
# The common names of the eo extension: a band description holding one of them gives it.
COMMON_NAMES = ("coastal", "blue", "green", "red", "rededge", "yellow", "pan", "nir", "nir08", "nir09", "cirrus",
                "swir16", "swir22", "lwir", "lwir11", "lwir12")
_DATA_TYPES = {"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64"}


def item_path(output: str) -> str:
    """Where the STAC item of ``output`` goes: beside it, ``.json`` for its raster suffix."""
    root, ext = os.path.splitext(output)
    return (root if ext.lower() in (".tif", ".tiff") else output) + ".json"


def is_sr4rs_item(path: str) -> bool:
    """An item sr4rs wrote (what ``--overwrite`` may replace)."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "sr4rs" in (data.get("properties", {}).get("processing:software") or {})


def _epsg(srs) -> Optional[int]:
    if srs is None:
        return None
    srs.AutoIdentifyEPSG()
    code = srs.GetAuthorityCode(None)
    return int(code) if code and srs.GetAuthorityName(None) == "EPSG" else None


def footprint(info: RasterInfo):
    """(GeoJSON polygon, bbox) of the raster in longitude and latitude, through its four corners and edge midpoints."""
    x0, px, _, y0, _, py = info.geotransform
    src = osr.SpatialReference(wkt=info.projection)
    dst = osr.SpatialReference()
    dst.ImportFromEPSG(4326)
    for srs in (src, dst):
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    to_lonlat = osr.CoordinateTransformation(src, dst)
    w, h = info.width, info.height
    edge = [(0, 0), (w / 2, 0), (w, 0), (w, h / 2), (w, h), (w / 2, h), (0, h), (0, h / 2)]
    ring = [list(to_lonlat.TransformPoint(x0 + c * px, y0 + r * py)[:2]) for c, r in edge]
    ring.append(ring[0])
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    return {"type": "Polygon", "coordinates": [ring]}, [min(lons), min(lats), max(lons), max(lats)]


def _common_name(description: str) -> Optional[str]:
    words = description.lower().replace("_", " ").split()
    return next((w for w in words if w in COMMON_NAMES), None)


def _bands(info: RasterInfo, aliases):
    """eo:bands and raster:bands of the raster's bands; ``aliases(name)``: other names of a band (a sensor's)."""
    from pystac.extensions.eo import Band
    from pystac.extensions.raster import DataType, RasterBand

    eo, raster = [], []
    for i, name in enumerate(info.band_names):
        common = _common_name(" ".join([name, *aliases(name)]))
        eo.append(Band.create(name=name, common_name=common))
        scale = info.scales[i] if i < len(info.scales) else None
        offset = info.offsets[i] if i < len(info.offsets) else None
        kind = info.dtype.name if info.dtype.name in _DATA_TYPES else None
        raster.append(RasterBand.create(nodata=info.nodata, data_type=DataType(kind) if kind else None,
                                        spatial_resolution=abs(info.geotransform[1]),
                                        scale=scale if scale not in (None, 1.0) else None,
                                        offset=offset if offset not in (None, 0.0) else None))
    return eo, raster


def _times(source):
    """(datetime, properties) of the output: the acquisition of the input item, else the time of processing."""
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    if source is None:
        return now, {}
    keep = ("platform", "constellation", "instruments", "mission", "start_datetime", "end_datetime")
    return source.datetime or now, {k: source.properties[k] for k in keep if k in source.properties}


def _href(target: str, item_file: str) -> str:
    """An address as the output item gives it: URLs as they are, files relative to the item."""
    if "://" in target:
        return target
    return os.path.relpath(os.path.abspath(target), os.path.dirname(os.path.abspath(item_file)))


def output_item(raster: str, model: str, scale: int, *, sources: Sequence[str] = (), cog: bool = False,
                quicklook: Optional[str] = None, version: str = ""):
    """The ``pystac.Item`` describing ``raster``; ``sources``: the STAC items it was made from (links
    ``derived_from``)."""
    import pystac
    from pystac.extensions.eo import EOExtension
    from pystac.extensions.projection import ProjectionExtension
    from pystac.extensions.raster import RasterExtension

    from .stac import load_item, open_item

    info = read_info(raster)
    if info.geotransform is None or not info.projection:
        raise InputError(f"'{raster}' has no georeferencing: a STAC item needs one (drop --stac)")
    items = [load_item(s) for s in sources]
    when, kept = _times(items[0] if items else None)
    geometry, bbox = footprint(info)
    item = pystac.Item(os.path.splitext(os.path.basename(raster))[0], geometry, bbox, when,
                       {**kept, "gsd": abs(info.geotransform[1])})
    where = item_path(raster)
    asset = pystac.Asset(_href(raster, where), title=f"super-resolved x{scale} by sr4rs ({model})",
                         media_type=COG_TYPE if cog else GEOTIFF_TYPE, roles=["data"])
    item.add_asset("data", asset)
    sensor = open_item(sources[0]).sensor if sources else None
    aliases = (lambda n: sensor.find(n).aliases if sensor and sensor.find(n) else ())  # noqa: E731
    eo, raster_bands = _bands(info, aliases)
    EOExtension.ext(asset, add_if_missing=True).bands = eo
    RasterExtension.ext(asset, add_if_missing=True).bands = raster_bands
    _projection(ProjectionExtension.ext(item, add_if_missing=True), info)
    _processing(item, model, scale, version)
    for source in sources:
        item.add_link(pystac.Link("derived_from", _href(source, where), media_type="application/geo+json"))
    if quicklook:
        item.add_asset("overview", pystac.Asset(_href(quicklook, where), media_type="image/png", roles=["overview"]))
    return item


def _projection(proj, info: RasterInfo) -> None:
    x0, px, rx, y0, ry, py = info.geotransform
    srs = osr.SpatialReference(wkt=info.projection)
    epsg = _epsg(srs)
    if epsg is not None:
        proj.code = f"EPSG:{epsg}"
    else:
        proj.code = None
        proj.wkt2 = srs.ExportToWkt(["FORMAT=WKT2_2019"])
    proj.transform = [px, rx, x0, ry, py, y0]
    proj.shape = [info.height, info.width]
    xs, ys = (x0, x0 + px * info.width), (y0, y0 + py * info.height)
    proj.bbox = [min(xs), min(ys), max(xs), max(ys)]


def _processing(item, model: str, scale: int, version: str) -> None:
    """What made the output (processing extension), and the model's name and factor."""
    item.stac_extensions.append(PROCESSING_EXTENSION)
    item.properties.update({
        "processing:software": {"sr4rs": version or "unknown"},
        "processing:lineage": f"super-resolved x{scale} by sr4rs with the model {model}",
        "processing:datetime": pystac_datetime(),
        "sr4rs:model": model, "sr4rs:scale": scale})


def pystac_datetime() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def write_output_item(raster: str, model: str, scale: int, *, sources: Sequence[str] = (), cog: bool = False,
                      quicklook: Optional[str] = None, version: str = "") -> str:
    """Write the STAC item of ``raster`` beside it (whole or not at all); returns its path."""
    item = output_item(raster, model, scale, sources=sources, cog=cog, quicklook=quicklook, version=version)
    path = item_path(raster)
    return write_text(path, json.dumps(item.to_dict(include_self_link=False, transform_hrefs=False), indent=2) + "\n")
