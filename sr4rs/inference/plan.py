"""Planning a run of a model over a scene: the one tiling and margin rule of every backend.

Geometry is in output pixels, as SR4RS's ``--ts`` and ``--pad``: a tile's kept part is ``tile``
pixels a side, read with ``pad`` pixels of context on every side. A model input ``factor`` times
coarser than the output reads the same ground, ``tile / factor`` and ``pad / factor`` of its own
pixels, so tiles and margins are multiples of every input's factor (the model's ``grid_unit``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import InputError, shown
from ..geo.dtypes import resolve_encoding, stored_type
from ..geo.nodata import check_nodata_fits, resolve_nodata
from ..geo.windows import Tile, tile_grid
from ..io.grids import check_stack
from ..io.source import RasterInfo
from ..model.contract import InputSpec
from ..model.load import LoadedModel

# The default tile: at most this many output pixels a side (SR4RS's --ts is 512), the image's side split evenly.
# Larger tiles recompute less margin per pixel kept: 1.2 (x2, x4) to 1.5 (x6) times 512's speed, measured by
# benchmarks/bench_tiles.py; the automatic batch size holds a model call's memory where it was.
DEFAULT_TILE_SIZE = 1024
# Auto batch size: enough windows per model call to keep both cores busy,
# few enough that the output activations of a batch stay around a few hundred MB.
_BATCH_HR_PIXELS = 2_000_000
_MAX_AUTO_BATCH = 16
# Bounds of the options: beyond them a tile's windows no longer fit in memory, whatever the model.
MAX_TILE_SIZE = 8192
MAX_PAD = 1024
MAX_BATCH_SIZE = 256


@dataclass(frozen=True)
class ApplyOptions:
    """How to run a model over a scene. Sizes are in output pixels, as in SR4RS."""

    tile_size: Optional[int] = None  # --ts: side of the kept part of each tile
    pad: Optional[int] = None  # --pad: margin around each tile (default: the model's)
    batch_size: Optional[int] = None
    nodata: Optional[float] = None  # used when an input has no nodata tag
    encoding: str = "auto"
    creation_options: Dict[str, str] = field(default_factory=dict)
    cog: bool = False
    overwrite: bool = False
    threads: bool = True  # overlap reading and writing with inference
    stac: Optional[bool] = None  # a STAC item beside the output (None: with a COG)

    @property
    def writes_item(self) -> bool:
        return self.cog if self.stac is None else self.stac


@dataclass(frozen=True)
class InputPlan:
    """How one model input is read: its source's size, its factor and its nodata value."""

    name: str
    factor: int
    width: int
    height: int
    nodata: Optional[float]


@dataclass(frozen=True)
class ApplyPlan:
    """Everything resolved before computing."""

    scale: int
    tile: int  # output side of a tile's kept part
    pad: int  # output margin
    crop: int  # output pixels the chosen model output already removes
    batch_size: int
    nodata: Optional[float]  # of the output
    out_dtype: np.dtype
    out_width: int
    out_height: int
    inputs: Tuple[InputPlan, ...]

    @property
    def fine(self) -> InputPlan:
        return self.inputs[0]

    @property
    def work(self) -> int:
        """Progress units of a run: pixels of the finest input."""
        return self.fine.width * self.fine.height

    def tiles(self) -> List[Tile]:
        return list(tile_grid(self.out_width, self.out_height, self.tile, self.pad))

    def batches(self) -> List[List[Tile]]:
        tiles = self.tiles()
        return [tiles[i:i + self.batch_size] for i in range(0, len(tiles), self.batch_size)]


def _check_bands(infos: Sequence[RasterInfo], model: LoadedModel) -> None:
    if len(infos) != len(model.inputs):
        names = ", ".join(f"{i.spec.name} ({', '.join(i.spec.bands)})" for i in model.inputs)
        raise InputError(f"{len(infos)} input image(s) given but the model takes {len(model.inputs)}: {names}; "
                         "give one --input per model input, finest first")
    for info, model_input in zip(infos, model.inputs):
        expected = model_input.nbands or (len(model_input.spec.bands) or None)
        if expected is not None and info.count != expected:
            names = ", ".join(model_input.spec.bands) if model.has_metadata else f"{expected} bands"
            raise InputError(f"input {shown(info.path)} has {info.count} band(s) but the model expects {expected} "
                             f"({names}): stack the right bands in that order (e.g. gdalbuildvrt -separate)")


