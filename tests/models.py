"""Small models made by the tests (nothing is downloaded): seeded, built in seconds."""
from __future__ import annotations

import os
import shutil

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def conv_model(scale: int, nbands: int, seed: int = 0, width: int = 8):
    """Bicubic upsampling plus a small random convolutional residual.

    Its receptive field (3 LR convolutions, 1 HR convolution: 3 LR pixels + 1 HR
    pixel each side, plus bicubic's 2) is smaller than the margin the tests use,
    so a seam-free engine gives identical pixels whatever the tile size.
    """
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    inp = keras.Input((None, None, nbands), name="lr")
    x = keras.layers.Conv2D(width, 3, padding="same", activation="relu", name="c1")(inp)
    x = keras.layers.Conv2D(width, 3, padding="same", activation="relu", name="c2")(x)
    x = keras.layers.Conv2D(nbands * scale * scale, 3, padding="same", name="c3")(x)
    x = keras.layers.Lambda(lambda t: tf.nn.depth_to_space(t, scale), name="shuffle")(x)
    x = keras.layers.Conv2D(nbands, 3, padding="same", name="c4",
                            kernel_initializer=keras.initializers.RandomNormal(stddev=0.01))(x)
    up = keras.layers.Lambda(
        lambda t: tf.image.resize(t, tf.shape(t)[1:3] * scale, method="bicubic"), name="bicubic")(inp)
    out = keras.layers.Add(name="sr")([up, x])
    return keras.Model(inp, out, name="test_conv")


def export_test_model(path: str, scale: int = 4, bands=("B4 red", "B3 green", "B2 blue"), margin: int = 32,
                      nodata=None, seed: int = 0) -> str:
    from sr4rs.model.contract import ModelMetadata
    from sr4rs.model.export import export_savedmodel

    meta = ModelMetadata(scale=scale, input_bands=tuple(bands), output_bands=tuple(bands), lr_scale=1e-4,
                         hr_scale=1e-4, nodata=nodata, margin=margin, description="test model")
    return export_savedmodel(conv_model(scale, len(bands), seed), path, meta, overwrite=True)


def fusion_net(fine_bands: int, coarse_bands: int, factor: int, seed: int = 0, width: int = 8):
    """A two-input model on the fine grid: the coarse bands upsampled (bilinear), concatenated with the
    fine bands, two 3x3 convolutions predict a residual added to the upsampled coarse bands. Its
    receptive field (2 fine pixels, bilinear's 1 coarse pixel) is far inside the margin the tests use."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    fine = keras.Input((None, None, fine_bands), name="fine")
    coarse = keras.Input((None, None, coarse_bands), name="coarse")
    up = keras.layers.Lambda(lambda t: tf.image.resize(t, tf.shape(t)[1:3] * factor, method="bilinear"),
                             name="up")(coarse)
    x = keras.layers.Concatenate(name="stack")([fine, up])
    x = keras.layers.Conv2D(width, 3, padding="same", activation="relu", name="c1")(x)
    x = keras.layers.Conv2D(coarse_bands, 3, padding="same", name="c2",
                            kernel_initializer=keras.initializers.RandomNormal(stddev=0.01))(x)
    out = keras.layers.Add(name="fused")([up, x])
    return keras.Model([fine, coarse], out, name="test_fusion")


def export_fusion_model(path: str, fine=("B2", "B3", "B4", "B8"), coarse=("B5", "B6", "B7", "B8A", "B11", "B12"),
                        factor: int = 2, margin: int = 16, seed: int = 0) -> str:
    """Sentinel-2's 20 m bands to 10 m with its 10 m bands: inputs ``fine`` (factor 1) and ``coarse``."""
    from sr4rs.model.contract import InputSpec, ModelMetadata
    from sr4rs.model.export import export_savedmodel

    meta = ModelMetadata(scale=factor, output_bands=tuple(coarse), lr_scale=1e-4, hr_scale=1e-4, margin=margin,
                         description="test fusion model",
                         inputs=(InputSpec("fine", tuple(fine), 1), InputSpec("coarse", tuple(coarse), factor)))
    return export_savedmodel(fusion_net(len(fine), len(coarse), factor, seed), path, meta, overwrite=True)


def export_sr4rs_tf1_model(path: str, nbands: int = 4, scale: int = 4, seed: int = 0,
                           signature_keys=("lr_input:0", "output_{}:0"), input_dtype="float32") -> str:
    """A TF1-graph SavedModel shaped like SR4RS's published ones: ``simple_save`` with
    tensor-named keys (``lr_input:0``, ``output_{pad}:0``), no sr4rs metadata, x4. SR4RS's latest
    train.py makes ``lr_input`` of the patches' own type (e.g. int16) and casts inside: ``input_dtype``."""
    import tensorflow as tf

    shutil.rmtree(path, ignore_errors=True)
    rng = np.random.default_rng(seed)
    graph = tf.Graph()
    with graph.as_default():
        lr = tf.compat.v1.placeholder(tf.as_dtype(input_dtype), (None, None, None, nbands), name="lr_input")
        x = 0.0001 * tf.cast(lr, tf.float32)
        k1 = tf.compat.v1.Variable(rng.normal(0, 0.1, (3, 3, nbands, 16)).astype(np.float32), name="gen/k1")
        k2 = tf.compat.v1.Variable(rng.normal(0, 0.01, (3, 3, 16, nbands * scale * scale)).astype(np.float32),
                                   name="gen/k2")
        h = tf.nn.relu(tf.nn.conv2d(x, k1, 1, "SAME"))
        res = tf.nn.depth_to_space(tf.nn.conv2d(h, k2, 1, "SAME"), scale)
        up = tf.image.resize(x, tf.shape(x)[1:3] * scale, method="bilinear")
        hr = (up + res) / 0.0001
        outputs = {}
        for pad in (32, 64, 128, 256, 512):
            outputs[signature_keys[1].format(pad)] = tf.identity(hr[:, pad:-pad, pad:-pad, :], name=f"output_{pad}")
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            tf.compat.v1.saved_model.simple_save(sess, path, inputs={signature_keys[0]: lr}, outputs=outputs)
    return path
