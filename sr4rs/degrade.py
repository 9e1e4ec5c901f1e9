"""Wald's protocol: make the low-resolution side of a pair by degrading the high-resolution image.

As DSen2 (Lanaras et al. 2018) trains: blur with a Gaussian approximating the
sensor's point spread at the coarse resolution, then average blocks of
``factor`` x ``factor`` pixels.
"""
from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

# Gaussian sigma in HR pixels per unit of scale factor: 1/3 of the factor puts the
# kernel's half-maximum width at about 0.8 coarse pixels.
SIGMA_PER_FACTOR = 1.0 / 3.0


def degrade(hr: np.ndarray, factor: int, sigma: float = None) -> np.ndarray:
    """(H, W, C) HR array -> (H // factor, W // factor, C) float32 LR array (extra rows/columns dropped)."""
    if factor < 1 or int(factor) != factor:
        raise ValueError(f"factor must be a positive integer, received factor={factor}")
    sigma = factor * SIGMA_PER_FACTOR if sigma is None else sigma
    h, w = (hr.shape[0] // factor) * factor, (hr.shape[1] // factor) * factor
    x = hr[:h, :w].astype(np.float32)
    if sigma > 0:
        x = gaussian_filter(x, sigma=(sigma, sigma, 0), mode="reflect")
    return x.reshape(h // factor, factor, w // factor, factor, -1).mean(axis=(1, 3))


def block_mean(hr: np.ndarray, factor: int) -> np.ndarray:
    """Average ``factor`` x ``factor`` blocks: an HR image brought back to the LR grid, no blur."""
    return degrade(hr, factor, sigma=0)
