"""sr4rs: super-resolution of remote sensing images (GDAL + TensorFlow). The public API lives in
``sr4rs.api``; the names most used are here too."""
__version__ = "0.1.0"

from .api import (  # noqa: E402
    ApplyOptions, ApplyReport, CancelToken, LoadedModel, ModelMetadata, SessionModel, TrainConfig, apply, evaluate,
    extract_patches, list_models, load_model, super_resolve, train,
)
from .errors import BackendError, Cancelled, InputError, ModelError, OutputError, Sr4rsError  # noqa: E402

__all__ = ["ApplyOptions", "ApplyReport", "BackendError", "Cancelled", "CancelToken", "InputError", "LoadedModel",
           "ModelError", "ModelMetadata", "OutputError", "SessionModel", "Sr4rsError", "TrainConfig", "__version__",
           "apply", "evaluate", "extract_patches", "list_models", "load_model", "super_resolve", "train"]
