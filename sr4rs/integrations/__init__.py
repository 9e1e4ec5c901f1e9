"""Where sr4rs meets other tools (QGIS Processing, OTB pipelines, DEEPaaS). Integrations import only
the public API (``sr4rs.api``), never the packages below it."""
