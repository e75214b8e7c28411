"""Publish-subscribe over a topic between Python processes, every column in the same run.

Usage: python py_topics.py REPS SCALE ONLY BENCH_EXE ICEORYX2

posix_ipc_rs's topics (``Publisher``/``Subscriber`` of records, ``FramePublisher``/
``FrameSubscriber`` of frames) against what else moves the same data between Python processes:
iceoryx2's Python binding (its slice samples received with ``as_memory_view``), multiprocessing
(``shared_memory`` holding the data, a ``multiprocessing.Queue`` per subscriber handing over the
slot's index and one queue handing it back), and, for frames, our Rust topic doing the same work
in processes of the benchmark binary. ICEORYX2 is a folder holding the ``iceoryx2`` package (put
first on ``sys.path``) or ``skip:REASON``. Prints one JSON line per workload.

Each repetition runs every column once, in an order rotated from one repetition to the next;
the figures are the medians over repetitions and each ratio (``over_X``: our cost over X's,
below 1 is cheaper) the median of the per-repetition ratios. Every run is a fresh publisher
process and fresh subscriber processes (forked from this one, or the benchmark binary for the
Rust column) on a fresh topic, started before the publisher is told to go.

- Streams of 64-byte records: the publisher sends ITERS records, each carrying its sequence
  number, each subscriber receives every one and checks the number; the figure is the wall time
  from the publisher's first send until the last subscriber has its last record, over ITERS.
- Frame latency: one way, time-stamped. For each frame the publisher reads CLOCK_MONOTONIC,
  loans a frame of 1920x1080x3 bytes, takes a numpy view of it, writes that time into its first
  8 bytes and the frame's number into its last 8 (after copying a 6 MB numpy image into all of
  it, in the ``_from_numpy`` row), drops the view and publishes. Each subscriber waits for it
  (one subscriber busy-polls; two block, as three busy processes on two cores would mostly
  measure the scheduler; iceoryx2's binding has no blocking receive, so its subscribers always
  busy-poll, and multiprocessing's always block in ``Queue.get``), takes a numpy view of the
  frame, reads CLOCK_MONOTONIC, checks the number and releases the frame; its latency is that
  time minus the stamp. A frame's figure is its latest subscriber's; the run's is the median
  over frames. Frames are published 1 ms apart, so none waits behind another (the publisher
  spins for that 1 ms with one subscriber and sleeps with two: see ``pace``).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: no thread pool to fork

import ctypes
import json
import multiprocessing
import statistics
import struct
import subprocess
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable
from multiprocessing import shared_memory
from typing import Any

import numpy as np
import posix_ipc_rs as p

FRAME = 1920 * 1080 * 3  # one 1080p RGB image, 6,220,800 bytes
PACE_S = 0.001
STREAM_DEPTH = 256  # records a stream's subscriber may fall behind: topic capacity, iceoryx2's
#                     subscriber buffer, multiprocessing's slots
CTX = multiprocessing.get_context("fork")
PID = os.getpid()
COUNTER = [0]
REC = p.RecordType("Bytes64", 64, 0x6264_6264_6264_6264)

iox: Any = None
ICE_SKIP: str | None = None


def load_iceoryx2(arg: str) -> None:
    global iox, ICE_SKIP
    if arg.startswith("skip:"):
        ICE_SKIP = arg[5:]
        return
    sys.path.insert(0, arg)
    try:
        import iceoryx2

        iceoryx2.set_log_level(iceoryx2.LogLevel.Error)
        iox = iceoryx2
    except Exception as e:  # noqa: BLE001 -- any failure to import skips the column, saying why
        ICE_SKIP = f"import iceoryx2 from {arg} failed: {e!r}"


def pace(nsubs: int) -> None:
    """Waits PACE_S between frames: spinning on ``sched_yield`` with one subscriber, which
    busy-polls on the other core, so both stay as warm as the Rust rows' ping-pong keeps them
    (the yield lets another process of this shared machine, and multiprocessing's feeder thread,
    run meanwhile; the Rust column spins the same way); sleeping with two, which block and need
    the cores."""
    if nsubs > 1:
        time.sleep(PACE_S)
        return
    end = time.perf_counter_ns() + int(PACE_S * 1e9)
    while time.perf_counter_ns() < end:
        os.sched_yield()


def name(tag: str) -> str:
    COUNTER[0] += 1
    return f"/pyt-{PID}-{tag}-{COUNTER[0]}"


# --- running one case: a publisher and its subscribers ------------------------------------------

Role = Callable[..., Any]  # (*args, ready=, go=, and report= or k=)


def _role(fn: Role, key: Any, ready: Any, go: Any, end: Any, results: Any, args: tuple) -> None:
    try:
        if key == "pub":
            # The publisher reports from inside its role, its topic still up, and keeps it up
            # until every subscriber has reported.
            def report(out: Any) -> None:
                results.put((key, out))
                end.wait(120)

            fn(*args, ready=lambda: ready.put(key), go=go.wait, report=report)
        else:
            results.put((key, fn(*args, ready=lambda: ready.put(key), go=go.wait, k=key)))
    except BaseException:  # noqa: BLE001 -- reported to the driver, which raises it
        results.put((key, "error: " + traceback.format_exc()))
        ready.put(key)


def run_python(pub: Role, sub: Role, nsubs: int, args: tuple) -> tuple[Any, list[Any]]:
    """Starts the publisher, waits until it is set up, starts the subscribers, waits until
    they are, lets the publisher go; returns (the publisher's result, the subscribers')."""
    ready, results = CTX.Queue(), CTX.Queue()
    go, end = CTX.Event(), CTX.Event()
    procs = [CTX.Process(target=_role, args=(pub, "pub", ready, go, end, results, args))]
    procs[0].start()
    ready.get(timeout=60)
    for k in range(nsubs):
        procs.append(CTX.Process(target=_role, args=(sub, k, ready, go, end, results, args)))
        procs[-1].start()
    for _ in range(nsubs):
        ready.get(timeout=60)
    go.set()
    got: dict[Any, Any] = {}
    try:
        for _ in range(nsubs + 1):
            key, out = results.get(timeout=120)
            if isinstance(out, str) and out.startswith("error: "):
                print(out, file=sys.stderr)
                last = out.strip().splitlines()[-1]
                raise RuntimeError(f"{pub.__name__} / {sub.__name__} role {key}: {last}")
            got[key] = out
    finally:
        end.set()
        for proc in procs:
            proc.join(30)
            if proc.is_alive():
                proc.kill()
                proc.join()
        ready.close()
        results.close()
    return got["pub"], [got[k] for k in range(nsubs)]


# --- posix_ipc_rs ------------------------------------------------------------------------------


def ours_stream_pub(n: str, iters: int, nsubs: int, batch: int, *, ready, go, report) -> None:
    pub = p.Publisher(n, REC, flags=p.O_CREX, capacity=STREAM_DEPTH, max_subscribers=nsubs,
                      policy=p.POLICY_BLOCK)
    try:
        ready()
        go()
        if batch == 1:
            rec = bytearray(64)
            t0 = time.monotonic_ns()
            for seq in range(iters):
                struct.pack_into("<Q", rec, 0, seq)
                pub.send(rec)
        else:
            many = np.zeros((batch, 8), np.uint64)
            ramp = np.arange(batch, dtype=np.uint64)
            t0 = time.monotonic_ns()
            for base in range(0, iters, batch):
                many[:, 0] = ramp + base
                pub.send_many(many)
        report(t0)
    finally:
        pub.unlink()


def ours_stream_sub(n: str, iters: int, nsubs: int, batch: int, *, ready, go, k: int) -> int:
    sub = p.Subscriber(n, REC)
    ready()
    if batch == 1:
        for seq in range(iters):
            r = sub.receive()
            if struct.unpack_from("<Q", r)[0] != seq:
                raise AssertionError(f"record {seq} is {r[:8]!r}")
    else:
        got = 0
        while got < iters:
            data = sub.receive_many(batch)
            seqs = np.frombuffer(data, np.uint64)[::8]
            if seqs[0] != got or seqs[-1] != got + len(seqs) - 1:
                raise AssertionError(f"records {got}.. are {seqs[0]}..{seqs[-1]}")
            got += len(seqs)
    return time.monotonic_ns()


def _poll_frame(sub: Any) -> Any:
    """Busy-polls for the next frame: on ``pending`` (a counter read, as the Rust column polls
    ``has_samples``), then ``receive(timeout=0)``."""
    while True:
        if sub.pending:
            try:
                return sub.receive(timeout=0)
            except p.BusyError:
                pass


def ours_frame_pub(n: str, iters: int, nsubs: int, copy: bool, *, ready, go, report) -> None:
    pub = p.FramePublisher(n, FRAME, flags=p.O_CREX, capacity=4, max_subscribers=nsubs,
                           policy=p.POLICY_BLOCK)
    try:
        img = np.full(FRAME // 8, 0x5A5A_5A5A_5A5A_5A5A, np.uint64)
        ready()
        go()
        for seq in range(iters):
            t0 = time.monotonic_ns()
            loan = pub.loan(FRAME, zero=False)
            u = np.frombuffer(loan, np.uint64)
            if copy:
                u[:] = img
            u[0] = t0
            u[-1] = seq
            del u
            loan.send()
            pace(nsubs)
        report(None)
    finally:
        pub.unlink()


def ours_frame_sub(n: str, iters: int, nsubs: int, copy: bool, *, ready, go, k: int) -> list[int]:
    sub = p.FrameSubscriber(n)
    ready()
    lat = []
    for seq in range(iters):
        frame = _poll_frame(sub) if nsubs == 1 else sub.receive()
        u = np.frombuffer(frame, np.uint64)
        now = time.monotonic_ns()
        t0, got = int(u[0]), int(u[-1])
        del u
        frame.release()
        if got != seq:
            raise AssertionError(f"frame {seq} carries number {got}")
        lat.append(now - t0)
    return lat


# --- iceoryx2's Python binding ---------------------------------------------------------------


class IceRec(ctypes.Structure):
    _fields_ = [("seq", ctypes.c_uint64), ("rest", ctypes.c_uint64 * 7)]


def _ice_service(n: str, payload: Any, nsubs: int, buffer: int) -> tuple[Any, Any]:
    node = iox.NodeBuilder.new().create(iox.ServiceType.Ipc)
    svc = (
        node.service_builder(iox.ServiceName.new(n[1:]))
        .publish_subscribe(payload)
        .enable_safe_overflow(False)
        .subscriber_max_buffer_size(buffer)
        .history_size(0)
        .max_publishers(1)
        .max_subscribers(nsubs)
        .open_or_create()
    )
    return node, svc


def ice_stream_pub(n: str, iters: int, nsubs: int, batch: int, *, ready, go, report) -> None:
    node, svc = _ice_service(n, IceRec, nsubs, STREAM_DEPTH)
    pub = svc.publisher_builder().backpressure_strategy(
        iox.BackpressureStrategy.RetryUntilDelivered).create()
    ready()
    go()
    rec = IceRec()
    t0 = time.monotonic_ns()
    for seq in range(iters):
        rec.seq = seq
        pub.loan_uninit().write_payload(rec).send()
    report(t0)


def ice_stream_sub(n: str, iters: int, nsubs: int, batch: int, *, ready, go, k: int) -> int:
    node, svc = _ice_service(n, IceRec, nsubs, STREAM_DEPTH)
    sub = svc.subscriber_builder().create()
    ready()
    seq = 0
    while seq < iters:
        s = sub.receive()
        if s is None:
            continue
        got = s.payload().contents.seq
        del s
        if got != seq:
            raise AssertionError(f"record {seq} carries number {got}")
        seq += 1
    return time.monotonic_ns()


def ice_frame_pub(n: str, iters: int, nsubs: int, copy: bool, *, ready, go, report) -> None:
    node, svc = _ice_service(n, iox.Slice[ctypes.c_uint8], nsubs, 4)
    pub = (
        svc.publisher_builder()
        .initial_max_slice_len(FRAME)
        .backpressure_strategy(iox.BackpressureStrategy.RetryUntilDelivered)
        .create()
    )
    img = np.full(FRAME // 8, 0x5A5A_5A5A_5A5A_5A5A, np.uint64)
    ready()
    go()
    for seq in range(iters):
        t0 = time.monotonic_ns()
        s = pub.loan_slice_uninit(FRAME)
        u = np.frombuffer(s.payload().as_memory_view(), np.uint64)
        if copy:
            u[:] = img
        u[0] = t0
        u[-1] = seq
        del u
        s.assume_init().send()
        pace(nsubs)
    report(None)


def ice_frame_sub(n: str, iters: int, nsubs: int, copy: bool, *, ready, go, k: int) -> list[int]:
    node, svc = _ice_service(n, iox.Slice[ctypes.c_uint8], nsubs, 4)
    sub = svc.subscriber_builder().create()
    ready()
    lat = []
    for seq in range(iters):
        s = sub.receive()
        while s is None:
            s = sub.receive()
        u = np.frombuffer(s.payload().as_memory_view(), np.uint64)
        now = time.monotonic_ns()
        t0, got = int(u[0]), int(u[-1])
        del u, s
        if got != seq:
            raise AssertionError(f"frame {seq} carries number {got}")
        lat.append(now - t0)
    return lat


# --- multiprocessing: shared_memory holds the data, Queues hand over its slot -------------------


class MpTopic:
    """Slots in one SharedMemory; a Queue per subscriber brings it each slot's index, one Queue
    brings the indexes back; a slot is free again once every subscriber gave it back."""

    def __init__(self, slots: int, slot_size: int, nsubs: int) -> None:
        self.shm = shared_memory.SharedMemory(create=True, size=slots * slot_size)
        self.slots, self.slot_size, self.nsubs = slots, slot_size, nsubs
        self.queues = [CTX.Queue() for _ in range(nsubs)]
        self.back = CTX.Queue()

    def close(self) -> None:
        self.shm.close()
        self.shm.unlink()
        for q in [*self.queues, self.back]:
            q.close()


def _mp_publisher(t: MpTopic) -> tuple[Callable[[], int], Callable[[int], None]]:
    free = deque(range(t.slots))
    owed = [0] * t.slots

    def take() -> int:
        while not free:
            i = t.back.get()
            owed[i] -= 1
            if owed[i] == 0:
                free.append(i)
        return free.popleft()

    def publish(i: int) -> None:
        owed[i] = t.nsubs
        for q in t.queues:
            q.put(i)

    return take, publish


def mp_stream_pub(t: MpTopic, iters: int, nsubs: int, batch: int, *, ready, go, report) -> None:
    take, publish = _mp_publisher(t)
    buf = t.shm.buf
    ready()
    go()
    t0 = time.monotonic_ns()
    for seq in range(iters):
        i = take()
        struct.pack_into("<Q", buf, i * 64, seq)
        publish(i)
    report(t0)


def mp_stream_sub(t: MpTopic, iters: int, nsubs: int, batch: int, *, ready, go, k: int) -> int:
    q, buf = t.queues[k], t.shm.buf
    ready()
    for seq in range(iters):
        i = q.get()
        r = bytes(buf[i * 64:i * 64 + 64])
        t.back.put(i)
        if struct.unpack_from("<Q", r)[0] != seq:
            raise AssertionError(f"record {seq} is {r[:8]!r}")
    return time.monotonic_ns()


def mp_frame_pub(t: MpTopic, iters: int, nsubs: int, copy: bool, *, ready, go, report) -> None:
    take, publish = _mp_publisher(t)
    img = np.full(FRAME // 8, 0x5A5A_5A5A_5A5A_5A5A, np.uint64)
    ready()
    go()
    for seq in range(iters):
        t0 = time.monotonic_ns()
        i = take()
        u = np.ndarray(FRAME // 8, np.uint64, buffer=t.shm.buf, offset=i * FRAME)
        if copy:
            u[:] = img
        u[0] = t0
        u[-1] = seq
        del u
        publish(i)
        pace(nsubs)
    report(None)


def mp_frame_sub(t: MpTopic, iters: int, nsubs: int, copy: bool, *, ready, go, k: int) -> list[int]:
    q = t.queues[k]
    ready()
    lat = []
    for seq in range(iters):
        i = q.get()
        u = np.ndarray(FRAME // 8, np.uint64, buffer=t.shm.buf, offset=i * FRAME)
        now = time.monotonic_ns()
        t0, got = int(u[0]), int(u[-1])
        del u
        t.back.put(i)
        if got != seq:
            raise AssertionError(f"frame {seq} carries number {got}")
        lat.append(now - t0)
    return lat


# --- our Rust topic, in the benchmark binary ----------------------------------------------------


def rust_frames(exe: str, iters: int, nsubs: int, copy: bool) -> list[list[int]]:
    n = name("rs")
    pub = subprocess.Popen(
        [exe, "--child", "pyt-frame-pub", n, str(iters), str(FRAME), str(nsubs), str(int(copy)),
         str(int(PACE_S * 1e6))],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert pub.stdin is not None and pub.stdout is not None
    subs = []
    try:
        if pub.stdout.readline().strip() != "ready":
            raise RuntimeError("the Rust publisher did not start")
        for _ in range(nsubs):
            s = subprocess.Popen([exe, "--child", "pyt-frame-sub", n, str(iters), str(FRAME),
                                  str(int(nsubs > 1))],
                                 stdout=subprocess.PIPE, text=True)
            assert s.stdout is not None
            subs.append(s)
            if s.stdout.readline().strip() != "ready":
                raise RuntimeError("a Rust subscriber did not start")
        pub.stdin.write("go\n")
        pub.stdin.flush()
        lats = []
        for s in subs:
            out, _ = s.communicate(timeout=120)
            line = next(l for l in out.splitlines() if l.startswith("lat "))
            lats.append([int(v) for v in line.split()[1:]])
        pub.stdin.write("end\n")
        pub.stdin.flush()
        pub.wait(30)
        return lats
    finally:
        for proc in [pub, *subs]:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


# --- the cases ---------------------------------------------------------------------------------


def frame_latency(lats: list[list[int]]) -> float:
    """The median over frames of the latest subscriber's latency."""
    return float(statistics.median(max(col) for col in zip(*lats)))


