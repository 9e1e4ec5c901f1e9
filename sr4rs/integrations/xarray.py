"""``sr4rs.xarray``: super-resolve an xarray DataArray as odc-stac, stackstac and rioxarray make them.

The array has ``y`` and ``x`` coordinates (pixel centres of a regular grid) and its bands on a ``band`` (or
``variable``) dimension, named as an item names them (``red``, ``B04``...): the model's bands are picked by
name. The result is a DataArray on the grid ``factor`` times finer, same CRS, exact coordinates (those of the
GeoTIFF ``sr4rs apply`` writes), and the same values. On a Dask-backed array it is lazy: output chunks are whole
tiles of the apply plan, each read with the model's margin as overlap, so ``.to_zarr()`` or ``.rio.to_raster()``
stream a scene in bounded memory; on a NumPy-backed array it runs at once. Nodata and NaN follow the engine's
rules (the array's ``nodata`` or ``_FillValue`` attribute, else ``nodata=``, else the model's).
"""
from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .. import api

_BAND_DIMS = ("band", "variable")
_MODELS: Dict[str, api.LoadedModel] = {}
_LOCK = threading.Lock()


def _model(model) -> api.LoadedModel:
    """A model loaded once per process (Dask tasks of one process share it)."""
    if isinstance(model, api.LoadedModel):
        return model
    with _LOCK:
        if model not in _MODELS:
            api.import_tensorflow_quietly()
            _MODELS[model] = api.load_model(model)
        return _MODELS[model]


def _band_dim(da) -> str:
    found = [d for d in _BAND_DIMS if d in da.dims]
    if not found:
        raise api.InputError(f"the array has no band dimension (dims: {', '.join(map(str, da.dims))}): put its bands "
                             "on a 'band' dimension (Dataset.to_array('band'))")
    return found[0]


def _squeezed(da):
    """The array as (band, y, x): other dimensions of size one dropped (kept as coordinates)."""
    band = _band_dim(da)
    for dim in ("y", "x"):
        if dim not in da.dims:
            raise api.InputError(f"the array has no '{dim}' dimension (dims: {', '.join(map(str, da.dims))}): give it "
                                 "on a map grid, as odc-stac, stackstac or rioxarray load it")
    extra = [d for d in da.dims if d not in (band, "y", "x")]
    for dim in extra:
        if da.sizes[dim] != 1:
            raise api.InputError(f"the array has {da.sizes[dim]} steps of '{dim}': super-resolve one at a time "
                                 f"(da.isel({dim}=i))")
    return da.squeeze(extra).transpose(band, "y", "x")


def _geotransform(da) -> Tuple[float, ...]:
    """The GDAL geotransform of the array's grid, from its pixel-centre coordinates (or its rioxarray transform)."""
    x, y = np.asarray(da["x"].values, float), np.asarray(da["y"].values, float)
    if len(x) > 1 and len(y) > 1:
        dx, dy = (x[-1] - x[0]) / (len(x) - 1), (y[-1] - y[0]) / (len(y) - 1)
    elif hasattr(da, "rio"):
        t = da.rio.transform()
        dx, dy = t.a, t.e
    else:
        raise api.InputError("the array is one pixel wide or high: its pixel size is unknown (give it with rioxarray)")
    return (x[0] - dx / 2, dx, 0.0, y[0] - dy / 2, 0.0, dy)


def _nodata(da, given: Optional[float]) -> Optional[float]:
    for key in ("nodata", "_FillValue"):
        value = da.attrs.get(key, da.encoding.get(key) if hasattr(da, "encoding") else None)
        if value is not None:
            return float(value)
    return given


def _selected(da, wanted: Sequence[str]):
    """The model's bands of ``da``, in its order, matched by name (positions where the bands are numbered)."""
    band = _band_dim(da)
    names = [str(v) for v in da[band].values] if band in da.coords else []
    numbered = not names or all(n.lstrip("-").isdigit() for n in names)
    if numbered:
        if da.sizes[band] != len(wanted):
            raise api.InputError(f"the array has {da.sizes[band]} unnamed bands but the model takes {len(wanted)} "
                                 f"({', '.join(wanted)}): name them (a 'band' coordinate) or select those bands")
        return da, list(wanted)
    index = api.match_bands(names, wanted)
    return da.isel({band: index}), [names[i] for i in index]


def _info(da, names: Sequence[str], nodata: Optional[float]) -> api.RasterInfo:
    return api.RasterInfo(width=da.sizes["x"], height=da.sizes["y"], count=da.sizes[_band_dim(da)],
                          dtype=np.dtype(da.dtype), geotransform=_geotransform(da), nodata=nodata,
                          descriptions=tuple(names), path=str(da.name or "<DataArray>"))


