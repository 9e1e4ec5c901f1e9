"""The OTBTF image's entry point (docker/otbtf-serve.sh) asks TensorflowModelServe for the fields sr4rs's own
--backend otbtf computes for the same model and tile (a recording stand-in plays otbcli_TensorflowModelServe:
OTBTF itself is not installable here)."""
import dataclasses
import os
import subprocess

from conftest import LANDSAT
from integration_tools import ROOT

SCRIPT = os.path.join(ROOT, "docker", "otbtf-serve.sh")


def _serve(tmp_path, *args):
    fake = tmp_path / "bin"
    fake.mkdir(exist_ok=True)
    (fake / "otbcli_TensorflowModelServe").write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{tmp_path}/args"\n')
    (fake / "otbcli_TensorflowModelServe").chmod(0o755)
    env = dict(os.environ, PATH=f"{fake}{os.pathsep}{os.environ['PATH']}",
               SR4RS_MODELS=os.path.join(ROOT, "sr4rs", "model", "bundled"))
    proc = subprocess.run(["bash", SCRIPT, *args], capture_output=True, text=True, env=env)
    return proc, (tmp_path / "args").read_text().splitlines() if (tmp_path / "args").exists() else []


def test_serve_asks_for_the_fields_of_the_otbtf_backend(tmp_path):
    from sr4rs import api
    from sr4rs.inference.otbtf import job_for
    from sr4rs.inference.plan import plan_apply

    proc, argv = _serve(tmp_path, "landsat-rgb-x4", "in.tif", "out.tif?&gdal:co:COMPRESS=DEFLATE", "256")
    assert proc.returncode == 0, proc.stderr
    model = api.load_model("landsat-rgb-x4")
    big = dataclasses.replace(api.read_info(LANDSAT), width=4096, height=4096)  # tiles not capped by the image
    job = job_for(plan_apply(big, model, api.ApplyOptions(tile_size=256), exported_pad_only=True))
    expected = job.parameters("in.tif", model.path, "OUT")
    got = dict(zip(argv[0::2], argv[1::2]))
    for key, value in expected.items():
        value = value[0] if isinstance(value, list) else value
        if key == "out":
            assert got["-out"].startswith("out.tif?&gdal:co:COMPRESS=DEFLATE&streaming:type=tiled")
        elif key == "model.dir":
            assert os.path.samefile(got["-model.dir"], value)
        elif isinstance(value, float):
            assert abs(float(got["-" + key]) - value) < 1e-12, key
        else:
            assert got["-" + key] == str(value), key
    assert argv[-1] == "float"


def test_serve_refuses_an_unknown_model_and_a_tile_off_the_scale(tmp_path):
    proc, _ = _serve(tmp_path, "no-such-model", "in.tif", "out.tif")
    assert proc.returncode == 1 and "landsat-rgb-x4" in proc.stderr
    proc, _ = _serve(tmp_path, "landsat-rgb-x4", "in.tif", "out.tif", "250")
    assert proc.returncode == 1 and "multiple of the scale 4" in proc.stderr
