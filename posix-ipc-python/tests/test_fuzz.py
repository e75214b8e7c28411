"""Randomised: arbitrary values and types thrown at every constructor, method and property.

Only Python exceptions may come out: never a crash (the test process would die), never a hang
(pytest-timeout), never an object left behind (checked after each example). Names always carry
this run's prefix, so that nothing outside the test's own objects can be touched; the objects
used for method calls either never wait (a queue in non-blocking mode, a semaphore with a high
value) or get a timeout of at most 10 ms.
"""

from __future__ import annotations

import gc
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import posix_ipc_rs as p
from conftest import PREFIX, ours_left, remove_all, unique

INTS = st.one_of(
    st.integers(min_value=-10, max_value=70),
    st.integers(),
    st.sampled_from([0, 1, 2**31 - 1, 2**31, 2**32, 2**32 + 5, 2**63 - 1, 2**63, 2**64,
                     -(2**63), 2**200, p.O_CREX, p.O_CREAT, p.O_EXCL, p.O_TRUNC,
                     p.O_NONBLOCK, p.O_CREX | p.O_TRUNC, 0o600, 0o7777, 4096,
                     p.SEMAPHORE_VALUE_MAX, p.QUEUE_PRIORITY_MAX]),
)
FLOATS = st.one_of(st.floats(), st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 1e300,
                                                 2.0**64, 5e-324]))
LEAVES = st.one_of(
    st.none(), st.booleans(), INTS, FLOATS,
    st.text(max_size=20), st.binary(max_size=40),
    st.sampled_from([object(), print, int, b"\0", "\0", bytearray(b"xy"), memoryview(b"z"),
                     (print, 1), (1, 2), ()]),
)
VALUES = st.recursive(LEAVES, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                      st.tuples(inner, inner)), max_leaves=4)


@st.composite
def names(draw: st.DrawFn) -> Any:
    """None, a name of this run (str or bytes, odd characters included), or a non-name."""
    kind = draw(st.sampled_from(["none", "str", "bytes", "odd", "other"]))
    if kind == "none":
        return None
    suffix = draw(st.text(alphabet=st.characters(codec="utf-8"), max_size=12))
    name = unique("fz") + suffix
    if kind == "str":
        return name
    if kind == "bytes":
        return name.encode()
    if kind == "odd":
        return name + draw(st.sampled_from(["\0", "/x", "/", "\0tail", "." * 300]))
    return draw(VALUES)


def cleanup(obj: Any) -> None:
    """Removes and closes an object the fuzzer managed to create."""
    remove_all(obj.name if isinstance(obj.name, str) else "")
    for method in ("close", "close_fd"):
        if hasattr(obj, method):
            try:
                getattr(obj, method)()
            except Exception:
                pass


CLASSES = {
    p.Semaphore: ["name", "flags", "mode", "initial_value"],
    p.SharedMemory: ["name", "flags", "mode", "size", "read_only"],
    p.MessageQueue: ["name", "flags", "mode", "max_messages", "max_message_size", "read",
                     "write"],
}


def check_nothing_left() -> None:
    left = ours_left()
    for n in left:
        remove_all("/" + n.removeprefix("mqueue:").removeprefix("sem."))
    assert not left, f"left behind: {left}"


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_constructors_take_anything(data: st.DataObject) -> None:
    cls = data.draw(st.sampled_from(list(CLASSES)))
    params = CLASSES[cls]
    n_positional = data.draw(st.integers(min_value=0, max_value=len(params) + 1))
    args = [data.draw(names())] + [data.draw(VALUES) for _ in range(n_positional - 1)]
    args = args[:n_positional]
    kwargs = {k: data.draw(VALUES) for k in params[n_positional:]
              if data.draw(st.booleans())}
    if data.draw(st.booleans()) and "flags" in params[n_positional:]:
        kwargs["flags"] = data.draw(st.sampled_from([p.O_CREX, p.O_CREAT, 0]))
    if cls is p.MessageQueue:
        # Small queues, unless the example is about the sizes: the per-user queue memory is
        # 800 KiB here.
        kwargs.setdefault("max_messages", 2)
        kwargs.setdefault("max_message_size", 16)
    try:
        obj = cls(*args, **kwargs)
    except Exception:
        pass
    else:
        cleanup(obj)
    check_nothing_left()


