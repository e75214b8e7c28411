//! The workloads, each runnable as ours (the posix-ipc API), raw (libc calls doing the same
//! work) and, for queues, posixmq, and the other process of the cross-process ones. Every
//! function returns nanoseconds per operation.

use std::ffi::CString;
use std::hint::black_box;
use std::os::fd::AsRawFd;
use std::process::Child;
use std::sync::atomic::{AtomicU64, Ordering};

use posix_ipc::{
    IpcMessage, Mapping, MessageQueue, Receiver, RingMode, RingReceiver, RingSender, Semaphore,
    Sender, Shared, SharedMemory, Timeout,
};

use crate::harness::{
    cpu_timed, finish, measured_loop, report, spawn_child, thread_cpu_ns, unique, Cleanup, Impl,
    Sample, Timer,
};

/// The 64-byte message of the typed workloads.
#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
pub struct Msg64 {
    words: [u64; 8],
}

const MSG: Msg64 = Msg64 {
    words: [1, 2, 3, 4, 5, 6, 7, 8],
};

// --- raw libc helpers -------------------------------------------------------------------------

fn raw_send(mqd: libc::mqd_t, msg: &[u8]) {
    // SAFETY: `mqd` is an open queue descriptor owned by the caller's handle for the whole
    // call; `msg` is valid for `msg.len()` bytes.
    let rc = unsafe { libc::mq_send(mqd, msg.as_ptr().cast(), msg.len(), 0) };
    assert_eq!(rc, 0, "mq_send: {}", std::io::Error::last_os_error());
}

fn raw_recv(mqd: libc::mqd_t, buf: &mut [u8]) -> usize {
    let mut prio = 0;
    // SAFETY: `mqd` is open; `buf` is valid and writable for `buf.len()` bytes; `prio` is a
    // valid unsigned int.
    let n = unsafe { libc::mq_receive(mqd, buf.as_mut_ptr().cast(), buf.len(), &mut prio) };
    assert!(n >= 0, "mq_receive: {}", std::io::Error::last_os_error());
    n as usize
}

fn raw_mq_open(name: &str) -> libc::mqd_t {
    let c = CString::new(name).expect("no NUL in bench names");
    // SAFETY: `c` is NUL-terminated; without O_CREAT no variadic argument is read.
    let mqd = unsafe { libc::mq_open(c.as_ptr(), libc::O_RDWR) };
    assert!(
        mqd >= 0,
        "mq_open {name}: {}",
        std::io::Error::last_os_error()
    );
    mqd
}

fn raw_mq_close(mqd: libc::mqd_t) {
    // SAFETY: `mqd` came from raw_mq_open and is closed once.
    unsafe { libc::mq_close(mqd) };
}

struct RawSem(*mut libc::sem_t);

impl RawSem {
    fn open(name: &str) -> RawSem {
        let c = CString::new(name).expect("no NUL in bench names");
        // SAFETY: `c` is NUL-terminated; without O_CREAT no variadic argument is read.
        let p = unsafe { libc::sem_open(c.as_ptr(), 0) };
        assert!(p != libc::SEM_FAILED, "sem_open {name}");
        RawSem(p)
    }
    fn post(&self) {
        // SAFETY: the pointer came from sem_open and is open until drop.
        unsafe { libc::sem_post(self.0) };
    }
    fn wait(&self) {
        // SAFETY: as in `post`.
        while unsafe { libc::sem_wait(self.0) } != 0 {}
    }
}

impl Drop for RawSem {
    fn drop(&mut self) {
        // SAFETY: the pointer came from sem_open; closed once.
        unsafe { libc::sem_close(self.0) };
    }
}

// --- in-process -------------------------------------------------------------------------------

