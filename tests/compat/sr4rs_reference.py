"""What the compatibility tests share: SR4RS's own checkpoint, SavedModel and outputs (tests/testdata/sr4rs-reference),
SR4RS's training graph run as an oracle, and Wald patches of the real Landsat crop."""
import glob
import os

import numpy as np
import pytest

from conftest import DATA, LANDSAT

REFERENCE = os.path.join(DATA, "sr4rs-reference")
SAVEDMODEL = os.path.join(REFERENCE, "savedmodel")
CHECKPOINT = glob.glob(os.path.join(REFERENCE, "checkpoint", "*.index"))[0][:-len(".index")]
# The network SR4RS trained for the reference (its flags: --depth 8 --nresblocks 1, x4, 3 bands).
NETWORK = ["--depth", "8", "--nresblocks", "1"]


@pytest.fixture(scope="session")
def reference_io():
    return dict(np.load(os.path.join(REFERENCE, "reference_io.npz")))


@pytest.fixture(scope="session")
def landsat_patches(tmp_path_factory):
    """Wald x4 pairs (8 px LR, 32 px HR) of the real Landsat crop, which crosses the scene's untagged 0 fill: 24
    pairs, 13 of them all fill, as OTBTF's PatchesExtraction would write them."""
    from sr4rs.data.extraction import extract_patches

    d = tmp_path_factory.mktemp("landsat_patches")
    extract_patches(None, LANDSAT, str(d / "lr.tif"), str(d / "hr.tif"), 8, step=8, factor=4)
    return {"lr": str(d / "lr.tif"), "hr": str(d / "hr.tif")}


class Oracle:
    """SR4RS's training graph (saved whole in its SavedModel), run in a TensorFlow 1 session: its tensors
    can be fed (the random mix weights of the gradient penalty too) and read by name."""

    TENSORS = {"d_real": "dis/bn/Mean:0", "d_fake": "dis_1/bn/Mean:0", "l1": "AddN:0", "l2": "AddN_1:0",
               "gp": "Mean_9:0", "dis_loss": "Mean_12:0", "gan": "mul_12:0", "gen_loss": "add_7:0"}

    def __init__(self):
        import tensorflow as tf

        self.graph = tf.Graph()
        with self.graph.as_default():
            self.session = tf.compat.v1.Session()
            tf.compat.v1.saved_model.loader.load(self.session, ["serve"], SAVEDMODEL)

    def run(self, lr, hr, alpha=None, names=None):
        """The tensors ``names`` (default: all) for a batch; ``alpha`` (4 x 1 x 1 x 1, SR4RS's batch size) is needed
        by the gradient penalty and the losses built on it."""
        feeds = {"lr_input:0": lr, "hr_input:0": hr}
        if alpha is not None:
            feeds["random_uniform:0"] = alpha
        values = self.session.run({k: self.TENSORS[k] for k in names or self.TENSORS}, feeds)
        return {k: np.asarray(v) for k, v in values.items()}


@pytest.fixture(scope="session")
def oracle():
    o = Oracle()
    yield o
    o.session.close()
