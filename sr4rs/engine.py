"""The streaming apply engine: super-resolve a scene window by window in bounded memory.

Reading, inference and writing run in three threads so that I/O hides behind
the model; each tile is read with a margin and only its centre is kept, which
makes the result independent of the tile size.
"""
from __future__ import annotations

import logging
import math
import os
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Union

import numpy as np

from . import raster
from .errors import InputError
from .model import LoadedModel, load_model
from .windows import Tile, output_geotransform, tile_grid

log = logging.getLogger(__name__)

DEFAULT_TILE_SIZE = 512  # HR pixels, as SR4RS's --ts
# Auto batch size: enough windows per model call to keep both cores busy,
# few enough that the HR activations of a batch stay around a few hundred MB.
_BATCH_HR_PIXELS = 2_000_000
_MAX_AUTO_BATCH = 16

Progress = Callable[[int], None]


@dataclass(frozen=True)
class ApplyOptions:
    """How to run a model over a scene. Sizes are in high-resolution pixels, as in SR4RS."""

    tile_size: Optional[int] = None  # --ts: HR side of the kept part of each tile
    pad: Optional[int] = None  # --pad: HR margin around each tile (default: the model's)
    batch_size: Optional[int] = None
    nodata: Optional[float] = None  # used when the input has no nodata tag
    encoding: str = "auto"
    creation_options: Dict[str, str] = field(default_factory=dict)
    cog: bool = False
    overwrite: bool = False
    threads: bool = True  # overlap reading and writing with inference


@dataclass(frozen=True)
class ApplyPlan:
    """Everything resolved before computing: geometry in LR pixels, policies, types."""

    scale: int
    core: int  # LR side of a tile's kept part
    margin: int  # LR margin
    pad: int  # HR margin
    crop: int  # HR pixels the chosen model output already removes
    batch_size: int
    nodata: Optional[float]
    out_dtype: np.dtype
    out_width: int
    out_height: int


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


def resolve_nodata(tagged: Optional[float], flag: Optional[float], model: Optional[float]) -> Optional[float]:
    """The input's tag wins, then --nodata, then the model's metadata (NaN is a valid nodata value)."""
    for value in (tagged, flag, model):
        if value is not None:
            return float(value)
    return None


def check_nodata_fits(nodata: Optional[float], dtype: np.dtype) -> None:
    """The output type must hold the nodata value exactly, or nodata pixels could not be marked."""
    if nodata is None:
        return
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        if not math.isnan(nodata) and np.isinf(dtype.type(nodata)):
            raise InputError(f"nodata {nodata:g} does not fit the output type {dtype.name}: choose --encoding float64")
        return
    info = np.iinfo(dtype)
    if math.isnan(nodata) or nodata != int(nodata) or not info.min <= nodata <= info.max:
        raise InputError(f"nodata {nodata:g} does not fit the output type {dtype.name} "
                         f"({info.min}..{info.max}): choose --encoding float32, or another --nodata")