pub(crate) fn mq_pair(size: usize, imp: Impl, iters: u64) -> Sample {
    let name = unique("pair");
    let mq = MessageQueue::create(&name, 10, size).expect("create queue");
    let _c = Cleanup(vec![('q', name.clone())]);
    let msg = vec![7u8; size];
    let mut buf = vec![0u8; size];
    match imp {
        Impl::Ours => cpu_timed(iters, || {
            mq.send(black_box(&msg), 0).expect("send");
            let n = mq
                .receive_into(black_box(&mut buf), Timeout::Infinite)
                .expect("receive");
            black_box(n);
        }),
        Impl::Raw => {
            let fd = mq.as_raw_fd();
            cpu_timed(iters, || {
                raw_send(fd, black_box(&msg));
                black_box(raw_recv(fd, black_box(&mut buf)));
            })
        }
        Impl::Posixmq => {
            let pq = posixmq::OpenOptions::readwrite()
                .open(&name)
                .expect("posixmq open");
            cpu_timed(iters, || {
                pq.send(0, black_box(&msg)).expect("posixmq send");
                black_box(pq.recv(black_box(&mut buf)).expect("posixmq recv"));
            })
        }
    }
}

pub(crate) fn sem_pair(imp: Impl, iters: u64) -> Sample {
    let name = unique("sem");
    let sem = Semaphore::create(&name, 0).expect("create semaphore");
    let _c = Cleanup(vec![('s', name.clone())]);
    match imp {
        Impl::Raw => {
            let raw = RawSem::open(&name);
            cpu_timed(iters, || {
                raw.post();
                raw.wait();
            })
        }
        _ => cpu_timed(iters, || {
            sem.release().expect("release");
            sem.acquire().expect("acquire");
        }),
    }
}

pub(crate) fn typed_pair(imp: Impl, iters: u64) -> Sample {
    let name = unique("typed");
    let tx = Sender::<Msg64>::create(&name, 10).expect("create typed queue");
    let _c = Cleanup(vec![('q', name.clone())]);
    let rx = Receiver::<Msg64>::open(&name).expect("open typed queue");
    match imp {
        Impl::Raw => {
            let (w, r) = (tx.queue().as_raw_fd(), rx.queue().as_raw_fd());
            let mut out = Msg64 { words: [0; 8] };
            cpu_timed(iters, || {
                raw_send(w, bytemuck::bytes_of(black_box(&MSG)));
                let n = raw_recv(r, bytemuck::bytes_of_mut(&mut out));
                assert_eq!(n, 64);
                black_box(&out);
            })
        }
        _ => cpu_timed(iters, || {
            tx.send(black_box(&MSG)).expect("typed send");
            black_box(rx.recv().expect("typed recv"));
        }),
    }
}

fn shared_pair(imp: Impl, iters: u64, load: bool) -> Sample {
    let name = unique("shared");
    let shared = Shared::create(&name, &MSG).expect("create shared");
    let _c = Cleanup(vec![('m', name.clone())]);
    match imp {
        Impl::Raw => {
            let shm = SharedMemory::open(&name).expect("open segment");
            let mut map = shm.map().expect("map");
            let slot = map
                .as_mut_ptr()
                .wrapping_add(Shared::<Msg64>::slot_offset(0));
            let mut out = Msg64 { words: [0; 8] };
            if load {
                cpu_timed(iters, || {
                    // SAFETY: `slot` points at 64 mapped, readable bytes of the live mapping;
                    // `out` is a distinct local; nothing else writes the slot in this run.
                    unsafe {
                        std::ptr::copy_nonoverlapping(
                            black_box(slot),
                            (&mut out as *mut Msg64).cast::<u8>(),
                            64,
                        )
                    };
                    black_box(&out);
                })
            } else {
                cpu_timed(iters, || {
                    // SAFETY: as above, and the mapping is writable (read-write handle).
                    unsafe {
                        std::ptr::copy_nonoverlapping(
                            (black_box(&MSG) as *const Msg64).cast::<u8>(),
                            black_box(slot),
                            64,
                        )
                    };
                })
            }
        }
        _ if load => cpu_timed(iters, || {
            black_box(shared.load());
        }),
        _ => cpu_timed(iters, || {
            shared.store(black_box(&MSG)).expect("store");
        }),
    }
}

