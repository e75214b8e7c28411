"""Rings of fixed-size records and the seqlock struct Shared, from Python (the Rust side of
the same segments is tested in tests/python_module.rs)."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

import posix_ipc_rs as p
from test_blocking import blocked_in_thread, wait_sleeping

TICK = p.RecordType("Tick", 16, 0x1234_5678_9ABC_DEF0)
FMT = struct.Struct("<Qd")


def tick(seq: int) -> bytes:
    return FMT.pack(seq, seq / 2)


@pytest.mark.parametrize("kind", [p.RING_SPSC, p.RING_MPMC])
def test_a_ring_carries_records_in_order(name: Callable[[str], str], kind: int) -> None:
    n = name("ring")
    rx = p.RingReceiver(n, TICK, p.O_CREX, capacity=8, kind=kind)
    tx = p.RingSender(n, TICK)
    assert (rx.capacity, rx.kind, tx.capacity, tx.kind) == (8, kind, 8, kind)
    assert tx.record == TICK and rx.record.size == 16
    got = []
    for i in range(100):
        tx.send(tick(i))
        got.append(FMT.unpack(rx.receive(0))[0])
    assert got == list(range(100))
    for i in range(8):
        tx.send(bytearray(tick(i)), timeout=0)
    with pytest.raises(p.BusyError):
        tx.send(tick(8), timeout=0)
    with pytest.raises(p.BusyError):
        tx.send(tick(8), timeout=0.02)
    assert [FMT.unpack(rx.receive())[0] for _ in range(8)] == list(range(8))
    with pytest.raises(p.BusyError):
        rx.receive(0.02)
    tx.close()
    with pytest.raises(p.DisconnectedError, match="every producer has gone") as gone:
        rx.receive()
    assert isinstance(gone.value, p.Error)


def test_a_record_of_the_wrong_length_is_refused(name: Callable[[str], str]) -> None:
    n = name("ring")
    rx = p.RingReceiver(n, TICK, p.O_CREX, capacity=4)
    tx = p.RingSender(n, TICK)
    for bad in (b"", b"x" * 15, b"x" * 17):
        with pytest.raises(ValueError, match="16 bytes"):
            tx.send(bad)
    with pytest.raises(TypeError):
        tx.send(5)  # type: ignore[arg-type]
    with pytest.raises(p.BusyError):
        rx.receive(0)


def test_another_record_type_is_refused(name: Callable[[str], str]) -> None:
    n = name("ring")
    p.RingReceiver(n, TICK, p.O_CREX, capacity=4)
    with pytest.raises(ValueError, match="fingerprint"):
        p.RingSender(n, p.RecordType("Other", 16, 1))
    with pytest.raises(ValueError, match="messages of 16 bytes"):
        p.RingSender(n, p.RecordType("Tick", 24, TICK.fingerprint))
    s = name("shared")
    p.Shared(s, TICK, p.O_CREX)
    with pytest.raises(ValueError, match="fingerprint"):
        p.Shared(s, p.RecordType("Other", 16, 2))
    with pytest.raises(ValueError):
        p.RingReceiver(s, TICK)  # a Shared segment is not a ring
    plain = p.SharedMemory(name("plain"), p.O_CREX, size=8192)
    plain.close()
    with pytest.raises(ValueError):
        p.Shared(plain.name, TICK)


def test_bad_ring_arguments(name: Callable[[str], str]) -> None:
    for kwargs in ({"capacity": 3}, {"capacity": 1}, {"capacity": 2**40}, {"kind": 2},
                   {"mode": 0o10000}, {"mode": -1}, {"flags": p.O_CREAT}):
        with pytest.raises((ValueError, OverflowError)):
            p.RingReceiver(name("ring"), TICK, **{"flags": p.O_CREX, **kwargs})
    with pytest.raises(ValueError):
        p.RecordType("Empty", 0, 1)
    with pytest.raises((ValueError, OverflowError)):
        p.RecordType("Huge", 2**31, 1)
    with pytest.raises(p.ExistentialError):
        p.RingSender(name("ring"), TICK)
    with pytest.raises(ValueError, match="name"):
        p.RingSender(None, TICK)  # type: ignore[arg-type]


def test_an_spsc_ring_admits_one_sender(name: Callable[[str], str]) -> None:
    n = name("ring")
    p.RingReceiver(n, TICK, p.O_CREX, capacity=4)
    first = p.RingSender(n, TICK)
    with pytest.raises(p.ExistentialError, match="already has a producer") as taken:
        p.RingSender(n, TICK)
    # The Python constant, not the Rust API.
    assert "kind=RING_MPMC" in str(taken.value) and "RingMode" not in str(taken.value)
    first.close()
    p.RingSender(n, TICK)


# --- Making rings: a creator that takes no end, kind and mode --------------------------------

def umask() -> int:
    """The process's umask, read without setting it."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return 0o022


