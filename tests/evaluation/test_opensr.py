"""opensr-test 1.3.3's figures, reproduced: on a small real Landsat triplet whose figures opensr-test itself
computed (tests/testdata/opensr: the arrays, the script that made them, the versions), sr4rs's numpy version
agrees within 1 %."""
import json
import os

import numpy as np
import pytest

from conftest import DATA
from sr4rs.evaluation.opensr import bilinear_down, bilinear_up, opensr_figures

FOLDER = os.path.join(DATA, "opensr")


def _load(name):
    return np.moveaxis(np.load(os.path.join(FOLDER, f"{name}.npy")), 0, -1).astype(np.float64)


def test_opensr_test_figures_are_reproduced_to_one_percent():
    with open(os.path.join(FOLDER, "expected.json")) as f:
        expected = json.load(f)
    assert expected["versions"]["opensr_test"] == "1.3.3"
    figures = opensr_figures(_load("lr"), _load("sr"), _load("hr"))
    reference = expected["figures_float64"]
    ours = {"reflectance": figures.reflectance, "spectral": figures.spectral, "spatial": figures.spatial,
            "synthesis": figures.synthesis, "im_metric": figures.improvement, "om_metric": figures.omission,
            "ha_metric": figures.hallucination}
    for key, value in ours.items():
        assert value == pytest.approx(reference[key], rel=0.01), key
    assert figures.improvement + figures.omission + figures.hallucination == pytest.approx(1.0)


def test_the_triangle_filter_has_opensr_tests_weights():
    """Antialiased bilinear downsampling by 4: [1 3 5 7 7 5 3 1] / 32 inside, [5 7 7 5 3 1] / 28 at the edge."""
    impulse = np.zeros((16, 16, 1))
    impulse[:, 5] = 1.0
    out = bilinear_down(impulse, 4)[0, :, 0]
    assert out[1] == pytest.approx(7 / 32) and out[0] == pytest.approx(1 / 28)  # pixel 5 is 4th of 2..9, 6th of 0..5
    constant = np.full((16, 16, 2), 3.0)
    np.testing.assert_allclose(bilinear_down(constant, 4), 3.0)
    np.testing.assert_allclose(bilinear_up(bilinear_down(constant, 4), 4), 3.0)


def test_consistency_alone_needs_no_reference():
    figures = opensr_figures(_load("lr"), _load("sr"))
    assert np.isfinite([figures.reflectance, figures.spectral, figures.spatial]).all()
    assert np.isnan(figures.synthesis) and np.isnan(figures.hallucination)


@pytest.mark.parametrize("factor", [3, 6])
def test_factors_that_do_not_divide_the_border_keep_the_crops_aligned(factor):
    """opensr-test's 16-pixel border at x3 or x6 (it divides neither): both crops end on whole LR pixels, so
    the figures are computed instead of failing on mismatched shapes."""
    rng = np.random.default_rng(0)
    hr = rng.uniform(0, 1, (20 * factor, 24 * factor, 3))
    lr = bilinear_down(hr, factor)
    figures = opensr_figures(lr, hr, hr)
    assert np.isfinite([figures.reflectance, figures.synthesis]).all()
    up = np.repeat(np.repeat(lr, factor, axis=0), factor, axis=1)
    assert opensr_figures(lr, up).reflectance > 0  # nearest is not consistent under the triangle filter