pub(crate) fn shared_load(imp: Impl, iters: u64) -> Sample {
    shared_pair(imp, iters, true)
}

pub(crate) fn shared_store(imp: Impl, iters: u64) -> Sample {
    shared_pair(imp, iters, false)
}

// --- cross-process ----------------------------------------------------------------------------

/// A queue endpoint any implementation can drive.
enum Q {
    Ours(MessageQueue),
    Raw(libc::mqd_t),
    Posixmq(posixmq::PosixMq),
}

impl Q {
    fn open(imp: Impl, name: &str) -> Q {
        match imp {
            Impl::Ours => Q::Ours(MessageQueue::open(name).expect("open queue")),
            Impl::Raw => Q::Raw(raw_mq_open(name)),
            Impl::Posixmq => Q::Posixmq(
                posixmq::OpenOptions::readwrite()
                    .open(name)
                    .expect("posixmq open"),
            ),
        }
    }

    #[inline]
    fn send(&self, msg: &[u8]) {
        match self {
            Q::Ours(q) => q.send(msg, 0).expect("send"),
            Q::Raw(fd) => raw_send(*fd, msg),
            Q::Posixmq(q) => q.send(0, msg).expect("posixmq send"),
        }
    }

    #[inline]
    fn recv(&self, buf: &mut [u8]) -> usize {
        match self {
            Q::Ours(q) => q.receive_into(buf, Timeout::Infinite).expect("receive").0,
            Q::Raw(fd) => raw_recv(*fd, buf),
            Q::Posixmq(q) => q.recv(buf).expect("posixmq recv").1,
        }
    }
}

impl Drop for Q {
    fn drop(&mut self) {
        if let Q::Raw(fd) = self {
            raw_mq_close(*fd);
        }
    }
}

pub(crate) fn mq_pingpong(size: usize, imp: Impl, iters: u64) -> Sample {
    let (a, b) = (unique("ping"), unique("pong"));
    let _qa = MessageQueue::create(&a, 10, size).expect("create");
    let _qb = MessageQueue::create(&b, 10, size).expect("create");
    let _c = Cleanup(vec![('q', a.clone()), ('q', b.clone())]);
    let child = spawn_child("mq-pong", imp, &a, &b, iters, size);
    let (qa, qb) = (Q::open(imp, &a), Q::open(imp, &b));
    let msg = vec![3u8; size];
    let mut buf = vec![0u8; size];
    qb.recv(&mut buf); // the child is ready
    let t = Timer::start();
    measured_loop(iters, || {
        qa.send(&msg);
        qb.recv(&mut buf);
    });
    t.stop(iters, finish(child))
}

pub(crate) fn mq_stream(size: usize, imp: Impl, iters: u64) -> Sample {
    let (data, ctrl) = (unique("data"), unique("ctrl"));
    let _qd = MessageQueue::create(&data, 10, size).expect("create");
    let _qc = MessageQueue::create(&ctrl, 1, 8).expect("create");
    let _c = Cleanup(vec![('q', data.clone()), ('q', ctrl.clone())]);
    let child = spawn_child("mq-produce", imp, &data, &ctrl, iters, size);
    let (qd, qc) = (Q::open(imp, &data), Q::open(imp, &ctrl));
    let mut buf = vec![0u8; size];
    qd.recv(&mut buf); // ready
    qc.send(b"go");
    let t = Timer::start();
    measured_loop(iters, || {
        qd.recv(&mut buf);
    });
    t.stop(iters, finish(child))
}

