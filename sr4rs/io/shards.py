"""Sharded patches: a training set cut into many small patches images, listed by one manifest, read from local
disk or from anywhere GDAL reaches (``/vsicurl/https://...``, ``/vsis3/bucket/...``, configured by GDAL's own
environment variables such as AWS_ACCESS_KEY_ID or GDAL_HTTP_HEADERS).

A shards folder holds ``shards.json`` and, per shard, one patches image per model input (finest first) and one
for the target: ``shard-00000.input_0.tif``..., ``shard-00000.target.tif``. LR/HR pairs are the case of one
input, the LR patches (``kind: pairs``).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import List, Sequence, Tuple

from ..errors import InputError, first_line
from ._gdal import gdal

SHARDS_MANIFEST = "shards.json"
FORMAT = "sr4rs-shards/1"


@dataclass(frozen=True)
class Shard:
    inputs: Tuple[str, ...]  # paths GDAL opens
    target: str
    count: int


@dataclass(frozen=True)
class ShardsDescription:
    """One or more shards folders of one layout, checked consistent."""

    kind: str  # pairs (LR/HR patches) or sets (several inputs and a target)
    count: int
    factors: Tuple[int, ...]
    input_bands: Tuple[Tuple[str, ...], ...]
    target_bands: Tuple[str, ...]
    patch_size: int  # of the target
    shards: Tuple[Shard, ...]

    @property
    def scale(self) -> int:
        return max(self.factors)

    def input_size(self, i: int) -> int:
        return self.patch_size // self.factors[i]


def _join(folder: str, name: str) -> str:
    return folder.rstrip("/") + "/" + name if folder.startswith("/vsi") else os.path.join(folder, name)


def manifest_path(path: str) -> str:
    """The manifest of a shards folder given as the folder or as its ``shards.json``."""
    return path if path.rstrip("/").endswith(SHARDS_MANIFEST) else _join(path, SHARDS_MANIFEST)


def is_shards(path: str) -> bool:
    """Whether ``path`` is a shards folder (or its manifest), local or remote (one request)."""
    manifest = manifest_path(os.fspath(path))
    if not manifest.startswith("/vsi"):
        return os.path.isfile(manifest)
    gdal.PushErrorHandler("CPLQuietErrorHandler")
    try:
        return gdal.VSIStatL(manifest) is not None
    except RuntimeError:
        return False
    finally:
        gdal.PopErrorHandler()


def _read_text(path: str) -> str:
    try:
        f = gdal.VSIFOpenL(path, "rb")
    except RuntimeError as err:
        raise InputError(f"shards manifest '{path}' cannot be read ({first_line(err)}): check the path, and for "
                         "/vsis3/ or /vsicurl/ GDAL's credentials and network variables") from None
    if f is None:
        raise InputError(f"shards manifest '{path}' cannot be read: check the path")
    try:
        gdal.VSIFSeekL(f, 0, 2)
        size = gdal.VSIFTellL(f)
        gdal.VSIFSeekL(f, 0, 0)
        return gdal.VSIFReadL(1, size, f).decode("utf-8")
    finally:
        gdal.VSIFCloseL(f)


def read_shards(path: str) -> ShardsDescription:
    """One shards folder, from its manifest (no patches file is opened)."""
    folder = os.path.dirname(manifest_path(path).rstrip("/"))
    text = _read_text(manifest_path(path))
    try:
        m = json.loads(text)
        if m.get("format") != FORMAT:
            raise ValueError(f"format {m.get('format')!r}, expected {FORMAT}")
        shards = tuple(Shard(tuple(_join(folder, f) for f in s["inputs"]), _join(folder, s["target"]), int(s["count"]))
                       for s in m["shards"])
        return ShardsDescription(m["kind"], int(m["count"]), tuple(int(i["factor"]) for i in m["inputs"]),
                                 tuple(tuple(i["bands"]) for i in m["inputs"]), tuple(m["target"]["bands"]),
                                 int(m["target"]["patch_size"]), shards)
    except (ValueError, KeyError, TypeError) as err:
        raise InputError(f"'{manifest_path(path)}' is not a shards manifest ({first_line(err)}): make the shards "
                         "again with sr4rs shard") from None


def describe_shards(paths: Sequence[str]) -> ShardsDescription:
    """Several shards folders read as one; they must share their layout."""
    if not paths:
        raise InputError("no shards folder given: pass folders written by sr4rs shard")
    found = [read_shards(p) for p in paths]
    first = found[0]
    for path, other in zip(paths[1:], found[1:]):
        if (other.kind, other.factors, len(other.target_bands), other.patch_size) != \
                (first.kind, first.factors, len(first.target_bands), first.patch_size) or \
                [len(b) for b in other.input_bands] != [len(b) for b in first.input_bands]:
            raise InputError(f"shards '{path}' differ from '{paths[0]}' in inputs, bands or patch size: shard "
                             "patches of the same extraction settings")
    shards = tuple(s for d in found for s in d.shards)
    return ShardsDescription(first.kind, sum(d.count for d in found), first.factors, first.input_bands,
                             first.target_bands, first.patch_size, shards)


def shard_names(index: int, inputs: int) -> Tuple[List[str], str]:
    stem = f"shard-{index:05d}"
    return [f"{stem}.input_{i}.tif" for i in range(inputs)], f"{stem}.target.tif"


def manifest(kind: str, factors, input_bands, target_bands, patch_size: int, shards: Sequence[Tuple[int, int]],
             sources: Sequence[str]) -> str:
    """The manifest of shards (index, count) written by ``sr4rs shard``."""
    entries = []
    for index, count in shards:
        inputs, target = shard_names(index, len(factors))
        entries.append({"inputs": inputs, "target": target, "count": count})
    return json.dumps({
        "format": FORMAT, "kind": kind, "count": sum(c for _, c in shards),
        "inputs": [{"bands": list(b), "factor": f} for b, f in zip(input_bands, factors)],
        "target": {"bands": list(target_bands), "patch_size": patch_size},
        "shards": entries, "sources": [os.path.basename(os.path.normpath(s)) for s in sources]}, indent=1) + "\n"
