"""deepaas's worker pools as sr4rs's server makes them (pools.py): a pool whose worker was killed while holding one
of its queues' locks ends, without the wait for ever that stops deepaas 2.6.0's server, and leaves no pipe open.
Each test kills the worker in the state that makes it hold the lock: idle (it holds the task queue's read lock
while it waits), or a process that dies holding the result queue's write lock."""
import multiprocessing
import os
import time

import pytest

try:
    import deepaas  # noqa: F401
except ImportError:
    if os.environ.get("CI"):
        raise
    pytest.skip("deepaas is not installed (pip install -r requirements-deepaas.txt)", allow_module_level=True)

from sr4rs.integrations.deepaas import pools

SPAWN = multiprocessing.get_context("spawn")


def _hold(lock, ready):
    lock.acquire()
    ready.set()
    time.sleep(600)  # killed by the test while it holds the lock


def _end(pool, timeout=60):
    t0 = time.monotonic()
    pool.terminate()
    returned = time.monotonic() - t0
    while pools.ending():
        assert time.monotonic() - t0 < timeout, "the pool did not end"
        time.sleep(0.01)  # the pool ends in a thread of its own: polling its count
    return returned


def _fds():
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def pool():
    made = pools.pool_class()(1, context=SPAWN)
    assert made.apply(os.getpid) != os.getpid()  # its worker is up, and idle from here on
    return made


def _wait_held(lock, timeout=60):
    """Until another process holds ``lock`` (the idle worker takes its task queue's lock as it waits again)."""
    deadline = time.monotonic() + timeout
    while lock.acquire(False):
        lock.release()
        assert time.monotonic() < deadline, "the worker never waited for a task again"
        time.sleep(0.01)  # polling the lock's state


def test_an_idle_worker_killed_holding_the_task_queue_lock(pool):
    before = _fds()
    _wait_held(pool._inqueue._rlock)
    worker = pool._pool[0]
    worker.kill()
    assert _end(pool) < pools.LOCK_WAIT  # terminate() only starts the ending
    assert worker._closed and pool._inqueue._reader.closed
    assert _fds() < before


def test_a_process_dead_holding_the_result_queue_lock(pool):
    ready = SPAWN.Event()
    holder = SPAWN.Process(target=_hold, args=(pool._outqueue._wlock, ready))
    holder.start()
    assert ready.wait(60)
    holder.kill()
    holder.join()
    pool._pool[0].kill()
    assert _end(pool) < pools.LOCK_WAIT  # the wait for the lock is the pool's thread's, not the caller's
    assert pool._outqueue._reader.closed and pool._inqueue._writer.closed


def _work(marker):
    open(marker, "w").close()
    time.sleep(600)  # killed by the test while it works


def test_a_worker_killed_while_it_works(pool, tmp_path):
    marker = tmp_path / "working"
    result = pool.apply_async(_work, (str(marker),))
    worker = pool._pool[0]
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert time.monotonic() < deadline, "the worker never took its task"
        time.sleep(0.01)  # polling the file the task writes
    worker.kill()
    _end(pool)
    assert worker._closed and not result.ready()


def test_deepaas_makes_these_pools_once_the_server_installed_them():
    from deepaas.model.v2 import wrapper

    pools.install()
    pools.install()
    executor = wrapper.CancellablePool(max_workers=1)
    (made,) = executor._free
    assert type(made) is pools.pool_class() and isinstance(made, wrapper.NonDaemonPool)
    made._pool[0].kill()
    _end(made)