pub(crate) fn sem_pingpong(imp: Impl, iters: u64) -> Sample {
    let (a, b) = (unique("sa"), unique("sb"));
    let sa = Semaphore::create(&a, 0).expect("create");
    let sb = Semaphore::create(&b, 0).expect("create");
    let _c = Cleanup(vec![('s', a.clone()), ('s', b.clone())]);
    let child = spawn_child("sem-pong", imp, &a, &b, iters, 0);
    let t = if imp == Impl::Raw {
        let (ra, rb) = (RawSem::open(&a), RawSem::open(&b));
        rb.wait();
        let t = Timer::start();
        measured_loop(iters, || {
            ra.post();
            rb.wait();
        });
        t
    } else {
        sb.acquire().expect("acquire");
        let t = Timer::start();
        measured_loop(iters, || {
            sa.release().expect("release");
            sb.acquire().expect("acquire");
        });
        t
    };
    t.stop(iters, finish(child))
}

pub(crate) fn typed_pingpong(imp: Impl, iters: u64) -> Sample {
    if imp != Impl::Ours {
        return mq_pingpong(64, Impl::Raw, iters);
    }
    let (a, b) = (unique("tping"), unique("tpong"));
    let ta = Sender::<Msg64>::create(&a, 10).expect("create");
    let rb = Receiver::<Msg64>::create(&b, 10).expect("create");
    let _c = Cleanup(vec![('q', a.clone()), ('q', b.clone())]);
    let child = spawn_child("typed-pong", imp, &a, &b, iters, 64);
    rb.recv().expect("ready");
    let t = Timer::start();
    measured_loop(iters, || {
        ta.send(&MSG).expect("send");
        black_box(rb.recv().expect("recv"));
    });
    t.stop(iters, finish(child))
}

pub(crate) fn typed_stream(imp: Impl, iters: u64) -> Sample {
    if imp != Impl::Ours {
        return mq_stream(64, Impl::Raw, iters);
    }
    let (data, ctrl) = (unique("tdata"), unique("tctrl"));
    let rx = Receiver::<Msg64>::create(&data, 10).expect("create");
    let qc = MessageQueue::create(&ctrl, 1, 8).expect("create");
    let _c = Cleanup(vec![('q', data.clone()), ('q', ctrl.clone())]);
    let child = spawn_child("typed-produce", imp, &data, &ctrl, iters, 64);
    rx.recv().expect("ready");
    qc.send(b"go", 0).expect("go");
    let t = Timer::start();
    measured_loop(iters, || {
        black_box(rx.recv().expect("recv"));
    });
    t.stop(iters, finish(child))
}

