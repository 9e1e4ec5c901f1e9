"""SR4RS's generator: a residual encoder at LR resolution, then one x2 stage per factor of two, with
an output head at every scale (SR4RS's multi-scale outputs)."""
from __future__ import annotations

import keras

from .layers import Blur, PixelNorm, conv, lrelu, n_stages


def _conv(x, filters, kernel, name):
    return conv(x, filters, kernel, name, kernel_initializer="he_normal")


def build(nbands: int, scale: int = 4, depth: int = 64, nresblocks: int = 16, skip_gain: float = 1.0,
          out_bands: int = None) -> keras.Model:
    """A 9x9 convolution and ``nresblocks`` blocks with pixel norm at LR resolution, then x2 stages
    (transposed convolution, blur, three convolutions) with a 1x1 output head at every scale.
    ``skip_gain`` is not used (the network has no bicubic skip)."""
    out_bands = out_bands or nbands
    stages = n_stages(scale)
    inp = keras.Input((None, None, nbands), name="lr")
    net = lrelu(_conv(inp, depth, 9, "enc_conv9"))
    first = net
    for i in range(nresblocks):
        y = PixelNorm()(lrelu(_conv(net, depth, 3, f"res{i}_conv1")))
        y = PixelNorm()(_conv(y, depth, 3, f"res{i}_conv2"))
        net = keras.layers.Add(name=f"res{i}_add")([net, y])
    net = PixelNorm()(_conv(net, depth, 3, "enc_out"))
    net = keras.layers.Add(name="enc_skip")([net, first])
    outputs = [_conv(net, out_bands, 1, f"out_x{scale}")]
    f = 4 * depth  # SR4RS widens to 4x depth in the upsampling stages
    for stage in range(stages):
        net = keras.layers.Conv2DTranspose(f, 3, strides=2, padding="same", name=f"up{stage}",
                                           kernel_initializer="he_normal")(net)
        net = PixelNorm()(lrelu(Blur()(net)))
        last_kernel = 9 if stage == stages - 1 else 5
        for j, k in enumerate((3, 3, last_kernel)):
            net = PixelNorm()(lrelu(_conv(net, f, k, f"up{stage}_conv{j + 1}")))
        outputs.append(_conv(net, out_bands, 1, f"out_x{scale // 2 ** (stage + 1)}"))
    return keras.Model(inp, outputs, name="sr4rs_generator")


def receptive_radius(scale: int, nresblocks: int) -> float:
    """LR pixels: the 9x9 input convolution, two 3x3 per block, the encoder's output convolution, then
    per x2 stage (in that stage's pixels) the transposed convolution, the blur and three convolutions."""
    stages = n_stages(scale)
    return 4 + 2 * nresblocks + 1 + sum((1 + 1 + 1 + 1 + 4) / 2 ** (s + 1) for s in range(stages))
