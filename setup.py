import os
import shutil
import subprocess
import sys

from setuptools import find_packages, setup

GDAL_HELP = "see the README's 'Install with pip' section"


def _run(command):
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=120).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def gdal_requirement():
    """GDAL's Python bindings must match the system library (pip would otherwise build the newest bindings, which
    refuse an older library) and be built against numpy (else osgeo.gdal_array is silently left out). pip cannot
    build them so in its isolated build environments: the install takes the bindings already in the target
    environment, pinned to their version, or stops with the command that installs them.
    SR4RS_GDAL_REQUIREMENT overrides the check (e.g. "" to build a wheel for other machines)."""
    if "SR4RS_GDAL_REQUIREMENT" in os.environ:
        return [r for r in [os.environ["SR4RS_GDAL_REQUIREMENT"]] if r]
    system = _run(["gdal-config", "--version"]) if shutil.which("gdal-config") else ""
    # the environment pip installs into (-I: without the isolated build environment's paths)
    found = _run([sys.executable, "-I", "-c", "from osgeo import gdal, gdal_array; print(gdal.__version__)"])
    if found and (not system or found == system):
        return [f"GDAL=={found}"]
    if not system:
        sys.exit("sr4rs needs the GDAL library and its Python bindings: install the library first (Debian and "
                 "Ubuntu: sudo apt-get install libgdal-dev gdal-bin), then run pip again; " + GDAL_HELP)
    have = f"GDAL's Python bindings {found} do not match the system library {system}" if found else \
        f"GDAL's Python bindings (for the system library {system}) are not installed in {sys.prefix}"
    sys.exit(f"{have}: install them first with\n    {sys.executable} -m pip install numpy setuptools wheel && "
             f"{sys.executable} -m pip install --no-build-isolation --force-reinstall --no-deps \"GDAL=={system}\"\n"
             f"then run pip again ({GDAL_HELP})")


setup(
    name="sr4rs",
    version="0.1.0",
    description="Super-resolution of remote sensing images: GDAL patch readers, a TensorFlow SRGAN trainer "
                "and a streaming apply engine",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.11",
    packages=find_packages(include=["sr4rs", "sr4rs.*"]),
    package_data={"sr4rs.model": ["bundled/*/saved_model.pb", "bundled/*/variables/*", "bundled/*/assets.extra/*",
                                  "bundled/*/fingerprint.pb"],
                  "sr4rs.io": ["sensors/*.json"]},
    include_package_data=True,
    install_requires=[
        "numpy>=1.26,<3",
        "tqdm>=4.66,<5",
        "scipy>=1.11",
        "scikit-image>=0.22",
        "pillow>=10",
        "pystac>=1.10",  # STAC items as inputs and outputs
        # TensorFlow runs on CPUs as it is; [gpu] adds NVIDIA's CUDA libraries. TensorBoard: train --logdir.
        "tensorflow>=2.16,<2.22",
        "tensorboard>=2.16",
    ] + gdal_requirement(),
    extras_require={"gpu": ["tensorflow[and-cuda]>=2.16,<2.22"],
                    "cpu": [],  # TensorFlow is a plain dependency now: kept so that "sr4rs[cpu]" still installs
                    "test": ["pytest>=8,<10"],
                    # The DEEPaaS service (docs/deepaas.md); requirements-deepaas.txt pins a tested set.
                    "deepaas": ["deepaas==2.6.0", "aiohttp>=3.14.1,<4"],
                    "dask": ["dask[distributed]>=2024.1"],  # sr4rs apply-many
                    # sr4rs.xarray: DataArrays as odc-stac, stackstac and rioxarray load them
                    "xarray": ["xarray>=2024.1", "rioxarray>=0.15", "dask[array]>=2024.1"],
                    # --backend onnxruntime and sr4rs export-onnx; --backend openvino (requirements-runtimes.txt)
                    "onnx": ["onnx>=1.17", "onnxruntime>=1.20", "tf2onnx>=1.16"],
                    "openvino": ["openvino>=2024.6"]},
    entry_points={"console_scripts": ["sr4rs=sr4rs.cli:main"],
                  "deepaas.v2.model": ["sr4rs=sr4rs.integrations.deepaas.model"]},
    classifiers=["Programming Language :: Python :: 3", "Topic :: Scientific/Engineering :: GIS"],
)
