"""Quality figures against known values on real Landsat 8 and RGBN crops."""
import math
import os

import numpy as np
import pytest
from scipy.ndimage import shift as spline_shift
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from conftest import LANDSAT, RGBN, ROOT, read
from sr4rs.evaluation import metrics
from sr4rs.geo.degrade import block_mean, degrade
from sr4rs.errors import InputError

SCENE = os.path.join(ROOT, "examples", "landsat8_rgb_512.tif")  # 512 x 512 Landsat R G B, no fill


@pytest.fixture(scope="module")
def scene():
    return read(SCENE).astype(np.float64)


@pytest.fixture(scope="module")
def hr(scene):
    return scene[128:384, 128:384]  # 256 x 256


@pytest.mark.parametrize("path,nodata", [(SCENE, None), (LANDSAT, 0), (RGBN, None)])
def test_identical_images_are_perfect(path, nodata):
    image = read(path).astype(np.float64)
    mask = metrics.valid_pixels(image, nodata)
    scores = metrics.compare(image, image.copy(), factor=4, mask=mask)
    assert scores.psnr.overall == math.inf and all(v == math.inf for v in scores.psnr.bands)
    assert scores.sam == 0.0
    assert scores.rmse.overall == 0.0 and scores.ergas == 0.0
    assert scores.ssim.overall == pytest.approx(1.0, abs=1e-12)
    assert scores.pixels == mask.sum() == (image.shape[0] * image.shape[1] if nodata is None else 13866)


def test_known_constant_gives_known_rmse_psnr_and_ergas(hr):
    test = hr + 25.0
    scores = metrics.compare(hr, test, factor=4)
    assert scores.rmse.bands == pytest.approx((25.0,) * 3) and scores.rmse.overall == pytest.approx(25.0)
    peaks = hr.max(axis=(0, 1)) - hr.min(axis=(0, 1))
    assert scores.psnr.bands == pytest.approx(tuple(20 * np.log10(peaks / 25.0)))
    means = hr.mean(axis=(0, 1))
    assert scores.ergas == pytest.approx(100 / 4 * 25.0 * np.sqrt(np.mean(1 / means ** 2)))
    # An explicit peak (e.g. the UInt16 range) replaces the measured one.
    assert metrics.psnr(hr, test, data_range=65535).overall == pytest.approx(20 * np.log10(65535 / 25.0))


def test_psnr_and_ssim_are_scikit_image_s(hr):
    """Without a mask the figures are scikit-image's (SSIM as Wang et al.: Gaussian 1.5, population covariance)."""
    noisy = hr + np.random.default_rng(0).normal(0, 150, hr.shape)
    peaks = metrics.data_range(hr)
    psnr, ssim = metrics.psnr(hr, noisy), metrics.ssim(hr, noisy)
    for b in range(3):
        assert psnr.bands[b] == pytest.approx(peak_signal_noise_ratio(hr[..., b], noisy[..., b], data_range=peaks[b]))
        assert ssim.bands[b] == pytest.approx(structural_similarity(
            hr[..., b], noisy[..., b], data_range=peaks[b], gaussian_weights=True, sigma=1.5,
            use_sample_covariance=False), rel=1e-9)
    assert 0 < ssim.overall < 1 and psnr.overall == pytest.approx(np.mean(psnr.bands))


def test_sam_of_a_band_gain_is_the_analytic_angle(hr):
    red = hr[..., :1]
    # Spectra (x, x) against (x, sqrt(3) x): atan(sqrt(3)) - atan(1) = 60 - 45 = 15 degrees at every pixel.
    assert metrics.sam(np.concatenate([red, red], -1), np.concatenate([red, math.sqrt(3) * red], -1)) == \
        pytest.approx(15.0, abs=1e-9)
    gains = np.array([1.0, 1.2, 0.8])
    test = hr * gains
    cos = (hr * test).sum(-1) / (np.linalg.norm(hr, axis=-1) * np.linalg.norm(test, axis=-1))
    assert metrics.sam(hr, test) == pytest.approx(np.degrees(np.arccos(cos)).mean(), rel=1e-9)
    # A gain on all bands keeps the angles.
    assert metrics.sam(hr, 1.7 * hr) == pytest.approx(0.0, abs=1e-5)


def test_nodata_pixels_do_not_count():
    image = read(LANDSAT).astype(np.float64)
    mask = metrics.valid_pixels(image, 0)
    test = image * 1.01
    garbage = test.copy()
    garbage[~mask] = np.random.default_rng(1).uniform(0, 60000, (np.count_nonzero(~mask), 3))
    a, b = metrics.compare(image, test, 4, mask), metrics.compare(image, garbage, 4, mask)
    assert (a.psnr, a.ssim, a.rmse, a.sam, a.ergas) == (b.psnr, b.ssim, b.rmse, b.sam, b.ergas)
    # The border keeps pixels away from the fill and from the image edge.
    inner = metrics.evaluation_mask(mask, 3)
    assert inner.sum() < mask.sum() and not inner[:3].any() and not inner[:, -3:].any()


