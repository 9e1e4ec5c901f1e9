"""The SRGAN trainer: pixel (L1, L2), perceptual (VGG) and adversarial losses at every
scale, checkpoints every epoch, TensorBoard logs, and the SavedModel export."""
from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, Optional, Tuple

import numpy as np

from .contract import ModelMetadata
from .errors import InputError, OutputError, Sr4rsError

log = logging.getLogger(__name__)


class TrainingError(Sr4rsError, RuntimeError):
    """Training cannot go on (a non-finite loss, a broken checkpoint)."""


@dataclass(frozen=True)
class TrainConfig:
    """Every flag of ``train.py``; defaults and names are SR4RS's."""

    lr_patches: Tuple[str, ...]
    hr_patches: Tuple[str, ...]
    save_ckpt: str
    load_ckpt: Optional[str] = None
    finetune: bool = False
    savedmodel: Optional[str] = None
    overwrite: bool = False
    preview: Optional[str] = None
    logdir: Optional[str] = None
    vggfile: Optional[str] = None
    valid_lr_patches: Tuple[str, ...] = ()
    valid_hr_patches: Tuple[str, ...] = ()
    lr_scale: float = 0.0001
    hr_scale: float = 0.0001
    previews_step: int = 200
    arch: str = "sr4rs"
    depth: int = 64
    nresblocks: int = 16
    epochs: int = 120
    batchsize: int = 4
    # Defaults of SR4RS's latest train.py, so that its command lines train the same way.
    adam_lr: float = 0.001
    adam_b1: float = 0.0
    l1weight: float = 0.0
    l2weight: float = 1000.0
    vggweight: float = 0.00001
    vggfeatures: str = "1234"
    ganweight: float = 1.0
    losstype: str = "WGAN-GP"
    streaming: bool = False
    pretrain: bool = False
    augment: bool = False
    seed: Optional[int] = None
    keep_ckpt: int = 3
    bands: Tuple[str, ...] = ()
    nodata: Optional[float] = None
    description: str = ""


@dataclass
class TrainResult:
    step: int
    epoch: int
    losses: Dict[str, float]
    history: list = field(default_factory=list)  # per epoch: mean losses (+ validation PSNR)
    savedmodel: Optional[str] = None
    seconds: float = 0.0


StepCallback = Callable[[str, int, int, int, Dict[str, float]], None]  # phase, epoch, step in epoch, steps, logs


def _check_config(cfg: TrainConfig) -> None:
    from .networks import ARCHS
    from .vgg import FEATURES

    if cfg.arch not in ARCHS:
        raise InputError(f"unknown --arch '{cfg.arch}': choose one of {', '.join(ARCHS)}")
    if cfg.losstype not in ("WGAN-GP", "LSGAN"):
        raise InputError(f"unknown --losstype '{cfg.losstype}': choose WGAN-GP or LSGAN")
    if cfg.vggfeatures not in FEATURES:
        raise InputError(f"unknown --vggfeatures '{cfg.vggfeatures}': choose one of {', '.join(FEATURES)}")
    for name in ("lr_scale", "hr_scale", "adam_lr"):
        if not getattr(cfg, name) > 0:
            raise InputError(f"--{name} must be positive, received {getattr(cfg, name)}")
    for name in ("epochs", "batchsize", "depth"):
        if getattr(cfg, name) < 1:
            raise InputError(f"--{name} must be at least 1, received {getattr(cfg, name)}")
    if cfg.vggfile is not None:
        from .vgg import load_vgg_weights
        load_vgg_weights(cfg.vggfile)
    if cfg.savedmodel:
        if os.path.exists(cfg.savedmodel) and not cfg.overwrite:
            raise OutputError(f"SavedModel folder '{cfg.savedmodel}' already exists: remove it or pass --overwrite")
        from .raster import check_output_path
        check_output_path(os.path.join(os.path.dirname(os.path.abspath(cfg.savedmodel)), "probe"), overwrite=True)
    if cfg.load_ckpt is not None and _latest_checkpoint(cfg.load_ckpt) is None:
        raise TrainingError(f"--load_ckpt '{cfg.load_ckpt}' holds no checkpoint: give the --save_ckpt folder "
                            "of an earlier run (or drop --load_ckpt to start afresh)")