/// `typed_stream` with the receiving loop on tokio: `AsyncReceiver::recv().await` per message
/// on a current-thread runtime, so this thread's CPU clock covers the reactor too. The raw
/// column is the blocking typed receiver (`typed_stream`, ours) against the same producer.
#[cfg(feature = "tokio")]
pub(crate) fn async_stream(imp: Impl, iters: u64) -> Sample {
    if imp != Impl::Ours {
        return typed_stream(Impl::Ours, iters);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let _in_runtime = rt.enter();
    let (data, ctrl) = (unique("adata"), unique("actrl"));
    let rx = Receiver::<Msg64>::create(&data, 10).expect("create");
    let rx = posix_ipc::AsyncReceiver::new(rx).expect("register with tokio");
    let qc = MessageQueue::create(&ctrl, 1, 8).expect("create");
    let _c = Cleanup(vec![('q', data.clone()), ('q', ctrl.clone())]);
    let child = spawn_child("typed-produce", imp, &data, &ctrl, iters, 64);
    let t = rt.block_on(async {
        rx.recv().await.expect("ready");
        qc.send(b"go", 0).expect("go");
        let t = Timer::start();
        for _ in 0..iters {
            black_box(rx.recv().await.expect("recv"));
        }
        t
    });
    t.stop(iters, finish(child))
}

// --- rings -------------------------------------------------------------------------------------

const RING_CAP: u64 = 1024;

/// The minimal hand-written ring the benchmark compares ours with: two indices on their own
/// cache lines and 64-byte slots in a shared-memory segment, busy-polling, no API around it.
struct RawRing {
    _shm: SharedMemory,
    map: Mapping,
    tail_local: std::cell::Cell<u64>,
    head_cache: std::cell::Cell<u64>,
    head_local: std::cell::Cell<u64>,
    tail_cache: std::cell::Cell<u64>,
}

impl RawRing {
    const SIZE: u64 = 128 + RING_CAP * 64;

    fn create(name: &str) -> RawRing {
        Self::wrap(SharedMemory::create(name, Self::SIZE).expect("create raw ring"))
    }

    fn open(name: &str) -> RawRing {
        Self::wrap(SharedMemory::open(name).expect("open raw ring"))
    }

    fn wrap(shm: SharedMemory) -> RawRing {
        let map = shm.map().expect("map raw ring");
        RawRing {
            _shm: shm,
            map,
            tail_local: std::cell::Cell::new(0),
            head_cache: std::cell::Cell::new(0),
            head_local: std::cell::Cell::new(0),
            tail_cache: std::cell::Cell::new(0),
        }
    }

    fn index(&self, offset: usize) -> &AtomicU64 {
        // SAFETY: offsets 0 and 64 are 8-aligned words inside the page-aligned mapping, which
        // lives as long as `self`; both processes access them only atomically.
        unsafe { &*self.map.as_ptr().add(offset).cast::<AtomicU64>() }
    }

    #[inline]
    fn push(&self, msg: &Msg64) {
        let tail = self.tail_local.get();
        while tail - self.head_cache.get() >= RING_CAP {
            self.head_cache.set(self.index(0).load(Ordering::Acquire));
            std::hint::spin_loop();
        }
        let slot = 128 + ((tail & (RING_CAP - 1)) * 64) as usize;
        // SAFETY: the slot lies inside the mapping; the consumer has released it (head
        // acquired above) and reads it only after the release store below.
        unsafe {
            std::ptr::copy_nonoverlapping(
                (msg as *const Msg64).cast::<u8>(),
                self.map.as_ptr().cast_mut().add(slot),
                64,
            )
        };
        self.index(64).store(tail + 1, Ordering::Release);
        self.tail_local.set(tail + 1);
    }

    #[inline]
    fn pop(&self) -> Msg64 {
        let head = self.head_local.get();
        while head == self.tail_cache.get() {
            self.tail_cache.set(self.index(64).load(Ordering::Acquire));
            std::hint::spin_loop();
        }
        let slot = 128 + ((head & (RING_CAP - 1)) * 64) as usize;
        let mut out = Msg64 { words: [0; 8] };
        // SAFETY: the slot lies inside the mapping; the producer published it (tail acquired
        // above) and does not write it again until the release store of head below.
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.map.as_ptr().add(slot),
                (&mut out as *mut Msg64).cast::<u8>(),
                64,
            )
        };
        self.index(0).store(head + 1, Ordering::Release);
        self.head_local.set(head + 1);
        out
    }
}

pub(crate) fn ring_stream(imp: Impl, iters: u64) -> Sample {
    let (data, ctrl) = (unique("rdata"), unique("rctrl"));
    let qc = MessageQueue::create(&ctrl, 1, 8).expect("create");
    let _c = Cleanup(vec![('m', data.clone()), ('q', ctrl.clone())]);
    if imp == Impl::Ours {
        let rx = RingReceiver::<Msg64>::create(&data, RING_CAP as usize, RingMode::Spsc)
            .expect("create ring");
        let child = spawn_child("ring-produce", imp, &data, &ctrl, iters, 64);
        rx.recv().expect("ready");
        qc.send(b"go", 0).expect("go");
        let t = Timer::start();
        measured_loop(iters, || {
            black_box(rx.recv().expect("recv"));
        });
        t.stop(iters, finish(child))
    } else {
        let rx = RawRing::create(&data);
        let child = spawn_child("ring-produce", imp, &data, &ctrl, iters, 64);
        black_box(rx.pop());
        qc.send(b"go", 0).expect("go");
        let t = Timer::start();
        measured_loop(iters, || {
            black_box(rx.pop());
        });
        t.stop(iters, finish(child))
    }
}

