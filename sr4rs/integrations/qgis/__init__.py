"""The sr4rs QGIS plugin: a Processing provider ``sr4rs`` (super-resolve a raster layer or a Sentinel-2
product's bands, extract patches, train, evaluate), usable from the Processing toolbox, the graphical
modeler and ``qgis_process``.

This folder is the plugin; ``python -m sr4rs.integrations.qgis.package DIR`` zips it as QGIS installs
plugins (``DIR/sr4rs_qgis.zip``). It imports nothing of sr4rs: each algorithm runs sr4rs's public API in a
separate process (``sr4rs.integrations.qgis_worker``), with the Python of the environment where sr4rs and
TensorFlow are installed, set in Processing > Options > Providers > SR4RS (as QGIS's OTB provider asks for
the OTB folder), so that their numpy and GDAL never meet QGIS's own.
"""


def classFactory(iface):  # noqa: N802 (QGIS's name)
    from .plugin import Sr4rsPlugin

    return Sr4rsPlugin(iface)
