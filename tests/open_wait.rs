//! Waiting for a peer (issue 21): every kind's `open_wait` waits until its object exists and is
//! initialised, however late its creator starts; it ends at its timeout with an error naming
//! the object, and a `CancelToken` stops it at once. (Ctrl-C of a waiting process is in
//! tests/topic_restart.rs.)

mod common;

use std::time::{Duration, Instant};

use common::{guarded, Kind};
use posix_ipc::{
    open_wait, CancelToken, ErrorKind, IpcMessage, MessageQueue, Receiver, RingMode, RingReceiver,
    RingSender, RobustMutex, Semaphore, Sender, Shared, SharedMemory,
};

#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct Reading {
    value: u64,
}

const PATIENCE: Duration = Duration::from_secs(30);

/// Runs `wait` on a thread, lets it fall asleep waiting, then runs `create` and checks that
/// the waiter got through.
fn waits_for<W: Send + 'static>(
    what: &str,
    wait: impl FnOnce() -> posix_ipc::Result<W> + Send + 'static,
    create: impl FnOnce(),
) {
    let (tid_tx, tid_rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        tid_tx.send(common::gettid()).unwrap();
        wait().map(|_| ())
    });
    let tid = tid_rx.recv().unwrap();
    assert!(
        common::wait_until_sleeping(std::process::id(), tid),
        "{what}: the waiter never slept"
    );
    create();
    waiter
        .join()
        .unwrap()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
}

#[test]
fn every_kind_waits_for_its_object_to_be_made() {
    let (sem, _g1) = guarded(Kind::Sem, "wait-sem");
    let n = sem.clone();
    waits_for(
        "Semaphore",
        move || Semaphore::open_wait(&n, PATIENCE),
        || {
            Semaphore::create(&sem, 0).unwrap();
        },
    );

    let (shm, _g2) = guarded(Kind::Shm, "wait-shm");
    let n = shm.clone();
    waits_for(
        "SharedMemory",
        move || SharedMemory::open_wait(&n, PATIENCE),
        || {
            SharedMemory::create(&shm, 4096).unwrap();
        },
    );

    let (mq, _g3) = guarded(Kind::Mq, "wait-mq");
    let n = mq.clone();
    waits_for(
        "MessageQueue",
        move || MessageQueue::open_wait(&n, PATIENCE),
        || {
            MessageQueue::create(&mq, 2, 64).unwrap();
        },
    );

    let (shared, _g4) = guarded(Kind::Shm, "wait-shared");
    let n = shared.clone();
    waits_for(
        "Shared",
        move || Shared::<Reading>::open_wait(&n, PATIENCE),
        || {
            Shared::create(&shared, &Reading { value: 1 }).unwrap();
        },
    );

    let (ring, _g5) = guarded(Kind::Shm, "wait-ring");
    let n = ring.clone();
    let mut sender = None;
    waits_for(
        "RingReceiver",
        move || RingReceiver::<Reading>::open_wait(&n, PATIENCE),
        || {
            sender = Some(RingSender::<Reading>::create(&ring, 4, RingMode::Spsc).unwrap());
        },
    );

    let (queue, _g6) = guarded(Kind::Mq, "wait-queue");
    let _companion = common::guard(
        Kind::Shm,
        &format!("{queue}{}", posix_ipc::typed::COMPANION_SUFFIX),
    );
    let n = queue.clone();
    waits_for(
        "Sender",
        move || Sender::<Reading>::open_wait(&n, PATIENCE),
        || {
            Receiver::<Reading>::create(&queue, 2).unwrap();
        },
    );

    let (mutex, _g7) = guarded(Kind::Shm, "wait-mutex");
    let n = mutex.clone();
    waits_for(
        "RobustMutex",
        move || RobustMutex::open_wait(&n, PATIENCE),
        || {
            RobustMutex::create(&mutex).unwrap();
        },
    );
}

#[test]
fn a_wait_ends_at_its_timeout_naming_the_object() {
    let (name, _g) = guarded(Kind::Shm, "wait-timeout");
    let started = Instant::now();
    let err = Shared::<Reading>::open_wait(&name, Duration::from_millis(100)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
    assert!(started.elapsed() >= Duration::from_millis(100));
    let text = err.to_string();
    assert!(
        text.contains(&name) && text.contains("did not appear"),
        "{text}"
    );
}

#[test]
fn a_cancel_token_stops_a_wait_at_once() {
    let (name, _g) = guarded(Kind::Shm, "wait-cancel");
    let token = CancelToken::new();
    let (tid_tx, tid_rx) = std::sync::mpsc::channel();
    let waiter = {
        let token = token.clone();
        std::thread::spawn(move || {
            tid_tx.send(common::gettid()).unwrap();
            open_wait(posix_ipc::Timeout::Infinite, Some(&token), || {
                RingSender::<Reading>::open(&name)
            })
        })
    };
    let tid = tid_rx.recv().unwrap();
    assert!(common::wait_until_sleeping(std::process::id(), tid));
    let cancelled = Instant::now();
    token.cancel();
    let err = waiter.join().unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled, "{err}");
    assert!(
        cancelled.elapsed() < Duration::from_secs(5),
        "stopped after {:?}",
        cancelled.elapsed()
    );
}