def _latest_checkpoint(path: str) -> Optional[str]:
    import tensorflow as tf

    if os.path.isdir(path):
        return tf.train.latest_checkpoint(path)
    return path if os.path.exists(path + ".index") else None


class _Losses:
    """Builds the loss terms once; all are computed at every scale of the generator."""

    def __init__(self, cfg: TrainConfig, scale: int, nbands: int):
        import tensorflow as tf

        self.cfg, self.tf = cfg, tf
        self.factors = [2 ** i for i in reversed(range(int(round(math.log2(scale))) + 1))]  # e.g. 4, 2, 1
        self.vgg = None
        if cfg.vggfile is not None and cfg.vggweight > 0:
            from .vgg import vgg_features
            self.vgg = vgg_features(cfg.vggfile, cfg.vggfeatures)

    def reals(self, hr):
        tf = self.tf
        return [hr if f == 1 else tf.nn.avg_pool2d(hr, f, f, "VALID") for f in self.factors]

    def pixel(self, reals, fakes):
        tf = self.tf
        l1 = tf.add_n([tf.reduce_mean(tf.abs(f - r)) for r, f in zip(reals, fakes)])
        l2 = tf.add_n([tf.reduce_mean(tf.square(f - r)) for r, f in zip(reals, fakes)])
        return l1, l2

    def perceptual(self, reals, fakes):
        from .vgg import vgg_loss

        if self.vgg is None:
            return self.tf.constant(0.0)
        # normalised values x 255 / (typical max): 16-bit reflectance x 1e-4 is about 0..1
        return self.tf.add_n([vgg_loss(self.vgg, r, f, 255.0) for r, f in zip(reals, fakes)])


