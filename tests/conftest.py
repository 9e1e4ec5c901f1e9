import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = os.path.join(HERE, "testdata")
sys.path.insert(0, HERE)

LANDSAT = os.path.join(DATA, "landsat8_rgb_crop.tif")  # 203 x 157, UInt16, R G B, untagged 0 fill
RGBN = os.path.join(DATA, "rgbn_5m_crop.tif")  # 121 x 95, Byte, R G B NIR
S2_10M = os.path.join(DATA, "s2_10m_crop.tif")  # 127 x 99, UInt16, B2 B3 B4 B8
S2_20M = os.path.join(DATA, "s2_20m_crop.tif")  # 64 x 50, UInt16, B5 B6 B7 B8A B11 B12, same corner
S2_60M = os.path.join(DATA, "s2_60m_crop.tif")  # 22 x 17, UInt16, B1 B9 B10, same corner
# The engine's tests check float32 properties (pixels equal across tile sizes, against TF1 sessions and OTBTF): the
# suite runs float32 unless a test asks for another precision (tests/model/test_runtimes.py checks bfloat16, the
# default on CPUs that compute it, and the other runtimes).
os.environ.setdefault("SR4RS_PRECISION", "float32")


@pytest.fixture(scope="session")
def x4_model(tmp_path_factory):
    from models import export_test_model

    return export_test_model(str(tmp_path_factory.mktemp("models") / "x4"), scale=4, margin=32)


@pytest.fixture(scope="session")
def x2_rgbn_model(tmp_path_factory):
    from models import export_test_model

    return export_test_model(str(tmp_path_factory.mktemp("models") / "x2"), scale=2,
                             bands=("red", "green", "blue", "nir"), margin=16)


@pytest.fixture(scope="session")
def fusion_model(tmp_path_factory):
    from models import export_fusion_model

    return export_fusion_model(str(tmp_path_factory.mktemp("models") / "fusion"))


@pytest.fixture(scope="session")
def sr4rs_tf1_model(tmp_path_factory):
    from models import export_sr4rs_tf1_model

    return export_sr4rs_tf1_model(str(tmp_path_factory.mktemp("models") / "sr4rs_tf1"))


def run_cli(*args, timeout=300):
    """Run ``python -m sr4rs.cli.main`` style commands; returns CompletedProcess with text output."""
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)


def read(path):
    from osgeo import gdal

    ds = gdal.Open(str(path))
    return np.moveaxis(ds.ReadAsArray(), 0, -1) if ds.RasterCount > 1 else ds.ReadAsArray()[..., None]


@pytest.fixture
def readonly_dir(tmp_path):
    """A folder nothing can be written to, also for root (a read-only tmpfs)."""
    path = tmp_path / "ro"
    path.mkdir()
    if os.geteuid() != 0:
        path.chmod(0o555)
        yield path
        path.chmod(0o755)
        return
    if shutil.which("mount") is None or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(path)], capture_output=True).returncode:
        pytest.skip("cannot make a read-only folder here (root without mount)")
    yield path
    subprocess.run(["umount", str(path)], check=False)


@pytest.fixture
def small_disk(tmp_path):
    """A folder on a 256 KiB tmpfs, to make writes fail half-way (root only)."""
    path = tmp_path / "full"
    path.mkdir()
    if os.geteuid() != 0 or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(path)], capture_output=True).returncode:
        pytest.skip("needs root and mount to make a small disk")
    yield path
    subprocess.run(["umount", str(path)], check=False)


_DOC_REPORTS: list = []  # the documentation runner's reports sent by the test processes (pytest-xdist)


def _doc_report():
    runner = sys.modules.get("doc_runner")
    return runner.report(runner.RESULTS) if runner is not None and runner.RESULTS else None


def pytest_sessionfinish(session):
    """In a test process of pytest-xdist, the documentation runner's report goes back to the main process."""
    report = _doc_report() if hasattr(session.config, "workeroutput") else None
    if report:
        session.config.workeroutput["doc_report"] = report


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    report = getattr(node, "workeroutput", {}).get("doc_report")
    if report:
        _DOC_REPORTS.append(report)


def pytest_terminal_summary(terminalreporter):
    """The documentation runner's report (tests/docs/doc_runner.py), when its tests ran: blocks run, passed,
    skipped with their reasons."""
    reports = _DOC_REPORTS + [r for r in [_doc_report()] if r]
    if reports:
        terminalreporter.section("documentation commands (tests/docs/doc_runner.py)")
        for line in "\n".join(reports).splitlines():
            terminalreporter.write_line(line)
