"""Publish-subscribe topics from Python: records, frames with a header, zero-copy loans and
frames with counted exports, restarts, waiting, and errors (the Rust side of the same topics is
tested in tests/python_module.rs and tests/python_camera.rs)."""

from __future__ import annotations

import ctypes
import gc
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np
import pytest

import posix_ipc_rs as p
from test_blocking import blocked_in_thread, wait_sleeping

IMAGE = p.RecordType.from_dtype(
    np.dtype([("number", "<u8"), ("published_ns", "<u8"), ("width", "<u4"), ("height", "<u4")]),
    name="FrameInfo")
TICK = p.RecordType.from_dtype(np.dtype([("seq", "<u8"), ("price", "<f8")]), name="Tick")


def ticks(*seqs: int) -> np.ndarray:
    return np.array([(s, s / 2) for s in seqs], dtype=TICK.dtype)


def test_a_frame_is_received_as_a_read_only_view_and_held_until_released(
        name: Callable[[str], str]) -> None:
    n = name("frames")
    pub = p.FramePublisher(n, 1 << 20, p.O_CREX, header=IMAGE)
    sub = p.FrameSubscriber(n, header=IMAGE)
    img = (np.arange(480 * 640 * 3) % 251).astype(np.uint8).reshape(480, 640, 3)
    with pub.loan(img.nbytes) as loan:
        np.frombuffer(loan, np.uint8).reshape(480, 640, 3)[:] = img
        assert loan.header is not None and loan.header.record == IMAGE
        header = np.frombuffer(loan.header, IMAGE.dtype)
        header[0] = (7, 99, 640, 480)
        del header
    frame = sub.receive(timeout=5)
    view = np.frombuffer(frame, np.uint8).reshape(480, 640, 3)
    assert not view.flags.writeable and not view.flags.owndata
    assert (view == img).all()
    assert frame.header is not None and len(frame.header) == 24
    got = np.frombuffer(frame.header, IMAGE.dtype)[0]
    assert (got["number"], got["width"], got["height"]) == (7, 640, 480)
    assert frame.index == 0 and len(frame) == img.nbytes and frame.held
    assert 0 < frame.published_ns <= time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    with pytest.raises(BufferError, match="still exported to 2 views"):
        frame.release()
    with pytest.raises(BufferError, match="still exported"):
        sub.receive(timeout=0)
    with pytest.raises(ValueError, match="read-only"):
        view[0, 0, 0] = 1
    with pytest.raises(TypeError, match="read-only"):
        memoryview(frame)[0] = 1
    with pytest.raises(TypeError, match="not writable"):
        (ctypes.c_char * len(frame)).from_buffer(frame)
    del view, got
    frame.release()
    assert not frame.held
    with pytest.raises(BufferError, match="already released"):
        bytes(frame)
    frame.release()  # again: nothing
    pub.close()
    sub.close()


def test_the_next_receive_releases_a_frame_no_view_holds(name: Callable[[str], str]) -> None:
    n = name("frames")
    pub = p.FramePublisher(n, 64, p.O_CREX)
    sub = p.FrameSubscriber(n)
    assert sub.header is None and pub.header is None
    pub.send(b"one")
    pub.send(bytearray(b"two"))
    first = sub.receive(0)
    assert bytes(first) == b"one" and first.header is None
    second = sub.receive(0)
    assert not first.held and bytes(second) == b"two"
    with second:
        assert second.held
    assert not second.held
    with pytest.raises(p.BusyError):
        sub.receive(0)
    with pytest.raises(p.BusyError):
        sub.receive(0.02)


def test_a_frame_collected_with_no_view_is_released(name: Callable[[str], str]) -> None:
    n = name("frames")
    pub = p.FramePublisher(n, 16, p.O_CREX, capacity=2, max_subscribers=1,
                           policy=p.POLICY_BLOCK)
    sub = p.FrameSubscriber(n)
    # Capacity 2 and one subscriber: a frame never released would stop the publisher.
    for i in range(50):
        pub.send(bytes([i]) * 16, timeout=5)
        assert bytes(sub.receive(5)) == bytes([i]) * 16
    gc.collect()
    assert pub.published == 50


