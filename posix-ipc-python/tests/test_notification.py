"""request_notification: a signal, a (callable, param) run on a thread that may re-arm itself,
None; exceptions in callbacks reach sys.unraisablehook; a queue freed with a callback pending
does not crash."""

from __future__ import annotations

import gc
import queue as stdqueue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import posix_ipc_rs as p


def new_queue(name: Callable[[str], str]) -> p.MessageQueue:
    return p.MessageQueue(name("q"), p.O_CREX, max_messages=4, max_message_size=16)


def test_a_signal_notification_has_run_when_send_returns(name: Callable[[str], str]) -> None:
    mq = new_queue(name)
    seen: list[int] = []
    old = signal.signal(p.USER_SIGNAL_MIN, lambda signum, frame: seen.append(signum))
    try:
        mq.request_notification(p.USER_SIGNAL_MIN)
        mq.send(b"x")
        assert seen == [p.USER_SIGNAL_MIN]
    finally:
        signal.signal(p.USER_SIGNAL_MIN, old)


def test_a_callback_runs_on_a_thread_and_rearms_itself(name: Callable[[str], str]) -> None:
    mq = new_queue(name)
    got: stdqueue.Queue[tuple[str, bytes, int]] = stdqueue.Queue()

    def callback(param: str) -> None:
        message, _ = mq.receive(0)
        mq.request_notification((callback, param))
        got.put((param, message, threading.get_ident()))

    mq.request_notification((callback, "p"))
    for i in range(3):
        mq.send(bytes([65 + i]))
        param, message, ident = got.get(timeout=10)
        assert (param, message) == ("p", bytes([65 + i]))
        assert ident != threading.get_ident()
    mq.request_notification(None)
    mq.send(b"after cancel")
    assert mq.current_messages == 1
    # Cancelled: nothing ran, so the message is still there and no callback is queued.
    assert got.empty()


def test_an_exception_in_a_callback_reaches_unraisablehook(name: Callable[[str], str]) -> None:
    mq = new_queue(name)
    reported: stdqueue.Queue[Any] = stdqueue.Queue()
    old = sys.unraisablehook
    sys.unraisablehook = reported.put

    def callback(param: object) -> None:
        raise RuntimeError(f"boom {param}")

    try:
        mq.request_notification((callback, 7))
        mq.send(b"x")
        hook_arg = reported.get(timeout=10)
    finally:
        sys.unraisablehook = old
    assert isinstance(hook_arg.exc_value, RuntimeError)
    assert str(hook_arg.exc_value) == "boom 7"
    assert hook_arg.object is callback


def test_a_queue_freed_with_a_callback_pending(name: Callable[[str], str]) -> None:
    mq = new_queue(name)
    n = mq.name
    calls: list[object] = []
    mq.request_notification((calls.append, "never"))
    del mq
    gc.collect()
    other = p.MessageQueue(n)
    other.send(b"x")
    # The registration died with the handle: a new one can be made, and nothing was called.
    fired = threading.Event()
    other.request_notification((lambda _: fired.set(), None))
    other.receive(0)
    other.send(b"y")
    assert fired.wait(10)
    assert calls == []


def test_a_closed_queue_with_a_callback_pending(name: Callable[[str], str]) -> None:
    mq = new_queue(name)
    calls: list[object] = []
    mq.request_notification((calls.append, 1))
    mq.close()
    p.MessageQueue(mq.name).send(b"x")
    assert calls == []


def test_only_one_process_may_register(name: Callable[[str], str]) -> None:
    mq = new_queue(name)
    mq.request_notification(p.USER_SIGNAL_MIN)
    other = subprocess.run(
        [sys.executable, "-c",
         "import sys, posix_ipc_rs as p\n"
         "try:\n"
         "    p.MessageQueue(sys.argv[1]).request_notification(p.USER_SIGNAL_MIN)\n"
         "except p.BusyError as e:\n"
         "    print('BusyError', e)\n",
         mq.name],
        capture_output=True, text=True, timeout=30)
    mq.request_notification(None)
    assert other.stdout.startswith("BusyError"), other
