"""Multi-resolution fusion in the manner of DSen2 (Lanaras et al. 2018): a sensor's coarse bands brought to
the grid of its fine bands. Every input is upsampled to the finest grid inside the network (bilinear, never
written) and the stack goes through a residual network whose output is a correction of a first estimate of
the coarsest input's bands on the finest grid.

Three choices make a model hold on scenes it never saw (each can be turned off, to measure it):

- ``guide="regression"``: the first estimate is a local linear regression of each coarse band on the finest
  bands (``local.LocalRegression``), a classical fusion fitted to each place of each scene; otherwise it is
  the coarse bands upsampled bilinearly;
- ``normalise="standard"``: every band is centred on its local mean and divided by its local spread before
  the network sees it, and the correction is multiplied by the local spread of the band it corrects, so that a
  band's gain and offset (season, sun, atmosphere, product level) change the result by the same gain and
  offset and nothing else; ``"local"`` divides by the local mean alone (gains only); ``"fixed"`` keeps the raw
  values times the model's radiometric scale;
- ``consistency="backprojection"``: the result degraded as the model assumes (Wald's blur of ``sigma`` finest
  pixels, then block means) gives back its coarsest input (``consistency.BackProjection``); ``"none"``
  leaves the network's result as it is.
"""
from __future__ import annotations

import math
from typing import Sequence, Tuple

import keras

from .consistency import BackProjection
from .layers import Resize, conv
from .local import LocalMean, LocalRegression, LocalScale, LocalSpread, Ratio

GUIDE_RADIUS, GUIDE_EPS = 2, 1e-3  # coarse pixels; relative ridge (chosen on real scenes, see PRETRAINED_MODELS.md)
SCALE_RADIUS, SCALE_FLOOR = 2, 0.005  # pixels of each input's grid; in the network's units (reflectance)
SPREAD_FLOOR = 0.002
NORMALISATIONS = ("local", "standard", "fixed")
CONSISTENCIES = ("backprojection", "none")
BACKPROJECTIONS = 2


def wald_sigma(factor: int) -> float:
    from ..geo.degrade import default_sigma

    return default_sigma(factor)


def _body(net, depth: int, nresblocks: int):
    net = keras.layers.ReLU(name="head_relu")(conv(net, depth, 3, "head"))
    for i in range(nresblocks):
        y = conv(keras.layers.ReLU(name=f"res{i}_relu")(conv(net, depth, 3, f"res{i}_conv1")), depth, 3,
                 f"res{i}_conv2")
        y = keras.layers.Rescaling(0.1, name=f"res{i}_scale")(y)
        net = keras.layers.Add(name=f"res{i}_add")([net, y])
    return net


def _upsampled(x, factor: int, name: str):
    return x if factor == 1 else Resize(factor, method="bilinear", name=name)(x)


def _first_estimate(ins, inputs, target, guide: str, sigma: float):
    factor = inputs[-1][1]
    if guide == "regression":
        return LocalRegression(factor, sigma, GUIDE_RADIUS, GUIDE_EPS, name="guide")([ins[0], target])
    if guide != "none":
        raise ValueError(f"unknown guide '{guide}': choose regression or none")
    return _upsampled(target, factor, "base_up")


def _normalised(x, kind: str, floor: float, name: str):
    """``x`` as the network sees it, and the scale its corrections are multiplied by (None: fixed)."""
    if kind == "fixed":
        return x, None, None
    if kind == "local":
        scale = LocalScale(SCALE_RADIUS, floor, name=f"scale_{name}")(x)
        return Ratio(name=f"norm_{name}")([x, scale]), None, scale
    mean = LocalMean(SCALE_RADIUS, name=f"mean_{name}")(x)
    scale = LocalSpread(SCALE_RADIUS, floor, name=f"spread_{name}")(x)
    return Ratio(name=f"norm_{name}")([keras.layers.Subtract(name=f"centre_{name}")([x, mean]), scale]), mean, scale


def build(inputs: Sequence[Tuple[int, int]], depth: int = 64, nresblocks: int = 6, skip_gain: float = 1.0,
          guide: str = "regression", normalise: str = "standard", consistency: str = "backprojection",
          sigma: float = None) -> keras.Model:
    """``inputs``: (band count, factor) per input, finest first (factor 1: the output's grid). The output holds
    the last input's bands on the finest grid; ``skip_gain`` converts the inputs' normalisation to the
    output's; ``sigma``: the blur of the degradation the model assumes (default: Wald's, a third of the
    coarsest factor)."""
    if normalise not in NORMALISATIONS or consistency not in CONSISTENCIES:
        raise ValueError(f"unknown normalise '{normalise}' or consistency '{consistency}'")
    factor = inputs[-1][1]
    sigma = wald_sigma(factor) if sigma is None else float(sigma)
    floor = SCALE_FLOOR if normalise == "local" else SPREAD_FLOOR
    ins = [keras.Input((None, None, n), name=f"input_{i}") for i, (n, _) in enumerate(inputs)]
    target = ins[-1] if skip_gain == 1.0 else keras.layers.Rescaling(skip_gain, name="skip_gain")(ins[-1])
    base = _first_estimate(ins, inputs, target, guide, sigma)
    seen = [_upsampled(_normalised(x, normalise, floor, str(i))[0], f, f"up_{i}")
            for i, (x, (_, f)) in enumerate(zip(ins, inputs))]
    _, mean, scale = _normalised(target, normalise, floor * skip_gain, "out")
    if mean is not None:
        mean = _upsampled(mean, factor, "up_mean_out")
    if scale is not None:
        scale = _upsampled(scale, factor, "up_scale_out")
        centred = base if mean is None else keras.layers.Subtract(name="centre_base")([base, mean])
        seen.append(Ratio(name="norm_base")([centred, scale]))
    else:
        seen.append(base)
    correction = conv(_body(keras.layers.Concatenate(name="stack")(seen), depth, nresblocks), inputs[-1][0], 3,
                      "tail")
    if scale is not None:
        correction = keras.layers.Multiply(name="denorm")([correction, scale])
    out = keras.layers.Add(name="fused")([base, correction])
    if consistency == "backprojection":
        out = BackProjection(factor, sigma, BACKPROJECTIONS, name="consistent")([out, target])
    return keras.Model(ins, [out], name="fusion_generator")


def receptive_radius(inputs: Sequence[Tuple[int, int]], nresblocks: int, guide: str = "regression",
                     normalise: str = "standard", consistency: str = "backprojection", sigma: float = None) -> float:
    """Finest-grid pixels an output pixel depends on: the convolutions (head, two per block, tail), bilinear's
    reach of one coarse pixel and a half, and each choice's own reach."""
    coarsest = max(f for _, f in inputs)
    sigma = wald_sigma(coarsest) if sigma is None else float(sigma)
    reach = 1 + 2 * nresblocks + 1 + math.ceil(1.5 * coarsest)
    if guide == "regression":
        reach += LocalRegression(coarsest, sigma, GUIDE_RADIUS, GUIDE_EPS).reach()
    if normalise != "fixed":
        reach += (SCALE_RADIUS + 1) * coarsest
    if consistency == "backprojection":
        reach += BackProjection(coarsest, sigma, BACKPROJECTIONS).reach()
    return reach
