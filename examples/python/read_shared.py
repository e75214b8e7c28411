#!/usr/bin/env python3
"""Reads a Rust `Shared<T>` segment with posix_ipc, using the exported layouts.

Usage: read_shared.py NAME VALUE_FORMAT [HEADER_FORMAT]

VALUE_FORMAT is `T::python_format()` (for example `<ddQ`); HEADER_FORMAT is
`Shared::<T>::python_header_format()` (default `<8sIIQQIIQIIQ`). Prints the header's version
counter and the current value, read consistently: the slot `seq & 1` is copied and accepted only
if `seq` did not change meanwhile (the same seqlock rule the Rust side follows).
"""
import importlib
import os
import json
import mmap
import struct
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import posix_ipc_rs as posix_ipc
else:
    # posix_ipc (the C module) by default; POSIX_IPC_MODULE=posix_ipc_rs runs the same program
    # on this workspace's Python module, which is all a posix_ipc program has to change.
    posix_ipc = importlib.import_module(os.environ.get("POSIX_IPC_MODULE", "posix_ipc"))


def main() -> None:
    name, fmt = sys.argv[1], sys.argv[2]
    header_fmt = sys.argv[3] if len(sys.argv) > 3 else "<8sIIQQIIQIIQ"
    shm = posix_ipc.SharedMemory(name, read_only=True)
    m = mmap.mmap(shm.fd, shm.size, prot=mmap.PROT_READ)
    shm.close_fd()
    magic, version, header_size, _fp, size, ready, _lock, _seq, *_ = struct.unpack_from(header_fmt, m, 0)
    if magic != b"PIPCSHM\0" or version != 1 or not ready:
        sys.exit(f"not a ready posix-ipc shared struct: {magic!r} v{version} ready={ready}")
    if size != struct.calcsize(fmt):
        sys.exit(f"segment holds {size} bytes, format {fmt} is {struct.calcsize(fmt)}")
    stride = (size + 63) // 64 * 64
    seq_offset = 40
    while True:
        (before,) = struct.unpack_from("<Q", m, seq_offset)
        value = struct.unpack_from(fmt, m, header_size + (before & 1) * stride)
        (after,) = struct.unpack_from("<Q", m, seq_offset)
        if before == after:
            break
    m.close()
    print(json.dumps({"version": before, "value": list(value)}))


if __name__ == "__main__":
    main()
