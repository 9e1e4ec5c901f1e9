"""``GeoTiffSink``: a GeoTIFF (or COG) output written under a temporary name, verified, then renamed."""
from __future__ import annotations

import sys
from typing import Dict, Optional, Tuple

import numpy as np

from ..errors import OutputError, first_line
from ..geo.dtypes import STORED_TYPES
from ..geo.windows import Window
from ._gdal import gdal, gdal_array
from .files import StagedFile, write_failure
from .rasters import BIGTIFF_THRESHOLD, default_creation_options
from .source import OutputSpec

# Options of the plain GTiff first pass that the COG driver does not take (it tiles by itself).
_NOT_FOR_COG = ("TILED", "BLOCKXSIZE", "BLOCKYSIZE", "ZSTD_LEVEL", "ZLEVEL")


class GeoTiffSink:
    """A GeoTIFF written under a temporary name beside ``path`` and renamed by ``commit``.

    ``abort`` (or any exception before ``commit``) removes the temporary file, so an interrupted
    or failed run leaves nothing at ``path``.
    """

    def __init__(self, path: str, spec: OutputSpec, creation_options: Optional[Dict[str, str]] = None,
                 cog: bool = False, overwrite: bool = False):
        self.path, self.spec, self.cog = path, spec, cog
        self.dtype = np.dtype(spec.dtype)
        if self.dtype.name not in STORED_TYPES:
            raise OutputError(f"a GeoTIFF cannot hold {self.dtype} pixels exactly ('{path}'): give one of "
                              f"{', '.join(STORED_TYPES)} (e.g. --encoding float32)")
        self._staged = StagedFile(path, overwrite)
        self._cog_file: Optional[StagedFile] = None
        raw = spec.width * spec.height * spec.count * self.dtype.itemsize
        options = default_creation_options(self.dtype, raw)
        options.update(creation_options or {})
        if cog:
            self._cog_options = _cog_options(options, raw)
            # The COG driver copies a finished image: the first pass is a plain tiled GTiff, fast to write.
            options = default_creation_options(self.dtype, raw)
            options["BIGTIFF"] = "YES" if raw >= BIGTIFF_THRESHOLD else "IF_SAFER"
        self._ds = None
        try:
            self._ds = gdal.GetDriverByName("GTiff").Create(
                self._staged.tmp, spec.width, spec.height, spec.count,
                gdal_array.NumericTypeCodeToGDALTypeCode(self.dtype), [f"{k}={v}" for k, v in options.items()])
            _describe(self._ds, spec)
            reason = None
        except RuntimeError as err:
            reason = first_line(err)
        except BaseException:
            self.abort()
            raise
        if reason is not None:
            self.abort()
            raise write_failure(path, reason, "check the -co creation options, the folder and the free space",
                                failed=f"cannot create output '{path}'")

    @property
    def tmp(self) -> str:
        return self._staged.tmp

    def __enter__(self) -> "GeoTiffSink":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        """Committed when the block ends normally, aborted when it raises."""
        if kind is None:
            self.commit()
        else:
            self.abort()

    def write(self, window: Window, array: np.ndarray) -> None:
        """Write (rows, cols, bands) ``array`` at ``window``."""
        data = np.ascontiguousarray(np.moveaxis(array, -1, 0))
        try:
            self._ds.WriteArray(data, xoff=window.col_off, yoff=window.row_off)
            return
        except RuntimeError as err:
            reason = first_line(err)
        # Raised outside the except block: GDAL's traceback would keep the dataset alive
        # until some later garbage collection, whose failing close GDAL can only print.
        raise write_failure(self.path, reason, "check free space, permissions and any -co creation options, "
                            "then run again")

    @property
    def block_size(self) -> Tuple[int, int]:
        return tuple(self._ds.GetRasterBand(1).GetBlockSize())

    def flush(self) -> None:
        """Compress and write the blocks written so far (in the calling thread, now, rather than all at
        once when the file is closed). Only for windows aligned on blocks: a flushed block that is
        written again is appended anew to a compressed file."""
        try:
            self._ds.FlushCache()
            return
        except RuntimeError as err:
            reason = first_line(err)
        raise write_failure(self.path, reason)

    def commit(self) -> None:
        """Flush, check that the file closed cleanly and reads back, then rename it to the target."""
        try:
            self._ds.FlushCache()
            error = self._close()  # closing writes the last blocks and the directory
            if error:
                raise RuntimeError(error)
            final = self._staged.tmp
            if self.cog:
                self._cog_file = StagedFile(self.path, tag="cog.partial")
                final = self._cog_file.tmp
                gdal.Translate(final, self._staged.tmp, format="COG",
                               creationOptions=[f"{k}={v}" for k, v in self._cog_options.items()])
            _verify(final, self.spec)
            reason = None
        except (RuntimeError, OSError) as err:
            reason = first_line(err)
        if reason is not None:
            self.abort()
            raise write_failure(self.path, reason)
        self._staged.commit(final)
        self.abort()  # the first pass of a COG

    def _close(self) -> str:
        """Close the dataset; return GDAL's error message if closing failed, else ''.

        GDAL 3.6's bindings raise a closing error from the dataset's destructor, where Python can
        only report it as "unraisable": it is caught there instead (GDAL's global exception mode is
        left alone, other threads may be using GDAL).
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
        return first_line(errors[0]) if errors else ""

    def abort(self) -> None:
        """Drop the temporary files; the target path is left untouched."""
        self._close()
        self._staged.abort()
        if self._cog_file is not None:
            self._cog_file.abort()


def _cog_options(options: Dict[str, str], raw: int) -> Dict[str, str]:
    """The user's and default options as the COG driver names them: it tiles by itself and calls the
    compression level LEVEL (an option it does not know would make GDAL print a warning)."""
    cog = {k: v for k, v in options.items() if k not in _NOT_FOR_COG}
    level = options.get("ZSTD_LEVEL") or options.get("ZLEVEL")
    if level is not None:
        cog.setdefault("LEVEL", level)
    cog.setdefault("BIGTIFF", "YES" if raw >= BIGTIFF_THRESHOLD else "IF_SAFER")
    return cog


def _describe(ds, spec: OutputSpec) -> None:
    """Georeferencing and metadata; per band: nodata, description, colour, metadata items, offset and
    scale (e.g. Landsat's reflectance factors), unit."""
    if spec.geotransform is not None:
        ds.SetGeoTransform(spec.geotransform)
    if spec.projection:
        ds.SetProjection(spec.projection)
    if spec.metadata:
        ds.SetMetadata(dict(spec.metadata))
    wide_int = np.dtype(spec.dtype).kind in "ui" and np.dtype(spec.dtype).itemsize == 8
    for i in range(spec.count):
        band = ds.GetRasterBand(i + 1)
        if spec.nodata is not None:  # 64-bit integer bands take an integer (GDAL's Int64 nodata API)
            band.SetNoDataValue(int(spec.nodata) if wide_int else float(spec.nodata))
        if i < len(spec.descriptions) and spec.descriptions[i]:
            band.SetDescription(spec.descriptions[i])
        if i < len(spec.color_interps):
            band.SetColorInterpretation(spec.color_interps[i])
        if i < len(spec.band_metadata) and spec.band_metadata[i]:
            band.SetMetadata(dict(spec.band_metadata[i]))
        if i < len(spec.offsets) and spec.offsets[i] not in (None, 0.0):
            band.SetOffset(spec.offsets[i])
        if i < len(spec.scales) and spec.scales[i] not in (None, 1.0):
            band.SetScale(spec.scales[i])
        if i < len(spec.units) and spec.units[i]:
            band.SetUnitType(spec.units[i])


def _verify(path: str, spec: OutputSpec) -> None:
    """The written file has the expected size, and its last block decodes: the data reached the disk whole."""
    ds = gdal.Open(path)
    if (ds.RasterXSize, ds.RasterYSize, ds.RasterCount) != (spec.width, spec.height, spec.count):
        raise RuntimeError("the written file does not have the expected size")
    ds.GetRasterBand(spec.count).ReadRaster(max(spec.width - 1, 0), max(spec.height - 1, 0), 1, 1)
