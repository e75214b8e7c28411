#!/usr/bin/env python3
"""Python producer for the Rust typed queue: sends `Reading` messages with posix_ipc.

The byte layout comes from the Rust type, exported by the derive:

    cargo run --example producer -- --print-layout     # prints the struct format, e.g. <QdII

Usage: producer.py QUEUE COUNT [FORMAT] [PRODUCER_ID]

Sends COUNT readings (every 7th urgent, priority 9; the rest priority 5, the type's priority)
and then an end marker (flags=2, priority 0), exactly like examples/producer.rs, so the Rust
consumer (examples/consumer.rs) checks them the same way.
"""
import importlib
import os
import math
import struct
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import posix_ipc_rs as posix_ipc
else:
    # posix_ipc (the C module) by default; POSIX_IPC_MODULE=posix_ipc_rs runs the same program
    # on this workspace's Python module, which is all a posix_ipc program has to change.
    posix_ipc = importlib.import_module(os.environ.get("POSIX_IPC_MODULE", "posix_ipc"))

FLAG_URGENT, FLAG_END = 1, 2
URGENT_PRIORITY, NORMAL_PRIORITY, END_PRIORITY = 9, 5, 0
#: Seconds a full queue may stay full before the producer gives up (its consumer was killed?).
IDLE = 10.0


def main() -> None:
    queue, count = sys.argv[1], int(sys.argv[2])
    fmt = sys.argv[3] if len(sys.argv) > 3 else "<QdII"
    producer = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    mq = posix_ipc.MessageQueue(queue, read=False)
    if mq.max_message_size != struct.calcsize(fmt):
        sys.exit(f"queue message size {mq.max_message_size} != struct size {struct.calcsize(fmt)}")
    for seq in range(count):
        urgent = seq % 7 == 0
        msg = struct.pack(fmt, seq, math.sin(seq), producer, FLAG_URGENT if urgent else 0)
        try:
            mq.send(msg, IDLE, URGENT_PRIORITY if urgent else NORMAL_PRIORITY)
        except posix_ipc.BusyError:
            sys.exit(f"python producer {producer}: {queue} stayed full for {IDLE:.0f} s after "
                     f"{seq} readings (is the consumer running?); stopping")
    mq.send(struct.pack(fmt, count, 0.0, producer, FLAG_END), IDLE, END_PRIORITY)
    mq.close()
    print(f"python producer {producer}: sent {count} readings and an end marker to {queue}")


if __name__ == "__main__":
    main()