def stream_case(impl: str, iters: int, nsubs: int) -> float:
    if impl in ("posix_ipc_rs", "posix_ipc_rs_batched"):
        batch = 1 if impl == "posix_ipc_rs" else 64
        t0, ends = run_python(ours_stream_pub, ours_stream_sub, nsubs,
                              (name("rec"), iters, nsubs, batch))
    elif impl == "iceoryx2":
        t0, ends = run_python(ice_stream_pub, ice_stream_sub, nsubs,
                              (name("ice"), iters, nsubs, 1))
    else:
        t = MpTopic(STREAM_DEPTH, 64, nsubs)
        try:
            t0, ends = run_python(mp_stream_pub, mp_stream_sub, nsubs, (t, iters, nsubs, 1))
        finally:
            t.close()
    return (max(ends) - t0) / iters


def frame_case(impl: str, exe: str, iters: int, nsubs: int, copy: bool) -> float:
    if impl == "posix_ipc_rs":
        _, lats = run_python(ours_frame_pub, ours_frame_sub, nsubs,
                             (name("frm"), iters, nsubs, copy))
    elif impl == "rust":
        lats = rust_frames(exe, iters, nsubs, copy)
    elif impl == "iceoryx2":
        _, lats = run_python(ice_frame_pub, ice_frame_sub, nsubs,
                             (name("icef"), iters, nsubs, copy))
    else:
        t = MpTopic(4, FRAME, nsubs)
        try:
            _, lats = run_python(mp_frame_pub, mp_frame_sub, nsubs, (t, iters, nsubs, copy))
        finally:
            t.close()
    return frame_latency(lats)


