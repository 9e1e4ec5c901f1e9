"""Degradations drawn at random per patch, on the fly in the training pipeline, so that a model holds up on
imagery degraded otherwise than in one fixed way (Wald's single Gaussian):

- ``random``: the LR patch is made from the HR patch each time it is seen: a Gaussian blur of standard
  deviation drawn in [0, ``blur_max`` x factor] HR pixels (0 is plain block averaging; ``anisotropic``: one
  deviation per axis), then factor x factor block averaging, then sensor noise (a Gaussian of standard
  deviation drawn in [0, ``noise``] times the patch's mean absolute value);
- for true pairs (and after ``random``): a misregistration of the LR patch by a sub-pixel shift drawn in
  [-``shift``, ``shift``] LR pixels on each axis (bilinear), as real pairs are never exactly co-registered;
- progressive resizing: random crops of a given fraction of the patch, aligned on the LR grid.

Every draw comes from the per-sample stateless seed the pipeline gives, so a seeded run repeats exactly.
"""
from __future__ import annotations

import math
from typing import Callable, Optional

import tensorflow as tf


def _gaussian_kernel(sigma, radius: int):
    """A normalised 1-D Gaussian of ``sigma`` (a tensor; near 0: a unit impulse) over 2 x radius + 1 taps."""
    x = tf.range(-radius, radius + 1, dtype=tf.float32)
    sigma = tf.maximum(tf.cast(sigma, tf.float32), 1e-3)
    k = tf.exp(-0.5 * tf.square(x / sigma))
    return k / tf.reduce_sum(k)


def blur_and_average(hr, factor: int, sigma_y, sigma_x, radius: int):
    """(P, P, C) -> (P / factor, P / factor, C): separable Gaussian blur (mirrored edges) then block means."""
    channels = tf.shape(hr)[-1]
    x = tf.pad(hr[None], [[0, 0], [radius, radius], [radius, radius], [0, 0]], mode="SYMMETRIC")
    ky = tf.tile(tf.reshape(_gaussian_kernel(sigma_y, radius), [-1, 1, 1, 1]), [1, 1, channels, 1])
    kx = tf.tile(tf.reshape(_gaussian_kernel(sigma_x, radius), [1, -1, 1, 1]), [1, 1, channels, 1])
    x = tf.nn.depthwise_conv2d(x, ky, [1, 1, 1, 1], "VALID")
    x = tf.nn.depthwise_conv2d(x, kx, [1, 1, 1, 1], "VALID")
    return tf.nn.avg_pool2d(x, factor, factor, "VALID")[0]


def shift_image(image, dy, dx):
    """``image`` (H, W, C) moved by (dy, dx) pixels, bilinear, mirrored at the edges."""
    transform = tf.stack([1.0, 0.0, -dx, 0.0, 1.0, -dy, 0.0, 0.0])[None]
    shape = tf.shape(image)[:2]
    out = tf.raw_ops.ImageProjectiveTransformV3(images=image[None], transforms=transform, output_shape=shape,
                                                interpolation="BILINEAR", fill_mode="REFLECT", fill_value=0.0)
    return tf.reshape(out[0], tf.shape(image))


