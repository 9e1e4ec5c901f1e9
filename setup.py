from setuptools import find_packages, setup

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
    # GDAL's Python bindings must match the system libgdal: install them with
    # pip install --no-build-isolation "GDAL==$(gdal-config --version)" (scripts/setup.sh does).
    install_requires=[
        "numpy>=1.26,<3",
        "tqdm>=4.66,<5",
        "GDAL>=3.4",
        "scipy>=1.11",
        "scikit-image>=0.22",
        "pillow>=10",
        "pystac>=1.10",  # STAC items as inputs and outputs
    ],
    # TensorFlow: the CPU build, or the GPU build on machines with an NVIDIA GPU.
    extras_require={"cpu": ["tensorflow-cpu==2.21.0"], "gpu": ["tensorflow[and-cuda]==2.21.0"],
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
