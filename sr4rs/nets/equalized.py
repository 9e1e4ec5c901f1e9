"""Convolutions with an equalised learning rate (Karras et al. 2018), the layers SR4RS builds its networks from.

Each weight is stored as drawn from N(0, 1) and multiplied, when the layer runs, by He's constant
``gain / sqrt(fan_in)`` (``fan_in`` = kernel height x width x input channels, ``gain`` = sqrt 2). The optimiser
therefore updates every weight on the same scale, and a network's variables hold exactly the values of SR4RS's
variables of the same name (so SR4RS checkpoints load as they are, optimiser moments included).

Two strided forms have no bias, as in SR4RS: ``EqUpConv2D`` is a x2 transposed convolution whose k x k kernel
is first widened to (k + 1) x (k + 1) by summing its four one-pixel shifts (k = 3: a 4 x 4 kernel, so that every
output pixel receives the same number of taps), and ``EqDownConv2D`` is the matching stride-2 convolution
(the four shifts averaged).
"""
from __future__ import annotations

import math

import keras
import tensorflow as tf

GAIN = math.sqrt(2.0)


def _shift_sum(w):
    """(k + 1) x (k + 1) kernel: the sum of ``w`` (k x k x a x b) placed at its four one-pixel offsets."""
    w = tf.pad(w, [[1, 1], [1, 1], [0, 0], [0, 0]])
    return tf.add_n([w[1:, 1:], w[:-1, 1:], w[1:, :-1], w[:-1, :-1]])


class _Equalized(keras.layers.Layer):
    """A k x k kernel (k x k x in x out, N(0, 1) at start) used times He's constant; optional bias."""

    use_bias = True

    def __init__(self, filters: int, kernel_size: int, gain: float = GAIN, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.gain = int(filters), int(kernel_size), float(gain)

    def build(self, input_shape):
        k, fan_in = self.kernel_size, self.kernel_size * self.kernel_size * int(input_shape[-1])
        self.scale = self.gain / math.sqrt(fan_in)
        self.kernel = self.add_weight(name="kernel", shape=(k, k, int(input_shape[-1]), self.filters),
                                      initializer=keras.initializers.RandomNormal(0.0, 1.0))
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size, "gain": self.gain}


@keras.saving.register_keras_serializable("sr4rs")
class EqConv2D(_Equalized):
    """A "same" stride-1 convolution with bias."""

    def call(self, x):
        y = tf.nn.conv2d(x, self.kernel * self.scale, [1, 1, 1, 1], "SAME")
        return y + tf.reshape(self.bias, [1, 1, 1, -1])


@keras.saving.register_keras_serializable("sr4rs")
class EqUpConv2D(_Equalized):
    """x2 transposed convolution with the shift-summed (k + 1) x (k + 1) kernel, "same" padding, no bias."""

    use_bias = False

    def call(self, x):
        w = _shift_sum(tf.transpose(self.kernel * self.scale, [0, 1, 3, 2]))  # conv2d_transpose wants k x k x out x in
        s = tf.shape(x)
        return tf.nn.conv2d_transpose(x, w, tf.stack([s[0], 2 * s[1], 2 * s[2], self.filters]), [1, 2, 2, 1], "SAME")


@keras.saving.register_keras_serializable("sr4rs")
class EqDownConv2D(_Equalized):
    """Stride-2 "same" convolution with the averaged (k + 1) x (k + 1) kernel, no bias."""

    use_bias = False

    def call(self, x):
        return tf.nn.conv2d(x, _shift_sum(self.kernel * self.scale) * 0.25, [1, 2, 2, 1], "SAME")


def binomial_down2(x):
    """The [1 2 1] x [1 2 1] / 16 blur sampled every second pixel ("same" padding): SR4RS's x2 target."""
    import numpy as np

    k = np.outer([1.0, 2.0, 1.0], [1.0, 2.0, 1.0]) / 16.0
    kernel = tf.tile(tf.constant(k, x.dtype)[:, :, None, None], [1, 1, tf.shape(x)[-1], 1])
    return tf.nn.depthwise_conv2d(x, kernel, [1, 2, 2, 1], "SAME")
