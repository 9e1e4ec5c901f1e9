"""Build a small LR/SR/HR triplet from real Landsat 8 data and record the figures that
opensr-test 1.3.3 (PyPI ``opensr-test``) reports for it with its default configuration.

Run with a Python that has opensr-test==1.3.3 (and torch) installed, from anywhere:

    /tmp/opensr-venv/bin/python tests/testdata/opensr/make_expected.py

Writes lr.npy, sr.npy, hr.npy (float32, layout (bands, rows, cols)) and expected.json next to
this script. sr4rs itself does not need opensr-test or torch: its tests only read these files.

Case (all deterministic):
  * source: ../landsat8_rgb_crop.tif (UInt16 DN, 3 bands B4 B3 B2). Its valid data is the
    lower-left triangle (the fill, 0, covers the top and a diagonal band), the largest all-valid
    square is 75 x 75, so a 72 x 72 window is used: rows 85..156, cols 0..71 (no 0 pixel).
  * HR = window / 10000 (float; the opensr-test examples feed reflectance scaled to ~0-1;
    with the default config only the L1 figures, reflectance and synthesis, depend on the scale).
  * LR = mean of HR over 4 x 4 blocks (factor 4): 18 x 18.
  * SR = scipy.ndimage.zoom(LR, (1, 4, 4), order=3, mode="reflect", grid_mode=True)
         (cubic B-spline, pixel-area aligned grid) + 0.02 * std(HR) * N(0, 1),
         N from numpy.random.default_rng(0).standard_normal((3, 72, 72)), std over all of HR.
"""
import json
import pathlib
import sys

import numpy as np
import scipy
import scipy.ndimage
import tifffile
import torch

import opensr_test
from opensr_test.correctness import get_distances

HERE = pathlib.Path(__file__).resolve().parent
SOURCE = HERE.parent / "landsat8_rgb_crop.tif"
ROW, COL, SIZE, FACTOR = 85, 0, 72, 4
SCALE = 10000.0
NOISE_REL, SEED = 0.02, 0


