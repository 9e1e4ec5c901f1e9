"""The figures of ESA's opensr-test benchmark (Aybar et al. 2024; version 1.3.3, default configuration),
computed with numpy and scikit-image so that sr4rs needs neither torch nor opensr-test:

- consistency with the LR image: the SR image brought to the LR grid by antialiased bilinear
  downsampling (a separable triangle filter 2 x factor HR pixels wide, as torch's ``interpolate`` with
  ``antialias=True``): reflectance (mean absolute difference), spectral (mean angle, degrees) and spatial
  (phase-correlation shift, LR pixels; NaN beyond 5);
- synthesis: the mean absolute difference between the harmonised SR image (histogram-matched to the
  reference, then aligned on it) and the bilinear upsampling of the LR image: the high frequencies added;
- correctness: per pixel, how the harmonised SR image stands between the reference (improvement), the
  upsampled LR image (omission) and neither (hallucination), as fractions that sum to 1.

All images are (rows, columns, bands); 16 HR pixels (16 // factor LR pixels) are cut from every edge first,
as opensr-test does. ``tests/testdata/opensr`` holds figures computed by opensr-test itself.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy.ndimage import shift as spline_shift

BORDER = 16  # HR pixels
SHIFT_LIMIT = 5.0  # pixels: a larger shift is a failed registration
PCC_UPSAMPLE = 50
SCORE_LAMBDA = 0.05
TEMPERATURE = 0.25
QUANTILE = 0.75


@dataclass(frozen=True)
class OpensrFigures:
    reflectance: float
    spectral: float
    spatial: float
    synthesis: float = math.nan
    improvement: float = math.nan
    omission: float = math.nan
    hallucination: float = math.nan


def _triangle_taps(factor: int):
    """Offsets from factor x i of the input pixels output i weighs, and their weights: 1 - distance / factor
    from the output's centre, factor (i + 0.5)."""
    offsets = np.arange(-factor, 2 * factor)
    weights = np.maximum(0.0, 1.0 - np.abs(offsets + 0.5 - factor / 2) / factor)
    keep = weights > 0
    return offsets[keep], weights[keep]


def _down_axis(image: np.ndarray, factor: int, axis: int) -> np.ndarray:
    """Antialiased bilinear downsampling along ``axis``: the triangle taps, renormalised where they pass the
    image's edges (as torch's ``interpolate(..., antialias=True)``)."""
    x = np.moveaxis(image, axis, 0)
    n = x.shape[0]
    m = n // factor
    offsets, weights = _triangle_taps(factor)
    total = np.zeros((m,) + x.shape[1:])
    norm = np.zeros((m,) + (1,) * (x.ndim - 1))
    starts = factor * np.arange(m)
    for offset, weight in zip(offsets, weights):
        j = starts + offset
        inside = (j >= 0) & (j < n)
        total[inside] += weight * x[j[inside]]
        norm[inside] += weight
    return np.moveaxis(total / norm, 0, axis)


def bilinear_down(image: np.ndarray, factor: int) -> np.ndarray:
    """``image`` (rows, columns, bands) on a grid ``factor`` times coarser, by the separable triangle filter
    of ``_triangle_taps``: memory in proportion to the image, whatever its size."""
    return _down_axis(_down_axis(np.asarray(image, np.float64), factor, 0), factor, 1)


def _bilinear_axis(n: int, factor: int):
    out = np.arange(n * factor)
    u = np.maximum((out + 0.5) / factor - 0.5, 0.0)
    i0 = np.floor(u).astype(int)
    i1 = np.minimum(i0 + 1, n - 1)
    return i0, i1, u - i0


def bilinear_up(image: np.ndarray, factor: int) -> np.ndarray:
    """Half-pixel bilinear upsampling by ``factor`` (edge samples repeated)."""
    r0, r1, a = _bilinear_axis(image.shape[0], factor)
    c0, c1, b = _bilinear_axis(image.shape[1], factor)
    rows = image[r0] * (1 - a)[:, None, None] + image[r1] * a[:, None, None]
    return rows[:, c0] * (1 - b)[None, :, None] + rows[:, c1] * b[None, :, None]


