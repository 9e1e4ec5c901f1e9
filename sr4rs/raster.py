"""Raster I/O: the only module that talks to GDAL.

Reading is by windows (``Window``); writing goes to a temporary file beside the
target that is verified and renamed at the end, so that the target path never
holds a half-written image.
"""
from __future__ import annotations

import os
import re
import sys
import uuid
from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
from osgeo import gdal, gdal_array

from .errors import InputError, OutputError
from .windows import Window, pad_widths

gdal.UseExceptions()

# Names accepted by --encoding: SR4RS's (OTB pixel types), GDAL's and numpy's.
_ENCODINGS = {
    "unsigned_char": "uint8", "short": "int16", "unsigned_short": "uint16",
    "int": "int32", "unsigned_int": "uint32", "float": "float32", "double": "float64",
    "byte": "uint8", "uint8": "uint8", "int16": "int16", "uint16": "uint16",
    "int32": "int32", "uint32": "uint32", "float32": "float32", "float64": "float64",
}
ENCODING_CHOICES = ("auto",) + tuple(_ENCODINGS)

# Past this many uncompressed bytes a classic TIFF could overflow its 32-bit offsets.
_BIGTIFF_THRESHOLD = 4 * 1024 ** 3 - 64 * 1024 ** 2


def resolve_encoding(name: str, default: np.dtype) -> np.dtype:
    """The numpy dtype for an --encoding name; ``auto`` keeps ``default``."""
    key = str(name).lower()
    if key == "auto":
        return np.dtype(default)
    if key not in _ENCODINGS:
        raise InputError(f"unknown encoding '{name}': choose one of {', '.join(ENCODING_CHOICES)}")
    return np.dtype(_ENCODINGS[key])


def cast_clipped(array: np.ndarray, dtype: np.dtype, in_place: bool = False) -> np.ndarray:
    """``array`` in ``dtype``, rounded for integer types and clipped to the type's range
    (NaN becomes 0). ``in_place`` lets a float32 ``array`` be used as scratch space."""
    dtype = np.dtype(dtype)
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        # 8- and 16-bit bounds are exact in float32; wider ones need float64 (in float32 the
        # int32 and uint32 maxima round up past the range and the cast would wrap around).
        work_type = np.float64 if info.bits >= 32 else np.float32
        work = array if in_place and array.dtype == work_type else array.astype(work_type)
        hi = float(info.max) if info.bits < 64 else np.nextafter(float(info.max), 0)
        np.rint(work, out=work)
        np.clip(work, info.min, hi, out=work)  # NaN stays NaN: found (cheaply) after
        nan = np.isnan(work)
        if nan.any():
            work[nan] = 0.0
        return work.astype(dtype)
    if dtype == np.float32:
        info = np.finfo(dtype)
        return np.clip(array, info.min, info.max).astype(dtype)
    return array.astype(dtype)


@dataclass(frozen=True)
class RasterInfo:
    """What the engine needs to know of a raster, read once."""

    path: str
    width: int
    height: int
    count: int
    dtype: np.dtype
    geotransform: Optional[Tuple[float, ...]]
    projection: str
    nodata: Optional[float]
    descriptions: Tuple[str, ...]
    color_interps: Tuple[int, ...]
    metadata: Dict[str, str] = field(default_factory=dict)
    band_metadata: Tuple[Dict[str, str], ...] = ()  # per band, default domain
    offsets: Tuple[Optional[float], ...] = ()  # per band: physical value = DN * scale + offset
    scales: Tuple[Optional[float], ...] = ()
    units: Tuple[str, ...] = ()

    @property
    def band_properties(self) -> Dict[str, tuple]:
        """What an output with the same bands inherits, as ``AtomicWriter``'s ``band_properties``."""
        return {"metadata": self.band_metadata, "offsets": self.offsets, "scales": self.scales, "units": self.units}


def _is_virtual(path: str) -> bool:
    """GDAL names that are no file on disk: /vsizip/..., /vsicurl/..., DRIVER:...:subdataset."""
    return path.startswith("/vsi") or (":" in path and not os.path.exists(path) and not re.match(r"^[A-Za-z]:[\\/]", path))


