"""What the command line says about the installation: sr4rs doctor lists what is there and what is missing, with
install lines; a missing module is one line with its install command (never "unexpected ... report it"); runs are
quiet (no absl, TensorFlow or library notices) unless --verbose."""
import os

import pytest

from conftest import DATA, LANDSAT, run_cli

SR4RS_SAVEDMODEL = os.path.join(DATA, "sr4rs-reference", "savedmodel")  # SR4RS's own TF1 export: absl warns on it


def _without(module, *argv):
    """The command line run with ``module`` made unimportable, as where it is not installed."""
    code = f"import sys; sys.modules[{module!r}] = None; from sr4rs.cli.main import main; sys.exit(main({list(argv)!r}))"
    return run_cli("-c", code)


def test_doctor_reports_what_is_installed():
    proc = run_cli("-m", "sr4rs", "doctor", "--skip-tensorflow")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    required = proc.stdout.split("optional:")[0]
    assert "MISSING" not in required and "GDAL 3." in required and "GDAL driver GTiff" in required
    assert "TensorBoard" in required and "optional:" in proc.stdout


def test_doctor_names_a_missing_part_and_its_install_line():
    proc = _without("osgeo", "doctor", "--skip-tensorflow")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    line = next(line for line in proc.stdout.splitlines() if "GDAL's Python bindings" in line)
    assert line.strip().startswith("MISSING") and 'pip install --no-build-isolation' in line
    assert 'GDAL==$(gdal-config --version)' in line


@pytest.mark.parametrize("module,argv,says", [
    ("tensorflow", ["apply", "--input", LANDSAT, "--model", "landsat-rgb-x4", "--output", "{tmp}/sr.tif"],
     "TensorFlow: missing (Python module 'tensorflow' not found): pip install 'tensorflow"),
    ("osgeo", ["apply", "--help"], "GDAL's Python bindings: missing (Python module 'osgeo' not found): pip install numpy"),
])
def test_a_missing_module_is_one_line_with_its_install_command(module, argv, says, tmp_path):
    proc = _without(module, *[a.format(tmp=tmp_path) for a in argv])
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0] and "report it" not in lines[0] and "Traceback" not in proc.stderr


def test_runs_are_quiet_unless_verbose(tmp_path):
    """SR4RS's TF1 SavedModels made absl print three warnings at every run."""
    args = ["-m", "sr4rs", "apply", "--input", LANDSAT, "--savedmodel", SR4RS_SAVEDMODEL, "--no-progress"]
    quiet = run_cli(*args, "--output", str(tmp_path / "quiet.tif"))
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr.strip().splitlines()[-1].startswith("wrote ") and len(quiet.stderr.splitlines()) == 1, \
        quiet.stderr
    verbose = run_cli(*args, "--output", str(tmp_path / "verbose.tif"), "--verbose")
    assert verbose.returncode == 0 and "absl" in verbose.stderr and "not a valid tf.function parameter" in \
        verbose.stderr
