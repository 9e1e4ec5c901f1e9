"""Every row of docs/reliability.md, run for real: the command on real pixels, its exit status, its one
line, what is left on disk, and the inputs unchanged (by checksum)."""
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from osgeo import gdal

from cases import CASES, ERROR, OK
from conftest import LANDSAT, RGBN, ROOT, S2_10M, read, run_cli
from newer_inputs import make_extra

HERE = os.path.dirname(os.path.abspath(__file__))
ENV = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3")
# Names only a run in progress (or a killed one) may leave behind.
TEMPORARY = (".partial", "_temp", ".sr4rs-evaluate-", ".replaced", ".sr4rs-write-test-")
NAN_PIXEL = (100, 150)  # row, column of the NaN put into nan.tif


# --------------------------------------------------------------------------- shared, made once


@pytest.fixture(scope="session")
def assets(tmp_path_factory, x4_model, sr4rs_tf1_model):
    """Inputs made once per session and copied into each case's workspace."""
    root = tmp_path_factory.mktemp("assets")
    inp = root / "in"
    inp.mkdir()
    shutil.copy(LANDSAT, inp / "landsat.tif")
    shutil.copy(RGBN, inp / "rgbn.tif")
    shutil.copy(os.path.join(ROOT, "examples", "landsat8_rgb_512.tif"), inp / "example.tif")
    (inp / "notes.txt").write_text("not an image\n")
    _float_with_nan(inp / "nan.tif")
    _constant(inp / "const.tif", 1000)
    _constant(inp / "zeros.tif", 0)
    _truncated(inp / "cut.tif")
    proc = run_cli("-m", "sr4rs.cli.main", "extract", "--hr", LANDSAT, "--factor", "4", "--patch-size", "8",
                   "--step", "4", "--nodata", "0", "--out-lr", str(inp / "lr.tif"), "--out-hr", str(inp / "hr.tif"))
    assert proc.returncode == 0, proc.stderr
    ckpt = root / "ckpt"
    proc = run_cli("train.py", "--lr_patches", str(inp / "lr.tif"), "--hr_patches", str(inp / "hr.tif"), "--arch",
                   "edsr", "--depth", "8", "--nresblocks", "1", "--batchsize", "4", "--ganweight", "0", "--epochs",
                   "1", "--save_ckpt", str(ckpt), "--ckpt_folder", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    earlier = root / "earlier.tif"
    proc = run_cli("-m", "sr4rs.cli.main", "apply", "--input", LANDSAT, "--savedmodel", x4_model, "--output",
                   str(earlier))
    assert proc.returncode == 0, proc.stderr
    return {"in": str(inp), "ckpt": str(ckpt), "earlier": str(earlier), "model": x4_model, "tf1": sr4rs_tf1_model,
            "extra": make_extra(root), "earlier_all": str(root / "earlier_all.tif")}


def _float_with_nan(path):
    src = gdal.Open(LANDSAT)
    pixels = src.ReadAsArray().astype(np.float32)
    pixels[:, NAN_PIXEL[0], NAN_PIXEL[1]] = np.nan
    ds = gdal.GetDriverByName("GTiff").Create(str(path), src.RasterXSize, src.RasterYSize, 3, gdal.GDT_Float32)
    ds.SetGeoTransform(src.GetGeoTransform())
    ds.SetProjection(src.GetProjection())
    ds.WriteArray(pixels)  # no nodata tag
    ds = None


def _constant(path, value):
    src = gdal.Open(LANDSAT)
    ds = gdal.GetDriverByName("GTiff").Create(str(path), 64, 64, 3, gdal.GDT_UInt16)
    ds.SetGeoTransform(src.GetGeoTransform())
    ds.SetProjection(src.GetProjection())
    for i in range(3):
        ds.GetRasterBand(i + 1).Fill(value)
    ds = None


def _truncated(path):
    full = str(path) + ".full.tif"
    gdal.Translate(full, LANDSAT, creationOptions=["TILED=YES", "BLOCKXSIZE=64", "BLOCKYSIZE=64"])
    data = open(full, "rb").read()
    os.remove(full)
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])


# --------------------------------------------------------------------------- one case's workspace


