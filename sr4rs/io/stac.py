"""STAC items as products: an item (a local JSON file or an ``http(s)://`` address) is read with pystac, its
assets are matched to a sensor's bands by their own description (asset keys such as ``B04``/``red``/``nir08``,
``eo:bands`` names and common names, STAC 1.1 ``bands``), and the bands are read as Cloud Optimized GeoTIFFs
through GDAL's network file system (``/vsicurl/``), window by window, with retries and timeouts. Values are
brought to the sensor's own scaling, as its products give them: ``raster:bands`` scale and offset where the
item states them (Earth Search's Sentinel-2 L2A: offset -0.1 since processing baseline 04.00), else the
sensor's rule (``stac.offset``: Planetary Computer's items state none). An item of a sensor sr4rs does not
know gives its assets' stored values, named by their keys.

Signed URLs already in an item are read as they are; a service that signs at read time needs the item signed
first (e.g. ``planetary_computer.sign``) and saved.
"""
from __future__ import annotations

import fnmatch
import json
import math
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, replace
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..errors import InputError
from ._gdal import gdal
from .sensors import Band, Sensor, get_sensor, sensors

# GDAL's network reads, set unless the user set them (environment variables of the same names win).
HTTP_OPTIONS = {
    "GDAL_HTTP_TIMEOUT": "30",  # seconds without an answer before a try fails
    "GDAL_HTTP_CONNECTTIMEOUT": "10",
    "GDAL_HTTP_MAX_RETRY": "4",  # retried: timeouts, HTTP 429, 502, 503, 504
    "GDAL_HTTP_RETRY_DELAY": "1",  # seconds, doubled at each try
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",  # no listing of the bucket beside each COG
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
}
_RASTER_TYPES = ("image/tiff", "image/jp2", "image/vnd.stac.geotiff", "application/x-hdf")
_SKIPPED_ROLES = {"thumbnail", "overview", "metadata", "visual"}
_JSON_SUFFIXES = (".json", ".geojson")
_CACHE_SECONDS = 60.0
_cache: Dict[Tuple[str, Optional[str], float], Tuple[float, Any]] = {}


def configure_http() -> None:
    """GDAL's network settings (``HTTP_OPTIONS``), each unless the user set it."""
    for key, value in HTTP_OPTIONS.items():
        if gdal.GetConfigOption(key) is None:
            gdal.SetConfigOption(key, value)


def is_url(path: str) -> bool:
    return isinstance(path, str) and path.lower().startswith(("http://", "https://"))


def split_location(location: str) -> Tuple[str, Optional[str]]:
    """``search.json#ITEM_ID`` -> (``search.json``, ``ITEM_ID``): an item of an ItemCollection."""
    base, sep, fragment = location.partition("#")
    return (base, fragment or None) if sep else (location, None)


def claims(path) -> bool:
    """Whether ``path`` names a STAC document: an http(s) address, or a JSON file (``FILE#ID``: one of its items)."""
    if not isinstance(path, (str, os.PathLike)):
        return False
    base, _ = split_location(os.fspath(path))
    if is_url(base):
        return not base.lower().split("?", 1)[0].endswith((".tif", ".tiff", ".jp2", ".vrt"))
    return base.lower().endswith(_JSON_SUFFIXES) and not os.path.isdir(base)


def _http_settings() -> Tuple[float, int, float]:
    configure_http()
    number = lambda key: float(gdal.GetConfigOption(key))  # noqa: E731
    return number("GDAL_HTTP_TIMEOUT"), int(number("GDAL_HTTP_MAX_RETRY")), number("GDAL_HTTP_RETRY_DELAY")


def _http_error(url: str, code: int) -> InputError:
    if code in (401, 403):
        return InputError(f"'{url}' is refused (HTTP {code}): the service needs credentials or a signed URL; sign "
                          "the item (e.g. planetary_computer.sign), save it and give that file")
    if code == 404:
        return InputError(f"'{url}' is not found (HTTP 404): check the address (a saved search may be out of date)")
    return InputError(f"'{url}' answered HTTP {code}: try again later, or check the address")


