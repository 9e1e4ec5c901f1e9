"""Sensors described by data: a JSON file per sensor gives its bands (names, aliases, native resolution),
its pixel values (type, fill, saturation, scaling, offsets read from the product) and how each band is
found in a product, and how a STAC item of its products is recognised (``stac``). sr4rs ships files for Sentinel-2 L1C and L2A, Landsat 8/9 OLI Collection 2 and
"the bands of one GeoTIFF" (``sr4rs/io/sensors/``); a user adds a satellite by writing one and pointing
``SR4RS_SENSORS`` at its folder (or passing ``--sensor FILE``), with no code change.
"""
from __future__ import annotations

import glob
import json
import math
import os
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import InputError
from ..geo.dtypes import STORED_TYPES

SHIPPED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sensors")
FORMATS = ("sentinel2-safe", "band-files", "one-file")  # the product readers of sr4rs.io.products
_FIELDS = {"name", "description", "format", "detect", "dtype", "nodata", "fill", "saturation", "scale", "offset",
           "offsets", "stac", "bands"}
_BAND_FIELDS = {"name", "aliases", "resolution", "file", "id"}
_STAC_FIELDS = {"match", "offset"}
_STAC_OFFSET_FIELDS = {"property", "since", "value"}
_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]*$")


@dataclass(frozen=True)
class Band:
    """One band of a sensor: its name and aliases, native resolution (metres), where it is in a product
    (``file``: a glob relative to the product's root) and its number in the product metadata (``id``)."""

    name: str
    aliases: Tuple[str, ...]
    resolution: float
    file: str = ""
    id: Optional[int] = None

    def answers_to(self, name: str) -> bool:
        key = name.strip().lower()
        return key == self.name.lower() or key in (a.lower() for a in self.aliases)


@dataclass(frozen=True)
class Sensor:
    """A sensor description, validated (see the module's docstring)."""

    name: str
    description: str
    format: str
    detect: Tuple[str, ...]
    bands: Tuple[Band, ...]
    path: str
    dtype: Optional[str] = None
    nodata: Optional[float] = None
    fill: Optional[float] = None
    saturation: Optional[float] = None
    scale: Optional[float] = None
    offset: Optional[float] = None
    offsets: Optional[Dict[str, str]] = None
    stac: Optional["StacRule"] = None

    def find(self, name: str) -> Optional[Band]:
        """The band answering to ``name`` (or to one of its words: a model's "B4 red" is band B4), or None."""
        for candidate in (name, *name.split()):
            for band in self.bands:
                if band.answers_to(candidate):
                    return band
        return None

    def band(self, name: str) -> Band:
        """The band answering to ``name`` (or to one of its words: a model's "B4 red" is band B4)."""
        found = self.find(name)
        if found is not None:
            return found
        known = ", ".join(b.name for b in self.bands)
        raise InputError(f"sensor '{self.name}' has no band '{name}' (it has {known}): check --bands")

    def select(self, names: Sequence[str]) -> Tuple[Band, ...]:
        return tuple(self.band(n) for n in names)

    @property
    def finest(self) -> float:
        return min(b.resolution for b in self.bands)


@dataclass(frozen=True)
class StacRule:
    """How a STAC item of the sensor's products is recognised: ``match``, alternatives, each a set of item
    properties (``collection``: the item's collection) and the glob patterns their values match (case
    ignored); ``offset``: the value added to every pixel when the item gives no ``raster:bands`` offset and
    its ``property`` is at least ``since`` (Sentinel-2's processing baseline 04.00 and later: -1000)."""

    match: Tuple[Dict[str, str], ...]
    offset_property: Optional[str] = None
    offset_since: Optional[str] = None
    offset_value: float = 0.0


