"""Loss terms, computed at every scale of the generator: pixel (L1, L2), perceptual (VGG) and
adversarial (WGAN-GP or LSGAN), as SR4RS defines them (Cresson 2022 and its train.py).

The reference at each scale: the HR patch itself, at x2 SR4RS's binomial blur sampled every second pixel
(``--arch sr4rs``), and block averages at coarser scales (and at every scale for the other networks, whose
coarser outputs are block averages of the full one)."""
from __future__ import annotations

import math

import tensorflow as tf

from .config import TrainConfig

GRADIENT_PENALTY = 10.0  # WGAN-GP's lambda (Gulrajani et al. 2017)
DRIFT = 0.001  # keeps the critic's scores near 0 (Karras et al. 2018)


class Losses:
    """Builds the loss terms once for a run."""

    def __init__(self, cfg: TrainConfig, scale: int):
        self.cfg = cfg
        self.binomial = cfg.arch == "sr4rs"
        self.factors = [2 ** i for i in reversed(range(int(round(math.log2(scale))) + 1))]  # e.g. 4, 2, 1
        self.vgg = None
        if cfg.vggfile is not None and cfg.vggweight > 0:
            from ..nets.vgg import vgg_features
            self.vgg = vgg_features(cfg.vggfile, cfg.vggfeatures)

    def reals(self, hr):
        """The HR reference at every scale of the generator's outputs, coarsest first."""
        from ..nets.equalized import binomial_down2

        def down(f):
            if f == 1:
                return hr
            return binomial_down2(hr) if f == 2 and self.binomial else tf.nn.avg_pool2d(hr, f, f, "VALID")
        return [down(f) for f in self.factors]

    @staticmethod
    def pixel(reals, fakes):
        l1 = tf.add_n([tf.reduce_mean(tf.abs(f - r)) for r, f in zip(reals, fakes)])
        l2 = tf.add_n([tf.reduce_mean(tf.square(f - r)) for r, f in zip(reals, fakes)])
        return l1, l2

    @staticmethod
    def spectral_angle(real, fake):
        """Mean angle (radians) between the spectra of ``real`` and ``fake`` (N, H, W, C), per pixel."""
        dot = tf.reduce_sum(real * fake, axis=-1)
        norms = tf.norm(real, axis=-1) * tf.norm(fake, axis=-1)
        cosine = tf.clip_by_value(dot / (norms + 1e-12), -1.0 + 1e-6, 1.0 - 1e-6)
        return tf.reduce_mean(tf.acos(cosine))

    def perceptual(self, reals, fakes):
        from ..nets.vgg import vgg_loss

        if self.vgg is None:
            return tf.constant(0.0)
        # normalised values, clipped to [0, 1], x 255: 16-bit reflectance x 1e-4 is about 0..1
        return tf.add_n([vgg_loss(self.vgg, r, f) for r, f in zip(reals, fakes)])

    def adversarial(self, dis, reals, fakes):
        """(discriminator loss, generator loss, the discriminator's scores of the reals)."""
        d_real = tf.cast(dis(reals, training=True), tf.float32)  # float16 in mixed precision
        d_fake = tf.cast(dis(fakes, training=True), tf.float32)
        if self.cfg.losstype == "LSGAN":
            return (tf.reduce_mean(tf.square(d_real - 1) + tf.square(d_fake)),
                    tf.reduce_mean(tf.square(d_fake - 1)), d_real)
        return tf.reduce_mean(d_fake - d_real), -tf.reduce_mean(d_fake), d_real

    @staticmethod
    def gradient_penalty(dis, reals, fakes, alpha):
        """WGAN-GP: the critic's gradient norm kept near 1 on mixes of real and fake (``alpha``: one weight per
        image, uniform in [0, 1]); SR4RS's form: at every scale, the mean of (norm - 1)^2, then their mean."""
        mixed = [r + alpha * (f - r) for r, f in zip(reals, fakes)]
        with tf.GradientTape() as tape:
            tape.watch(mixed)
            score = tf.reduce_sum(tf.cast(dis(mixed, training=True), tf.float32))
        grads = tape.gradient(score, mixed)
        norms = [tf.sqrt(tf.reduce_sum(tf.square(g), axis=[1, 2, 3]) + 1e-12) for g in grads]
        return tf.reduce_mean([tf.reduce_mean(tf.square(n - 1.0)) for n in norms])