def test_a_gain_gives_the_expected_reflectance_error_and_no_spectral_angle(scene):
    lr = block_mean(scene, 4).astype(np.float64)
    result = metrics.consistency(1.1 * scene, lr, 4)
    assert result.reflectance.bands == pytest.approx(tuple(np.abs(0.1 * lr).mean(axis=(0, 1))), rel=1e-5)
    assert result.reflectance.overall == pytest.approx(np.abs(0.1 * lr).mean(), rel=1e-5)
    assert result.spectral == pytest.approx(0.0, abs=1e-4)
    assert result.spatial.magnitude == pytest.approx(0.0, abs=0.01)
    assert result.pixels == lr.shape[0] * lr.shape[1]


def test_nearest_upsampling_is_consistent_with_its_input(hr):
    lr = degrade(hr, 4).astype(np.float64)
    up = np.repeat(np.repeat(lr, 4, axis=0), 4, axis=1)
    result = metrics.consistency(up, lr, 4)
    # block_mean averages in float32: zero to its precision
    assert result.reflectance.overall == pytest.approx(0.0, abs=1e-6 * lr.mean())
    assert result.spectral == pytest.approx(0.0, abs=1e-4) and result.spatial.magnitude == 0.0


@pytest.mark.parametrize("dy,dx", [(0.3, -0.45), (-0.45, 0.3), (0.0, 0.8)])
def test_a_known_subpixel_shift_is_recovered(scene, dy, dx):
    """The SR image is the real 512 x 512 scene moved by (dy, dx) LR pixels; LR is the unmoved scene x1/4."""
    lr = block_mean(scene, 4).astype(np.float64)
    moved = np.stack([spline_shift(scene[..., b], (4 * dy, 4 * dx), order=3, mode="nearest") for b in range(3)], -1)
    shift = metrics.spatial_consistency(moved, lr, 4)
    assert shift.dy == pytest.approx(dy, abs=0.05) and shift.dx == pytest.approx(dx, abs=0.05)
    assert shift.magnitude == pytest.approx(math.hypot(dy, dx), abs=0.05)


def test_a_shift_is_found_around_holes(scene):
    """Fill pixels (masked) must not pull the estimate towards 0."""
    lr = block_mean(scene, 4).astype(np.float64)
    moved = np.stack([spline_shift(scene[..., b], (1.2, -1.8), order=3, mode="nearest") for b in range(3)], -1)
    mask = np.ones(lr.shape[:2], bool)
    mask[:40, :50] = False
    lr_holed, moved_holed = lr.copy(), moved.copy()
    lr_holed[~mask] = 0
    moved_holed[np.repeat(np.repeat(~mask, 4, 0), 4, 1)] = 0
    shift = metrics.spatial_consistency(moved_holed, lr_holed, 4, mask)
    assert shift.dy == pytest.approx(0.3, abs=0.05) and shift.dx == pytest.approx(-0.45, abs=0.05)


def test_block_sums_equal_whole_image_figures(hr):
    """Strips carrying a halo of context, masked outside their own rows, add up to the whole-image figures."""
    test = hr + np.random.default_rng(2).normal(0, 80, hr.shape)
    valid = np.ones(hr.shape[:2], bool)
    valid[100:120, 30:60] = False  # a hole, as nodata would make
    mask = metrics.evaluation_mask(valid, 8)
    peaks = metrics.data_range(hr, valid)
    whole = metrics.compare(hr, test, 4, mask, peaks)
    halo, total = 8 + metrics.SSIM_RADIUS, metrics.ScoreSums.empty(3)
    for r0 in range(0, 256, 36):
        r1 = min(r0 + 36, 256)
        a0, a1 = max(r0 - halo, 0), min(r1 + halo, 256)
        keep = np.zeros((a1 - a0, 256), bool)
        keep[r0 - a0:r1 - a0] = True
        total = total + metrics.ScoreSums.of_block(hr[a0:a1], test[a0:a1], mask[a0:a1] & keep, peaks,
                                                   metrics.ssim_mask(mask)[a0:a1] & keep)
    blocks = total.scores(4, peaks)
    assert blocks.pixels == whole.pixels
    for name in ("psnr", "ssim", "rmse"):
        assert getattr(blocks, name).bands == pytest.approx(getattr(whole, name).bands, rel=1e-10)
    assert blocks.sam == pytest.approx(whole.sam, rel=1e-10) and blocks.ergas == pytest.approx(whole.ergas, rel=1e-10)


def test_mismatched_images_are_refused_in_one_line(hr):
    with pytest.raises(InputError) as err:
        metrics.compare(hr, hr[:-1], 4)
    assert "\n" not in str(err.value) and "(255, 256, 3)" in str(err.value)
    with pytest.raises(InputError, match="x4"):
        metrics.consistency(hr, hr, 4)
