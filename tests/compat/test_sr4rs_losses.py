"""The losses follow SR4RS's definitions: every term equals what SR4RS's own training graph computes for the same
weights, patches and random mix weights; the x2 target, the minibatch standard deviation and the VGG features
are checked against SR4RS's definitions written out here in numpy."""
import numpy as np
import pytest

from sr4rs_reference import CHECKPOINT, landsat_patches, oracle  # noqa: F401 (fixtures)

NAMES = ("B4", "B3", "B2")


def _gan(**flags):
    from sr4rs.api import TrainConfig
    from sr4rs.training.data import TrainingData
    from sr4rs.training.gan import SRGAN

    cfg = TrainConfig(lr_patches=("lr.tif",), hr_patches=("hr.tif",), save_ckpt="unused", depth=8, nresblocks=1,
                      **flags)
    return SRGAN(cfg, TrainingData(False, 4, ((3, 4),), (NAMES,), NAMES, {}))


def _batch(landsat_patches, n=4):
    from sr4rs.io.patches import read_patches

    lr, hr = (read_patches(landsat_patches[k]) for k in ("lr", "hr"))
    keep = np.flatnonzero(lr.reshape(len(lr), -1).any(axis=1) & hr.reshape(len(hr), -1).any(axis=1))[:n]
    return lr[keep], hr[keep]


def test_every_loss_term_equals_sr4rs_graph(landsat_patches, oracle):
    """SR4RS's defaults (WGAN-GP, --l2weight 1000, --ganweight 1), its checkpoint's weights, four real pairs."""
    from sr4rs.training.sr4rs_checkpoints import restore_sr4rs

    gan = _gan()
    restore_sr4rs(gan, CHECKPOINT, weights_only=True)
    lr, hr = _batch(landsat_patches)
    alpha = np.array([0.1, 0.4, 0.7, 0.95], np.float32).reshape(4, 1, 1, 1)
    theirs = oracle.run(lr, hr, alpha)
    lr_n, hr_n = gan._normalised(lr, hr)
    reals = gan.losses.reals(hr_n)
    fakes = gan.estimates(lr_n)
    ours = gan.generator_terms(reals, fakes)
    ours["gp"] = gan.losses.gradient_penalty(gan.discriminator, reals, fakes, alpha)
    ours["dis_loss"] = gan.discriminator_loss(reals, fakes, alpha)
    for term in ("l1", "l2", "gan", "gp", "dis_loss"):
        np.testing.assert_allclose(float(ours[term]), float(theirs[term]), rtol=1e-4, atol=1e-7, err_msg=term)
    np.testing.assert_allclose(float(ours["loss"]), float(theirs["gen_loss"]), rtol=1e-4, err_msg="weighted sum")
    # the check can fail: other mix weights give another penalty
    other = gan.discriminator_loss(reals, fakes, alpha[::-1])
    assert abs(float(other) - float(theirs["dis_loss"])) > 1e-4 * abs(float(theirs["dis_loss"]))


def _binomial_down2(x):
    """SR4RS's x2 image: [1 2 1]/4 in each direction, every second pixel, zero padding ("same": none before,
    one pixel after for an even size)."""
    k = np.array([1.0, 2.0, 1.0]) / 4.0
    padded = np.pad(x, ((0, 0), (0, 1), (0, 1), (0, 0)))
    rows = sum(k[i] * padded[:, i:i + x.shape[1]:2] for i in range(3))
    return sum(k[j] * rows[:, :, j:j + x.shape[2]:2] for j in range(3))


