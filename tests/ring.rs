//! Shared-memory ring channels: SPSC and MPMC, blocking, batches, type checks at open,
//! disconnection (graceful and SIGKILL), and several producer and consumer processes.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::{guarded, Kind};
use posix_ipc::{ErrorKind, IpcMessage, RingMode, RingReceiver, RingSender, SharedMemory};

#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct Msg {
    producer: u32,
    pad: u32,
    seq: u64,
    payload: [u64; 6],
}

fn msg(producer: u32, seq: u64) -> Msg {
    Msg {
        producer,
        pad: 0,
        seq,
        payload: [seq.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ u64::from(producer); 6],
    }
}

/// Whether every payload word matches the header: a torn message fails this.
fn intact(m: &Msg) -> bool {
    m.payload == [m.seq.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ u64::from(m.producer); 6]
}

#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct Other {
    x: u64,
}

const WAIT: Duration = Duration::from_secs(20);

/// Offsets from the segment layout documented in `posix_ipc::typed::ring`.
const TAIL: usize = 128;
const PRODUCERS: usize = 768;

#[test]
fn spsc_send_receive_batches_and_full_and_empty() {
    let (name, _g) = guarded(Kind::Shm, "ring-spsc");
    let rx = RingReceiver::<Msg>::create(&name, 8, RingMode::Spsc).unwrap();
    let tx = RingSender::<Msg>::open(&name).unwrap();
    assert_eq!((tx.capacity(), tx.mode()), (8, RingMode::Spsc));
    for i in 0..8 {
        tx.send(&msg(0, i)).unwrap();
    }
    assert_eq!(
        tx.try_send(&msg(0, 8)).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
    let err = tx
        .send_timeout(&msg(0, 8), Duration::from_millis(30))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimedOut);
    assert_eq!(rx.recv().unwrap(), msg(0, 0));
    let mut got = Vec::new();
    assert_eq!(rx.recv_batch(&mut got, 100).unwrap(), 7);
    assert_eq!(got, (1..8).map(|i| msg(0, i)).collect::<Vec<_>>());
    let batch: Vec<Msg> = (8..20).map(|i| msg(0, i)).collect();
    assert_eq!(tx.try_send_batch(&batch), 8, "only 8 fit");
    got.clear();
    assert_eq!(rx.try_recv_batch(&mut got, 3), 3);
    assert_eq!(got, (8..11).map(|i| msg(0, i)).collect::<Vec<_>>());
    got.clear();
    assert_eq!(rx.try_recv_batch(&mut got, 100), 5);
    assert_eq!(rx.try_recv().unwrap_err().kind(), ErrorKind::WouldBlock);
    let start = Instant::now();
    let err = rx.recv_timeout(Duration::from_millis(50)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimedOut);
    assert!(start.elapsed() >= Duration::from_millis(50));
}

#[test]
fn dropping_the_only_producer_disconnects_after_the_ring_is_drained() {
    let (name, _g) = guarded(Kind::Shm, "ring-drop");
    let rx = RingReceiver::<Msg>::create(&name, 16, RingMode::Spsc).unwrap();
    let tx = RingSender::<Msg>::open(&name).unwrap();
    tx.send_batch(&[msg(0, 1), msg(0, 2)]).unwrap();
    drop(tx);
    assert_eq!(rx.recv().unwrap().seq, 1);
    assert_eq!(rx.recv().unwrap().seq, 2, "drained before disconnecting");
    let err = rx.recv().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Disconnected);
    assert!(err.to_string().contains("every producer has gone"), "{err}");
    assert_eq!(rx.try_recv().unwrap_err().kind(), ErrorKind::Disconnected);
}

#[test]
fn a_receiver_blocked_before_the_producer_leaves_wakes_up_disconnected() {
    let (name, _g) = guarded(Kind::Shm, "ring-wake");
    let rx = RingReceiver::<Msg>::create(&name, 16, RingMode::Spsc).unwrap();
    let tx = RingSender::<Msg>::open(&name).unwrap();
    // The handles are Send but not Sync: the blocked receiver is moved to its thread.
    let waiter = std::thread::spawn(move || {
        let r = rx.recv_timeout(WAIT);
        (rx, r)
    });
    tx.send(&msg(0, 7)).unwrap();
    let (rx, r) = waiter.join().unwrap();
    assert_eq!(r.unwrap().seq, 7);
    let waiter = std::thread::spawn(move || rx.recv_timeout(WAIT).map_err(|e| e.kind()));
    drop(tx);
    assert_eq!(waiter.join().unwrap().unwrap_err(), ErrorKind::Disconnected);
}

