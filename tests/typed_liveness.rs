//! Liveness and type checks of typed queues (issue 12, item 2): the companion segment records
//! the message type and the connected peers, so a receiver learns that every sender has gone
//! (also after SIGKILL) once the queue is drained, a sender blocked on a full queue learns that
//! every receiver has gone, and a queue made for another type of the same size is refused.
//! Queues without a companion keep the size-only check and no tracking.
//!
//! The SIGKILL scenarios run `POSIX_IPC_FAULT_ITERATIONS` (default 100) times and print one
//! summary line each (uncaptured), which `scripts/reliability` matches by its wording and puts
//! in RELIABILITY.md.

mod common;

use std::time::{Duration, Instant};

use common::{guarded, Kind};
use posix_ipc::{ErrorKind, IpcMessage, MessageQueue, Receiver, Sender, SharedMemory, TypedQueue};

#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct Reading {
    seq: u64,
    value: f64,
}

/// Same size as `Reading` (16 bytes), another layout.
#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct Pair {
    a: u32,
    b: u32,
    c: u64,
}

const WAIT: Duration = Duration::from_secs(20);

#[test]
#[ignore = "child-process entry point, run by the tests that spawn it"]
fn child_entry() {
    let Some((role, args)) = common::child_role() else {
        panic!("child_entry runs only as a child process");
    };
    let name = &args[0];
    match role.as_str() {
        "send-n-then-hang" => {
            let n: u64 = args[1].parse().unwrap();
            let tx = Sender::<Reading>::open(name).unwrap();
            for seq in 0..n {
                tx.send(&Reading { seq, value: 0.0 }).unwrap();
            }
            println!("sent");
            loop {
                std::thread::park();
            }
        }
        "hold-receiver" => {
            let _rx = Receiver::<Reading>::open(name).unwrap();
            println!("ready");
            loop {
                std::thread::park();
            }
        }
        other => panic!("unknown child role {other}"),
    }
}

#[test]
fn a_receiver_drains_then_sees_disconnected_after_the_last_sender_is_killed() {
    let n = common::iterations();
    let mut drained = 0u64;
    let mut worst = Duration::ZERO;
    for it in 0..n {
        let (name, _g) = guarded(Kind::Mq, "live-rx");
        let rx = Receiver::<Reading>::create(&name, 4).unwrap();
        let k = 1 + it % 4;
        let mut child =
            common::spawn_child("child_entry", "send-n-then-hang", &[&name, &k.to_string()]);
        common::wait_line(&mut child, "sent");
        assert_eq!(rx.senders().unwrap().len(), 1, "the child is registered");
        // The consumer drains what was sent and blocks for more; then the producer dies.
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let consumer = std::thread::spawn(move || {
            tid_tx.send(common::gettid()).unwrap();
            let got: Vec<u64> = rx.iter().map(|r| r.unwrap().seq).collect();
            (got, Instant::now(), rx)
        });
        let tid = tid_rx.recv().unwrap();
        assert!(common::wait_until_sleeping(std::process::id(), tid));
        child.kill().unwrap();
        child.wait().unwrap();
        let killed = Instant::now();
        let (got, ended, rx) = consumer.join().unwrap();
        // What it sent is all there, in order; then the queue said nobody is left.
        assert_eq!(got, (0..k).collect::<Vec<_>>(), "iteration {it}");
        worst = worst.max(ended.saturating_duration_since(killed));
        drained += k;
        assert_eq!(
            rx.recv().unwrap_err().kind(),
            ErrorKind::Disconnected,
            "iteration {it}"
        );
    }
    common::say(&format!(
        "typed liveness: {n} producers killed with SIGKILL while the consumer was blocked: \
         {drained} queued messages drained, then Disconnected every time; slowest end of \
         iter() after the kill {:.0} ms",
        worst.as_secs_f64() * 1e3
    ));
}

