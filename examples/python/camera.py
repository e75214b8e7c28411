#!/usr/bin/env python3
"""The camera of `cargo run --example camera`, in Python: the same topic, header and pixels, so
either half talks to the Rust one.

Usage:
  camera.py --role subscriber [--topic NAME] [--frames N]
  camera.py --role publisher  [--topic NAME] [--width W] [--height H] [--fps F] [--seconds S]

The publisher creates the frame topic (or takes over one whose publisher died) and owns it:
Ctrl-C or SIGTERM stops it and removes the topic. Each frame is written in place in the
topic's segment through a loan (numpy writes the pixels straight into shared memory) with a
`FrameInfo` header: number, publication time (CLOCK_MONOTONIC ns), width, height.

The subscriber waits for the topic, receives each frame as a read-only numpy view into the
segment (no copy), checks every 8-byte word, and follows publisher restarts. Ctrl-C, SIGTERM or
`--frames N` frames end it with a summary in the Rust subscriber's format; it exits 1 if a frame
was bad.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from types import FrameType
from typing import Optional

import numpy as np

import posix_ipc_rs as p

#: The Rust example's `FrameInfo` (`#[repr(C)]`, no padding): the same size and fingerprint.
FRAME_INFO = p.RecordType.from_dtype(
    np.dtype([("number", "<u8"), ("published_ns", "<u8"), ("width", "<u4"), ("height", "<u4")]),
    name="FrameInfo")
#: The Rust example's topic options: Overwrite, 4 frames kept, 4 subscribers.
CAPACITY, MAX_SUBSCRIBERS = 4, 4
C1, C2 = np.uint64(0x9E37_79B9_7F4A_7C15), np.uint64(0xFF51_AFD7_ED55_8CCD)


class Stop(Exception):
    """Ctrl-C or SIGTERM."""


def stop(_signum: int, _frame: Optional[FrameType]) -> None:
    raise Stop


def word_pattern(words: int) -> np.ndarray:
    """Word i of every frame before the frame number is mixed in: i × C2 (mod 2**64)."""
    with np.errstate(over="ignore"):
        return np.arange(words, dtype=np.uint64) * C2


def frame_key(n: int) -> np.uint64:
    with np.errstate(over="ignore"):
        return np.uint64(n) * C1


def now_ns() -> int:
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def publisher(args: argparse.Namespace) -> int:
    nbytes = args.width * args.height * 3
    if nbytes % 8:
        print("camera.py: width × height × 3 must be a multiple of 8", file=sys.stderr)
        return 2
    pattern = word_pattern(nbytes // 8)
    pub = p.FramePublisher(args.topic, nbytes, p.O_CREAT, header=FRAME_INFO,
                           capacity=CAPACITY, max_subscribers=MAX_SUBSCRIBERS,
                           policy=p.POLICY_OVERWRITE)
    print(f"publisher: topic {args.topic}: {args.width}x{args.height}x3 frames at {args.fps} Hz, "
          f"generation {pub.generation}; Ctrl-C or SIGTERM stops and removes it", flush=True)
    period = 1.0 / args.fps
    frames = None if args.seconds is None else round(args.seconds * args.fps)
    n, due, start = 0, time.monotonic(), time.monotonic()
    try:
        while frames is None or n < frames:
            time.sleep(max(0.0, due - time.monotonic()))
            with pub.loan(nbytes, zero=False) as loan:
                # Every word written in place, in the segment: no frame-sized copy.
                np.bitwise_xor(pattern, frame_key(n), out=np.frombuffer(loan, np.uint64))
                loan.header = np.array([(n, now_ns(), args.width, args.height)],
                                       FRAME_INFO.dtype)
            n += 1
            due = max(due + period, time.monotonic())
            if n % max(1, round(args.fps)) == 0:
                print(f"publisher: {n} frames, {pub.subscribers} subscribers live", flush=True)
    except Stop:
        pass
    finally:
        pub.close()
    print(f"publisher: stopped after {n} frames in {time.monotonic() - start:.1f} s; "
          f"removed topic {args.topic}", flush=True)
    return 0


def subscriber(args: argparse.Namespace) -> int:
    received = checked = bad = lags = missed = 0
    restarts: list[int] = []
    latencies: list[int] = []
    patterns: dict[int, np.ndarray] = {}
    print(f"subscriber: waiting for topic {args.topic}; Ctrl-C or SIGTERM stops it", flush=True)
    try:
        sub = p.FrameSubscriber(args.topic, header=FRAME_INFO, follow_restarts=True, wait=None)
        print(f"subscriber: joined {args.topic}: frames of up to {sub.max_frame_len} bytes",
              flush=True)
        while args.frames is None or received < args.frames:
            try:
                frame = sub.receive(timeout=1.0)
            except p.BusyError:
                continue
            except p.LaggedError as e:
                lags += 1
                missed += e.missed
                continue
            except p.RestartedError as e:
                restarts.append(e.generation)
                print(f"subscriber: publisher restarted: generation {e.generation}", flush=True)
                continue
            except p.DisconnectedError:
                # The publisher stopped and removed the topic: wait for the next one.
                sub.close()
                sub = p.FrameSubscriber(args.topic, header=FRAME_INFO, follow_restarts=True,
                                        wait=None)
                continue
            with frame:
                assert frame.header is not None
                info = np.frombuffer(frame.header, FRAME_INFO.dtype)[0]
                number, width, height = int(info["number"]), int(info["width"]), int(info["height"])
                latencies.append(now_ns() - int(info["published_ns"]))
                words = np.frombuffer(frame, np.uint64)  # a view into the segment, no copy
                if len(frame) != width * height * 3:
                    whole = False
                else:
                    pattern = patterns.get(len(words))
                    if pattern is None:
                        pattern = patterns.setdefault(len(words), word_pattern(len(words)))
                    whole = bool(np.array_equal(words, pattern ^ frame_key(number)))
                del words, info
            received += 1
            checked += len(frame)
            if not whole:
                bad += 1
                print(f"subscriber: frame {number} is bad ({len(frame)} bytes)", flush=True)
    except Stop:
        pass
    latencies.sort()

    def ms(q: float) -> float:
        if not latencies:
            return 0.0
        return latencies[min(len(latencies) - 1, int(len(latencies) * q))] / 1e6

    print()
    print(f"subscriber: summary of topic {args.topic}")
    print(f"  frames received    {received}")
    print(f"  bytes checked      {checked} ({checked / 1e6:.1f} MB, every byte of every frame)")
    print(f"  bad frames         {bad} (wrong size, torn, or changed while held)")
    print(f"  restarts followed  {len(restarts)}")
    print(f"  frames missed      {missed} (overwritten before this subscriber read them)")
    print(f"  lags               {lags} (times it fell behind)")
    print(f"  latency            p50 {ms(0.5):.2f} ms, p99 {ms(0.99):.2f} ms, max {ms(1.0):.2f} ms",
          flush=True)
    return 1 if bad else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--role", choices=["publisher", "subscriber"], required=True)
    parser.add_argument("--topic", default="/posix-ipc-camera")
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--fps", type=float, default=60.0)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--frames", type=int, default=None,
                        help="subscriber: stop after this many frames")
    args = parser.parse_args()
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        return publisher(args) if args.role == "publisher" else subscriber(args)
    except p.Error as e:
        # A second publisher while one is alive, a topic of another type: say so, no traceback.
        print(f"camera.py: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
