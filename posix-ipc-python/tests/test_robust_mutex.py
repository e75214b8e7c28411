"""RobustMutex (posix_ipc issue #53): a lock handed on when its holder is killed."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Callable

import pytest

import posix_ipc_rs as p
from test_blocking import wait_sleeping

HOLDER = r"""
import sys, posix_ipc_rs as p
m = p.RobustMutex(sys.argv[1])
m.acquire()
print("held", flush=True)
sys.stdin.read()   # holds the lock until killed
"""


def holder(n: str) -> subprocess.Popen[str]:
    child = subprocess.Popen([sys.executable, "-c", HOLDER, n], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline() == "held\n"
    return child


def test_a_killed_holder_hands_the_lock_on(name: Callable[[str], str]) -> None:
    m = p.RobustMutex(name("mx"), p.O_CREX)
    child = holder(m.name)
    try:
        with pytest.raises(p.BusyError):
            m.acquire(0)
        with pytest.raises(p.BusyError):
            m.acquire(0.05)
        child.kill()
        child.wait()
        assert m.acquire(10) is True
        assert m.previous_owner_died
        m.release()
        with m:
            assert m.previous_owner_died is False
    finally:
        child.kill()
        child.wait()


def test_only_the_holding_thread_may_release(name: Callable[[str], str]) -> None:
    m = p.RobustMutex(name("mx"), p.O_CREX)
    with pytest.raises(p.PermissionsError):
        m.release()
    m.acquire()
    errors: list[BaseException] = []

    def other() -> None:
        try:
            m.release()
        except BaseException as e:  # noqa: BLE001 - the test inspects it
            errors.append(e)

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert len(errors) == 1 and isinstance(errors[0], p.PermissionsError)
    m.release()


def test_a_blocked_acquire_releases_the_gil_and_stops_on_ctrl_c(
        name: Callable[[str], str]) -> None:
    m = p.RobustMutex(name("mx"), p.O_CREX)
    child = holder(m.name)
    waiter = subprocess.Popen(
        [sys.executable, "-c",
         "import os, sys, threading, posix_ipc_rs as p\n"
         "m = p.RobustMutex(sys.argv[1])\n"
         "print(os.getpid(), threading.get_native_id(), flush=True)\n"
         "try:\n"
         "    m.acquire()\n"
         "except KeyboardInterrupt:\n"
         "    print('KeyboardInterrupt')\n", m.name],
        stdout=subprocess.PIPE, text=True)
    try:
        assert waiter.stdout is not None
        pid, tid = map(int, waiter.stdout.readline().split())
        wait_sleeping(pid, tid)
        waiter.send_signal(signal.SIGINT)
        out, _ = waiter.communicate(timeout=30)
        assert out.strip() == "KeyboardInterrupt"
    finally:
        for c in (waiter, child):
            c.kill()
            c.wait()


def test_opening_needs_an_existing_mutex(name: Callable[[str], str]) -> None:
    n = name("mx")
    with pytest.raises(p.ExistentialError):
        p.RobustMutex(n)
    made = p.RobustMutex(n, p.O_CREAT)
    with pytest.raises(p.ExistentialError):
        p.RobustMutex(n, p.O_CREX)
    assert repr(made) == f'posix_ipc_rs.RobustMutex("{n}")'
    shm = p.SharedMemory(name("plain"), p.O_CREX, size=4096)
    shm.close()
    with pytest.raises(ValueError, match="mutex|magic|not"):
        p.RobustMutex(shm.name)
