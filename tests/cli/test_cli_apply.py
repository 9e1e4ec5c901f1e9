"""The apply command line: SR4RS's flags, and every bad input gives one line, an exit code, no file."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from osgeo import gdal

from conftest import LANDSAT, RGBN, ROOT, read, run_cli


def _assert_clean_failure(result, out_dir, *words):
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    assert not [p for p in os.listdir(out_dir) if p.startswith(".") or p.endswith(".tif")], os.listdir(out_dir)


def test_sr4rs_sr_py_command_line_runs_unchanged(tmp_path, x4_model):
    """SR4RS's documented sr.py flags: --input --savedmodel --output --encoding --pad --ts."""
    out = tmp_path / "sr.tif"
    result = run_cli("apply.py", "--input", LANDSAT, "--savedmodel", x4_model, "--output", str(out),
                     "--encoding", "unsigned_short", "--pad", "64", "--ts", "256")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    ds = gdal.Open(str(out))
    assert (ds.RasterXSize, ds.RasterYSize, ds.RasterCount) == (812, 628, 3)
    assert ds.GetRasterBand(1).DataType == gdal.GDT_UInt16


def test_sr4rs_flags_given_without_a_value_mean_their_defaults():
    """SR4RS's sr.py and train.py accept --encoding, --pad, --losstype and --vggfeatures bare."""
    from sr4rs.cli.main import build_parser

    parser = build_parser()
    args = parser.parse_args(["apply", "--input", "a.tif", "--output", "b.tif", "--encoding", "--pad", "--ts", "256"])
    assert (args.encoding, args.pad, args.ts) == ("auto", None, 256)
    args = parser.parse_args(["apply", "--input", "a.tif", "--output", "b.tif", "--encoding", "int16"])
    assert args.encoding == "int16"  # the value SR4RS's documentation gives for Sentinel-2
    base = ["train", "--lr_patches", "lr.tif", "--hr_patches", "hr.tif", "--save_ckpt", "ckpt"]
    args = parser.parse_args(base + ["--losstype", "--vggfeatures"])
    # The defaults of SR4RS's latest train.py.
    assert (args.losstype, args.vggfeatures, args.adam_lr, args.adam_b1, args.l1weight, args.l2weight,
            args.vggweight, args.ganweight, args.depth, args.nresblocks, args.epochs, args.batchsize,
            args.lr_scale, args.hr_scale, args.arch) == \
        ("WGAN-GP", "1234", 0.001, 0.0, 0.0, 1000.0, 0.00001, 1.0, 64, 16, 120, 4, 0.0001, 0.0001, "sr4rs")
    # SR4RS's documented example command line.
    args = parser.parse_args(base + "--vggweight 0.00003 --l1weight 200 --l2weight 0.0 --depth 64 --vggfeatures 1234 "
                             "--batchsize 4 --adam_lr 0.0002 --lr_scale 0.0001 --hr_scale 0.0001".split())
    assert (args.vggweight, args.l1weight, args.l2weight, args.adam_lr) == (0.00003, 200.0, 0.0, 0.0002)


def test_subcommand_with_creation_options_quicklook_and_progress(tmp_path, x4_model):
    out, png = tmp_path / "sr.tif", tmp_path / "sr.png"
    result = run_cli("-m", "sr4rs.cli.main", "apply", "--input", LANDSAT, "--savedmodel", x4_model,
                     "--output", str(out), "-co", "COMPRESS=LZW", "--nodata", "0", "--quicklook", str(png))
    assert result.returncode == 0, result.stderr
    assert "px/s" not in result.stderr  # no bar when stderr is not a terminal
    assert gdal.Open(str(out)).GetMetadata("IMAGE_STRUCTURE")["COMPRESSION"] == "LZW"
    ql = gdal.Open(str(png))
    assert ql.GetDriver().ShortName == "PNG" and ql.RasterCount == 3
    assert read(png).std() > 10  # stretched, not a flat image


@pytest.mark.parametrize("case", ["missing", "folder", "not_raster"])
def test_bad_input_file(tmp_path, x4_model, case):
    path = {"missing": tmp_path / "nope.tif", "folder": tmp_path, "not_raster": tmp_path / "notes.txt"}[case]
    if case == "not_raster":
        path.write_text("not an image\n")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = run_cli("apply.py", "--input", str(path), "--savedmodel", x4_model, "--output", str(out_dir / "sr.tif"))
    _assert_clean_failure(result, out_dir, "input")