class _Checker:
    """Field checks that name the file and the field in their one-line error."""

    def __init__(self, path: str):
        self.path = path

    def fail(self, field: str, problem: str) -> InputError:
        return InputError(f"sensor file '{self.path}': field '{field}' {problem}: fix the file "
                          "(see the files shipped in sr4rs/io/sensors)")

    def string(self, data, field, where, required=True) -> str:
        value = data.get(field)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or not value:
            raise self.fail(where + field, f"must be a non-empty text, received {value!r}")
        return value

    def number(self, data, field, where, positive=False) -> Optional[float]:
        value = data.get(field)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or (positive and value <= 0):
            raise self.fail(where + field, f"must be a {'positive ' if positive else ''}number, received {value!r}")
        return float(value)

    def unknown(self, data, allowed, where) -> None:
        extra = sorted(set(data) - allowed)
        if extra:
            raise self.fail(where + extra[0], f"is not a field of a sensor description (known: {', '.join(sorted(allowed))})")


def _band(check: _Checker, data: Any, index: int, needs_file: bool) -> Band:
    where = f"bands[{index}]."
    if not isinstance(data, dict):
        raise check.fail(f"bands[{index}]", "must be an object with name, resolution and file")
    check.unknown(data, _BAND_FIELDS, where)
    aliases = data.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a for a in aliases):
        raise check.fail(where + "aliases", f"must be a list of names, received {aliases!r}")
    resolution = check.number(data, "resolution", where, positive=True)
    if resolution is None:
        raise check.fail(where + "resolution", "is missing: give the band's native resolution in metres")
    ident = data.get("id")
    if ident is not None and (isinstance(ident, bool) or not isinstance(ident, int)):
        raise check.fail(where + "id", f"must be an integer, received {ident!r}")
    return Band(check.string(data, "name", where), tuple(aliases), resolution,
                check.string(data, "file", where, required=needs_file), ident)


def _check_bands(check: _Checker, bands: Sequence[Band]) -> None:
    seen: Dict[str, str] = {}
    for i, band in enumerate(bands):
        for name in (band.name, *band.aliases):
            key = name.lower()
            if key in seen:
                raise check.fail(f"bands[{i}]", f"names '{name}', already a name of band {seen[key]}: band names and "
                                 "aliases must not overlap")
            seen[key] = band.name
    if bands:
        finest = min(b.resolution for b in bands)
        for i, band in enumerate(bands):
            ratio = band.resolution / finest
            if abs(ratio - round(ratio)) > 1e-6:
                raise check.fail(f"bands[{i}].resolution", f"is {band.resolution:g}, not an integer multiple of the "
                                 f"finest resolution {finest:g}")


def _pixel_type(name: str) -> str:
    """numpy's name of a pixel type ('UInt16' and 'uint16' alike), or '' for what is none."""
    try:
        return np.dtype(name.lower()).name
    except (TypeError, ValueError):
        return ""


def parse_sensor(data: Any, path: str) -> Sensor:
    """A validated Sensor from the parsed JSON of ``path``; an InputError naming the file and the field."""
    check = _Checker(path)
    if not isinstance(data, dict):
        raise check.fail("(top)", "must be a JSON object")
    check.unknown(data, _FIELDS, "")
    name = check.string(data, "name", "")
    if not _NAME.match(name):
        raise check.fail("name", f"'{name}' must be lower case letters, digits, '-' and '.'")
    fmt = check.string(data, "format", "")
    if fmt not in FORMATS:
        raise check.fail("format", f"'{fmt}' is not one of {', '.join(FORMATS)}")
    detect = data.get("detect", [])
    if not isinstance(detect, list) or not all(isinstance(d, str) and d for d in detect):
        raise check.fail("detect", f"must be a list of file patterns, received {detect!r}")
    raw = data.get("bands")
    if not isinstance(raw, list) or (fmt != "one-file" and not raw):
        raise check.fail("bands", "must be a non-empty list of bands")
    bands = tuple(_band(check, b, i, fmt != "one-file") for i, b in enumerate(raw))
    _check_bands(check, bands)
    dtype = data.get("dtype")
    if dtype is not None and (not isinstance(dtype, str) or _pixel_type(dtype) not in STORED_TYPES):
        raise check.fail("dtype", f"{dtype!r} is not a pixel type of a product's bands (one of "
                         f"{', '.join(STORED_TYPES)})")
    offsets = data.get("offsets")
    if offsets is not None and (not isinstance(offsets, dict) or set(offsets) != {"metadata"}
                                or not isinstance(offsets["metadata"], str) or not offsets["metadata"]):
        raise check.fail("offsets", "must be {\"metadata\": TAG}: the product metadata element holding each band's offset")
    return Sensor(name, check.string(data, "description", "", required=False), fmt, tuple(detect), bands, path,
                  _pixel_type(dtype) if dtype else None,
                  *(check.number(data, k, "") for k in ("nodata", "fill", "saturation")),
                  check.number(data, "scale", "", positive=True), check.number(data, "offset", ""), offsets,
                  _stac_rule(check, data.get("stac")))