def fetch(url: str) -> bytes:
    """The body at ``url``, with GDAL's timeout and retries (``GDAL_HTTP_TIMEOUT``, ``GDAL_HTTP_MAX_RETRY``)."""
    timeout, retries, delay = _http_settings()
    for attempt in range(retries + 1):
        try:
            with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 (http(s) only: is_url)
                return answer.read()
        except urllib.error.HTTPError as err:
            if err.code not in (429, 500, 502, 503, 504) or attempt == retries:
                raise _http_error(url, err.code) from None
        except (urllib.error.URLError, socket.timeout, ConnectionError) as err:
            reason = getattr(err, "reason", err)
            if attempt == retries:
                if isinstance(reason, socket.timeout) or "timed out" in str(reason):
                    raise InputError(f"'{url}' did not answer within {timeout:g} s ({attempt + 1} tries): check the "
                                     "network, or allow more time with GDAL_HTTP_TIMEOUT") from None
                raise InputError(f"'{url}' cannot be reached ({reason}): check the address and the network") from None
        time.sleep(delay * 2 ** attempt)
    raise AssertionError("unreachable")


def read_document(location: str) -> Any:
    """The parsed JSON at ``location`` (a file or an http(s) address)."""
    if is_url(location):
        body = fetch(location)
    else:
        if not os.path.isfile(location):
            raise InputError(f"input '{location}' does not exist: check the path")
        with open(location, "rb") as f:
            body = f.read()
    try:
        return json.loads(body)
    except ValueError as err:
        raise InputError(f"'{location}' is not JSON ({err}): give a STAC item (JSON)") from None


def _cached_document(location: str) -> Any:
    """Documents are read once a minute at most: a command checks its inputs more than once."""
    stamp = 0.0 if is_url(location) else (os.path.getmtime(location) if os.path.isfile(location) else -1.0)
    key = (location, None, stamp)
    now = time.monotonic()
    hit = _cache.get(key)
    if hit is not None and now - hit[0] < _CACHE_SECONDS:
        return hit[1]
    data = read_document(location)
    _cache[key] = (now, data)
    return data


def _is_item(data: Any) -> bool:
    return isinstance(data, dict) and data.get("type") == "Feature" and "stac_version" in data \
        and isinstance(data.get("assets"), dict) and isinstance(data.get("id"), str)


def item_collection(data: Any) -> Optional[List[dict]]:
    """The items of an ItemCollection (a GeoJSON FeatureCollection of STAC items, as a STAC API search returns),
    or None."""
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection" or not isinstance(data.get("features"), list):
        return None
    return [f for f in data["features"] if _is_item(f)]


def item_document(location: str) -> Tuple[dict, str]:
    """The item's JSON at ``location`` (``FILE#ID``: item ID of an ItemCollection) and the address it is relative
    to."""
    base, wanted = split_location(location)
    data = _cached_document(base)
    features = item_collection(data)
    if features is not None:
        ids = [f["id"] for f in features]
        if wanted is None and len(features) == 1:
            return features[0], base
        if wanted in ids:
            return features[ids.index(wanted)], base
        if wanted is None:
            raise InputError(f"'{base}' is an ItemCollection of {len(features)} items: give one as '{base}#ID' "
                             f"(IDs: {', '.join(ids[:3])}{'...' if len(ids) > 3 else ''}) or run sr4rs apply-many on it")
        raise InputError(f"ItemCollection '{base}' has no item '{wanted}' (it has {', '.join(ids[:5])}"
                         f"{'...' if len(ids) > 5 else ''}): check the ID")
    if not _is_item(data):
        kind = data.get("type") if isinstance(data, dict) else type(data).__name__
        raise InputError(f"'{base}' is not a STAC item (a GeoJSON Feature with stac_version, id and assets; this is "
                         f"{kind!r}): give an item's JSON, e.g. one feature of a STAC API search")
    if wanted is not None and wanted != data["id"]:
        raise InputError(f"'{base}' is item '{data['id']}', not '{wanted}': check the ID")
    return data, base


