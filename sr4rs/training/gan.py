"""The SRGAN: a generator, an optional discriminator, their optimisers, and the compiled training
steps (pixel-loss pre-training, and generator/discriminator training with two gradient tapes)."""
from __future__ import annotations

import contextlib
import math
from typing import Dict

import keras
import tensorflow as tf

from ..nets import build_generator
from ..nets.discriminator import build as build_discriminator
from .config import TrainConfig
from .data import TrainingData
from .distribute import precision
from .losses import DRIFT, GRADIENT_PENALTY, Losses

ADAM_EPSILON = 1e-8


class SRGAN:
    """Everything a training step touches; ``trackables`` is what a checkpoint saves."""

    def __init__(self, cfg: TrainConfig, data: TrainingData, total_steps: int = 1, strategy=None):
        self.cfg, self.data = cfg, data
        self.strategy = strategy or tf.distribute.get_strategy()
        self.replicas = self.strategy.num_replicas_in_sync
        # Variables made in the strategy's scope live on every replica; layers made under the mixed policy
        # compute in float16 with float32 weights.
        with self.strategy.scope():
            with precision(cfg.policy):
                self._build(cfg, data, total_steps)
            self.losses = Losses(cfg, data.scale if not data.fusion else 1)  # VGG features in float32
        self.pretrain_step = self._replicated(self._pretrain_step)
        self.train_step = self._replicated(self._train_step)

    def _build(self, cfg: TrainConfig, data: TrainingData, total_steps: int) -> None:
        self.generator = self.build_generator()
        nbands, scale = data.inputs[0][0], data.scale
        self.discriminator = build_discriminator(nbands, scale, cfg.depth) if cfg.use_gan else None
        # Adam as SR4RS has it (TensorFlow 1's: epsilon 1e-8); it pre-trains with Adam's default beta1.
        self.g_opt = _optimizer(cfg, learning_rate(cfg, total_steps), cfg.adam_b1)
        self.d_opt = _optimizer(cfg, cfg.adam_lr, cfg.adam_b1)
        self.p_opt = _optimizer(cfg, cfg.adam_lr, 0.9)
        self.g_opt.build(self.generator.trainable_variables)
        self.p_opt.build(self.generator.trainable_variables)
        if cfg.use_gan:
            self.d_opt.build(self.discriminator.trainable_variables)
        # The gradient penalty's random numbers come from a generator saved in the checkpoint,
        # so that a resumed run draws what the uninterrupted run would have drawn.
        self.rng = tf.random.Generator.from_seed(cfg.seed) if cfg.seed is not None \
            else tf.random.Generator.from_non_deterministic_state()
        # The exponential moving average of the generator's weights: what validation sees and what is exported.
        # Every replica computes the same average: the first one's is kept.
        self.shadow = [tf.Variable(v, trainable=False, name=f"ema_{i}",
                                   aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
                       for i, v in enumerate(self.generator.trainable_variables)] if cfg.ema > 0 else []

    def build_generator(self):
        cfg, data = self.cfg, self.data
        return build_generator(cfg.arch, data.inputs if data.fusion else data.inputs[0][0], data.scale, cfg.depth,
                               cfg.nresblocks, skip_gain=cfg.hr_scale / cfg.lr_scale, **cfg.net_options())

    def plain_generator(self):
        """The generator as one float32 model on this device, whatever the strategy and precision of training
        (what is exported)."""
        if self.replicas == 1 and self.cfg.policy == "float32" and \
                not getattr(self.strategy, "cluster_resolver", None):
            return self.generator
        generator = self.build_generator()
        generator.set_weights(self.generator.get_weights())
        return generator

    def _replicated(self, step):
        """``step`` run on every replica on its part of the global batch; its logs averaged over the replicas."""
        strategy = self.strategy

        def run(lr, hr):
            logs = strategy.run(step, args=(lr, hr))
            return {k: strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None) for k, v in logs.items()}

        return tf.function(run, reduce_retracing=True)

    def _for_gradients(self, optimizer, loss):
        """The loss whose gradients a replica contributes: its share of the global batch's (the replicas'
        gradients are summed), scaled up against float16 underflow in mixed precision."""
        if self.replicas > 1:
            loss = loss / self.replicas
        return optimizer.scale_loss(loss)

    def trackables(self) -> Dict[str, object]:
        tracked = dict(generator=self.generator, g_opt=self.g_opt, p_opt=self.p_opt, rng=self.rng)
        if self.shadow:
            tracked["ema"] = self.shadow
        if self.cfg.use_gan:
            tracked.update(discriminator=self.discriminator, d_opt=self.d_opt)
        return tracked

    def networks(self) -> Dict[str, object]:
        """The weights alone (what --finetune restores)."""
        nets = dict(generator=self.generator)
        if self.cfg.use_gan:
            nets["discriminator"] = self.discriminator
        return nets

    def estimates(self, lr_n, training: bool = False):
        """The generator's outputs as a list, coarsest scale first (a single output is a list of one), float32."""
        out = self.generator(lr_n, training=training)
        return [tf.cast(o, tf.float32) for o in (out if isinstance(out, (list, tuple)) else [out])]

    def _normalised(self, lr, hr):
        """Inputs (one tensor, or one per input of a fusion network) and target, scaled as the network sees them."""
        cfg = self.cfg
        lr_n = tf.nest.map_structure(lambda x: tf.cast(x, tf.float32) * cfg.lr_scale, lr)
        return (list(lr_n) if isinstance(lr_n, tuple) else lr_n), tf.cast(hr, tf.float32) * cfg.hr_scale

    def _pretrain_step(self, lr, hr):
        cfg = self.cfg
        lr_n, hr_n = self._normalised(lr, hr)
        reals = self.losses.reals(hr_n)
        with tf.GradientTape() as tape:
            fakes = self.estimates(lr_n, training=True)
            l1, l2 = self.losses.pixel(reals, fakes)
            total = cfg.l1weight * l1 + cfg.l2weight * l2
            scaled = self._for_gradients(self.p_opt, total)
        variables = self.generator.trainable_variables
        self.p_opt.apply_gradients(zip(tape.gradient(scaled, variables), variables))
        return {"loss": total, "l1": l1, "l2": l2}

    def discriminator_loss(self, reals, fakes, alpha):
        """The critic's loss on ``fakes`` (WGAN-GP: with the gradient penalty at ``alpha`` between the two and
        the drift term; LSGAN)."""
        dis = self.discriminator
        d_loss, _, d_real = self.losses.adversarial(dis, reals, [tf.stop_gradient(f) for f in fakes])
        if self.cfg.losstype == "WGAN-GP":
            d_loss += GRADIENT_PENALTY * self.losses.gradient_penalty(dis, reals, fakes, alpha) \
                + DRIFT * tf.reduce_mean(tf.square(d_real))
        return d_loss

    def generator_terms(self, reals, fakes) -> Dict[str, tf.Tensor]:
        """Every term of the generator's loss, and their weighted sum ``loss``."""
        cfg = self.cfg
        l1, l2 = self.losses.pixel(reals, fakes)
        terms = {"l1": l1, "l2": l2, "vgg": self.losses.perceptual(reals, fakes)}
        total = cfg.l1weight * l1 + cfg.l2weight * l2 + cfg.vggweight * terms["vgg"]
        if cfg.samweight > 0:
            terms["sam"] = self.losses.spectral_angle(reals[-1], fakes[-1])
            total += cfg.samweight * terms["sam"]
        if cfg.use_gan:
            _, terms["gan"], _ = self.losses.adversarial(self.discriminator, reals, fakes)
            total += cfg.ganweight * terms["gan"]
        return {"loss": total, **terms}

    def _discriminator_step(self, lr_n, reals):
        dis = self.discriminator
        alpha = self.rng.uniform([tf.shape(reals[0])[0], 1, 1, 1])
        with tf.GradientTape() as tape:
            d_loss = self.discriminator_loss(reals, self.estimates(lr_n, training=True), alpha)
            scaled = self._for_gradients(self.d_opt, d_loss)
        self.d_opt.apply_gradients(zip(tape.gradient(scaled, dis.trainable_variables), dis.trainable_variables))
        return d_loss

    def _train_step(self, lr, hr):
        lr_n, hr_n = self._normalised(lr, hr)
        reals = self.losses.reals(hr_n)
        logs = {}
        if self.cfg.use_gan:
            logs["dis"] = self._discriminator_step(lr_n, reals)
        with tf.GradientTape() as tape:
            terms = self.generator_terms(reals, self.estimates(lr_n, training=True))
            scaled = self._for_gradients(self.g_opt, terms["loss"])
        variables = self.generator.trainable_variables
        self.g_opt.apply_gradients(zip(tape.gradient(scaled, variables), variables))
        self._update_shadow()
        logs.update(terms)
        return logs

    def _update_shadow(self) -> None:
        m = self.cfg.ema
        for shadow, variable in zip(self.shadow, self.generator.trainable_variables):
            shadow.assign(m * shadow + (1.0 - m) * variable)

    @contextlib.contextmanager
    def averaged_weights(self):
        """Within the block the generator holds the moving average of its weights (if ``--ema``)."""
        if not self.shadow:
            yield
            return
        saved = [v.numpy() for v in self.generator.trainable_variables]
        for shadow, variable in zip(self.shadow, self.generator.trainable_variables):
            variable.assign(shadow)
        try:
            yield
        finally:
            for value, variable in zip(saved, self.generator.trainable_variables):
                variable.assign(value)

    def restart_average(self) -> None:
        """The moving average starts again from the generator's weights as they are (after weights were loaded
        from a source that held no average)."""
        for shadow, variable in zip(self.shadow, self.generator.trainable_variables):
            shadow.assign(variable)

    def keep_averaged_weights(self) -> None:
        """The generator takes the moving average of its weights for good (before export)."""
        for shadow, variable in zip(self.shadow, self.generator.trainable_variables):
            variable.assign(shadow)


