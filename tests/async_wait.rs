//! Async (tokio) waits that epoll cannot do (feature `tokio`): semaphore acquire and the
//! shared-memory ring, each with real peer processes. A wait must never block the runtime's
//! worker thread (tested on a single-threaded runtime), and a cancelled wait must lose nothing:
//! no semaphore unit, no ring message.
#![cfg(feature = "tokio")]

mod common;
#[path = "common/runtime.rs"]
mod runtime;

use std::future::Future;
use std::time::Duration;

use common::{guarded, Kind};
use futures::StreamExt;
use posix_ipc::{
    AsyncRingReceiver, AsyncRingSender, AsyncSemaphore, ErrorKind, IpcMessage, RingMode,
    RingReceiver, RingSender, Semaphore,
};

#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct Tick {
    seq: u64,
    check: u64,
}

fn tick(seq: u64) -> Tick {
    Tick {
        seq,
        check: seq.wrapping_mul(0x9e37_79b9_7f4a_7c15),
    }
}

const WAIT: Duration = Duration::from_secs(30);

/// Runs `fut` as [`runtime::run_async`] does, failing after [`WAIT`].
fn run<F: Future<Output = ()> + Send + 'static>(workers: usize, fut: F) {
    runtime::run_async(workers, WAIT, fut);
}