def train(cfg: TrainConfig, on_step: Optional[StepCallback] = None) -> TrainResult:
    """Train a generator on the patches of ``cfg``; export a SavedModel if ``cfg.savedmodel``."""
    from .dataset import PatchesDataset, describe_patches

    _check_config(cfg)
    desc = describe_patches(list(cfg.lr_patches), list(cfg.hr_patches))
    if cfg.valid_lr_patches:
        vdesc = describe_patches(list(cfg.valid_lr_patches), list(cfg.valid_hr_patches))
        if (vdesc.ratio, vdesc.lr_bands, vdesc.hr_bands) != (desc.ratio, desc.lr_bands, desc.hr_bands):
            raise InputError("validation patches differ from training patches in ratio or bands: "
                             "extract both with the same settings")
    if desc.lr_bands != desc.hr_bands:
        raise InputError(f"LR patches have {desc.lr_bands} band(s) but HR patches {desc.hr_bands}: the generators "
                         "map each band to itself, extract LR and HR with the same bands")
    scale = desc.ratio
    if scale < 2 or scale & (scale - 1):
        raise InputError(f"the HR/LR patch size ratio is {scale}: the networks support powers of two (2, 4, 8)")
    if cfg.bands and len(cfg.bands) != desc.lr_bands:
        raise InputError(f"--bands names {len(cfg.bands)} bands but the patches have {desc.lr_bands}: "
                         "name every band, in order")
    if cfg.preview:
        from .raster import read_info
        if read_info(cfg.preview).count != desc.lr_bands:
            raise InputError(f"--preview '{cfg.preview}' has {read_info(cfg.preview).count} band(s) but the LR "
                             f"patches have {desc.lr_bands}: give an LR image with the same bands")
    if desc.count < cfg.batchsize:
        raise InputError(f"{desc.count} patches are fewer than --batchsize {cfg.batchsize}: "
                         "extract more patches or lower --batchsize")

    import keras
    import tensorflow as tf

    from .networks import build_generator, discriminator, receptive_radius_lr

    if cfg.seed is not None:
        keras.utils.set_random_seed(cfg.seed)
    # Patches are read and checked (no empty or all-nodata patch) before anything is written.
    source = PatchesDataset(list(cfg.lr_patches), list(cfg.hr_patches), streaming=cfg.streaming)
    valid_source = PatchesDataset(list(cfg.valid_lr_patches), list(cfg.valid_hr_patches)) \
        if cfg.valid_lr_patches else None
    os.makedirs(cfg.save_ckpt, exist_ok=True)
    with open(os.path.join(cfg.save_ckpt, "config.json"), "w", encoding="utf-8") as f:
        json.dump(asdict(cfg), f, indent=2)

    gen = build_generator(cfg.arch, desc.lr_bands, scale, cfg.depth, cfg.nresblocks,
                          skip_gain=cfg.hr_scale / cfg.lr_scale)
    use_gan = cfg.ganweight > 0
    dis = discriminator(desc.hr_bands, scale, cfg.depth) if use_gan else None
    losses = _Losses(cfg, scale, desc.hr_bands)
    g_opt = keras.optimizers.Adam(cfg.adam_lr, beta_1=cfg.adam_b1)
    d_opt = keras.optimizers.Adam(cfg.adam_lr, beta_1=cfg.adam_b1)
    p_opt = keras.optimizers.Adam(cfg.adam_lr)  # SR4RS pre-trains with Adam's default beta1
    g_opt.build(gen.trainable_variables)
    p_opt.build(gen.trainable_variables)
    if use_gan:
        d_opt.build(dis.trainable_variables)
    step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    epoch_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
    phase_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="phase")  # 0 pre-training, 1 training
    # The gradient penalty's random numbers come from a generator saved in the checkpoint,
    # so that a resumed run draws what the uninterrupted run would have drawn.
    rng = tf.random.Generator.from_seed(cfg.seed) if cfg.seed is not None else tf.random.Generator.from_non_deterministic_state()
    tracked = dict(generator=gen, g_opt=g_opt, p_opt=p_opt, step=step, epoch=epoch_var, phase=phase_var, rng=rng)
    if use_gan:
        tracked.update(discriminator=dis, d_opt=d_opt)
    ckpt = tf.train.Checkpoint(**tracked)
    manager = tf.train.CheckpointManager(ckpt, cfg.save_ckpt, max_to_keep=cfg.keep_ckpt)
    if cfg.load_ckpt is not None:
        path = _latest_checkpoint(cfg.load_ckpt)
        try:
            restored = ckpt if not cfg.finetune else tf.train.Checkpoint(generator=gen, **(
                {"discriminator": dis} if use_gan else {}))
            restored.restore(path).expect_partial().assert_existing_objects_matched()
        except (tf.errors.OpError, AssertionError, ValueError) as err:
            first = str(err).strip().splitlines()[0][:200]
            raise TrainingError(f"checkpoint '{path}' cannot be restored ({first}): it is corrupt or was made "
                                "with other --arch/--depth/--nresblocks") from None
        log.info("restored %s at step %d", path, int(step.numpy()))

    to_f32 = lambda x: tf.cast(x, tf.float32)  # noqa: E731

    def gan_terms(reals, fakes):
        d_real, d_fake = dis(reals, training=True), dis(fakes, training=True)
        if cfg.losstype == "LSGAN":
            return (tf.reduce_mean(tf.square(d_real - 1) + tf.square(d_fake)),
                    tf.reduce_mean(tf.square(d_fake - 1)), d_real)
        return tf.reduce_mean(d_fake - d_real), -tf.reduce_mean(d_fake), d_real

    def gradient_penalty(reals, fakes):
        alpha = rng.uniform([tf.shape(reals[0])[0], 1, 1, 1])
        mixed = [r + alpha * (f - r) for r, f in zip(reals, fakes)]
        with tf.GradientTape() as tape:
            tape.watch(mixed)
            score = tf.reduce_sum(dis(mixed, training=True))
        grads = tape.gradient(score, mixed)
        norms = [tf.sqrt(tf.reduce_sum(tf.square(g), axis=[1, 2, 3]) + 1e-12) for g in grads]
        return tf.reduce_mean([tf.reduce_mean(tf.square(n - 1.0)) for n in norms])

    @tf.function(reduce_retracing=True)
    def pretrain_step(lr, hr):
        lr_n, hr_n = to_f32(lr) * cfg.lr_scale, to_f32(hr) * cfg.hr_scale
        reals = losses.reals(hr_n)
        with tf.GradientTape() as tape:
            fakes = gen(lr_n, training=True)
            l1, l2 = losses.pixel(reals, fakes)
            total = cfg.l1weight * l1 + cfg.l2weight * l2
        p_opt.apply_gradients(zip(tape.gradient(total, gen.trainable_variables), gen.trainable_variables))
        return {"loss": total, "l1": l1, "l2": l2}

    @tf.function(reduce_retracing=True)
    def train_step(lr, hr):
        lr_n, hr_n = to_f32(lr) * cfg.lr_scale, to_f32(hr) * cfg.hr_scale
        reals = losses.reals(hr_n)
        logs = {}
        if use_gan:
            with tf.GradientTape() as d_tape:
                fakes = gen(lr_n, training=True)
                d_loss, _, d_real = gan_terms(reals, [tf.stop_gradient(f) for f in fakes])
                if cfg.losstype == "WGAN-GP":
                    d_loss += 10.0 * gradient_penalty(reals, fakes) + 0.001 * tf.reduce_mean(tf.square(d_real))
            d_opt.apply_gradients(zip(d_tape.gradient(d_loss, dis.trainable_variables), dis.trainable_variables))
            logs["dis"] = d_loss
        with tf.GradientTape() as g_tape:
            fakes = gen(lr_n, training=True)
            l1, l2 = losses.pixel(reals, fakes)
            vgg = losses.perceptual(reals, fakes)
            total = cfg.l1weight * l1 + cfg.l2weight * l2 + cfg.vggweight * vgg
            if use_gan:
                _, g_gan, _ = gan_terms(reals, fakes)
                total += cfg.ganweight * g_gan
                logs["gan"] = g_gan
        g_opt.apply_gradients(zip(g_tape.gradient(total, gen.trainable_variables), gen.trainable_variables))
        logs.update({"loss": total, "l1": l1, "l2": l2, "vgg": vgg})
        return logs

    writer = tf.summary.create_file_writer(cfg.logdir) if cfg.logdir else None
    preview = _read_preview(cfg.preview) if cfg.preview else None

    def epoch_batches(phase_index: int, epoch: int):
        # one seed per (phase, epoch): a resumed run shuffles and augments as the whole run would have
        seed = None if cfg.seed is None else cfg.seed * 1_000_003 + phase_index * 10_007 + epoch
        return source.batches(cfg.batchsize, shuffle=True, augment=cfg.augment, seed=seed, drop_remainder=True)

    steps_per_epoch = desc.count // cfg.batchsize
    phases = (["pretrain"] if cfg.pretrain else []) + ["train"]
    start = time.perf_counter()
    result = TrainResult(step=int(step.numpy()), epoch=int(epoch_var.numpy()), losses={})
    last_good = manager.latest_checkpoint
    if cfg.finetune:
        step.assign(0), epoch_var.assign(0), phase_var.assign(0)
    for phase_index, phase in enumerate(phases):
        if cfg.pretrain and int(phase_var.numpy()) > phase_index:
            continue  # resumed past this phase
        fn = pretrain_step if phase == "pretrain" else train_step
        while int(epoch_var.numpy()) < cfg.epochs:
            epoch = int(epoch_var.numpy())
            sums: Dict[str, float] = {}
            for i, (lr, hr) in enumerate(epoch_batches(phase_index, epoch)):
                logs = {k: float(v) for k, v in fn(lr, hr).items()}
                if not all(math.isfinite(v) for v in logs.values()):
                    bad = ", ".join(f"{k}={v}" for k, v in logs.items() if not math.isfinite(v))
                    keep = f"the last good checkpoint is {last_good}" if last_good else "no checkpoint was saved"
                    raise TrainingError(f"the loss became non-finite at step {int(step.numpy())} ({bad}): "
                                        f"lower --adam_lr or check the --lr_scale/--hr_scale; {keep}")
                for k, v in logs.items():
                    sums[k] = sums.get(k, 0.0) + v
                step.assign_add(1)
                if writer is not None:
                    with writer.as_default(step=int(step.numpy())):
                        for k, v in logs.items():
                            tf.summary.scalar(f"{phase}/{k}", v)
                        tf.summary.scalar("learning_rate", cfg.adam_lr)
                if on_step is not None:
                    on_step(phase, epoch, i + 1, steps_per_epoch, logs)
            means = {k: v / max(steps_per_epoch, 1) for k, v in sums.items()}
            if cfg.valid_lr_patches:
                means.update(validate(gen, cfg, valid_source))
                if writer is not None:
                    with writer.as_default(step=int(step.numpy())):
                        for k in ("val_psnr", "val_psnr_bicubic"):
                            tf.summary.scalar(f"validation/{k}", means[k])
            if writer is not None and preview is not None:
                _write_previews(writer, gen, preview, cfg, int(step.numpy()))
            epoch_var.assign_add(1)
            last_good = manager.save(checkpoint_number=int(step.numpy()))
            result.history.append({"phase": phase, "epoch": epoch + 1, **means})
            result.losses = means
            log.info("%s epoch %d: %s", phase, epoch + 1, means)
        if phase == "pretrain":
            epoch_var.assign(0)
            phase_var.assign(1)
    if writer is not None:
        writer.flush()
    result.step, result.epoch, result.seconds = int(step.numpy()), int(epoch_var.numpy()), time.perf_counter() - start
    if cfg.savedmodel:
        from .export import export_savedmodel

        margin = scale * math.ceil(receptive_radius_lr(cfg.arch, scale, cfg.nresblocks))
        names = tuple(cfg.bands) or (tuple(desc.lr_band_names) if all(desc.lr_band_names)
                                     else tuple(f"band{i + 1}" for i in range(desc.lr_bands)))
        meta = ModelMetadata(
            scale=scale, input_bands=names, output_bands=names, lr_scale=cfg.lr_scale, hr_scale=cfg.hr_scale,
            nodata=cfg.nodata, margin=margin,
            description=cfg.description or f"{cfg.arch} generator x{scale}, trained with sr4rs",
            training={"flags": {k: v for k, v in asdict(cfg).items() if not isinstance(v, tuple)},
                      "data": {"patches": desc.count, "lr_patch_size": desc.lr_patch_size,
                               "hr_patch_size": desc.hr_patch_size, "lr_dtype": str(desc.lr_dtype),
                               "files": list(cfg.lr_patches)},
                      "steps": result.step, "history": result.history})
        export_savedmodel(gen, cfg.savedmodel, meta, overwrite=cfg.overwrite)
        result.savedmodel = cfg.savedmodel
    return result


