#!/usr/bin/env python3
"""Two costs behind the py_* benchmark rows, measured with the Python that has both modules
(the test suite's virtual environment: target/tmp/python-venv/bin/python):

1. a call through PyO3 against one into a C extension: reading Semaphore.name on posix_ipc_rs
   and on posix_ipc (an empty loop beside them);
2. posix_ipc's own 64-byte MessageQueue send+receive pair with timeout=0 against timeout=None
   (a non-waiting attempt is a timed call).

Each figure is the best of five runs, printed per round; the objects are removed at the end.
"""
import os
import time

import posix_ipc
import posix_ipc_rs

ROUNDS = 5


def best(f, n):
    b = None
    for _ in range(5):
        t0 = time.perf_counter_ns()
        f()
        ns = (time.perf_counter_ns() - t0) / n
        b = ns if b is None else min(b, ns)
    return b


def calls():
    n = 1_000_000
    a = posix_ipc.Semaphore("/pib-call-c-%d" % os.getpid(), posix_ipc.O_CREX)
    r = posix_ipc_rs.Semaphore("/pib-call-rs-%d" % os.getpid(), posix_ipc_rs.O_CREX)
    try:
        def loop_empty():
            for _ in range(n):
                pass

        def loop_c():
            for _ in range(n):
                a.name

        def loop_rs():
            for _ in range(n):
                r.name

        for k in range(ROUNDS):
            print("round %d: empty loop %.1f ns, posix_ipc .name %.1f ns, posix_ipc_rs .name %.1f ns"
                  % (k, best(loop_empty, n), best(loop_c, n), best(loop_rs, n)))
    finally:
        a.unlink()
        r.unlink()


def timeouts():
    n = 100_000
    mq = posix_ipc.MessageQueue("/pib-mq-timeout-%d" % os.getpid(), posix_ipc.O_CREX,
                                max_messages=4, max_message_size=64)
    msg = b"x" * 64

    def pair(t):
        def run():
            for _ in range(n):
                mq.send(msg, t)
                mq.receive(t)
        return best(run, n)

    try:
        for k in range(ROUNDS):
            print("round %d: posix_ipc 64-byte pair timeout=0 %.0f ns, timeout=None %.0f ns"
                  % (k, pair(0), pair(None)))
    finally:
        mq.unlink()
        mq.close()


if __name__ == "__main__":
    calls()
    timeouts()
