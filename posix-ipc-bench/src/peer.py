"""Python posix_ipc 1.3.2 on the benchmark's workloads (driven by posix-ipc-bench).

Usage: python3 peer.py WORKLOAD ITERS REPS
Prints one line: the median nanoseconds per operation over REPS repetitions.
In-process workloads are timed on this thread's CPU clock (as the Rust side does); the
cross-process ones on the wall clock, with a fork()ed peer.
"""
import os
import statistics
import struct
import sys
import time

import posix_ipc

PID = os.getpid()
COUNTER = [0]


def name(tag):
    COUNTER[0] += 1
    return f"/pib-py-{PID}-{tag}-{COUNTER[0]}"


def mq(tag, size, depth=10):
    return posix_ipc.MessageQueue(name(tag), posix_ipc.O_CREX, max_messages=depth, max_message_size=size)


def pair(size, iters):
    q = mq("pair", size)
    msg = b"x" * size
    try:
        t = time.thread_time_ns()
        for _ in range(iters):
            q.send(msg, priority=0)
            q.receive()
        return (time.thread_time_ns() - t) / iters
    finally:
        q.close()
        q.unlink()


def typed_pair(iters):
    q = mq("typed", 64)
    fmt = "<8Q"
    vals = tuple(range(8))
    try:
        t = time.thread_time_ns()
        for _ in range(iters):
            q.send(struct.pack(fmt, *vals), priority=0)
            struct.unpack(fmt, q.receive()[0])
        return (time.thread_time_ns() - t) / iters
    finally:
        q.close()
        q.unlink()


def sem_pair(iters):
    s = posix_ipc.Semaphore(None, posix_ipc.O_CREX, initial_value=0)
    try:
        t = time.thread_time_ns()
        for _ in range(iters):
            s.release()
            s.acquire()
        return (time.thread_time_ns() - t) / iters
    finally:
        s.unlink()
        s.close()


def pingpong(size, iters):
    a, b = mq("ping", size), mq("pong", size)
    msg = b"x" * size
    pid = os.fork()
    if pid == 0:
        b.send(b"r")
        for _ in range(iters):
            m, _ = a.receive()
            b.send(m)
        os._exit(0)
    try:
        b.receive()
        t = time.perf_counter_ns()
        for _ in range(iters):
            a.send(msg)
            b.receive()
        ns = (time.perf_counter_ns() - t) / iters
        os.waitpid(pid, 0)
        return ns
    finally:
        for q in (a, b):
            q.close()
            q.unlink()


def stream(size, iters):
    data, ctrl = mq("data", size), mq("ctrl", 8, depth=1)
    msg = b"x" * size
    pid = os.fork()
    if pid == 0:
        data.send(b"r")
        ctrl.receive()
        for _ in range(iters):
            data.send(msg)
        os._exit(0)
    try:
        data.receive()
        ctrl.send(b"go")
        t = time.perf_counter_ns()
        for _ in range(iters):
            data.receive()
        ns = (time.perf_counter_ns() - t) / iters
        os.waitpid(pid, 0)
        return ns
    finally:
        for q in (data, ctrl):
            q.close()
            q.unlink()


def sem_pingpong(iters):
    a = posix_ipc.Semaphore(None, posix_ipc.O_CREX, initial_value=0)
    b = posix_ipc.Semaphore(None, posix_ipc.O_CREX, initial_value=0)
    pid = os.fork()
    if pid == 0:
        b.release()
        for _ in range(iters):
            a.acquire()
            b.release()
        os._exit(0)
    try:
        b.acquire()
        t = time.perf_counter_ns()
        for _ in range(iters):
            a.release()
            b.acquire()
        ns = (time.perf_counter_ns() - t) / iters
        os.waitpid(pid, 0)
        return ns
    finally:
        for s in (a, b):
            s.unlink()
            s.close()


WORKLOADS = {
    "mq_pair_64": lambda n: pair(64, n),
    "mq_pair_8k": lambda n: pair(8192, n),
    "sem_pair": sem_pair,
    "typed_pair_64": typed_pair,
    "mq_pingpong_64": lambda n: pingpong(64, n),
    "mq_pingpong_4k": lambda n: pingpong(4096, n),
    "mq_stream_64": lambda n: stream(64, n),
    "mq_stream_8k": lambda n: stream(8192, n),
    "sem_pingpong": sem_pingpong,
}


def main():
    workload, iters, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    runs = [WORKLOADS[workload](iters) for _ in range(reps)]
    print(statistics.median(runs))


if __name__ == "__main__":
    main()
