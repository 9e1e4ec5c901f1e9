"""The streaming apply engine: run a model over a scene window by window in bounded memory.

Reading, inference and writing run in three threads so that I/O hides behind the model; each tile
is read with a margin and only its centre is kept, which makes the result independent of the tile
size. The engine reads ``RasterSource``s (one per model input) and writes a ``RasterSink``: it opens
no file itself.
"""
from __future__ import annotations

import logging
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

from ..errors import InputError
from ..geo.dtypes import cast_clipped
from ..geo.nodata import model_input, nodata_mask, protect_nodata
from ..geo.windows import Tile, Window, scaled_geotransform
from ..io.source import OutputSpec, RasterSink, RasterSource, SinkFactory, read_padded
from ..model.load import LoadedModel
from ..progress import CancelToken, Progress, Work
from .blocks import Block, ShiftedSink, block_spec
from .plan import ApplyOptions, ApplyPlan, plan_apply

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApplyReport:
    output: str
    width: int
    height: int
    scale: int
    tiles: int
    skipped_tiles: int
    seconds: float
    model_seconds: float
    runtime: str = ""  # what computed it: the runtime and its precision


@dataclass
class Batch:
    tiles: List[Tile]
    inputs: Optional[Dict[str, np.ndarray]]  # the windows to run, stacked per input; None when all are skipped
    run: List[bool]
    masks: List[Optional[np.ndarray]]  # per tile: output pixels holding no data (None: all hold data)