def copy_floor(n: int = 21) -> float:
    """One copy of a 6 MB frame by numpy in this process (np.copyto), median ns."""
    src = np.full(FRAME, 0x5A, np.uint8)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    times = []
    for _ in range(n):
        t = time.perf_counter_ns()
        np.copyto(dst, src)
        times.append(time.perf_counter_ns() - t)
    return float(statistics.median(times))


def send_case(impl: str, n: int) -> float:
    """ns per ``FramePublisher.send`` of a 6 MB frame given as ``bytes``, as a numpy array, or
    written into a loan from a numpy array; one subscriber in this process takes each frame
    (untimed) before the next is sent."""
    t = p.FramePublisher(name("send"), FRAME, flags=p.O_CREX, capacity=4, max_subscribers=1)
    s = p.FrameSubscriber(t.name)
    img = np.full(FRAME, 0x5A, np.uint8)
    data = img.tobytes()
    times = []
    try:
        for _ in range(n + 1):
            if impl == "bytes":
                t0 = time.perf_counter_ns()
                t.send(data)
            elif impl == "numpy":
                t0 = time.perf_counter_ns()
                t.send(img)
            else:
                t0 = time.perf_counter_ns()
                loan = t.loan(FRAME, zero=False)
                np.frombuffer(loan, np.uint8)[:] = img
                loan.send()
            times.append(time.perf_counter_ns() - t0)
            s.receive(timeout=5).release()
    finally:
        del s
        t.unlink()
    return float(statistics.median(times[1:]))


