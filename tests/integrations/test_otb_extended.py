"""OTB extended filenames (``in.tif?&bands=3,1``, ``out.tif?&gdal:co:COMPRESS=DEFLATE``) mean in sr4rs what they
mean in Orfeo ToolBox 8.1 (checked against Debian's otb-bin on the same names); extract's -co and
--nodata-rule any (PatchesExtraction's rule), with the patches read back by OTB."""
import os
import subprocess

import numpy as np
import pytest
from osgeo import gdal

from conftest import LANDSAT, S2_10M, read, run_cli
from integration_tools import require_program

from sr4rs import api
from sr4rs.errors import InputError, OutputError
from sr4rs.io import extended


def test_names_split_as_otb_splits_them():
    assert extended.split("a/b.tif") == ("a/b.tif", {})
    assert extended.split("b.tif?&gdal:co:COMPRESS=DEFLATE&streaming:type=tiled") == (
        "b.tif", {"gdal:co:COMPRESS": "DEFLATE", "streaming:type": "tiled"})
    assert extended.band_list("1,3", 4, "x") == [1, 3]
    assert extended.band_list("2:4", 4, "x") == [2, 3, 4]
    assert extended.band_list(":2,-1", 4, "x") == [1, 2, 4]
    assert extended.band_list("-2:", 4, "x") == [3, 4]
    for bad in ("0", "5", "3:2", "a", "1,,2"):
        with pytest.raises(InputError, match="bands="):
            extended.band_list(bad, 4, "x")
    with pytest.raises(InputError, match="not key=value"):
        extended.split("b.tif?&skipcarto")


@pytest.mark.parametrize("options", ["bands=2:3", "bands=-1", "bands=3,1", "skipcarto=true", "skipgeom=true",
                                     "skiprpctag=1&bands=1"])
def test_inputs_read_as_otb_reads_them(tmp_path, options):
    """The pixels and georeferencing sr4rs reads through an extended name are those OTB's ExtractROI copies."""
    otbcli = require_program("otbcli_ExtractROI")
    name = f"{LANDSAT}?&{options}"
    out = tmp_path / "otb.tif"
    proc = subprocess.run([otbcli, "-in", name, "-out", str(out), "uint16"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    otb = gdal.Open(str(out))
    info = api.read_info(name)
    with api.GdalSource(name) as source:
        ours = source.read(_whole(info))
    np.testing.assert_array_equal(ours, read(out))
    assert info.count == otb.RasterCount
    if "skipcarto" in options:
        assert info.geotransform is None and not info.projection and not otb.GetProjection()
    else:
        assert info.geotransform == otb.GetGeoTransform() and info.projection


def _whole(info):
    from sr4rs.geo.windows import Window

    return Window(0, 0, info.width, info.height)


def test_output_options_become_creation_options(tmp_path, x4_model):
    out = tmp_path / "sr.tif"
    name = f"{out}?&gdal:co:COMPRESS=DEFLATE&gdal:co:PREDICTOR=2&streaming:type=tiled&writegeom=false"
    report = api.apply(LANDSAT, name, x4_model, api.ApplyOptions(nodata=0))
    assert report.output == str(out) and os.listdir(tmp_path) == ["sr.tif"]
    ds = gdal.Open(str(out))
    assert ds.GetMetadataItem("COMPRESSION", "IMAGE_STRUCTURE") == "DEFLATE"
    assert ds.GetMetadataItem("PREDICTOR", "IMAGE_STRUCTURE") == "2"
    assert ds.RasterXSize == 203 * 4 and ds.GetGeoTransform()[1] == 7.5


def test_extended_names_on_the_command_line(tmp_path, x4_model):
    out = tmp_path / "sr.tif"
    proc = run_cli("-m", "sr4rs", "apply", "--input", f"{LANDSAT}?&bands=1:3&skipgeom=true", "--savedmodel",
                   x4_model, "--output", f"{out}?&gdal:co:COMPRESS=LZW", "--nodata", "0")
    assert proc.returncode == 0, proc.stderr
    assert gdal.Open(str(out)).GetMetadataItem("COMPRESSION", "IMAGE_STRUCTURE") == "LZW"
    # An output named like its input through an extended name is still the input: refused before any work.
    copy = tmp_path / "in.tif"
    gdal.Translate(str(copy), LANDSAT)
    before = copy.read_bytes()
    proc = run_cli("-m", "sr4rs", "apply", "--input", str(copy), "--savedmodel", x4_model, "--output",
                   f"{copy}?&gdal:co:COMPRESS=DEFLATE", "--overwrite")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and copy.read_bytes() == before


@pytest.mark.parametrize("output,message", [("sr.tif?&box=0:0:10:10", "not supported"),
                                            ("sr.tif?&nodata=0", "not supported"),
                                            ("sr.tif?&gdal:co:=LZW", "unknown extended filename option"),
                                            ("sr.tif?&gdal:co", "not key=value"),
                                            ("?&gdal:co:COMPRESS=LZW", "names no file")])
def test_output_options_sr4rs_cannot_honour_are_refused(tmp_path, x4_model, output, message):
    with pytest.raises(OutputError, match=message):
        api.apply(LANDSAT, str(tmp_path / output), x4_model)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("options,message", [("geom=x.geom", "not supported"), ("resol=2", "not supported"),
                                             ("skipcarto=maybe", "not a boolean"), ("colour=red", "unknown")])
def test_input_options_sr4rs_cannot_honour_are_refused(options, message):
    with pytest.raises(InputError, match=message):
        api.read_info(f"{LANDSAT}?&{options}")


def test_extract_deflate_and_the_any_band_nodata_rule(tmp_path):
    """A band zeroed over a block: 'all' keeps its patches (the other bands hold data), 'any' skips them as
    OTBTF's PatchesExtraction does; DEFLATE patches images that OTB reads."""
    src = tmp_path / "s2.tif"
    gdal.Translate(str(src), S2_10M)
    ds = gdal.Open(str(src), gdal.GA_Update)
    band = ds.GetRasterBand(1)
    data = band.ReadAsArray()
    data[:40, :40] = 0
    band.WriteArray(data)
    ds = None
    counts = {}
    for rule in ("all", "any"):
        plan = api.plan_extraction(None, str(src), 8, step=8, factor=2, nodata=0, nodata_rule=rule)
        report = api.extract(plan, str(tmp_path / f"lr_{rule}.tif"), str(tmp_path / f"hr_{rule}.tif"),
                             creation_options={"COMPRESS": "DEFLATE"})
        counts[rule] = report.kept
    assert counts["all"] == 42 and 9 <= 42 - counts["any"] <= 16  # the zeroed block's 9 patches, and the few
    #                                                            whose degradation margin reaches into it
    assert (read(tmp_path / "hr_all.tif") == 0).any() and not (read(tmp_path / "hr_any.tif") == 0).any()
    lr = tmp_path / "lr_any.tif"
    assert gdal.Open(str(lr)).GetMetadataItem("COMPRESSION", "IMAGE_STRUCTURE") == "DEFLATE"
    proc = subprocess.run([require_program("otbcli_ReadImageInfo"), "-in", str(lr)], capture_output=True, text=True)
    assert proc.returncode == 0 and "Number of bands : 4" in proc.stdout, proc.stdout + proc.stderr
    with pytest.raises(InputError, match="nodata-rule"):
        api.plan_extraction(None, str(src), 8, factor=2, nodata_rule="some")
