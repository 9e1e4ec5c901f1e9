"""A scene's run cut into blocks that several machines compute, and put back together bit for bit.

A block is a run of consecutive batches of the scene's plan: every tile is computed in the very batch a
whole run computes it in (a batch's composition can change the last bits of a model's output on some
devices), so the assembled output equals a single run's. Its file covers the whole rows of tiles it
touches; the tiles it owns lie in at most three rectangles of them (the end of a first row, whole rows,
the start of a last row).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from ..geo.windows import Window
from ..io.source import OutputSpec, RasterSink, RasterSource
from .plan import ApplyPlan


@dataclass(frozen=True)
class Block:
    """Batches ``first_batch`` to ``end_batch`` (excluded) of a plan; ``window``: the output pixels its file
    covers; ``parts``: the output windows holding its tiles; ``work``: its finest input pixels."""

    index: int
    first_batch: int
    end_batch: int
    window: Window
    parts: Tuple[Window, ...]
    work: int


def _tiles_per_row(plan: ApplyPlan) -> int:
    return -(-plan.out_width // plan.tile)


def _rectangle(plan: ApplyPlan, row0: int, row1: int, col0: int, col1: int) -> Window:
    """Output pixels of the tiles in rows ``row0..row1`` and columns ``col0..col1`` (inclusive)."""
    x0, y0 = col0 * plan.tile, row0 * plan.tile
    x1, y1 = min((col1 + 1) * plan.tile, plan.out_width), min((row1 + 1) * plan.tile, plan.out_height)
    return Window(x0, y0, x1 - x0, y1 - y0)


def tile_parts(plan: ApplyPlan, first: int, end: int) -> Tuple[Window, ...]:
    """Tiles ``first`` to ``end`` (excluded, row-major order) as at most three rectangles of output pixels."""
    n = _tiles_per_row(plan)
    (r0, c0), (r1, c1) = divmod(first, n), divmod(end - 1, n)
    if r0 == r1:
        return (_rectangle(plan, r0, r0, c0, c1),)
    parts = []
    if c0 > 0:
        parts.append(_rectangle(plan, r0, r0, c0, n - 1))
        r0 += 1
    last = None
    if c1 < n - 1:
        last = _rectangle(plan, r1, r1, 0, c1)
        r1 -= 1
    if r0 <= r1:
        parts.append(_rectangle(plan, r0, r1, 0, n - 1))
    if last is not None:
        parts.append(last)
    return tuple(parts)


def plan_blocks(plan: ApplyPlan, max_tiles: Optional[int]) -> List[Block]:
    """The plan cut into blocks of whole batches, about ``max_tiles`` tiles each (at least one batch); one
    block covering the whole scene when ``max_tiles`` is None or the scene has no more tiles."""
    tiles = plan.tiles()
    count = len(tiles)
    nbatches = -(-count // plan.batch_size)
    step = nbatches if not max_tiles or max_tiles >= count else max(1, max_tiles // plan.batch_size)
    blocks = []
    for index, b0 in enumerate(range(0, nbatches, step)):
        b1 = min(b0 + step, nbatches)
        first, end = b0 * plan.batch_size, min(b1 * plan.batch_size, count)
        parts = tile_parts(plan, first, end)
        top, bottom = parts[0].row_off, parts[-1].row_off + parts[-1].height
        work = sum(t.core.width * t.core.height for t in tiles[first:end]) // plan.fine.factor ** 2
        blocks.append(Block(index, b0, b1, Window(0, top, plan.out_width, bottom - top), parts, work))
    return blocks


def fingerprint(plan: ApplyPlan, blocks: Sequence[Block], *extra: object) -> str:
    """A short digest of what a block file holds (the plan, the blocks, the model...): block files of another
    plan are never taken for this one's."""
    text = repr((plan, tuple(blocks), extra))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def block_spec(spec: OutputSpec, window: Window) -> OutputSpec:
    """The spec of the part ``window`` of an output: its size and the geotransform of its corner."""
    from dataclasses import replace

    gt = spec.geotransform
    if gt is not None:
        x0, dx, rx, y0, ry, dy = gt
        c, r = window.col_off, window.row_off
        gt = (x0 + c * dx + r * rx, dx, rx, y0 + c * ry + r * dy, ry, dy)
    return replace(spec, width=window.width, height=window.height, geotransform=gt)


class ShiftedSink:
    """The sink of a block's file, taking windows in the whole output's pixels."""

    def __init__(self, sink: RasterSink, window: Window):
        self.sink, self.window = sink, window
        self.block_size = sink.block_size
        self.path = getattr(sink, "path", "<memory>")

    def write(self, window: Window, array) -> None:
        self.sink.write(Window(window.col_off - self.window.col_off, window.row_off - self.window.row_off,
                               window.width, window.height), array)

    def flush(self) -> None:
        self.sink.flush()

    def commit(self) -> None:
        self.sink.commit()

    def abort(self) -> None:
        self.sink.abort()


def copy_blocks(plan: ApplyPlan, blocks: Sequence[Block], sources: Sequence[RasterSource], sink: RasterSink,
                work=None) -> None:
    """Copy the tiles each block owns from its file (``sources``, one per block) into ``sink``, tile by tile
    as a whole run writes them (bounded memory; blocks of the output's file encoded as they fill)."""
    aligned = all(plan.tile % b == 0 for b in sink.block_size)
    for block, source in zip(blocks, sources):
        if (source.info.width, source.info.height) != (block.window.width, block.window.height):
            raise ValueError(f"block file '{source.info.path}' is not {block.window.width} x {block.window.height}")
        for part in block.parts:
            for row in range(part.row_off, part.row_off + part.height, plan.tile):
                for col in range(part.col_off, part.col_off + part.width, plan.tile):
                    tile = Window(col, row, min(plan.tile, part.col_off + part.width - col),
                                  min(plan.tile, part.row_off + part.height - row))
                    inner = Window(tile.col_off - block.window.col_off, tile.row_off - block.window.row_off,
                                   tile.width, tile.height)
                    sink.write(tile, source.read(inner))
                    if work is not None:
                        work.check()
                if aligned:
                    sink.flush()