class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """Smith's one-cycle policy: from ``peak`` / 25 up to ``peak`` over the first 30 % of the steps (linear),
    then down to ``peak`` / 1e4 (cosine)."""

    def __init__(self, peak: float, total_steps: int, warmup: float = 0.3):
        self.peak, self.total, self.warmup = float(peak), max(int(total_steps), 1), warmup

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        up = max(self.warmup * self.total, 1.0)
        start, end = self.peak / 25.0, self.peak / 1e4
        rising = start + (self.peak - start) * step / up
        t = tf.clip_by_value((step - up) / max(self.total - up, 1.0), 0.0, 1.0)
        falling = end + 0.5 * (self.peak - end) * (1.0 + tf.cos(math.pi * t))
        return tf.where(step < up, rising, falling)

    def get_config(self):
        return {"peak": self.peak, "total_steps": self.total, "warmup": self.warmup}


def _optimizer(cfg: TrainConfig, rate, beta_1: float):
    """Adam; in float16 mixed precision, with dynamic loss scaling (it unscales the gradients and skips a step whose
    gradients overflowed)."""
    optimizer = keras.optimizers.Adam(rate, beta_1=beta_1, epsilon=ADAM_EPSILON)
    return keras.optimizers.LossScaleOptimizer(optimizer) if cfg.policy == "mixed_float16" else optimizer


def learning_rate(cfg: TrainConfig, total_steps: int):
    """--adam_lr, constant or as a one-cycle schedule over the run's steps."""
    return OneCycle(cfg.adam_lr, total_steps) if cfg.lr_schedule == "onecycle" else cfg.adam_lr
