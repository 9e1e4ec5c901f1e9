"""The raster interfaces the engine and the evaluation work through, and in-memory implementations.

A ``RasterSource`` describes itself (``info``) and reads windows that lie inside it; ``read_padded``
extends a read past the image edge. A ``RasterSink`` takes windows of an output and either commits
it whole or aborts, leaving nothing. GDAL files are one implementation (``sr4rs.io.rasters``,
``sr4rs.io.geotiff``); ``MemorySource`` and ``MemorySink`` are another, for tests and for callers
that hold their pixels in memory.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, Optional, Protocol, Sequence, Tuple

import numpy as np

from ..errors import OutputError
from ..geo.dtypes import check_pixel_type
from ..geo.windows import Window, pad_to


@dataclass(frozen=True)
class RasterSpec:
    """What a raster is: size, pixel type, georeferencing, band descriptions and metadata. A sink is
    created from one (``OutputSpec``)."""

    width: int
    height: int
    count: int
    dtype: np.dtype
    geotransform: Optional[Tuple[float, ...]] = None
    projection: str = ""
    nodata: Optional[float] = None
    descriptions: Tuple[str, ...] = ()
    color_interps: Tuple[int, ...] = ()
    metadata: Dict[str, str] = field(default_factory=dict)
    band_metadata: Tuple[Dict[str, str], ...] = ()  # per band, default domain
    offsets: Tuple[Optional[float], ...] = ()  # per band: physical value = DN * scale + offset
    scales: Tuple[Optional[float], ...] = ()
    units: Tuple[str, ...] = ()

    @property
    def band_names(self) -> Tuple[str, ...]:
        """Band descriptions, or ``band1``, ``band2``... where some are missing."""
        if self.descriptions and all(self.descriptions):
            return tuple(self.descriptions)
        return tuple(f"band{i + 1}" for i in range(self.count))


OutputSpec = RasterSpec


@dataclass(frozen=True)
class RasterInfo(RasterSpec):
    """A raster that exists: its spec, its name, and every file it is made of (a VRT's sources, side
    files), read once."""

    path: str = ""
    files: Tuple[str, ...] = ()


class RasterSource(Protocol):
    """Windowed reads of one raster (one instance per thread: GDAL handles are not shared)."""

    info: RasterInfo

    def read(self, window: Window) -> np.ndarray:
        """Pixels of ``window`` (inside the image) as (rows, cols, bands)."""

    def close(self) -> None:
        ...


class RasterSink(Protocol):
    """Where an output goes: written window by window, then committed whole, or aborted."""

    block_size: Tuple[int, int]

    def write(self, window: Window, array: np.ndarray) -> None:
        ...

    def flush(self) -> None:
        """Encode what was written so far (for windows aligned on blocks)."""

    def commit(self) -> None:
        ...

    def abort(self) -> None:
        ...


SinkFactory = Callable[[OutputSpec], RasterSink]


def read_padded(source: RasterSource, window: Window, mode: str = "reflect") -> np.ndarray:
    """Pixels of ``window``, which may pass the image's edges: the outside is filled by ``mode``
    (see ``sr4rs.geo.windows.pad_to``)."""
    info = source.info
    inner = window.clip(info.width, info.height)
    return pad_to(source.read(inner), window, info.width, info.height, mode)


class MemorySource:
    """A raster held in a (rows, cols, bands) array."""

    def __init__(self, array: np.ndarray, geotransform=None, projection: str = "", nodata: Optional[float] = None,
                 descriptions: Sequence[str] = (), name: str = "<memory>"):
        array = np.asarray(array)
        check_pixel_type(array.dtype, f"array '{name}'")
        self.array = array[..., None] if array.ndim == 2 else array
        h, w, c = self.array.shape
        self.info = RasterInfo(width=w, height=h, count=c, dtype=self.array.dtype,
                               geotransform=tuple(geotransform) if geotransform else None, projection=projection,
                               nodata=nodata, descriptions=tuple(descriptions), path=name)

    def read(self, window: Window) -> np.ndarray:
        if not window.inside(self.info.width, self.info.height):
            raise ValueError(f"window {window} is not inside the {self.info.width} x {self.info.height} image")
        return self.array[window.slices()].copy()

    def close(self) -> None:
        pass


class MemorySink:
    """An output assembled in memory; ``array`` is set by ``commit`` and stays None after ``abort``."""

    block_size = (256, 256)

    def __init__(self, spec: OutputSpec):
        self.spec = spec
        self._work = np.zeros((spec.height, spec.width, spec.count), spec.dtype)
        self.array: Optional[np.ndarray] = None
        self.aborted = False

    def write(self, window: Window, array: np.ndarray) -> None:
        if self._work is None:
            raise OutputError("write after commit or abort")
        self._work[window.slices()] = array

    def flush(self) -> None:
        pass

    def commit(self) -> None:
        self.array, self._work = self._work, None

    def abort(self) -> None:
        self._work, self.aborted = None, True