def make_transform(factor: int, degradation: str, blur_max: float, anisotropic: bool, noise: float,
                   shift: float, crop: Optional[float] = None, blur_zero: float = 0.0) -> Optional[Callable]:
    """The per-sample transform of (lr, hr) samples for the training pipeline, or None when nothing changes.
    ``blur_zero``: the probability that a random degradation is plain block averaging."""
    if degradation == "fixed" and not shift and not crop:
        return None
    radius = max(1, math.ceil(3 * blur_max * factor))

    def transform(sample, seed):
        lr, hr = sample
        seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 6)
        if crop:
            lr, hr = _crop(lr, hr, factor, crop, seeds[5])
        if degradation == "random":
            sy = tf.random.stateless_uniform([], seeds[0], 0.0, blur_max * factor)
            sx = tf.random.stateless_uniform([], seeds[1], 0.0, blur_max * factor) if anisotropic else sy
            if blur_zero:
                sharp = tf.random.stateless_uniform([], seeds[1] + 1, 0.0, 1.0) < blur_zero
                sy, sx = tf.where(sharp, 0.0, sy), tf.where(sharp, 0.0, sx)
            lr = blur_and_average(hr, factor, sy, sx, radius)
            if noise:
                level = tf.random.stateless_uniform([], seeds[2], 0.0, noise) * tf.reduce_mean(tf.abs(hr))
                lr = lr + level * tf.random.stateless_normal(tf.shape(lr), seeds[3])
        if shift:
            d = tf.random.stateless_uniform([2], seeds[4], -shift, shift)
            lr = shift_image(lr, d[0], d[1])
        return lr, hr

    return transform


def radiometric_transform(gain: float, offset: float, lr_scale: float, hr_scale: float) -> Optional[Callable]:
    """Radiometric augmentation of a sample, ``(lr, hr)`` or ``((input_0, ...), target)``: every image times one
    gain ``exp(u)`` (``u`` drawn in [-gain, gain]), each band times ``exp(v)`` (``v`` in [-gain / 5, gain / 5])
    and plus an offset drawn in [-offset, offset] (network units); the bands of the target and of the last input
    (the same bands) alike. So that a model learns no one scene's, season's or product level's levels."""
    if not gain and not offset:
        return None

    def draw(seed, bands, ratio):
        seeds = tf.random.experimental.stateless_split(seed, 2)
        g = tf.exp(tf.random.stateless_uniform([bands], seeds[0], -gain / 5, gain / 5)) if gain else 1.0
        o = tf.random.stateless_uniform([bands], seeds[1], -offset, offset) / ratio if offset else 0.0
        return g, o

    def transform(sample, seed):
        seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 8)
        common = tf.exp(tf.random.stateless_uniform([], seeds[0], -gain, gain)) if gain else 1.0
        inputs, target = sample
        single = not isinstance(inputs, (tuple, list))
        inputs = [inputs] if single else list(inputs)
        out = []
        for k, x in enumerate(inputs):
            g, o = draw(seeds[1 + min(k, 6)] if k < len(inputs) - 1 else seeds[7], tf.shape(x)[-1], lr_scale)
            out.append(x * (common * g) + o)
        g, o = draw(seeds[7], tf.shape(target)[-1], hr_scale)
        target = target * (common * g) + o
        return (out[0] if single else tuple(out)), target

    return transform


def chain(*transforms) -> Optional[Callable]:
    """The transforms that are not None, one after the other (each with its own seed)."""
    kept = [t for t in transforms if t is not None]
    if not kept:
        return None

    def transform(sample, seed):
        for k, t in enumerate(kept):
            sample = t(sample, tf.cast(seed, tf.int64) + 7919 * k)
        return sample

    return transform


def _crop(lr, hr, factor: int, fraction: float, seed):
    """A random crop of ``fraction`` of the LR patch (at least 1 pixel), and the HR patch over the same ground."""
    size = tf.shape(lr)[0]
    side = tf.maximum(1, tf.cast(tf.round(tf.cast(size, tf.float32) * fraction), tf.int32))
    offsets = tf.random.stateless_uniform([2], seed, 0, size - side + 1, dtype=tf.int32)
    lr = lr[offsets[0]:offsets[0] + side, offsets[1]:offsets[1] + side]
    hr = hr[offsets[0] * factor:(offsets[0] + side) * factor, offsets[1] * factor:(offsets[1] + side) * factor]
    return lr, hr


def progressive_fraction(epoch: int, epochs: int) -> Optional[float]:
    """The patch fraction of progressive resizing: 1/2, then 3/4 over the first two thirds of the epochs, then
    the whole patch (None)."""
    third = epoch * 3 // max(epochs, 1)
    return (0.5, 0.75, None)[min(third, 2)]
