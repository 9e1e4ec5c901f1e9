"""Wald's protocol: make the low-resolution side of a pair by degrading the high-resolution image.

As DSen2 (Lanaras et al. 2018) trains: blur with a Gaussian approximating the sensor's point spread
at the coarse resolution, then average blocks of ``factor`` x ``factor`` pixels.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from scipy.ndimage import gaussian_filter

# Gaussian sigma in HR pixels per unit of scale factor: 1/3 of the factor puts the
# kernel's half-maximum width at about 0.8 coarse pixels.
SIGMA_PER_FACTOR = 1.0 / 3.0
# scipy's gaussian_filter reaches truncate * sigma pixels (its default truncate).
GAUSS_TRUNCATE = 4.0


def default_sigma(factor: int) -> float:
    return factor * SIGMA_PER_FACTOR


def gaussian_reach(sigma: float) -> int:
    """How many pixels away scipy's Gaussian of ``sigma`` reaches (its kernel's radius)."""
    return int(GAUSS_TRUNCATE * sigma + 0.5)


def lr_margin(factor: int, sigma: Optional[float] = None) -> int:
    """LR pixels to read around an LR window so that its blur sees real context: the Gaussian's
    reach in HR pixels, rounded up to whole LR pixels."""
    sigma = default_sigma(factor) if sigma is None else sigma
    return -(-gaussian_reach(sigma) // factor)


def degrade(hr: np.ndarray, factor: int, sigma: Optional[float] = None) -> np.ndarray:
    """(H, W, C) HR array -> (H // factor, W // factor, C) float32 LR array (extra rows/columns dropped)."""
    if factor < 1 or int(factor) != factor:
        raise ValueError(f"factor must be a positive integer, received factor={factor}")
    sigma = default_sigma(factor) if sigma is None else sigma
    h, w = (hr.shape[0] // factor) * factor, (hr.shape[1] // factor) * factor
    x = hr[:h, :w].astype(np.float32)
    if sigma > 0:
        x = gaussian_filter(x, sigma=(sigma, sigma, 0), mode="reflect")
    return x.reshape(h // factor, factor, w // factor, factor, -1).mean(axis=(1, 3))


def block_mean(hr: np.ndarray, factor: int) -> np.ndarray:
    """Average ``factor`` x ``factor`` blocks: an HR image brought back to the LR grid, no blur."""
    return degrade(hr, factor, sigma=0)
