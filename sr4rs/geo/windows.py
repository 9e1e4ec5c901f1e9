"""Pure pixel geometry: windows, tiles, padding past the image edge, geotransform scaling.

All sizes are in pixels. ``core`` is the part of a tile that is kept, ``margin`` the overlap read
around it so that the kept part sees the same context whatever the tile size (this is what makes a
tiled output seam-free).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Optional, Tuple

import numpy as np


@dataclass(frozen=True)
class Window:
    """A rectangle of pixels: column and row offset, width and height."""

    col_off: int
    row_off: int
    width: int
    height: int

    def clip(self, width: int, height: int) -> "Window":
        """The part of this window inside an image of ``width`` x ``height``."""
        c0, r0 = max(self.col_off, 0), max(self.row_off, 0)
        c1 = min(self.col_off + self.width, width)
        r1 = min(self.row_off + self.height, height)
        return Window(c0, r0, max(c1 - c0, 0), max(r1 - r0, 0))

    def scaled(self, factor: int) -> "Window":
        """The same ground in an image ``factor`` times finer."""
        return Window(self.col_off * factor, self.row_off * factor, self.width * factor, self.height * factor)

    def coarsened(self, factor: int) -> "Window":
        """The same ground in an image ``factor`` times coarser (offsets and sizes must divide)."""
        if self.col_off % factor or self.row_off % factor or self.width % factor or self.height % factor:
            raise ValueError(f"window {self} does not fall on whole pixels of a grid {factor} times coarser")
        return Window(self.col_off // factor, self.row_off // factor, self.width // factor, self.height // factor)

    def grown(self, margin: int) -> "Window":
        """This window with ``margin`` pixels more on every side."""
        return Window(self.col_off - margin, self.row_off - margin, self.width + 2 * margin,
                      self.height + 2 * margin)

    def inside(self, width: int, height: int) -> bool:
        """Whether this window lies wholly inside a ``width`` x ``height`` image."""
        return (self.col_off >= 0 and self.row_off >= 0
                and self.col_off + self.width <= width and self.row_off + self.height <= height)

    def slices(self) -> Tuple[slice, slice]:
        """(row slice, column slice) for numpy indexing."""
        return (slice(self.row_off, self.row_off + self.height),
                slice(self.col_off, self.col_off + self.width))


@dataclass(frozen=True)
class Tile:
    """One unit of work.

    ``core`` is the window of the output whose pixels this tile writes; ``read`` is ``core`` grown
    by the margin on every side and always ``size + 2 * margin`` wide and high, so that all tiles
    stack into a batch; the part of ``read`` outside the image is filled by mirroring.
    """

    core: Window
    read: Window


def tile_grid(width: int, height: int, size: int, margin: int) -> Iterator[Tile]:
    """Tiles covering a ``width`` x ``height`` image, row by row.

    Tile ``(i, j)`` has core ``[j*size, min((j+1)*size, width))`` in columns (likewise rows), so the
    last row and column are narrower but never missing: the union of cores is the whole image,
    without overlap.
    """
    if size < 1 or margin < 0:
        raise ValueError(f"tile size must be >= 1 and margin >= 0, received size={size}, margin={margin}")
    full = size + 2 * margin
    for row in range(0, height, size):
        for col in range(0, width, size):
            core = Window(col, row, min(size, width - col), min(size, height - row))
            yield Tile(core, Window(col - margin, row - margin, full, full))


def pad_widths(read: Window, width: int, height: int) -> Tuple[Tuple[int, int], Tuple[int, int]]:
    """How many pixels to add (before, after) in rows and columns once the part of ``read`` inside
    a ``width`` x ``height`` image has been read, to get the whole of ``read``."""
    inner = read.clip(width, height)
    top = inner.row_off - read.row_off
    left = inner.col_off - read.col_off
    bottom = read.height - inner.height - top
    right = read.width - inner.width - left
    return (top, bottom), (left, right)


def pad_to(array: np.ndarray, read: Window, width: int, height: int, mode: str = "reflect") -> np.ndarray:
    """``array``, the part of ``read`` inside the image, padded to the whole of ``read``.

    ``mode`` is numpy's: ``reflect`` mirrors without repeating the edge pixel (the engine: every
    kept pixel sees plausible context), ``symmetric`` repeats it (as scipy's ``reflect``, which
    ``degrade`` uses), ``edge`` copies it. A one-pixel image can only be extended by ``edge``.
    """
    (top, bottom), (left, right) = pad_widths(read, width, height)
    if not (top or bottom or left or right):
        return array
    if mode == "reflect" and min(array.shape[:2]) < 2:
        mode = "edge"
    return np.pad(array, ((top, bottom), (left, right), (0, 0)), mode=mode)


def inside_mask(read: Window, width: int, height: int) -> np.ndarray:
    """(rows, cols) mask of the pixels of ``read`` that lie inside the image."""
    (top, _), (left, _) = pad_widths(read, width, height)
    inner = read.clip(width, height)
    mask = np.zeros((read.height, read.width), bool)
    mask[top:top + inner.height, left:left + inner.width] = True
    return mask


def row_blocks(height: int, rows: int) -> Iterator[Tuple[int, int]]:
    """(first, end) row ranges of ``rows`` rows covering ``height`` rows."""
    rows = max(1, int(rows))
    for r0 in range(0, height, rows):
        yield r0, min(r0 + rows, height)


def scaled_geotransform(gt, factor: int, finer: bool) -> Optional[Tuple[float, ...]]:
    """The geotransform of a grid on the same origin whose pixels are ``factor`` times smaller
    (``finer``: a super-resolved output) or larger (a degraded image); None stays None."""
    if gt is None:
        return None
    x0, dx, rx, y0, ry, dy = gt
    if finer:
        return (x0, dx / factor, rx / factor, y0, ry / factor, dy / factor)
    return (x0, dx * factor, rx * factor, y0, ry * factor, dy * factor)