def pcc_shift(reference: np.ndarray, moving: np.ndarray) -> Optional[np.ndarray]:
    """(rows, cols) shift registering ``moving`` onto ``reference`` (2-D), phase-normalised, to 1/50 pixel;
    None beyond SHIFT_LIMIT or when the registration fails."""
    import warnings

    from skimage.registration import phase_cross_correlation

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            shift = phase_cross_correlation(reference, moving, upsample_factor=PCC_UPSAMPLE, space="real",
                                            disambiguate=False, normalization="phase")[0]
    except (ValueError, ZeroDivisionError):
        return None
    shift = np.asarray(shift, np.float32).astype(np.float64)
    return None if not np.isfinite(shift).all() or np.hypot(*shift) > SHIFT_LIMIT else shift


def harmonise(sr: np.ndarray, hr: np.ndarray) -> np.ndarray:
    """``sr`` histogram-matched to ``hr`` band by band, then moved (bilinear, edges repeated) by the
    phase-correlation shift of its band mean onto ``hr``'s."""
    from skimage.exposure import match_histograms

    matched = match_histograms(sr, hr, channel_axis=-1)
    shift = pcc_shift(hr.mean(axis=-1), matched.mean(axis=-1))
    if shift is None:
        return matched
    return np.stack([spline_shift(matched[..., b], shift, order=1, mode="nearest")
                     for b in range(matched.shape[-1])], axis=-1)


def _crop(image: np.ndarray, border: int) -> np.ndarray:
    return image[border:-border, border:-border] if border else image


def _angles_degrees(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def _nd(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per pixel, the band mean of |x - y| / |x + y| (the normalised difference)."""
    return np.mean(np.abs(x - y) / np.abs(x + y + 1e-8), axis=-1)


def correctness(harmonised: np.ndarray, lr_up: np.ndarray, hr: np.ndarray):
    """(improvement, omission, hallucination): mean soft-min memberships over the pixels where any distance
    passes the 75th percentile of the LR-vs-HR one."""
    d_ref, d_im, d_om = _nd(lr_up, hr), _nd(harmonised, hr), _nd(harmonised, lr_up)
    flat = np.sort(d_ref.ravel())
    threshold = flat[max(int(QUANTILE * flat.size), 1) - 1]
    kept = (d_ref > threshold) | (d_im > threshold) | (d_om > threshold)
    if not kept.any():
        return math.nan, math.nan, math.nan
    a, b = d_im[kept] / d_ref[kept], d_om[kept] / d_ref[kept]
    grow = 1.0 - np.exp(-SCORE_LAMBDA * (a + b - 1.0))
    scores = np.stack([a + b * grow, b + a * grow, np.exp(-SCORE_LAMBDA * a * b)])
    weights = np.exp(-scores / TEMPERATURE)
    weights /= weights.sum(axis=0)
    return tuple(float(np.nanmean(w)) for w in weights)


def opensr_figures(lr: np.ndarray, sr: np.ndarray, hr: Optional[np.ndarray] = None,
                   border: int = BORDER) -> OpensrFigures:
    """opensr-test's figures of ``sr`` (the super-resolution of ``lr``), with the reference ``hr`` for
    synthesis and correctness. Images (rows, columns, bands), factor = ``sr`` width / ``lr`` width."""
    lr, sr = np.asarray(lr, np.float64), np.asarray(sr, np.float64)
    factor = sr.shape[1] // lr.shape[1]
    lr_border = -(-border // factor)  # whole LR pixels, so that the crops stay aligned at any factor
    border = lr_border * factor
    lr_c, sr_c = _crop(lr, lr_border), _crop(sr, border)
    back = bilinear_down(sr_c, factor)
    reflectance = float(np.nanmean(np.abs(lr_c - back)))
    spectral = float(np.nanmean(_angles_degrees(lr_c, back)))
    shift = pcc_shift(back[..., :3].mean(axis=-1), lr_c[..., :3].mean(axis=-1))
    spatial = float(np.hypot(*shift)) if shift is not None else math.nan
    if hr is None:
        return OpensrFigures(reflectance, spectral, spatial)
    hr_c = _crop(np.asarray(hr, np.float64), border)
    harmonised, lr_up = harmonise(sr_c, hr_c), bilinear_up(lr_c, factor)
    synthesis = float(np.nanmean(np.abs(harmonised - lr_up)))
    return OpensrFigures(reflectance, spectral, spatial, synthesis, *correctness(harmonised, lr_up, hr_c))