class Workspace:
    """{in}: copies of the inputs; {out}: where outputs go; {model}, {tf1}: copies of the test models."""

    def __init__(self, root, assets):
        self.root, self.assets = str(root), assets
        self.inp, self.out = os.path.join(self.root, "in"), os.path.join(self.root, "out")
        shutil.copytree(assets["in"], self.inp)
        os.mkdir(self.out)
        self.model = shutil.copytree(assets["model"], os.path.join(self.root, "model"))
        self.tf1 = shutil.copytree(assets["tf1"], os.path.join(self.root, "tf1"))

    def argv(self, template):
        values = {"in": self.inp, "out": self.out, "model": self.model, "tf1": self.tf1, "py": sys.executable}
        return [part.format(**values) for part in template]

    def checksums(self):
        """Every file a command reads: the inputs and the models."""
        sums = {}
        for folder in (self.inp, self.model, self.tf1):
            for dirpath, _, files in os.walk(folder):
                for name in files:
                    path = os.path.join(dirpath, name)
                    with open(path, "rb") as f:
                        sums[path] = hashlib.sha256(f.read()).hexdigest()
        return sums

    def listing(self):
        return sorted(os.path.relpath(os.path.join(d, f), self.root) for d, _, files in os.walk(self.root)
                      for f in files)

    # setups
    def damaged_model(self, name):
        path = shutil.copytree(self.assets["model"], os.path.join(self.out, name))
        with open(os.path.join(path, "assets.extra", "sr4rs.json"), "wb") as f:
            f.write(b"\xff\xfe not json")

    def damaged_checkpoint(self, name):
        path = shutil.copytree(self.assets["ckpt"], os.path.join(self.out, name))
        data = [f for f in os.listdir(path) if ".data-" in f][0]
        os.truncate(os.path.join(path, data), 100)

    def checkpoints(self, rel):
        shutil.copytree(self.assets["ckpt"], os.path.join(self.out, rel))

    def earlier_output(self, name):
        shutil.copy(self.assets["earlier"], os.path.join(self.out, name))

    def folder_with_file(self, name):
        os.mkdir(os.path.join(self.out, name))
        with open(os.path.join(self.out, name, "my_notes.txt"), "w") as f:
            f.write("months of work\n")

    # checks
    def check_nan_block(self, name):
        out = read(os.path.join(self.out, name))
        nan = np.isnan(out).any(axis=-1)
        expected = np.zeros(nan.shape, bool)
        r, c = NAN_PIXEL
        expected[r * 4:r * 4 + 4, c * 4:c * 4 + 4] = True
        assert (nan == expected).all(), f"{nan.sum()} NaN pixels, expected the 16 under the NaN input pixel"

    def check_finite_patches(self):
        for name in ("lr.tif", "hr.tif"):
            assert np.isfinite(read(os.path.join(self.out, name))).all()

    @staticmethod
    def check_finite_table(result):
        rows = [line.split() for line in result.stdout.splitlines()[2:] if "|" in line]  # not the notes under it
        assert rows and all(np.isfinite([float(v) for v in row[1:6]]).all() for row in rows), result.stdout

    def check_cog(self, name):
        ds = gdal.Open(os.path.join(self.out, name))
        assert ds.GetMetadataItem("LAYOUT", "IMAGE_STRUCTURE") == "COG"


def _mount(path, disk):
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root and mount for a small or read-only filesystem")
    options = "ro,size=64k" if disk == "readonly" else f"size={disk.split(':')[1]}"
    if subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", path], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")


def _run_with_signal(case, argv, ws):
    """Start the command, wait for the observable state of the case (never a sleep), send the signal."""
    proc = subprocess.Popen(argv, cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not case.wait(ws):
        assert proc.poll() is None, f"the command ended before it could be interrupted: {proc.communicate()}"
        assert time.monotonic() < deadline, "the state to interrupt at never came"
        time.sleep(0.02)
    proc.send_signal(case.signal)
    out, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def _check_messages(case, result):
    err = result.stderr
    assert "Traceback" not in err and "unexpected" not in err and "Warning" not in err, err
    if case.exit == -9:
        return
    if case.exit in (OK,):
        assert "error" not in err.lower(), err
        assert re.search(case.says, result.stdout + err, re.M), (result.stdout, err)
        return
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert re.search(case.says, lines[0]), lines[0]


def _check_leftovers(case, ws):
    for path in ws.listing():
        name = os.path.basename(path)
        if any(t in path for t in TEMPORARY):
            assert case.leftover and any(name.endswith(t) for t in case.leftover), f"{path} left behind"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case, tmp_path, assets):
    ws = Workspace(tmp_path, assets)
    if case.setup:
        case.setup(ws)
    if case.disk:
        _mount(ws.out, case.disk)
    try:
        before, listing = ws.checksums(), ws.listing()
        argv = ws.argv(case.argv)
        result = _run_with_signal(case, argv, ws) if case.signal else \
            subprocess.run(argv, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=600)
        assert result.returncode == case.exit, (result.returncode, result.stdout, result.stderr)
        _check_messages(case, result)
        assert ws.checksums() == before, "an input or a model changed"
        _check_leftovers(case, ws)
        if case.exit != OK:  # a failed or interrupted run leaves nothing new, but what it says it keeps
            new = sorted(set(ws.listing()) - set(listing))
            assert all(p.startswith(case.keeps) for p in new) if case.keeps else not new, new
        if case.check:
            case.check(ws, result)
    finally:
        if case.disk:
            subprocess.run(["umount", ws.out], check=False)


