"""What a run reports beside its checkpoints: TensorBoard scalars and previews, and the validation
PSNR of the generator against bicubic interpolation."""
from __future__ import annotations

import math
from typing import Dict, Optional

import numpy as np
import tensorflow as tf

from ..geo.windows import Window
from ..io.rasters import GdalSource
from .config import TrainConfig


class Monitor:
    """TensorBoard logs (when ``cfg.logdir``: in SR4RS's run folder ``--logdir`` + run name, or in ``--logdir``
    itself with --ckpt_folder) and the previews of ``cfg.preview``: as SR4RS, the whole image (or its central
    ``--preview_crop`` pixels) super-resolved after the first step and every ``--previews_step`` steps."""

    def __init__(self, cfg: TrainConfig):
        self.cfg = cfg
        self.writer = tf.summary.create_file_writer(cfg.log_folder) if cfg.logdir else None
        self.preview = read_preview(cfg.preview, cfg.preview_crop or None) if cfg.preview else None

    def step(self, phase: str, step: int, logs: Dict[str, float], learning_rate: float, generator=None) -> None:
        """After global step ``step`` (1 after the first)."""
        if self.writer is None:
            return
        with self.writer.as_default(step=step):
            for k, v in logs.items():
                tf.summary.scalar(f"{phase}/{k}", v)
            tf.summary.scalar("learning_rate", learning_rate)
        if self.preview is not None and generator is not None and (step - 1) % self.cfg.previews_step == 0:
            write_previews(self.writer, generator, self.preview, self.cfg, step)

    def epoch(self, generator, step: int, figures: Dict[str, float]) -> None:
        if self.writer is None:
            return
        with self.writer.as_default(step=step):
            for k in ("val_psnr", "val_psnr_bicubic"):
                if k in figures:
                    tf.summary.scalar(f"validation/{k}", figures[k])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.flush()


def validate(gen, cfg: TrainConfig, source) -> Dict[str, float]:
    """PSNR of the generator and of bicubic interpolation on the validation patches
    (raw units, peak = the HR patches' maximum)."""
    se_sr = se_bic = n = 0.0
    peak = 0.0
    for lr, hr in source.batches(16, shuffle=False):
        hr = tf.cast(hr, tf.float32)
        inputs = [tf.cast(x, tf.float32) for x in (lr if isinstance(lr, tuple) else (lr,))]
        scaled = [x * cfg.lr_scale for x in inputs]
        out = gen(scaled if len(scaled) > 1 else scaled[0], training=False)
        sr = tf.cast(out[-1] if isinstance(out, (list, tuple)) else out, tf.float32) / cfg.hr_scale
        # the baseline: the bands being super-resolved (a fusion network's coarsest input), bicubic
        bic = tf.image.resize(inputs[-1], tf.shape(hr)[1:3], method="bicubic")
        se_sr += float(tf.reduce_sum(tf.square(sr - hr)))
        se_bic += float(tf.reduce_sum(tf.square(bic - hr)))
        n += float(tf.size(hr))
        peak = max(peak, float(tf.reduce_max(hr)))

    def psnr(se):
        if not (math.isfinite(se) and peak > 0):
            return float("nan")
        return float("inf") if se == 0 else 10 * math.log10(peak ** 2 / (se / n))

    return {"val_psnr": psnr(se_sr), "val_psnr_bicubic": psnr(se_bic)}


def read_preview(path: str, size: Optional[int] = None) -> np.ndarray:
    """An LR image (or its central ``size`` x ``size`` pixels), as a batch of one."""
    source = GdalSource(path)
    try:
        info = source.info
        w, h = (info.width, info.height) if size is None else (min(size, info.width), min(size, info.height))
        arr = source.read(Window((info.width - w) // 2, (info.height - h) // 2, w, h))
    finally:
        source.close()
    return arr[None].astype(np.float32)


def write_previews(writer, gen, preview: np.ndarray, cfg: TrainConfig, step: int) -> None:
    """A contrast-stretched (mean +/- 2 std) RGB preview of every scale's output."""
    outputs = gen(preview * cfg.lr_scale, training=False)
    with writer.as_default(step=step):
        for i, out in enumerate(outputs):
            x = tf.cast(out[..., :3], tf.float32)
            mean, std = tf.reduce_mean(x), tf.math.reduce_std(x)
            img = tf.clip_by_value((x - (mean - 2 * std)) / (4 * std + 1e-12), 0.0, 1.0)
            tf.summary.image(f"preview/scale_{i}", img, step=step)
