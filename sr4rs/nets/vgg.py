"""VGG19 perceptual features from a user-supplied weights file (nothing is downloaded); TensorFlow is
imported only to build them, so that the feature names and the file check are cheap.

The file is the ``vgg19.npy`` SR4RS documents: a pickled dict mapping ``conv1_1`` ...
``conv5_4`` to ``[kernel (3, 3, in, out), bias (out,)]``. Channel widths are read from
the file, so a small VGG19-shaped file works as well as the real one.
"""
from __future__ import annotations

import os

import numpy as np

from ..errors import InputError

_BLOCKS = ((1, 2), (2, 2), (3, 4), (4, 4), (5, 4))  # (block, convolutions)
_BGR_MEAN = (103.939, 116.779, 123.68)
# --vggfeatures: the maps compared, SR4RS's choices: "reluB_C" after a ReLU, "convB_C" before it (the
# "lin" choices), "poolB" after block B's max pooling.
FEATURES = {
    "vgg54": ["relu5_4"], "vgg54lin": ["conv5_4"],
    "vgg344454": ["relu3_4", "relu4_4", "relu5_4"],
    "1234": ["pool1", "pool2", "pool3", "pool4"],
    "1234lin": ["conv1_2", "conv2_2", "conv3_4", "conv4_4", "conv5_4"],
}


def load_vgg_weights(path: str) -> dict:
    if not os.path.isfile(path):
        raise InputError(f"--vggfile '{path}' does not exist: give the vgg19.npy weights file, or drop --vggfile")
    try:
        weights = np.load(path, allow_pickle=True, encoding="latin1").item()
    except Exception as err:  # numpy raises several types for a foreign file
        raise InputError(f"--vggfile '{path}' is not a VGG19 weights dict ({type(err).__name__}): "
                         "give the vgg19.npy file") from None
    missing = [f"conv{b}_{i + 1}" for b, n in _BLOCKS for i in range(n) if f"conv{b}_{i + 1}" not in weights]
    if missing:
        raise InputError(f"--vggfile '{path}' lacks layers {', '.join(missing[:3])}...: give a VGG19 weights file")
    return weights


def vgg_features(path: str, features: str = "vgg54"):
    """A frozen ``keras.Model``: RGB in [0, 255] -> the feature maps named by ``features``, in that order."""
    import keras
    import tensorflow as tf

    if features not in FEATURES:
        raise InputError(f"unknown --vggfeatures '{features}': choose one of {', '.join(FEATURES)}")
    weights = load_vgg_weights(path)
    wanted = FEATURES[features]
    inp = keras.Input((None, None, 3))
    x = keras.layers.Lambda(lambda t: t[..., ::-1] - tf.constant(_BGR_MEAN, tf.float32), name="to_bgr")(inp)
    maps = {}
    last_block = max(int(name[4]) for name in wanted)
    for block, n in _BLOCKS[:last_block]:
        for i in range(n):
            name = f"conv{block}_{i + 1}"
            kernel, bias = (np.asarray(a, np.float32) for a in weights[name])
            conv = keras.layers.Conv2D(kernel.shape[-1], 3, padding="same", name=name, trainable=False)
            maps[name] = conv(x)
            conv.set_weights([kernel, bias])
            x = maps[f"relu{block}_{i + 1}"] = keras.layers.ReLU(name=f"relu{block}_{i + 1}")(maps[name])
        # "same" pooling, as SR4RS: the coarse scales of small patches stay >= 1 pixel
        x = maps[f"pool{block}"] = keras.layers.MaxPooling2D(2, padding="same", name=f"pool{block}")(x)
    model = keras.Model(inp, [maps[name] for name in wanted], name=f"vgg19_{features}")
    model.trainable = False
    return model


def vgg_loss(vgg, real, fake):
    """Sum over the feature maps of their mean squared distance; images are normalised values, clipped to
    [0, 1] and scaled to [0, 255] (as SR4RS), using the first three bands (a single band is repeated)."""
    import tensorflow as tf

    def rgb(x):
        x = x[..., :3] if x.shape[-1] >= 3 else tf.repeat(x[..., :1], 3, axis=-1)
        return 255.0 * tf.clip_by_value(x, 0.0, 1.0)
    fr, ff = vgg(rgb(real)), vgg(rgb(fake))
    fr, ff = (fr, ff) if isinstance(fr, (list, tuple)) else ([fr], [ff])
    return tf.add_n([tf.reduce_mean(tf.square(a - b)) for a, b in zip(fr, ff)])
