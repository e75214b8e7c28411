#!/usr/bin/env python3
"""Python consumer for the Rust typed queue: receives `Reading` messages with posix_ipc.

Usage: consumer.py QUEUE [PRODUCERS] [FORMAT]

Receives until every producer has sent its end marker and prints one line in the same format
as the Rust consumer: `summary sent=.. received=.. lost=.. duplicated=.. out_of_order=..
wrong_priority=.. seconds=..`. Exits non-zero if anything was lost, duplicated or misordered.
"""
import importlib
import os
import struct
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import posix_ipc_rs as posix_ipc
else:
    # posix_ipc (the C module) by default; POSIX_IPC_MODULE=posix_ipc_rs runs the same program
    # on this workspace's Python module, which is all a posix_ipc program has to change.
    posix_ipc = importlib.import_module(os.environ.get("POSIX_IPC_MODULE", "posix_ipc"))

FLAG_URGENT, FLAG_END = 1, 2
URGENT_PRIORITY, NORMAL_PRIORITY = 9, 5
#: Seconds without a message after which the consumer stops (a producer killed before its end
#: marker would otherwise keep it waiting forever).
IDLE = 10.0


def main() -> None:
    queue = sys.argv[1]
    producers = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    fmt = sys.argv[3] if len(sys.argv) > 3 else "<QdII"
    size = struct.calcsize(fmt)
    mq = posix_ipc.MessageQueue(queue, write=False)
    sent = received = duplicated = out_of_order = wrong_priority = ended = 0
    seen: set[tuple[int, int]] = set()
    last: dict[tuple[int, int], int] = {}
    start: float | None = None
    stalled = False
    while ended < producers:
        try:
            data, priority = mq.receive(IDLE)
        except posix_ipc.BusyError:
            stalled = True
            print(f"python consumer: no message for {IDLE:.0f} s with {producers - ended} "
                  f"producer(s) not finished (killed?); stopping", file=sys.stderr)
            break
        start = start or time.monotonic()
        if len(data) != size:
            sys.exit(f"message of {len(data)} bytes, expected {size}")
        seq, _value, producer, flags = struct.unpack(fmt, data)
        if flags & FLAG_END:
            ended += 1
            sent += seq
            continue
        received += 1
        expected = URGENT_PRIORITY if flags & FLAG_URGENT else NORMAL_PRIORITY
        wrong_priority += priority != expected
        duplicated += (producer, seq) in seen
        seen.add((producer, seq))
        prev = last.get((producer, priority))
        out_of_order += prev is not None and seq <= prev
        last[(producer, priority)] = seq
    seconds = time.monotonic() - (start or time.monotonic())
    mq.close()
    lost = sent - len(seen)
    if stalled:
        # What an unfinished producer sent is unknown (its end marker carries the count), so
        # neither that nor what was lost can be stated.
        print(f"summary sent=unknown received={received} lost=unknown duplicated={duplicated} "
              f"out_of_order={out_of_order} wrong_priority={wrong_priority} "
              f"seconds={seconds:.6f} unfinished_producers={producers - ended}")
        sys.exit(1)
    print(f"summary sent={sent} received={received} lost={lost} duplicated={duplicated} "
          f"out_of_order={out_of_order} wrong_priority={wrong_priority} seconds={seconds:.6f}")
    sys.exit(1 if lost or duplicated or out_of_order or wrong_priority else 0)


if __name__ == "__main__":
    main()