def test_the_references_at_each_scale(landsat_patches):
    gan = _gan()
    _, hr = _batch(landsat_patches)
    hr_n = hr.astype(np.float32) * 1e-4
    x4, x2, x1 = (np.asarray(r) for r in gan.losses.reals(hr_n))
    np.testing.assert_allclose(x1, hr_n)
    np.testing.assert_allclose(x2, _binomial_down2(hr_n), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(x4, hr_n.reshape(4, 8, 4, 8, 4, 3).mean(axis=(2, 4)), rtol=1e-6)
    # other networks (coarser outputs are block means of the full one) keep block means at every scale
    edsr = _gan(arch="edsr")
    np.testing.assert_allclose(edsr.losses.reals(hr_n)[1].numpy(), hr_n.reshape(4, 16, 2, 16, 2, 3).mean(axis=(2, 4)),
                               rtol=1e-6)


def test_minibatch_standard_deviation_groups_by_four():
    """Image n of a batch of N joins the group of the images n mod (N / 4), as SR4RS's reshape to (4, -1, ...)."""
    from sr4rs.nets.layers import MinibatchStd

    x = np.random.default_rng(0).normal(size=(8, 3, 3, 2)).astype(np.float32)
    out = MinibatchStd(4)(x).numpy()
    groups = x.reshape(4, 2, 3, 3, 2)  # groups[g, m] = image g * 2 + m
    std = np.sqrt(groups.var(axis=0) + 1e-8).mean(axis=(1, 2, 3))  # one value per m
    np.testing.assert_allclose(out[..., :2], x)
    np.testing.assert_allclose(out[..., 2], np.broadcast_to(std[np.arange(8) % 2, None, None], (8, 3, 3)), rtol=1e-5)
    # a batch of 6 (SR4RS would fail): groups of 3, the largest size not above 4 that divides it
    six = MinibatchStd(4)(x[:6]).numpy()[..., 2]
    np.testing.assert_allclose(six[:, 0, 0], np.sqrt(x[:6].reshape(3, 2, 3, 3, 2).var(axis=0) + 1e-8)
                               .mean(axis=(1, 2, 3))[np.arange(6) % 2], rtol=1e-5)


@pytest.fixture(scope="module")
def vgg_file(tmp_path_factory):
    """A VGG19-shaped weights dict (VGG19's layer names, narrow channels), seeded: no download."""
    rng = np.random.default_rng(0)
    weights, cin = {}, 3
    for block, n, width in ((1, 2, 4), (2, 2, 4), (3, 4, 8), (4, 4, 8), (5, 4, 8)):
        for i in range(n):
            weights[f"conv{block}_{i + 1}"] = [rng.normal(0, 0.3, (3, 3, cin, width)).astype(np.float32),
                                              rng.normal(0, 1.0, width).astype(np.float32)]
            cin = width
    path = str(tmp_path_factory.mktemp("vgg") / "vgg19.npy")
    np.save(path, weights, allow_pickle=True)
    return path


@pytest.mark.parametrize("features,sizes,negative", [
    ("1234", [16, 8, 4, 2], False),  # pool1 ... pool4
    ("1234lin", [32, 16, 8, 4, 2], True),  # conv1_2, conv2_2, conv3_4, conv4_4, conv5_4 before their ReLU
    ("vgg54", [2], False),  # relu5_4
    ("vgg54lin", [2], True),
    ("vgg344454", [8, 4, 2], False),
])
def test_vgg_features_are_sr4rs_layers(vgg_file, features, sizes, negative):
    from sr4rs.nets.vgg import vgg_features

    model = vgg_features(vgg_file, features)
    maps = model(np.random.default_rng(1).uniform(0, 255, (1, 32, 32, 3)).astype(np.float32))
    maps = maps if isinstance(maps, (list, tuple)) else [maps]
    assert [m.shape[1] for m in maps] == sizes
    assert any(float(np.min(m)) < 0 for m in maps) == negative
    if features == "1234":  # pool1 is relu1_2 max-pooled by 2
        relu = model.get_layer("relu1_2").output
        import keras

        probe = keras.Model(model.input, relu)(np.ones((1, 32, 32, 3), np.float32) * 50).numpy()
        pooled = model(np.ones((1, 32, 32, 3), np.float32) * 50)[0].numpy()
        np.testing.assert_allclose(pooled, probe.reshape(1, 16, 2, 16, 2, 4).max(axis=(2, 4)), rtol=1e-6)


def test_vgg_loss_clips_to_0_1_before_scaling_to_255(vgg_file):
    from sr4rs.nets.vgg import vgg_features, vgg_loss

    model = vgg_features(vgg_file, "1234")
    rng = np.random.default_rng(2)
    real = rng.uniform(0, 1, (2, 16, 16, 3)).astype(np.float32)
    fake = rng.uniform(-0.5, 1.5, (2, 16, 16, 3)).astype(np.float32)
    assert float(vgg_loss(model, real, fake)) == pytest.approx(float(vgg_loss(model, real, np.clip(fake, 0, 1))),
                                                               rel=1e-6)
    assert float(vgg_loss(model, real, real + 2.0)) == pytest.approx(float(vgg_loss(model, real, np.ones_like(real))))


@pytest.mark.parametrize("size", [8, 7])
def test_points_place_patches_as_otbtf_patches_extraction(size):
    """OTBTF: the index of the pixel holding the point, minus half the patch size (integer division)."""
    from sr4rs.geo.patches import point_windows

    gt = (1000.0, 30.0, 0.0, 5000.0, 0.0, -30.0)
    centre = (1000.0 + 30 * 20.5, 5000.0 - 30 * 10.5)  # the centre of pixel (20, 10)
    edge = (1000.0 + 30 * 20, 5000.0 - 30 * 10)  # its top-left corner: the pixel after the edge
    inside = (1000.0 + 30 * 20.9, 5000.0 - 30 * 10.1)
    for point in (centre, edge, inside):
        window = point_windows([point], gt, size)[0]
        assert (window.col_off, window.row_off) == (20 - size // 2, 10 - size // 2), point
