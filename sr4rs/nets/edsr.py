"""EDSR-style light generator (Lim et al. 2017; used on Sentinel-2 by Galar et al. 2020)."""
from __future__ import annotations

import keras

from .layers import AvgDown, DepthToSpace, Resize, conv, n_stages
from .local import LocalMean, LocalSpread, Ratio

# ``normalise="standard"``: each band centred on its mean and divided by its spread over (2 r + 1)^2 LR pixels
# (plus a floor, in the network's units), the residual multiplied back by that spread: a band's gain and
# offset (digital numbers or reflectance, Level-1 or Level-2, the sun, the season) change the result by the
# same gain and offset, and nothing else.
SCALE_RADIUS, SPREAD_FLOOR = 3, 0.002
NORMALISATIONS = ("fixed", "standard")


def _seen(inp, normalise: str):
    """The input as the body sees it, and the LR spread its residual is multiplied by (None: fixed)."""
    if normalise == "fixed":
        return inp, None
    if normalise != "standard":
        raise ValueError(f"unknown normalise '{normalise}': choose {' or '.join(NORMALISATIONS)}")
    mean = LocalMean(SCALE_RADIUS, name="lr_mean")(inp)
    spread = LocalSpread(SCALE_RADIUS, SPREAD_FLOOR, name="lr_spread")(inp)
    return Ratio(name="lr_norm")([keras.layers.Subtract(name="lr_centre")([inp, mean]), spread]), spread


def build(nbands: int, scale: int = 4, depth: int = 32, nresblocks: int = 8, skip_gain: float = 1.0,
          out_bands: int = None, normalise: str = "fixed") -> keras.Model:
    """Residual blocks (scaled by 0.1) at LR resolution, one sub-pixel upsampling at the end, added to
    a bicubic upsampling of the input (``skip_gain`` converts LR to HR normalisation). Coarser outputs
    are block averages of the full one."""
    out_bands = out_bands or nbands
    stages = n_stages(scale)
    inp = keras.Input((None, None, nbands), name="lr")
    seen, spread = _seen(inp, normalise)
    head = conv(seen, depth, 3, "head")
    net = head
    for i in range(nresblocks):
        y = conv(keras.layers.ReLU()(conv(net, depth, 3, f"res{i}_conv1")), depth, 3, f"res{i}_conv2")
        y = keras.layers.Rescaling(0.1, name=f"res{i}_scale")(y)
        net = keras.layers.Add(name=f"res{i}_add")([net, y])
    net = keras.layers.Add(name="body_skip")([head, conv(net, depth, 3, "body_out")])
    net = DepthToSpace(scale, name="shuffle")(conv(net, out_bands * scale * scale, 3, "upsample"))
    residual = conv(net, out_bands, 3, "tail")
    if spread is not None:
        level = Resize(scale, method="bilinear", gain=skip_gain, name="up_spread")(spread)
        residual = keras.layers.Multiply(name="denorm")([residual, level])
    full = keras.layers.Add(name="out_x1")([Resize(scale, gain=skip_gain, name="bicubic")(inp), residual]) \
        if out_bands == nbands else residual
    outputs = [AvgDown(2 ** (stages - i), name=f"out_x{2 ** (stages - i)}")(full) for i in range(stages)]
    return keras.Model(inp, outputs + [full], name="edsr_generator")


def receptive_radius(scale: int, nresblocks: int, normalise: str = "fixed") -> float:
    """LR pixels: head, two 3x3 per block, body, upsample, the tail (one HR pixel) and bicubic's 2; the
    window of the local statistics."""
    return 1 + 2 * nresblocks + 1 + 1 + 1.0 / scale + 2 + (SCALE_RADIUS + 1 if normalise == "standard" else 0)
