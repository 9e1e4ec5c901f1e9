"""EDSR-style light generator (Lim et al. 2017; used on Sentinel-2 by Galar et al. 2020)."""
from __future__ import annotations

import keras

from .layers import AvgDown, DepthToSpace, Resize, conv, n_stages


def build(nbands: int, scale: int = 4, depth: int = 32, nresblocks: int = 8, skip_gain: float = 1.0,
          out_bands: int = None) -> keras.Model:
    """Residual blocks (scaled by 0.1) at LR resolution, one sub-pixel upsampling at the end, added to
    a bicubic upsampling of the input (``skip_gain`` converts LR to HR normalisation). Coarser outputs
    are block averages of the full one."""
    out_bands = out_bands or nbands
    stages = n_stages(scale)
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


def receptive_radius(scale: int, nresblocks: int) -> float:
    """LR pixels: head, two 3x3 per block, body, upsample, the tail (one HR pixel) and bicubic's 2."""
    return 1 + 2 * nresblocks + 1 + 1 + 1.0 / scale + 2