def fresh_objects() -> list[Any]:
    sem = p.Semaphore(unique("fs"), p.O_CREX, initial_value=1000)
    shm = p.SharedMemory(unique("fm"), p.O_CREX, size=4096)
    mq = p.MessageQueue(unique("fq"), p.O_CREX | p.O_NONBLOCK, max_messages=2,
                        max_message_size=16)
    return [sem, shm, mq]


METHODS = {
    p.Semaphore: ["acquire", "release", "close", "unlink", "__enter__", "__exit__"],
    p.SharedMemory: ["close_fd", "close", "fileno", "unlink", "__enter__", "__exit__"],
    p.MessageQueue: ["send", "receive", "close", "unlink", "fileno", "request_notification",
                     "__enter__", "__exit__"],
}
PROPERTIES = {
    p.Semaphore: ["name", "mode", "value", "flags"],
    p.SharedMemory: ["name", "fd", "mode", "size", "flags", "read_only"],
    p.MessageQueue: ["name", "mode", "max_messages", "max_message_size", "mqd",
                     "current_messages", "block", "flags"],
}


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_methods_and_properties_take_anything(data: st.DataObject) -> None:
    objects = fresh_objects()
    try:
        for _ in range(data.draw(st.integers(min_value=1, max_value=8))):
            obj = data.draw(st.sampled_from(objects))
            cls = type(obj)
            what = data.draw(st.sampled_from(["call", "get", "set", "del"]))
            if what == "call":
                method = data.draw(st.sampled_from(METHODS[cls]))
                args = data.draw(st.lists(VALUES, max_size=4))
                kwargs = data.draw(st.dictionaries(
                    st.sampled_from(["timeout", "priority", "message", "notification", "x"]),
                    VALUES, max_size=2))
                if cls is p.MessageQueue and method == "request_notification" and args:
                    if isinstance(args[0], int) and not isinstance(args[0], bool):
                        # A signal notification must not deliver a real signal to pytest.
                        args[0] = None if 0 < args[0] < 65 else args[0]
                try:
                    getattr(obj, method)(*args, **kwargs)
                except Exception:
                    pass
            else:
                prop = data.draw(st.sampled_from(PROPERTIES[cls]))
                try:
                    if what == "get":
                        getattr(obj, prop)
                    elif what == "set":
                        setattr(obj, prop, data.draw(VALUES))
                    else:
                        delattr(obj, prop)
                except Exception:
                    pass
            # The queue must stay non-blocking, or a later receive() could wait forever.
            if isinstance(obj, p.MessageQueue) and obj.mqd != -1:
                obj.block = False
    finally:
        for obj in objects:
            cleanup(obj)
    check_nothing_left()


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(timeout=st.one_of(st.none(), st.floats(min_value=0, max_value=0.01), VALUES))
def test_blocking_calls_with_short_or_bad_timeouts(timeout: Any) -> None:
    if timeout is None or (isinstance(timeout, (list, tuple)) and not timeout):
        timeout = 0
    sem = p.Semaphore(unique("ft"), p.O_CREX)
    mq = p.MessageQueue(unique("ft"), p.O_CREX, max_messages=1, max_message_size=8)
    try:
        mq.send(b"full")
        for call in (lambda: sem.acquire(timeout), lambda: mq.send(b"x", timeout),
                     lambda: mq.receive(timeout), lambda: mq.receive(timeout)):
            if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and (
                    timeout > 0.01):
                continue  # a real wait: covered elsewhere, not by the fuzzer
            try:
                call()
            except Exception:
                pass
    finally:
        cleanup(sem)
        cleanup(mq)
    check_nothing_left()



