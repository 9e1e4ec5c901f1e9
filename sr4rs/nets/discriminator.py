"""The multi-scale-gradient discriminator (MSG-GAN, Karnewar and Wang 2020) that SR4RS trains against."""
from __future__ import annotations

import keras

from .layers import Blur, MinibatchStd, lrelu, n_stages


def build(nbands: int, scale: int, depth: int = 64) -> keras.Model:
    """Multi-scale-gradient discriminator (MSG-GAN): the full-resolution image enters first,
    every coarser output joins the features at its resolution; minibatch standard deviation
    at each join, blurred strided convolutions to go down."""
    stages = n_stages(scale)
    inputs = [keras.Input((None, None, nbands), name=f"hr_x{2 ** (stages - i)}") for i in range(stages)]
    inputs.append(keras.Input((None, None, nbands), name="hr_x1"))
    conv = lambda x, f, k, s, name: lrelu(keras.layers.Conv2D(f, k, strides=s, padding="same",  # noqa: E731
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
