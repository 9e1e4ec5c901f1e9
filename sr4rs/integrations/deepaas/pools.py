"""Worker pools whose ending never stops the server.

deepaas 2.6.0 runs each request in a ``multiprocessing`` pool of one worker, and cancels a training by killing
that worker (SIGKILL) and then calling the pool's ``terminate()``, in the server's event loop. A pool's worker
holds the read lock of its task queue while it waits for a task, and the write lock of its result queue while it
sends a result: killed in one of those moments (a cancel that lands before the worker has taken the training,
or as it returns), it dies holding the lock, ``terminate()`` waits for that lock for ever, and the whole server
stops answering.

The pools made here end without that wait: ``terminate()`` stops the pool from starting new workers and returns
at once; a thread of its own then kills and reaps the workers, frees a queue lock that a dead worker held (no
process alive can hold it any more), ends the pool as ``multiprocessing`` does, and closes its pipes.
``ending()`` says whether a pool is still ending, so that a cancel's answer can wait for it."""
from __future__ import annotations

import functools
import logging
import multiprocessing
import multiprocessing.pool
import threading

LOG = logging.getLogger("sr4rs.deepaas")
LOCK_WAIT = 2.0  # seconds: a live holder (the pool's task thread) keeps its result queue's lock for microseconds
_ENDING: set = set()
_ENDING_LOCK = threading.Lock()


def ending() -> int:
    """How many pools are still ending."""
    with _ENDING_LOCK:
        return len(_ENDING)


def _free(lock, wait: float = 0.0) -> None:
    """``lock`` free again if a dead process held it: one that no live process holds for longer than ``wait``."""
    if lock is None:
        return
    taken = lock.acquire(timeout=wait) if wait else lock.acquire(False)
    if not taken:
        LOG.info("a killed worker held one of its pool's queue locks: freed")
    lock.release()


@functools.lru_cache(maxsize=None)
def pool_class():
    """deepaas's pool (non-daemonic workers, started by spawning) with the ``terminate()`` above."""
    from deepaas.model.v2.wrapper import NonDaemonPool

    class Pool(NonDaemonPool):
        def terminate(self):
            if getattr(self, "_sr4rs_ending", False):
                return
            self._sr4rs_ending = True
            self._worker_handler._state = multiprocessing.pool.TERMINATE  # no new worker from here on
            with _ENDING_LOCK:
                _ENDING.add(self)
            threading.Thread(target=self._end, name="sr4rs-pool-end", daemon=True).start()

        def _end(self):
            try:
                self._reap()
                self._change_notifier.put(None)  # wakes the worker handler, which ends
                self._worker_handler.join()
                self._reap()  # one it started before it saw the new state
                _free(self._inqueue._rlock)  # only workers take it: all are dead now
                _free(self._outqueue._wlock, LOCK_WAIT)  # the pool's task thread takes it too, for a moment
                NonDaemonPool.terminate(self)
                for queue in (self._inqueue, self._outqueue, self._change_notifier):
                    queue._reader.close()
                    queue._writer.close()
                for worker in self._pool:
                    worker.close()
            except Exception:  # noqa: BLE001 (a thread of its own: the log has it)
                LOG.exception("a worker pool did not end cleanly")
            finally:
                with _ENDING_LOCK:
                    _ENDING.discard(self)

        def _reap(self):
            for worker in list(self._pool):
                if worker.exitcode is None:
                    worker.kill()
                worker.join()

    return Pool


def install() -> None:
    """deepaas's CancellablePool makes its pools with this ``terminate()`` (before the model's pools are made)."""
    from deepaas.model.v2 import wrapper

    if getattr(wrapper.CancellablePool._new_pool, "sr4rs", False):
        return
    Pool = pool_class()

    def _new_pool(self):
        return Pool(1, context=multiprocessing.get_context("spawn"))

    _new_pool.sr4rs = True
    wrapper.CancellablePool._new_pool = _new_pool
