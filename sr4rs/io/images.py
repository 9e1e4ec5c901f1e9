"""Pictures and resampled copies: PNG quicklooks of rasters, PNGs of arrays, and GDAL's interpolations
(nearest, bilinear, cubic, Lanczos) that serve as baselines."""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..errors import OutputError, first_line
from ..progress import Work
from ._gdal import gdal
from .files import write_staged
from .rasters import open_raster


def write_quicklook(path: str, png: str, max_size: int = 1024, bands=(1, 2, 3),
                    percentiles=(2.0, 98.0)) -> str:
    """A PNG of ``path`` (at most ``max_size`` pixels a side) with a per-band percentile stretch;
    nodata stays 0 (black)."""
    ds = open_raster(path)
    bands = [b for b in bands if b <= ds.RasterCount] or [1]
    factor = max(ds.RasterXSize, ds.RasterYSize) / max_size
    width = max(1, round(ds.RasterXSize / max(factor, 1)))
    height = max(1, round(ds.RasterYSize / max(factor, 1)))
    scale = []
    for b in bands:
        band = ds.GetRasterBand(b)
        data = band.ReadAsArray(buf_xsize=width, buf_ysize=height).astype(np.float64)
        nodata = band.GetNoDataValue()
        keep = np.isfinite(data) if nodata is None else np.isfinite(data) & (data != nodata)
        valid = data[keep]
        lo, hi = np.percentile(valid, percentiles) if valid.size else (0.0, 1.0)
        scale.append([float(lo), float(max(hi, lo + 1e-6)), 1, 255])  # 0 stays for nodata
    nodata = 0 if ds.GetRasterBand(1).GetNoDataValue() is not None else None

    def translate(tmp: str) -> None:
        try:
            gdal.Translate(tmp, ds, format="PNG", outputType=gdal.GDT_Byte, bandList=bands,
                           width=width, height=height, scaleParams=scale, noData=nodata)
        except RuntimeError as err:
            raise OSError(first_line(err)) from None

    return write_staged(png, translate, what="quicklook")


def save_png(array: np.ndarray, png: str) -> str:
    """An (H, W, 3) or (H, W) uint8 array as a PNG, whole or not at all."""
    from PIL import Image

    image = Image.fromarray(array, "RGB" if array.ndim == 3 else "L")
    return write_staged(png, lambda tmp: image.save(tmp, format="PNG"), what="picture")


def upsample(lr_path: str, out_path: str, factor: int, resampling: str, work: Optional[Work] = None) -> str:
    """``lr_path`` enlarged ``factor`` times by GDAL (``near``, ``bilinear``, ``cubic``, ``lanczos``),
    float32. ``work`` gets the LR pixels done, and its cancel token stops GDAL at its next callback."""
    ds = open_raster(lr_path)
    return resample(lr_path, out_path, ds.RasterXSize * factor, ds.RasterYSize * factor, resampling, work)


def resample(path: str, out_path: str, width: int, height: int, resampling: str, work: Optional[Work] = None) -> str:
    """``path`` resampled by GDAL to ``width`` x ``height`` pixels on the same ground (``average`` to shrink by
    block means), float32."""
    work = work or Work()
    ds = open_raster(path)
    total, reported = ds.RasterXSize * ds.RasterYSize, 0

    def callback(fraction, *_):
        nonlocal reported
        done = int(min(max(fraction, 0.0), 1.0) * total)
        if work.progress is not None and done > reported:
            work.progress(done - reported)
            reported = done
        return 0 if work.cancelled else 1

    try:
        gdal.Translate(out_path, ds, width=width, height=height, resampleAlg=resampling, outputType=gdal.GDT_Float32,
                       creationOptions=["TILED=YES", "BIGTIFF=IF_SAFER"], callback=callback)
        reason = None
    except RuntimeError as err:
        reason = first_line(err)
    work.check()
    if reason is not None:
        raise OutputError(f"cannot write '{out_path}' ({reason}): check the free space of the output folder")
    callback(1.0)
    return out_path
