"""Custom Keras layers shared by the networks (each with ``get_config``), and small helpers."""
from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf


@keras.saving.register_keras_serializable("sr4rs")
class PixelNorm(keras.layers.Layer):
    """Normalise each pixel's feature vector to unit mean square (progressive GANs)."""

    def call(self, x):
        return x * tf.math.rsqrt(tf.reduce_mean(tf.square(x), axis=-1, keepdims=True) + 1e-8)


@keras.saving.register_keras_serializable("sr4rs")
class Blur(keras.layers.Layer):
    """A fixed [1 2 1] x [1 2 1] / 16 low-pass filter, applied per channel (anti-aliasing)."""

    def call(self, x):
        k = np.outer([1.0, 2.0, 1.0], [1.0, 2.0, 1.0]) / 16.0
        # in the input's type: float16 or bfloat16 under a mixed precision policy
        kernel = tf.tile(tf.constant(k, x.dtype)[:, :, None, None], [1, 1, tf.shape(x)[-1], 1])
        return tf.nn.depthwise_conv2d(x, kernel, [1, 1, 1, 1], "SAME")


@keras.saving.register_keras_serializable("sr4rs")
class MinibatchStd(keras.layers.Layer):
    """Append one channel: the standard deviation of each feature across a group of ``group_size`` images,
    averaged over features and pixels (a discriminator's cue to diversity; Karras et al. 2018). Image ``n``
    of a batch of ``N`` belongs to the group of the images ``n mod N / G`` (G = the group size, lowered to
    the largest divisor of ``N`` not above it), as in SR4RS, whose group size is 4."""

    def __init__(self, group_size: int = 4, **kwargs):
        super().__init__(**kwargs)
        self.group_size = int(group_size)

    def call(self, x):
        n = tf.shape(x)[0]
        sizes = tf.range(self.group_size, 0, -1)
        g = sizes[tf.argmax(tf.cast((sizes <= n) & (n % sizes == 0), tf.int32))]
        y = tf.reshape(x, tf.concat([[g, -1], tf.shape(x)[1:]], axis=0))
        y = tf.sqrt(tf.reduce_mean(tf.square(y - tf.reduce_mean(y, axis=0, keepdims=True)), axis=0) + 1e-8)
        y = tf.reduce_mean(y, axis=[1, 2, 3], keepdims=True)
        y = tf.tile(y, tf.stack([g, tf.shape(x)[1], tf.shape(x)[2], 1]))
        return tf.concat([x, y], axis=-1)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size}


class _ByFactor(keras.layers.Layer):
    """A layer configured by one integer ``factor``."""

    def __init__(self, factor, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@keras.saving.register_keras_serializable("sr4rs")
class DepthToSpace(_ByFactor):
    """Sub-pixel convolution's pixel shuffle."""

    def call(self, x):
        return tf.nn.depth_to_space(x, self.factor)


@keras.saving.register_keras_serializable("sr4rs")
class Resize(keras.layers.Layer):
    """Bicubic (or other) resize by an integer factor, times ``gain``."""

    def __init__(self, factor, method="bicubic", gain=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor, self.method, self.gain = factor, method, gain

    def call(self, x):
        size = tf.shape(x)[1:3] * self.factor
        return tf.image.resize(x, size, method=self.method) * self.gain

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "method": self.method, "gain": self.gain}


@keras.saving.register_keras_serializable("sr4rs")
class AvgDown(_ByFactor):
    """Average ``factor`` x ``factor`` blocks (an HR image on a coarser grid)."""

    def call(self, x):
        if self.factor == 1:
            return x
        return tf.nn.avg_pool2d(x, self.factor, self.factor, "VALID")


def n_stages(scale: int) -> int:
    """Number of x2 upsampling stages for ``scale`` (a power of two)."""
    stages = int(round(math.log2(scale)))
    if scale < 2 or 2 ** stages != scale:
        raise ValueError(f"scale must be a power of two >= 2, received scale={scale}")
    return stages


def lrelu(x):
    return keras.layers.LeakyReLU(0.2)(x)


def conv(x, filters: int, kernel: int, name: str, **kwargs):
    """A named "same" convolution."""
    return keras.layers.Conv2D(filters, kernel, padding="same", name=name, **kwargs)(x)
