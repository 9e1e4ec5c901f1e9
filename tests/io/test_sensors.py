"""Sensor description files: the shipped ones parse and validate; a bad one is refused in one line naming
the file and the field; a user's folder adds a sensor without any code."""
import json
import os

import pytest

from conftest import run_cli
from sr4rs.errors import InputError
from sr4rs.io.sensors import SHIPPED_DIR, load_sensor, parse_sensor, sensors


def test_every_shipped_sensor_parses_and_validates():
    found = sensors()
    assert {"sentinel2-l1c", "sentinel2-l2a", "landsat-oli-c2-l1", "landsat-oli-c2-l2", "geotiff"} <= set(found)
    l1c = found["sentinel2-l1c"]
    assert [b.name for b in l1c.bands if b.resolution == 10] == ["B2", "B3", "B4", "B8"]
    assert [b.name for b in l1c.bands if b.resolution == 20] == ["B5", "B6", "B7", "B8A", "B11", "B12"]
    assert [b.name for b in l1c.bands if b.resolution == 60] == ["B1", "B9", "B10"]
    assert l1c.band("B04").name == "B4" and l1c.band("red").name == "B4" and l1c.band("B4 red").name == "B4"
    assert "B10" not in [b.name for b in found["sentinel2-l2a"].bands]  # L2A has no cirrus band
    assert {b.name: b.resolution for b in found["landsat-oli-c2-l1"].bands}["B8"] == 15  # panchromatic


def _good():
    with open(os.path.join(SHIPPED_DIR, "sentinel2-l1c.json")) as f:
        return json.load(f)


@pytest.mark.parametrize("change,field,words", [
    (lambda d: d["bands"][3].update(resolution=25), "bands[3].resolution", "not an integer multiple"),
    (lambda d: d["bands"][8]["aliases"].append("B8"), "bands[8]", "already a name of band B8"),
    (lambda d: d["bands"][0].pop("resolution"), "bands[0].resolution", "is missing"),
    (lambda d: d["bands"][0].update(colour="blue"), "bands[0].colour", "is not a field"),
    (lambda d: d.update(format="hdf5"), "format", "is not one of"),
    (lambda d: d.update(dtype="int99"), "dtype", "is not a pixel type"),
    (lambda d: d.update(name="Sentinel 2"), "name", "lower case"),
    (lambda d: d.update(bands=[]), "bands", "non-empty list"),
])
def test_a_bad_sensor_file_names_the_file_and_the_field(tmp_path, change, field, words):
    data = _good()
    change(data)
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError) as err:
        load_sensor(str(path))
    message = str(err.value)
    assert f"sensor file '{path}'" in message and f"field '{field}'" in message and words in message
    assert "\n" not in message


def test_a_users_sensor_folder_adds_a_satellite_without_code(tmp_path, monkeypatch):
    data = _good()
    data.update(name="my-satellite", description="a made-up sensor with Sentinel-2's layout")
    (tmp_path / "my.json").write_text(json.dumps(data))
    monkeypatch.setenv("SR4RS_SENSORS", str(tmp_path))
    assert "my-satellite" in sensors()
    proc = run_cli("-m", "sr4rs.cli.main", "sensors", "--json")
    assert proc.returncode == 0 and "my-satellite" in proc.stdout  # run_cli passes the environment on
    (tmp_path / "broken.json").write_text("{ not json")
    with pytest.raises(InputError, match="broken.json' is not valid JSON"):
        sensors()


def test_cli_lists_sensors_with_their_bands():
    proc = run_cli("-m", "sr4rs.cli.main", "sensors")
    assert proc.returncode == 0, proc.stderr
    assert "sentinel2-l2a  (sentinel2-safe)  10 m: B2 B3 B4 B8; 20 m: B5 B6 B7 B8A B11 B12; 60 m: B1 B9" in proc.stdout