pub(crate) fn ring_pingpong(imp: Impl, iters: u64) -> Sample {
    let (a, b) = (unique("rping"), unique("rpong"));
    let _c = Cleanup(vec![('m', a.clone()), ('m', b.clone())]);
    if imp == Impl::Ours {
        let ta = RingSender::<Msg64>::create(&a, 64, RingMode::Spsc).expect("create");
        let rb = RingReceiver::<Msg64>::create(&b, 64, RingMode::Spsc).expect("create");
        let child = spawn_child("ring-pong", imp, &a, &b, iters, 64);
        rb.recv().expect("ready");
        let t = Timer::start();
        measured_loop(iters, || {
            ta.send(&MSG).expect("send");
            black_box(rb.recv().expect("recv"));
        });
        t.stop(iters, finish(child))
    } else {
        let ta = RawRing::create(&a);
        let rb = RawRing::create(&b);
        let child = spawn_child("ring-pong", imp, &a, &b, iters, 64);
        black_box(rb.pop());
        let t = Timer::start();
        measured_loop(iters, || {
            ta.push(&MSG);
            black_box(rb.pop());
        });
        t.stop(iters, finish(child))
    }
}

pub(crate) fn ring_mpmc(imp: Impl, iters: u64) -> Sample {
    if imp != Impl::Ours {
        return ring_stream(Impl::Ours, iters);
    }
    let (data, ctrl) = (unique("mdata"), unique("mctrl"));
    let qc = MessageQueue::create(&ctrl, 2, 8).expect("create");
    let _c = Cleanup(vec![('m', data.clone()), ('q', ctrl.clone())]);
    let rx = RingReceiver::<Msg64>::create(&data, RING_CAP as usize, RingMode::Mpmc)
        .expect("create ring");
    let per = iters / 2;
    let children: Vec<Child> = (0..2)
        .map(|_| spawn_child("ring-mpmc-produce", imp, &data, &ctrl, per, 64))
        .collect();
    // Each producer sends one ready message first.
    rx.recv().expect("ready");
    rx.recv().expect("ready");
    let rx2 = RingReceiver::<Msg64>::open(&data).expect("second consumer");
    let total = per * 2;
    let taken = std::sync::atomic::AtomicU64::new(0);
    qc.send(b"go", 0).expect("go");
    qc.send(b"go", 0).expect("go");
    let t = Timer::start();
    let helper_cpu = std::thread::scope(|s| {
        let taken = &taken;
        let helper = s.spawn(move || {
            let start = thread_cpu_ns();
            while taken.fetch_add(1, Ordering::Relaxed) < total {
                black_box(rx2.recv().expect("recv"));
            }
            thread_cpu_ns() - start
        });
        while taken.fetch_add(1, Ordering::Relaxed) < total {
            black_box(rx.recv().expect("recv"));
        }
        helper.join().expect("consumer thread")
    });
    let peers: f64 = children.into_iter().map(finish).sum();
    t.stop(total, peers + helper_cpu)
}

/// A ring receiver waits one second on an empty ring whose producer is alive: returns the
/// (CPU, wall) nanoseconds the wait took.
pub fn ring_idle_wait() -> (f64, f64) {
    let name = unique("ridle");
    let rx = RingReceiver::<Msg64>::create(&name, 64, RingMode::Spsc).expect("create ring");
    let _c = Cleanup(vec![('m', name.clone())]);
    let _tx = RingSender::<Msg64>::open(&name).expect("producer");
    let t = Timer::start();
    let r = rx.recv_timeout(std::time::Duration::from_secs(1));
    assert_eq!(
        r.expect_err("nothing was sent").kind(),
        posix_ipc::ErrorKind::TimedOut
    );
    let s = t.stop(1, 0.0);
    (s.cpu, s.wall)
}

