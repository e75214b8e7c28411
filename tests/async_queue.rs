//! Async (tokio) message queues and typed channels (feature `tokio`), on multi-threaded
//! runtimes with real peer processes: one task receiving from several queues with `select!`,
//! receives cancelled mid-wait that lose nothing, many queues on two worker threads, the
//! `Stream`/`Sink` forms, and the errors.
#![cfg(feature = "tokio")]

mod common;

use std::future::Future;
use std::time::{Duration, Instant};

use common::{guarded, Cleanup, Kind};
use futures::{SinkExt, StreamExt};
use posix_ipc::{
    AsyncMessageQueue, AsyncReceiver, AsyncSender, ErrorKind, IpcMessage, MessageQueue, Sender,
};

/// 16 bytes: which queue it was sent to and its sequence number there.
#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
#[ipc(priority = 4)]
struct Seq {
    queue: u32,
    check: u32,
    seq: u64,
}

fn seq(queue: u32, seq: u64) -> Seq {
    Seq {
        queue,
        check: (seq as u32).wrapping_mul(2_654_435_761) ^ queue,
        seq,
    }
}

const WAIT: Duration = Duration::from_secs(30);

fn runtime(workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("build a tokio runtime")
}

/// Runs `fut` on a multi-threaded runtime, failing (not hanging) after [`WAIT`].
fn run<F: Future<Output = ()> + Send + 'static>(workers: usize, fut: F) {
    let rt = runtime(workers);
    rt.block_on(async move {
        tokio::time::timeout(WAIT, tokio::spawn(fut))
            .await
            .expect("the async test did not finish in time")
            .expect("the async test task panicked");
    });
}

/// Small typed queues, created with their cleanup guards.
fn queues(tag: &str, n: usize, depth: usize) -> Vec<(String, Cleanup)> {
    (0..n)
        .map(|_| {
            let (name, guard) = guarded(Kind::Mq, tag);
            MessageQueue::options()
                .create_new(true)
                .max_messages(depth)
                .max_message_size(std::mem::size_of::<Seq>())
                .open(&name)
                .expect("create a small queue");
            (name, guard)
        })
        .collect()
}

