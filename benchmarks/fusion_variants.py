#!/usr/bin/env python3
"""What each choice of a fusion network buys on scenes it never saw: trains one small network per variant (the
first estimate: ``--guide``; what the network sees: ``--normalise``; the consistency layer) for the same number
of steps on the training tiles of the Sentinel-2 corpus (``scripts/build_corpus.sh``) and the shared T18SVG
product, by Wald's protocol at every phase, then scores each on the held-out tiles against cubic upsampling and
the classical regression fusion (``sr4rs.evaluation.fusion``'s). Also scores the two layers alone, untrained.

Prints one row per variant: its RMSE as a fraction of cubic's and of the regression's (mean over the held-out
scenes of the per-band ratios, and the worst scene), the worst band's mean bias, and the training step time.

Usage: python benchmarks/fusion_variants.py --corpus DIR --t18svg DIR [--factor 2] [--steps 2771] [--depth 32]
       [--nresblocks 4] [--heldout T29SNC,T32TMT,T34TCS,T35VPK,T29UPU] [--variants regression/standard/backprojection ...]
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402
from osgeo import gdal  # noqa: E402

from sr4rs.geo.degrade import degrade  # noqa: E402
from sr4rs.nets import fusion  # noqa: E402
from sr4rs.nets.consistency import BackProjection  # noqa: E402
from sr4rs.nets.local import LocalRegression  # noqa: E402

SCALE = 1e-4  # reflectance x 10000 -> reflectance
VARIANTS = ("regression/standard/backprojection", "regression/local/backprojection", "none/fixed/none",
            "regression/fixed/backprojection", "none/standard/backprojection", "regression/standard/none")


def _read(path):
    return np.moveaxis(gdal.Open(path).ReadAsArray(), 0, -1).astype(np.float32)


def scenes(corpus: str, t18svg: str):
    """(name, tile, 10 m, 20 m, 60 m B1 B9) per scene."""
    out = []
    stem = os.path.join(t18svg, "S2A_L1C_T18SVG_20160112_")
    if os.path.exists(stem + "10m_B2B3B4B8.tif"):
        out.append(("T18SVG_20160112", "T18SVG", _read(stem + "10m_B2B3B4B8.tif"),
                    _read(stem + "20m_B5B6B7B8AB11B12.tif"), _read(stem + "60m_B1B9B10.tif")[..., :2]))
    with open(os.path.join(corpus, "index.csv"), newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["res_m"] == "10"]
    for r in rows:
        path = os.path.join(corpus, r["file"])
        name = os.path.basename(path)[3:-len("_10m_B2B3B4B8.tif")]
        out.append((name, r["tile_or_pathrow"], _read(path), _read(path.replace("_10m_B2B3B4B8", "_20m_B5B6B7B8AB11B12")),
                    _read(path.replace("_10m_B2B3B4B8", "_60m_B1B9"))))
    return out


def wald_pair(groups, factor: int, shift=(0, 0)):
    """Groups (array, pixels per coarsest pixel) degraded by ``factor``, the coarsest moved by ``shift`` of its
    pixels first; and the target (the coarsest group, native)."""
    a, b = shift
    target = groups[-1][0][b:, a:]
    h, w = target.shape[0] // factor * factor, target.shape[1] // factor * factor
    inputs = [degrade(x[b * k:, a * k:][:h * k, :w * k], factor) for x, k in groups]
    return inputs, target[:h, :w]


def _groups(scene, factor):
    _, _, a, b, c = scene
    return [(a, 2), (b, 1)] if factor == 2 else [(a, 6), (b, 3), (c, 1)]


def training_pairs(all_scenes, heldout, factor):
    pairs = []
    for scene in all_scenes:
        if scene[1] in heldout:
            continue
        for a in range(factor):
            for b in range(factor):
                inputs, target = wald_pair(_groups(scene, factor), factor, (a, b))
                if min(target.shape[:2]) >= 2 * factor:
                    pairs.append((inputs, target))
    return pairs


class Batches:
    """Random patches of the pairs (area-weighted), flips and turns, a gain per sample and a smaller one per band
    of the target (and its input)."""

    def __init__(self, pairs, factors, patch, batch, seed):
        self.pairs, self.factors, self.patch, self.batch = pairs, factors, patch, batch
        self.rng = np.random.default_rng(seed)
        area = np.array([t.shape[0] * t.shape[1] for _, t in pairs], float)
        self.weights = area / area.sum()

    def __call__(self):
        rng, p, c = self.rng, self.patch, self.factors[-1]
        xs, ys = [[] for _ in self.factors], []
        while len(ys) < self.batch:
            inputs, target = self.pairs[rng.choice(len(self.pairs), p=self.weights)]
            if min(target.shape[:2]) < p:
                continue
            r = rng.integers(0, (target.shape[0] - p) // c + 1) * c
            q = rng.integers(0, (target.shape[1] - p) // c + 1) * c
            k, flip = rng.integers(4), rng.integers(2)
            turn = lambda z: np.rot90(z[:, ::-1] if flip else z, k)  # noqa: E731
            gain, bands = np.exp(rng.uniform(-0.5, 0.5)), np.exp(rng.uniform(-0.1, 0.1, target.shape[-1]))
            for i, (x, f) in enumerate(zip(inputs, self.factors)):
                part = turn(x[r // f:(r + p) // f, q // f:(q + p) // f]) * gain
                xs[i].append(part * bands if i == len(inputs) - 1 else part)
            ys.append(turn(target[r:r + p, q:q + p]) * gain * bands)
        return [(np.stack(x) * SCALE).astype(np.float32) for x in xs], (np.stack(ys) * SCALE).astype(np.float32)


def train(model, batches, steps: int, rate: float):
    optimizer = tf.keras.optimizers.Adam(rate)

    @tf.function(reduce_retracing=True)
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.abs(model(x, training=True) - y))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss

    start = time.perf_counter()
    for _ in range(steps):
        step(*batches())
    return (time.perf_counter() - start) / max(steps, 1)


def _cubic(x, factor):
    return tf.image.resize(x[None], (x.shape[0] * factor, x.shape[1] * factor), method="bicubic").numpy()[0]


def regression_fusion(inputs, factor):
    """The classical fusion: each coarse band regressed on the finest bands at the coarse grid, the regressed
    band's high frequencies added to the cubic-upsampled coarse band."""
    fine, coarse = inputs[0], inputs[-1]
    on_coarse = degrade(fine, factor, 0)
    design = np.concatenate([np.ones((on_coarse.shape[0] * on_coarse.shape[1], 1)),
                             on_coarse.reshape(-1, on_coarse.shape[-1])], axis=1)
    coef = np.linalg.lstsq(design, coarse.reshape(-1, coarse.shape[-1]), rcond=None)[0]
    synthetic = coef[0] + fine @ coef[1:]
    return _cubic(coarse, factor) + synthetic - _cubic(degrade(synthetic, factor, 0), factor)