def _stac_rule(check: _Checker, data: Any) -> Optional[StacRule]:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise check.fail("stac", "must be an object with 'match' (and 'offset')")
    check.unknown(data, _STAC_FIELDS, "stac.")
    match = data.get("match")
    if not isinstance(match, list) or not match or not all(
            isinstance(m, dict) and m and all(isinstance(k, str) and isinstance(v, str) and v for k, v in m.items())
            for m in match):
        raise check.fail("stac.match", "must be a non-empty list of {property: pattern} objects")
    offset = data.get("offset")
    if offset is None:
        return StacRule(tuple(match))
    if not isinstance(offset, dict):
        raise check.fail("stac.offset", "must be {\"property\": NAME, \"since\": VALUE, \"value\": NUMBER}")
    check.unknown(offset, _STAC_OFFSET_FIELDS, "stac.offset.")
    value = check.number(offset, "value", "stac.offset.")
    return StacRule(tuple(match), check.string(offset, "property", "stac.offset."),
                    check.string(offset, "since", "stac.offset."), value or 0.0)


def load_sensor(path: str) -> Sensor:
    if not os.path.isfile(path):
        raise InputError(f"sensor file '{path}' does not exist: give a sensor description (JSON)")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except ValueError as err:
        raise InputError(f"sensor file '{path}' is not valid JSON ({err}): fix the file") from None
    return parse_sensor(data, path)


def sensor_folders() -> List[str]:
    """The shipped sensors, then the folders of ``SR4RS_SENSORS`` (separated by ``os.pathsep``)."""
    extra = [p for p in os.environ.get("SR4RS_SENSORS", "").split(os.pathsep) if p]
    return [SHIPPED_DIR] + extra


def sensors() -> Dict[str, Sensor]:
    """Every known sensor by name (a user's file may replace a shipped one of the same name)."""
    found: Dict[str, Sensor] = {}
    for folder in sensor_folders():
        for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
            sensor = load_sensor(path)
            found[sensor.name] = sensor
    return found


def get_sensor(name_or_path: str) -> Sensor:
    """A sensor by name, or from a description file."""
    if name_or_path.endswith(".json") or os.sep in name_or_path:
        return load_sensor(name_or_path)
    known = sensors()
    if name_or_path not in known:
        raise InputError(f"unknown sensor '{name_or_path}' (known: {', '.join(known)}): see sr4rs sensors, or give a "
                         "sensor description file")
    return known[name_or_path]


def match_bands(available: Sequence[str], wanted: Sequence[str]) -> List[int]:
    """The position in ``available`` (names of the bands of an array) of each band of ``wanted`` (a model's): the
    same name, one of its words (a model's "B4 red" is "red"), or else names the same band of one known sensor
    answers to, for all the bands at once (``B04`` is Sentinel-2's ``B4``; ``nir08`` is Landsat's B5 but
    Sentinel-2's B8A)."""
    keys = [str(a).strip().lower() for a in available]
    direct = [next((keys.index(w) for w in [n.lower(), *n.lower().split()] if w in keys), None) for n in wanted]
    rest = [n for n, i in zip(wanted, direct) if i is None]
    if not rest:
        return direct
    for sensor in sensors().values():
        found = {}
        for name in rest:
            band = sensor.find(name)
            same = [i for i, k in enumerate(keys) if band is not None and band.answers_to(k)]
            if not same:
                break
            found[name] = same[0]
        if len(found) == len(rest):
            return [i if i is not None else found[n] for n, i in zip(wanted, direct)]
    raise InputError(f"no band of the array answers to the model's {', '.join(repr(n) for n in rest)} (its bands: "
                     f"{', '.join(map(str, available))}; the model takes {', '.join(wanted)}): load those bands")
