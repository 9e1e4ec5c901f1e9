"""STAC items as inputs and outputs, over HTTP on loopback: Earth Search's and Planetary Computer's items give the
.SAFE's values (the 04.00 offset removed), a fusion model reads a multi-grid item, a window read fetches a small
part of a large COG, written items validate with stac-validator, apply-many runs a saved search, and every bad
input is one line."""
import glob
import json
import os

import numpy as np
import pytest
from osgeo import gdal

from conftest import read, run_cli
from items import earth_search_item, save, write_cog
from sr4rs import api
from sr4rs.errors import InputError
from sr4rs.io.products import open_product, resolve
from sr4rs.scenes import expand_scenes
from stac_fixtures import stac  # noqa: F401 (the fixture)


def test_items_give_the_safe_values_with_the_offset_removed(stac):
    """Stored values carry +1000 since baseline 04.00: Earth Search states offset -0.1, Planetary Computer states
    the baseline only; both read as the .SAFE does, and as an item of unshifted COGs."""
    raw = gdal.Open(os.path.join(stac["folder"], "cogs-0510", "B04_10m.tif")).ReadAsArray()
    assert (raw[raw > 0] >= 1000).all()
    for bands in (["B4", "B3", "B2", "B8"], ["B5", "B8A", "B12"], ["B1", "B9"]):
        reference = read(resolve(stac["safe"], bands))
        for key in ("es", "pc", "es_old"):
            np.testing.assert_array_equal(read(resolve(stac[key], bands)), reference, err_msg=f"{key} {bands}")
    product = open_product(stac["es"])
    assert product.sensor.name == "sentinel2-l2a" and product.offsets["B4"] == -1000.0
    assert product.files["B8A"].endswith("/B8A_20m.tif") and product.files["B8A"].startswith("/vsicurl/http://")
    assert open_product(stac["pc"]).offsets["B4"] == -1000.0 and open_product(stac["es_old"]).offsets == {}
    # the same names as a product's: asset keys, eo:bands names and common names
    np.testing.assert_array_equal(read(resolve(stac["pc"], ["B04", "nir"])), read(resolve(stac["safe"], ["B4", "B8"])))


def test_apply_on_an_offset_item_equals_apply_on_unshifted_pixels(stac, x4_model, tmp_path):
    model = api.load_model(x4_model)
    outputs = {}
    for key in ("es", "es_old"):
        outputs[key] = str(tmp_path / f"{key}.tif")
        api.apply(stac[key], outputs[key], model, api.ApplyOptions(tile_size=64))
    api.apply(stac["safe"], str(tmp_path / "safe.tif"), model, api.ApplyOptions(tile_size=64))
    np.testing.assert_array_equal(read(outputs["es"]), read(outputs["es_old"]))
    np.testing.assert_array_equal(read(outputs["es"]), read(tmp_path / "safe.tif"))
    assert read(outputs["es"]).shape == (99 * 4, 127 * 4, 3)


def test_a_fusion_model_reads_a_multi_grid_item(stac, fusion_model, tmp_path):
    model = api.load_model(fusion_model)
    api.apply(stac["pc"], str(tmp_path / "pc.tif"), model)
    api.apply(stac["safe"], str(tmp_path / "safe.tif"), model)
    out = gdal.Open(str(tmp_path / "pc.tif"))
    assert (out.RasterXSize, out.RasterYSize, out.RasterCount) == (127, 99, 6)
    assert out.GetGeoTransform() == gdal.Open(resolve(stac["safe"], ["B2"])).GetGeoTransform()
    np.testing.assert_array_equal(read(tmp_path / "pc.tif"), read(tmp_path / "safe.tif"))


def test_a_window_read_fetches_a_small_part_of_a_large_cog(stac, tmp_path):
    """A 2032 x 1584 COG (the 10 m crop tiled 16 x 16): reading 64 x 64 pixels fetches its header and one tile."""
    big = np.tile(read(os.path.join(stac["folder"], "cogs-0510", "B04_10m.tif"))[..., 0], (16, 16))
    folder = os.path.join(stac["folder"], "large")
    os.makedirs(folder, exist_ok=True)
    like = str(tmp_path / "like.tif")
    crop = gdal.Open(os.path.join(stac["folder"], "cogs-0510", "B04_10m.tif"))
    gdal.Translate(like, crop, width=big.shape[1], height=big.shape[0])
    write_cog(os.path.join(folder, "B04.tif"), big, like)
    size = os.path.getsize(os.path.join(folder, "B04.tif"))
    server = stac["server"]
    item = earth_search_item({"B4": ("B04.tif", like)}, server.url("large"), item_id="large")
    save(os.path.join(folder, "item.json"), item)
    path = api.open_inputs(server.url("large/item.json"), ["red"])[0]
    before = server.served["/large/B04.tif"]
    with api.GdalSource(path) as source:
        from sr4rs.geo.windows import Window

        pixels = source.read(Window(1000, 700, 64, 64))
    fetched = server.served["/large/B04.tif"] - before
    np.testing.assert_array_equal(pixels[..., 0], big[700:764, 1000:1064].astype(np.int16) - 1000)
    assert fetched < 0.05 * size, f"{fetched} of {size} bytes fetched for 64 x 64 pixels"