def _open(path: str) -> gdal.Dataset:
    if not _is_virtual(path) and not os.path.exists(path):
        raise InputError(f"input '{path}' does not exist: check the path")
    if os.path.isdir(path):
        raise InputError(f"input '{path}' is a folder, not a raster: give an image file")
    try:
        ds = gdal.Open(path, gdal.GA_ReadOnly)
    except RuntimeError as err:
        raise InputError(f"input '{path}' is not a raster GDAL can read ({_first_line(err)}): "
                         "give a GeoTIFF or another GDAL-readable image") from None
    if ds is None or ds.RasterCount == 0:
        raise InputError(f"input '{path}' holds no raster band: give a multispectral image")
    return ds


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def _band_dtype(bands) -> np.dtype:
    """A type holding every band's values (a stack of Byte and UInt16 bands is UInt16)."""
    code = bands[0].DataType
    for band in bands[1:]:
        code = gdal.DataTypeUnion(code, band.DataType)
    return np.dtype(gdal_array.GDALTypeCodeToNumericTypeCode(code))


def read_info(path: str) -> RasterInfo:
    """Open ``path`` and describe it; an InputError if it is not a readable raster."""
    ds = _open(path)
    b1 = ds.GetRasterBand(1)
    gt = ds.GetGeoTransform(can_return_null=True)
    bands = [ds.GetRasterBand(i + 1) for i in range(ds.RasterCount)]
    return RasterInfo(
        path=path, width=ds.RasterXSize, height=ds.RasterYSize, count=ds.RasterCount,
        dtype=_band_dtype(bands),
        geotransform=tuple(gt) if gt is not None else None,
        projection=ds.GetProjection() or "",
        nodata=b1.GetNoDataValue(),
        descriptions=tuple(b.GetDescription() for b in bands),
        color_interps=tuple(b.GetColorInterpretation() for b in bands),
        metadata=dict(ds.GetMetadata() or {}),
        band_metadata=tuple(dict(b.GetMetadata() or {}) for b in bands),
        offsets=tuple(b.GetOffset() for b in bands),
        scales=tuple(b.GetScale() for b in bands),
        units=tuple(b.GetUnitType() or "" for b in bands),
    )


# Blocks written stay in GDAL's cache until it is full (by default 5 % of the RAM), so an
# unbounded cache makes the memory of an apply grow with the output size.
WORK_CACHE_BYTES = 64 * 1024 ** 2


class bounded_cache:
    """Context manager: GDAL's block cache capped at ``nbytes`` (unless GDAL_CACHEMAX is set
    by the user), restored on exit."""

    def __init__(self, nbytes: int = WORK_CACHE_BYTES):
        self.nbytes, self._previous = nbytes, None

    def __enter__(self):
        if gdal.GetConfigOption("GDAL_CACHEMAX") is None:
            self._previous = gdal.GetCacheMax()
            gdal.SetCacheMax(min(self._previous, self.nbytes))
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            gdal.SetCacheMax(self._previous)


class Reader:
    """Reads windows of one raster through a handle of its own (one per thread)."""

    def __init__(self, path: str):
        self.path = path
        self._ds = _open(path)
        self.width, self.height = self._ds.RasterXSize, self._ds.RasterYSize

    def read(self, window: Window) -> np.ndarray:
        """Pixels of ``window`` as (rows, cols, bands); the window must lie inside the image."""
        try:
            arr = self._ds.ReadAsArray(window.col_off, window.row_off, window.width, window.height)
            reason = None
        except RuntimeError as err:
            reason = _first_line(err)
        if reason is not None:
            raise InputError(f"input '{self.path}' cannot be read at columns {window.col_off}-"
                             f"{window.col_off + window.width - 1}, rows {window.row_off}-"
                             f"{window.row_off + window.height - 1} ({reason}): the file is damaged or incomplete")
        if arr.ndim == 2:
            arr = arr[None]
        return np.moveaxis(arr, 0, -1)

    def read_padded(self, window: Window) -> np.ndarray:
        """Pixels of ``window``, which may pass the image's edges: the outside is mirrored."""
        inner = window.clip(self.width, self.height)
        arr = self.read(inner)
        (top, bottom), (left, right) = pad_widths(window, self.width, self.height)
        if top or bottom or left or right:
            mode = "reflect" if min(arr.shape[:2]) > 1 else "edge"
            arr = np.pad(arr, ((top, bottom), (left, right), (0, 0)), mode=mode)
        return arr

    def close(self):
        self._ds = None