@pytest.mark.parametrize("kind", [p.RING_SPSC, p.RING_MPMC])
def test_create_ring_takes_no_end_so_both_ends_open_it(name: Callable[[str], str],
                                                       kind: int) -> None:
    n = name("ring")
    p.create_ring(n, TICK, capacity=8, kind=kind)
    rx = p.RingReceiver(n, TICK)
    tx = p.RingSender(n, TICK)  # the SPSC ring's one producer slot is free
    assert (rx.capacity, rx.kind, tx.capacity, tx.kind) == (8, kind, 8, kind)
    tx.send(tick(1))
    assert rx.receive(0) == tick(1)
    with pytest.raises(p.ExistentialError, match="RingSender\\(name, record\\)") as exists:
        p.create_ring(n, TICK)
    assert "::" not in str(exists.value), "no Rust call named"


def test_a_receiver_waits_for_the_first_producer_of_a_ring_made_without_an_end(
    name: Callable[[str], str]
) -> None:
    n = name("ring")
    p.create_ring(n, TICK, capacity=4)  # the parent, which then goes: it held no end
    rx = p.RingReceiver(n, TICK)
    with pytest.raises(p.BusyError, match="empty"):
        rx.receive(0)  # not DisconnectedError: no producer has come yet
    t, out = blocked_in_thread(lambda: rx.receive(30))
    tx = p.RingSender(n, TICK)
    tx.send(tick(7))
    t.join(30)
    assert out == [tick(7)]
    tx.close()
    with pytest.raises(p.DisconnectedError, match="every producer has gone"):
        rx.receive()


def test_mode_is_the_rings_permission_bits(name: Callable[[str], str]) -> None:
    n = name("ring")
    rx = p.RingReceiver(n, TICK, p.O_CREX, capacity=4, kind=p.RING_MPMC, mode=0o640)
    assert rx.mode == 0o640 & ~umask() == os.stat("/dev/shm" + n).st_mode & 0o7777
    tx = p.RingSender(n, TICK, mode=0o666)  # opening: the ring's own, as capacity and kind
    assert (tx.mode, tx.kind) == (rx.mode, p.RING_MPMC)
    made = name("ring")
    p.create_ring(made, TICK, mode=0o604)
    assert os.stat("/dev/shm" + made).st_mode & 0o7777 == 0o604 & ~umask()
    default = name("ring")
    assert p.RingSender(default, TICK, p.O_CREX).mode == 0o600 & ~umask()


@pytest.mark.parametrize("old", [p.RING_SPSC, p.RING_MPMC])
def test_mode_given_a_ring_kind_is_refused_naming_kind(name: Callable[[str], str],
                                                       old: int) -> None:
    constant = "RING_SPSC" if old == p.RING_SPSC else "RING_MPMC"
    for make in (lambda n: p.RingReceiver(n, TICK, p.O_CREX, mode=old),
                 lambda n: p.RingSender(n, TICK, p.O_CREX, capacity=4, mode=old),
                 lambda n: p.create_ring(n, TICK, mode=old)):
        n = name("ring")
        with pytest.raises(ValueError, match=f"permission bits.*kind={constant}"):
            make(n)
        assert not os.path.exists("/dev/shm" + n)


