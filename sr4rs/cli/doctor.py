"""``sr4rs doctor``: what this installation has and lacks (GDAL and its drivers, TensorFlow and its devices,
the optional integrations), each missing part with the line that installs it. Works where GDAL or TensorFlow
is missing: it looks for them before importing anything of sr4rs that needs them."""
from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import os
import shutil
import sys
from typing import List, Optional, Tuple

GDAL_BINDINGS = ('pip install numpy setuptools wheel && pip install --no-build-isolation --force-reinstall --no-deps '
                 '"GDAL==$(gdal-config --version)" (the library first: sudo apt-get install libgdal-dev gdal-bin)')
TENSORFLOW = "pip install 'tensorflow>=2.16,<2.22' (NVIDIA GPU: pip install 'sr4rs[gpu]')"
# module -> (what it is, the line that installs it)
INSTALL = {
    "osgeo": ("GDAL's Python bindings", GDAL_BINDINGS),
    "osgeo._gdal_array": ("GDAL's numpy support (its bindings were built without numpy)", GDAL_BINDINGS),
    "tensorflow": ("TensorFlow", TENSORFLOW),
    "keras": ("Keras 3", TENSORFLOW),
    "tensorboard": ("TensorBoard (train --logdir)", "pip install tensorboard"),
    "numpy": ("numpy", "pip install numpy"),
    "scipy": ("SciPy", "pip install scipy"),
    "skimage": ("scikit-image", "pip install scikit-image"),
    "PIL": ("Pillow", "pip install pillow"),
    "tqdm": ("tqdm", "pip install tqdm"),
    "dask": ("Dask (apply-many)", "pip install 'sr4rs[dask]' (from a clone: pip install -e '.[dask]')"),
    "distributed": ("Dask's distributed scheduler (apply-many)", "pip install 'dask[distributed]'"),
    "deepaas": ("DEEPaaS (the service)", "pip install -r requirements-deepaas.txt (or: pip install 'sr4rs[deepaas]')"),
    "aiohttp": ("aiohttp (the DEEPaaS service)", "pip install -r requirements-deepaas.txt"),
    "otbApplication": ("OTB's Python API (--backend otbtf)", "install OTBTF (its Docker images include it): "
                       "see docs/otb.md"),
}


def missing_module(err: ImportError) -> Optional[str]:
    """One line: which module is missing, what it is, and the command that installs it; None when ``err`` is an
    import that failed otherwise (a name missing from a module that is there)."""
    name, text = getattr(err, "name", None), str(err)
    if "_gdal_array" in text:
        name = "osgeo._gdal_array"
    elif not isinstance(err, ModuleNotFoundError):
        return None
    elif not name:
        name = text.split("'")[1] if text.count("'") >= 2 else text
    for key in (name, name.split(".")[0]):
        if key in INSTALL:
            what, line = INSTALL[key]
            return f"{what}: missing (Python module '{name}' not found): {line}; sr4rs doctor lists what is missing"
    top = name.split(".")[0]
    return f"the Python module '{name}' is missing: pip install {top}; sr4rs doctor lists what is missing"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--skip-tensorflow", action="store_true",
                        help="do not import TensorFlow to list its devices (a few seconds)")


