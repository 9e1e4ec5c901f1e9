"""``pip install`` of the repository into a fresh virtual environment, as a Python user installs sr4rs, then the
README's first ``sr4rs apply`` example and its Python example run from that environment.

The new environment sees the packages of the environment running the tests (a ``.pth`` file lists its
site-packages), so that pip finds TensorFlow, GDAL's bindings and the others installed, and nothing is
downloaded; sr4rs itself is built and installed from the repository by pip, with build isolation, from a folder
of build wheels (setuptools) kept in ~/.cache/sr4rs/wheels (fetched once through this machine's pip set-up).
Without GDAL's bindings, the install stops with the command that installs them."""
import os
import re
import subprocess
import sys
import sysconfig

import pytest
from osgeo import gdal

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tests", "docs"))
import doc_runner  # noqa: E402

WHEELS = os.path.join(os.environ.get("SR4RS_TEST_CACHE", os.path.expanduser("~/.cache/sr4rs")), "wheels")
BUILD = "setuptools>=70.1"  # pyproject.toml's build requirement

# Every bundled model of the repository is installed with the package (its SavedModel folders are package data).
BUNDLED = [d for d in os.listdir(os.path.join(ROOT, "sr4rs", "model", "bundled"))
           if os.path.isfile(os.path.join(ROOT, "sr4rs", "model", "bundled", d, "saved_model.pb"))]


def _run(args, **kw):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_NO", "VIRTUAL_ENV", "SR4RS_"))}
    env.update(kw.pop("env", {}))
    return subprocess.run(args, capture_output=True, text=True, timeout=kw.pop("timeout", 600), env=env, **kw)


def _build_wheels() -> list:
    """pip's options for the isolated build: the cached wheels alone, once they are there."""
    have = os.path.isdir(WHEELS) and any(re.match(r"setuptools-(\d+)", f) and int(re.match(
        r"setuptools-(\d+)", f).group(1)) >= 71 for f in os.listdir(WHEELS))
    if not have:
        got = _run([sys.executable, "-m", "pip", "download", "--quiet", "--dest", WHEELS, BUILD])
        if got.returncode:
            pytest.skip(f"no {BUILD} wheel in {WHEELS} and pip cannot fetch one: {got.stderr.strip()[-300:]}")
    return ["--no-index", "--find-links", WHEELS]


def _fresh_env(folder, share_packages: bool):
    """A new virtual environment; ``share_packages``: it sees this environment's site-packages."""
    venv = str(folder)
    made = _run([sys.executable, "-m", "venv", venv])
    assert made.returncode == 0, made.stderr
    python = os.path.join(venv, "bin", "python")
    purelib = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    if share_packages:
        here = {sysconfig.get_paths()["purelib"], *(p for p in sys.path if p.endswith(("site-packages",
                                                                                         "dist-packages")))}
        with open(os.path.join(purelib, "_shared_packages.pth"), "w") as f:
            f.write("\n".join(sorted(p for p in here if os.path.isdir(p))) + "\n")
    return venv, python


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    import importlib.metadata

    try:
        importlib.metadata.version("tensorflow")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("this environment has no 'tensorflow' distribution for the new one to share (an environment made "
                    "before requirements.txt named it, with tensorflow-cpu): bash scripts/setup.sh installs it")
    venv, python = _fresh_env(tmp_path_factory.mktemp("pip") / "venv", share_packages=True)
    proc = _run([python, "-m", "pip", "install", "--disable-pip-version-check", *_build_wheels(), ROOT])
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return venv, python, proc.stdout


def _scratch(folder):
    """A working folder holding the repository's data (not its package: sr4rs must come from the install)."""
    os.makedirs(folder, exist_ok=True)
    for name in ("examples", "tests"):
        os.symlink(os.path.join(ROOT, name), os.path.join(folder, name))
    return str(folder)


def test_pip_installs_sr4rs_with_tensorflow_tensorboard_and_the_system_gdal(installed):
    venv, python, log = installed
    found = _run([python, "-c", "import sr4rs, sr4rs.api, osgeo.gdal as g, tensorflow, tensorboard; "
                  "print(sr4rs.__file__, g.__version__, len(sr4rs.api.list_models()))"], cwd=venv)
    assert found.returncode == 0, found.stderr
    where, version, models = found.stdout.split()
    assert where.startswith(venv) and version == gdal.__version__ and int(models) == len(BUNDLED)
    requires = _run([python, "-m", "pip", "show", "sr4rs"]).stdout
    assert re.search(rf"Requires: .*GDAL", requires) and "tensorflow" in requires and "tensorboard" in requires
    doctor = _run([os.path.join(venv, "bin", "sr4rs"), "doctor", "--skip-tensorflow"], cwd=venv)
    assert doctor.returncode == 0 and "MISSING" not in doctor.stdout.split("optional:")[0], doctor.stdout


def test_the_readme_first_apply_example_runs_from_the_install(installed, tmp_path):
    venv, _, _ = installed
    block = next(b for b in doc_runner.blocks("README.md") if not b.skip and "sr4rs apply" in b.code)
    command = next(line.split("#")[0].strip() for line in block.code.splitlines() if line.startswith("sr4rs apply"))
    out = re.search(r"--output (\S+)", command).group(1)
    folder = _scratch(tmp_path / "work")
    env = {"PATH": os.path.join(venv, "bin") + os.pathsep + os.environ["PATH"]}
    proc = _run(["bash", "-e", "-c", command], cwd=folder, env=env)
    assert proc.returncode == 0, f"{command}\n{proc.stderr}"
    assert "using the bundled model s2-rgbn-x4" in proc.stderr and "absl" not in proc.stderr, proc.stderr
    ds = gdal.Open(os.path.join(folder, out))
    assert (ds.RasterXSize, ds.RasterYSize, ds.GetMetadataItem("SR4RS_MODEL")) == (127 * 4, 99 * 4, "s2-rgbn-x4")


def test_the_readme_python_example_runs_from_the_install(installed, tmp_path):
    venv, python, _ = installed
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    folder = _scratch(tmp_path / "work")
    with open(os.path.join(folder, "example.py"), "w") as f:
        f.write(code)
    proc = _run([python, "example.py"], cwd=folder)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].split()[:2] == ["2048", "2048"]  # the demo scene, x4
    assert "landsat-rgb-x4" in proc.stdout.splitlines()[1]


def test_without_gdal_bindings_the_install_stops_with_the_command(tmp_path):
    venv, python = _fresh_env(tmp_path / "venv", share_packages=False)
    proc = _run([python, "-m", "pip", "install", "--disable-pip-version-check", *_build_wheels(), ROOT])
    assert proc.returncode != 0
    version = gdal.__version__
    assert f'pip install --no-build-isolation --force-reinstall --no-deps "GDAL=={version}"' in proc.stdout + \
        proc.stderr, proc.stderr[-2000:]