def _check_grids(infos: Sequence[RasterInfo], specs: Sequence[InputSpec], out_width: int, out_height: int) -> None:
    """Every input covers the output's ground on its own grid: ceil(output size / factor) pixels, and the inputs
    together as ``check_stack`` wants them (georeferenced, one CRS, nested from one corner), each as many times
    coarser than the finest as the model says."""
    fine, fine_factor = infos[0], specs[0].factor
    finer = [info for info in infos[1:] if info.width > fine.width or info.height > fine.height]
    if finer:
        order = ", ".join(f"{s.name} ({' '.join(s.bands)})" if s.bands else s.name for s in specs)
        raise InputError(f"input {shown(fine.path)} is coarser than {shown(finer[0].path)}: give one --input per "
                         f"model input, finest first ({order})")
    for info, spec in zip(infos[1:], specs[1:]):
        f = spec.factor
        size = (-(-out_width // f), -(-out_height // f))
        if (info.width, info.height) != size:
            raise InputError(f"input {shown(info.path)} is {info.width} x {info.height} pixels but the model's "
                             f"'{spec.name}' input, {f // fine_factor} times coarser than "
                             f"{shown(fine.path)}, must be {size[0]} x {size[1]}: give the bands of the same area at "
                             "their native resolutions")
    if len(infos) < 2:
        return
    for info, factor, spec in zip(infos[1:], check_stack(infos)[1:], specs[1:]):
        if factor * fine_factor != spec.factor:
            raise InputError(f"input {shown(info.path)} is {factor} times coarser than {shown(fine.path)} but the "
                             f"model's '{spec.name}' input is {spec.factor // fine_factor} times coarser: give the "
                             f"bands {', '.join(spec.bands)} at their native resolution")


def _check_range(flag: str, value: Optional[int], low: int, high: int, what: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(f"{flag} {value} is out of range: give {low} to {high} {what}")


def check_options(options: ApplyOptions) -> None:
    """Ranges that do not depend on the model (the model's scale factor is checked by ``plan_apply``)."""
    _check_range("--ts", options.tile_size, 1, MAX_TILE_SIZE, "output pixels (default: automatic, up to 1024)")
    _check_range("--pad", options.pad, 0, MAX_PAD, "output pixels (default: the model's margin)")
    _check_range("--batch-size", options.batch_size, 1, MAX_BATCH_SIZE, "tiles per model call (default: automatic)")


def check_grids(infos: Sequence[RasterInfo], metadata) -> None:
    """The inputs' grids against a model's metadata (``plan_apply``'s rule), before the model is loaded: each input
    covers the output's ground, the inputs georeferenced, in one CRS, nested as the model's factors say."""
    if metadata is not None and len(infos) == len(metadata.inputs) > 1:
        _check_grids(infos, metadata.inputs, infos[0].width * metadata.fine_factor,
                     infos[0].height * metadata.fine_factor)


def check_tiling(metadata, options: ApplyOptions) -> None:
    """``--ts`` and ``--pad`` against a model's grid (multiples of every input's factor), from its metadata: before
    the model is loaded (``plan_apply`` checks the same for models without metadata)."""
    if metadata is None:
        return
    if options.tile_size is not None:
        resolve_tile(options.tile_size, metadata.grid_unit, options.tile_size)
    if options.pad is not None:
        _check_pad(int(options.pad), metadata.grid_unit)


def check_models_options(models: Sequence[LoadedModel], options: ApplyOptions) -> None:
    """The options against every model about to run (``--ts`` and ``--pad`` on each one's grid), before any
    of them runs: a command running several (evaluate, --all-bands) refuses them at once, naming the model."""
    check_options(options)
    for model in models:
        try:
            resolve_pad(model, options.pad)
            if options.tile_size is not None:
                resolve_tile(options.tile_size, model.metadata.grid_unit, options.tile_size)
        except InputError as err:
            raise InputError(f"model '{model.name}': {err}") from None


def _check_pad(pad: int, unit: int) -> None:
    if pad < 0 or pad % unit:
        raise InputError(f"--pad {pad} must be a non-negative multiple of {unit} (the model's scale factor)")


def plan_apply(infos, model: LoadedModel, options: ApplyOptions, exported_pad_only: bool = False) -> ApplyPlan:
    """Check the inputs (one ``RasterInfo`` per model input, finest first) against the model and the
    options, and fix the geometry. ``exported_pad_only``: the margin must be one of the crops the model
    exports (OTBTF cannot crop further), else the engine crops what the nearest smaller one leaves."""
    infos = [infos] if isinstance(infos, RasterInfo) else list(infos)
    check_options(options)
    _check_bands(infos, model)
    meta = model.metadata
    unit, fine_factor = meta.grid_unit, meta.fine_factor
    out_width, out_height = infos[0].width * fine_factor, infos[0].height * fine_factor
    _check_grids(infos, [m.spec for m in model.inputs], out_width, out_height)
    pad = resolve_pad(model, options.pad, exported_pad_only)
    tile = resolve_tile(options.tile_size, unit, max(out_width, out_height))
    _, crop = model.output_for(pad)
    batch = options.batch_size or max(1, min(_MAX_AUTO_BATCH, _BATCH_HR_PIXELS // (tile + 2 * pad) ** 2))
    inputs = tuple(InputPlan(m.spec.name, m.spec.factor, info.width, info.height,
                             resolve_nodata(info.nodata, options.nodata, meta.nodata))
                   for info, m in zip(infos, model.inputs))
    out_dtype = stored_type(resolve_encoding(options.encoding, np.result_type(*[info.dtype for info in infos])))
    nodata = inputs[0].nodata
    check_nodata_fits(nodata, out_dtype)
    return ApplyPlan(scale=model.scale, tile=tile, pad=pad, crop=crop, batch_size=batch, nodata=nodata,
                     out_dtype=out_dtype, out_width=out_width, out_height=out_height, inputs=inputs)


def resolve_pad(model: LoadedModel, pad: Optional[int], exported_only: bool = False) -> int:
    """The margin in output pixels: ``pad``, else the model's recommended one (with ``exported_only``,
    the smallest exported crop covering it)."""
    unit = model.metadata.grid_unit
    if pad is None:
        pad = model.metadata.margin
        if exported_only:
            cropped = sorted(p for p in model.pads if p > 0)
            pad = next((p for p in cropped if p >= pad), cropped[-1] if cropped else pad)
    pad = int(pad)
    _check_pad(pad, unit)
    if exported_only and pad not in model.pads:
        raise InputError(f"--pad {pad} is not one of the model's cropped outputs "
                         f"({', '.join(map(str, model.pads))}); OTBTF needs one of them")
    return pad


def resolve_tile(tile_size: Optional[int], unit: int, longest_side: int) -> int:
    """The tile side in output pixels: ``tile_size``, else the default: the image's longest side split into as
    few tiles of at most DEFAULT_TILE_SIZE pixels (rounded down to a multiple of ``unit``: 1020 at x6) as it
    takes, each rounded up to a multiple of ``unit``, so that the last tile is not mostly outside the image (a
    1100-pixel side gets two tiles of 552, not two of 1024; a 100-pixel image one tile of 100)."""
    if tile_size is not None:
        tile = int(tile_size)
        if tile < unit or tile % unit:
            raise InputError(f"--ts {tile} must be a positive multiple of the scale factor {unit}")
        return tile
    most = max(DEFAULT_TILE_SIZE // unit, 1) * unit
    count = max(1, math.ceil(longest_side / most))
    return max(1, math.ceil(longest_side / count / unit)) * unit