def load_item(location: str):
    """The ``pystac.Item`` at ``location``, its relative asset addresses resolved against it."""
    import pystac

    data, base = item_document(location)
    try:
        item = pystac.Item.from_dict(data, preserve_dict=True, migrate=False)
    except Exception as err:  # noqa: BLE001 (pystac raises KeyError, TypeError... on malformed items)
        raise InputError(f"'{location}' is not a valid STAC item ({type(err).__name__}: {err}): fix the item") from None
    item.set_self_href(base if is_url(base) else os.path.abspath(base))
    return item


# --- bands of the item's assets --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AssetBand:
    """One band of an asset: its asset's key, its number in the file (from 1), the names it answers to, where
    GDAL reads it, and what the item says of its values and grid."""

    key: str
    index: int
    names: Tuple[str, ...]
    path: str
    single: bool  # the asset holds this band alone
    rank: int  # lower is preferred: COG, then other rasters
    scale: Optional[float] = None
    offset: Optional[float] = None
    nodata: Optional[float] = None
    resolution: Optional[float] = None
    crs: Optional[str] = None


def gdal_path(href: str) -> str:
    """What GDAL opens for an asset's address: /vsicurl/ for http(s), /vsis3/ and /vsigs/ for buckets."""
    lower = href.lower()
    if lower.startswith(("http://", "https://")):
        return "/vsicurl/" + href
    for scheme, prefix in (("s3://", "/vsis3/"), ("gs://", "/vsigs/")):
        if lower.startswith(scheme):
            return prefix + href[len(scheme):]
    if lower.startswith("file://"):
        return urllib.parse.unquote(urllib.parse.urlparse(href).path)
    return href


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _crs(fields: Dict[str, Any]) -> Optional[str]:
    code = fields.get("proj:code")
    if isinstance(code, str) and code:
        return code.upper()
    epsg = fields.get("proj:epsg")
    return f"EPSG:{epsg}" if isinstance(epsg, int) and not isinstance(epsg, bool) else None


def _resolution(fields: Dict[str, Any], raster: Dict[str, Any]) -> Optional[float]:
    transform = fields.get("proj:transform")
    if isinstance(transform, list) and len(transform) >= 6 and _number(transform[0]):
        return abs(float(transform[0]))
    return _number(raster.get("spatial_resolution")) or _number(fields.get("gsd"))


def _band_names(key: str, eo: Dict[str, Any], single: bool) -> Tuple[str, ...]:
    names = [key] if single else []
    for field in ("name", "common_name", "eo:common_name"):
        if isinstance(eo.get(field), str) and eo[field] and eo[field] not in names:
            names.append(eo[field])
    return tuple(names)


def _raster_fields(band: Dict[str, Any]) -> Dict[str, Any]:
    """``raster:bands`` entries (STAC 1.0) and STAC 1.1 ``bands`` entries alike: scale, offset, nodata."""
    return {"scale": band.get("scale", band.get("raster:scale")), "offset": band.get("offset", band.get("raster:offset")),
            "nodata": band.get("nodata"), "spatial_resolution": band.get("spatial_resolution",
                                                                         band.get("raster:spatial_resolution"))}


def _is_data(asset) -> bool:
    roles = set(asset.roles or ())
    media = (asset.media_type or "").lower()
    if roles and "data" not in roles and roles & _SKIPPED_ROLES:
        return False
    return not media or media.startswith(_RASTER_TYPES)