#[test]
fn a_sender_blocked_on_a_full_ring_wakes_when_room_appears_or_the_consumer_leaves() {
    let (name, _g) = guarded(Kind::Shm, "ring-full");
    let tx = RingSender::<Msg>::create(&name, 2, RingMode::Spsc).unwrap();
    let rx = RingReceiver::<Msg>::open(&name).unwrap();
    tx.send(&msg(0, 0)).unwrap();
    tx.send(&msg(0, 1)).unwrap();
    let sender = std::thread::spawn(move || {
        let r = tx.send_timeout(&msg(0, 2), WAIT);
        (tx, r)
    });
    assert_eq!(rx.recv().unwrap().seq, 0);
    let (tx, r) = sender.join().unwrap();
    r.unwrap();
    // Full again; now the consumer leaves: the blocked sender is told.
    assert_eq!(rx.recv().unwrap().seq, 1);
    tx.send(&msg(0, 3)).unwrap();
    let sender =
        std::thread::spawn(move || tx.send_timeout(&msg(0, 4), WAIT).map_err(|e| e.kind()));
    drop(rx);
    assert_eq!(sender.join().unwrap().unwrap_err(), ErrorKind::Disconnected);
}

#[test]
fn opening_with_another_type_or_capacity_is_a_mismatch() {
    let (name, _g) = guarded(Kind::Shm, "ring-mismatch");
    let _rx = RingReceiver::<Msg>::create(&name, 16, RingMode::Spsc).unwrap();
    let err = RingSender::<Other>::open(&name).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Mismatch);
    assert!(err.to_string().contains("Other is 8 bytes"), "{err}");
    let err = RingSender::<Msg>::open_checked(&name, 32, RingMode::Spsc).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Mismatch);
    assert!(err.to_string().contains("capacity 16"), "{err}");
    let err = RingSender::<Msg>::open_checked(&name, 16, RingMode::Mpmc).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Mismatch);
    RingSender::<Msg>::open_checked(&name, 16, RingMode::Spsc).unwrap();
}

#[test]
fn a_foreign_or_half_made_segment_is_refused() {
    let (name, _g) = guarded(Kind::Shm, "ring-foreign");
    let shm = SharedMemory::create(&name, 8192).unwrap();
    shm.map().unwrap().write_at(0, b"not a ring").unwrap();
    let err = RingReceiver::<Msg>::open(&name).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Mismatch);
    let (name2, _g2) = guarded(Kind::Shm, "ring-empty");
    let _empty = SharedMemory::create(&name2, 0).unwrap();
    let start = Instant::now();
    let err = RingReceiver::<Msg>::open(&name2).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotInitialized);
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn capacity_must_be_a_power_of_two() {
    let (name, _g) = guarded(Kind::Shm, "ring-cap");
    for bad in [0, 1, 3, 1000] {
        let err = RingSender::<Msg>::create(&name, bad, RingMode::Spsc).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{bad}");
    }
    assert_eq!(
        SharedMemory::open(&name).unwrap_err().kind(),
        ErrorKind::NotFound,
        "nothing was created"
    );
}

#[test]
fn an_spsc_ring_takes_one_producer_at_a_time() {
    let (name, _g) = guarded(Kind::Shm, "ring-one");
    let _rx = RingReceiver::<Msg>::create(&name, 4, RingMode::Spsc).unwrap();
    let tx = RingSender::<Msg>::open(&name).unwrap();
    let err = RingSender::<Msg>::open(&name).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    assert!(err.to_string().contains("RingMode::Mpmc"), "{err}");
    drop(tx);
    RingSender::<Msg>::open(&name).unwrap();
}

