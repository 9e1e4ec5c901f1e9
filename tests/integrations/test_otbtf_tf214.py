"""Models sr4rs exports run in OTBTF 4.x: loaded with TensorFlow 2.14.1 (the version OTBTF 4.x ships) in a
TF1 session through the serving signature, as TensorflowModelServe does, they return what TensorFlow 2.21
returns, and 2.14 logs no error while loading them.

TensorFlow 2.14.1 runs in its own Python 3.11 environment (the test command makes it:
scripts/setup_integrations.sh); one process runs every model.
"""
import json
import os
import subprocess

import numpy as np
import pytest

from conftest import LANDSAT, S2_10M, S2_20M, read
from integration_tools import HERE, TF214_PYTHON, require_file

OUTPUTS = ("output_0", "output_32", "output_64")


def _single(path, arch, consistency=""):
    from sr4rs.model.contract import ModelMetadata
    from sr4rs.model.export import export_savedmodel
    from sr4rs.nets import build_generator

    import keras

    keras.utils.set_random_seed(1)
    bands = ("B4 red", "B3 green", "B2 blue")
    meta = ModelMetadata(scale=4, input_bands=bands, output_bands=bands, lr_scale=1e-4, hr_scale=1e-4, margin=32,
                         description=f"{arch} test", consistency=consistency)
    return export_savedmodel(build_generator(arch, 3, 4, depth=8, nresblocks=2), path, meta)


def _fusion(path):
    from sr4rs.model.contract import InputSpec, ModelMetadata
    from sr4rs.model.export import export_savedmodel
    from sr4rs.nets import build_generator

    import keras

    keras.utils.set_random_seed(2)
    fine, coarse = ("B2", "B3", "B4", "B8"), ("B5", "B6", "B7", "B8A", "B11", "B12")
    meta = ModelMetadata(scale=2, output_bands=coarse, lr_scale=1e-4, hr_scale=1e-4, margin=16,
                         description="fusion test", inputs=(InputSpec("fine", fine, 1), InputSpec("coarse", coarse, 2)))
    return export_savedmodel(build_generator("fusion", [(4, 1), (6, 2)], 2, depth=8, nresblocks=2), path, meta)


def _inputs(kind):
    """Real pixels: a Landsat 8 window for x4 models, Sentinel-2 10 m and 20 m windows for the fusion model."""
    if kind == "fusion":
        return {"fine": read(S2_10M)[None, :96, :96].astype(np.float32),
                "coarse": read(S2_20M)[None, :48, :48].astype(np.float32)}
    return {"lr_input": read(LANDSAT)[None, 60:100, 60:100].astype(np.float32)}


def _bundled(path):
    from sr4rs.api import bundled_model_path

    return bundled_model_path("landsat-rgb-x4")


KINDS = {"bundled": _bundled, "sr4rs": lambda p: _single(p, "sr4rs"), "edsr": lambda p: _single(p, "edsr"),
         "edsr-consistent": lambda p: _single(p, "edsr", consistency="block"), "fusion": _fusion}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Each kind of model sr4rs exports, its inputs, and its outputs in a TF1 session of TensorFlow 2.21."""
    from sr4rs.model.load import SessionModel

    folder = tmp_path_factory.mktemp("tf214")
    models = {}
    for kind, export in KINDS.items():
        path = export(str(folder / kind))
        arrays = _inputs("fusion" if kind == "fusion" else "single")
        np.savez(folder / f"{kind}_in.npz", **arrays)
        session = SessionModel(path)
        feeds = arrays if kind == "fusion" else arrays["lr_input"]
        models[kind] = (path, {k: session.run(feeds, k) for k in OUTPUTS})
        session.close()
    return folder, models


def test_exported_models_run_in_a_tensorflow_2_14_session(exported):
    python = require_file(TF214_PYTHON, "a Python 3.11 environment with tensorflow-cpu==2.14.1",
                          "python3.11 -m venv ~/.cache/sr4rs/venv-tf2.14 && "
                          "~/.cache/sr4rs/venv-tf2.14/bin/pip install tensorflow-cpu==2.14.1")
    folder, models = exported
    jobs = [{"model": path, "inputs": str(folder / f"{kind}_in.npz"), "outputs": list(OUTPUTS),
             "result": str(folder / f"{kind}_214.npz")} for kind, (path, _) in models.items()]
    (folder / "jobs.json").write_text(json.dumps(jobs))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="0", CUDA_VISIBLE_DEVICES="")
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([python, os.path.join(HERE, "tf1_session_run.py"), str(folder / "jobs.json")],
                          capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.startswith("tensorflow 2.14.1"), proc.stdout
    # TensorFlow's C++ log: "E" lines are errors (2.14 reports node attributes it does not know this way).
    errors = [line for line in proc.stderr.splitlines() if " E tensorflow/" in line or line.startswith("E0")]
    assert not errors, "\n".join(errors)
    for kind, (_, expected) in models.items():
        got = np.load(folder / f"{kind}_214.npz")
        for key in OUTPUTS:
            assert got[key].shape == expected[key].shape, (kind, key)
            # Raw values (reflectances x 10000): 2.14 and 2.21 agree to float32 rounding.
            np.testing.assert_allclose(got[key], expected[key], rtol=1e-4, atol=0.05, err_msg=f"{kind} {key}")
        assert np.ptp(expected["output_0"]) > 100, f"{kind}: a flat output would prove nothing"


def test_export_drops_the_attributes_tensorflow_2_14_does_not_know(exported):
    from tensorflow.core.protobuf import saved_model_pb2

    from sr4rs.model.export import NEWER_ATTRIBUTES

    _, models = exported
    for kind, (path, _) in models.items():
        model = saved_model_pb2.SavedModel()
        model.ParseFromString(open(os.path.join(path, "saved_model.pb"), "rb").read())
        graph = model.meta_graphs[0].graph_def
        nodes = list(graph.node) + [n for f in graph.library.function for n in f.node_def]
        assert any(n.op == "VarHandleOp" for n in nodes), kind
        assert not [n.name for n in nodes if any(a in n.attr for a in NEWER_ATTRIBUTES)], kind