def test_band_count_mismatch(tmp_path, x4_model):
    result = run_cli("apply.py", "--input", RGBN, "--savedmodel", x4_model, "--output", str(tmp_path / "sr.tif"))
    _assert_clean_failure(result, tmp_path, "4 band", "expects 3")


def test_unknown_model_dir(tmp_path):
    result = run_cli("apply.py", "--input", LANDSAT, "--savedmodel", str(tmp_path / "nomodel"),
                     "--output", str(tmp_path / "sr.tif"))
    _assert_clean_failure(result, tmp_path, "does not exist")


def test_savedmodel_without_the_contract_keys(tmp_path):
    from models import export_sr4rs_tf1_model

    model = export_sr4rs_tf1_model(str(tmp_path / "m"), signature_keys=("images", "prediction_{}"))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = run_cli("apply.py", "--input", RGBN, "--savedmodel", model, "--output", str(out_dir / "sr.tif"))
    _assert_clean_failure(result, out_dir, "lr_input")


def test_existing_output_is_refused_unless_overwrite(tmp_path, x4_model):
    out = tmp_path / "sr.tif"
    out.write_bytes(b"keep me")
    result = run_cli("apply.py", "--input", LANDSAT, "--savedmodel", x4_model, "--output", str(out))
    assert result.returncode != 0 and "--overwrite" in result.stderr and "Traceback" not in result.stderr
    assert out.read_bytes() == b"keep me"
    # --overwrite replaces an earlier output of sr4rs apply, never somebody's file.
    result = run_cli("apply.py", "--input", LANDSAT, "--savedmodel", x4_model, "--output", str(out), "--overwrite")
    assert result.returncode == 1 and "is not an earlier output of sr4rs apply" in result.stderr
    assert out.read_bytes() == b"keep me"
    out.unlink()
    for _ in range(2):
        result = run_cli("apply.py", "--input", LANDSAT, "--savedmodel", x4_model, "--output", str(out), "--overwrite")
        assert result.returncode == 0, result.stderr
    assert gdal.Open(str(out)).RasterXSize == 812


def test_unwritable_folder_is_refused_before_compute(readonly_dir, x4_model):
    result = run_cli("apply.py", "--input", LANDSAT, "--savedmodel", x4_model, "--output", str(readonly_dir / "sr.tif"))
    assert result.returncode != 0 and "not writable" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert os.listdir(readonly_dir) == []


def test_missing_output_folder(tmp_path, x4_model):
    result = run_cli("apply.py", "--input", LANDSAT, "--savedmodel", x4_model,
                     "--output", str(tmp_path / "no" / "sr.tif"))
    _assert_clean_failure(result, tmp_path, "does not exist")


def test_write_failure_half_way_leaves_nothing(small_disk, x4_model):
    """A 256 KiB disk fills up during the write: one line, non-zero exit, no file left."""
    result = run_cli("apply.py", "--input", LANDSAT, "--savedmodel", x4_model, "--output", str(small_disk / "sr.tif"),
                     "--encoding", "float64", "-co", "COMPRESS=NONE", "--ts", "64")
    _assert_clean_failure(result, small_disk, "failed")