def test_a_loan_sent_while_viewed_is_refused_and_one_given_back_sends_nothing(
        name: Callable[[str], str]) -> None:
    n = name("frames")
    pub = p.FramePublisher(n, 1000, p.O_CREX, header=IMAGE)
    sub = p.FrameSubscriber(n, header=IMAGE)
    loan = pub.loan(100)
    view = np.frombuffer(loan, np.uint8)
    view[:] = 5
    with pytest.raises(BufferError, match="published sample must not change"):
        loan.send()
    with pytest.raises(BufferError, match="loan made before"):
        pub.send(b"x")
    del view
    loan.send(nbytes=10)
    with pytest.raises(ValueError, match="already sent or given back"):
        loan.send()
    assert bytes(sub.receive(0)) == bytes([5]) * 10

    with pytest.raises(RuntimeError):
        with pub.loan(100) as given_back:
            np.frombuffer(given_back, np.uint8)[:] = 1
            raise RuntimeError("the block fails")
    assert not given_back.pending
    with pytest.raises(p.BusyError):
        sub.receive(0)

    # A loan left unsent and unviewed is given back by the next loan or send.
    stale = pub.loan(8)
    pub.send(b"abc", header=np.array([(1, 2, 3, 4)], IMAGE.dtype))
    assert not stale.pending
    with pytest.raises(ValueError, match="already sent or given back"):
        stale.send()
    frame = sub.receive(0)
    assert bytes(frame) == b"abc"
    assert frame.header is not None
    assert tuple(np.frombuffer(frame.header, IMAGE.dtype)[0]) == (1, 2, 3, 4)
    frame.release()

    loan = pub.loan(4, zero=False)
    loan.header = np.array([(9, 9, 9, 9)], IMAGE.dtype)
    with pytest.raises(ValueError, match="is 24 bytes, not 3"):
        loan.header = b"abc"
    with pytest.raises(ValueError, match="nbytes must be between 0 and 4"):
        loan.send(nbytes=5)
    loan.discard()
    with pytest.raises(p.BusyError):
        sub.receive(0)


def test_bad_frames_and_headers_are_refused_with_what_was_given(
        name: Callable[[str], str]) -> None:
    n = name("frames")
    pub = p.FramePublisher(n, 8, p.O_CREX)
    with pytest.raises(ValueError, match="longer than the topic's maximum of 8 bytes"):
        pub.send(b"123456789")
    with pytest.raises(ValueError, match="nbytes must be between 0 and 8"):
        pub.loan(9)
    with pytest.raises(ValueError, match="have no header"):
        pub.send(b"1", header=b"\0" * 24)
    with pytest.raises(TypeError, match="not str"):
        pub.send("text")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="(?i)mismatch|header|type"):
        p.FrameSubscriber(n, header=IMAGE)
    with pytest.raises(p.ExistentialError, match="FrameSubscriber"):
        p.FramePublisher(n, 8, p.O_CREX)
    with pytest.raises(TypeError, match="needs max_frame_len"):
        p.FramePublisher(name("other"), flags=p.O_CREX)
    with pytest.raises(ValueError, match="mode must be between"):
        p.FramePublisher(name("other"), 8, p.O_CREX, mode=0o10000)
    with pytest.raises(ValueError, match="policy must be between"):
        p.FramePublisher(name("other"), 8, p.O_CREX, policy=2)