STREAM_IMPLS = ["posix_ipc_rs", "posix_ipc_rs_batched", "iceoryx2", "multiprocessing"]
FRAME_IMPLS = ["posix_ipc_rs", "rust", "iceoryx2", "multiprocessing"]
# (workload, kind, subscribers, copy, base iterations per column, what)
CASES: list[tuple[str, str, int, bool, dict[str, int], str]] = [
    ("py_topic_stream_64", "stream", 1, False,
     {"posix_ipc_rs": 100_000, "posix_ipc_rs_batched": 400_000, "iceoryx2": 30_000,
      "multiprocessing": 10_000},
     "64-byte records, one publisher process to one subscriber process, ns per record until "
     "the subscriber has it: posix_ipc_rs Publisher.send / Subscriber.receive (blocking), "
     "and in runs of 64 (send_many / receive_many); iceoryx2 loan_uninit / write_payload / send "
     "against a busy-polling receive; multiprocessing shared_memory slots with a Queue handing "
     "over the index"),
    ("py_topic_stream_64_2sub", "stream", 2, False,
     {"posix_ipc_rs": 100_000, "posix_ipc_rs_batched": 400_000, "iceoryx2": 5_000,
      "multiprocessing": 10_000},
     "the same with two subscriber processes (three processes on this machine's two cores), "
     "until the last one has the last record"),
    ("py_topic_frame_6m", "frame", 1, False, {"all": 150},
     "one-way latency of a 1920x1080x3 frame (6,220,800 bytes), one subscriber: loaned, "
     "stamped through a numpy view and published; received, viewed with numpy (busy-polling), "
     "checked and released; no byte copied but the 16 of the stamp and the number"),
    ("py_topic_frame_6m_2sub", "frame", 2, False, {"all": 150},
     "the same with two subscribers, until the later of them has the frame; they block in "
     "receive (iceoryx2's busy-poll: its binding has no blocking receive)"),
    ("py_topic_frame_6m_from_numpy", "frame", 1, True, {"all": 100},
     "the same frame published from a 6 MB numpy image (copied into the loan, then stamped), "
     "one subscriber"),
]