#[test]
fn a_sender_blocked_on_a_full_queue_sees_disconnected_after_the_receiver_is_killed() {
    let n = common::iterations();
    let mut worst = Duration::ZERO;
    for it in 0..n {
        let (name, _g) = guarded(Kind::Mq, "live-tx");
        let tx = Sender::<Reading>::create(&name, 2).unwrap();
        let mut child = common::spawn_child("child_entry", "hold-receiver", &[&name]);
        common::wait_line(&mut child, "ready");
        tx.send(&Reading { seq: 0, value: 0.0 }).unwrap();
        tx.send(&Reading { seq: 1, value: 0.0 }).unwrap();
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let blocked = std::thread::spawn(move || {
            tid_tx.send(common::gettid()).unwrap();
            let r = tx.send(&Reading { seq: 2, value: 0.0 });
            (r, Instant::now(), tx)
        });
        let tid = tid_rx.recv().unwrap();
        assert!(common::wait_until_sleeping(std::process::id(), tid));
        child.kill().unwrap();
        child.wait().unwrap();
        let killed = Instant::now();
        let (r, at, tx) = blocked.join().unwrap();
        worst = worst.max(at.saturating_duration_since(killed));
        let err = r.expect_err("the send cannot succeed: nobody takes messages");
        assert_eq!(err.kind(), ErrorKind::Disconnected, "iteration {it}: {err}");
        assert!(err.to_string().contains("every consumer"), "{err}");
        // The message was not sent.
        assert_eq!(tx.queue().current_messages().unwrap(), 2, "iteration {it}");
    }
    common::say(&format!(
        "typed liveness: {n} consumers killed with SIGKILL while the producer was blocked on a \
         full queue: the send returned Disconnected every time, the message unsent; slowest \
         {:.0} ms after the kill",
        worst.as_secs_f64() * 1e3
    ));
}

#[test]
fn dropping_the_last_sender_ends_the_receivers_iterator() {
    let (name, _g) = guarded(Kind::Mq, "live-drop");
    let queue = TypedQueue::<Reading>::create(&name, 4).unwrap();
    let rx = queue.receiver().unwrap();
    let tx = queue.sender().unwrap();
    let tx2 = tx.try_clone().unwrap();
    assert_eq!(
        queue.senders().unwrap().len(),
        1,
        "a clone shares its registration"
    );
    tx.send(&Reading { seq: 1, value: 0.0 }).unwrap();
    drop(tx);
    tx2.send(&Reading { seq: 2, value: 0.0 }).unwrap();
    drop(tx2);
    let seqs: Vec<u64> = rx.iter().map(|r| r.unwrap().seq).collect();
    assert_eq!(seqs, [1, 2]);
    assert_eq!(rx.try_recv().unwrap_err().kind(), ErrorKind::Disconnected);
    // The queue object itself is not a peer: a new sender makes the receiver live again.
    let tx = queue.sender().unwrap();
    tx.send(&Reading { seq: 3, value: 0.0 }).unwrap();
    assert_eq!(rx.recv().unwrap().seq, 3);
    queue.unlink().unwrap();
    assert!(SharedMemory::open(&format!("{name}.pipc-q")).is_err());
}

#[test]
fn a_queue_made_for_another_type_of_the_same_size_is_refused_naming_both() {
    let (name, _g) = guarded(Kind::Mq, "live-type");
    let _tx = Sender::<Reading>::create(&name, 2).unwrap();
    assert_eq!(std::mem::size_of::<Pair>(), std::mem::size_of::<Reading>());
    for err in [
        Receiver::<Pair>::open(&name).unwrap_err(),
        Sender::<Pair>::open(&name).unwrap_err(),
        TypedQueue::<Pair>::open(&name).unwrap_err(),
        Receiver::<Pair>::from_queue(MessageQueue::open(&name).unwrap()).unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::Mismatch, "{err}");
        let text = err.to_string();
        assert!(text.contains("made for Reading"), "{text}");
        assert!(text.contains("Pair"), "{text}");
        assert!(
            text.contains(&format!("{:#018x}", Reading::FINGERPRINT))
                && text.contains(&format!("{:#018x}", Pair::FINGERPRINT)),
            "both fingerprints: {text}"
        );
    }
    let rx = Receiver::<Reading>::open(&name).unwrap();
    assert!(rx.is_tracked());
}

#[test]
fn a_queue_without_companion_works_as_before_with_the_size_check_only() {
    let (name, _g) = guarded(Kind::Mq, "live-untyped");
    let raw = MessageQueue::create(&name, 2, std::mem::size_of::<Reading>()).unwrap();
    // Another type of the same size cannot be told apart without a companion: accepted.
    let rx = Receiver::<Pair>::open(&name).unwrap();
    assert!(!rx.is_tracked());
    assert_eq!(rx.senders(), None);
    let tx = Sender::<Reading>::open(&name).unwrap();
    tx.send(&Reading { seq: 5, value: 0.0 }).unwrap();
    drop(tx);
    assert!(rx.try_recv().is_ok());
    // No tracking: an empty queue is just empty, never "disconnected".
    assert_eq!(rx.try_recv().unwrap_err().kind(), ErrorKind::WouldBlock);
    // The size check still holds.
    #[derive(Clone, Copy, IpcMessage)]
    #[repr(C)]
    struct Wide {
        x: [u64; 4],
    }
    assert_eq!(
        Receiver::<Wide>::open(&name).unwrap_err().kind(),
        ErrorKind::Mismatch
    );
    drop(raw);
}