def test_records_go_both_ways_with_lag_counted(name: Callable[[str], str]) -> None:
    n = name("ticks")
    pub = p.Publisher(n, TICK, p.O_CREX, capacity=4, policy=p.POLICY_OVERWRITE)
    sub = p.Subscriber(n, TICK)
    assert sub.record is not None and sub.record.dtype == TICK.dtype
    assert (pub.capacity, pub.policy, pub.subscribers) == (4, p.POLICY_OVERWRITE, 1)
    pub.send(ticks(1))
    pub.send(ticks(2).tobytes())
    assert np.frombuffer(sub.receive(0), TICK.dtype)[0]["seq"] == 1
    out = np.zeros(3, TICK.dtype)
    assert sub.receive_into(out, timeout=0) == 1
    assert out[0]["seq"] == 2
    assert pub.send_many(ticks(*range(10, 20))) == 10
    with pytest.raises(p.LaggedError) as lag:
        sub.receive(0)
    assert lag.value.missed == 7 and isinstance(lag.value, p.Error)
    got = np.frombuffer(sub.receive_many(10, timeout=0), TICK.dtype)
    assert list(got["seq"]) == [17, 18, 19]
    with pytest.raises(ValueError, match="16 bytes, not 8"):
        pub.send(b"12345678")
    with pytest.raises(ValueError, match="not a whole number of 16-byte Tick records"):
        pub.send_many(b"x" * 20)
    with pytest.raises(ValueError, match="whole number"):
        sub.receive_into(bytearray(20))
    with pytest.raises(TypeError, match="read-only|writable"):
        sub.receive_into(b"x" * 16)
    with pub.loan() as loan:
        np.frombuffer(loan, TICK.dtype)[0] = (99, 1.0)
    assert np.frombuffer(sub.receive(0), TICK.dtype)[0]["seq"] == 99
    pub.close()
    with pytest.raises(p.DisconnectedError):
        sub.receive(0)
    with pytest.raises(ValueError):
        p.Subscriber(n, p.RecordType("Tick", 16, TICK.fingerprint ^ 1))


def test_a_block_topic_waits_for_its_slowest_subscriber(name: Callable[[str], str]) -> None:
    n = name("ticks")
    pub = p.Publisher(n, TICK, p.O_CREX, capacity=2, policy=p.POLICY_BLOCK)
    sub = p.Subscriber(n, TICK)
    pub.send(ticks(1), timeout=0)
    pub.send(ticks(2), timeout=0)
    with pytest.raises(p.BusyError):
        pub.send(ticks(3), timeout=0)
    with pytest.raises(p.BusyError, match="2 of 3 records sent|0 of"):
        pub.send_many(ticks(3, 4, 5), timeout=0)
    t, out = blocked_in_thread(lambda: pub.send(ticks(3), timeout=30))
    assert np.frombuffer(sub.receive(0), TICK.dtype)[0]["seq"] == 1
    t.join(30)
    assert out == [None]


def test_a_topic_made_with_o_creat_is_owned_and_taken_over_after_a_kill(
        name: Callable[[str], str]) -> None:
    n = name("owned")
    with p.Publisher(n, TICK, p.O_CREAT) as pub:
        assert pub.generation == 1
        assert os.path.exists("/dev/shm" + n)
    assert not os.path.exists("/dev/shm" + n), "an owned topic is removed when closed"

    child = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, numpy as np, posix_ipc_rs as p\n"
         "t = p.RecordType('Tick', 16, int(sys.argv[2]))\n"
         "pub = p.Publisher(sys.argv[1], t, p.O_CREAT)\n"
         "pub.send(bytes(16))\n"
         "print('up', flush=True)\n"
         "sys.stdin.read()\n", n, str(TICK.fingerprint)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "up"
        follower = p.Subscriber(n, TICK, follow_restarts=True)
        with pytest.raises(p.ExistentialError, match=r"Subscriber\(name, record\)"):
            p.Publisher(n, TICK, p.O_CREAT)
        child.kill()
        child.wait()
        pub = p.Publisher(n, TICK, p.O_CREAT)
        assert pub.generation == 2
        pub.send(ticks(5))
        with pytest.raises(p.RestartedError) as restart:
            follower.receive(5)
        assert restart.value.generation == 2
        assert np.frombuffer(follower.receive(5), TICK.dtype)[0]["seq"] == 5
        pub.close()
    finally:
        child.kill()
        child.wait()
    assert not os.path.exists("/dev/shm" + n)


