"""Layers that tie a network's estimate to its coarse input: the degradation a model assumes (a Gaussian
blur then the mean of each coarse pixel's block, Wald's protocol; sigma 0 is the block mean alone), and
the iterative back-projection (Irani and Peleg 1991) that makes an estimate consistent with it, spreading
each coarse pixel's residual smoothly (bilinear) rather than over its own block alone.

Spread bilinearly and degraded again, a coarse residual comes back filtered by a fixed kernel (a
convolution on the coarse grid: the blur, the block mean and bilinear weights are the same for every
coarse pixel) whose response falls to about 0.3 at the coarse Nyquist frequency with Wald's blur, so plain
back-projection needs tens of steps. Each step here first filters the residual by a short symmetric
inverse of that kernel (least squares over frequencies, computed once from the factor and the blur), which
leaves at most about 1 % of the residual per step: three steps bring the estimate to its input within
rounding."""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from ..geo.degrade import GAUSS_TRUNCATE


def gaussian_taps(sigma: float) -> np.ndarray:
    """The 1-D kernel of scipy's ``gaussian_filter`` (truncated at 4 sigma), which Wald's pairs are made with."""
    radius = int(GAUSS_TRUNCATE * sigma + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    taps = np.exp(-0.5 * (x / sigma) ** 2)
    return (taps / taps.sum()).astype(np.float32)


def mirror_pad(x, radius: int):
    """``x`` (N, H, W, C) extended by ``radius`` pixels on each side, mirrored as scipy's ``reflect`` does
    (again where the image is smaller than ``radius``: tiny training patches)."""
    zero = tf.zeros(2, tf.int32)
    for axis in (1, 2):
        left = tf.constant(radius)
        for _ in range(3):
            step = tf.minimum(left, tf.shape(x)[axis])
            pad = tf.stack([step, step])
            x = tf.pad(x, tf.stack([zero, pad if axis == 1 else zero, pad if axis == 2 else zero, zero]),
                       mode="SYMMETRIC")
            left = left - step
    return x


def degrade(x, factor: int, sigma: float):
    """(N, H, W, C) -> (N, H / factor, W / factor, C): blurred (edges mirrored, as scipy's ``reflect``), then
    block means. The same operator as ``geo.degrade.degrade``, in TensorFlow."""
    if sigma > 0:
        x = _filter(x, gaussian_taps(sigma))
    return x if factor == 1 else tf.nn.avg_pool2d(x, factor, factor, "VALID")


def _bilinear_1d(coarse: np.ndarray, factor: int) -> np.ndarray:
    centres = (np.arange(len(coarse) * factor) + 0.5) / factor - 0.5
    return np.interp(centres, np.arange(len(coarse)), coarse)


def _degrade_1d(fine: np.ndarray, factor: int, sigma: float) -> np.ndarray:
    if sigma > 0:
        fine = np.convolve(np.pad(fine, (r := (len(gaussian_taps(sigma)) - 1) // 2), mode="symmetric"),
                           gaussian_taps(sigma), mode="valid")
    return fine.reshape(-1, factor).mean(axis=1)


def inverse_taps(factor: int, sigma: float, half: int = 4) -> np.ndarray:
    """A symmetric filter of ``2 half + 1`` taps on the coarse grid whose product with the response of
    "spread bilinearly, then degrade" is closest to 1 at every frequency (least squares)."""
    n = 8 * half + 9
    delta = np.zeros(n)
    delta[n // 2] = 1.0
    kernel = _degrade_1d(_bilinear_1d(delta, factor), factor, sigma)[n // 2:]
    w = np.linspace(0.0, np.pi, 256)
    response = kernel[0] + 2 * sum(kernel[j] * np.cos(j * w) for j in range(1, len(kernel)))
    basis = np.stack([np.ones_like(w)] + [2 * np.cos(j * w) for j in range(1, half + 1)], axis=1)
    coef = np.linalg.lstsq(basis * response[:, None], np.ones_like(w), rcond=None)[0]
    return np.concatenate([coef[:0:-1], coef]).astype(np.float32)


def _filter(x, taps: np.ndarray):
    """``x`` (N, H, W, C) filtered by ``taps`` along rows and columns, edges mirrored."""
    r = (len(taps) - 1) // 2
    k = tf.constant(taps, x.dtype)
    channels = tf.shape(x)[-1]
    x = mirror_pad(x, r)
    x = tf.nn.depthwise_conv2d(x, tf.tile(k[:, None, None, None], [1, 1, channels, 1]), [1, 1, 1, 1], "VALID")
    return tf.nn.depthwise_conv2d(x, tf.tile(k[None, :, None, None], [1, 1, channels, 1]), [1, 1, 1, 1], "VALID")


def spread(residual, factor: int):
    """A coarse residual on the fine grid, bilinearly (pixel centres aligned), in the residual's dtype."""
    size = tf.shape(residual)[1:3] * factor
    return tf.cast(tf.image.resize(residual, size, method="bilinear"), residual.dtype)


@keras.saving.register_keras_serializable("sr4rs")
class BackProjection(keras.layers.Layer):
    """``[estimate, coarse]`` -> the estimate corrected ``iterations`` times by its residual against ``coarse``
    under the degradation (blur ``sigma`` in fine pixels, then ``factor`` x ``factor`` block means), filtered
    by ``inverse_taps`` and spread bilinearly. With ``sigma`` 0 a last step spreads what is left over each
    block evenly, so the block means of the result are ``coarse`` exactly; the smooth steps before leave that
    step almost nothing to do."""

    def __init__(self, factor: int, sigma: float = 0.0, iterations: int = 3, **kwargs):
        super().__init__(**kwargs)
        self.factor, self.sigma, self.iterations = int(factor), float(sigma), int(iterations)
        self.taps = inverse_taps(self.factor, self.sigma)

    def call(self, inputs):
        # In float64: residuals are differences of close values, and a runtime that turns a model's float32
        # operations into bfloat16 (sr4rs.model.bfloat16) leaves float64 ones alone.
        y, coarse = (tf.cast(t, tf.float64) for t in inputs)
        for _ in range(self.iterations):
            y = y + spread(_filter(coarse - degrade(y, self.factor, self.sigma), self.taps), self.factor)
        if self.sigma == 0:
            rest = coarse - degrade(y, self.factor, 0.0)
            y = y + tf.repeat(tf.repeat(rest, self.factor, axis=1), self.factor, axis=2)
        return tf.cast(y, self.compute_dtype)

    def reach(self) -> float:
        """How far (fine pixels) an output pixel sees, to float precision: one step's reach (the blur's, the
        inverse filter's, a block and bilinear's one coarse pixel). The steps after it correct a hundredth of
        what the first did, and reach no further in practice (measured: the same output to 1e-6 of its range
        with no reach counted for them)."""
        blur = int(GAUSS_TRUNCATE * self.sigma + 0.5) if self.sigma > 0 else 0
        taps = (len(self.taps) - 1) // 2
        return blur + (taps + 2) * self.factor + self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "sigma": self.sigma, "iterations": self.iterations}
