"""SR4RS's generator (Cresson 2022), layer for layer: a residual encoder at LR resolution, then one x2 stage
per factor of two, with a 1 x 1 output head at every scale.

Every convolution has an equalised learning rate (``sr4rs.nets.equalized``). Layers are named after SR4RS's
variable scopes, ``/`` written ``.`` (``res_2x.conv_upsample`` holds SR4RS's ``gen/res_2x/conv_upsample/weight``):
``sr4rs.training.sr4rs_checkpoints`` maps one to the other.
"""
from __future__ import annotations

import keras

from .equalized import EqConv2D, EqUpConv2D
from .layers import Blur, PixelNorm, lrelu, n_stages


def stage_name(stage: int) -> str:
    """SR4RS's scope of the stage ``stage`` (0 at LR resolution): res_1x, res_2x, res_4x..."""
    return f"res_{2 ** stage}x"


def _conv_block(x, filters, kernel, name):
    """Convolution, leaky ReLU, pixel norm."""
    return PixelNorm()(lrelu(EqConv2D(filters, kernel, name=name)(x)))


def _encoder(inp, depth, nresblocks):
    net = lrelu(EqConv2D(depth, 9, name="encoder.conv1_9x9")(inp))
    first = net
    for i in range(nresblocks):
        y = _conv_block(net, depth, 3, f"encoder.ResBlock{i}.conv1")
        y = PixelNorm()(EqConv2D(depth, 3, name=f"encoder.ResBlock{i}.conv2")(y))
        net = keras.layers.Add(name=f"encoder.ResBlock{i}.add")([y, net])
    net = PixelNorm()(EqConv2D(depth, 3, name="res_1x.conv1")(net))
    return keras.layers.Add(name="res_1x.add")([net, first])


def build(nbands: int, scale: int = 4, depth: int = 64, nresblocks: int = 16, skip_gain: float = 1.0,
          out_bands: int = None) -> keras.Model:
    """A 9x9 convolution and ``nresblocks`` residual blocks with pixel norm at LR resolution, then x2 stages
    (fused transposed convolution, blur, then three convolutions of 3, 3 and 5 pixels, 9 in the last stage)
    4 x ``depth`` wide; a 1x1 output head at every scale. ``skip_gain`` is not used (no bicubic skip).
    Outputs: coarsest scale (LR resolution) first."""
    out_bands = out_bands or nbands
    stages = n_stages(scale)
    inp = keras.Input((None, None, nbands), name="lr")
    net = _encoder(inp, depth, nresblocks)
    outputs = [EqConv2D(out_bands, 1, name="res_1x.output")(net)]
    width = 4 * depth
    for stage in range(1, stages + 1):
        scope = stage_name(stage)
        net = EqUpConv2D(width, 3, name=f"{scope}.conv_upsample")(net)
        net = PixelNorm()(lrelu(Blur()(net)))
        last = 9 if stage == stages else 5
        for j, k in enumerate((3, 3, last)):
            net = _conv_block(net, width, k, f"{scope}.conv{j + 1}")
        outputs.append(EqConv2D(out_bands, 1, name=f"{scope}.output")(net))
    return keras.Model(inp, outputs, name="sr4rs_generator")


def receptive_radius(scale: int, nresblocks: int) -> float:
    """LR pixels: the 9x9 input convolution, two 3x3 per block, the encoder's output convolution, then per
    x2 stage (in that stage's pixels) the 4x4 transposed convolution (2 pixels), the blur (1) and the three
    convolutions (1 + 1 + 2, or 1 + 1 + 4 in the last stage)."""
    stages = n_stages(scale)
    return 4 + 2 * nresblocks + 1 + sum((2 + 1 + 1 + 1 + (4 if s == stages - 1 else 2)) / 2 ** (s + 1)
                                        for s in range(stages))