/// A parent makes the ring for its children and takes no end: the children's producer and
/// consumer both attach to an SPSC ring, the typed ends find `T`'s stored layout, and a
/// consumer that comes first waits for the producer instead of being told it has gone.
#[test]
fn a_ring_made_without_an_end_is_joined_by_a_producer_and_a_consumer_later() {
    let (name, _g) = guarded(Kind::Shm, "ring-no-end");
    posix_ipc::typed::ring::RingOptions::new(8, RingMode::Spsc)
        .permissions(0o600)
        .create::<Msg>(&name)
        .unwrap();
    let rx = RingReceiver::<Msg>::open(&name).unwrap();
    assert!(!rx.created() && rx.layout().is_some());
    let err = rx.recv_timeout(Duration::from_millis(20)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
    let tx = RingSender::<Msg>::open(&name).unwrap();
    tx.send(&msg(0, 1)).unwrap();
    drop(tx);
    assert_eq!(rx.recv().unwrap().seq, 1);
    assert_eq!(rx.recv().unwrap_err().kind(), ErrorKind::Disconnected);
}

#[test]
fn mpmc_threads_lose_and_duplicate_nothing() {
    let (name, _g) = guarded(Kind::Shm, "ring-mpmc-threads");
    let rx = RingReceiver::<Msg>::create(&name, 64, RingMode::Mpmc).unwrap();
    const PER: u64 = 20_000;
    let seen = std::thread::scope(|s| {
        for p in 0..3u32 {
            let name = &name;
            s.spawn(move || {
                let tx = RingSender::<Msg>::open(name).unwrap();
                for i in 0..PER {
                    tx.send(&msg(p, i)).unwrap();
                }
            });
        }
        let other = s.spawn(|| {
            let rx2 = RingReceiver::<Msg>::open(&name).unwrap();
            let mut v = Vec::new();
            while let Ok(m) = rx2.recv_timeout(WAIT) {
                v.push(m);
            }
            v
        });
        let mut mine = Vec::new();
        while let Ok(m) = rx.recv_timeout(WAIT) {
            mine.push(m);
        }
        (mine, other.join().unwrap())
    });
    check_streams(&[seen.0, seen.1], 3, PER);
}

/// A consumer on a small MPMC ring that keeps running dry (the producer yields now and then)
/// goes in and out of its waiting path, where it looks for slots abandoned by dead producers:
/// it must never take a live producer's slot for one. (The deterministic replay of the race that
/// once lost a message this way is a unit test in `typed::ring`.)
#[test]
fn an_mpmc_consumer_that_waits_never_skips_a_live_producers_message() {
    let (name, _g) = guarded(Kind::Shm, "ring-mpmc-live");
    let rx = RingReceiver::<Msg>::create(&name, 4, RingMode::Mpmc).unwrap();
    const N: u64 = 200_000;
    std::thread::scope(|s| {
        let name = &name;
        s.spawn(move || {
            let tx = RingSender::<Msg>::open(name).unwrap();
            for i in 0..N {
                tx.send(&msg(0, i)).unwrap();
                if i % 64 == 0 {
                    std::thread::yield_now();
                }
            }
        });
        for i in 0..N {
            let m = rx.recv_timeout(WAIT).unwrap();
            assert!(intact(&m), "torn message {m:?}");
            assert_eq!(m.seq, i, "lost or duplicated");
        }
    });
}

/// Nothing lost or duplicated across the consumers, each producer's messages in order within
/// each consumer, every message intact.
fn check_streams(streams: &[Vec<Msg>], producers: u32, per: u64) {
    let mut count: HashMap<(u32, u64), u32> = HashMap::new();
    for stream in streams {
        let mut last: HashMap<u32, u64> = HashMap::new();
        for m in stream {
            assert!(intact(m), "torn message {m:?}");
            if let Some(prev) = last.insert(m.producer, m.seq) {
                assert!(
                    m.seq > prev,
                    "producer {} out of order: {prev} then {}",
                    m.producer,
                    m.seq
                );
            }
            *count.entry((m.producer, m.seq)).or_default() += 1;
        }
    }
    assert_eq!(
        count.len() as u64,
        u64::from(producers) * per,
        "lost messages"
    );
    assert!(count.values().all(|c| *c == 1), "duplicated messages");
}

// --- several processes --------------------------------------------------------------------------

#[test]
#[ignore = "child-process entry point, run by the tests that spawn it"]
fn child_entry() {
    let Some((role, args)) = common::child_role() else {
        panic!("child_entry runs only as a child process");
    };
    let name = &args[0];
    match role.as_str() {
        "produce" => {
            let id: u32 = args[1].parse().unwrap();
            let count: u64 = args[2].parse().unwrap();
            let tx = RingSender::<Msg>::open(name).unwrap();
            println!("ready");
            for i in 0..count {
                tx.send(&msg(id, i)).unwrap();
            }
        }
        "consume" => {
            let rx = RingReceiver::<Msg>::open(name).unwrap();
            println!("ready");
            let mut n = 0u64;
            let mut last: HashMap<u32, u64> = HashMap::new();
            let mut sum = 0u64;
            loop {
                match rx.recv_timeout(WAIT) {
                    Ok(m) => {
                        assert!(intact(&m), "torn message {m:?}");
                        if let Some(prev) = last.insert(m.producer, m.seq) {
                            assert!(m.seq > prev, "out of order");
                        }
                        n += 1;
                        sum = sum.wrapping_add(m.seq.wrapping_mul(31) + u64::from(m.producer));
                    }
                    Err(e) if e.kind() == ErrorKind::Disconnected => break,
                    Err(e) => panic!("consumer: {e}"),
                }
            }
            println!("received {n} checksum {sum}");
        }
        "claim-and-die" => {
            // A producer that claims the next slot and dies before publishing it, as a SIGKILL
            // between the claim and the publication would leave it (layout in the ring docs).
            let tx = RingSender::<Msg>::open(name).unwrap();
            let shm = SharedMemory::open(name).unwrap();
            let map = shm.map().unwrap();
            let tail_bytes = map.read_vec(TAIL, 8).unwrap();
            let tail = u64::from_ne_bytes(tail_bytes.try_into().unwrap());
            let me = std::process::id();
            let mut entry = None;
            for i in 0..32 {
                let pid = map.read_vec(PRODUCERS + i * 32, 4).unwrap();
                if u32::from_ne_bytes(pid.try_into().unwrap()) == me {
                    entry = Some(i);
                }
            }
            let entry = entry.expect("registered");
            map.write_at(PRODUCERS + entry * 32 + 16, &(tail + 1).to_ne_bytes())
                .unwrap();
            map.write_at(TAIL, &(tail + 1).to_ne_bytes()).unwrap();
            std::mem::forget(tx);
            // SAFETY: ends this child at once, like SIGKILL: no destructor runs.
            unsafe { libc::_exit(0) };
        }
        other => panic!("unknown role {other}"),
    }
}

#[test]
fn two_producer_and_two_consumer_processes_lose_and_duplicate_nothing() {
    let (name, _g) = guarded(Kind::Shm, "ring-mpmc-procs");
    let rx = RingReceiver::<Msg>::create(&name, 64, RingMode::Mpmc).unwrap();
    const PER: u64 = 50_000;
    let mut consumers: Vec<_> = (0..2)
        .map(|_| common::spawn_child("child_entry", "consume", &[&name]))
        .collect();
    for c in &mut consumers {
        common::wait_line(c, "ready");
    }
    drop(rx); // the two consumer processes take everything
              // A producer handle held until both producer processes have registered, so the consumers
              // cannot see "every producer gone" between the first finishing and the second starting.
    let holder = RingSender::<Msg>::open(&name).unwrap();
    let mut producers: Vec<_> = (0..2)
        .map(|p| {
            common::spawn_child(
                "child_entry",
                "produce",
                &[&name, &p.to_string(), &PER.to_string()],
            )
        })
        .collect();
    for p in &mut producers {
        common::wait_line(p, "ready");
    }
    drop(holder);
    for p in producers {
        common::expect_success(p, "producer");
    }
    let mut total = 0;
    for c in consumers {
        let out = common::expect_success(c, "consumer");
        let text = String::from_utf8_lossy(&out.stdout);
        let n: u64 = text
            .split("received ")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no count in {text}"));
        total += n;
    }
    assert_eq!(
        total,
        2 * PER,
        "every message received exactly once across both consumers"
    );
}

#[test]
fn killing_a_producer_mid_stream_never_hangs_or_tears_a_message() {
    for mode in [RingMode::Spsc, RingMode::Mpmc] {
        let (name, _g) = guarded(Kind::Shm, "ring-kill");
        let rx = RingReceiver::<Msg>::create(&name, 64, mode).unwrap();
        let mut child = common::spawn_child("child_entry", "produce", &[&name, "0", "100000000"]);
        common::wait_line(&mut child, "ready");
        let mut next = 0u64;
        let mut killed = false;
        loop {
            match rx.recv_timeout(WAIT) {
                Ok(m) => {
                    assert!(intact(&m), "torn message {m:?}");
                    assert_eq!(m.seq, next, "{mode:?}: lost or duplicated");
                    next += 1;
                    if next == 10_000 {
                        child.kill().unwrap();
                        child.wait().unwrap();
                        killed = true;
                    }
                }
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::Disconnected, "{mode:?}: {e}");
                    break;
                }
            }
        }
        assert!(killed && next >= 10_000, "{mode:?}");
    }
}

