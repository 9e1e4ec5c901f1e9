"""Training windows over many scenes, and which scenes validate: pure functions of scene extents and ids.

A sampler yields ``(scene, Window)``: the scene's index and a window in its (degraded) pixel grid, as torchgeo's
samplers yield queries that datasets read (the grid of every scene is ``sr4rs.geo.patches.grid_windows``).
``random_sampler`` draws windows anywhere, a scene chosen with probability proportional to the number of places a
window fits in it (its area, for large scenes), as torchgeo's ``RandomGeoSampler`` weighs tiles by area.
The split keeps every scene of one unit (a tile, or a tile and date) on one side: a model validated on a tile
never trained on any date of it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import InputError
from .windows import Window


@dataclass(frozen=True)
class SceneSplit:
    """Split units (tiles, or tile-dates) on each side, and those left out of both."""

    by: str
    train: Tuple[str, ...]
    val: Tuple[str, ...]
    excluded: Tuple[str, ...] = ()

    def side(self, key: str) -> Optional[str]:
        """``train``, ``val``, or None for a unit left out."""
        return "val" if key in self.val else "train" if key in self.train else None

    def to_dict(self) -> dict:
        return {"by": self.by, "train": list(self.train), "val": list(self.val), "excluded": list(self.excluded)}


SPLIT_UNITS = ("tile", "tile-date")


def split_scenes(keys: Sequence[str], tiles: Sequence[str], *, by: str = "tile", val_fraction: float = 0.0,
                 seed: int = 0, val_tiles: Sequence[str] = (), exclude_tiles: Sequence[str] = ()) -> SceneSplit:
    """Which units go to validation. ``keys[i]`` is scene i's unit (its tile, or tile and date, as ``by``
    says) and ``tiles[i]`` its tile. Scenes of ``exclude_tiles`` are left out of both sides (kept for a
    leave-tiles-out evaluation); those of ``val_tiles`` validate; else a ``val_fraction`` of the units, drawn
    with ``seed`` (at least one on each side), validates. Names a tile that is not in the list: an error."""
    if by not in SPLIT_UNITS:
        raise InputError(f"--split-by {by} is not one of {', '.join(SPLIT_UNITS)}")
    known = set(tiles)
    for flag, named in (("--val-tiles", val_tiles), ("--exclude-tiles", exclude_tiles)):
        unknown = [t for t in named if t not in known]
        if unknown:
            raise InputError(f"{flag} names {', '.join(unknown)}, which no scene has (tiles: {', '.join(sorted(known))})")
    both = sorted(set(val_tiles) & set(exclude_tiles))
    if both:
        raise InputError(f"{', '.join(both)} both validate and are excluded: give each tile to one of --val-tiles "
                         "and --exclude-tiles")
    excluded = sorted({k for k, t in zip(keys, tiles) if t in exclude_tiles})
    units = sorted({k for k, t in zip(keys, tiles) if t not in exclude_tiles})
    if val_tiles:
        val = sorted({k for k, t in zip(keys, tiles) if t in val_tiles})
    else:
        val = _drawn(units, val_fraction, seed, by)
    if not [u for u in units if u not in val]:
        raise InputError("no scene is left for training once validation and excluded tiles are set apart: "
                         "validate on fewer tiles")
    return SceneSplit(by, tuple(u for u in units if u not in val), tuple(val), tuple(excluded))


def _drawn(units: Sequence[str], val_fraction: float, seed: int, by: str) -> List[str]:
    if val_fraction <= 0:
        return []
    if len(units) < 2:
        raise InputError(f"the scenes span {len(units)} {by.replace('-', ' and ')}: a validation split by scene "
                         "needs at least 2; add scenes or drop --val-fraction")
    n_val = min(max(int(round(len(units) * val_fraction)), 1), len(units) - 1)
    order = np.random.default_rng(seed).permutation(len(units))
    return sorted(units[i] for i in order[:n_val])


def random_sampler(extents: Sequence[Tuple[int, int]], size: int, length: int, seed: Optional[int] = None,
                   unit: int = 1) -> Iterator[Tuple[int, Window]]:
    """``length`` windows of ``size`` drawn at random: a scene with probability proportional to the number of
    window positions it holds, then a position in it, on multiples of ``unit`` pixels. Scenes too small for a
    window are never drawn; the same ``seed`` draws the same windows.

    For a scene of W x H pixels, the positions are ((W - size) // unit + 1) x ((H - size) // unit + 1)."""
    places = np.array([max((w - size) // unit + 1, 0) * max((h - size) // unit + 1, 0) for w, h in extents], float)
    if not places.sum():
        raise InputError(f"no scene holds a window of {size} pixels: lower --patch-size")
    rng = np.random.default_rng(seed)
    for scene in rng.choice(len(extents), size=length, p=places / places.sum()):
        width, height = extents[scene]
        col = int(rng.integers((width - size) // unit + 1)) * unit
        row = int(rng.integers((height - size) // unit + 1)) * unit
        yield int(scene), Window(col, row, size, size)
