"""Lists of scenes: the corpus's ``index.csv``, a scenes CSV (one scene per row: its files per resolution
group, its tile and date), or a plain list of products. Each becomes ``SceneFiles`` values: where a scene's
pixels are, and the tile and date that decide which side of a training/validation split it falls on.

A scenes CSV has a header. ``tile`` is required; ``scene``, ``date`` and ``level`` are optional; the files
are in one column per resolution group named by its pixel size (``10m``, ``20m``, ``60m``: finest first
whatever the column order; an empty cell: the scene lacks that group), or in a ``product`` column (a
Sentinel-2 ``.SAFE`` folder or ``.zip``, a Landsat folder). Relative paths are relative to the list's folder.
"""
from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from ..errors import InputError
from .products import nest, open_product, select_bands, stack
from .rasters import read_info

CORPUS_COLUMNS = ("file", "tile_or_pathrow", "date", "res_m")
_GROUP_COLUMN = re.compile(r"^(\d+(?:\.\d+)?)\s*m$")
_S2_NAME = re.compile(r"_T?(\d{2}[A-Z]{3})_.*?(\d{8})|(\d{8})T\d{6}_.*_T(\d{2}[A-Z]{3})")
_LANDSAT_NAME = re.compile(r"^L[CEOT]0\d_\w{4}_(\d{6})_(\d{8})_")


@dataclass(frozen=True)
class SceneFiles:
    """One scene of a list: its name (unique in the list), tile and date, and its files: one image per
    resolution group, finest first, or one product (``product`` True)."""

    name: str
    tile: str
    date: str
    files: Tuple[str, ...]
    product: bool = False
    level: str = ""
    listed_in: str = ""

    def key(self, by: str) -> str:
        """The unit a split keeps on one side: the tile, or the tile and date (``by``: tile, tile-date)."""
        return self.tile if by == "tile" else f"{self.tile}_{self.date}"


def read_scene_lists(paths: Sequence[str]) -> List[SceneFiles]:
    """Every scene of the lists ``paths``, in order; names must not repeat across lists."""
    if not paths:
        raise InputError("no scene list given: pass --scenes LIST (a corpus index.csv, a scenes CSV or a list of products)")
    scenes: List[SceneFiles] = []
    seen: Dict[str, str] = {}
    for path in paths:
        for scene in read_scene_list(path):
            if scene.name in seen:
                raise InputError(f"scene '{scene.name}' is listed twice ('{seen[scene.name]}' and '{path}'): give each "
                                 "scene once (a scene column names scenes of one tile and date apart)")
            seen[scene.name] = path
            scenes.append(scene)
    return scenes


def read_scene_list(path: str) -> List[SceneFiles]:
    """The scenes of one list, whichever of the three forms it has (told apart by its first line)."""
    rows = _read_rows(path)
    header = [h.strip() for h in rows[0]] if rows else []
    if all(c in header for c in CORPUS_COLUMNS):
        scenes = _corpus_scenes(path, _records(header, rows[1:]))
    elif "tile" in header and ("product" in header or any(_GROUP_COLUMN.match(h) for h in header)):
        scenes = _csv_scenes(path, header, _records(header, rows[1:]))
    else:
        scenes = _listed_products(path, [r[0].strip() for r in rows if r and r[0].strip()
                                         and not r[0].lstrip().startswith("#")])
    if not scenes:
        raise InputError(f"scene list '{path}' names no scene: give one scene per row")
    return scenes


def _read_rows(path: str) -> List[List[str]]:
    if not os.path.isfile(path):
        raise InputError(f"scene list '{path}' does not exist: check the path")
    try:
        with open(path, encoding="utf-8", newline="") as f:
            return [r for r in csv.reader(f) if any(cell.strip() for cell in r)]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise InputError(f"scene list '{path}' cannot be read ({err}): give a UTF-8 CSV or text file") from None


def _records(header: Sequence[str], rows: Sequence[Sequence[str]]) -> List[Dict[str, str]]:
    return [{h: (r[i].strip() if i < len(r) else "") for i, h in enumerate(header)} for r in rows]


def _located(list_path: str, path: str, row: int) -> str:
    """``path`` relative to the list's folder, checked to exist."""
    full = path if os.path.isabs(path) else os.path.join(os.path.dirname(os.path.abspath(list_path)), path)
    if not os.path.exists(full):
        raise InputError(f"scene list '{list_path}', row {row}: '{path}' does not exist: check the path "
                         "(relative paths are relative to the list's folder)")
    return os.path.normpath(full)