def test_concurrent_runs_on_one_output(tmp_path, assets):
    """Two applies started together on one output: one writes it whole, the other stops with one line (its
    check at the start or at the end sees the first's output), and no temporary file is left."""
    ws = Workspace(tmp_path, assets)
    argv = ws.argv(("{py}", "-m", "sr4rs.cli.main", "apply", "--input", "{in}/example.tif", "--savedmodel",
                    "{model}", "--output", "{out}/sr.tif"))
    procs = [subprocess.Popen(argv, cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [p.communicate(timeout=600) + (p.returncode,) for p in procs]
    assert sorted(r[2] for r in results) == [OK, ERROR], results
    failed = next(r for r in results if r[2] == ERROR)
    assert len(failed[1].strip().splitlines()) == 1 and re.search(r"already exists|was written by another run", failed[1])
    assert os.listdir(ws.out) == ["sr.tif"]
    assert gdal.Open(os.path.join(ws.out, "sr.tif")).RasterXSize == 2048


def test_the_table_in_the_docs_is_this_one():
    from make_doc import markdown

    with open(os.path.join(ROOT, "docs", "reliability.md"), encoding="utf-8") as f:
        assert f.read() == markdown(), "docs/reliability.md is out of date: python tests/reliability/make_doc.py"
    assert len(CASES) + 1 >= 40


def _started(out, before):
    """The temporary files of runs writing {out}/one.tif that were not there ``before``."""
    return {n for n in os.listdir(out) if "one.tif" in n and ".partial" in n} - before


def test_all_bands_and_apply_jobs_on_one_output(tmp_path, assets):
    """Two --all-bands jobs and two plain applies (of two products whose pixels differ by 500) started on one
    output: each is stopped (SIGSTOP) once its first temporary file shows it passed its checks, then all go on
    together. One writes the output whole; the three others stop at their end with one line, and nothing of
    theirs is left: the output is one job's, never a mix of two products."""
    from newer_inputs import given

    ws = Workspace(tmp_path, assets)
    given("s2.SAFE", "s2_brighter.SAFE")(ws)
    jobs = [("s2.SAFE", "--all-bands"), ("s2_brighter.SAFE", "--all-bands"), ("s2.SAFE",), ("s2_brighter.SAFE",)]
    procs = []
    try:
        for product, *extra in jobs:
            argv = ws.argv(("{py}", "-m", "sr4rs.cli.main", "apply", "--input", f"{{in}}/{product}", "--model",
                            "s2-20m-x2", *extra, "--output", "{out}/one.tif", "--ts", "32", "--batch-size", "1"))
            before = _started(ws.out, set())
            procs.append(subprocess.Popen(argv, cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          text=True))
            deadline = time.monotonic() + 300
            while not _started(ws.out, before):
                assert procs[-1].poll() is None, procs[-1].communicate()
                assert time.monotonic() < deadline, "the job never began writing"
                time.sleep(0.01)
            procs[-1].send_signal(signal.SIGSTOP)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGCONT)
    results = [p.communicate(timeout=600) + (p.returncode,) for p in procs]
    assert sorted(r[2] for r in results) == [OK, ERROR, ERROR, ERROR], results
    for _, err, code in results:
        if code == ERROR:
            assert len(err.strip().splitlines()) == 1 and "was written by another run" in err, err
    assert os.listdir(ws.out) == ["one.tif"], os.listdir(ws.out)
    winner = jobs[[r[2] for r in results].index(OK)]
    _check_one_product(os.path.join(ws.out, "one.tif"), os.path.join(ws.inp, winner[0]), len(winner) > 1)


def _check_one_product(output, product, all_bands):
    """Every band of ``output`` from ``product``: its 10 m bands as they are, its fused 20 m bands at the level of
    its own 20 m bands (the other product's are 500 higher)."""
    ds = gdal.Open(output)
    names = [ds.GetRasterBand(i + 1).GetDescription() for i in range(ds.RasterCount)]
    assert names == (["B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B11", "B12"] if all_bands else
                     ["B5", "B6", "B7", "B8A", "B11", "B12"])
    files = {f.rsplit("_", 1)[1][:-4]: os.path.join(d, f) for d, _, fs in os.walk(product) for f in fs
             if f.endswith(".jp2")}
    for i, name in enumerate(names):
        native = gdal.Open(files[f"B{name[1:].zfill(2)}"]).ReadAsArray().astype(float)
        band = ds.GetRasterBand(i + 1).ReadAsArray().astype(float)
        if band.shape == native.shape:
            np.testing.assert_array_equal(band, native)  # a 10 m band, copied
        else:
            assert abs(band[band > 0].mean() - native[native > 0].mean()) < 150, name  # fused from this product