def build_case():
    img = tifffile.imread(SOURCE)
    if img.ndim == 3 and img.shape[-1] in (3, 4) and img.shape[0] not in (3, 4):
        img = np.moveaxis(img, -1, 0)  # (rows, cols, bands) -> (bands, rows, cols)
    win = img[:, ROW:ROW + SIZE, COL:COL + SIZE]
    assert win.shape == (3, SIZE, SIZE), win.shape
    assert (win != 0).all(), "window touches the 0 fill"
    hr = win.astype(np.float64) / SCALE
    c, h, w = hr.shape
    lr = hr.reshape(c, h // FACTOR, FACTOR, w // FACTOR, FACTOR).mean(axis=(2, 4))
    up = scipy.ndimage.zoom(lr, (1, FACTOR, FACTOR), order=3, mode="reflect", grid_mode=True)
    noise = np.random.default_rng(SEED).standard_normal(hr.shape)
    sr = up + NOISE_REL * hr.std() * noise
    return lr.astype(np.float32), sr.astype(np.float32), hr.astype(np.float32)


def main():
    torch.set_num_threads(1)
    lr, sr, hr = build_case()
    for name, arr in (("lr", lr), ("sr", sr), ("hr", hr)):
        np.save(HERE / f"{name}.npy", arr)
    # reload exactly what is stored
    lr, sr, hr = (np.load(HERE / f"{n}.npy") for n in ("lr", "sr", "hr"))
    t_lr, t_sr, t_hr = (torch.from_numpy(a) for a in (lr, sr, hr))

    config = opensr_test.Config()  # the default configuration, unchanged
    metrics = opensr_test.Metrics()  # == Metrics(params=Config())
    figures = metrics.compute(lr=t_lr, sr=t_sr, hr=t_hr)  # gradient_threshold="auto"
    figures = {k: float(v) for k, v in figures.items()}
    # the same stored arrays, cast to float64 before the call: opensr-test then computes in
    # float64 (the float32 "spectral" figure carries ~3% rounding noise here: the angles are
    # ~0.08 deg, where acos of a float32 cosine is ill-conditioned)
    figures64 = opensr_test.Metrics().compute(
        lr=t_lr.double(), sr=t_sr.double(), hr=t_hr.double())
    figures64 = {k: float(v) for k, v in figures64.items()}

    # ---- intermediate values, to help debugging a re-implementation ------------------------
    # state left by compute(): lr/sr/hr/lr_to_hr/sr_harm are those of the last setup
    # (synthesis(), with hr=hr); d_ref/d_im/d_om (masked) are those of correctness().
    d_ref, d_im, d_om = get_distances(
        lr_to_hr=metrics.lr_to_hr, sr_harm=metrics.sr_harm, hr=metrics.hr,
        distance_method=config.correctness_distance, agg_method=config.agg_method,
        scale=metrics.scale_factor, patch_size=config.patch_size, rgb_bands=config.rgb_bands)
    k = int(0.75 * d_ref.numel())
    threshold = d_ref.flatten().kthvalue(k).values.item()
    mask = (d_ref > threshold) | (d_im > threshold) | (d_om > threshold)

    # the two PCC warps (translation in pixels, x = column, y = row)
    import satalign.pcc
    def pcc_shift(moving, reference):
        model = satalign.pcc.PCC(datacube=moving.numpy()[None], reference=reference.numpy(),
                                 max_translations=config.spatial_threshold_distance)
        _, warps = model.run()
        return {"tx": float(warps[0][0, 2]), "ty": float(warps[0][1, 2]),
                "warning_status": bool(model.warning_status)}
    from opensr_test.utils import apply_mask, apply_upsampling, hq_histogram_matching
    b = config.border_mask
    lr_c, sr_c, hr_c = apply_mask(t_lr, b // FACTOR), apply_mask(t_sr, b), apply_mask(t_hr, b)
    sr_to_lr = apply_upsampling(sr_c, FACTOR)
    sr_hm = hq_histogram_matching(sr_c, hr_c)

    aux = {
        "lr_cropped_shape": list(lr_c.shape),
        "hr_cropped_shape": list(hr_c.shape),
        "sr_to_lr_mean_per_band": [float(v) for v in sr_to_lr.double().mean(dim=(1, 2))],
        "lr_to_hr_mean_per_band": [float(v) for v in metrics.lr_to_hr.double().mean(dim=(1, 2))],
        "sr_histmatched_mean_per_band": [float(v) for v in sr_hm.double().mean(dim=(1, 2))],
        "sr_harm_mean_per_band": [float(v) for v in metrics.sr_harm.double().mean(dim=(1, 2))],
        "sr_harm_dtype": str(metrics.sr_harm.dtype),
        "spatial_pcc_lr_vs_sr_to_lr": pcc_shift(lr_c[config.rgb_bands], sr_to_lr[config.rgb_bands]),
        "harm_pcc_srhist_vs_hr": pcc_shift(sr_hm, hr_c),
        "correctness_auto_threshold_k": k,
        "correctness_auto_threshold": threshold,
        "correctness_n_pixels": int(d_ref.numel()),
        "correctness_n_masked_in": int(mask.sum()),
        "d_ref_mean_all": float(d_ref.double().mean()),
        "d_im_mean_all": float(d_im.double().mean()),
        "d_om_mean_all": float(d_om.double().mean()),
        "d_ref_mean_masked": float(metrics.d_ref.double().nanmean()),
        "d_im_mean_masked": float(metrics.d_im.double().nanmean()),
        "d_om_mean_masked": float(metrics.d_om.double().nanmean()),
        "d_im_ref_mean_masked": float(metrics.d_im_ref.double().nanmean()),
        "d_om_ref_mean_masked": float(metrics.d_om_ref.double().nanmean()),
        "classification_fractions_argmax": {
            name: float(((metrics.classification == i) & mask).sum() / mask.sum())
            for i, name in enumerate(("improvement", "omission", "hallucination"))},
    }

    import cv2, satalign, skimage
    out = {
        "description": "opensr-test 1.3.3 Metrics().compute(lr, sr, hr) on lr.npy/sr.npy/hr.npy "
                       "(default Config, gradient_threshold='auto'); 'figures': the float32 "
                       "arrays as stored; 'figures_float64': the same arrays cast to float64 "
                       "before the call; see README.md",
        "figures": figures,
        "figures_float64": figures64,
        "auxiliary": aux,
        "inputs": {
            "layout": "(bands, rows, cols), float32, passed as torch.from_numpy(...) (C, H, W), no batch axis",
            "source": "tests/testdata/landsat8_rgb_crop.tif (B4 B3 B2, UInt16 DN)",
            "window": {"row": ROW, "col": COL, "rows": SIZE, "cols": SIZE},
            "hr": f"window / {SCALE:g}",
            "lr": f"mean over {FACTOR}x{FACTOR} blocks of hr",
            "sr": "scipy.ndimage.zoom(lr, (1,4,4), order=3, mode='reflect', grid_mode=True) "
                  f"+ {NOISE_REL} * hr.std() * numpy.random.default_rng({SEED}).standard_normal(hr.shape), "
                  "computed in float64, stored float32",
            "shapes": {"lr": list(lr.shape), "sr": list(sr.shape), "hr": list(hr.shape)},
            "scale_factor": FACTOR,
        },
        "config": json.loads(config.model_dump_json()),
        "versions": {
            "opensr_test": opensr_test.__version__,
            "torch": torch.__version__,
            "satalign": satalign.__version__,
            "opencv_python": cv2.__version__,
            "scikit_image": skimage.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "python": sys.version.split()[0],
        },
    }
    (HERE / "expected.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps({"float32": figures, "float64": figures64}, indent=2))


if __name__ == "__main__":
    main()
