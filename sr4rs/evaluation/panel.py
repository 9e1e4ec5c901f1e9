"""The picture of an evaluation: the LR image, each method's output and the reference side by side on
one window, with one contrast stretch shared by all tiles."""
from __future__ import annotations

import math
from typing import List, Optional, Sequence, Tuple

import numpy as np

from ..geo.nodata import valid_pixels
from ..geo.windows import Window
from ..io.images import save_png
from ..io.rasters import GdalSource
from .plan import Scene

_PANEL_TILE = 256  # displayed pixels a panel tile has at least
_LABEL_HEIGHT, _GAP = 18, 4


def _stretch(tile: np.ndarray, lo: np.ndarray, hi: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """To 1-255 with a shared stretch; 0 (black) where there is no data."""
    out = np.clip((tile - lo) / np.maximum(hi - lo, 1e-6) * 254 + 1, 1, 255).astype(np.uint8)
    out[~valid] = 0
    return out


def panel_windows(scene: Scene, window: Optional[Tuple[int, int, int]]) -> Tuple[Window, Window]:
    """The panel's LR and HR windows: ``window`` (col, row, size in LR pixels), default the centre."""
    f = scene.factor
    if window is None:
        size = min(scene.lr_width, scene.lr_height, max(32, _PANEL_TILE // f))
        window = ((scene.lr_width - size) // 2, (scene.lr_height - size) // 2, size)
    col, row, size = window
    return Window(col, row, size, size), Window(col * f, row * f, size * f, size * f)


def _panel_bands(scene: Scene) -> List[int]:
    return list(range(3)) if scene.count >= 3 else [0]


def panel_crop(scene: Scene, path: str, window: Optional[Tuple[int, int, int]] = None,
               hr_grid: bool = True) -> Tuple[np.ndarray, np.ndarray]:
    """The panel's window of ``path`` (an output on the HR grid, or with ``hr_grid=False`` the LR
    image): displayed bands as float64, and where they hold data."""
    lr_win, hr_win = panel_windows(scene, window)
    source = GdalSource(path)
    try:
        tile = source.read(hr_win if hr_grid else lr_win).astype(np.float64)[..., _panel_bands(scene)]
        tag = source.info.nodata
    finally:
        source.close()
    return tile, valid_pixels(tile, scene.nodata if tag is None else tag)


def compose(tiles: Sequence[Tuple[str, np.ndarray, np.ndarray]], lo: np.ndarray, hi: np.ndarray,
            zoom: int) -> np.ndarray:
    """The tiles (label, pixels, valid) side by side, each zoomed and labelled, as an RGB array."""
    from PIL import Image, ImageDraw

    side = tiles[0][1].shape[0] * zoom
    canvas = Image.new("RGB", (len(tiles) * (side + _GAP) - _GAP, side + _LABEL_HEIGHT), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for i, (label, tile, valid) in enumerate(tiles):
        rgb = _stretch(tile, lo, hi, valid)
        rgb = np.repeat(np.repeat(rgb, zoom, 0), zoom, 1)
        image = Image.fromarray(rgb[..., 0] if rgb.shape[-1] == 1 else rgb, "L" if rgb.shape[-1] == 1 else "RGB")
        x = i * (side + _GAP)
        canvas.paste(image, (x, _LABEL_HEIGHT))
        draw.text((x + 3, 3), label, fill=(0, 0, 0))
    return np.asarray(canvas)


def write_panel(scene: Scene, lr_path: str, outputs: Sequence[Tuple[str, np.ndarray, np.ndarray]], png: str,
                window: Optional[Tuple[int, int, int]] = None) -> str:
    """A PNG of the LR image (nearest), each output and the HR reference (if any) side by side on
    ``window`` (col, row, size in LR pixels; default: the centre), with one 2-98 percentile stretch per
    band taken from the reference (else the LR image) and shared by all tiles. Bands 1-3 as RGB (or band 1
    in grey). ``outputs`` are (label, tile, valid) as ``panel_crop`` reads them, so that the outputs need
    not be kept on disk."""
    f = scene.factor
    size = panel_windows(scene, window)[0].width
    lr, lr_valid = panel_crop(scene, lr_path, window, hr_grid=False)
    tiles = [(f"LR (x{f} nearest)", np.repeat(np.repeat(lr, f, 0), f, 1),
              np.repeat(np.repeat(lr_valid, f, 0), f, 1))]
    tiles += list(outputs)
    if scene.hr is not None:
        tiles.append(("HR reference", *panel_crop(scene, scene.hr.path, window)))
    _, ref, ref_valid = tiles[-1] if scene.hr is not None else tiles[0]  # the stretch: the reference's, else LR's
    values = ref[ref_valid] if ref_valid.any() else ref.reshape(-1, ref.shape[-1])
    lo, hi = np.percentile(values, 2, axis=0), np.percentile(values, 98, axis=0)
    zoom = max(1, math.ceil(_PANEL_TILE / (size * f)))
    return save_png(compose(tiles, lo, hi, zoom), png)