def _has_zstd() -> bool:
    options = gdal.GetDriverByName("GTiff").GetMetadataItem("DMD_CREATIONOPTIONLIST") or ""
    return "ZSTD" in options


def default_creation_options(dtype: np.dtype, uncompressed_bytes: int) -> Dict[str, str]:
    """Tiled, compressed GeoTIFF; BigTIFF where the raw size could pass 4 GiB.

    ZSTD level 1 with a predictor: on Landsat-like 16-bit data it compresses as well as
    DEFLATE (within 3 %) about six times faster, which keeps the writer thread from
    slowing the model down; DEFLATE where GDAL lacks ZSTD (``-co COMPRESS=DEFLATE``
    for readers built without it).
    """
    options = {"TILED": "YES", "BLOCKXSIZE": "256", "BLOCKYSIZE": "256",
               "PREDICTOR": "3" if np.dtype(dtype).kind == "f" else "2"}
    if _has_zstd():
        options.update(COMPRESS="ZSTD", ZSTD_LEVEL="1")
    else:
        options.update(COMPRESS="DEFLATE", ZLEVEL="1")
    if uncompressed_bytes >= _BIGTIFF_THRESHOLD:
        options["BIGTIFF"] = "YES"
    return options


def parse_creation_options(items: Sequence[str]) -> Dict[str, str]:
    """``["KEY=VALUE", ...]`` (as gdal_translate's -co) into a dict."""
    options = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError(f"creation option '{item}' is not KEY=VALUE: write e.g. -co COMPRESS=ZSTD")
        options[key.strip().upper()] = value.strip()
    return options


def check_output_path(path: str, overwrite: bool) -> None:
    """Refuse an existing output (unless ``overwrite``) or an unwritable folder, before any compute."""
    folder = os.path.dirname(os.path.abspath(path)) or "."
    if os.path.isdir(path):
        raise OutputError(f"output '{path}' is a folder: give a file name such as {os.path.join(path, 'sr.tif')}")
    if os.path.exists(path) and not overwrite:
        raise OutputError(f"output '{path}' already exists: remove it or pass --overwrite")
    if not os.path.isdir(folder):
        raise OutputError(f"output folder '{folder}' does not exist: create it first")
    probe = os.path.join(folder, f".sr4rs-write-test-{uuid.uuid4().hex[:8]}")
    try:  # os.access says yes to root on a read-only mount; a real file does not lie
        with open(probe, "wb"):
            pass
        os.remove(probe)
    except OSError as err:
        raise OutputError(f"output folder '{folder}' is not writable ({err.strerror}): "
                          "choose another --output") from None


