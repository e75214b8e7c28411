"""Data arguments read in place and buffers filled in place: every call that takes data reads a
C-contiguous buffer (numpy array of any dtype, memoryview, bytearray, mmap, array) where it is,
refuses a strided one naming the fix, and RingReceiver.receive_into / Shared.load_into write
into a caller's writable buffer."""

from __future__ import annotations

import array
import mmap
import struct
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest

import posix_ipc_rs as p
from test_blocking import blocked_in_thread

np = pytest.importorskip("numpy")

TICK = p.RecordType("Tick", 16, 0x1234_5678_9ABC_DEF0)
FMT = struct.Struct("<Qd")


def tick(seq: int) -> bytes:
    return FMT.pack(seq, seq / 2)


def as_mmap(data: bytes) -> mmap.mmap:
    m = mmap.mmap(-1, len(data))
    m[:] = data
    return m


#: The kinds of buffer a call may be given, each holding `data`'s bytes, C-contiguous.
KINDS: dict[str, Callable[[bytes], Any]] = {
    "bytes": bytes,
    "bytearray": bytearray,
    "memoryview": lambda d: memoryview(bytearray(d)),
    "read-only memoryview": memoryview,
    "numpy uint8": lambda d: np.frombuffer(d, dtype=np.uint8).copy(),
    "numpy float64": lambda d: np.frombuffer(d, dtype=np.float64).copy(),
    "numpy 2-D": lambda d: np.frombuffer(d, dtype=np.uint8).reshape(2, -1).copy(),
    "numpy record dtype": lambda d: np.frombuffer(d, dtype=[("seq", "<u8"), ("x", "<f8")]).copy(),
    "mmap": as_mmap,
    "array": lambda d: array.array("B", d),
}

#: Buffers whose bytes have steps between them, each with 16 bytes' worth of items.
STRIDED: dict[str, Callable[[], Any]] = {
    "numpy slice": lambda: np.arange(32, dtype=np.uint8)[::2],
    "numpy column": lambda: np.zeros((16, 2), dtype=np.uint8)[:, 0],
    "transposed array": lambda: np.zeros((4, 4), dtype=np.uint8).T,
    "memoryview slice": lambda: memoryview(bytes(32))[::2],
}


@pytest.mark.parametrize("kind", KINDS)
def test_every_call_that_takes_data_reads_any_contiguous_buffer(
    name: Callable[[str], str], kind: str
) -> None:
    make = KINDS[kind]
    mq = p.MessageQueue(name("q"), p.O_CREX, max_messages=2, max_message_size=64)
    mq.send(make(tick(1)))
    assert mq.receive(0) == (tick(1), 0)
    ring_name = name("ring")
    rx = p.RingReceiver(ring_name, TICK, p.O_CREX, capacity=4)
    tx = p.RingSender(ring_name, TICK)
    tx.send(make(tick(2)))
    tx.send_many(make(tick(3) + tick(4)))
    assert rx.receive_many(4, 0) == tick(2) + tick(3) + tick(4)
    shared = p.Shared(name("shared"), TICK, p.O_CREX, initial=make(tick(5)))
    assert shared.load() == tick(5)
    shared.store(make(tick(6)))
    assert shared.load() == tick(6)


@pytest.mark.parametrize("kind", STRIDED)
def test_a_buffer_that_is_not_c_contiguous_is_refused_naming_the_fix(
    name: Callable[[str], str], kind: str
) -> None:
    strided = STRIDED[kind]()
    fix = r"not C-contiguous.*np\.ascontiguousarray\(x\) or bytes\(x\)"
    mq = p.MessageQueue(name("q"), p.O_CREX, max_messages=2, max_message_size=64)
    with pytest.raises(TypeError, match="the message .*" + fix):
        mq.send(strided)
    ring_name = name("ring")
    rx = p.RingReceiver(ring_name, TICK, p.O_CREX, capacity=4)
    tx = p.RingSender(ring_name, TICK)
    with pytest.raises(TypeError, match="the record .*" + fix):
        tx.send(strided)
    with pytest.raises(TypeError, match="the records .*" + fix):
        tx.send_many(strided)
    shared = p.Shared(name("shared"), TICK, p.O_CREX)
    with pytest.raises(TypeError, match="the value .*" + fix):
        shared.store(strided)
    with pytest.raises(TypeError, match="the initial value .*" + fix):
        p.Shared(name("shared"), TICK, p.O_CREX, initial=strided)
    # Nothing went anywhere.
    with pytest.raises(p.BusyError):
        mq.receive(0)
    with pytest.raises(p.BusyError):
        rx.receive(0)
    assert shared.version == 0
    # The one copy the message offers makes it acceptable.
    tx.send(np.ascontiguousarray(strided))
    assert len(rx.receive(0)) == 16