def test_the_fifth_positional_argument_is_still_the_kind(name: Callable[[str], str]) -> None:
    n = name("ring")
    rx = p.RingReceiver(n, TICK, p.O_CREX, 4, p.RING_MPMC)
    assert rx.kind == p.RING_MPMC
    first = p.RingSender(n, TICK)
    second = p.RingSender(n, TICK)  # MPMC: several producers
    assert first.kind == second.kind == p.RING_MPMC


def test_a_blocked_receive_releases_the_gil(name: Callable[[str], str]) -> None:
    n = name("ring")
    rx = p.RingReceiver(n, TICK, p.O_CREX, capacity=4)
    tx = p.RingSender(n, TICK)
    t, out = blocked_in_thread(lambda: rx.receive(30))
    tx.send(tick(7))
    t.join(30)
    assert out == [tick(7)]


def test_ctrl_c_stops_a_blocked_ring_receive(name: Callable[[str], str]) -> None:
    n = name("ring")
    p.RingReceiver(n, TICK, p.O_CREX, capacity=4).close()
    keep = p.RingSender(n, TICK)
    child = subprocess.Popen(
        [sys.executable, "-c",
         "import os, sys, threading, posix_ipc_rs as p\n"
         "rx = p.RingReceiver(sys.argv[1], p.RecordType('Tick', 16, int(sys.argv[2])))\n"
         "print(os.getpid(), threading.get_native_id(), flush=True)\n"
         "try:\n"
         "    rx.receive()\n"
         "except KeyboardInterrupt:\n"
         "    print('KeyboardInterrupt')\n", n, str(TICK.fingerprint)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        pid, tid = map(int, child.stdout.readline().split())
        wait_sleeping(pid, tid)
        child.send_signal(signal.SIGINT)
        out, _ = child.communicate(timeout=30)
    finally:
        child.kill()
        child.wait()
    assert out.strip() == "KeyboardInterrupt"
    keep.close()


def test_shared_loads_and_stores_whole_records(name: Callable[[str], str]) -> None:
    n = name("shared")
    a = p.Shared(n, TICK, p.O_CREX, initial=tick(1))
    b = p.Shared(n, TICK)
    assert b.load() == tick(1) and b.version == 0
    b.store(tick(2))
    assert a.load_versioned() == (tick(2), 1)
    with pytest.raises(ValueError, match="16 bytes"):
        a.store(b"short")
    with pytest.raises(p.BusyError):
        a.wait_change(1, 0)
    t, out = blocked_in_thread(lambda: a.wait_change(1, 30))
    b.store(tick(3))
    t.join(30)
    assert out == [(tick(3), 2)]
    zero = p.Shared(name("zero"), TICK, p.O_CREX)
    assert zero.load() == bytes(16)
    with pytest.raises(ValueError):
        p.Shared(name("bad"), TICK, p.O_CREX, initial=b"x")


def test_many_records_at_once(name: Callable[[str], str]) -> None:
    n = name("ring")
    rx = p.RingReceiver(n, TICK, p.O_CREX, capacity=8)
    tx = p.RingSender(n, TICK)
    tx.send_many(b"".join(tick(i) for i in range(5)))
    assert rx.receive_many(3) == b"".join(tick(i) for i in range(3))
    assert rx.receive_many(100, 0) == tick(3) + tick(4)
    with pytest.raises(p.BusyError):
        rx.receive_many(4, 0)
    with pytest.raises(ValueError, match="17 bytes are not a whole number of 16-byte"):
        tx.send_many(b"x" * 17)
    # More than fit: the sender waits for room while the receiver drains, none lost.
    t, out = blocked_in_thread(lambda: tx.send_many(b"".join(tick(i) for i in range(20)), 30))
    got = b""
    while len(got) < 20 * 16:
        got += rx.receive_many(8, 30)
    t.join(30)
    assert out == [None]
    assert [FMT.unpack_from(got, 16 * i)[0] for i in range(20)] == list(range(20))
    # A full ring and no waiting: BusyError says how many went out.
    tx.send_many(b"".join(tick(i) for i in range(8)))
    with pytest.raises(p.BusyError, match="0 of 2 records sent"):
        tx.send_many(tick(8) + tick(9), 0)


# --- RecordType.from_dtype: layouts from numpy, no Rust needed --------------------------------

@pytest.fixture
def np() -> Any:
    """numpy, which these tests need and the module does not."""
    return pytest.importorskip("numpy")


def test_from_dtype_gives_size_fields_and_a_dtype_back(np: Any) -> None:
    dt = np.dtype([("seq", "=u8"), ("x", "=f8"), ("tag", "S8"), ("id", "=u4"), ("flags", "=u4")])
    r = p.RecordType.from_dtype(dt, name="Tick")
    assert (r.name, r.size) == ("Tick", 32)
    # The derive's fingerprint of the same fields (tests/python_module.rs checks nested ones).
    back = r.dtype
    assert back.names == ("seq", "x", "tag", "id", "flags")
    assert back.itemsize == 32
    assert p.RecordType.from_dtype(back, name="Tick") == r
    # Another field name or order is another layout.
    other = np.dtype([("seq", "=u8"), ("y", "=f8"), ("tag", "S8"), ("id", "=u4"), ("flags", "=u4")])
    assert p.RecordType.from_dtype(other, name="Tick").fingerprint != r.fingerprint


@pytest.mark.parametrize(
    "dtype, words",
    [
        ([("a", "=u1"), ("b", "=u4")], "offset 1"),  # packed: b unaligned
        ({"names": ["a", "b"], "formats": ["=u1", "=u4"], "offsets": [0, 4], "itemsize": 8},
         "padding"),  # aligned, with 3 padding bytes
        ([("a", "=u8"), ("b", "=u1")], "padding"),  # trailing padding
        ([("a", "?")], "bool"),
        ([("a", "O")], "objects"),
        ([("a", ">u4")], "byte order"),
        ([("a", "=f2")], "float32"),
    ],
)
def test_from_dtype_refuses_what_a_repr_c_struct_is_not(np: Any, dtype: Any, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        p.RecordType.from_dtype(np.dtype(dtype))


def test_from_dtype_refuses_an_unstructured_dtype_and_a_non_dtype(np: Any) -> None:
    with pytest.raises(ValueError, match="structured dtype"):
        p.RecordType.from_dtype(np.dtype("=u4"))
    with pytest.raises(TypeError, match="dtype"):
        p.RecordType.from_dtype(42)


def test_a_record_type_without_fields_has_no_dtype() -> None:
    with pytest.raises(ValueError, match="from_dtype"):
        p.RecordType("Sample", 64, 0x5A17).dtype


def test_a_dtype_record_opens_a_shared_struct_and_reads_it_as_numpy(
    np: Any, name: Callable[[str], str]
) -> None:
    dt = np.dtype([("seq", "=u8"), ("pos", "=f4", (3,)), ("state", "=i4")])
    record = p.RecordType.from_dtype(dt, name="State")
    value = np.zeros((), dtype=record.dtype)
    value["seq"], value["pos"], value["state"] = 9, (1.0, 2.0, 3.0), -1
    s = p.Shared(name("dtype"), record, p.O_CREX, initial=value.tobytes())
    got = np.frombuffer(s.load(), dtype=record.dtype)[0]
    assert (int(got["seq"]), list(got["pos"]), int(got["state"])) == (9, [1.0, 2.0, 3.0], -1)


def test_ring_messages_say_what_was_given(name: Callable[[str], str]) -> None:
    n = name("ring")
    rx = p.RingReceiver(n, TICK, p.O_CREX, capacity=4)
    tx = p.RingSender(n, TICK)
    with pytest.raises(TypeError, match="not str: a record is bytes"):
        tx.send("abc")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"100 bytes are not a whole number of 16-byte Tick"):
        tx.send_many(bytes(100))
    with pytest.raises(p.BusyError):
        rx.receive(0)  # nothing was sent