#[test]
#[ignore = "child-process entry point, run by the tests that spawn it"]
fn child_entry() {
    let Some((role, args)) = common::child_role() else {
        panic!("child_entry runs only as a child process");
    };
    match role.as_str() {
        // args: count, pause_every, then queue names; sends seq 0..count to every queue,
        // round-robin, sleeping 2 ms after every `pause_every` messages (0: never) so the
        // receiver often finds its queues empty.
        "produce" => {
            let count: u64 = args[0].parse().unwrap();
            let pause_every: u64 = args[1].parse().unwrap();
            let txs: Vec<Sender<Seq>> = args[2..]
                .iter()
                .map(|n| Sender::<Seq>::open(n).unwrap())
                .collect();
            for s in 0..count {
                for (q, tx) in txs.iter().enumerate() {
                    tx.send_timeout(&seq(q as u32, s), WAIT).unwrap();
                }
                if pause_every > 0 && s % pause_every == pause_every - 1 {
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
            println!("produced {count} x {}", txs.len());
        }
        other => panic!("unknown role {other}"),
    }
}

fn produce(count: u64, pause_every: u64, names: &[&str]) -> std::process::Child {
    let (count, pause) = (count.to_string(), pause_every.to_string());
    let mut args = vec![count.as_str(), pause.as_str()];
    args.extend_from_slice(names);
    common::spawn_child("child_entry", "produce", &args)
}

/// Records each received message, failing on a corrupt one; `check` then proves every
/// sequence number of every queue arrived exactly once.
struct Tally {
    seen: Vec<Vec<u32>>,
    received: u64,
}

impl Tally {
    fn new(queues: usize, count: u64) -> Tally {
        Tally {
            seen: vec![vec![0; count as usize]; queues],
            received: 0,
        }
    }

    fn record(&mut self, m: Seq) {
        assert_eq!(m, seq(m.queue, m.seq), "a corrupt message");
        self.seen[m.queue as usize][m.seq as usize] += 1;
        self.received += 1;
    }

    fn check(&self) {
        for (q, counts) in self.seen.iter().enumerate() {
            for (s, &n) in counts.iter().enumerate() {
                assert_eq!(n, 1, "queue {q} seq {s} was received {n} times");
            }
        }
    }
}

#[test]
fn one_task_receives_from_several_queues_with_select() {
    const COUNT: u64 = 400;
    let qs = queues("aq-select", 3, 4);
    let names: Vec<&str> = qs.iter().map(|(n, _)| n.as_str()).collect();
    // One producer process per queue.
    let children: Vec<_> = names
        .iter()
        .map(|n| produce(COUNT, 50, std::slice::from_ref(n)))
        .collect();
    let owned: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    run(2, async move {
        let rx: Vec<AsyncReceiver<Seq>> = owned
            .iter()
            .map(|n| AsyncReceiver::<Seq>::open(n).unwrap())
            .collect();
        let mut next = [0u64; 3];
        let mut from = [0u64; 3];
        while next.iter().any(|&n| n < COUNT) {
            // The losing branches' futures are dropped every round: cancellation-safe.
            let (slot, m) = tokio::select! {
                r = rx[0].recv() => (0, r.unwrap()),
                r = rx[1].recv() => (1, r.unwrap()),
                r = rx[2].recv() => (2, r.unwrap()),
            };
            // Each producer sent to its queue as queue 0, in order.
            assert_eq!(m, seq(0, next[slot]), "queue {slot}: FIFO, nothing lost");
            next[slot] += 1;
            from[slot] += 1;
        }
        for r in &rx {
            assert_eq!(r.try_recv().unwrap_err().kind(), ErrorKind::WouldBlock);
        }
        assert_eq!(from, [COUNT; 3]);
    });
    for c in children {
        common::expect_success(c, "producer");
    }
}

#[test]
fn cancelled_receives_lose_and_duplicate_nothing() {
    const COUNT: u64 = 3000;
    let qs = queues("aq-cancel", 1, 8);
    let name = qs[0].0.clone();
    let child = produce(COUNT, 32, &[&name]);
    run(2, async move {
        let rx = AsyncReceiver::<Seq>::open(&name).unwrap();
        let mut tally = Tally::new(1, COUNT);
        let (mut cancelled_by_timer, mut cancelled_at_once) = (0u64, 0u64);
        let mut round = 0u64;
        // The producer sends in order with one priority: the last message comes last, and
        // `check` then names any message lost or received twice.
        // If the last message itself is lost, two idle seconds end the loop instead.
        let mut last_seen = false;
        let mut progress = Instant::now();
        while !last_seen && progress.elapsed() < Duration::from_secs(2) {
            round += 1;
            let got = match round % 3 {
                // Raced against a short timer.
                0 => match tokio::time::timeout(Duration::from_micros(300), rx.recv()).await {
                    Ok(r) => Some(r),
                    Err(_) => {
                        cancelled_by_timer += 1;
                        None
                    }
                },
                // Polled once, then dropped while it waits (if the queue was empty).
                1 => tokio::select! {
                    biased;
                    r = rx.recv() => Some(r),
                    _ = std::future::ready(()) => {
                        cancelled_at_once += 1;
                        None
                    }
                },
                // Raced against a timer inside select!.
                _ => tokio::select! {
                    r = rx.recv() => Some(r),
                    _ = tokio::time::sleep(Duration::from_micros(100)) => {
                        cancelled_by_timer += 1;
                        None
                    }
                },
            };
            if let Some(r) = got {
                let m = r.unwrap();
                last_seen = m.seq == COUNT - 1;
                progress = Instant::now();
                tally.record(m);
            }
        }
        tally.check();
        assert_eq!(rx.try_recv().unwrap_err().kind(), ErrorKind::WouldBlock);
        assert!(
            cancelled_by_timer > 0 && cancelled_at_once > 0,
            "the test must really cancel receives ({cancelled_by_timer} by timer, \
             {cancelled_at_once} at once)"
        );
        common::say(&format!(
            "cancelled receives: {cancelled_by_timer} by a timer, {cancelled_at_once} after one \
             poll; {COUNT} messages received exactly once"
        ));
    });
    common::expect_success(child, "producer");
}

#[test]
fn many_queues_on_two_worker_threads() {
    const QUEUES: usize = 48;
    const COUNT: u64 = 100;
    let qs = queues("aq-many", QUEUES, 4);
    let names: Vec<String> = qs.iter().map(|(n, _)| n.clone()).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let child = produce(COUNT, 0, &refs);
    let rt = runtime(2);
    assert_eq!(rt.metrics().num_workers(), 2);
    let threads_before = threads();
    rt.block_on(async move {
        let tasks: Vec<_> = names
            .iter()
            .enumerate()
            .map(|(q, n)| {
                let rx = AsyncReceiver::<Seq>::open(n).unwrap();
                tokio::spawn(async move {
                    for s in 0..COUNT {
                        assert_eq!(rx.recv().await.unwrap(), seq(q as u32, s));
                    }
                    threads()
                })
            })
            .collect();
        let mut most = 0;
        for t in tasks {
            let during = tokio::time::timeout(WAIT, t)
                .await
                .expect("every queue's task finishes")
                .expect("no task panicked");
            most = most.max(during);
        }
        // No thread per queue: 48 queues waited on by the runtime's two workers (other tests
        // running at the same time add a few threads, never one per queue).
        assert!(
            most < threads_before + QUEUES,
            "{most} threads while receiving, {threads_before} before"
        );
    });
    common::expect_success(child, "producer");
}

/// Threads of this process now.
fn threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn raw_queue_send_receive_priorities_timeouts_and_back_to_blocking() {
    let (name, _g) = guarded(Kind::Mq, "aq-raw");
    run(2, async move {
        let mq = AsyncMessageQueue::new(MessageQueue::create(&name, 4, 32).unwrap()).unwrap();
        assert!(!mq.get_ref().block().unwrap(), "registered: non-blocking");
        mq.send(b"low", 1).await.unwrap();
        mq.send(b"high", 9).await.unwrap();
        assert_eq!(mq.receive().await.unwrap(), (b"high".to_vec(), 9));
        let mut buf = [0u8; 32];
        assert_eq!(mq.receive_into(&mut buf).await.unwrap(), (3, 1));
        let start = Instant::now();
        let err = mq
            .receive_timeout(Duration::from_millis(30))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TimedOut);
        assert!(start.elapsed() >= Duration::from_millis(30));
        for i in 0..4u8 {
            mq.try_send(&[i], 0).unwrap();
        }
        let err = mq
            .send_timeout(b"full", 0, Duration::from_millis(20))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TimedOut);
        // A receive in another task makes room for a waiting send.
        let mq = std::sync::Arc::new(mq);
        let sending = tokio::spawn({
            let mq = mq.clone();
            async move { mq.send(b"waited", 2).await }
        });
        tokio::task::yield_now().await;
        assert_eq!(mq.receive().await.unwrap(), (vec![0], 0));
        sending.await.unwrap().unwrap();
        assert_eq!(mq.receive().await.unwrap(), (b"waited".to_vec(), 2));
        let mq = std::sync::Arc::into_inner(mq)
            .unwrap()
            .into_inner()
            .unwrap();
        assert!(mq.block().unwrap(), "into_inner restores blocking mode");
        assert_eq!(mq.current_messages().unwrap(), 3);
    });
}