class AtomicWriter:
    """A GeoTIFF written under a temporary name beside ``path`` and renamed by ``commit``.

    ``abort`` (or any exception before ``commit``) removes the temporary file,
    so an interrupted or failed run leaves nothing at ``path``.
    """

    def __init__(self, path: str, width: int, height: int, count: int, dtype: np.dtype,
                 geotransform=None, projection: str = "", nodata: Optional[float] = None,
                 descriptions: Sequence[str] = (), color_interps: Sequence[int] = (),
                 metadata: Optional[Dict[str, str]] = None,
                 creation_options: Optional[Dict[str, str]] = None, cog: bool = False,
                 overwrite: bool = False, band_properties: Optional[Dict[str, tuple]] = None):
        self.path, self.cog, self.overwrite = path, cog, overwrite
        self.width, self.height, self.count = width, height, count
        self.dtype = np.dtype(dtype)
        folder = os.path.dirname(os.path.abspath(path))
        stem = os.path.basename(path)
        self._tmp = os.path.join(folder, f".{stem}.{uuid.uuid4().hex[:8]}.partial.tif")
        raw = width * height * count * self.dtype.itemsize
        options = default_creation_options(self.dtype, raw)
        options.update(creation_options or {})
        if cog:
            # The COG driver copies a finished image: the first pass stays a plain tiled GTiff.
            self._cog_options = {k: v for k, v in options.items()
                                 if k not in ("TILED", "BLOCKXSIZE", "BLOCKYSIZE")}
            # The intermediate: a fast compression rather than the full raw size on disk.
            options = default_creation_options(self.dtype, raw)
            options["BIGTIFF"] = "YES" if raw >= _BIGTIFF_THRESHOLD else "IF_SAFER"
            self._cog_options.setdefault("BIGTIFF", "YES" if raw >= _BIGTIFF_THRESHOLD else "IF_SAFER")
        self._files = [self._tmp]
        self._ds = None
        try:
            driver = gdal.GetDriverByName("GTiff")
            self._ds = driver.Create(self._tmp, width, height, count,
                                     gdal_array.NumericTypeCodeToGDALTypeCode(self.dtype),
                                     [f"{k}={v}" for k, v in options.items()])
            self._describe(geotransform, projection, metadata, nodata, descriptions, color_interps)
            self._describe_bands(**(band_properties or {}))
            reason = None
        except RuntimeError as err:
            reason = _first_line(err)
        except BaseException:
            self.abort()
            raise
        if reason is not None:
            self.abort()
            raise OutputError(f"cannot create output '{path}' ({reason}): "
                              "check the -co creation options, the folder and the free space")

    def _describe(self, geotransform, projection, metadata, nodata, descriptions, color_interps) -> None:
        if geotransform is not None:
            self._ds.SetGeoTransform(geotransform)
        if projection:
            self._ds.SetProjection(projection)
        if metadata:
            self._ds.SetMetadata(metadata)
        for i in range(self.count):
            band = self._ds.GetRasterBand(i + 1)
            if nodata is not None:
                band.SetNoDataValue(float(nodata))
            if i < len(descriptions) and descriptions[i]:
                band.SetDescription(descriptions[i])
            if i < len(color_interps):
                band.SetColorInterpretation(color_interps[i])

    def _describe_bands(self, metadata=(), offsets=(), scales=(), units=()) -> None:
        """Per band: metadata items, offset and scale (e.g. Landsat's reflectance factors), unit."""
        for i in range(self.count):
            band = self._ds.GetRasterBand(i + 1)
            if i < len(metadata) and metadata[i]:
                band.SetMetadata(metadata[i])
            if i < len(offsets) and offsets[i] not in (None, 0.0):
                band.SetOffset(offsets[i])
            if i < len(scales) and scales[i] not in (None, 1.0):
                band.SetScale(scales[i])
            if i < len(units) and units[i]:
                band.SetUnitType(units[i])

    def write(self, window: Window, array: np.ndarray) -> None:
        """Write (rows, cols, bands) ``array`` at ``window``."""
        data = np.ascontiguousarray(np.moveaxis(array, -1, 0))
        try:
            self._ds.WriteArray(data, xoff=window.col_off, yoff=window.row_off)
            return
        except RuntimeError as err:
            reason = _first_line(err)
        # Raised outside the except block: GDAL's traceback would keep the dataset alive
        # until some later garbage collection, whose failing close GDAL can only print.
        raise OutputError(f"writing '{self.path}' failed ({reason}): "
                          "check free space, permissions and any -co creation options, then run again")

    @property
    def block_size(self) -> Tuple[int, int]:
        return tuple(self._ds.GetRasterBand(1).GetBlockSize())

    def flush(self) -> None:
        """Compress and write the blocks written so far (in the calling thread, now, rather
        than all at once when the file is closed). Only for windows aligned on blocks: a
        flushed block that is written again is appended anew to a compressed file."""
        self._ds.FlushCache()

    def commit(self) -> None:
        """Flush, check that the file closed cleanly and reads back, then rename it to the target."""
        try:
            self._ds.FlushCache()
            error = self._close()  # closing writes the last blocks and the directory
            if error:
                raise RuntimeError(error)
            final = self._tmp
            if self.cog:
                final = self._tmp[:-len(".partial.tif")] + ".cog.partial.tif"
                self._files.append(final)
                gdal.Translate(final, self._tmp, format="COG",
                               creationOptions=[f"{k}={v}" for k, v in self._cog_options.items()])
            self._verify(final)
            if os.path.exists(self.path) and not self.overwrite:
                raise FileExistsError(f"'{self.path}' appeared while writing")
            os.replace(final, self.path)
            self._files.remove(final)
            reason = None
        except (RuntimeError, OSError) as err:
            reason = _first_line(err)
        self.abort()  # removes the temporary files (and the intermediate of a COG)
        if reason is not None:
            raise OutputError(f"writing '{self.path}' failed ({reason}): "
                              "check free space and permissions, then run again")

    def _verify(self, path: str) -> None:
        ds = gdal.Open(path)
        if (ds.RasterXSize, ds.RasterYSize, ds.RasterCount) != (self.width, self.height, self.count):
            raise RuntimeError("the written file does not have the expected size")
        # Decoding the last block proves the data reached the disk whole.
        band = ds.GetRasterBand(self.count)
        band.ReadRaster(max(self.width - 1, 0), max(self.height - 1, 0), 1, 1)
        ds = None

    def _close(self) -> str:
        """Close the dataset; return GDAL's error message if closing failed, else ''.

        GDAL 3.6's bindings raise a closing error from the dataset's destructor, where
        Python can only report it as "unraisable": it is caught there instead (GDAL's
        global exception mode is left alone, other threads may be using GDAL).
        """
        if self._ds is None:
            return ""
        errors = []
        previous = sys.unraisablehook
        sys.unraisablehook = lambda unraisable: errors.append(unraisable.exc_value)
        try:
            self._ds = None
        finally:
            sys.unraisablehook = previous
        return _first_line(errors[0]) if errors else ""

    def abort(self) -> None:
        """Drop the temporary files; the target path is left untouched."""
        self._close()
        for name in list(self._files):
            for candidate in (name, name + ".aux.xml", name + ".ovr"):
                try:
                    os.remove(candidate)
                except FileNotFoundError:
                    pass
            self._files.remove(name)