def plan_apply(info: raster.RasterInfo, model: LoadedModel, options: ApplyOptions) -> ApplyPlan:
    """Check the input against the model and the options, and fix the geometry."""
    s = model.scale
    expected = model.input_bands or (len(model.metadata.input_bands) or None)
    if expected is not None and info.count != expected:
        names = ", ".join(model.metadata.input_bands) if model.has_metadata else f"{expected} bands"
        raise InputError(f"input '{info.path}' has {info.count} band(s) but the model expects {expected} "
                         f"({names}): stack the right bands in that order (e.g. gdalbuildvrt -separate)")
    pad = model.metadata.margin if options.pad is None else int(options.pad)
    if pad < 0 or pad % s:
        raise InputError(f"--pad {pad} must be a non-negative multiple of the scale factor {s}")
    ts = options.tile_size or DEFAULT_TILE_SIZE
    if ts < s or ts % s:
        raise InputError(f"--ts {ts} must be a positive multiple of the scale factor {s}")
    core = ts // s
    if options.tile_size is None:  # don't compute a 512-pixel tile for a 100-pixel image
        core = min(core, max(info.width, info.height))
    margin = pad // s
    _, crop = model.output_for(pad)
    if options.batch_size is not None and options.batch_size < 1:
        raise InputError(f"--batch-size {options.batch_size} must be at least 1")
    window_hr = ((core + 2 * margin) * s) ** 2
    batch = options.batch_size or max(1, min(_MAX_AUTO_BATCH, _BATCH_HR_PIXELS // window_hr))
    nodata = resolve_nodata(info.nodata, options.nodata, model.metadata.nodata)
    out_dtype = raster.resolve_encoding(options.encoding, info.dtype)
    check_nodata_fits(nodata, out_dtype)
    return ApplyPlan(scale=s, core=core, margin=margin, pad=pad, crop=crop, batch_size=batch, nodata=nodata,
                     out_dtype=out_dtype, out_width=info.width * s, out_height=info.height * s)


def _all_bands(pixels: np.ndarray, test: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """(..., H, W) mask of the pixels whose every band passes ``test``; band by band,
    which is several times faster than ``np.all(..., axis=-1)`` on the short last axis."""
    mask = test(pixels[..., 0])
    for b in range(1, pixels.shape[-1]):
        mask &= test(pixels[..., b])
    return mask


def _nodata_mask(core: np.ndarray, nodata: Optional[float]) -> Optional[np.ndarray]:
    """Pixels whose every band equals ``nodata`` (how Landsat and Sentinel-2 mark fill)."""
    if nodata is None:
        return None
    if math.isnan(nodata):
        return _all_bands(core, np.isnan)
    return _all_bands(core, lambda band: band == nodata)


def _protect_nodata(hr: np.ndarray, nodata: Optional[float], dtype: np.dtype) -> np.ndarray:
    """Valid pixels that the model pushed onto the nodata value are moved one step off it,
    so that they are not read back as holes."""
    if nodata is None or math.isnan(nodata):
        return hr
    hit = _all_bands(hr, lambda band: band == nodata)
    if hit.any():
        step = 1 if np.dtype(dtype).kind in "ui" else np.finfo(dtype).eps * max(abs(nodata), 1)
        info_max = np.iinfo(dtype).max if np.dtype(dtype).kind in "ui" else np.inf
        hr[hit] = nodata + step if nodata < info_max else nodata - step
    return hr


@dataclass
class _Batch:
    tiles: List[Tile]
    inputs: Optional[np.ndarray]  # the windows to run, stacked; None when all are skipped
    run: List[bool]
    masks: List[Optional[np.ndarray]]


def _read_batch(reader: raster.Reader, tiles: Sequence[Tile], plan: ApplyPlan) -> _Batch:
    arrays, run, masks = [], [], []
    m = plan.margin
    for tile in tiles:
        window = reader.read_padded(tile.read)
        core = window[m:m + tile.core.height, m:m + tile.core.width]
        mask = _nodata_mask(core, plan.nodata)
        masks.append(mask)
        active = mask is None or not mask.all()
        run.append(active)
        if active:
            window = window.astype(np.float32, copy=False)
            if plan.nodata is not None and math.isnan(plan.nodata):
                window = np.nan_to_num(window, nan=0.0)  # NaN would spread through every convolution
            arrays.append(window)
    inputs = np.stack(arrays) if arrays else None
    return _Batch(list(tiles), inputs, run, masks)


def _assemble(batch: _Batch, outputs: Optional[np.ndarray], plan: ApplyPlan, nbands: int) -> List[np.ndarray]:
    """The kept HR block of every tile, cast, with nodata restored."""
    s, off = plan.scale, plan.margin * plan.scale - plan.crop
    blocks, k = [], 0
    fill = 0 if plan.nodata is None else plan.nodata
    for tile, active, mask in zip(batch.tiles, batch.run, batch.masks):
        h, w = tile.core.height * s, tile.core.width * s
        if not active:
            blocks.append(np.full((h, w, nbands), fill, dtype=plan.out_dtype))
            continue
        hr = raster.cast_clipped(outputs[k, off:off + h, off:off + w], plan.out_dtype, in_place=True)
        k += 1
        hr = _protect_nodata(hr, plan.nodata, plan.out_dtype)
        if mask is not None and mask.any():
            hr[np.repeat(np.repeat(mask, s, axis=0), s, axis=1)] = fill
        blocks.append(hr)
    return blocks


def _output_bands(info: raster.RasterInfo, model: LoadedModel, nbands: int):
    if info.count == nbands and any(info.descriptions):
        return info.descriptions, info.color_interps
    if model.has_metadata and len(model.metadata.output_bands) == nbands:
        return model.metadata.output_bands, ()
    return (), ()


def _inherited_band_properties(info: raster.RasterInfo) -> Dict[str, tuple]:
    """The input's per-band metadata, offsets, scales and units, less statistics that describe its pixels."""
    props = dict(info.band_properties)
    props["metadata"] = tuple({k: v for k, v in m.items() if not k.startswith("STATISTICS_")}
                              for m in props["metadata"])
    return props


def super_resolve(input_path: str, model: Union[str, LoadedModel], output_path: str,
                  options: ApplyOptions = ApplyOptions(), progress: Optional[Progress] = None) -> ApplyReport:
    """Super-resolve ``input_path`` with ``model`` into the GeoTIFF ``output_path``.

    ``progress`` is called with 0 once all checks have passed, then with the number
    of input pixels done after each write.
    Nothing is left at ``output_path`` if anything fails or is interrupted.
    """
    start = time.perf_counter()
    info = raster.read_info(input_path)
    raster.check_output_path(output_path, options.overwrite)
    if isinstance(model, str):
        model = load_model(model)
    plan = plan_apply(info, model, options)
    tiles = list(tile_grid(info.width, info.height, plan.core, plan.margin))
    batches = [tiles[i:i + plan.batch_size] for i in range(0, len(tiles), plan.batch_size)]

    reader = raster.Reader(input_path)
    writer = None
    model_seconds, skipped = 0.0, 0
    cache = raster.bounded_cache().__enter__()
    try:
        # One forward pass on a tiny window gives the output band count before the file is made.
        side = 2 * plan.margin + 1
        nbands = model.predict(np.zeros((1, side, side, info.count), np.float32), plan.pad).shape[-1]
        descriptions, interps = _output_bands(info, model, nbands)
        metadata = dict(info.metadata)
        metadata.update({"SR4RS_MODEL": os.path.basename(os.path.normpath(model.path)),
                         "SR4RS_SCALE": str(plan.scale), "SR4RS_PAD": str(plan.pad)})
        writer = raster.AtomicWriter(
            output_path, plan.out_width, plan.out_height, nbands, plan.out_dtype,
            geotransform=output_geotransform(info.geotransform, plan.scale) if info.geotransform else None,
            projection=info.projection, nodata=plan.nodata, descriptions=descriptions,
            color_interps=interps, metadata=metadata, creation_options=options.creation_options,
            band_properties=_inherited_band_properties(info) if info.count == nbands else None,
            cog=options.cog, overwrite=options.overwrite)
        if progress is not None:
            progress(0)  # everything is checked: the work starts now

        def infer(batch: _Batch) -> Optional[np.ndarray]:
            nonlocal model_seconds
            if batch.inputs is None:
                return None
            t0 = time.perf_counter()
            out = model.predict(batch.inputs, plan.pad)
            model_seconds += time.perf_counter() - t0
            return out

        # Tiles that cover whole blocks are compressed as they are written, overlapped with
        # the model, rather than all at once when the file is closed.
        side = plan.core * plan.scale
        aligned = all(side % b == 0 for b in writer.block_size)

        def write(batch: _Batch, outputs):
            for tile, block in zip(batch.tiles, _assemble(batch, outputs, plan, nbands)):
                writer.write(tile.core.scaled(plan.scale), block)
                if progress is not None:
                    progress(tile.core.width * tile.core.height)
            if aligned:
                writer.flush()

        if options.threads:
            with ThreadPoolExecutor(1, "sr4rs-read") as rpool, ThreadPoolExecutor(1, "sr4rs-write") as wpool:
                pending = deque(rpool.submit(_read_batch, reader, b, plan) for b in batches[:2])
                written = None
                for i in range(len(batches)):
                    batch = pending.popleft().result()
                    if i + 2 < len(batches):
                        pending.append(rpool.submit(_read_batch, reader, batches[i + 2], plan))
                    outputs = infer(batch)
                    skipped += batch.run.count(False)
                    if written is not None:
                        written.result()  # at most one batch waits for the disk: memory stays bounded
                    written = wpool.submit(write, batch, outputs)
                if written is not None:
                    written.result()
        else:
            for b in batches:
                batch = _read_batch(reader, b, plan)
                skipped += batch.run.count(False)
                write(batch, infer(batch))
        writer.commit()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        reader.close()
        cache.__exit__()
    return ApplyReport(output_path, plan.out_width, plan.out_height, plan.scale, len(tiles), skipped,
                       time.perf_counter() - start, model_seconds)
