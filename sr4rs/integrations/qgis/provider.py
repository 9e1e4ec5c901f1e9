"""The Processing provider ``sr4rs``: its algorithms, its one setting (the Python that runs sr4rs), and the
bundled models, asked once of that Python so that the dialogs can list them."""
import os

from qgis.core import Qgis, QgsMessageLog, QgsProcessingException, QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from . import algorithms
from .runner import SETTING, SETTING_LABEL, configured_python, run_task

HERE = os.path.dirname(os.path.abspath(__file__))


def _config():
    try:
        from processing.core.ProcessingConfig import ProcessingConfig, Setting
    except ImportError:  # Processing not loaded: the environment variable alone
        return None, None
    return ProcessingConfig, Setting


class Sr4rsProvider(QgsProcessingProvider):
    def __init__(self):
        super().__init__()
        self.models = None

    def id(self):  # noqa: A003 (QGIS's name)
        return "sr4rs"

    def name(self):
        return "SR4RS"

    def longName(self):  # noqa: N802
        return "SR4RS super-resolution (sr4rs)"

    def icon(self):
        return QIcon(os.path.join(HERE, "icon.svg"))

    def load(self):
        config, setting = _config()
        if config is not None:
            config.settingIcons[self.name()] = self.icon()
            config.addSetting(setting(self.name(), SETTING, SETTING_LABEL, "", valuetype=setting.FILE))
            config.readSettings()
        self.refreshAlgorithms()
        return True

    def unload(self):
        config, _ = _config()
        if config is not None:
            config.removeSetting(SETTING)

    def supportedOutputRasterLayerExtensions(self):  # noqa: N802
        return ["tif"]

    def bundled_models(self):
        """The bundled models as the worker lists them; none (and a message in the log) when sr4rs cannot
        be run: the algorithms then say why when they are run."""
        if self.models is None:
            try:
                self.models = run_task("models", {})["models"]
            except QgsProcessingException as err:
                self.models = []
                QgsMessageLog.logMessage(f"{err} (Python: {configured_python()})", "SR4RS", Qgis.Warning)
        return self.models

    def loadAlgorithms(self):  # noqa: N802
        models = self.bundled_models()
        for cls in algorithms.ALGORITHMS:
            self.addAlgorithm(cls(models))
