"""The layers that make models hold on scenes they never saw, on real Sentinel-2 pixels: the degradation a
model assumes, back-projection onto it, the local regression, and what normalisation makes of a band's level."""
import numpy as np
import pytest

from conftest import S2_10M, S2_20M, read

tf = pytest.importorskip("tensorflow")

from sr4rs.geo.degrade import degrade as wald  # noqa: E402
from sr4rs.nets import build_generator, receptive_radius_lr  # noqa: E402
from sr4rs.nets.consistency import BackProjection, degrade  # noqa: E402
from sr4rs.nets.local import LocalRegression  # noqa: E402


def _real():
    """The 20 m bands (truth) and the 10 m bands over the same ground, as float32, even sizes."""
    fine, coarse = read(S2_10M).astype(np.float32), read(S2_20M).astype(np.float32)
    h, w = min(fine.shape[0] // 4, coarse.shape[0] // 2), min(fine.shape[1] // 4, coarse.shape[1] // 2)
    return fine[:4 * h, :4 * w], coarse[:2 * h, :2 * w]


def _cubic(x, factor):
    return tf.image.resize(x[None], (x.shape[0] * factor, x.shape[1] * factor), method="bicubic").numpy()[0]


def _rmse(a, b):
    return float(np.sqrt(np.mean((a - b) ** 2)))


@pytest.mark.parametrize("sigma", [0.0, 2 / 3])
def test_the_layers_degradation_is_walds(sigma):
    _, truth = _real()
    ours = degrade(tf.constant(truth[None]), 2, sigma).numpy()[0]
    np.testing.assert_allclose(ours, wald(truth, 2, sigma), atol=0.01, rtol=0)


@pytest.mark.parametrize("sigma", [0.0, 2 / 3])
def test_back_projection_gives_back_the_coarse_input_to_rounding(sigma):
    """The cubic upsampling of a degraded band, projected: degraded again it is its input (to rounding), it is
    closer to the truth than cubic, and it keeps the band's mean."""
    _, truth = _real()
    coarse = wald(truth, 2, sigma)
    cubic = _cubic(coarse, 2)
    assert np.abs(wald(cubic, 2, sigma) - coarse).max() > 20  # cubic alone is far from consistent
    out = BackProjection(2, sigma, 2)([tf.constant(cubic[None]), tf.constant(coarse[None])]).numpy()[0]
    assert np.abs(degrade(tf.constant(out[None]), 2, sigma).numpy()[0] - coarse).max() < 0.5
    assert _rmse(out, truth) < 0.95 * _rmse(cubic, truth)
    np.testing.assert_allclose(out.mean(axis=(0, 1)), coarse.mean(axis=(0, 1)), rtol=1e-4)


def test_one_plain_back_projection_step_would_not_do():
    """Without the inverse filter, the same two steps leave a residual many times larger (what the filter buys)."""
    _, truth = _real()
    coarse = wald(truth, 2, 2 / 3)
    y = tf.constant(_cubic(coarse, 2)[None])
    from sr4rs.nets.consistency import spread

    for _ in range(2):
        y = y + spread(tf.constant(coarse[None]) - degrade(y, 2, 2 / 3), 2)
    assert np.abs(degrade(y, 2, 2 / 3).numpy()[0] - coarse).max() > 20


def test_local_regression_recovers_a_band_made_from_the_guides():
    """A coarse band that is an affine mix of the fine bands (real pixels), degraded: the regression gives the mix
    back on the fine grid, where cubic upsampling loses its detail."""
    fine, _ = _real()
    mix = 0.3 * fine[..., :1] - 0.2 * fine[..., 1:2] + 0.9 * fine[..., 3:4] + 150.0
    coarse = wald(mix, 2, 2 / 3)
    out = LocalRegression(2, 2 / 3, 2, 1e-6)([tf.constant(fine[None]), tf.constant(coarse[None])]).numpy()[0]
    core = (slice(8, -8), slice(8, -8))
    assert _rmse(out[core], mix[core]) < 0.05 * _rmse(_cubic(coarse, 2)[core], mix[core])


def test_local_regression_beats_cubic_on_real_bands():
    fine, truth = _real()
    lr_fine, coarse = wald(fine, 2, 2 / 3), wald(truth, 2, 2 / 3)
    out = LocalRegression(2, 2 / 3, 2, 1e-3)([tf.constant(lr_fine[None]), tf.constant(coarse[None])]).numpy()[0]
    assert _rmse(out, truth) < 0.75 * _rmse(_cubic(coarse, 2), truth)


@pytest.mark.parametrize("normalise", ["standard", "local"])
def test_a_bands_level_scales_the_fusion_result_and_nothing_else(normalise):
    """With a normalising network, multiplying every band by its own gain multiplies each output band by its
    gain (but for the share of the scale's floor and the regression's ridge); with a fixed scale it does not."""
    fine, truth = _real()
    inputs = [wald(fine, 2, 2 / 3) * 1e-4, wald(truth, 2, 2 / 3) * 1e-4]
    tf.keras.utils.set_random_seed(3)
    net = build_generator("fusion", [(4, 1), (6, 2)], 2, 16, 2, normalise=normalise)
    fixed = build_generator("fusion", [(4, 1), (6, 2)], 2, 16, 2, normalise="fixed")
    fixed.set_weights(net.get_weights())
    g_fine, g_coarse = np.array([1.4, 1.2, 0.8, 1.5]), np.array([0.7, 1.3, 1.1, 0.9, 1.6, 1.2])
    scaled = [inputs[0] * g_fine, inputs[1] * g_coarse]
    errors = []
    for model in (net, fixed):
        a = model([tf.constant(x[None], tf.float32) for x in inputs]).numpy()[0] * g_coarse
        b = model([tf.constant(x[None], tf.float32) for x in scaled]).numpy()[0]
        correction = a - _cubic(inputs[1] * g_coarse, 2)
        errors.append(np.abs(b - a).mean() / np.abs(correction).mean())
    assert errors[0] < 0.06 and errors[1] > 3 * errors[0], errors  # measured: 0.04 / 0.03 against 0.22


@pytest.mark.parametrize("inputs", [[(4, 1), (6, 2)], [(4, 1), (6, 2), (2, 6)]])
def test_fusion_network_sees_no_further_than_its_radius(inputs):
    """An output pixel depends on inputs within the network's radius only: a crop of the inputs gives the same
    values in its interior (what makes tiles seam-free)."""
    tf.keras.utils.set_random_seed(5)
    net = build_generator("fusion", inputs, max(f for _, f in inputs), 16, 2)
    radius = receptive_radius_lr("fusion", inputs, 2)
    unit, rng = max(f for _, f in inputs), np.random.default_rng(0)
    size = 6 * unit * int(np.ceil(radius / unit))
    arrays = [rng.uniform(0.05, 0.4, (size // f, size // f, n)).astype(np.float32) for n, f in inputs]
    whole = net([tf.constant(a[None]) for a in arrays]).numpy()[0]
    cut = 2 * unit * int(np.ceil(radius / unit))
    part = net([tf.constant(a[None, cut // f:(size - cut) // f, cut // f:(size - cut) // f]) for a, (_, f) in
                zip(arrays, inputs)]).numpy()[0]
    keep = int(np.ceil(radius))
    centre = (slice(cut + keep, size - cut - keep),) * 2
    np.testing.assert_allclose(part[keep:-keep, keep:-keep], whole[centre], atol=1e-4 * np.abs(whole).max())


def test_a_standardising_x4_network_follows_each_bands_gain_and_offset():
    """EDSR with --normalise standard: a band's gain and offset (Level-1 digital numbers against Level-2
    reflectance, say) change its output by the same gain and offset; with a fixed scale they do not."""
    fine, _ = _real()
    lr = (wald(fine[:64, :64], 4, 0) * 1e-4).astype(np.float32)
    gain, offset = np.array([1.3, 0.8, 1.1, 1.5]), np.array([0.05, -0.02, 0.03, 0.0])
    tf.keras.utils.set_random_seed(4)
    net = build_generator("edsr", 4, 4, 16, 2, normalise="standard")
    fixed = build_generator("edsr", 4, 4, 16, 2, normalise="fixed")
    fixed.set_weights(net.get_weights())
    errors = []
    for model in (net, fixed):
        a = model(tf.constant(lr[None]))[-1].numpy()[0] * gain + offset
        b = model(tf.constant((lr * gain + offset)[None]))[-1].numpy()[0]
        residual = a - _cubic(lr * gain + offset, 4)
        errors.append(np.abs(b - a).mean() / np.abs(residual).mean())
    assert errors[0] < 0.05 and errors[1] > 3 * errors[0], errors