def paired(xs: list[float], ys: list[float]) -> float | None:
    if not xs or not ys:
        return None
    return round(statistics.median(x / y for x, y in zip(xs, ys)), 4)


def med(xs: list[float]) -> float | None:
    return round(statistics.median(xs), 1) if xs else None


def measure(impls: list[str], one: Callable[[str, float], float], reps: int,
            each_rep: Callable[[], None] = lambda: None) -> tuple[dict[str, list[float]], dict]:
    """A warm-up run of every column, then ``reps`` repetitions of every column in rotated
    order. A column that raises is dropped from the row, its error kept to be printed (with
    the traceback on stderr) instead of failing the others."""
    figs: dict[str, list[float]] = {i: [] for i in impls}
    failed: dict[str, str] = {}

    def run(impl: str, scale_by: float) -> None:
        if impl in failed:
            return
        try:
            v = one(impl, scale_by)
        except Exception as e:  # noqa: BLE001 -- reported in the row and on stderr
            traceback.print_exc()
            failed[impl] = f"{type(e).__name__}: {e}".splitlines()[0].replace('"', "'")[:200]
            figs[impl] = []
            return
        if scale_by == 1.0:
            figs[impl].append(v)

    for impl in impls:
        run(impl, 0.1)
    for rep in range(reps):
        k = rep % len(impls)
        for impl in impls[k:] + impls[:k]:
            run(impl, 1.0)
        each_rep()
    return figs, failed