#[test]
fn a_slot_claimed_by_a_producer_that_died_before_publishing_is_skipped() {
    let (name, _g) = guarded(Kind::Shm, "ring-claim");
    let rx = RingReceiver::<Msg>::create(&name, 8, RingMode::Mpmc).unwrap();
    let tx = RingSender::<Msg>::open(&name).unwrap();
    tx.send(&msg(1, 0)).unwrap();
    let child = common::spawn_child("child_entry", "claim-and-die", &[&name]);
    common::expect_success(child, "claim-and-die");
    // Slot 1 is claimed and will never be published; slot 2 comes from the live producer.
    tx.send(&msg(1, 1)).unwrap();
    assert_eq!(rx.recv_timeout(WAIT).unwrap(), msg(1, 0));
    let start = Instant::now();
    assert_eq!(
        rx.recv_timeout(WAIT).unwrap(),
        msg(1, 1),
        "the dead claim was skipped"
    );
    assert!(start.elapsed() < WAIT);
    drop(tx);
    assert_eq!(
        rx.recv_timeout(WAIT).unwrap_err().kind(),
        ErrorKind::Disconnected
    );
}

#[test]
fn an_mpmc_end_can_be_cloned_for_another_thread_and_an_spsc_end_cannot() {
    let (name, _g) = guarded(Kind::Shm, "ring-clone");
    let rx = RingReceiver::<Msg>::create(&name, 64, RingMode::Mpmc).unwrap();
    let tx = RingSender::<Msg>::open(&name).unwrap();
    let threads: Vec<_> = (0..3u32)
        .map(|p| {
            let tx = tx.try_clone().expect("another producer of an MPMC ring");
            std::thread::spawn(move || {
                for seq in 0..1000 {
                    tx.send(&msg(p, seq)).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let mut next = HashMap::new();
    let mut got = 0;
    loop {
        match rx.recv() {
            Ok(m) => {
                assert!(intact(&m));
                let n = next.entry(m.producer).or_insert(0u64);
                assert_eq!(m.seq, *n, "in order per producer");
                *n += 1;
                got += 1;
            }
            // Every clone registered on its own and left when its thread ended.
            Err(e) if e.kind() == ErrorKind::Disconnected => break,
            Err(e) => panic!("{e}"),
        }
    }
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(got, 3000);
    let rx2 = rx.try_clone().expect("another consumer of an MPMC ring");
    assert_eq!(rx2.capacity(), 64);

    let (spsc, _g2) = guarded(Kind::Shm, "ring-clone-spsc");
    let srx = RingReceiver::<Msg>::create(&spsc, 4, RingMode::Spsc).unwrap();
    let stx = RingSender::<Msg>::open(&spsc).unwrap();
    for err in [stx.try_clone().unwrap_err(), srx.try_clone().unwrap_err()] {
        assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
        assert!(err.to_string().contains("RingMode::Mpmc"), "{err}");
    }
}