def _schema_map():
    """The STAC 1.1.0 core schemas and GeoJSON's, from pystac's own copies (no network)."""
    import pystac

    root = os.path.join(os.path.dirname(pystac.__file__), "validation", "jsonschemas")
    found = {}
    for path in glob.glob(os.path.join(root, "stac-spec", "v1.1.0", "*.json")):
        name = os.path.basename(path)
        spec = {"catalog.json": "catalog-spec", "collection.json": "collection-spec"}.get(name, "item-spec")
        found[f"https://schemas.stacspec.org/v1.1.0/{spec}/json-schema/{name}"] = path
    for name in ("Feature", "Geometry"):
        found[f"https://geojson.org/schema/{name}.json"] = os.path.join(root, "geojson", f"{name}.json")
    return found


def _valid(path):
    from stac_validator.stac_validator import StacValidate

    validator = StacValidate(str(path), core=True, schema_map=_schema_map())
    return validator.run(), validator.message


def test_the_output_item_describes_the_cog_and_validates(stac, x4_model, tmp_path):
    output = str(tmp_path / "sr.tif")
    api.apply(stac["es"], output, x4_model, api.ApplyOptions(cog=True), quicklook=str(tmp_path / "sr.png"))
    item = json.load(open(tmp_path / "sr.json"))
    ok, message = _valid(tmp_path / "sr.json")
    assert ok, message
    ds = gdal.Open(output)
    x0, px, _, y0, _, py = ds.GetGeoTransform()
    props = item["properties"]
    assert props["proj:code"] == "EPSG:32618" and props["proj:shape"] == [ds.RasterYSize, ds.RasterXSize]
    assert props["proj:transform"] == [px, 0.0, x0, 0.0, py, y0] and px == 2.5
    assert props["processing:software"] == {"sr4rs": api.__version__ if hasattr(api, "__version__") else "0.1.0"}
    assert props["sr4rs:model"] == "x4" and props["sr4rs:scale"] == 4
    assert props["datetime"].startswith("2016-01-12T15:56:22") and props["platform"] == "sentinel-2a"
    data = item["assets"]["data"]
    assert data["href"] == "sr.tif" and "cloud-optimized" in data["type"]
    assert [b["name"] for b in data["eo:bands"]] == ["B4", "B3", "B2"]
    assert [b.get("common_name") for b in data["eo:bands"]] == ["red", "green", "blue"]
    assert {b["data_type"] for b in data["raster:bands"]} == {"int16"}
    assert item["assets"]["overview"]["href"] == "sr.png"
    assert [(link["rel"], link["href"]) for link in item["links"]] == [("derived_from", stac["es"])]
    lon, lat = np.array(item["geometry"]["coordinates"][0]).T
    assert -75.64 < lon.min() < lon.max() < -75.62 and 37.67 < lat.min() < lat.max() < 37.68
    # the validator does fail an item that is not one
    del item["bbox"], item["geometry"]
    save(tmp_path / "broken.json", item)
    assert not _valid(tmp_path / "broken.json")[0]


def test_cli_apply_reads_an_item_url_and_writes_its_item(stac, x4_model, tmp_path):
    out = run_cli("-m", "sr4rs", "apply", "--input", stac["pc"], "--savedmodel", x4_model, "--output",
                  str(tmp_path / "pc.tif"), "--cog", "--no-progress")
    assert out.returncode == 0, out.stderr
    item = json.load(open(tmp_path / "pc.json"))
    assert item["links"][0]["href"] == stac["pc"] and item["assets"]["data"]["href"] == "pc.tif"
    api.apply(stac["es"], str(tmp_path / "es.tif"), x4_model)
    assert not os.path.exists(tmp_path / "es.json")  # --stac is on with --cog only
    np.testing.assert_array_equal(read(tmp_path / "pc.tif"), read(tmp_path / "es.tif"))


def test_apply_many_runs_a_saved_search(stac, x4_model, tmp_path):
    model = api.load_model(x4_model)
    api.apply(stac["es"], str(tmp_path / "ref.tif"), model)
    assert expand_scenes([os.path.join(stac["folder"], "search.json")]) == [
        os.path.join(stac["folder"], "search.json") + "#" + stac["items"][k]["id"] for k in ("es", "pc")]
    items = tmp_path / "items"
    items.mkdir()
    for key in ("es", "pc"):
        save(items / f"{key}.json", json.load(open(os.path.join(stac["folder"], f"{key}.json"))))
    assert expand_scenes([str(items)]) == [str(items / "es.json"), str(items / "pc.json")]
    out = run_cli("-m", "sr4rs", "apply-many", os.path.join(stac["folder"], "search.json"), "--savedmodel", x4_model,
                  "--output-dir", str(tmp_path / "out"), "--workers", "1", "--stac", "--no-progress")
    assert out.returncode == 0, out.stderr
    for key in ("es", "pc"):
        name = stac["items"][key]["id"]
        np.testing.assert_array_equal(read(tmp_path / "out" / f"{name}_x4.tif"), read(tmp_path / "ref.tif"))
        assert json.load(open(tmp_path / "out" / f"{name}_x4.json"))["properties"]["sr4rs:scale"] == 4


