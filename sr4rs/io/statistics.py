"""A sample of an image's valid pixels, read cheaply from anywhere in it: a regular grid of small windows (no
overview needed, a few reads whatever the image's size), for the statistics an input is checked with."""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..geo.nodata import valid_pixels
from ..geo.windows import Window
from .rasters import GdalSource


def sample_pixels(path: str, nodata: Optional[float] = None, grid: int = 4, size: int = 64) -> np.ndarray:
    """(pixels, bands) float64: the valid pixels of ``grid`` x ``grid`` windows of ``size`` spread evenly over the
    image (the whole image when it is smaller). Pixels whose every band is 0 count as fill."""
    with GdalSource(path) as source:
        info = source.info
        tag = info.nodata if info.nodata is not None else nodata
        w, h = min(size, info.width), min(size, info.height)
        cols = np.unique(np.linspace(0, info.width - w, grid).round().astype(int))
        rows = np.unique(np.linspace(0, info.height - h, grid).round().astype(int))
        values = []
        for row in rows:
            for col in cols:
                block = source.read(Window(int(col), int(row), w, h)).astype(np.float64)
                keep = valid_pixels(block, tag) & (block != 0).any(axis=-1)
                values.append(block[keep])
    return np.concatenate(values) if values else np.zeros((0, info.count))