#[test]
#[ignore = "child-process entry point, run by the tests that spawn it"]
fn child_entry() {
    let Some((role, args)) = common::child_role() else {
        panic!("child_entry runs only as a child process");
    };
    match role.as_str() {
        // args: go, target. Waits for `go`, then releases `target` once.
        "sem-release" => {
            let go = Semaphore::open(&args[0]).unwrap();
            let target = Semaphore::open(&args[1]).unwrap();
            go.acquire_timeout(WAIT).unwrap();
            target.release().unwrap();
            println!("released");
        }
        // args: ring, count, pause_every. Sends 0..count, sleeping 2 ms after every
        // `pause_every` messages so the receiver often finds the ring empty; then leaves.
        "ring-produce" => {
            let tx = RingSender::<Tick>::open(&args[0]).unwrap();
            let count: u64 = args[1].parse().unwrap();
            let pause_every: u64 = args[2].parse().unwrap();
            for s in 0..count {
                tx.send_timeout(&tick(s), WAIT).unwrap();
                if s % pause_every == pause_every - 1 {
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
            println!("produced {count}");
        }
        // args: ring, count, go. Waits for `go`, then receives 0..count in order.
        "ring-consume" => {
            let rx = RingReceiver::<Tick>::open(&args[0]).unwrap();
            let count: u64 = args[1].parse().unwrap();
            Semaphore::open(&args[2])
                .unwrap()
                .acquire_timeout(WAIT)
                .unwrap();
            for s in 0..count {
                assert_eq!(rx.recv_timeout(WAIT).unwrap(), tick(s));
            }
            println!("consumed {count}");
        }
        other => panic!("unknown role {other}"),
    }
}

#[test]
fn a_semaphore_wait_leaves_a_single_threaded_runtime_free() {
    let (go_name, _g1) = guarded(Kind::Sem, "aw-go");
    let (target_name, _g2) = guarded(Kind::Sem, "aw-target");
    let go = Semaphore::create(&go_name, 0).unwrap();
    let target = AsyncSemaphore::new(Semaphore::create(&target_name, 0).unwrap());
    let child = common::spawn_child("child_entry", "sem-release", &[&go_name, &target_name]);
    run(0, async move {
        // The only worker thread must keep running the ticker while the acquire waits;
        // only then does the child get `go` and release the target.
        let ticker = async {
            for _ in 0..5 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            go.release().unwrap();
        };
        let (acquired, ()) = tokio::join!(target.acquire(), ticker);
        acquired.unwrap();
        assert_eq!(target.semaphore().value().unwrap(), 0);
    });
    common::expect_success(child, "releasing child");
}

#[test]
fn cancelled_acquires_leak_no_unit() {
    const ROUNDS: usize = 20;
    let (name, _g) = guarded(Kind::Sem, "aw-cancel");
    let sem = AsyncSemaphore::new(Semaphore::create(&name, 0).unwrap());
    run(2, async move {
        for _ in 0..ROUNDS {
            // The acquire is handed to the pool, then abandoned by the timeout ...
            let err = sem
                .acquire_timeout(Duration::from_millis(2))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::TimedOut);
            // ... and the unit posted after that must not disappear with it: if the
            // abandoned pool thread takes it, it gives it back within its 100 ms slice.
            sem.release().unwrap();
            sem.semaphore()
                .acquire_timeout(Duration::from_secs(5))
                .expect("the unit is still there");
        }
        assert_eq!(sem.try_acquire().unwrap_err().kind(), ErrorKind::WouldBlock);
        let guard = {
            sem.release().unwrap();
            sem.acquire_guard().await.unwrap()
        };
        assert_eq!(sem.semaphore().value().unwrap(), 0);
        drop(guard);
        // The guard gave its unit back (an abandoned pool thread still in its slice may hold
        // it for a moment, then gives it back too).
        sem.semaphore()
            .acquire_timeout(Duration::from_secs(5))
            .expect("the guard released its unit");
    });
}

#[test]
fn ring_stream_with_cancelled_receives_gets_everything_once_then_ends() {
    const COUNT: u64 = 5000;
    let (name, _g) = guarded(Kind::Shm, "aw-ring");
    let rx = RingReceiver::<Tick>::create(&name, 16, RingMode::Spsc).unwrap();
    let child = common::spawn_child(
        "child_entry",
        "ring-produce",
        &[&name, &COUNT.to_string(), "64"],
    );
    run(2, async move {
        let mut rx = AsyncRingReceiver::new(rx);
        let mut next = 0u64;
        let mut cancelled = 0u64;
        // Receives raced against a short timer: many are cancelled while their wait is in
        // flight on the blocking pool.
        while next < COUNT {
            match tokio::time::timeout(Duration::from_micros(500), rx.recv()).await {
                Ok(m) => {
                    assert_eq!(m.unwrap(), tick(next), "in order, nothing lost");
                    next += 1;
                }
                Err(_) => cancelled += 1,
            }
        }
        assert!(cancelled > 0, "the test must really cancel receives");
        // The producer leaves: the Stream ends after the last message.
        let rest: Vec<_> = (&mut rx).collect().await;
        assert!(rest.is_empty(), "nothing after the last message: {rest:?}");
        common::say(&format!(
            "ring: {COUNT} messages in order with {cancelled} receives cancelled"
        ));
        rx.into_inner().await.unwrap().unlink().unwrap();
    });
    common::expect_success(child, "ring producer");
}

#[test]
fn ring_batches_and_try_recv_take_what_is_there_without_waiting() {
    const COUNT: u64 = 3000;
    let (name, _g) = guarded(Kind::Shm, "aw-ring-batch");
    let rx = RingReceiver::<Tick>::create(&name, 64, RingMode::Spsc).unwrap();
    let mut rx = AsyncRingReceiver::new(rx);
    assert_eq!(rx.try_recv().unwrap_err().kind(), ErrorKind::WouldBlock);
    let mut empty = Vec::new();
    assert_eq!(rx.try_recv_batch(&mut empty, 8), 0);
    let child = common::spawn_child(
        "child_entry",
        "ring-produce",
        &[&name, &COUNT.to_string(), "64"],
    );
    run(2, async move {
        let mut got = Vec::new();
        let mut batches = 0u64;
        while (got.len() as u64) < COUNT {
            let n = rx.recv_batch(&mut got, 32).await.unwrap();
            assert!(
                (1..=32).contains(&n),
                "a batch brings 1 to max messages, not {n}"
            );
            batches += 1;
            // Whatever else is there now, without waiting.
            if let Ok(m) = rx.try_recv() {
                got.push(m);
            }
        }
        let want: Vec<Tick> = (0..COUNT).map(tick).collect();
        assert_eq!(got, want, "in order, nothing lost or repeated");
        assert!(batches < COUNT, "batches took several messages at a time");
        // The producer has gone and the ring is drained.
        let err = rx.recv_batch(&mut got, 8).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Disconnected, "{err}");
        assert_eq!(rx.try_recv().unwrap_err().kind(), ErrorKind::Disconnected);
        common::say(&format!(
            "ring batches: {COUNT} messages in {batches} recv_batch calls"
        ));
        rx.into_inner().await.unwrap().unlink().unwrap();
    });
    common::expect_success(child, "ring producer");
}

#[test]
fn ring_sender_waits_for_room_without_blocking_the_runtime() {
    const COUNT: u64 = 2000;
    let (name, _g) = guarded(Kind::Shm, "aw-ring-tx");
    let (go_name, _g2) = guarded(Kind::Sem, "aw-ring-go");
    let tx = RingSender::<Tick>::create(&name, 4, RingMode::Spsc).unwrap();
    let go = Semaphore::create(&go_name, 0).unwrap();
    let child = common::spawn_child(
        "child_entry",
        "ring-consume",
        &[&name, &COUNT.to_string(), &go_name],
    );
    run(0, async move {
        let mut tx = AsyncRingSender::new(tx);
        let sending = async {
            for s in 0..COUNT {
                tx.send(&tick(s)).await.unwrap();
            }
        };
        // The ring fills after 4 sends and the consumer starts only after `go`, which this
        // ticker, on the runtime's only thread, releases: a send that blocked the thread
        // while the ring is full would never let it run.
        let ticker = async {
            for _ in 0..5 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            go.release().unwrap();
        };
        tokio::join!(sending, ticker);
        let tx = tx.into_inner().await.unwrap();
        tx.unlink().unwrap();
    });
    common::expect_success(child, "ring consumer");
}
