"""SR4RS's discriminator, layer for layer: a multi-scale-gradient critic (MSG-GAN, Karnewar and Wang 2020) that
sees the full-resolution image first and takes each coarser output in at its own resolution.

Layout (``depth`` = d, for x4): ``res_4x`` (the full image: 1x1 to d, minibatch std, three 3x3 convolutions,
a stride-2 convolution), ``res_2x`` (the x2 image: 1x1 to d joined to the features, minibatch std, three 3x3
at 2d, stride 2), ``res_1x`` (the LR-resolution image: 1x1 to 2d joined, minibatch std, one 3x3 at 4d, stride
2), ``bn`` (3x3 at 8d, stride 2, minibatch std, 1x1 at 16d, 1x1 to one score), scores averaged over pixels.
Equalised learning rate everywhere; leaky ReLU after every convolution but the last; minibatch standard
deviation over groups of 4. Layers are named after SR4RS's scopes (``res_4x.from_input`` holds
``dis/res_4x/from_input``).
"""
from __future__ import annotations

import keras

from .equalized import EqConv2D, EqDownConv2D
from .layers import MinibatchStd, lrelu, n_stages

GROUP_SIZE = 4


def _conv(x, filters, kernel, name):
    return lrelu(EqConv2D(filters, kernel, name=name)(x))


def build(nbands: int, scale: int, depth: int = 64) -> keras.Model:
    """The critic for ``scale``: inputs are the images at every scale of the generator, coarsest first (as
    the generator returns them); output: one score per image."""
    stages = n_stages(scale)
    inputs = [keras.Input((None, None, nbands), name=f"hr_x{2 ** (stages - i)}") for i in range(stages)]
    inputs.append(keras.Input((None, None, nbands), name="hr_x1"))
    net, dim = None, depth
    for level, image in enumerate(reversed(inputs)):  # finest first: res_4x, res_2x, res_1x for x4
        scope = f"res_{2 ** (stages - level)}x"
        x = _conv(image, dim, 1, f"{scope}.from_input")
        net = x if net is None else keras.layers.Concatenate(name=f"{scope}.join")([x, net])
        net = MinibatchStd(GROUP_SIZE, name=f"{scope}.stddev")(net)
        if level > 0:
            dim *= 2
        names = ("conv",) if level == stages else ("conv1", "conv2", "conv3")
        for name in names:
            net = _conv(net, dim, 3, f"{scope}.{name}")
        net = lrelu(EqDownConv2D(dim, 3, name=f"{scope}.conv_down")(net))
    dim *= 2
    net = _conv(net, dim, 3, "bn.conv1")
    net = lrelu(EqDownConv2D(dim, 3, name="bn.conv_down1")(net))
    net = MinibatchStd(GROUP_SIZE, name="bn.stddev")(net)
    net = _conv(net, 2 * dim, 1, "bn.dense1")
    net = EqConv2D(1, 1, name="bn.dense2")(net)
    score = keras.layers.GlobalAveragePooling2D(name="bn.mean")(net)
    return keras.Model(inputs, score, name="sr4rs_discriminator")
