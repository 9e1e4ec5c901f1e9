"""sr4rs: super-resolution of remote sensing images (GDAL + TensorFlow). The public API lives in
``sr4rs.api``; the names most used are here too, imported when first used (so that ``sr4rs doctor`` and the
command line's messages work where GDAL or TensorFlow is missing)."""
__version__ = "0.1.0"

_API = ("ApplyOptions", "ApplyReport", "CancelToken", "LoadedModel", "ModelMetadata", "SessionModel", "TrainConfig",
        "apply", "evaluate", "extract_patches", "list_models", "load_model", "super_resolve", "train")
_ERRORS = ("BackendError", "Cancelled", "InputError", "ModelError", "OutputError", "Sr4rsError")

__all__ = sorted(_API + _ERRORS) + ["__version__"]


def __getattr__(name):
    if name in _API:
        from . import api

        return getattr(api, name)
    if name in _ERRORS:
        from . import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'sr4rs' has no attribute '{name}'")


def __dir__():
    return sorted(set(globals()) | set(__all__))
