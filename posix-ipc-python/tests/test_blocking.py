"""Blocking calls: they release the GIL while they wait, Ctrl-C interrupts them with
KeyboardInterrupt and another signal with SignalError, and a stopped call changed nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import pytest

import posix_ipc_rs as p


def wait_sleeping(pid: int, tid: int) -> None:
    """Waits until thread `tid` of `pid` sleeps in the kernel: its wait has begun."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "S":
                    return
        except FileNotFoundError:
            pass
        time.sleep(0)
    raise AssertionError(f"thread {tid} of {pid} never started waiting")


def blocked_in_thread(call: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    """Runs `call` on a thread and returns once the thread waits in the kernel."""
    out: list[object] = []
    tid: list[int] = []
    started = threading.Event()

    def run() -> None:
        tid.append(threading.get_native_id())
        started.set()
        try:
            out.append(call())
        except BaseException as e:  # noqa: BLE001 - the test inspects it
            out.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    started.wait()
    # While this thread waits for the other to sleep, it holds and drops the GIL as usual; the
    # point is what happens next: this thread keeps running Python while the other one waits.
    wait_sleeping(os.getpid(), tid[0])
    return t, out


def test_acquire_releases_the_gil(name: Callable[[str], str]) -> None:
    sem = p.Semaphore(name("s"), p.O_CREX)
    t, out = blocked_in_thread(lambda: sem.acquire(30))
    # Python code runs here while the other thread waits: the GIL was released.
    total = sum(range(100_000))
    sem.release()
    t.join(30)
    assert out == [None] and total == 4999950000 and sem.value == 0


def test_receive_and_send_release_the_gil(name: Callable[[str], str]) -> None:
    mq = p.MessageQueue(name("q"), p.O_CREX, max_messages=1, max_message_size=8)
    t, out = blocked_in_thread(lambda: mq.receive(30))
    mq.send(b"ping", priority=2)
    t.join(30)
    assert out == [(b"ping", 2)]

    mq.send(b"full")
    t, out = blocked_in_thread(lambda: mq.send(b"second", 30))
    assert mq.receive(0) == (b"full", 0)
    t.join(30)
    assert out == [None] and mq.receive(0) == (b"second", 0)


def test_timeouts_expire_with_busy_error(name: Callable[[str], str]) -> None:
    sem = p.Semaphore(name("s"), p.O_CREX)
    mq = p.MessageQueue(name("q"), p.O_CREX, max_messages=1, max_message_size=8)
    for call in (lambda: sem.acquire(0.05), lambda: mq.receive(0.05)):
        start = time.monotonic()
        with pytest.raises(p.BusyError):
            call()
        assert time.monotonic() - start >= 0.05


CHILD = r"""
import os, signal, sys, threading
import posix_ipc_rs as p
kind, name, how = sys.argv[1:4]
if how == "usr1":
    signal.signal(signal.SIGUSR1, lambda *a: None)
if kind == "sem":
    obj = p.Semaphore(name)
    call = obj.acquire
elif kind == "receive":
    obj = p.MessageQueue(name)
    call = obj.receive
else:
    obj = p.MessageQueue(name)
    call = lambda: obj.send(b"more")
print(os.getpid(), threading.get_native_id(), flush=True)
try:
    call()
    print("returned")
except KeyboardInterrupt:
    print("KeyboardInterrupt")
except p.SignalError as e:
    print("SignalError", e)
"""


@pytest.mark.parametrize("kind", ["sem", "receive", "send"])
@pytest.mark.parametrize("how", ["int", "usr1"])
def test_a_signal_stops_a_blocked_call(name: Callable[[str], str], kind: str, how: str) -> None:
    n = name(kind)
    if kind == "sem":
        obj: p.Semaphore | p.MessageQueue = p.Semaphore(n, p.O_CREX)
    else:
        obj = p.MessageQueue(n, p.O_CREX, max_messages=1, max_message_size=8)
        if kind == "send":
            obj.send(b"full")
    child = subprocess.Popen([sys.executable, "-c", CHILD, kind, n, how],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        pid, tid = map(int, child.stdout.readline().split())
        wait_sleeping(pid, tid)
        child.send_signal(signal.SIGINT if how == "int" else signal.SIGUSR1)
        out, _ = child.communicate(timeout=30)
    finally:
        child.kill()
        child.wait()
    assert out.split()[0] == ("KeyboardInterrupt" if how == "int" else "SignalError"), out
    # Nothing was taken or added by the stopped call.
    if isinstance(obj, p.Semaphore):
        assert obj.value == 0
    else:
        assert obj.current_messages == (1 if kind == "send" else 0)