class _HaloSource:
    """A RasterSource over a chunk of an array read with its neighbours' margin: reads take whole-image windows."""

    def __init__(self, info: api.RasterInfo, block: np.ndarray, row0: int, col0: int):
        self.info, self.block, self.row0, self.col0 = info, np.moveaxis(block, 0, -1), row0, col0

    def read(self, window: api.Window) -> np.ndarray:
        r, c = window.row_off - self.row0, window.col_off - self.col0
        if r < 0 or c < 0 or r + window.height > self.block.shape[0] or c + window.width > self.block.shape[1]:
            raise ValueError(f"window {window} reaches past the chunk read (a margin too small)")
        return self.block[r:r + window.height, c:c + window.width]

    def close(self) -> None:
        pass


def _coords(da, gt, factor: int, nbands: int, names: Sequence[str]) -> Dict[str, Any]:
    """Pixel-centre coordinates of the grid ``factor`` times finer, from the same corner."""
    x0, dx, _, y0, _, dy = gt
    fx, fy = dx / factor, dy / factor
    width, height = da.sizes["x"] * factor, da.sizes["y"] * factor
    coords = {"band": list(names) if len(names) == nbands else list(range(1, nbands + 1)),
              "y": y0 + (np.arange(height) + 0.5) * fy, "x": x0 + (np.arange(width) + 0.5) * fx}
    kept = {k: v for k, v in da.coords.items() if k not in da.dims and k not in _BAND_DIMS and not v.dims}
    return {**kept, **coords}


def _wrap(array, da, gt, model: api.LoadedModel, names):
    import xarray

    factor = model.metadata.fine_factor
    coords = _coords(da, gt, factor, array.shape[0], names)
    out = xarray.DataArray(array, dims=("band", "y", "x"), coords=coords, attrs=dict(da.attrs),
                           name=f"{da.name or 'sr'}_x{model.scale}" if da.name else None)
    out.attrs.update(sr4rs_model=model.name, sr4rs_scale=model.scale)
    crs = _crs(da)
    if crs is not None:
        out = out.rio.write_crs(crs)
    return out


def _crs(da):
    """The array's CRS as rioxarray reads it (odc-stac and rioxarray write a spatial_ref coordinate, stackstac a crs
    attribute), or None (where rioxarray is not installed, the coordinates and attributes carry it over)."""
    try:
        import rioxarray  # noqa: F401 (the .rio accessor)
    except ImportError:
        return None
    crs = da.rio.crs
    if crs is None and isinstance(da.attrs.get("crs"), str):
        crs = da.attrs["crs"]
    return crs


def _prepared(inputs, model: api.LoadedModel, nodata: Optional[float]):
    arrays, infos = [], []
    for da, spec in zip(inputs, model.metadata.inputs):
        da = _squeezed(da)
        da, names = _selected(da, spec.bands or [str(b) for b in da[_band_dim(da)].values])
        arrays.append(da)
        infos.append(_info(da, names, _nodata(da, nodata)))
    return arrays, infos


def superresolve(da: Union[Any, Sequence[Any]], model: Union[str, api.LoadedModel],
                 options: api.ApplyOptions = api.ApplyOptions(), *, nodata: Optional[float] = None,
                 chunk_tiles: Optional[int] = None):
    """Super-resolve a DataArray (or, for a model of several inputs, one per input, finest first).

    Args:
        da: bands on a ``band`` (or ``variable``) dimension, ``y`` and ``x`` pixel-centre coordinates; NumPy- or
            Dask-backed.
        model: a bundled model's name, a SavedModel folder or a loaded model.
        options: as ``sr4rs apply`` takes them (tile size, margin, batch size, encoding).
        nodata: the inputs' nodata value where the array states none (``nodata`` or ``_FillValue`` attribute).
        chunk_tiles: tiles a side of each output chunk of a lazy result (default: chunks of about 2048 pixels).

    Returns:
        A DataArray (band, y, x) on the finer grid: lazy for Dask-backed inputs, computed otherwise.

    Example:
        >>> ds = odc.stac.load(items, bands=["red", "green", "blue", "nir"], chunks={})  # doctest: +SKIP
        >>> sr = superresolve(ds.to_array("band"), model="s2-rgbn-x4")  # doctest: +SKIP
        >>> sr.rio.to_raster("sr.tif")  # doctest: +SKIP
    """
    loaded = _model(model)
    if loaded.path:
        _MODELS.setdefault(loaded.path, loaded)
    inputs = [da] if not isinstance(da, (list, tuple)) else list(da)
    if len(inputs) != len(loaded.metadata.inputs):
        raise api.InputError(f"{len(inputs)} array(s) given but the model takes {len(loaded.metadata.inputs)} "
                             "inputs: give one array per input, finest first")
    arrays, infos = _prepared(inputs, loaded, nodata)
    plan = api.plan_sources(infos, loaded, options)
    names = list(loaded.metadata.output_bands)
    if any(_is_dask(a) for a in arrays):
        return _lazy(arrays, infos, loaded, plan, options, names, chunk_tiles)
    sources = [api.MemorySource(np.moveaxis(a.values, 0, -1), info.geotransform, nodata=info.nodata,
                                descriptions=info.descriptions) for a, info in zip(arrays, infos)]
    sinks: List[api.MemorySink] = []
    api.apply_sources(sources, loaded, lambda spec: sinks.append(api.MemorySink(spec)) or sinks[-1], options,
                      plan=plan)
    return _wrap(np.moveaxis(sinks[0].array, -1, 0), arrays[0], infos[0].geotransform, loaded, names)