def asset_bands(item) -> List[AssetBand]:
    """Every band of the item's raster assets, as the item describes them."""
    found = []
    inherited = dict(item.properties)
    for key, asset in sorted(item.assets.items()):
        if not _is_data(asset):
            continue
        fields = {**inherited, **asset.extra_fields}
        eo = asset.extra_fields.get("eo:bands") or asset.extra_fields.get("bands") or []
        raster = asset.extra_fields.get("raster:bands") or asset.extra_fields.get("bands") or []
        count = max(len(eo), len(raster), 1)
        media = (asset.media_type or "").lower()
        rank = 0 if "cloud-optimized" in media else 1 if media.startswith("image/tiff") or not media else 2
        for i in range(count):
            e = eo[i] if i < len(eo) and isinstance(eo[i], dict) else {}
            r = _raster_fields(raster[i]) if i < len(raster) and isinstance(raster[i], dict) else {}
            found.append(AssetBand(key, i + 1, _band_names(key, e, count == 1), gdal_path(asset.get_absolute_href()),
                                   count == 1, rank, _number(r.get("scale")), _number(r.get("offset")),
                                   _number(r.get("nodata")), _resolution(fields, r), _crs(fields)))
    return found


def match_sensor(item) -> Optional[Sensor]:
    """The sensor whose ``stac.match`` rules the item's properties satisfy (``collection``: its collection)."""
    props = {**item.properties, "collection": item.collection_id or ""}

    def matches(rule: Dict[str, str]) -> bool:
        return all(isinstance(props.get(k), (str, int, float)) and
                   fnmatch.fnmatchcase(str(props[k]).lower(), pattern.lower()) for k, pattern in rule.items())

    for sensor in sensors().values():
        if sensor.stac is not None and any(matches(rule) for rule in sensor.stac.match):
            return sensor
    return None


def _choose(sensor: Sensor, bands: Sequence[AssetBand]) -> Dict[str, AssetBand]:
    """The asset band read for each of the sensor's bands: single-band assets first, COGs first."""
    chosen: Dict[str, AssetBand] = {}
    for candidate in sorted(bands, key=lambda b: (not b.single, b.rank, b.key, b.index)):
        for name in candidate.names:
            band = sensor.find(name)
            if band is not None and band.name not in chosen:
                chosen[band.name] = candidate
                break
    return chosen


def _opened_resolution(path: str) -> float:
    ds = gdal.Open(path)
    return abs(ds.GetGeoTransform()[1])


def _generic_sensor(item, bands: Sequence[AssetBand]) -> Tuple[Sensor, Dict[str, AssetBand]]:
    """An item of no known sensor: its assets' bands named by asset key (single-band assets) or ``eo:bands``
    name, with their other names as aliases; stored values, unscaled."""
    used, described, chosen = set(), [], {}
    for candidate in sorted(bands, key=lambda b: (not b.single, b.rank, b.key, b.index)):
        names = [n for n in candidate.names if n.lower() not in used]
        if not names:
            continue
        used.update(n.lower() for n in names)
        resolution = candidate.resolution or _opened_resolution(candidate.path)
        described.append(Band(names[0], tuple(names[1:]), resolution))
        chosen[names[0]] = candidate
    nodata = {b.nodata for b in chosen.values()}
    fill = nodata.pop() if len(nodata) == 1 else None
    sensor = Sensor("stac-item", f"the assets of STAC item {item.id}", "stac-item", (), tuple(described), "",
                    nodata=fill, fill=fill)
    return sensor, chosen


def _version(text: Any) -> Tuple[int, ...]:
    import re

    return tuple(int(p) for p in re.findall(r"\d+", str(text)))


def _tidy(value: float, tolerance: float) -> float:
    """``value`` rounded to the nearest integer when it is one up to floating-point error."""
    nearest = round(value)
    return float(nearest) if abs(value - nearest) <= tolerance * max(1.0, abs(value)) else value