def test_ctrl_c_in_the_middle_leaves_nothing(tmp_path, x4_model):
    big = tmp_path / "big.tif"
    gdal.Translate(str(big), os.path.join(ROOT, "examples", "landsat8_rgb_512.tif"))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.Popen([sys.executable, "apply.py", "--input", str(big), "--savedmodel", x4_model,
                             "--output", str(out_dir / "sr.tif"), "--ts", "16", "--batch-size", "1"],
                            cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    # Tiny tiles one at a time: 16384 model calls, far more work than it takes to see the partial file.
    deadline = time.time() + 120
    while time.time() < deadline and not [p for p in os.listdir(out_dir) if p.endswith(".partial.tif")]:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert os.listdir(out_dir) == []


def test_bad_flag_values(tmp_path, x4_model):
    result = run_cli("apply.py", "--input", LANDSAT, "--savedmodel", x4_model, "--output", str(tmp_path / "sr.tif"),
                     "--ts", "30")
    _assert_clean_failure(result, tmp_path, "--ts 30")
    result = run_cli("apply.py", "--input", LANDSAT, "--savedmodel", x4_model, "--output", str(tmp_path / "sr.tif"),
                     "-co", "COMPRESS")
    _assert_clean_failure(result, tmp_path, "KEY=VALUE")


def test_otbtf_backend_says_clearly_when_otbtf_is_absent(tmp_path, x4_model):
    from sr4rs.api import ApplyOptions, load_model, plan_apply, read_info
    from sr4rs.inference.otbtf import job_for

    plan = plan_apply(read_info(LANDSAT), load_model(x4_model), ApplyOptions(tile_size=512, pad=64,
                      encoding="uint16"), exported_pad_only=True)
    job = job_for(plan)
    assert (job.rfield, job.efield, job.spcscale, job.output_name) == (160, 512, 0.25, "output_64")
    cmd = job.command_line("in.tif", "model", "out.tif")
    assert cmd[:3] == ["otbcli_TensorflowModelServe", "-source1.il", "in.tif"] and cmd[-1] == "uint16"
    result = run_cli("apply.py", "--input", LANDSAT, "--savedmodel", x4_model, "--output", str(tmp_path / "sr.tif"),
                     "--backend", "otbtf")
    if result.returncode == 0:
        pytest.skip("OTBTF is installed here")
    _assert_clean_failure(result, tmp_path, "OTBTF is not installed")


def test_damaged_input_is_one_line(tmp_path, x4_model):
    """A GeoTIFF cut short: its header reads, its tiles do not."""
    full = tmp_path / "full.tif"
    gdal.Translate(str(full), LANDSAT, creationOptions=["TILED=YES", "BLOCKXSIZE=64", "BLOCKYSIZE=64"])
    data = full.read_bytes()
    cut = tmp_path / "cut.tif"
    cut.write_bytes(data[: len(data) // 2])
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = run_cli("apply.py", "--input", str(cut), "--savedmodel", x4_model, "--output", str(out_dir / "sr.tif"))
    _assert_clean_failure(result, out_dir, "input")


def test_unexpected_errors_are_one_line_too(tmp_path):
    """A model whose metadata is damaged in a way no check anticipates still gives one line."""
    from models import export_test_model

    export_test_model(str(tmp_path / "m"))
    (tmp_path / "m" / "assets.extra" / "sr4rs.json").write_bytes(b"\xff\xfe not json")
    result = run_cli("apply.py", "--input", LANDSAT, "--savedmodel", str(tmp_path / "m"),
                     "--output", str(tmp_path / "sr.tif"))
    _assert_clean_failure(result, tmp_path, "metadata")


def test_otbtf_backend_in_process_sets_every_parameter(tmp_path, x4_model, monkeypatch):
    """Through otbApplication (a stand-in that records the calls and writes the output GDAL would):
    fields from the model, the output pixel type, creation options and tiled streaming."""
    import types

    from sr4rs.api import ApplyOptions
    from sr4rs.inference.otbtf import apply_with_otbtf

    calls = {}

    class App:
        def SetParameterOutputImagePixelType(self, key, value):
            calls["pixel type of " + key] = value

        def __getattr__(self, name):
            if name.startswith("SetParameter"):
                return lambda key, value: calls.__setitem__(key, value)
            raise AttributeError(name)

        def ExecuteAndWriteOutput(self):
            path = calls["out"].split("?")[0]
            gdal.Translate(path, LANDSAT, width=203 * 4, height=157 * 4)

    fake = types.SimpleNamespace(Registry=types.SimpleNamespace(CreateApplication=lambda name: App()),
                                 **{f"ImagePixelType_{t}": t for t in ("uint8", "uint16", "int16", "float")})
    monkeypatch.setitem(sys.modules, "otbApplication", fake)
    out = tmp_path / "sr.tif"
    apply_with_otbtf(LANDSAT, x4_model, str(out), ApplyOptions(tile_size=256, pad=32, encoding="int16"))
    assert calls["source1.il"] == [LANDSAT] and calls["source1.placeholder"] == "lr_input"
    assert calls["output.names"] == ["output_32"] and calls["output.spcscale"] == 0.25
    assert (calls["source1.rfieldx"], calls["output.efieldx"], calls["optim.tilesizex"]) == ((256 + 64) // 4, 256, 256)
    assert calls["pixel type of out"] == "int16"  # ImagePixelType_int16
    name, extended = calls["out"].split("?")
    assert name.endswith(".partial.tif") and "gdal:co:COMPRESS=" in extended
    assert "streaming:type=tiled&streaming:sizemode=height&streaming:sizevalue=256" in extended
    assert gdal.Open(str(out)).RasterXSize == 812
    assert sorted(os.listdir(tmp_path)) == ["sr.tif"]
