"""Multi-resolution fusion in the manner of DSen2 (Lanaras et al. 2018): a sensor's coarse bands brought to
the grid of its fine bands. Every input is upsampled to the finest grid inside the network (bilinear, never
written), the stack goes through a residual network, and its output is a correction added to the
upsampled bands of the coarsest input, the bands being super-resolved."""
from __future__ import annotations

import math
from typing import Sequence, Tuple

import keras

from .layers import Resize, conv


def build(inputs: Sequence[Tuple[int, int]], depth: int = 64, nresblocks: int = 6,
          skip_gain: float = 1.0) -> keras.Model:
    """``inputs``: (band count, factor) per input, finest first (factor 1: the output's grid). The output holds
    the last input's bands on the finest grid; ``skip_gain`` converts the inputs' normalisation to the
    output's."""
    ins, ups = [], []
    for i, (nbands, factor) in enumerate(inputs):
        x = keras.Input((None, None, nbands), name=f"input_{i}")
        ins.append(x)
        ups.append(x if factor == 1 else Resize(factor, method="bilinear", name=f"up_{i}")(x))
    net = ups[0] if len(ups) == 1 else keras.layers.Concatenate(name="stack")(ups)
    net = keras.layers.ReLU(name="head_relu")(conv(net, depth, 3, "head"))
    for i in range(nresblocks):
        y = conv(keras.layers.ReLU(name=f"res{i}_relu")(conv(net, depth, 3, f"res{i}_conv1")), depth, 3,
                 f"res{i}_conv2")
        y = keras.layers.Rescaling(0.1, name=f"res{i}_scale")(y)
        net = keras.layers.Add(name=f"res{i}_add")([net, y])
    correction = conv(net, inputs[-1][0], 3, "tail")
    base = ups[-1] if skip_gain == 1.0 else keras.layers.Rescaling(skip_gain, name="skip_gain")(ups[-1])
    out = keras.layers.Add(name="fused")([base, correction])
    return keras.Model(ins, [out], name="fusion_generator")


def receptive_radius(inputs: Sequence[Tuple[int, int]], nresblocks: int) -> float:
    """Finest-grid pixels: the head, two 3x3 per block and the tail, plus bilinear's reach of one coarse pixel
    (and a half, for the half-pixel centres) of the coarsest input."""
    coarsest = max(f for _, f in inputs)
    return 1 + 2 * nresblocks + 1 + math.ceil(1.5 * coarsest)