def _version(dist: str) -> Optional[str]:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _present(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


Row = Tuple[bool, str, str]  # found, what, detail (or the install line)
OPTIONAL_DRIVERS = ("JP2OpenJPEG", "COG")  # Sentinel-2 products; --cog


def _gdal_rows() -> List[Row]:
    system = os.popen("gdal-config --version 2>/dev/null").read().strip() if shutil.which("gdal-config") else ""
    if not _present("osgeo"):
        return [(False, "GDAL's Python bindings", GDAL_BINDINGS)]
    try:
        from .. import api

        info = api.gdal_summary()
    except ImportError as err:
        return [(False, "GDAL's Python bindings", missing_module(err))]
    rows = [(not system or info["version"] == system, f"GDAL {info['version']}",
             f"library {info['library']}" + (f", gdal-config {system}" if system else "") +
             ("" if not system or info["version"] == system else f": reinstall the bindings: {GDAL_BINDINGS}"))]
    for name, use in api.DRIVERS.items():
        if name not in OPTIONAL_DRIVERS:
            rows.append((info["drivers"][name], f"GDAL driver {name}", use if info["drivers"][name] else
                         f"{use}: install a GDAL built with it (Debian's libgdal-dev has it)"))
    for name, found in info["compressions"].items():
        rows.append((found, f"GeoTIFF compression {name}", "" if found else
                     "pick another with -co COMPRESS=DEFLATE, or install a GDAL built with it"))
    return rows


def _tensorflow_rows(skip: bool) -> List[Row]:
    rows = []
    for module, dist in (("tensorflow", None), ("tensorboard", "tensorboard")):
        if not _present(module):
            what, line = INSTALL[module]
            rows.append((False, what, line))
    if rows or skip:
        return rows or [(True, "TensorFlow", f"{_tf_dist()} (devices not listed: --skip-tensorflow)"),
                        (True, f"TensorBoard {_version('tensorboard')}", "train --logdir")]
    from .. import api
    from .common import quiet_tensorflow

    quiet_tensorflow()
    info = api.tensorflow_summary()
    gpus = [d for d in info["devices"] if d.startswith("GPU")]
    note = "" if gpus else " (no GPU: training runs on the CPU" + \
        ("; for a GPU: pip install 'sr4rs[gpu]')" if not info["cuda"] else ")")
    return [(True, f"TensorFlow {info['version']}, Keras {info['keras']}", "devices " + ", ".join(info["devices"]) +
             note), (True, f"TensorBoard {_version('tensorboard')}", "train --logdir")]


def _tf_dist() -> str:
    for dist in ("tensorflow", "tensorflow-cpu", "tf-nightly"):
        if _version(dist):
            return f"{dist} {_version(dist)}"
    return "TensorFlow"


def _python_rows() -> List[Row]:
    rows = []
    for module, dist in (("numpy", "numpy"), ("scipy", "scipy"), ("skimage", "scikit-image"), ("PIL", "pillow"),
                         ("tqdm", "tqdm")):
        found = _present(module)
        rows.append((found, f"{dist} {_version(dist) or ''}".strip(), "" if found else INSTALL[module][1]))
    return rows


def _optional_rows() -> List[Row]:
    rows = []
    if _present("osgeo"):
        try:
            from .. import api

            drivers = api.gdal_summary()["drivers"]
            rows += [(drivers[name], f"GDAL driver {name}", api.DRIVERS[name] if drivers[name] else
                      f"{api.DRIVERS[name]}: install a GDAL built with it") for name in OPTIONAL_DRIVERS]
        except ImportError:
            pass  # reported with the required parts
    for module, dist in (("dask", "dask"), ("distributed", "distributed"), ("deepaas", "deepaas")):
        found = _present(module)
        what, line = INSTALL[module]
        rows.append((found, f"{what} {_version(dist) or ''}".strip(), "" if found else line))
    for program, what, line in (
            ("otbcli_ConcatenateImages", "OTB command-line applications (docs/otb.md)", "sudo apt-get install otb-bin"),
            ("otbcli_TensorflowModelServe", "OTBTF's TensorflowModelServe (--backend otbtf)",
             "install OTBTF (its Docker images include it; docs/otb.md)"),
            ("qgis_process", "QGIS Processing (docs/qgis.md)", "sudo apt-get install qgis python3-qgis")):
        path = shutil.which(program) or shutil.which(program + ".bin")
        rows.append((bool(path), what, path or line))
    return rows


def _print(title: str, rows: List[Row]) -> None:
    print(title)
    for found, what, detail in rows:
        print(f"  {'ok     ' if found else 'MISSING'}  {what}" + (f": {detail}" if detail else ""))


def run(args: argparse.Namespace, cancel=None) -> int:
    from .. import __version__

    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    print(f"sr4rs {__version__} ({here}), Python {sys.version.split()[0]} ({sys.executable})")
    required = _gdal_rows() + _tensorflow_rows(args.skip_tensorflow) + _python_rows()
    _print("required:", required)
    _print("optional:", _optional_rows())
    missing = [what for found, what, _ in required if not found]
    if missing:
        print(f"missing: {', '.join(missing)}: install them with the lines above", file=sys.stderr)
    return 1 if missing else 0
