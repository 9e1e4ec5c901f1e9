"""Drive the sr4rs plugin inside a real QGIS (Debian's python3-qgis), headless (QT_QPA_PLATFORM=offscreen).

Run with QGIS's Python: ``python3 qgis_harness.py PLUGIN_DIR COMMAND ARGS.json``; prints one JSON object.
Commands: ``run`` (algorithms in sequence, each {"id", "params", "cancel_at": percent or null}) and
``dialog`` (the algorithm's dialog drawn offscreen: a PNG and the parameters that got a widget).
"""
import json
import os
import sys

from qgis.core import QgsApplication, QgsProcessingContext, QgsProcessingException, QgsProcessingFeedback

sys.path.insert(0, "/usr/share/qgis/python/plugins")


def start(plugin_dir):
    app = QgsApplication([], True)
    app.initQgis()
    from processing.core.Processing import Processing

    Processing.initialize()
    sys.path.insert(0, plugin_dir)
    import sr4rs_qgis

    plugin = sr4rs_qgis.classFactory(None)
    plugin.initProcessing()
    return app, plugin


class Feedback(QgsProcessingFeedback):
    """Records progress and messages; cancels itself once progress passes ``cancel_at``."""

    def __init__(self, cancel_at=None):
        super().__init__()
        self.cancel_at, self.progress_seen, self.cancelled_at, self.messages = cancel_at, [], None, []
        self.progressChanged.connect(self._on_progress)

    def _on_progress(self, percent):
        self.progress_seen.append(percent)
        if self.cancel_at is not None and percent >= self.cancel_at and self.cancelled_at is None:
            self.cancelled_at = percent
            self.cancel()

    def pushInfo(self, text):  # noqa: N802 (QGIS's name)
        self.messages.append(text)
        super().pushInfo(text)


def run_algorithm(step):
    registry = QgsApplication.processingRegistry()
    algorithm = registry.createAlgorithmById(step["id"])
    feedback = Feedback(step.get("cancel_at"))
    context = QgsProcessingContext()
    error = None
    try:
        results, ok = algorithm.run(step["params"], context, feedback, catchExceptions=False)
    except QgsProcessingException as err:
        results, ok, error = {}, False, str(err)
    return {"id": step["id"], "ok": bool(ok), "error": error, "results": {k: str(v) for k, v in results.items()},
            "progress": feedback.progress_seen[-1] if feedback.progress_seen else None,
            "progress_events": len(feedback.progress_seen), "cancelled_at": feedback.cancelled_at,
            "messages": feedback.messages}


def dialog(args):
    """Each algorithm of ``ids`` in its dialog: the parameters that got a widget; the first one's picture."""
    from qgis.core import QgsProject, QgsRasterLayer

    for path in args.get("layers", []):
        QgsProject.instance().addMapLayer(QgsRasterLayer(path, os.path.splitext(os.path.basename(path))[0]))
    out = {}
    for i, algorithm_id in enumerate(args["ids"]):
        out[algorithm_id] = draw(algorithm_id, args["png"] if i == 0 else None, args.get("size", (980, 690)))
    return out


def draw(algorithm_id, png, size):
    from processing.gui.AlgorithmDialog import AlgorithmDialog
    from qgis.PyQt.QtCore import QSize

    algorithm = QgsApplication.processingRegistry().createAlgorithmById(algorithm_id)
    dlg = AlgorithmDialog(algorithm, False, None)
    dlg.show()
    dlg.resize(QSize(*size))
    QgsApplication.processEvents()
    panel = dlg.mainWidget()
    wrappers = sorted(name for name, w in panel.wrappers.items() if w is not None and w.wrappedWidget() is not None)
    if png:
        dlg.grab().save(png)
    dlg.close()
    model = algorithm.parameterDefinition("MODEL")
    return {"widgets": wrappers, "parameters": sorted(p.name() for p in algorithm.parameterDefinitions()),
            "model": model.options()[model.defaultValue()] if model is not None else None}


def main():
    plugin_dir, command, args = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
    app, plugin = start(plugin_dir)
    providers = [p.id() for p in QgsApplication.processingRegistry().providers()]
    if command == "run":
        out = {"providers": providers, "steps": [run_algorithm(step) for step in args["steps"]]}
    else:
        out = dialog(args)
    plugin.unload()
    print("HARNESS " + json.dumps(out), flush=True)
    app.exitQgis()
    os._exit(0)  # QGIS's teardown can crash after the work is done: the result is already printed


if __name__ == "__main__":
    main()
