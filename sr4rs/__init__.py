"""sr4rs: super-resolution of remote sensing images (GDAL + TensorFlow)."""
__version__ = "0.1.0"

from .contract import ModelMetadata  # noqa: E402
from .engine import ApplyOptions, ApplyReport, super_resolve  # noqa: E402
from .errors import BackendError, InputError, ModelError, OutputError, Sr4rsError  # noqa: E402
from .model import SessionModel, load_model  # noqa: E402

__all__ = ["ApplyOptions", "ApplyReport", "BackendError", "InputError", "ModelError", "ModelMetadata",
           "OutputError", "SessionModel", "Sr4rsError", "load_model", "super_resolve", "__version__"]