def linear(band: AssetBand, sensor: Sensor, properties: Dict[str, Any]) -> Tuple[float, float]:
    """(ratio, shift): the sensor's value of a stored value v is ``v * ratio + shift``. From the item's
    ``raster:bands`` scale and offset where it gives them, else from the sensor's rule; stored values for a
    sensor without a scale."""
    if sensor.scale is None:
        return 1.0, 0.0
    if band.scale is not None or band.offset is not None:
        scale = band.scale if band.scale is not None else 1.0
        ratio, shift = scale / sensor.scale, ((band.offset or 0.0) - (sensor.offset or 0.0)) / sensor.scale
        return _tidy(ratio, 1e-9), _tidy(shift, 1e-6)
    rule = sensor.stac
    if rule is None or rule.offset_property is None or properties.get(rule.offset_property) is None:
        return 1.0, 0.0
    since = _version(properties[rule.offset_property]) >= _version(rule.offset_since)
    return 1.0, rule.offset_value if since else 0.0


def _check_crs(item_id: str, chosen: Dict[str, AssetBand]) -> None:
    codes: Dict[str, List[str]] = {}
    for name, band in chosen.items():
        if band.crs:
            codes.setdefault(band.crs, []).append(name)
    if len(codes) > 1:
        shown = "; ".join(f"{code}: {', '.join(names)}" for code, names in codes.items())
        raise InputError(f"the assets of item '{item_id}' are in different CRSs ({shown}): sr4rs reads bands on "
                         "grids of one CRS; reproject them to one (gdalwarp) or choose another item")


def open_item(location: str, sensor: Optional[str] = None):
    """The ``Product`` of the STAC item at ``location``: its sensor (``sensor``, else matched by the sensors'
    ``stac`` rules, else its own assets), and where each band is read, with its scaling and band number."""
    from .products import Product

    configure_http()
    item = load_item(os.fspath(location))
    bands = asset_bands(item)
    found = get_sensor(sensor) if sensor else match_sensor(item)
    if found is not None and found.format != "one-file":
        chosen = _choose(found, bands)
        _check_crs(item.id, chosen)
    else:
        found, chosen = _generic_sensor(item, bands)
    if not chosen:
        raise InputError(f"item '{item.id}' has no raster asset answering to a band of {found.name} (its assets: "
                         f"{', '.join(item.assets) or 'none'}): give an item of COG assets, or --sensor")
    nodata = {b.nodata for b in chosen.values() if b.nodata is not None}
    if len(nodata) == 1:
        found = replace(found, fill=nodata.pop())
    scaling = {name: linear(b, found, item.properties) for name, b in chosen.items()}
    return Product(os.fspath(location), "", found, {n: b.path for n, b in chosen.items()},
                   {n: s for n, (_, s) in scaling.items() if s}, item.properties.get("s2:processing_baseline"),
                   ratios={n: r for n, (r, _) in scaling.items() if r != 1.0},
                   indexes={n: b.index for n, b in chosen.items() if b.index != 1}, id=item.id,
                   crs=tuple(sorted({b.crs for b in chosen.values() if b.crs})))


def expand(path: str) -> Optional[List[str]]:
    """The items ``path`` stands for when it is an ItemCollection (``FILE#ID`` each) or a folder of item files
    that is no product; None for anything else."""
    path = os.fspath(path)
    if os.path.isdir(path):
        from .products import detect

        try:
            detect(path)
            return None  # a product (a Landsat folder holds items of its own)
        except InputError:
            pass
        files = sorted(os.path.join(path, n) for n in os.listdir(path) if n.lower().endswith(_JSON_SUFFIXES))
        items = [f for f in files if _is_item(_quiet_document(f))]
        return items or None
    if not claims(path) or split_location(path)[1] is not None:
        return None
    features = item_collection(_cached_document(path))
    if features is None:
        return None
    if not features:
        raise InputError(f"ItemCollection '{path}' holds no item: search again (a wider area or time range)")
    return [f"{path}#{f['id']}" for f in features]


def _quiet_document(path: str) -> Any:
    try:
        return _cached_document(path)
    except InputError:
        return None
