"""Generators and the multi-scale discriminator, as Keras builder functions.

Every generator takes normalised LR values (N, H, W, C) and returns a list of
HR estimates from the coarsest scale to the full resolution: for a factor of 4,
at 1/4, 1/2 and 1 of the HR resolution (SR4RS's multi-scale outputs).
"""
from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

ARCHS = ("sr4rs", "edsr")


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
        kernel = tf.tile(tf.constant(k, tf.float32)[:, :, None, None], [1, 1, tf.shape(x)[-1], 1])
        return tf.nn.depthwise_conv2d(x, kernel, [1, 1, 1, 1], "SAME")


@keras.saving.register_keras_serializable("sr4rs")
class MinibatchStd(keras.layers.Layer):
    """Append the batch's mean feature standard deviation as one channel (discriminator diversity cue)."""

    def call(self, x):
        std = tf.sqrt(tf.math.reduce_variance(x, axis=0) + 1e-8)
        feat = tf.reduce_mean(std)
        shape = tf.concat([tf.shape(x)[:-1], [1]], axis=0)
        return tf.concat([x, tf.fill(shape, feat)], axis=-1)


@keras.saving.register_keras_serializable("sr4rs")
class DepthToSpace(keras.layers.Layer):
    """Sub-pixel convolution's pixel shuffle."""

    def __init__(self, factor, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return tf.nn.depth_to_space(x, self.factor)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


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
class AvgDown(keras.layers.Layer):
    """Average ``factor`` x ``factor`` blocks (an HR image on a coarser grid)."""

    def __init__(self, factor, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        if self.factor == 1:
            return x
        return tf.nn.avg_pool2d(x, self.factor, self.factor, "VALID")

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def n_stages(scale: int) -> int:
    """Number of x2 upsampling stages for ``scale`` (a power of two)."""
    stages = int(round(math.log2(scale)))
    if scale < 2 or 2 ** stages != scale:
        raise ValueError(f"scale must be a power of two >= 2, received scale={scale}")
    return stages


def _lrelu(x):
    return keras.layers.LeakyReLU(0.2)(x)


def sr4rs_generator(nbands: int, scale: int = 4, depth: int = 64, nresblocks: int = 16,
                    out_bands: int = None) -> keras.Model:
    """SR4RS's generator: a residual encoder at LR resolution (9x9 convolution, ``nresblocks``
    blocks with pixel norm), then x2 stages (transposed convolution, blur, three
    convolutions), with a 1x1 output head at every scale."""
    out_bands = out_bands or nbands
    stages = n_stages(scale)
    conv = lambda x, f, k, name: keras.layers.Conv2D(f, k, padding="same", name=name,  # noqa: E731
                                                     kernel_initializer="he_normal")(x)
    inp = keras.Input((None, None, nbands), name="lr")
    net = _lrelu(conv(inp, depth, 9, "enc_conv9"))
    first = net
    for i in range(nresblocks):
        y = PixelNorm()(_lrelu(conv(net, depth, 3, f"res{i}_conv1")))
        y = PixelNorm()(conv(y, depth, 3, f"res{i}_conv2"))
        net = keras.layers.Add(name=f"res{i}_add")([net, y])
    net = PixelNorm()(conv(net, depth, 3, "enc_out"))
    net = keras.layers.Add(name="enc_skip")([net, first])
    outputs = [conv(net, out_bands, 1, f"out_x{scale}")]
    f = 4 * depth  # SR4RS widens to 4x depth in the upsampling stages
    for stage in range(stages):
        net = keras.layers.Conv2DTranspose(f, 3, strides=2, padding="same", name=f"up{stage}",
                                           kernel_initializer="he_normal")(net)
        net = PixelNorm()(_lrelu(Blur()(net)))
        last_kernel = 9 if stage == stages - 1 else 5
        for j, k in enumerate((3, 3, last_kernel)):
            net = PixelNorm()(_lrelu(conv(net, f, k, f"up{stage}_conv{j + 1}")))
        outputs.append(conv(net, out_bands, 1, f"out_x{scale // 2 ** (stage + 1)}"))
    return keras.Model(inp, outputs, name="sr4rs_generator")


def edsr_generator(nbands: int, scale: int = 4, depth: int = 32, nresblocks: int = 8,
                   out_bands: int = None, skip_gain: float = 1.0) -> keras.Model:
    """EDSR-style light generator (as Galar et al. used on Sentinel-2): residual blocks at
    LR resolution, one sub-pixel upsampling at the end, added to a bicubic upsampling of
    the input (``skip_gain`` converts LR to HR normalisation). Coarser outputs are block
    averages of the full one."""
    out_bands = out_bands or nbands
    stages = n_stages(scale)
    conv = lambda x, f, k, name: keras.layers.Conv2D(f, k, padding="same", name=name)(x)  # noqa: E731
    inp = keras.Input((None, None, nbands), name="lr")
    head = conv(inp, depth, 3, "head")
    net = head
    for i in range(nresblocks):
        y = conv(keras.layers.ReLU()(conv(net, depth, 3, f"res{i}_conv1")), depth, 3, f"res{i}_conv2")
        y = keras.layers.Rescaling(0.1, name=f"res{i}_scale")(y)
        net = keras.layers.Add(name=f"res{i}_add")([net, y])
    net = keras.layers.Add(name="body_skip")([head, conv(net, depth, 3, "body_out")])
    net = DepthToSpace(scale, name="shuffle")(conv(net, out_bands * scale * scale, 3, "upsample"))
    residual = conv(net, out_bands, 3, "tail")
    full = keras.layers.Add(name="out_x1")([Resize(scale, gain=skip_gain, name="bicubic")(inp), residual]) \
        if out_bands == nbands else residual
    outputs = [AvgDown(2 ** (stages - i), name=f"out_x{2 ** (stages - i)}")(full) for i in range(stages)]
    return keras.Model(inp, outputs + [full], name="edsr_generator")


def build_generator(arch: str, nbands: int, scale: int, depth: int, nresblocks: int,
                    skip_gain: float = 1.0) -> keras.Model:
    if arch == "sr4rs":
        return sr4rs_generator(nbands, scale, depth, nresblocks)
    if arch == "edsr":
        return edsr_generator(nbands, scale, depth, nresblocks, skip_gain=skip_gain)
    raise ValueError(f"unknown --arch '{arch}': choose one of {', '.join(ARCHS)}")


def receptive_radius_lr(arch: str, scale: int, nresblocks: int) -> float:
    """How far (in LR pixels) an output pixel sees; the default --pad covers it."""
    if arch == "edsr":
        return 1 + 2 * nresblocks + 1 + 1 + 1.0 / scale + 2  # head, blocks, body, upsample, tail, bicubic
    stages = n_stages(scale)
    return 4 + 2 * nresblocks + 1 + sum((1 + 1 + 1 + 1 + 4) / 2 ** (s + 1) for s in range(stages))


def discriminator(nbands: int, scale: int, depth: int = 64) -> keras.Model:
    """Multi-scale-gradient discriminator (MSG-GAN): the full-resolution image enters first,
    every coarser output joins the features at its resolution; minibatch standard deviation
    at each join, blurred strided convolutions to go down."""
    stages = n_stages(scale)
    inputs = [keras.Input((None, None, nbands), name=f"hr_x{2 ** (stages - i)}") for i in range(stages)]
    inputs.append(keras.Input((None, None, nbands), name="hr_x1"))
    conv = lambda x, f, k, s, name: _lrelu(keras.layers.Conv2D(f, k, strides=s, padding="same",  # noqa: E731
                                                               name=name)(x))
    net, dim = None, depth
    for level, image in enumerate(reversed(inputs)):  # finest first
        x = conv(image, dim, 1, 1, f"from_rgb{level}")
        net = x if net is None else keras.layers.Concatenate()([x, net])
        net = MinibatchStd()(net)
        net = conv(net, dim, 3, 1, f"d{level}_conv")
        net = conv(Blur()(net), dim * 2, 3, 2, f"d{level}_down")
        dim *= 2
    net = MinibatchStd()(net)
    net = conv(net, dim, 3, 1, "bn_conv")
    net = keras.layers.Conv2D(1, 1, name="score")(net)
    score = keras.layers.GlobalAveragePooling2D(name="mean_score")(net)
    return keras.Model(inputs, score, name="msg_discriminator")