def _corpus_scenes(path: str, records: List[Dict[str, str]]) -> List[SceneFiles]:
    """The corpus's index: one row per file; a block's files (the same name up to ``_<res>m_``) are one scene."""
    blocks: Dict[str, List[Tuple[float, str, Dict[str, str]]]] = {}
    for row, record in enumerate(records, start=2):
        name = record["file"]
        stem = re.split(r"_\d+(?:\.\d+)?m_", os.path.basename(name))[0]
        try:
            resolution = float(record["res_m"])
        except ValueError:
            raise InputError(f"scene list '{path}', row {row}: res_m '{record['res_m']}' is not a number") from None
        blocks.setdefault(stem, []).append((resolution, _located(path, name, row), record))
    scenes = []
    for stem, files in blocks.items():
        files.sort(key=lambda item: item[0])
        first = files[0][2]
        if len({f[0] for f in files}) != len(files):
            raise InputError(f"scene list '{path}': block '{stem}' has two files of one resolution: give one per group")
        scenes.append(SceneFiles(stem, first["tile_or_pathrow"], first["date"], tuple(f[1] for f in files),
                                 level=first.get("level", ""), listed_in=path))
    return scenes


def _csv_scenes(path: str, header: Sequence[str], records: List[Dict[str, str]]) -> List[SceneFiles]:
    groups = sorted((float(m.group(1)), h) for h in header for m in [_GROUP_COLUMN.match(h)] if m)
    scenes, counts = [], {}
    for row, record in enumerate(records, start=2):
        if not record.get("tile"):
            raise InputError(f"scene list '{path}', row {row}: no tile: every scene needs its tile (or path/row), "
                             "which decides its side of the training/validation split")
        product = record.get("product", "")
        files = [record[h] for _, h in groups if record.get(h)]
        if bool(product) == bool(files):
            raise InputError(f"scene list '{path}', row {row}: give either a product or files per resolution "
                             f"({', '.join(h for _, h in groups) or 'columns such as 10m, 20m'})")
        located = tuple(_located(path, p, row) for p in ([product] if product else files))
        default = f"{record['tile']}_{record.get('date', '')}".rstrip("_")
        counts[default] = counts.get(default, 0) + 1
        name = record.get("scene") or (default if counts[default] == 1 else f"{default}_{counts[default]}")
        scenes.append(SceneFiles(name, record["tile"], record.get("date", ""), located, bool(product),
                                 record.get("level", ""), path))
    return scenes


def name_ids(name: str) -> Optional[Tuple[str, str]]:
    """(tile, date) read from a Sentinel-2 or Landsat product or file name; None if it holds neither."""
    landsat = _LANDSAT_NAME.match(name)
    if landsat:
        return landsat.group(1), _iso(landsat.group(2))
    s2 = _S2_NAME.search(name)
    if s2:
        tile, date = (s2.group(1), s2.group(2)) if s2.group(1) else (s2.group(4), s2.group(3))
        return f"T{tile}", _iso(date)
    return None


def _iso(date: str) -> str:
    return f"{date[:4]}-{date[4:6]}-{date[6:]}"


def _listed_products(path: str, lines: Sequence[str]) -> List[SceneFiles]:
    scenes = []
    for row, line in enumerate(lines, start=1):
        located = _located(path, line, row)
        name = os.path.basename(os.path.normpath(located))
        ids = name_ids(name)
        if ids is None:
            raise InputError(f"scene list '{path}', row {row}: cannot tell the tile and date of '{name}': write a "
                             "scenes CSV with tile and date columns (see docs/training.md)")
        scenes.append(SceneFiles(os.path.splitext(name)[0], ids[0], ids[1], (located,), True, listed_in=path))
    return scenes


def _described(description: str, name: str) -> bool:
    words = description.split()
    return bool(words) and name.lower() in (description.lower(), words[0].lower())


def _file_bands(path: str, names: Sequence[str]) -> List[str]:
    """The bands of ``names`` that ``path`` holds (by band description), in the order of ``names``."""
    descriptions = read_info(path).descriptions
    return [n for n in names if any(_described(d, n) for d in descriptions)]


def group_images(scene: SceneFiles, bands: Optional[Sequence[str]] = None, sensor: Optional[str] = None) -> List[str]:
    """What GDAL reads for each resolution group of ``scene``, finest first: every group file whole, or the
    ``bands`` each holds (by band description, in the order of ``bands``; groups holding none are left out);
    a product's ``bands`` grouped by resolution. Coarse grids half a fine pixel off are nested (``nest``)."""
    if scene.product:
        if not bands:
            raise InputError(f"scene '{scene.name}' is a product: choose its bands with --bands (e.g. B2,B3,B4,B8)")
        product = open_product(scene.files[0], sensor)
        by_resolution: Dict[float, List[str]] = {}
        for name in bands:
            by_resolution.setdefault(product.sensor.band(name).resolution, []).append(name)
        images = [stack(product, by_resolution[r]) for r in sorted(by_resolution)]
    elif bands:
        picked = [(path, _file_bands(path, bands)) for path in scene.files]
        found = {n for _, names in picked for n in names}
        missing = [n for n in bands if n not in found]
        if missing:
            raise InputError(f"scene '{scene.name}' has no band {', '.join(missing)} in its files "
                             f"({', '.join(os.path.basename(f) for f in scene.files)}): name bands every scene has, "
                             "by their descriptions")
        images = [select_bands(path, names) for path, names in picked if names]
    else:
        images = list(scene.files)
    return images[:1] + [nest(image, images[0]) for image in images[1:]]