#[test]
fn a_write_only_queue_refuses_to_receive_at_once_instead_of_waiting() {
    let (name, _g) = guarded(Kind::Mq, "aq-wo");
    run(1, async move {
        let mq = MessageQueue::options()
            .create_new(true)
            .max_messages(2)
            .max_message_size(8)
            .read(false)
            .open(&name)
            .unwrap();
        let mq = AsyncMessageQueue::new(mq).unwrap();
        let err = mq.receive().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    });
}

#[test]
fn registering_outside_a_runtime_is_an_error_not_a_panic() {
    let (name, _g) = guarded(Kind::Mq, "aq-nort");
    let mq = MessageQueue::create(&name, 2, 8).unwrap();
    let err = AsyncMessageQueue::new(mq).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert!(err.to_string().contains("tokio runtime"), "{err}");
}

#[test]
fn sink_and_stream_carry_messages_in_order_through_a_small_queue() {
    const COUNT: u64 = 200;
    let (name, _g) = guarded(Kind::Mq, "aq-sink");
    run(2, async move {
        let mut tx = AsyncSender::<Seq>::create(&name, 2).unwrap();
        let rx = AsyncReceiver::<Seq>::open(&name).unwrap();
        let consumer = tokio::spawn(async move {
            // The Stream, with and without priorities.
            let first: Vec<(Seq, u32)> = rx
                .with_priority()
                .take(10)
                .map(Result::unwrap)
                .collect()
                .await;
            assert!(first.iter().all(|&(_, p)| p == Seq::PRIORITY));
            let rest: Vec<Seq> = rx
                .take(COUNT as usize - 10)
                .map(Result::unwrap)
                .collect()
                .await;
            first
                .into_iter()
                .map(|(m, _)| m)
                .chain(rest)
                .collect::<Vec<_>>()
        });
        // The Sink: a queue of 2 makes it wait for room most of the time.
        let mut items = futures::stream::iter((0..COUNT).map(|s| Ok(seq(0, s))));
        tx.send_all(&mut items).await.unwrap();
        tx.close().await.unwrap();
        let got = consumer.await.unwrap();
        assert_eq!(got, (0..COUNT).map(|s| seq(0, s)).collect::<Vec<_>>());
        tx.queue().unlink().unwrap();
    });
}

#[test]
fn a_message_of_the_wrong_length_is_returned_and_the_receiver_keeps_working() {
    let (name, _g) = guarded(Kind::Mq, "aq-len");
    run(1, async move {
        let rx = AsyncReceiver::<Seq>::create(&name, 2).unwrap();
        let raw = MessageQueue::options().read(false).open(&name).unwrap();
        raw.send(b"short", 7).unwrap();
        raw.send(bytemuck::bytes_of(&seq(0, 1)), 4).unwrap();
        let err = rx.recv().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WrongLength);
        let back = err.returned().unwrap();
        assert_eq!((back.bytes.as_slice(), back.priority), (&b"short"[..], 7));
        assert_eq!(rx.recv().await.unwrap(), seq(0, 1));
    });
}
