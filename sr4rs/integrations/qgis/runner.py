"""Run one sr4rs job in the worker process and relay it to QGIS: progress to the progress bar, messages to
the log, QGIS's cancel button to the job (which stops within one batch and removes what it had begun to
write), and a failure to one ``QgsProcessingException`` that says what to fix."""
import json
import os
import queue
import re
import subprocess
import sys
import threading

from qgis.core import QgsProcessingException

SETTING = "SR4RS_PYTHON"
SETTING_LABEL = "Python with sr4rs (the bin/python of the environment where sr4rs and TensorFlow are installed)"
WORKER = "sr4rs.integrations.qgis_worker"
_FIX = ("set 'Python with sr4rs' in Processing > Options > Providers > SR4RS (or the SR4RS_PYTHON environment "
        "variable) to the python of the environment where sr4rs is installed, e.g. /path/to/sr4rs/.venv/bin/python "
        "(bash scripts/setup.sh makes one)")


def qgis_python() -> str:
    """The Python QGIS embeds, as a program (QGIS's own executable is not one)."""
    if os.name == "nt":
        return os.path.join(sys.exec_prefix, "python.exe")
    return os.path.join(sys.exec_prefix, "bin", "python3")


def configured_python() -> str:
    """The provider's setting, else $SR4RS_PYTHON, else QGIS's own Python."""
    try:
        from processing.core.ProcessingConfig import ProcessingConfig

        value = ProcessingConfig.getSetting(SETTING)
    except ImportError:  # Processing not loaded
        value = None
    return (value or "").strip() or os.environ.get(SETTING, "").strip() or qgis_python()


def _diagnose(python: str, code: int, stderr: str) -> str:
    """One line for a worker that ended without a result."""
    missing = re.findall(r"No module named '([\w.]+)'", stderr)
    if missing:
        return f"sr4rs is not importable from {python} (no module named '{missing[-1]}'): {_FIX}"
    last = next((line for line in reversed(stderr.splitlines()) if line.strip()), "no message")
    return f"the sr4rs process ({python}) ended with exit status {code} ({last.strip()})"


def _pump(stream, events: queue.Queue, tag: str) -> None:
    for line in stream:
        events.put((tag, line))
    events.put((tag, None))


class WorkerRun:
    """One job in one worker process; ``run`` returns its result dict or raises QgsProcessingException."""

    def __init__(self, task: str, params: dict, feedback=None, python: str = None):
        self.task, self.params, self.feedback = task, params, feedback
        self.python = python or configured_python()
        self.stderr, self.result, self.failure, self.cancelled = [], None, None, False

    def _start(self) -> subprocess.Popen:
        if not os.path.isfile(self.python):
            raise QgsProcessingException(f"'Python with sr4rs' is {self.python}, which does not exist: {_FIX}")
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
                   PYTHONUNBUFFERED="1")
        for name in ("PYTHONHOME", "PYTHONEXECUTABLE"):  # QGIS's, not the worker's
            env.pop(name, None)
        try:
            proc = subprocess.Popen([self.python, "-m", WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, env=env, bufsize=1)
        except OSError as err:
            raise QgsProcessingException(f"cannot start {self.python} ({err.strerror}): {_FIX}") from None
        proc.stdin.write(json.dumps({"task": self.task, "params": self.params}) + "\n")
        proc.stdin.flush()
        return proc

    def run(self) -> dict:
        proc = self._start()
        events = queue.Queue()
        for stream, tag in ((proc.stdout, "out"), (proc.stderr, "err")):
            threading.Thread(target=_pump, args=(stream, events, tag), daemon=True).start()
        try:
            self._relay(proc, events)
        finally:
            if proc.stdin and not proc.stdin.closed:
                proc.stdin.close()  # the worker cancels if it is still running
            code = proc.wait()
            proc.stdout.close()
            proc.stderr.close()
        return self._outcome(code)

    def _relay(self, proc, events: queue.Queue) -> None:
        open_streams = 2
        while open_streams:
            self._forward_cancel(proc)
            try:
                tag, line = events.get(timeout=0.1)
            except queue.Empty:
                continue
            if line is None:
                open_streams -= 1
            elif tag == "err":
                self.stderr.append(line.rstrip("\n"))
            else:
                self._event(line)

    def _forward_cancel(self, proc) -> None:
        if self.feedback is not None and self.feedback.isCanceled() and not self.cancelled:
            self.cancelled = True
            try:
                proc.stdin.write("cancel\n")
                proc.stdin.flush()
            except (BrokenPipeError, ValueError, OSError):
                pass  # already ended

    def _event(self, line: str) -> None:
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            self._info(line.rstrip("\n"))
            return
        kind = event.pop("event", None)
        if kind == "progress" and self.feedback is not None:
            self.feedback.setProgress(float(event["percent"]))
        elif kind == "log":
            self._info(event["text"])
        elif kind == "result":
            self.result = event
        elif kind == "error":
            self.failure = event["message"]
        elif kind == "cancelled":
            self.cancelled = True

    def _info(self, text: str) -> None:
        if self.feedback is not None:
            self.feedback.pushInfo(text)

    def _outcome(self, code: int) -> dict:
        if self.failure:
            raise QgsProcessingException(self.failure)
        if self.result is not None and code == 0:
            return self.result
        if self.cancelled:
            raise QgsProcessingException("cancelled: sr4rs stopped within one batch and removed what it had "
                                         "begun to write")
        message = _diagnose(self.python, code, "\n".join(self.stderr))
        if self.feedback is not None and not message.startswith("sr4rs is not importable"):
            for line in self.stderr[-20:]:  # a traceback: the whole of its end, for a bug report
                self.feedback.pushDebugInfo(line)
        raise QgsProcessingException(message)


def run_task(task: str, params: dict, feedback=None, python: str = None) -> dict:
    return WorkerRun(task, params, feedback, python).run()
