"""GDAL, configured once for the whole package: exceptions on, and its warnings and error messages sent
to the ``sr4rs.gdal`` logger (debug level) instead of being printed on stderr: failures reach the
caller as exceptions, turned into one-line messages there."""
from __future__ import annotations

import logging

from osgeo import gdal, gdal_array, ogr, osr  # noqa: F401 (re-exported to the io modules)

log = logging.getLogger("sr4rs.gdal")
_LEVELS = {gdal.CE_Debug: "debug", gdal.CE_Warning: "warning", gdal.CE_Failure: "error", gdal.CE_Fatal: "fatal"}


def _to_log(level, number, message) -> None:
    log.debug("GDAL %s %s: %s", _LEVELS.get(level, level), number, str(message).strip())


gdal.UseExceptions()
gdal.SetErrorHandler(_to_log)
