"""The first code of a training's child process: ``python bootstrap.py RESULT_FD PARENT_PID``, the training's
config as JSON on its standard input, its answer as JSON on RESULT_FD.

Run as a script, it imports nothing of sr4rs or TensorFlow before SIGTERM, SIGINT and SIGHUP are handled and the
parent's death is signalled to it (Linux's PR_SET_PDEATHSIG: DEEPaaS cancels a training by killing its worker),
so that a cancel at any instant ends the run cleanly:

- before the training has begun (reading the config, importing TensorFlow, waiting for another run of the same
  model to end) the handler removes the work folder and ends the process at once;
- while it trains, the handler cancels the run's CancelToken: the run stops before its next batch and
  ``trainer`` keeps the checkpoints of its finished epochs.

The work folder is made here, once the handlers are in place: a cancel before that finds nothing to remove.
For tests, ``SR4RS_DEEPAAS_MARKERS=FOLDER`` makes the process write an empty file there at each named instant
(``handlers``, ``import``, ``batch-N``, ``epoch-N-end``, ``exit``), and ``SR4RS_DEEPAAS_HOLD=INSTANT`` makes it
wait at that instant until a signal has come, so that a test cancels exactly there.
"""
import itertools
import json
import os
import shutil
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))  # the tree this file is in: the worker's code
MARKERS_ENV, HOLD_ENV = "SR4RS_DEEPAAS_MARKERS", "SR4RS_DEEPAAS_HOLD"
HOLD_SECONDS = 300
SIGNALS = ("SIGTERM", "SIGINT", "SIGHUP")
_PR_SET_PDEATHSIG = 1


class State:
    """The child's state as its signal handler sees it: ``starting`` (stop at once), ``training`` (cancel the
    token), ``finishing`` (the run is ending anyway: only noted)."""

    def __init__(self, result_fd: int, parent: int):
        self.result_fd, self.parent = result_fd, parent
        self.signum, self.first = 0, itertools.count()  # next(first) is atomic: one handler acts, once
        self.phase, self.work, self.token, self.lock = "starting", None, None, None
        self.markers, self.hold = os.environ.get(MARKERS_ENV), os.environ.get(HOLD_ENV)

    def mark(self, instant: str) -> None:
        """Test hook: write the marker of ``instant``; hold there until a signal has come if asked to."""
        if not self.markers:
            return
        with open(os.path.join(self.markers, instant), "w") as f:
            f.write(str(os.getpid()))
        deadline = time.monotonic() + HOLD_SECONDS
        while instant == self.hold and not self.signum and time.monotonic() < deadline:
            time.sleep(0.01)  # test hook only: waiting for the test's signal

    def report(self, result: dict) -> None:
        """Write the answer for the worker (once; a worker that is gone reads nothing)."""
        fd, self.result_fd = self.result_fd, None
        if fd is None:
            return
        try:
            os.write(fd, json.dumps(result).encode())
        except OSError:
            pass
        finally:
            os.close(fd)

    def start_training(self, token) -> None:
        """From now on a signal cancels ``token`` (it is cancelled at once if one came already)."""
        self.token = token
        self.phase = "training"
        if self.signum:
            token.cancel(f"stopped by signal {self.signum}")

    def take_lock(self, models: str, name: str) -> None:
        """Hold the lock of model ``name`` from here to the end (another run of it waits): the server's cancel
        waits on it for the run's end. Its file is removed when released, so that nothing stays behind."""
        import fcntl

        path = lock_path(models, name)
        while True:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            except FileNotFoundError:  # its folder was tidied away meanwhile
                continue
            self.lock = (fd, path)
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                if os.fstat(fd).st_ino == os.stat(path).st_ino:
                    return
            except FileNotFoundError:
                pass
            self.lock = None
            os.close(fd)  # its holder removed the file meanwhile: take the new one

    def release_lock(self) -> None:
        if self.lock:
            fd, path = self.lock
            self.lock = None
            try:
                os.remove(path)
            except OSError:
                pass
            os.close(fd)
            try:
                os.rmdir(os.path.dirname(path))  # the folder of kept checkpoints goes when it holds nothing
            except OSError:
                pass

    def stop_now(self) -> None:
        """A cancel before the training has begun: remove what exists, answer, end the process."""
        if self.lock:  # (fd, path) of the model's lock, opened: removed if this process holds it
            import fcntl

            try:
                fcntl.flock(self.lock[0], fcntl.LOCK_EX | fcntl.LOCK_NB)
                if os.fstat(self.lock[0]).st_ino == os.stat(self.lock[1]).st_ino:
                    self.release_lock()
            except OSError:
                pass
        if self.work:
            shutil.rmtree(self.work, ignore_errors=True)
        self.report({"ok": False, "status": 409, "message": "the training was cancelled before it began "
                     f"(signal {self.signum}): no checkpoint of it is kept"})
        self.mark("exit")
        os._exit(0)


STATE = None
CHECKPOINTS = ".checkpoints"  # in the models folder: kept checkpoints and the locks of running trainings


def lock_path(models: str, name: str) -> str:
    return os.path.join(models, CHECKPOINTS, name + ".lock")


def _on_signal(signum, frame):
    if next(STATE.first):
        return  # a later signal changes nothing (and never runs inside the first one's handling)
    STATE.signum = signum
    if STATE.phase == "starting":
        STATE.stop_now()
    elif STATE.phase == "training":
        STATE.token.cancel(f"stopped by signal {signum}")


def _die_with_parent(parent: int) -> None:
    try:  # Linux: the kernel sends SIGTERM when the parent dies, even by SIGKILL
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # it died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


def main(argv) -> int:
    global STATE
    STATE = State(int(argv[1]), int(argv[2]))
    for name in SIGNALS:
        signal.signal(getattr(signal, name), _on_signal)
    _die_with_parent(STATE.parent)
    STATE.mark("handlers")
    try:
        values = json.loads(sys.stdin.buffer.read().decode())
        work, model = os.path.dirname(values["save_ckpt"]), values["savedmodel"]
    except (ValueError, KeyError, TypeError):  # the worker died while writing it
        STATE.stop_now()
    STATE.take_lock(os.path.dirname(model), os.path.basename(model))  # first: a cancel waits on it from here
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, [getattr(signal, name) for name in SIGNALS])
    try:  # made and noted as one step: a cancel removes it, or finds nothing
        os.mkdir(work, 0o700)  # a fresh name the worker chose: never an existing folder
        STATE.work = work
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    os.mkdir(os.path.join(work, "tmp"))
    os.environ["TMPDIR"] = os.path.join(work, "tmp")
    STATE.mark("import")
    sys.path.insert(0, ROOT)
    from sr4rs.integrations.deepaas import trainer

    return trainer.main(STATE, values)


if __name__ == "__main__":
    if sys.path and os.path.abspath(sys.path[0] or os.curdir) == HERE:
        sys.path.pop(0)  # this folder's modules are not top-level modules
    code = main(sys.argv)
    if "logging" in sys.modules:
        sys.modules["logging"].shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # its work is written and answered: no wait for TensorFlow's own teardown