def test_a_subscriber_waits_for_its_topic(name: Callable[[str], str]) -> None:
    n = name("later")
    with pytest.raises(p.ExistentialError):
        p.FrameSubscriber(n)
    with pytest.raises(p.BusyError, match="gave up waiting"):
        p.FrameSubscriber(n, wait=0.05)
    t, out = blocked_in_thread(lambda: p.FrameSubscriber(n, wait=30))
    pub = p.FramePublisher(n, 16, p.O_CREX)
    t.join(30)
    sub = out[0]
    assert isinstance(sub, p.FrameSubscriber)
    pub.send(b"hello")
    assert bytes(sub.receive(5)) == b"hello"


def test_a_blocked_receive_lets_other_threads_run(name: Callable[[str], str]) -> None:
    n = name("frames")
    pub = p.FramePublisher(n, 16, p.O_CREX)
    sub = p.FrameSubscriber(n)
    t, out = blocked_in_thread(lambda: bytes(sub.receive(30)))
    pub.send(b"ping")
    t.join(30)
    assert out == [b"ping"]


@pytest.mark.parametrize("call", ["receive", "loan"])
def test_ctrl_c_stops_a_blocked_topic_call(name: Callable[[str], str], call: str) -> None:
    n = name("frames")
    script = (
        "import os, sys, threading, posix_ipc_rs as p\n"
        "if sys.argv[2] == 'receive':\n"
        "    sub = p.FrameSubscriber(sys.argv[1], wait=30)\n"
        "    call = lambda: sub.receive()\n"
        "else:\n"
        "    pub = p.FramePublisher(sys.argv[1], 16, p.O_CREX, capacity=2, max_subscribers=1)\n"
        "    print('created', flush=True)\n"
        "    sys.stdin.readline()\n"
        "    pub.send(b'1')\n"
        "    pub.send(b'2')\n"
        "    call = lambda: pub.loan(8)\n"
        "print(os.getpid(), threading.get_native_id(), flush=True)\n"
        "try:\n"
        "    call()\n"
        "except KeyboardInterrupt:\n"
        "    print('KeyboardInterrupt')\n")
    pub = p.FramePublisher(n, 16, p.O_CREX) if call == "receive" else None
    child = subprocess.Popen([sys.executable, "-c", script, n, call],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdin is not None
        if call == "loan":
            # A subscriber that reads nothing: the child's third frame must wait for it.
            assert child.stdout.readline().strip() == "created"
            sub = p.FrameSubscriber(n)
            child.stdin.write("go\n")
            child.stdin.flush()
        pid, tid = map(int, child.stdout.readline().split())
        wait_sleeping(pid, tid)
        child.send_signal(signal.SIGINT)
        out, _ = child.communicate(timeout=30)
    finally:
        child.kill()
        child.wait()
    assert out.strip() == "KeyboardInterrupt"
    if pub is not None:
        pub.close()
    else:
        assert sub.pending == 2
        sub.close()


def test_permission_bits_and_stored_layout(name: Callable[[str], str]) -> None:
    n = name("mode")
    pub = p.Publisher(n, TICK, p.O_CREX, mode=0o640)
    assert stat.S_IMODE(os.stat("/dev/shm" + n).st_mode) == 0o640 & ~_umask()
    bare = p.RecordType("Tick", 16, TICK.fingerprint)
    sub = p.Subscriber(n, bare)
    assert sub.record is not None and sub.record.dtype == TICK.dtype
    pub.close()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_header_view_keeps_its_frame_held_when_the_frame_object_goes(
        name: Callable[[str], str]) -> None:
    n = name("frames")
    pub = p.FramePublisher(n, 8, p.O_CREX, header=IMAGE, capacity=2,
                           policy=p.POLICY_OVERWRITE)
    sub = p.FrameSubscriber(n, header=IMAGE)
    pub.send(b"12345678", header=np.array([(1, 0, 0, 0)], IMAGE.dtype))
    frame = sub.receive(0)
    assert frame.header is not None
    header = memoryview(frame.header)
    del frame
    gc.collect()
    for i in range(2, 20):
        pub.send(b"x" * 8, header=np.array([(i, 0, 0, 0)], IMAGE.dtype))
        assert np.frombuffer(header, IMAGE.dtype)[0]["number"] == 1
    header.release()
