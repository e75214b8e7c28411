"""The same Python workloads on posix_ipc (the C module) and on posix_ipc_rs, alternating.

Usage: python py_compare.py REPS SCALE [ONLY]
Prints one JSON line per workload: the median ns per operation of each module and the median of
the per-repetition ratios ``python_rs_over_c`` (our cost over posix_ipc's; below 1 is faster).
Each repetition runs the C module's loop and ours back to back, in alternating order, so both
see the same machine. In-process workloads are timed on the thread's CPU clock, cross-process
ones (a fork()ed peer) on the wall clock. ``py_ring_stream_64`` is posix_ipc_rs's ring of 64-byte
records against posix_ipc's queue stream of 64-byte messages: the ratio says how much less a
record costs by ring than a message by queue.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import posix_ipc
import posix_ipc_rs

PID = os.getpid()
COUNTER = [0]
Loop = Callable[[ModuleType, int], float]


def name(tag: str) -> str:
    COUNTER[0] += 1
    return f"/pib-py-{PID}-{tag}-{COUNTER[0]}"


def sem_pair(m: ModuleType, iters: int) -> float:
    s = m.Semaphore(None, m.O_CREX, initial_value=0)
    try:
        t = time.thread_time_ns()
        for _ in range(iters):
            s.release()
            s.acquire()
        return (time.thread_time_ns() - t) / iters
    finally:
        s.unlink()


def call_floor(iters: int) -> float:
    """Two calls of a builtin method that does nothing, on the same clock: what any extension
    module's release-and-acquire pair costs at least in this interpreter on this machine."""
    noop = [].__len__
    t = time.thread_time_ns()
    for _ in range(iters):
        noop()
        noop()
    return (time.thread_time_ns() - t) / iters


def mq_pair(size: int) -> Loop:
    def run(m: ModuleType, iters: int) -> float:
        q = m.MessageQueue(name("pair"), m.O_CREX, max_messages=10, max_message_size=size)
        msg = b"x" * size
        try:
            t = time.thread_time_ns()
            for _ in range(iters):
                q.send(msg)
                q.receive()
            return (time.thread_time_ns() - t) / iters
        finally:
            q.close()
            q.unlink()
    return run


def forked(child: Callable[[], None]) -> int:
    pid = os.fork()
    if pid == 0:
        try:
            child()
        finally:
            os._exit(0)
    return pid


def sem_pingpong(m: ModuleType, iters: int) -> float:
    a = m.Semaphore(None, m.O_CREX, initial_value=0)
    b = m.Semaphore(None, m.O_CREX, initial_value=0)

    def echo() -> None:
        for _ in range(iters):
            a.acquire()
            b.release()

    pid = forked(echo)
    try:
        t = time.perf_counter_ns()
        for _ in range(iters):
            a.release()
            b.acquire()
        return (time.perf_counter_ns() - t) / iters
    finally:
        os.waitpid(pid, 0)
        a.unlink()
        b.unlink()


def mq_pingpong(m: ModuleType, iters: int) -> float:
    there = m.MessageQueue(name("ping"), m.O_CREX, max_messages=1, max_message_size=64)
    back = m.MessageQueue(name("pong"), m.O_CREX, max_messages=1, max_message_size=64)
    msg = b"x" * 64

    def echo() -> None:
        for _ in range(iters):
            back.send(there.receive()[0])

    pid = forked(echo)
    try:
        t = time.perf_counter_ns()
        for _ in range(iters):
            there.send(msg)
            back.receive()
        return (time.perf_counter_ns() - t) / iters
    finally:
        os.waitpid(pid, 0)
        for q in (there, back):
            q.close()
            q.unlink()


def mq_stream(m: ModuleType, iters: int) -> float:
    q = m.MessageQueue(name("stream"), m.O_CREX, max_messages=10, max_message_size=64)
    msg = b"x" * 64

    def sender() -> None:
        for _ in range(iters):
            q.send(msg)

    t = time.perf_counter_ns()
    pid = forked(sender)
    try:
        for _ in range(iters):
            q.receive()
        return (time.perf_counter_ns() - t) / iters
    finally:
        os.waitpid(pid, 0)
        q.close()
        q.unlink()


