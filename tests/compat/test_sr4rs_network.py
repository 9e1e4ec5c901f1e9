"""--arch sr4rs is SR4RS's network: the same variables (names, shapes, parameter count) as a checkpoint SR4RS's
own train.py wrote, and, with that checkpoint's weights, the outputs SR4RS's SavedModel gave for a real LR crop."""
import numpy as np
import pytest

from sr4rs_reference import CHECKPOINT, landsat_patches, oracle, reference_io  # noqa: F401 (fixtures)

# SR4RS's outputs were made on another machine: CPU kernels round differently (re-running SR4RS's own SavedModel
# here differs from them by up to ~4e-6 of their range), so outputs agree to float32 tolerance, not bit for bit.
TOLERANCE = 1e-5


def _networks():
    from sr4rs.nets import build_generator
    from sr4rs.nets.discriminator import build as build_discriminator

    return build_generator("sr4rs", 3, 4, 8, 1), build_discriminator(3, 4, 8)


def _checkpoint_variables():
    import tensorflow as tf

    shapes = tf.train.load_checkpoint(CHECKPOINT).get_variable_to_shape_map()
    return {k: tuple(v) for k, v in shapes.items() if k.startswith(("gen/", "dis/")) and "Adam" not in k}


def _loaded_generator():
    from sr4rs.training.sr4rs_checkpoints import _assign_network, _reader

    gen, dis = _networks()
    reader = _reader(CHECKPOINT)
    _assign_network(gen, "gen", reader, CHECKPOINT)
    _assign_network(dis, "dis", reader, CHECKPOINT)
    return gen, dis


def _relative_error(ours, reference):
    return float(np.max(np.abs(ours - reference)) / np.max(np.abs(reference)))


def test_same_variables_shapes_and_parameter_count_as_sr4rs():
    from sr4rs.training.sr4rs_checkpoints import sr4rs_name

    gen, dis = _networks()
    ours = {sr4rs_name(v.path, "gen"): tuple(v.shape) for v in gen.variables}
    ours.update({sr4rs_name(v.path, "dis"): tuple(v.shape) for v in dis.variables})
    theirs = _checkpoint_variables()
    assert ours == theirs
    assert gen.count_params() + dis.count_params() == sum(int(np.prod(s)) for s in theirs.values()) == 255674
    # the generator alone: what --arch sr4rs exports
    assert gen.count_params() == sum(int(np.prod(s)) for k, s in theirs.items() if k.startswith("gen/"))


def test_the_generator_from_sr4rs_checkpoint_returns_sr4rs_outputs(reference_io):
    gen, _ = _loaded_generator()
    lr = reference_io["lr_input"].astype(np.float32) * 1e-4
    full = gen(lr)[-1].numpy() / 1e-4  # SR4RS's --hr_scale 0.0001
    for pad in (32, 64):
        reference = reference_io[f"output_{pad}"]
        ours = full[:, pad:-pad, pad:-pad, :]
        assert ours.shape == reference.shape
        assert _relative_error(ours, reference) < TOLERANCE, pad
    # the check can fail: without SR4RS's run-time weight scale the outputs are far off
    wrong = gen.get_layer("res_4x.conv3")
    wrong.kernel.assign(wrong.kernel * 1.01)
    assert _relative_error(gen(lr)[-1].numpy()[:, 32:-32, 32:-32] / 1e-4, reference_io["output_32"]) > 1e-4


def test_the_discriminator_scores_as_sr4rs_does(landsat_patches, oracle):
    """SR4RS's critic (run in its own graph) and ours, on the same real patches and the generator's outputs."""
    import tensorflow as tf

    from sr4rs.io.patches import read_patches
    from sr4rs.nets.equalized import binomial_down2

    gen, dis = _loaded_generator()
    lr, hr = (read_patches(landsat_patches[k]) for k in ("lr", "hr"))
    keep = np.flatnonzero(lr.reshape(len(lr), -1).any(axis=1) & hr.reshape(len(hr), -1).any(axis=1))[:8]
    lr, hr = lr[keep], hr[keep]
    theirs = oracle.run(lr, hr, names=("d_real", "d_fake"))  # batch 8: two groups for minibatch std
    hr_n = tf.constant(hr.astype(np.float32) * 1e-4)

    reals = [tf.nn.avg_pool2d(hr_n, 4, 4, "VALID"), binomial_down2(hr_n), hr_n]
    fakes = gen(lr.astype(np.float32) * 1e-4)
    np.testing.assert_allclose(dis(reals).numpy(), theirs["d_real"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(dis(fakes).numpy(), theirs["d_fake"], rtol=1e-4, atol=1e-5)
    # the check can fail: with a 2 x 2 mean as the x2 image, the scores differ
    means = [reals[0], tf.nn.avg_pool2d(hr_n, 2, 2, "VALID"), hr_n]
    assert not np.allclose(dis(means).numpy(), theirs["d_real"], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_every_scale_builds_and_keeps_sr4rs_layout(scale):
    """x4 is SR4RS's; x2 and x8 follow the same pattern (a stage per factor of two, the 9x9 convolution in
    the last one)."""
    from sr4rs.nets import build_generator
    from sr4rs.nets.discriminator import build as build_discriminator

    gen = build_generator("sr4rs", 3, scale, 4, 1)
    outs = gen(np.zeros((2, 8, 8, 3), np.float32))
    assert [o.shape[1] for o in outs] == [8 * 2 ** i for i in range(len(outs))] and outs[-1].shape[1] == 8 * scale
    assert gen.get_layer(f"res_{scale}x.conv3").kernel.shape[0] == 9
    score = build_discriminator(3, scale, 4)(outs)
    assert score.shape == (2, 1)