def _tile_mask(windows: Sequence[np.ndarray], tile: Tile, plan: ApplyPlan) -> Optional[np.ndarray]:
    """The output pixels of the tile's kept part that hold no data in some input, or None."""
    h, w = tile.core.height, tile.core.width
    mask = None
    for window, spec in zip(windows, plan.inputs):
        f, m = spec.factor, plan.pad // spec.factor
        core = window[m:m + -(-h // f), m:m + -(-w // f)]  # the input pixels under the kept part
        found = nodata_mask(core, spec.nodata)
        if found is None or not found.any():
            continue
        up = found if f == 1 else np.repeat(np.repeat(found, f, axis=0), f, axis=1)[:h, :w]
        mask = up if mask is None else mask | up
    return mask


def read_batch(sources: Sequence[RasterSource], tiles: Sequence[Tile], plan: ApplyPlan) -> Batch:
    """Read the windows of ``tiles`` from every input; tiles whose kept part holds no data are not run."""
    arrays: Dict[str, List[np.ndarray]] = {spec.name: [] for spec in plan.inputs}
    run, masks = [], []
    # Past the scene's edges one input is mirrored without repeating its edge pixel (its context looks like
    # the scene); inputs on several grids are mirrored about the edge itself, the one line they share, so that
    # the fine and coarse pixels read beyond it still cover the same ground.
    mode = "reflect" if len(plan.inputs) == 1 else "symmetric"
    for tile in tiles:
        windows = [read_padded(source, tile.read.coarsened(spec.factor), mode)
                   for source, spec in zip(sources, plan.inputs)]
        mask = _tile_mask(windows, tile, plan)
        masks.append(mask)
        active = mask is None or not mask.all()
        run.append(active)
        if active:
            for window, spec in zip(windows, plan.inputs):
                arrays[spec.name].append(model_input(window))
    inputs = {name: np.stack(a) for name, a in arrays.items()} if any(run) else None
    return Batch(list(tiles), inputs, run, masks)


def _fill_value(plan: ApplyPlan) -> float:
    if plan.nodata is not None:
        return plan.nodata
    if plan.out_dtype.kind == "f":
        return np.nan
    raise InputError(f"input '{plan.fine.name}' has pixels that are not finite (NaN or infinite) but no nodata "
                     f"value to write them as in the {plan.out_dtype.name} output: pass --nodata VALUE, or "
                     "--encoding float32 to keep them as NaN")


def assemble(batch: Batch, outputs: Optional[np.ndarray], plan: ApplyPlan, nbands: int) -> List[np.ndarray]:
    """The kept output block of every tile, cast, with nodata restored."""
    off = plan.pad - plan.crop
    blocks, k = [], 0
    for tile, active, mask in zip(batch.tiles, batch.run, batch.masks):
        h, w = tile.core.height, tile.core.width
        if not active:
            blocks.append(np.full((h, w, nbands), _fill_value(plan), dtype=plan.out_dtype))
            continue
        block = cast_clipped(outputs[k, off:off + h, off:off + w], plan.out_dtype, in_place=True)
        k += 1
        block = protect_nodata(block, plan.nodata, plan.out_dtype)
        if mask is not None:
            block[mask] = _fill_value(plan)
        blocks.append(block)
    return blocks


def _probe_bands(model: LoadedModel, plan: ApplyPlan, infos) -> int:
    """The output band count: the model's metadata names its output bands, else one forward pass on the smallest
    window tells."""
    if model.has_metadata and model.metadata.output_bands:
        return len(model.metadata.output_bands)
    side = 2 * plan.pad + model.metadata.grid_unit
    zeros = {spec.name: np.zeros((1, side // spec.factor, side // spec.factor, info.count), np.float32)
             for spec, info in zip(plan.inputs, infos)}
    return model.predict(zeros, plan.pad).shape[-1]


def output_spec(infos, model: LoadedModel, plan: ApplyPlan, nbands: int) -> OutputSpec:
    """The output's size, type, georeferencing and band descriptions: the finest input's grid made
    ``fine_factor`` times finer; band properties inherited where the bands are the input's own."""
    fine = infos[0]
    own_bands = len(infos) == 1 and fine.count == nbands
    if own_bands and any(fine.descriptions):
        descriptions, interps = fine.descriptions, fine.color_interps
    elif model.has_metadata and len(model.metadata.output_bands) == nbands:
        descriptions, interps = model.metadata.output_bands, ()
    else:
        descriptions, interps = (), ()
    metadata = dict(fine.metadata)
    metadata.update({"SR4RS_MODEL": model.name, "SR4RS_SCALE": str(plan.scale), "SR4RS_PAD": str(plan.pad),
                     "SR4RS_RUNTIME": runtime_label(model)})
    inherited = {}
    if own_bands:
        inherited = dict(band_metadata=tuple({k: v for k, v in m.items() if not k.startswith("STATISTICS_")}
                                             for m in fine.band_metadata),
                         offsets=fine.offsets, scales=fine.scales, units=fine.units)
    return OutputSpec(plan.out_width, plan.out_height, nbands, plan.out_dtype,
                      geotransform=scaled_geotransform(fine.geotransform, model.metadata.fine_factor, finer=True),
                      projection=fine.projection, nodata=plan.nodata, descriptions=descriptions,
                      color_interps=interps, metadata=metadata, **inherited)


def runtime_label(model) -> str:
    """What computed an output: the runtime and its precision (``native float32``)."""
    return f"{getattr(model, 'backend', 'native')} {getattr(model, 'precision', 'float32')}"


class _Runner:
    """One run: reads batches ahead in a thread, runs the model here, writes behind in a thread."""

    def __init__(self, sources, model: LoadedModel, plan: ApplyPlan, sink: RasterSink, nbands: int, work: Work):
        self.sources, self.model, self.plan, self.sink, self.nbands, self.work = \
            sources, model, plan, sink, nbands, work
        self.model_seconds, self.skipped = 0.0, 0
        # Tiles that cover whole blocks are compressed as they are written, overlapped with the model,
        # rather than all at once when the file is closed.
        self.aligned = all(plan.tile % b == 0 for b in sink.block_size)

    def infer(self, batch: Batch) -> Optional[np.ndarray]:
        self.skipped += batch.run.count(False)
        if batch.inputs is None:
            return None
        t0 = time.perf_counter()
        out = self.model.predict(batch.inputs, self.plan.pad)
        self.model_seconds += time.perf_counter() - t0
        return out

    def write(self, batch: Batch, outputs) -> None:
        for tile, block in zip(batch.tiles, assemble(batch, outputs, self.plan, self.nbands)):
            self.sink.write(tile.core, block)
            self.work.advance(tile.core.width * tile.core.height // self.plan.fine.factor ** 2)
        if self.aligned:
            self.sink.flush()

    def read(self, tiles) -> Batch:
        return read_batch(self.sources, tiles, self.plan)

    def run_threaded(self, batches) -> None:
        with ThreadPoolExecutor(1, "sr4rs-read") as rpool, ThreadPoolExecutor(1, "sr4rs-write") as wpool:
            pending = deque(rpool.submit(self.read, b) for b in batches[:2])
            written = None
            try:
                for i in range(len(batches)):
                    batch = pending.popleft().result()
                    if i + 2 < len(batches):
                        pending.append(rpool.submit(self.read, batches[i + 2]))
                    outputs = self.infer(batch)
                    if written is not None:
                        written.result()  # at most one batch waits for the disk: memory stays bounded
                    self.work.check()
                    written = wpool.submit(self.write, batch, outputs)
                if written is not None:
                    written.result()
            finally:
                for future in pending:
                    future.cancel()

    def run_sequential(self, batches) -> None:
        for tiles in batches:
            self.work.check()
            batch = self.read(tiles)
            self.write(batch, self.infer(batch))


def _as_sources(sources, model: LoadedModel) -> List[RasterSource]:
    if isinstance(sources, Mapping):
        missing = [m.spec.name for m in model.inputs if m.spec.name not in sources]
        if missing:
            raise InputError(f"no source given for the model's input(s) {', '.join(missing)}")
        return [sources[m.spec.name] for m in model.inputs]
    if isinstance(sources, (list, tuple)):
        return list(sources)
    return [sources]


def _window_batches(plan: ApplyPlan, window: Window) -> List[List[Tile]]:
    """The batches of the plan's tiles whose kept part lies inside ``window``, which must follow tile boundaries."""
    tiles = [t for t in plan.tiles() if t.core.clip(window.col_off + window.width, window.row_off + window.height)
             == t.core and t.core.col_off >= window.col_off and t.core.row_off >= window.row_off]
    if sum(t.core.width * t.core.height for t in tiles) != window.width * window.height:
        raise InputError(f"window {window} does not follow the plan's tiles of {plan.tile} output pixels")
    return [tiles[i:i + plan.batch_size] for i in range(0, len(tiles), plan.batch_size)]


def run_apply(sources: Union[RasterSource, Sequence[RasterSource], Mapping[str, RasterSource]],
              model: LoadedModel, make_sink: SinkFactory, options: ApplyOptions = ApplyOptions(),
              progress: Optional[Progress] = None, cancel: Optional[CancelToken] = None,
              plan: Optional[ApplyPlan] = None, block: Optional[Block] = None,
              window: Optional[Window] = None) -> ApplyReport:
    """Run ``model`` over ``sources`` (one per model input, finest first, or by input name) into the sink
    ``make_sink(spec)`` creates, and commit it. ``progress`` is called with 0 once all checks have
    passed, then with the finest input's pixels done; ``cancel`` stops the run within one batch. The
    sink is aborted if anything fails or the run is cancelled. ``block``: only that block of the plan
    (``sr4rs.inference.blocks``), into a sink the size of its window; ``window``: only the tiles of the plan
    inside that output window (on tile boundaries), into a sink of its size."""
    start = time.perf_counter()
    sources = _as_sources(sources, model)
    infos = [s.info for s in sources]
    plan = plan or plan_apply(infos, model, options)
    work = Work(progress, cancel)
    batches = plan.batches()
    nbands = _probe_bands(model, plan, infos)
    spec = output_spec(infos, model, plan, nbands)
    if window is not None:
        batches, block = _window_batches(plan, window), Block(0, 0, 0, window, (window,), 0)
    if block is None:
        sink = make_sink(spec)
    else:
        batches = batches[block.first_batch:block.end_batch] if window is None else batches
        sink = ShiftedSink(make_sink(block_spec(spec, block.window)), block.window)
    try:
        if progress is not None:
            progress(0)  # everything is checked: the work starts now
        runner = _Runner(sources, model, plan, sink, nbands, work)
        if options.threads:
            runner.run_threaded(batches)
        else:
            runner.run_sequential(batches)
        sink.commit()
    except BaseException:
        sink.abort()
        raise
    width, height = (plan.out_width, plan.out_height) if block is None else (block.window.width, block.window.height)
    return ApplyReport(getattr(sink, "path", "<memory>"), width, height, plan.scale, sum(len(b) for b in batches),
                       runner.skipped, time.perf_counter() - start, runner.model_seconds, runtime_label(model))