#[test]
fn a_leftover_companion_is_replaced_by_create_and_ignored_by_open() {
    let (name, _g) = guarded(Kind::Mq, "live-stale");
    let c_name = format!("{name}.pipc-q");
    let _c = common::guard(Kind::Shm, &c_name);
    // A typed queue whose queue is removed behind the typed API's back (raw mq_unlink):
    // its companion stays, describing a queue that no longer exists.
    let first = Sender::<Reading>::create(&name, 2).unwrap();
    let cname = std::ffi::CString::new(name.clone()).unwrap();
    // SAFETY: a valid NUL-terminated name.
    assert_eq!(unsafe { libc::mq_unlink(cname.as_ptr()) }, 0);
    drop(first);
    assert!(
        SharedMemory::open(&c_name).is_ok(),
        "the companion is left over"
    );
    // An untyped queue of that name: the old companion does not describe it, so it is ignored.
    let raw = MessageQueue::create(&name, 2, 16).unwrap();
    let rx = Receiver::<Pair>::open(&name).unwrap();
    assert!(
        !rx.is_tracked(),
        "a companion of an earlier queue is not this queue's"
    );
    drop(rx);
    raw.unlink().unwrap();
    // A typed create replaces the leftover and works for another type.
    let tx = Sender::<Pair>::create(&name, 2).unwrap();
    let rx = Receiver::<Pair>::open(&name).unwrap();
    assert!(rx.is_tracked());
    assert_eq!(
        Receiver::<Reading>::open(&name).unwrap_err().kind(),
        ErrorKind::Mismatch
    );
    tx.send(&Pair { a: 1, b: 2, c: 3 }).unwrap();
    assert_eq!(rx.recv().unwrap(), Pair { a: 1, b: 2, c: 3 });
    tx.unlink().unwrap();
    assert!(
        SharedMemory::open(&c_name).is_err(),
        "unlink removes the companion too"
    );
}

#[test]
fn create_of_an_existing_typed_queue_fails_and_keeps_it() {
    let (name, _g) = guarded(Kind::Mq, "live-exists");
    let tx = Sender::<Reading>::create(&name, 2).unwrap();
    let err = Receiver::<Reading>::create(&name, 2).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    assert!(err.to_string().contains("posix-ipc clean --stale"), "{err}");
    // Both the queue and its companion are intact.
    let rx = Receiver::<Reading>::open(&name).unwrap();
    assert!(rx.is_tracked());
    tx.send(&Reading { seq: 1, value: 0.0 }).unwrap();
    assert_eq!(rx.recv().unwrap().seq, 1);
    // open_or_create adopts it, with the type check.
    assert!(Receiver::<Reading>::open_or_create(&name, 2)
        .unwrap()
        .is_tracked());
    assert_eq!(
        Receiver::<Pair>::open_or_create(&name, 2)
            .unwrap_err()
            .kind(),
        ErrorKind::Mismatch
    );
}

#[test]
fn peers_are_counted_per_side() {
    let (name, _g) = guarded(Kind::Mq, "live-count");
    let q = TypedQueue::<Reading>::create(&name, 2).unwrap();
    assert_eq!(
        (q.senders().unwrap().len(), q.receivers().unwrap().len()),
        (0, 0)
    );
    let t1 = q.sender().unwrap();
    let t2 = q.sender().unwrap();
    let r1 = q.receiver().unwrap();
    let me = std::process::id();
    assert_eq!(q.senders().unwrap(), [me, me]);
    assert_eq!(q.receivers().unwrap(), [me]);
    assert_eq!(t1.receivers().unwrap(), [me]);
    assert_eq!(r1.senders().unwrap(), [me, me]);
    drop((t1, t2));
    assert!(q.senders().unwrap().is_empty());
    assert_eq!(
        r1.recv_timeout(WAIT).unwrap_err().kind(),
        ErrorKind::Disconnected
    );
}
