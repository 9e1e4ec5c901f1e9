"""``sr4rs models`` and ``--model NAME``: the bundled models found by name."""
import json

from osgeo import gdal

from conftest import LANDSAT, run_cli


def test_models_lists_the_bundled_models_with_inputs_and_bands():
    proc = run_cli("-m", "sr4rs.cli.main", "models", "--json")
    assert proc.returncode == 0, proc.stderr
    models = {m["name"]: m for m in json.loads(proc.stdout)}
    landsat = models["landsat-rgb-x4"]
    assert landsat["scale"] == 4 and landsat["output_bands"] == ["B4 red", "B3 green", "B2 blue"]
    assert landsat["inputs"] == [{"name": "lr_input", "bands": ["B4 red", "B3 green", "B2 blue"], "factor": 4}]
    text = run_cli("-m", "sr4rs.cli.main", "models").stdout
    assert "landsat-rgb-x4  x4" in text


def test_model_by_name_and_unknown_names(tmp_path):
    out = tmp_path / "sr.tif"
    proc = run_cli("apply.py", "--input", LANDSAT, "--model", "landsat-rgb-x4", "--output", str(out), "--ts", "256")
    assert proc.returncode == 0, proc.stderr
    assert gdal.Open(str(out)).GetMetadataItem("SR4RS_MODEL") == "landsat-rgb-x4"
    proc = run_cli("apply.py", "--input", LANDSAT, "--model", "landsat", "--output", str(tmp_path / "b.tif"))
    assert proc.returncode == 1 and "no bundled model 'landsat' (bundled: landsat-ms-x2, landsat-rgb-x4" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "b.tif").exists()
    proc = run_cli("apply.py", "--input", LANDSAT, "--model", "landsat-rgb-x4", "--savedmodel", "x",
                   "--output", str(tmp_path / "c.tif"))
    assert proc.returncode == 1 and "give one --model or --savedmodel" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "c.tif").exists()


def test_every_bundled_model_loads_in_older_tensorflow(tmp_path):
    """No node attribute that TensorFlow 2.14 (OTBTF 4.x) does not know is left in a bundled model's graph."""
    import shutil

    from sr4rs.api import bundled_model_path, list_model_names
    from sr4rs.model.export import drop_newer_attributes

    assert len(list_model_names()) >= 3
    for name in list_model_names():
        copy = shutil.copytree(bundled_model_path(name), tmp_path / name)
        assert drop_newer_attributes(str(copy)) == 0, name
