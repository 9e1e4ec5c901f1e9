"""Layers computed from a neighbourhood of each pixel, so that a model's result does not depend on where a
tile starts: local band means (the scale a network's inputs are divided by and its corrections multiplied
by, so that a band's gain, a season's or a product level's, does not change what the network sees), and a
local linear regression of coarse bands on fine ones (the guided filter of He et al. 2013, with several
guide bands), a classical fusion that adapts to each scene and each place by construction."""
from __future__ import annotations

import keras
import tensorflow as tf

from .consistency import degrade, mirror_pad


def box_mean(x, radius: int):
    """The mean over the (2 radius + 1)^2 window around each pixel, edges mirrored."""
    if radius == 0:
        return x
    x = mirror_pad(x, radius)
    return tf.nn.avg_pool2d(x, 2 * radius + 1, 1, "VALID")


@keras.saving.register_keras_serializable("sr4rs")
class Ratio(keras.layers.Layer):
    """``[a, b]`` -> ``a / b``."""

    def call(self, inputs):
        return inputs[0] / inputs[1]


@keras.saving.register_keras_serializable("sr4rs")
class LocalScale(keras.layers.Layer):
    """Each band's mean over a window of ``radius`` pixels of its own grid, plus ``floor`` (in the network's
    units: it keeps dark water from dividing by almost nothing)."""

    def __init__(self, radius: int, floor: float, **kwargs):
        super().__init__(**kwargs)
        self.radius, self.floor = int(radius), float(floor)

    def call(self, x):
        return tf.abs(box_mean(x, self.radius)) + self.floor

    def get_config(self):
        return {**super().get_config(), "radius": self.radius, "floor": self.floor}


@keras.saving.register_keras_serializable("sr4rs")
class LocalSpread(keras.layers.Layer):
    """Each band's standard deviation over a window of ``radius`` pixels of its own grid, plus ``floor`` (in
    the network's units: a flat patch of water keeps a scale)."""

    def __init__(self, radius: int, floor: float, **kwargs):
        super().__init__(**kwargs)
        self.radius, self.floor = int(radius), float(floor)

    def call(self, x):
        mean = box_mean(x, self.radius)
        return tf.sqrt(tf.maximum(box_mean(tf.square(x), self.radius) - tf.square(mean), 0.0)) + self.floor

    def get_config(self):
        return {**super().get_config(), "radius": self.radius, "floor": self.floor}


@keras.saving.register_keras_serializable("sr4rs")
class LocalMean(keras.layers.Layer):
    """Each band's mean over a window of ``radius`` pixels of its own grid."""

    def __init__(self, radius: int, **kwargs):
        super().__init__(**kwargs)
        self.radius = int(radius)

    def call(self, x):
        return box_mean(x, self.radius)

    def get_config(self):
        return {**super().get_config(), "radius": self.radius}


@keras.saving.register_keras_serializable("sr4rs")
class LocalRegression(keras.layers.Layer):
    """``[guides, coarse]`` -> ``coarse`` on the guides' grid: each coarse band regressed, over windows of
    ``radius`` coarse pixels, on the guide bands degraded to the coarse grid (blur ``sigma``, ``factor``
    blocks), the coefficients averaged over the same windows, brought to the fine grid and applied to the
    guides there. ``eps`` regularises each window's regression, relative to its guides' variance (a flat
    window falls back to its mean)."""

    def __init__(self, factor: int, sigma: float, radius: int = 3, eps: float = 0.01, **kwargs):
        super().__init__(**kwargs)
        self.factor, self.sigma, self.radius, self.eps = int(factor), float(sigma), int(radius), float(eps)

    def call(self, inputs):
        # In float64, as sr4rs.nets.consistency's back-projection: covariances are differences of close values.
        guides, coarse = (tf.cast(t, tf.float64) for t in inputs)
        g = degrade(guides, self.factor, self.sigma)
        n = tf.shape(g)[-1]
        mg, my = box_mean(g, self.radius), box_mean(coarse, self.radius)
        outer = g[..., :, None] * g[..., None, :]
        cross = g[..., :, None] * coarse[..., None, :]
        shape = lambda t: tf.shape(t)  # noqa: E731
        cov = tf.reshape(box_mean(tf.reshape(outer, tf.concat([shape(g)[:3], [-1]], 0)), self.radius),
                         tf.shape(outer)) - mg[..., :, None] * mg[..., None, :]
        cxy = tf.reshape(box_mean(tf.reshape(cross, tf.concat([shape(g)[:3], [-1]], 0)), self.radius),
                         tf.shape(cross)) - mg[..., :, None] * my[..., None, :]
        scale = tf.linalg.trace(cov)[..., None, None] / tf.cast(n, cov.dtype)
        ridge = (self.eps * scale + 1e-12) * tf.eye(n, dtype=cov.dtype)
        a = tf.linalg.solve(cov + ridge, cxy)  # (N, h, w, G, B)
        b = my - tf.einsum("...gb,...g->...b", a, mg)
        a = box_mean(tf.reshape(a, tf.concat([shape(g)[:3], [-1]], 0)), self.radius)
        b = box_mean(b, self.radius)
        size = tf.shape(guides)[1:3]
        a = tf.reshape(tf.cast(tf.image.resize(a, size, method="bilinear"), a.dtype), tf.concat([tf.shape(guides), [-1]], 0))
        b = tf.cast(tf.image.resize(b, size, method="bilinear"), b.dtype)
        return tf.cast(tf.einsum("...gb,...g->...b", a, guides) + b, self.compute_dtype)

    def reach(self) -> float:
        """Fine pixels an output pixel sees: two windows and bilinear's pixel on the coarse grid, the blur."""
        return (2 * self.radius + 2) * self.factor + 4 * self.sigma + 1

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "sigma": self.sigma, "radius": self.radius,
                "eps": self.eps}