def write_quicklook(path: str, png: str, max_size: int = 1024, bands=(1, 2, 3),
                    percentiles=(2.0, 98.0)) -> str:
    """A PNG of ``path`` (at most ``max_size`` pixels a side) with a per-band percentile stretch."""
    ds = _open(path)
    bands = [b for b in bands if b <= ds.RasterCount] or [1]
    factor = max(ds.RasterXSize, ds.RasterYSize) / max_size
    width = max(1, round(ds.RasterXSize / max(factor, 1)))
    height = max(1, round(ds.RasterYSize / max(factor, 1)))
    scale = []
    for b in bands:
        band = ds.GetRasterBand(b)
        data = band.ReadAsArray(buf_xsize=width, buf_ysize=height).astype(np.float64)
        nodata = band.GetNoDataValue()
        valid = data[data != nodata] if nodata is not None else data.ravel()
        lo, hi = np.percentile(valid, percentiles) if valid.size else (0.0, 1.0)
        scale.append([float(lo), float(max(hi, lo + 1e-6)), 1, 255])  # 0 stays for nodata
    tmp = png + ".partial.png"
    try:
        gdal.Translate(tmp, ds, format="PNG", outputType=gdal.GDT_Byte, bandList=bands,
                       width=width, height=height, scaleParams=scale, noData=0 if ds.GetRasterBand(1).GetNoDataValue() is not None else None)
        os.replace(tmp, png)
    except (RuntimeError, OSError) as err:
        raise OutputError(f"cannot write quicklook '{png}' ({_first_line(err)})") from None
    finally:
        for leftover in (tmp, tmp + ".aux.xml"):
            if os.path.exists(leftover):
                os.remove(leftover)
    return png