def _is_dask(da) -> bool:
    return type(da.data).__module__.split(".")[0] == "dask"


def _chunks(size: int, side: int, pad: int) -> Tuple[int, ...]:
    """Output chunks of ``side`` pixels (whole tiles); a last one thinner than the margin joins the one before, so
    that every input chunk holds its neighbours' overlap."""
    chunks = [min(side, size - i) for i in range(0, size, side)]
    if len(chunks) > 1 and chunks[-1] < pad:
        chunks[-2:] = [chunks[-2] + chunks[-1]]
    return tuple(chunks)


def _input_chunks(out_chunks: Sequence[int], factor: int, size: int) -> Tuple[int, ...]:
    inner = [c // factor for c in out_chunks[:-1]]
    return tuple(inner + [size - sum(inner)])


def _starts(chunks: Sequence[int]) -> Tuple[int, ...]:
    return tuple(int(v) for v in np.cumsum((0,) + tuple(chunks[:-1])))


def _lazy(arrays, infos, model: api.LoadedModel, plan, options, names, chunk_tiles):
    """Output chunks of whole tiles; each input chunked to match, read with the margin of its grid as overlap."""
    import dask.array as dsa
    from dask.array.overlap import overlap

    side = (chunk_tiles or max(1, 2048 // plan.tile)) * plan.tile
    out_rows, out_cols = _chunks(plan.out_height, side, plan.pad), _chunks(plan.out_width, side, plan.pad)
    blocks, depths = [], []
    for da, spec, info in zip(arrays, plan.inputs, infos):
        depth = plan.pad // spec.factor  # in the input's own pixels
        rows, cols = _input_chunks(out_rows, spec.factor, info.height), _input_chunks(out_cols, spec.factor, info.width)
        data = dsa.asarray(da.data).rechunk((-1, rows, cols))
        blocks.append(overlap(data, depth={0: 0, 1: depth, 2: depth}, boundary="none") if depth else data)
        depths.append((spec.factor, depth))
    nbands = _out_bands(model, plan, infos)
    task = _ChunkTask(model.path or model, infos, plan, replace(options, threads=False), depths,
                      (_starts(out_rows), out_rows), (_starts(out_cols), out_cols))
    result = dsa.map_blocks(task, *blocks, chunks=((nbands,), out_rows, out_cols), dtype=plan.out_dtype,
                            meta=np.array((), plan.out_dtype))
    return _wrap(result, arrays[0], infos[0].geotransform, model, names if len(names) == nbands else [])


def _out_bands(model: api.LoadedModel, plan, infos) -> int:
    if model.metadata.output_bands:
        return len(model.metadata.output_bands)
    zeros = [api.MemorySource(np.zeros((i.height, i.width, i.count), i.dtype)) for i in infos]
    sinks: List[api.MemorySink] = []
    window = api.Window(0, 0, min(plan.tile, plan.out_width), min(plan.tile, plan.out_height))
    api.apply_sources(zeros, model, lambda spec: sinks.append(api.MemorySink(spec)) or sinks[-1], plan=plan,
                      window=window)
    return sinks[0].array.shape[-1]


class _ChunkTask:
    """One output chunk: the plan's tiles inside it, run on the input chunks read with their margins."""

    def __init__(self, model, infos, plan, options, depths, rows, cols):
        self.model, self.infos, self.plan, self.options, self.depths = model, infos, plan, options, depths
        self.rows, self.cols = rows, cols  # (starts, sizes) of the output chunks

    def __call__(self, *blocks, block_info=None):
        iy, ix = block_info[None]["chunk-location"][1:]
        (y0, height), (x0, width) = (self.rows[0][iy], self.rows[1][iy]), (self.cols[0][ix], self.cols[1][ix])
        sources = []
        for block, info, (factor, depth) in zip(blocks, self.infos, self.depths):
            sources.append(_HaloSource(info, block, y0 // factor - (depth if iy > 0 else 0),
                                       x0 // factor - (depth if ix > 0 else 0)))
        sinks: List[api.MemorySink] = []
        api.apply_sources(sources, _model(self.model), lambda spec: sinks.append(api.MemorySink(spec)) or sinks[-1],
                          self.options, plan=self.plan, window=api.Window(x0, y0, width, height))
        return np.moveaxis(sinks[0].array, -1, 0)