def failures(failed: dict[str, str]) -> str | None:
    return "; ".join(f"{k}: {v}" for k, v in failed.items()) or None


def main() -> None:
    reps, scale = int(sys.argv[1]), float(sys.argv[2])
    only, exe = sys.argv[3], sys.argv[4]
    missing = [c for c in ("Publisher", "Subscriber", "FramePublisher", "FrameSubscriber")
               if not hasattr(p, c)]
    if missing:
        print(f"posix-ipc-bench: py_topic rows skipped: posix_ipc_rs ({p.__file__}) has no "
              f"{', '.join(missing)}", file=sys.stderr)
        return
    load_iceoryx2(sys.argv[5])
    for workload, kind, nsubs, copy, base, what in CASES:
        if only not in workload:
            continue
        impls = FRAME_IMPLS if kind == "frame" else STREAM_IMPLS
        if iox is None:
            impls = [i for i in impls if i != "iceoryx2"]
        floor: list[float] = []

        def one(impl: str, scale_by: float) -> float:
            n = max(10, int(base.get(impl, base.get("all", 0)) * scale * scale_by))
            if kind == "stream":
                return stream_case(impl, n, nsubs)
            return frame_case(impl, exe, n, nsubs, copy)

        figs, failed = measure(impls, one, reps,
                               lambda: floor.append(copy_floor()) if kind == "frame" else None)
        ours = figs["posix_ipc_rs"]
        row: dict[str, Any] = {"workload": workload, "kind": kind,
                               "unit": "ns per record" if kind == "stream" else "ns one way",
                               "size": 64 if kind == "stream" else FRAME,
                               "subscribers": nsubs}
        for impl in STREAM_IMPLS + FRAME_IMPLS:
            if impl not in row:
                row[impl] = med(figs.get(impl, []))
        row["copy_6m"] = med(floor)
        for impl in ("posix_ipc_rs_batched", "rust", "iceoryx2", "multiprocessing"):
            row[f"over_{impl}"] = paired(ours, figs.get(impl, []))
        row["batched_over_iceoryx2"] = paired(figs.get("posix_ipc_rs_batched", []),
                                              figs.get("iceoryx2", []))
        row["over_copy"] = paired(ours, floor)
        row["iceoryx2_skipped"] = ICE_SKIP
        row["failed"] = failures(failed)
        row["reps"] = reps
        row["what"] = what
        print(json.dumps(row), flush=True)
    workload = "py_topic_send_6m"
    if only in workload:
        n = max(10, int(60 * scale))
        figs, failed = measure(["bytes", "numpy", "numpy_loan"],
                               lambda impl, by: send_case(impl, max(3, int(n * by))), reps)
        row = {"workload": workload, "kind": "send", "unit": "ns per send", "size": FRAME,
               "bytes": med(figs["bytes"]), "numpy": med(figs["numpy"]),
               "numpy_loan": med(figs["numpy_loan"]),
               "numpy_over_bytes": paired(figs["numpy"], figs["bytes"]),
               "numpy_loan_over_bytes": paired(figs["numpy_loan"], figs["bytes"]),
               "failed": failures(failed),
               "reps": reps,
               "what": "FramePublisher.send of a 6,220,800-byte frame given as bytes, as a numpy "
                       "uint8 array (the buffer protocol), and loan(zero=False) filled from the "
                       "numpy array then send(); one subscriber in the same process takes each "
                       "frame before the next (untimed); wall time of the send alone"}
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