def score(predict, held, factor):
    """Per held-out scene: RMSE / cubic's and / the regression's (mean over bands), the largest |bias| %."""
    rows = []
    for scene in held:
        inputs, target = wald_pair(_groups(scene, factor), factor)
        out = predict(inputs)
        rmse = lambda a: np.sqrt(np.mean((a - target) ** 2, axis=(0, 1)))  # noqa: E731
        bias = 100 * np.abs(out.mean(axis=(0, 1)) / target.mean(axis=(0, 1)) - 1)
        rows.append(((rmse(out) / rmse(_cubic(inputs[-1], factor))).mean(),
                     (rmse(out) / rmse(regression_fusion(inputs, factor))).mean(), bias.max()))
    return np.array(rows)


def layers_alone(factor):
    sigma = fusion.wald_sigma(factor)

    def predict(inputs):
        fine, coarse = (tf.constant(x[None]) for x in (inputs[0], inputs[-1]))
        first = LocalRegression(factor, sigma, fusion.GUIDE_RADIUS, fusion.GUIDE_EPS)([fine, coarse])
        return BackProjection(factor, sigma, fusion.BACKPROJECTIONS)([first, coarse]).numpy()[0]

    return predict


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--t18svg", required=True, help="folder of the shared S2A_L1C_T18SVG_20160112_*.tif")
    ap.add_argument("--factor", type=int, choices=(2, 6), default=2)
    ap.add_argument("--steps", type=int, default=2771)
    ap.add_argument("--depth", type=int, default=32)
    ap.add_argument("--nresblocks", type=int, default=4)
    ap.add_argument("--patch", type=int, default=32, help="target pixels (x6: at most 18)")
    ap.add_argument("--heldout", default="T29SNC,T32TMT,T34TCS,T35VPK,T29UPU")
    ap.add_argument("--variants", nargs="+", default=VARIANTS, help="guide/normalise/consistency")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    heldout = set(args.heldout.split(","))
    factor = args.factor
    all_scenes = scenes(args.corpus, args.t18svg)
    held = [s for s in all_scenes if s[1] in heldout]
    pairs = training_pairs(all_scenes, heldout, factor)
    factors = [1, 2] if factor == 2 else [1, 2, 6]
    print(f"x{factor}: {len(pairs)} training pairs (every phase) from {len({s[0] for s in all_scenes} - {s[0] for s in held})} "
          f"scenes; {len(held)} held-out scenes on {len(heldout)} tiles; {args.steps} steps each")
    print("variant (guide/normalise/consistency) | RMSE/cubic mean, worst scene | RMSE/regression mean, worst | "
          "worst |bias| % | s/step")
    rows = score(layers_alone(factor), held, factor)
    print(f"regression + back-projection, untrained | {rows[:, 0].mean():.3f}, {rows[:, 0].max():.3f} | "
          f"{rows[:, 1].mean():.3f}, {rows[:, 1].max():.3f} | {rows[:, 2].max():.2f} | -")
    for variant in args.variants:
        guide, normalise, consistency = variant.split("/")
        tf.keras.utils.set_random_seed(args.seed)
        inputs = [(x.shape[-1], f) for x, f in zip(pairs[0][0], factors)]
        model = fusion.build(inputs, args.depth, args.nresblocks, guide=guide, normalise=normalise,
                             consistency=consistency)
        patch = args.patch if factor == 2 else min(args.patch, 18)
        seconds = train(model, Batches(pairs, factors, patch, 16, args.seed), args.steps, 5e-4)
        rows = score(lambda x: model([tf.constant(a[None] * SCALE) for a in x]).numpy()[0] / SCALE, held, factor)
        print(f"{variant} | {rows[:, 0].mean():.3f}, {rows[:, 0].max():.3f} | {rows[:, 1].mean():.3f}, "
              f"{rows[:, 1].max():.3f} | {rows[:, 2].max():.2f} | {seconds:.3f}", flush=True)


if __name__ == "__main__":
    main()
