//! Timeouts: zero, tiny, huge and negative durations on semaphores, queues, typed channels, rings
//! and the robust mutex, including `Duration::MAX` really waiting.

use std::time::Duration;

use posix_ipc::{
    Error, ErrorKind, MessageQueue, ObjectKind, Receiver, RingMode, RingReceiver, RingSender,
    RobustMutex, Semaphore, Sender, Timeout,
};

use crate::common::{self, Kind};
use crate::fixtures::{full_mq, mq, Tick, TICK};
use crate::table::{ensure, err, Cat, Fail, Table, OK};

pub(crate) fn cases(t: &mut Table) {
    let sem_rows: Vec<(&str, Timeout, ErrorKind)> = vec![
        ("Immediate", Timeout::Immediate, ErrorKind::WouldBlock),
        (
            "After(ZERO)",
            Timeout::After(Duration::ZERO),
            ErrorKind::WouldBlock,
        ),
        (
            "from(Duration::ZERO)",
            Timeout::from(Duration::ZERO),
            ErrorKind::WouldBlock,
        ),
        (
            "After(1 ns)",
            Timeout::After(Duration::from_nanos(1)),
            ErrorKind::TimedOut,
        ),
        (
            "After(1 ms)",
            Timeout::After(Duration::from_millis(1)),
            ErrorKind::TimedOut,
        ),
        (
            "from_secs_f64(1e-12)",
            Timeout::from_secs_f64(1e-12).unwrap_or(Timeout::Infinite),
            ErrorKind::WouldBlock,
        ),
    ];
    for (label, timeout, kind) in sem_rows {
        let n = t.name(Kind::Sem);
        let m = n.clone();
        t.here(
            Cat::Timeouts,
            format!("sem acquire {label} at 0"),
            err(kind),
            move || {
                Semaphore::create(&m, 0)?.acquire_with(timeout)?;
                Ok(())
            },
        );
        t.with(|c| c.obj(ObjectKind::Semaphore).named(&n));
    }
    let huge: Vec<(&str, Timeout)> = vec![
        ("Duration::MAX", Timeout::from(Duration::MAX)),
        (
            "u64::MAX/4 s",
            Timeout::from(Duration::from_secs(u64::MAX / 4)),
        ),
        (
            "from_secs_f64(1e30)",
            Timeout::from_secs_f64(1e30).unwrap_or(Timeout::Immediate),
        ),
    ];
    for (label, timeout) in huge {
        let n = t.name(Kind::Sem);
        t.here(
            Cat::Timeouts,
            format!("sem acquire {label} at 1 succeeds"),
            OK,
            move || {
                Semaphore::create(&n, 1)?.acquire_with(timeout)?;
                Ok(())
            },
        );
    }
    let n = t.name(Kind::Sem);
    t.here(
        Cat::Timeouts,
        "sem Duration::MAX really waits, then succeeds",
        OK,
        move || {
            let sem = Semaphore::create(&n, 0)?;
            let sem = &sem;
            std::thread::scope(|s| {
                let (tx, rx) = std::sync::mpsc::channel();
                let waiter = s.spawn(move || {
                    tx.send(common::gettid()).ok();
                    sem.acquire_timeout(Duration::MAX)
                });
                let tid = rx.recv().map_err(|e| Fail::Test(e.to_string()))?;
                let slept = common::wait_until_sleeping(std::process::id(), tid);
                sem.release()?;
                let r = waiter
                    .join()
                    .map_err(|_| Fail::Test("waiter panicked".into()))?;
                ensure(slept, || "the waiter never went to sleep".into())?;
                r.map_err(Fail::from)
            })
        },
    );
    let mq_rows: Vec<(&str, Timeout, ErrorKind)> = vec![
        ("Immediate", Timeout::Immediate, ErrorKind::WouldBlock),
        (
            "After(ZERO)",
            Timeout::After(Duration::ZERO),
            ErrorKind::WouldBlock,
        ),
        (
            "After(1 ns)",
            Timeout::After(Duration::from_nanos(1)),
            ErrorKind::TimedOut,
        ),
        (
            "After(1 ms)",
            Timeout::After(Duration::from_millis(1)),
            ErrorKind::TimedOut,
        ),
    ];
    for (label, timeout, kind) in mq_rows.clone() {
        let n = t.name(Kind::Mq);
        let m = n.clone();
        t.here(
            Cat::Timeouts,
            format!("mq receive {label} on an empty queue"),
            err(kind),
            move || {
                mq(&m)?.receive_with(timeout)?;
                Ok(())
            },
        );
        t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n).mention("empty"));
    }
    for (label, timeout, kind) in mq_rows {
        let n = t.name(Kind::Mq);
        let m = n.clone();
        t.here(
            Cat::Timeouts,
            format!("mq send {label} on a full queue"),
            err(kind),
            move || {
                full_mq(&m)?.send_with(b"c", 0, timeout)?;
                Ok(())
            },
        );
        t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n).mention("full"));
    }
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Timeouts,
        "mq blocking receive on a non-blocking queue",
        err(ErrorKind::WouldBlock),
        move || {
            MessageQueue::options()
                .create_new(true)
                .max_messages(2)
                .max_message_size(64)
                .nonblocking(true)
                .open(&m)?
                .receive()?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n));
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Timeouts,
        "mq blocking send after set_block(false), full",
        err(ErrorKind::WouldBlock),
        move || {
            let q = full_mq(&m)?;
            q.set_block(false)?;
            q.send(b"c", 0)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n));
    let n = t.name(Kind::Mq);
    t.here(
        Cat::Timeouts,
        "mq receive Duration::MAX with a message queued",
        OK,
        move || {
            let q = mq(&n)?;
            q.send(b"x", 0)?;
            q.receive_timeout(Duration::MAX)?;
            Ok(())
        },
    );
    let n = t.name(Kind::Mq);
    t.here(
        Cat::Timeouts,
        "mq send Duration::MAX with room",
        OK,
        move || {
            mq(&n)?.send_timeout(b"x", 0, Duration::MAX)?;
            Ok(())
        },
    );
    let n = t.name(Kind::Mq);
    t.here(
        Cat::Timeouts,
        "mq Duration::MAX really waits, then receives",
        OK,
        move || {
            let q = mq(&n)?;
            let q = &q;
            std::thread::scope(|s| {
                let (tx, rx) = std::sync::mpsc::channel();
                let waiter = s.spawn(move || {
                    tx.send(common::gettid()).ok();
                    q.receive_timeout(Duration::MAX)
                });
                let tid = rx.recv().map_err(|e| Fail::Test(e.to_string()))?;
                let slept = common::wait_until_sleeping(std::process::id(), tid);
                q.send(b"wake", 3)?;
                let r = waiter
                    .join()
                    .map_err(|_| Fail::Test("waiter panicked".into()))?;
                ensure(slept, || "the waiter never went to sleep".into())?;
                let (bytes, prio) = r?;
                ensure(bytes == b"wake" && prio == 3, || {
                    format!("got {bytes:?} {prio}")
                })
            })
        },
    );
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Timeouts,
        "typed try_recv on an empty queue",
        err(ErrorKind::WouldBlock),
        move || {
            Receiver::<Tick>::create(&m, 2)?.try_recv()?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n));
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Timeouts,
        "typed recv_timeout 1 ms",
        err(ErrorKind::TimedOut),
        move || {
            Receiver::<Tick>::create(&m, 2)?.recv_timeout(Duration::from_millis(1))?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n));
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Timeouts,
        "typed try_send on a full queue",
        err(ErrorKind::WouldBlock),
        move || {
            let tx = Sender::<Tick>::create(&m, 1)?;
            tx.send(&TICK)?;
            tx.try_send(&TICK)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n));
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Timeouts,
        "typed send_timeout 1 ns on a full queue",
        err(ErrorKind::TimedOut),
        move || {
            let tx = Sender::<Tick>::create(&m, 1)?;
            tx.send(&TICK)?;
            tx.send_timeout(&TICK, Duration::from_nanos(1))?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n));
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Timeouts,
        "ring try_recv on an empty ring",
        err(ErrorKind::WouldBlock),
        move || {
            let rx = RingReceiver::<Tick>::create(&m, 2, RingMode::Spsc)?;
            let _tx = RingSender::<Tick>::open(&m)?;
            rx.try_recv()?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::Ring).named(&n));
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Timeouts,
        "ring recv_timeout 1 ms",
        err(ErrorKind::TimedOut),
        move || {
            let rx = RingReceiver::<Tick>::create(&m, 2, RingMode::Mpmc)?;
            let _tx = RingSender::<Tick>::open(&m)?;
            rx.recv_timeout(Duration::from_millis(1))?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::Ring).named(&n));
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Timeouts,
        "ring try_send on a full ring",
        err(ErrorKind::WouldBlock),
        move || {
            let _rx = RingReceiver::<Tick>::create(&m, 2, RingMode::Spsc)?;
            let tx = RingSender::<Tick>::open(&m)?;
            tx.send(&TICK)?;
            tx.send(&TICK)?;
            tx.try_send(&TICK)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::Ring).named(&n));
    for (label, timeout, kind) in [
        ("try_lock", Timeout::Immediate, ErrorKind::WouldBlock),
        (
            "lock_timeout 1 ms",
            Timeout::After(Duration::from_millis(1)),
            ErrorKind::TimedOut,
        ),
    ] {
        let n = t.name(Kind::Shm);
        let m = n.clone();
        t.here(
            Cat::Timeouts,
            format!("robust mutex {label} held by another thread"),
            err(kind),
            move || {
                let mutex = RobustMutex::create(&m)?;
                let (held_tx, held_rx) = std::sync::mpsc::channel();
                let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
                let mutex = &mutex;
                std::thread::scope(|s| {
                    let holder = s.spawn(move || -> Result<(), Error> {
                        let _g = mutex.lock()?;
                        held_tx.send(()).ok();
                        done_rx.recv().ok();
                        Ok(())
                    });
                    let held = held_rx.recv().is_ok();
                    let r = mutex.lock_with(timeout).map(drop);
                    done_tx.send(()).ok();
                    let h = holder
                        .join()
                        .map_err(|_| Fail::Test("holder panicked".into()))?;
                    h?;
                    ensure(held, || "the holder never locked".into())?;
                    r.map_err(Fail::from)
                })
            },
        );
        t.with(|c| c.named(&n));
    }
    let floats: Vec<(&str, f64)> = vec![
        ("NaN", f64::NAN),
        ("-1.0", -1.0),
        ("-inf", f64::NEG_INFINITY),
        ("-1e-300", -1e-300),
        ("f64::MIN", f64::MIN),
    ];
    for (label, secs) in floats {
        t.here(
            Cat::Timeouts,
            format!("Timeout::from_secs_f64({label})"),
            err(ErrorKind::InvalidArgument),
            move || {
                Timeout::from_secs_f64(secs)?;
                Ok(())
            },
        );
        t.with(|c| c.obj(ObjectKind::Timeout).mention("non-negative"));
    }
    for (label, secs, want) in [
        ("+inf", f64::INFINITY, Timeout::Infinite),
        ("-0.0", -0.0, Timeout::Immediate),
    ] {
        t.here(
            Cat::Timeouts,
            format!("Timeout::from_secs_f64({label})"),
            OK,
            move || {
                let got = Timeout::from_secs_f64(secs)?;
                ensure(got == want, || format!("{got:?}, expected {want:?}"))
            },
        );
    }
}