def test_data_without_the_buffer_protocol_is_a_type_error_naming_its_type(
    name: Callable[[str], str]
) -> None:
    mq = p.MessageQueue(name("q"), p.O_CREX, max_messages=2, max_message_size=64)
    with pytest.raises(TypeError, match="the message must be str, bytes or a bytes-like object, "
                                        "not int"):
        mq.send(5)  # type: ignore[arg-type]
    ring_name = name("ring")
    p.RingReceiver(ring_name, TICK, p.O_CREX, capacity=4)
    tx = p.RingSender(ring_name, TICK)
    with pytest.raises(TypeError, match="the record must be bytes or a bytes-like object.*not list"):
        tx.send([1, 2])  # type: ignore[arg-type]
    shared = p.Shared(name("shared"), TICK, p.O_CREX)
    with pytest.raises(TypeError, match="not float"):
        shared.store(1.5)  # type: ignore[arg-type]


def test_a_str_message_is_sent_as_its_utf8(name: Callable[[str], str]) -> None:
    mq = p.MessageQueue(name("q"), p.O_CREX, max_messages=2, max_message_size=64)
    mq.send("grüße")
    assert mq.receive(0) == ("grüße".encode(), 0)


@pytest.mark.parametrize("call", ["queue send", "ring send", "send_many", "store", "initial"])
def test_a_large_numpy_record_is_not_copied_into_a_bytes_object(
    name: Callable[[str], str], call: str
) -> None:
    size = 1 << 20
    big = p.RecordType("Frame", size, 0xF4A3E)
    data = np.arange(size // 8, dtype=np.float64)
    if call == "queue send":
        target = p.MessageQueue(name("q"), p.O_CREX, max_messages=1, max_message_size=8192)
        data = data[:1024]
        send: Callable[[], object] = lambda: target.send(data)
    elif call in ("ring send", "send_many"):
        ring_name = name("ring")
        p.RingReceiver(ring_name, big, p.O_CREX, capacity=2)
        tx = p.RingSender(ring_name, big)
        send = (lambda: tx.send(data)) if call == "ring send" else (lambda: tx.send_many(data))
    elif call == "store":
        shared = p.Shared(name("shared"), big, p.O_CREX)
        send = lambda: shared.store(data)
    else:
        made = name("shared")
        send = lambda: p.Shared(made, big, p.O_CREX, initial=data).close()
    tracemalloc.start()
    try:
        send()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < data.nbytes // 2, f"{peak} bytes allocated for a {data.nbytes}-byte array"


def test_a_buffer_is_released_when_the_call_returns_or_fails(name: Callable[[str], str]) -> None:
    ring_name = name("ring")
    rx = p.RingReceiver(ring_name, TICK, p.O_CREX, capacity=4)
    tx = p.RingSender(ring_name, TICK)
    record = bytearray(tick(1))
    tx.send(record)
    record.extend(b"x")  # a bytearray still exported refuses to resize (BufferError)
    with pytest.raises(ValueError, match="16 bytes"):
        tx.send(record)
    record.extend(b"x")
    out = bytearray(32)
    assert rx.receive_into(out) == 1
    out.extend(b"x")
    with pytest.raises(ValueError):
        rx.receive_into(out)
    out.extend(b"x")
    m = as_mmap(tick(2))
    tx.send(m)
    m.close()  # an mmap still exported refuses to close (BufferError)


# --- RingReceiver.receive_into ------------------------------------------------------------------

@pytest.fixture
def ends(name: Callable[[str], str]) -> tuple[p.RingSender, p.RingReceiver]:
    n = name("ring")
    rx = p.RingReceiver(n, TICK, p.O_CREX, capacity=8)
    return p.RingSender(n, TICK), rx


def test_receive_into_fills_whole_records_that_are_ready_and_says_how_many(
    ends: tuple[p.RingSender, p.RingReceiver]
) -> None:
    tx, rx = ends
    dt = np.dtype([("seq", "<u8"), ("x", "<f8")])
    out = np.full(4, 99, dtype=dt)
    tx.send_many(b"".join(tick(i) for i in range(3)))
    assert rx.receive_into(out) == 3
    assert list(out["seq"]) == [0, 1, 2, 99], "the slot after them is left as it was"
    assert list(out["x"][:3]) == [0.0, 0.5, 1.0]
    tx.send_many(b"".join(tick(i) for i in range(10, 16)))
    assert rx.receive_into(out, 0) == 4
    assert list(out["seq"]) == [10, 11, 12, 13]
    assert rx.receive_into(out, 0) == 2
    assert list(out["seq"][:2]) == [14, 15]
    with pytest.raises(p.BusyError):
        rx.receive_into(out, 0)


@pytest.mark.parametrize(
    "make",
    [lambda: bytearray(32), lambda: memoryview(bytearray(32)), lambda: mmap.mmap(-1, 32),
     lambda: np.zeros((2, 16), dtype=np.uint8), lambda: array.array("d", [0.0] * 4)],
    ids=["bytearray", "memoryview", "mmap", "numpy 2-D", "array"],
)
def test_receive_into_writes_any_writable_contiguous_buffer(
    ends: tuple[p.RingSender, p.RingReceiver], make: Callable[[], Any]
) -> None:
    tx, rx = ends
    out = make()
    tx.send_many(tick(1) + tick(2))
    assert rx.receive_into(out) == 2
    assert bytes(memoryview(out).cast("B")) == tick(1) + tick(2)


def test_receive_into_waits_for_the_first_record_as_timeout_says(
    ends: tuple[p.RingSender, p.RingReceiver]
) -> None:
    tx, rx = ends
    out = bytearray(64)
    with pytest.raises(p.BusyError):
        rx.receive_into(out, 0.02)
    t, got = blocked_in_thread(lambda: rx.receive_into(out, 30))
    tx.send(tick(7))
    t.join(30)
    assert got == [1] and out[:16] == tick(7)
    tx.send(tick(8))
    tx.close()
    assert rx.receive_into(out) == 1, "drained before the disconnection"
    with pytest.raises(p.DisconnectedError, match="every producer has gone"):
        rx.receive_into(out)
    with pytest.raises(p.DisconnectedError):
        rx.receive_into(out, 0)


@pytest.mark.parametrize(
    ("size", "words"),
    [(5, "5 bytes, not a whole number of 16-byte Tick records"),
     (24, "24 bytes, not a whole number of 16-byte Tick records"),
     (0, "0 bytes, not a whole number")],
)
def test_receive_into_refuses_a_buffer_that_is_not_whole_records(
    ends: tuple[p.RingSender, p.RingReceiver], size: int, words: str
) -> None:
    tx, rx = ends
    tx.send(tick(1))
    with pytest.raises(ValueError, match=words):
        rx.receive_into(bytearray(size))
    assert rx.receive(0) == tick(1), "nothing was taken"


def test_receive_into_refuses_a_read_only_or_strided_buffer_naming_it(
    ends: tuple[p.RingSender, p.RingReceiver]
) -> None:
    tx, rx = ends
    tx.send(tick(1))
    frozen = np.zeros(16, dtype=np.uint8)
    frozen.flags.writeable = False
    for read_only, kind in ((bytes(16), "bytes"), (frozen, "ndarray"),
                            (memoryview(bytes(16)), "memoryview")):
        with pytest.raises(TypeError, match=rf"the buffer \({kind}\) is read-only"):
            rx.receive_into(read_only)
    with pytest.raises(TypeError, match="not C-contiguous"):
        rx.receive_into(np.zeros(32, dtype=np.uint8)[::2])
    with pytest.raises(TypeError, match="not int"):
        rx.receive_into(16)  # type: ignore[arg-type]
    assert rx.receive(0) == tick(1), "nothing was taken"


# --- Shared.load_into ---------------------------------------------------------------------------

def test_load_into_fills_one_record_and_returns_its_version(name: Callable[[str], str]) -> None:
    dt = np.dtype([("seq", "=u8"), ("x", "=f8")])
    record = p.RecordType.from_dtype(dt, name="Tick")
    shared = p.Shared(name("shared"), record, p.O_CREX, initial=np.array((1, 0.5), dtype=dt))
    value = np.zeros((), dtype=record.dtype)
    assert shared.load_into(value) == 0
    assert (int(value["seq"]), float(value["x"])) == (1, 0.5)
    shared.store(np.array((2, 1.5), dtype=dt))
    raw = bytearray(16)
    assert shared.load_into(raw) == 1
    assert np.frombuffer(raw, dtype=dt)[0]["seq"] == 2
    assert shared.load_into(memoryview(raw)) == 1


def test_load_into_refuses_another_size_or_a_read_only_buffer(name: Callable[[str], str]) -> None:
    shared = p.Shared(name("shared"), TICK, p.O_CREX, initial=tick(1))
    for size in (15, 17, 32):
        with pytest.raises(ValueError, match=f"{size} bytes, not one 16-byte Tick record"):
            shared.load_into(bytearray(size))
    with pytest.raises(TypeError, match=r"\(bytes\) is read-only"):
        shared.load_into(bytes(16))
    with pytest.raises(TypeError, match="not C-contiguous"):
        shared.load_into(np.zeros(32, dtype=np.uint8)[::2])
