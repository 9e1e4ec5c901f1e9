"""Quality figures of a super-resolved image against a reference (PSNR, SSIM, RMSE, SAM, ERGAS) and,
without one, its consistency with the LR input as ESA's opensr-test defines it (reflectance, spectral, spatial).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple, Union

import numpy as np
from scipy.ndimage import binary_erosion, maximum_filter
from scipy.ndimage import shift as spline_shift

from ..errors import InputError
from ..geo.degrade import block_mean
from ..geo.nodata import valid_pixels  # noqa: F401 (the one nodata rule, used by callers of these metrics)

# SSIM as Wang et al. (2004): Gaussian weights, sigma 1.5, population covariance.
# scikit-image then uses an 11-tap window: a pixel's SSIM depends on pixels up to 5 away.
SSIM_SIGMA = 1.5
SSIM_RADIUS = int(3.5 * SSIM_SIGMA + 0.5)
# Sub-pixel precision of the phase correlation (1/100 pixel) and refinement rounds.
SHIFT_UPSAMPLE = 100
SHIFT_ROUNDS = 3

DataRange = Union[None, float, Sequence[float], np.ndarray]

# Images are (H, W, C) arrays; ``mask`` is an optional (H, W) boolean array of the pixels to count.
# Whole-array functions use scikit-image, imported on first use: its metrics pull in scipy.stats,
# seconds that a command failing on a bad path should not wait. ScoreSums and ConsistencySums hold
# the same figures as sums that add up block by block, so a scene of any size fits in bounded memory.


@dataclass(frozen=True)
class Figure:
    """One figure over all bands and, in band order, per band."""

    overall: float
    bands: Tuple[float, ...]


@dataclass(frozen=True)
class Scores:
    """A test image against its reference. SAM in degrees; ``pixels`` counted (per band)."""

    psnr: Figure
    ssim: Figure
    rmse: Figure
    sam: float
    ergas: float
    pixels: int
    # Mean bias, in % of the reference's mean: (mean of the test - mean of the reference) / mean of the reference,
    # per band; overall: the band bias of largest magnitude (signed). None where not measured.
    bias: Optional[Figure] = None


@dataclass(frozen=True)
class Shift:
    """How far the SR image lies from the LR image, in LR pixels (+dy: down, +dx: right)."""

    magnitude: float
    dy: float
    dx: float


@dataclass(frozen=True)
class Consistency:
    """An SR image brought back to the LR grid against the LR image, by block means or by opensr-test's
    antialiased bilinear downsampling (the operator is recorded where the figures are reported).

    ``reflectance``: mean absolute difference (image units); ``spectral``: mean spectral angle
    (degrees); ``spatial``: the sub-pixel shift found by phase correlation; ``pixels``: LR pixels counted.
    """

    reflectance: Figure
    spectral: float
    spatial: Shift
    pixels: int


# --------------------------------------------------------------------------- helpers


def _as_image(array: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3:
        raise InputError(f"{name} has shape {array.shape}: give an (rows, columns, bands) array")
    return array.astype(np.float64, copy=False)


def _pair(reference, test) -> Tuple[np.ndarray, np.ndarray]:
    ref, tst = _as_image(reference, "reference"), _as_image(test, "test")
    if ref.shape != tst.shape:
        raise InputError(f"test image has shape {tst.shape} but the reference {ref.shape}: "
                         "compare images of the same size and band count")
    return ref, tst


def _mask(mask: Optional[np.ndarray], shape: Tuple[int, ...]) -> np.ndarray:
    if mask is None:
        return np.ones(shape[:2], dtype=bool)
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != tuple(shape[:2]):
        raise InputError(f"mask has shape {mask.shape} but the images {tuple(shape[:2])}: "
                         "give one boolean per pixel")
    return mask


def _mean(total: float, count: int) -> float:
    return float(total / count) if count else math.nan


def evaluation_mask(valid: np.ndarray, border: int) -> np.ndarray:
    """Valid pixels at least ``border`` pixels (chessboard distance) from an invalid pixel and from
    the image edge, where every method works on mirrored or fill context."""
    valid = np.asarray(valid, dtype=bool)
    if border <= 0:
        return valid.copy()
    near_invalid = maximum_filter(~valid, size=2 * border + 1, mode="constant", cval=True)
    return ~near_invalid


def ssim_mask(mask: np.ndarray) -> np.ndarray:
    """The pixels of ``mask`` whose whole SSIM window lies in ``mask``."""
    size = 2 * SSIM_RADIUS + 1
    return binary_erosion(mask, structure=np.ones((size, size), bool), border_value=0)


def data_range(reference: np.ndarray, mask: Optional[np.ndarray] = None) -> np.ndarray:
    """Per band, max - min of the reference's counted pixels: the PSNR and SSIM peak by default.
    A constant band gets 1 (it has no range, and 0 would make PSNR meaningless)."""
    ref = _as_image(reference, "reference")
    values = ref[_mask(mask, ref.shape)]
    if not len(values):
        return np.ones(ref.shape[-1])
    span = values.max(axis=0) - values.min(axis=0)
    return np.where(span > 0, span, 1.0)


def _ranges(value: DataRange, reference: np.ndarray, mask: np.ndarray) -> np.ndarray:
    nbands = reference.shape[-1]
    if value is None:
        return data_range(reference, mask)
    ranges = np.broadcast_to(np.asarray(value, dtype=np.float64), (nbands,)) if np.ndim(value) == 0 \
        else np.asarray(value, dtype=np.float64)
    if ranges.shape != (nbands,) or np.any(ranges <= 0):
        raise InputError(f"data range {value!r} must be one positive number or one per band ({nbands})")
    return ranges


def spectral_angles(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle in radians between the spectra (last axis) of ``a`` and ``b``; NaN where one is zero.

    Kahan's form 2*atan2(|u - v|, |u + v|) of unit vectors stays exact near 0, where
    arccos(u.v) loses half its digits: identical spectra give exactly 0.
    """
    na = np.linalg.norm(a, axis=-1, keepdims=True)
    nb = np.linalg.norm(b, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        u, v = a / na, b / nb
        angles = 2.0 * np.arctan2(np.linalg.norm(u - v, axis=-1), np.linalg.norm(u + v, axis=-1))
    angles[(na[..., 0] == 0) | (nb[..., 0] == 0)] = np.nan
    return angles


def _psnr_from_mse(mse: float, peak: float) -> float:
    """scikit-image's formula, for MSEs accumulated block by block; an exact reproduction (MSE 0) has an
    infinite PSNR, as the metric libraries report it."""
    if math.isnan(mse):
        return math.nan
    return math.inf if mse == 0 else float(10.0 * np.log10(peak ** 2 / mse))


def ergas_from(rmse_bands: Sequence[float], mean_bands: Sequence[float], factor: float) -> float:
    """ERGAS (Wald 2002, "Data Fusion", p. 165): 100 / factor * sqrt(mean_b(RMSE_b^2 / mean_b^2)),
    with ``mean_b`` the reference's band mean and ``factor`` the HR/LR resolution ratio (e.g. 4)."""
    rmse_bands, mean_bands = np.asarray(rmse_bands, float), np.asarray(mean_bands, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(100.0 / factor * np.sqrt(np.mean(rmse_bands ** 2 / mean_bands ** 2)))


def _ssim_map(reference_band: np.ndarray, test_band: np.ndarray, peak: float) -> Optional[np.ndarray]:
    from skimage.metrics import structural_similarity

    if min(reference_band.shape) < 2 * SSIM_RADIUS + 1:
        return None  # smaller than one window
    _, smap = structural_similarity(reference_band, test_band, data_range=peak, gaussian_weights=True,
                                    sigma=SSIM_SIGMA, use_sample_covariance=False, full=True)
    return smap


# --------------------------------------------------------------------------- whole arrays


def psnr(reference, test, mask=None, data_range: DataRange = None) -> Figure:
    """Peak signal-to-noise ratio in dB per band (``data_range``: one peak or one per band; default
    the reference's max - min per band); overall: the mean of the bands'. Identical bands: inf."""
    from skimage.metrics import peak_signal_noise_ratio

    ref, tst = _pair(reference, test)
    mask = _mask(mask, ref.shape)
    peaks = _ranges(data_range, ref, mask)
    bands = []
    for b, peak in enumerate(peaks):
        with np.errstate(divide="ignore"):  # identical bands: MSE 0, PSNR inf
            bands.append(float(peak_signal_noise_ratio(ref[..., b][mask], tst[..., b][mask], data_range=peak))
                         if mask.any() else math.nan)
    return Figure(float(np.mean(bands)), tuple(bands))


def ssim(reference, test, mask=None, data_range: DataRange = None) -> Figure:
    """Structural similarity per band as Wang et al. (2004), averaged over the pixels of ``mask``
    whose whole 11 x 11 window lies in ``mask``; overall: the mean of the bands'."""
    ref, tst = _pair(reference, test)
    mask = _mask(mask, ref.shape)
    peaks = _ranges(data_range, ref, mask)
    inner = ssim_mask(mask)
    bands = []
    for b, peak in enumerate(peaks):
        smap = _ssim_map(ref[..., b], tst[..., b], peak)
        bands.append(float(smap[inner].mean()) if smap is not None and inner.any() else math.nan)
    return Figure(float(np.mean(bands)), tuple(bands))


def rmse(reference, test, mask=None) -> Figure:
    """Root mean square error per band; overall: over all bands' values."""
    ref, tst = _pair(reference, test)
    diff = (tst - ref)[_mask(mask, ref.shape)]
    if not len(diff):
        return Figure(math.nan, (math.nan,) * ref.shape[-1])
    return Figure(float(np.sqrt(np.mean(diff ** 2))), tuple(float(v) for v in np.sqrt(np.mean(diff ** 2, axis=0))))


def sam(reference, test, mask=None) -> float:
    """Spectral angle mapper: mean angle between the spectra, in degrees (pixels with a zero
    spectrum are left out)."""
    ref, tst = _pair(reference, test)
    mask = _mask(mask, ref.shape)
    angles = spectral_angles(ref[mask], tst[mask])
    angles = angles[np.isfinite(angles)]
    return float(np.degrees(angles.mean())) if len(angles) else math.nan


def ergas(reference, test, factor: float, mask=None) -> float:
    """ERGAS (Wald 2002): 100 / factor * sqrt(mean_b(RMSE_b^2 / mean_b^2)); 0 for identical images."""
    ref, tst = _pair(reference, test)
    mask = _mask(mask, ref.shape)
    return ergas_from(rmse(ref, tst, mask).bands, ref[mask].mean(axis=0), factor)


def compare(reference, test, factor: float, mask=None, data_range: DataRange = None) -> Scores:
    """All figures of ``test`` against ``reference``."""
    ref, tst = _pair(reference, test)
    mask = _mask(mask, ref.shape)
    return Scores(psnr=psnr(ref, tst, mask, data_range), ssim=ssim(ref, tst, mask, data_range),
                  rmse=rmse(ref, tst, mask), sam=sam(ref, tst, mask), ergas=ergas(ref, tst, factor, mask),
                  pixels=int(mask.sum()))


# --------------------------------------------------------------------------- consistency with the LR input


def _to_lr(sr, lr, factor: int, mask) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SR averaged over ``factor`` x ``factor`` blocks (``block_mean``, in float32: about 1e-7 relative
    precision), the LR image, and the LR mask."""
    sr, lr = _as_image(sr, "SR image"), _as_image(lr, "LR image")
    expected = (lr.shape[0] * factor, lr.shape[1] * factor, lr.shape[2])
    if sr.shape != expected:
        raise InputError(f"SR image has shape {sr.shape} but the LR image x{factor} is {expected}: "
                         "give the SR image of this LR image")
    return block_mean(sr, factor).astype(np.float64), lr, _mask(mask, lr.shape)


def reflectance_consistency(sr, lr, factor: int, mask=None) -> Figure:
    """Mean absolute difference between SR block-averaged to the LR grid and LR, per band and over
    all bands (``mask`` on the LR grid). A nearest-neighbour upsampling scores 0."""
    back, lr, mask = _to_lr(sr, lr, factor, mask)
    diff = np.abs(back - lr)[mask]
    if not len(diff):
        return Figure(math.nan, (math.nan,) * lr.shape[-1])
    return Figure(float(diff.mean()), tuple(float(v) for v in diff.mean(axis=0)))


def spectral_consistency(sr, lr, factor: int, mask=None) -> float:
    """Mean spectral angle (degrees) between SR block-averaged to the LR grid and LR."""
    back, lr, mask = _to_lr(sr, lr, factor, mask)
    return sam(lr, back, mask)


def _registration_image(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Band mean, holes filled with the mean, tapered by a Hann window so that the periodic
    borders of the FFT do not read as edges."""
    from skimage.filters import window as apodization_window

    plane = image.mean(axis=-1)
    plane = np.where(mask, plane, plane[mask].mean()) - plane[mask].mean()
    return plane * apodization_window("hann", plane.shape)


def estimate_shift(moving: np.ndarray, reference: np.ndarray, mask: Optional[np.ndarray] = None) -> Shift:
    """Sub-pixel displacement of ``moving`` relative to ``reference`` (both (H, W, C), same grid).

    scikit-image's phase_cross_correlation (upsampled DFT, Guizar-Sicairos et al. 2008), unnormalised:
    phase normalisation weights aliased high frequencies as much as the well-sampled low ones.
    Its sub-pixel peak is biased towards whole pixels, so ``reference`` is resampled (cubic spline)
    to the estimate and the residual measured again, ``SHIFT_ROUNDS`` times in all; each round's
    residual is nearer 0, where the bias vanishes.
    """
    from skimage.registration import phase_cross_correlation

    moving, reference = _pair(reference=moving, test=reference)
    mask = _mask(mask, moving.shape) & np.isfinite(moving).all(axis=-1) & np.isfinite(reference).all(axis=-1)
    if mask.sum() < 4:
        return Shift(math.nan, math.nan, math.nan)
    target = _registration_image(moving, mask)
    plane = reference.mean(axis=-1)
    plane = np.where(mask, plane, plane[mask].mean())  # a spline would spread any hole over the image
    if not target.any() or np.ptp(plane[mask]) == 0:
        return Shift(math.nan, math.nan, math.nan)  # a flat image has no position to find
    total = np.zeros(2)
    for _ in range(SHIFT_ROUNDS):
        shifted = spline_shift(plane, total, order=3, mode="nearest") if total.any() else plane
        step, _, _ = phase_cross_correlation(target, _registration_image(shifted[..., None], mask),
                                             upsample_factor=SHIFT_UPSAMPLE, normalization=None)
        total += step
    dy, dx = (float(v) for v in np.round(total, 4))
    return Shift(float(math.hypot(dy, dx)), dy, dx)


def spatial_consistency(sr, lr, factor: int, mask=None) -> Shift:
    """Shift of SR block-averaged to the LR grid relative to LR, in LR pixels (``mask`` on the LR grid)."""
    back, lr, mask = _to_lr(sr, lr, factor, mask)
    return estimate_shift(back, lr, mask)


def consistency(sr, lr, factor: int, mask=None) -> Consistency:
    """Reflectance, spectral and spatial consistency of ``sr`` with the ``lr`` image it came from."""
    back, lr, mask = _to_lr(sr, lr, factor, mask)
    sums = ConsistencySums.of_block(back, lr, 1, mask)
    return sums.consistency(estimate_shift(back, lr, mask))


# --------------------------------------------------------------------------- block-wise sums


@dataclass(frozen=True, eq=False)
class ScoreSums:
    """Sums from which ``Scores`` follow; ``a + b`` pools two blocks (or two scenes)."""

    pixels: int
    squared_error: np.ndarray  # per band
    reference_sum: np.ndarray  # per band, for ERGAS's band means
    angle_sum: float  # radians
    angle_pixels: int
    ssim_sum: np.ndarray  # per band
    ssim_pixels: int
    test_sum: Optional[np.ndarray] = None  # per band, for the mean bias

    @classmethod
    def empty(cls, nbands: int) -> "ScoreSums":
        zeros = np.zeros(nbands)
        return cls(0, zeros, zeros, 0.0, 0, zeros, 0, zeros)

    @classmethod
    def of_block(cls, reference, test, mask, peaks: Sequence[float],
                 ssim_pixels: Optional[np.ndarray] = None) -> "ScoreSums":
        """Sums over one block. ``peaks``: the data range per band, fixed for the whole scene.
        ``ssim_pixels``: where SSIM is counted (default ``ssim_mask(mask)``); pass it when the block
        carries a halo of context rows that ``mask`` leaves out, so that the blocks' windows see
        the same pixels as one whole-image window would."""
        ref, tst = _pair(reference, test)
        mask = _mask(mask, ref.shape)
        inner = ssim_mask(mask) if ssim_pixels is None else _mask(ssim_pixels, ref.shape)
        diff = (tst - ref)[mask]
        angles = spectral_angles(ref[mask], tst[mask])
        angles = angles[np.isfinite(angles)]
        ssim_sum = np.zeros(ref.shape[-1])
        if inner.any():
            for b, peak in enumerate(peaks):
                smap = _ssim_map(ref[..., b], tst[..., b], peak)
                ssim_sum[b] = smap[inner].sum() if smap is not None else math.nan
        return cls(int(mask.sum()), (diff ** 2).sum(axis=0), ref[mask].sum(axis=0),
                   float(angles.sum()), len(angles), ssim_sum, int(inner.sum()), tst[mask].sum(axis=0))

    def __add__(self, other: "ScoreSums") -> "ScoreSums":
        tests = None if self.test_sum is None or other.test_sum is None else self.test_sum + other.test_sum
        return ScoreSums(self.pixels + other.pixels, self.squared_error + other.squared_error,
                         self.reference_sum + other.reference_sum, self.angle_sum + other.angle_sum,
                         self.angle_pixels + other.angle_pixels, self.ssim_sum + other.ssim_sum,
                         self.ssim_pixels + other.ssim_pixels, tests)

    def bias(self) -> Optional[Figure]:
        """The mean bias per band, in % of the reference's mean (see ``Scores.bias``)."""
        if self.test_sum is None or not self.pixels:
            return None
        with np.errstate(divide="ignore", invalid="ignore"):
            bands = tuple(float(v) for v in 100.0 * (self.test_sum - self.reference_sum) / self.reference_sum)
        finite = [b for b in bands if math.isfinite(b)]
        return Figure(max(finite, key=abs) if finite else math.nan, bands)

    def scores(self, factor: float, peaks: Sequence[float]) -> Scores:
        n = self.pixels
        mse = self.squared_error / n if n else np.full(len(self.squared_error), math.nan)
        rmse_bands = np.sqrt(mse)
        psnr_bands = tuple(_psnr_from_mse(float(m), float(p)) for m, p in zip(mse, peaks))
        ssim_bands = tuple(_mean(s, self.ssim_pixels) for s in self.ssim_sum)
        return Scores(
            psnr=Figure(float(np.mean(psnr_bands)), psnr_bands),
            ssim=Figure(float(np.mean(ssim_bands)), ssim_bands),
            rmse=Figure(float(np.sqrt(np.mean(mse))), tuple(float(v) for v in rmse_bands)),
            sam=float(np.degrees(_mean(self.angle_sum, self.angle_pixels))),
            ergas=ergas_from(rmse_bands, self.reference_sum / n, factor) if n else math.nan,
            pixels=n, bias=self.bias())


@dataclass(frozen=True, eq=False)
class ConsistencySums:
    """Sums for the reflectance and spectral consistency; ``a + b`` pools two blocks."""

    pixels: int
    absolute_error: np.ndarray  # per band
    angle_sum: float
    angle_pixels: int

    @classmethod
    def empty(cls, nbands: int) -> "ConsistencySums":
        return cls(0, np.zeros(nbands), 0.0, 0)

    @classmethod
    def of_block(cls, sr, lr, factor: int, mask=None, operator: str = "block", context: int = 0) -> "ConsistencySums":
        """Sums over one block: ``sr`` covers the ``lr`` block x ``factor`` (and ``context`` LR pixels more on
        every side, which the ``bilinear`` operator's triangle filter reaches into); ``mask`` is on the LR
        grid. ``operator``: how SR is brought to the LR grid: ``block`` means, or opensr-test's antialiased
        ``bilinear`` downsampling."""
        if operator == "bilinear":
            from .opensr import bilinear_down

            c = context
            back = bilinear_down(_as_image(sr, "SR image"), factor)
            back = back[c:back.shape[0] - c, c:back.shape[1] - c]
            lr = _as_image(lr, "LR image")
            mask = _mask(mask, lr.shape)
        else:
            sr = _as_image(sr, "SR image")
            if context:
                sr = sr[context * factor:sr.shape[0] - context * factor, context * factor:sr.shape[1] - context * factor]
            back, lr, mask = _to_lr(sr, lr, factor, mask)
        angles = spectral_angles(lr[mask], back[mask])
        angles = angles[np.isfinite(angles)]
        return cls(int(mask.sum()), np.abs(back - lr)[mask].sum(axis=0), float(angles.sum()), len(angles))

    def __add__(self, other: "ConsistencySums") -> "ConsistencySums":
        return ConsistencySums(self.pixels + other.pixels, self.absolute_error + other.absolute_error,
                               self.angle_sum + other.angle_sum, self.angle_pixels + other.angle_pixels)

    def consistency(self, spatial: Shift) -> Consistency:
        bands = tuple(_mean(e, self.pixels) for e in self.absolute_error)
        return Consistency(Figure(float(np.mean(bands)), bands),
                           float(np.degrees(_mean(self.angle_sum, self.angle_pixels))), spatial, self.pixels)