def frame_bytes(i: int, words: int) -> bytes:
    """What frame number `i` carries: its number in every word."""
    return i.to_bytes(8, "little") * words


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_frames_held_viewed_and_released_in_any_order(data: st.DataObject) -> None:
    """Loans, frames and their views (memoryview, a header view, bytes copies) made, released
    and dropped in random orders on a small Overwrite topic that reuses its buffers at once:
    every view alive always shows the frame it was made of (no Python object sees a buffer the
    publisher reused), only the documented exceptions come out, and nothing is left."""
    header = p.RecordType("Number", 8, 0x4E55_4D42_4552_0001)
    name = unique("ff")
    policy = data.draw(st.sampled_from([p.POLICY_OVERWRITE, p.POLICY_BLOCK]))
    pub = p.FramePublisher(name, 64, p.O_CREX, header=header, capacity=2, max_subscribers=2,
                           policy=policy)
    subs = [p.FrameSubscriber(name, header=header) for _ in range(2)]
    frames: list[tuple[Any, int]] = []  # (Frame, its number)
    views: list[tuple[memoryview, bytes]] = []  # (a view, what it must show)
    loan: Any = None
    loan_views: list[memoryview] = []
    sent = 0
    expected = (BufferError, p.BusyError, p.LaggedError, p.ExistentialError, ValueError)
    try:
        for _ in range(data.draw(st.integers(min_value=1, max_value=120))):
            # Sends and receives most often: the publisher then reuses every buffer it may.
            op = data.draw(st.sampled_from(
                ["send"] * 6 + ["receive"] * 4 + ["view"] * 2 +
                ["loan", "loan_view", "loan_send", "loan_discard", "header_view", "drop_view",
                 "release", "drop_frame", "collect", "drop_loan_view"]))
            try:
                if op == "send":
                    words = data.draw(st.integers(min_value=1, max_value=8))
                    pub.send(frame_bytes(sent, words), header=sent.to_bytes(8, "little"),
                             timeout=0)
                    sent += 1
                elif op == "loan":
                    loan = pub.loan(8 * data.draw(st.integers(min_value=1, max_value=8)),
                                    timeout=0)
                    loan_views.clear()
                elif op == "loan_view" and loan is not None:
                    loan_views.append(memoryview(loan))
                elif op == "drop_loan_view" and loan_views:
                    loan_views.pop().release()
                elif op == "loan_send" and loan is not None:
                    for v in loan_views:
                        v[:] = frame_bytes(sent, len(v) // 8)
                    loan.header = sent.to_bytes(8, "little")
                    if not loan_views:
                        memoryview(loan)[:] = frame_bytes(sent, len(loan) // 8)
                    loan.send()
                    sent += 1
                    loan = None
                elif op == "loan_discard" and loan is not None:
                    loan.discard()
                    loan = None
                elif op == "receive":
                    sub = data.draw(st.sampled_from(subs))
                    f = sub.receive(0)
                    assert f.header is not None
                    n = int.from_bytes(bytes(f.header), "little")
                    assert bytes(f) == frame_bytes(n, len(f) // 8), "a frame as published"
                    frames.append((f, n))
                elif op in ("view", "header_view") and frames:
                    f, n = data.draw(st.sampled_from(frames))
                    if op == "view":
                        views.append((memoryview(f), frame_bytes(n, len(f) // 8)))
                    else:
                        assert f.header is not None
                        views.append((memoryview(f.header), n.to_bytes(8, "little")))
                elif op == "drop_view" and views:
                    v, _ = views.pop(data.draw(st.integers(0, len(views) - 1)))
                    v.release()
                elif op == "release" and frames:
                    f, _ = data.draw(st.sampled_from(frames))
                    f.release()
                elif op == "drop_frame" and frames:
                    frames.pop(data.draw(st.integers(0, len(frames) - 1)))
                elif op == "collect":
                    gc.collect()
            except expected:
                pass
            for v, want in views:
                assert bytes(v) == want, "a view changed: its buffer was reused"
    finally:
        for v, _ in views:
            v.release()
        for lv in loan_views:
            lv.release()
        views.clear()
        loan_views.clear()
        frames.clear()
        loan = None
        gc.collect()
        for s in subs:
            s.close()
        pub.close()
        remove_all(name)
    check_nothing_left()