RECORD = posix_ipc_rs.RecordType("Bytes64", 64, 0x6264_6264_6264_6264)


def ring_stream(batch: int) -> Loop:
    def run(m: ModuleType, iters: int) -> float:
        if m is posix_ipc:
            # The C module has no ring: its fastest stream between processes is the queue's.
            return mq_stream(m, iters)
        n = name("ring")
        rx = posix_ipc_rs.RingReceiver(n, RECORD, posix_ipc_rs.O_CREX, capacity=1024)
        msg = b"x" * 64
        many = msg * batch
        rounds = max(1, iters // batch)

        def sender() -> None:
            tx = posix_ipc_rs.RingSender(n, RECORD)
            if batch == 1:
                for _ in range(iters):
                    tx.send(msg)
            else:
                for _ in range(rounds):
                    tx.send_many(many)

        total = iters if batch == 1 else rounds * batch
        t = time.perf_counter_ns()
        pid = forked(sender)
        try:
            if batch == 1:
                for _ in range(iters):
                    rx.receive()
            else:
                got = 0
                while got < total:
                    got += len(rx.receive_many(batch)) // 64
            return (time.perf_counter_ns() - t) / total
        finally:
            os.waitpid(pid, 0)
            rx.unlink()
    return run


WORKLOADS: list[tuple[str, str, Loop, int, str]] = [
    ("py_sem_pair", "in-process", sem_pair, 200_000,
     "Semaphore.release() then acquire() on an available semaphore"),
    ("py_mq_pair_64", "in-process", mq_pair(64), 100_000,
     "MessageQueue.send() then receive() of 64 bytes, one process"),
    ("py_mq_pair_8k", "in-process", mq_pair(8192), 50_000,
     "the same with 8 KiB messages"),
    ("py_sem_pingpong", "cross-process", sem_pingpong, 20_000,
     "round trip through two semaphores between two processes"),
    ("py_mq_pingpong_64", "cross-process", mq_pingpong, 20_000,
     "round trip of a 64-byte message through two queues between two processes"),
    ("py_mq_stream_64", "cross-process", mq_stream, 100_000,
     "one process sends 64-byte messages, another receives them (time per message)"),
    ("py_ring_stream_64", "cross-process", ring_stream(64), 200_000,
     "posix_ipc_rs RingSender to RingReceiver of 64-byte records between two processes, in "
     "runs of 64 (send_many, receive_many), against posix_ipc's queue stream of 64-byte "
     "messages"),
    ("py_ring_stream_64_single", "cross-process", ring_stream(1), 100_000,
     "the same ring one record per call (send, receive), against posix_ipc's queue stream"),
]


def main() -> None:
    reps, scale = int(sys.argv[1]), float(sys.argv[2])
    only = sys.argv[3] if len(sys.argv) > 3 else ""
    for workload, kind, loop, iters, what in WORKLOADS:
        if only not in workload:
            continue
        n = max(1, int(iters * scale))
        loop(posix_ipc, n // 10 + 1)
        loop(posix_ipc_rs, n // 10 + 1)
        c: list[float] = []
        rs: list[float] = []
        for rep in range(reps):
            order = (posix_ipc, posix_ipc_rs) if rep % 2 == 0 else (posix_ipc_rs, posix_ipc)
            for m in order:
                (c if m is posix_ipc else rs).append(loop(m, n))
        floor = statistics.median(call_floor(n) for _ in range(reps)) if kind == "in-process" \
            else None
        row: dict[str, Any] = {
            "workload": workload,
            "kind": kind,
            "unit": "ns/op",
            "ours": round(statistics.median(rs), 1),
            "posix_ipc": round(statistics.median(c), 1),
            "python_rs_over_c": round(statistics.median(r / x for r, x in zip(rs, c)), 4),
            "call_floor": None if floor is None else round(floor, 1),
            "reps": reps,
            "iters": n,
            "what": what,
        }
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