def validate(gen, cfg: TrainConfig, source) -> Dict[str, float]:
    """PSNR of the generator and of bicubic interpolation on the validation patches
    (raw units, peak = the HR patches' maximum)."""
    import tensorflow as tf

    data = source.batches(16, shuffle=False)
    se_sr = se_bic = n = 0.0
    peak = 0.0
    for lr, hr in data:
        lr, hr = tf.cast(lr, tf.float32), tf.cast(hr, tf.float32)
        sr = gen(lr * cfg.lr_scale, training=False)[-1] / cfg.hr_scale
        bic = tf.image.resize(lr, tf.shape(hr)[1:3], method="bicubic")
        se_sr += float(tf.reduce_sum(tf.square(sr - hr)))
        se_bic += float(tf.reduce_sum(tf.square(bic - hr)))
        n += float(tf.size(hr))
        peak = max(peak, float(tf.reduce_max(hr)))
    def psnr(se):
        if not (math.isfinite(se) and peak > 0):
            return float("nan")
        return float("inf") if se == 0 else 10 * math.log10(peak ** 2 / (se / n))

    return {"val_psnr": psnr(se_sr), "val_psnr_bicubic": psnr(se_bic)}


def _read_preview(path: str, size: int = 128) -> np.ndarray:
    from . import raster
    from .windows import Window

    info = raster.read_info(path)
    w, h = min(size, info.width), min(size, info.height)
    reader = raster.Reader(path)
    arr = reader.read(Window((info.width - w) // 2, (info.height - h) // 2, w, h))
    reader.close()
    return arr[None].astype(np.float32)


def _write_previews(writer, gen, preview: np.ndarray, cfg: TrainConfig, step: int) -> None:
    """A contrast-stretched (mean +/- 2 std) RGB preview of every scale's output."""
    import tensorflow as tf

    outputs = gen(preview * cfg.lr_scale, training=False)
    with writer.as_default(step=step):
        for i, out in enumerate(outputs):
            x = out[..., :3]
            mean, std = tf.reduce_mean(x), tf.math.reduce_std(x)
            img = tf.clip_by_value((x - (mean - 2 * std)) / (4 * std + 1e-12), 0.0, 1.0)
            tf.summary.image(f"preview/scale_{i}", img, step=step)