/// The other process of a cross-process workload, by role (`mq-pong`, `mq-produce`, ...).
pub(crate) fn child(role: &str, imp: Impl, a: &str, b: &str, iters: u64, size: usize) {
    match role {
        "mq-pong" => {
            let (qa, qb) = (Q::open(imp, a), Q::open(imp, b));
            let mut buf = vec![0u8; size];
            qb.send(b"r");
            let t = thread_cpu_ns();
            for _ in 0..iters {
                let n = qa.recv(&mut buf);
                qb.send(&buf[..n]);
            }
            report(t);
        }
        "mq-produce" => {
            let (qd, qc) = (Q::open(imp, a), Q::open(imp, b));
            let msg = vec![5u8; size];
            let mut go = [0u8; 8];
            qd.send(b"r");
            qc.recv(&mut go);
            let t = thread_cpu_ns();
            for _ in 0..iters {
                qd.send(&msg);
            }
            report(t);
        }
        "sem-pong" => {
            if imp == Impl::Raw {
                let (sa, sb) = (RawSem::open(a), RawSem::open(b));
                sb.post();
                let t = thread_cpu_ns();
                for _ in 0..iters {
                    sa.wait();
                    sb.post();
                }
                report(t);
            } else {
                let sa = Semaphore::open(a).expect("open");
                let sb = Semaphore::open(b).expect("open");
                sb.release().expect("release");
                let t = thread_cpu_ns();
                for _ in 0..iters {
                    sa.acquire().expect("acquire");
                    sb.release().expect("release");
                }
                report(t);
            }
        }
        "typed-pong" => {
            let ra = Receiver::<Msg64>::open(a).expect("open");
            let tb = Sender::<Msg64>::open(b).expect("open");
            tb.send(&MSG).expect("ready");
            let t = thread_cpu_ns();
            for _ in 0..iters {
                let m = ra.recv().expect("recv");
                tb.send(&m).expect("send");
            }
            report(t);
        }
        "typed-produce" => {
            let td = Sender::<Msg64>::open(a).expect("open");
            let qc = MessageQueue::open(b).expect("open");
            td.send(&MSG).expect("ready");
            qc.receive().expect("go");
            let t = thread_cpu_ns();
            for _ in 0..iters {
                td.send(&MSG).expect("send");
            }
            report(t);
        }
        "ring-produce" => {
            let qc = MessageQueue::open(b).expect("open");
            if imp == Impl::Ours {
                let tx = RingSender::<Msg64>::open(a).expect("open ring");
                tx.send(&MSG).expect("ready");
                qc.receive().expect("go");
                let t = thread_cpu_ns();
                for _ in 0..iters {
                    tx.send(&MSG).expect("send");
                }
                report(t);
            } else {
                let tx = RawRing::open(a);
                tx.push(&MSG);
                qc.receive().expect("go");
                let t = thread_cpu_ns();
                for _ in 0..iters {
                    tx.push(&MSG);
                }
                report(t);
            }
        }
        "ring-mpmc-produce" => {
            let qc = MessageQueue::open(b).expect("open");
            let tx = RingSender::<Msg64>::open(a).expect("open ring");
            tx.send(&MSG).expect("ready");
            qc.receive().expect("go");
            let t = thread_cpu_ns();
            for _ in 0..iters {
                tx.send(&MSG).expect("send");
            }
            report(t);
        }
        "ring-pong" => {
            if imp == Impl::Ours {
                let ra = RingReceiver::<Msg64>::open(a).expect("open ring");
                let tb = RingSender::<Msg64>::open(b).expect("open ring");
                tb.send(&MSG).expect("ready");
                let t = thread_cpu_ns();
                for _ in 0..iters {
                    let m = ra.recv().expect("recv");
                    tb.send(&m).expect("send");
                }
                report(t);
            } else {
                let ra = RawRing::open(a);
                let tb = RawRing::open(b);
                tb.push(&MSG);
                let t = thread_cpu_ns();
                for _ in 0..iters {
                    let m = ra.pop();
                    tb.push(&m);
                }
                report(t);
            }
        }
        other => panic!("unknown child role {other}"),
    }
}
