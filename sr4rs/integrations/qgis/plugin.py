"""The plugin object QGIS loads: it registers the Processing provider (``initProcessing`` is what
``qgis_process`` calls; the desktop calls ``initGui``)."""
from qgis.core import QgsApplication

from .provider import Sr4rsProvider


class Sr4rsPlugin:
    def __init__(self, iface):
        self.iface = iface
        self.provider = None

    def initProcessing(self):  # noqa: N802 (QGIS's names)
        if self.provider is None:
            self.provider = Sr4rsProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):  # noqa: N802
        self.initProcessing()

    def unload(self):
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