def test_a_flaky_server_is_retried(stac, tmp_path):
    from sr4rs.io import stac as stac_io

    stac["server"].flaky("es_old.json", 2)
    stac_io._cache.clear()
    assert read(resolve(stac["es_old"], ["B4"])).shape == (99, 127, 1)


def _bad_items(stac, tmp_path):
    """Items and documents that cannot be read, each beside the words its message must hold."""
    server, folder = stac["server"], stac["folder"]
    rgb = {k: v for k, v in stac["items"]["es"]["assets"].items() if k in ("red", "green", "blue")}
    save(os.path.join(folder, "rgb.json"), dict(stac["items"]["es"], id="rgb", assets=rgb))
    other = dict(stac["items"]["es"]["assets"])
    crs_folder = os.path.join(folder, "utm19")
    os.makedirs(crs_folder, exist_ok=True)
    write_cog(os.path.join(crs_folder, "B05_20m.tif"), read(resolve(stac["safe"], ["B5"]))[..., 0].astype(np.uint16),
              resolve(stac["safe"], ["B5"]), epsg=32619)
    other["rededge1"] = dict(other["rededge1"], href=server.url("utm19/B05_20m.tif"), **{"proj:epsg": 32619})
    save(os.path.join(folder, "crs.json"), dict(stac["items"]["es"], id="crs", assets=other))
    missing = dict(stac["items"]["es"]["assets"])
    missing["red"] = dict(missing["red"], href=server.url("cogs-0510/gone.tif"))
    save(os.path.join(folder, "gone.json"), dict(stac["items"]["es"], id="gone", assets=missing))
    save(tmp_path / "feature.json", {"type": "Feature", "geometry": None, "properties": {}})
    server.fail("forbidden.json", 403)
    server.stall("stalled.json")
    return [
        ("unreachable", "http://127.0.0.1:9/item.json", [], "cannot be reached"),
        ("404", server.url("nothing.json"), [], "not found (HTTP 404)"),
        ("403", server.url("forbidden.json"), [], "refused (HTTP 403)"),
        ("timeout", server.url("stalled.json"), [], "did not answer within 1 s"),
        ("bands", server.url("rgb.json"), ["fusion"],
         "has no asset for band(s) B8, B5, B6, B7, B8A, B11, B12 (it has B2, B3, B4)"),
        ("crs", server.url("crs.json"), ["fusion"], "different CRSs (EPSG:32618: "),
        ("asset 404", server.url("gone.json"), [], "HTTP response code: 404"),
        ("not an item", str(tmp_path / "feature.json"), [], "is not a STAC item"),
    ]


def test_bad_inputs_are_one_line_and_write_nothing(stac, x4_model, fusion_model, tmp_path):
    """Each refused before any work, in one line; three of them through the command line (exit 1)."""
    saved = {k: os.environ.get(k) for k in ("GDAL_HTTP_TIMEOUT", "GDAL_HTTP_MAX_RETRY")}
    os.environ.update(GDAL_HTTP_TIMEOUT="1", GDAL_HTTP_MAX_RETRY="0")
    gdal.SetConfigOption("GDAL_HTTP_TIMEOUT", "1")
    gdal.SetConfigOption("GDAL_HTTP_MAX_RETRY", "0")
    try:
        for case, source, extra, words in _bad_items(stac, tmp_path):
            model = fusion_model if extra else x4_model
            out_dir = tmp_path / case.replace(" ", "_")
            out_dir.mkdir()
            if case in ("unreachable", "bands", "not an item"):
                result = run_cli("-m", "sr4rs", "apply", "--input", source, "--savedmodel", model, "--output",
                                 str(out_dir / "o.tif"), "--cog")
                lines = result.stderr.strip().splitlines()
                assert result.returncode == 1 and len(lines) == 1, (case, result.stderr)
                message = lines[0]
            else:
                with pytest.raises(InputError) as caught:
                    api.apply(source, str(out_dir / "o.tif"), model, api.ApplyOptions(cog=True))
                message = str(caught.value)
                assert "\n" not in message
            assert words in message, (case, message)
            assert os.listdir(out_dir) == [], case
    finally:
        for key, value in saved.items():
            gdal.SetConfigOption(key, value)
            os.environ.pop(key) if value is None else os.environ.update({key: value})


def test_an_item_collection_names_its_items(stac):
    with pytest.raises(InputError, match=r"is an ItemCollection of 2 items: give one as '.*search.json#ID'"):
        resolve(stac["search"], ["B4"])
    np.testing.assert_array_equal(read(resolve(stac["search"] + "#" + stac["items"]["pc"]["id"], ["B4"])),
                                  read(resolve(stac["safe"], ["B4"])))
