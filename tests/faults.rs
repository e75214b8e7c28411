//! Fault scenarios (issue 6, reference `reliability.md` §4.4), each run many times in a loop:
//! processes killed with SIGKILL in the middle of sending, receiving, writing and holding locks;
//! a signal storm during blocking waits; full queues and rings; peers truncating live segments.
//!
//! Iterations per scenario: `POSIX_IPC_FAULT_ITERATIONS` (default 100, the CI size). Each
//! scenario prints one summary line (uncaptured) with its figures; `scripts/reliability` matches
//! them by their wording and puts them in RELIABILITY.md (change the script with the wording).

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::Child;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{guarded, Kind};
use posix_ipc::{
    ErrorKind, IpcMessage, MessageQueue, Receiver, RingMode, RingReceiver, RingSender, RobustMutex,
    Sender, Shared, SharedMemory,
};

#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct Msg {
    seq: u64,
    check: u64,
    payload: [u64; 6],
}

fn msg(seq: u64) -> Msg {
    Msg {
        seq,
        check: !seq,
        payload: [seq.wrapping_mul(0x9e37_79b9_7f4a_7c15); 6],
    }
}

/// Whether every word agrees with `seq`: a torn or garbled message fails this.
fn intact(m: &Msg) -> bool {
    m.check == !m.seq && m.payload == [m.seq.wrapping_mul(0x9e37_79b9_7f4a_7c15); 6]
}

/// A 4 KiB struct: a store takes long enough for a SIGKILL to land in the middle of it.
#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct Big {
    seq: u64,
    words: [u64; 511],
}

fn big(seq: u64) -> Big {
    Big {
        seq,
        words: [seq ^ 0x5555_5555_5555_5555; 511],
    }
}

fn big_intact(b: &Big) -> bool {
    b.words.iter().all(|&w| w == b.seq ^ 0x5555_5555_5555_5555)
}

const WAIT: Duration = Duration::from_secs(20);

/// A small deterministic spread of kill points (1..=max), different in every iteration.
fn kill_point(iteration: u64, max: u64) -> u64 {
    1 + iteration
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .rotate_left(17)
        % max
}

fn kill(child: &mut Child) {
    child.kill().expect("SIGKILL the child");
    let status = child.wait().expect("reap the child");
    assert!(!status.success(), "the child was killed, not finished");
}

/// A child that sends `msg(0)`, `msg(1)`, ... until it is killed, after saying "ready".
fn produce(send: impl Fn(&Msg) -> posix_ipc::Result<()>) -> ! {
    println!("ready");
    let mut seq = 0;
    loop {
        send(&msg(seq)).unwrap();
        seq += 1;
    }
}

/// A child that receives and prints "got <seq>" for each intact message until it is killed,
/// after saying "ready".
fn consume(recv: impl Fn() -> posix_ipc::Result<Msg>) -> ! {
    println!("ready");
    loop {
        let m = recv().unwrap();
        assert!(intact(&m));
        println!("got {}", m.seq);
    }
}

// --- child processes ----------------------------------------------------------------------------

#[test]
#[ignore = "child-process entry point, run by the tests that spawn it"]
fn child_entry() {
    let Some((role, args)) = common::child_role() else {
        panic!("child_entry runs only as a child process");
    };
    let name = args.first().cloned().unwrap_or_default();
    match role.as_str() {
        "mq-produce" => {
            let tx = Sender::<Msg>::open(&name).unwrap();
            produce(|m| tx.send(m))
        }
        "mq-consume" => {
            let rx = Receiver::<Msg>::open(&name).unwrap();
            consume(|| rx.recv())
        }
        "ring-produce" => {
            let tx = RingSender::<Msg>::open(&name).unwrap();
            produce(|m| tx.send(m))
        }
        "ring-consume" => {
            let rx = RingReceiver::<Msg>::open(&name).unwrap();
            consume(|| rx.recv())
        }
        "shared-write" => {
            let s = Shared::<Big>::open(&name).unwrap();
            println!("ready");
            for seq in 1.. {
                s.store(&big(seq)).unwrap();
            }
        }
        "shared-hold" => {
            let s = Shared::<Big>::open(&name).unwrap();
            s.update(|v| {
                v.seq = u64::MAX; // a half-done update that must never be published
                println!("holding");
                loop {
                    std::thread::park();
                }
            })
            .unwrap();
        }
        "mutex-hold" => {
            let m = RobustMutex::open(&name).unwrap();
            let _g = m.lock().unwrap();
            println!("locked");
            loop {
                std::thread::park();
            }
        }
        "truncate" => {
            let size: u64 = args[1].parse().unwrap();
            SharedMemory::open(&name).unwrap().resize(size).unwrap();
            println!("truncated");
        }
        other => panic!("unknown child role {other}"),
    }
}

// --- FK1: a queue producer killed mid-send -----------------------------------------------------

#[test]
fn fk1_queue_producer_killed_mid_send_loses_and_duplicates_nothing() {
    let n = common::iterations();
    let mut checked = 0u64;
    for it in 0..n {
        let (name, _g) = guarded(Kind::Mq, "fk1");
        let rx = Receiver::<Msg>::create(&name, 4).unwrap();
        let mut child = common::spawn_child("child_entry", "mq-produce", &[&name]);
        common::wait_line(&mut child, "ready");
        let k = kill_point(it, 40);
        let mut next = 0;
        while next < k {
            let m = rx.recv_timeout(WAIT).unwrap();
            assert!(intact(&m), "iteration {it}: torn message {m:?}");
            assert_eq!(m.seq, next, "iteration {it}: lost or duplicated");
            next += 1;
        }
        kill(&mut child);
        // What the producer queued before it died is all there, in order, whole; then the
        // receiver knows that no producer is left.
        loop {
            match rx.try_recv() {
                Ok(m) => {
                    assert!(intact(&m), "iteration {it}: torn message {m:?}");
                    assert_eq!(m.seq, next, "iteration {it}: lost or duplicated");
                    next += 1;
                }
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::Disconnected, "{e}");
                    break;
                }
            }
        }
        checked += next;
    }
    common::say(&format!(
        "faults: FK1 queue producer SIGKILLed mid-send: {n} iterations, {checked} messages \
         checked, 0 torn, 0 lost, 0 duplicated"
    ));
}

// --- FK2: a queue consumer killed mid-receive ---------------------------------------------------

/// Seqs a consumer child printed before it died.
fn printed(child: &mut Child) -> Vec<u64> {
    BufReader::new(child.stdout.take().expect("piped stdout"))
        .lines()
        .map_while(|l| l.ok())
        .filter_map(|l| l.split("got ").nth(1).and_then(|s| s.trim().parse().ok()))
        .collect()
}

/// At most one message (the one in flight) may be missing from `seen`, nothing duplicated.
fn check_at_most_one_lost(it: u64, seen: &[u64], sent: u64) -> u64 {
    let set: HashSet<u64> = seen.iter().copied().collect();
    assert_eq!(
        set.len(),
        seen.len(),
        "iteration {it}: duplicated: {seen:?}"
    );
    assert!(set.iter().all(|&s| s < sent), "iteration {it}: never sent");
    let lost = sent - set.len() as u64;
    assert!(lost <= 1, "iteration {it}: {lost} lost of {sent}");
    lost
}

#[test]
fn fk2_queue_consumer_killed_mid_receive_loses_at_most_the_message_in_flight() {
    let n = common::iterations();
    let (mut sent_total, mut lost_total) = (0u64, 0u64);
    for it in 0..n {
        let (name, _g) = guarded(Kind::Mq, "fk2");
        let tx = Sender::<Msg>::create(&name, 4).unwrap();
        let mut child = common::spawn_child("child_entry", "mq-consume", &[&name]);
        common::wait_line(&mut child, "ready");
        let sent = kill_point(it, 40);
        for seq in 0..sent {
            tx.send_timeout(&msg(seq), WAIT).unwrap();
        }
        kill(&mut child);
        let mut seen = printed(&mut child);
        let rx = Receiver::<Msg>::from_queue(MessageQueue::open(&name).unwrap()).unwrap();
        while let Ok(m) = rx.try_recv() {
            assert!(intact(&m));
            seen.push(m.seq);
        }
        lost_total += check_at_most_one_lost(it, &seen, sent);
        sent_total += sent;
    }
    common::say(&format!(
        "faults: FK2 queue consumer SIGKILLed mid-receive: {n} iterations, {sent_total} sent, \
         {lost_total} lost in flight (at most 1 per kill), 0 duplicated"
    ));
}

// --- ring: producer and consumer killed -------------------------------------------------------

#[test]
fn ring_producer_killed_mid_send_never_tears_loses_or_hangs() {
    let n = common::iterations();
    let mut checked = 0u64;
    for mode in [RingMode::Spsc, RingMode::Mpmc] {
        for it in 0..n {
            let (name, _g) = guarded(Kind::Shm, "fk1-ring");
            let rx = RingReceiver::<Msg>::create(&name, 16, mode).unwrap();
            let mut child = common::spawn_child("child_entry", "ring-produce", &[&name]);
            common::wait_line(&mut child, "ready");
            let k = kill_point(it, 2000);
            let mut next = 0u64;
            let mut killed = false;
            loop {
                match rx.recv_timeout(WAIT) {
                    Ok(m) => {
                        assert!(intact(&m), "{mode:?} iteration {it}: torn {m:?}");
                        assert_eq!(m.seq, next, "{mode:?} iteration {it}: lost or duplicated");
                        next += 1;
                        if next == k {
                            kill(&mut child);
                            killed = true;
                        }
                    }
                    Err(e) => {
                        assert_eq!(e.kind(), ErrorKind::Disconnected, "{mode:?}: {e}");
                        break;
                    }
                }
            }
            assert!(killed, "{mode:?} iteration {it}");
            checked += next;
        }
    }
    common::say(&format!(
        "faults: ring producer SIGKILLed mid-send: {n} iterations x SPSC and MPMC, {checked} \
         messages checked, 0 torn, 0 lost, 0 duplicated, every receiver woke Disconnected"
    ));
}

#[test]
fn ring_consumer_killed_mid_receive_loses_at_most_one_and_never_blocks_the_producer() {
    let n = common::iterations();
    let (mut sent_total, mut lost_total) = (0u64, 0u64);
    for it in 0..n {
        let (name, _g) = guarded(Kind::Shm, "fk2-ring");
        let tx = RingSender::<Msg>::create(&name, 8, RingMode::Mpmc).unwrap();
        let mut child = common::spawn_child("child_entry", "ring-consume", &[&name]);
        common::wait_line(&mut child, "ready");
        let sent = kill_point(it, 200);
        for seq in 0..sent {
            tx.send_timeout(&msg(seq), WAIT).unwrap();
        }
        kill(&mut child);
        let mut seen = printed(&mut child);
        let rx = RingReceiver::<Msg>::open(&name).unwrap();
        while let Ok(m) = rx.try_recv() {
            assert!(intact(&m));
            seen.push(m.seq);
        }
        lost_total += check_at_most_one_lost(it, &seen, sent);
        sent_total += sent;
        // A slot the dead consumer had claimed is given back: a full lap still goes through.
        for seq in 0..8 {
            tx.send_timeout(&msg(seq), WAIT).unwrap();
            assert_eq!(rx.recv_timeout(WAIT).unwrap(), msg(seq));
        }
    }
    common::say(&format!(
        "faults: ring (MPMC) consumer SIGKILLed mid-receive: {n} iterations, {sent_total} sent, \
         {lost_total} lost in flight (at most 1 per kill), 0 duplicated, producer never stuck"
    ));
}

// --- FK3: a shared-struct writer killed mid-write ---------------------------------------------

#[test]
fn fk3_shared_writer_killed_mid_store_never_yields_a_torn_read() {
    let n = common::iterations();
    let mut loads = 0u64;
    for it in 0..n {
        let (name, _g) = guarded(Kind::Shm, "fk3");
        let s = Shared::create(&name, &big(0)).unwrap();
        let mut child = common::spawn_child("child_entry", "shared-write", &[&name]);
        common::wait_line(&mut child, "ready");
        let target = kill_point(it, 500);
        loop {
            let v = s.load();
            loads += 1;
            assert!(big_intact(&v), "iteration {it}: torn read at seq {}", v.seq);
            if s.version() >= target {
                break;
            }
        }
        kill(&mut child);
        for _ in 0..1000 {
            let v = s.load();
            loads += 1;
            assert!(big_intact(&v), "iteration {it}: torn read after the kill");
        }
        // The writer may have died holding the write lock: the next writer takes it over.
        s.store(&big(u64::MAX - it)).unwrap();
        assert_eq!(s.load(), big(u64::MAX - it));
    }
    common::say(&format!(
        "faults: FK3 shared-struct writer SIGKILLed mid-store: {n} iterations, {loads} loads, 0 \
         torn reads accepted, every next store succeeded"
    ));
}

// --- FK4: killed while holding a lock ---------------------------------------------------------

#[test]
fn fk4_shared_struct_lock_holder_killed_the_next_writer_recovers() {
    let n = common::iterations();
    let mut worst = Duration::ZERO;
    for it in 0..n {
        let (name, _g) = guarded(Kind::Shm, "fk4-shared");
        let s = Shared::create(&name, &big(1)).unwrap();
        let mut child = common::spawn_child("child_entry", "shared-hold", &[&name]);
        common::wait_line(&mut child, "holding");
        kill(&mut child);
        let start = Instant::now();
        s.update(|v| *v = big(v.seq + 1)).unwrap();
        worst = worst.max(start.elapsed());
        assert_eq!(
            s.load(),
            big(2),
            "iteration {it}: the dead holder's update is not seen"
        );
    }
    common::say(&format!(
        "faults: FK4 Shared<T> lock holder SIGKILLed: {n} iterations, every next writer took the \
         lock over (slowest {worst:?}), the half-done update never published"
    ));
}

#[test]
fn fk4_robust_mutex_holder_killed_the_next_locker_gets_owner_died() {
    let n = common::iterations();
    let mut worst = Duration::ZERO;
    for it in 0..n {
        let (name, _g) = guarded(Kind::Shm, "fk4-mutex");
        let m = RobustMutex::create(&name).unwrap();
        let mut child = common::spawn_child("child_entry", "mutex-hold", &[&name]);
        common::wait_line(&mut child, "locked");
        assert_eq!(m.try_lock().unwrap_err().kind(), ErrorKind::WouldBlock);
        kill(&mut child);
        let start = Instant::now();
        let g = m.lock_timeout(WAIT).unwrap();
        worst = worst.max(start.elapsed());
        assert!(g.previous_owner_died(), "iteration {it}");
        drop(g);
        assert!(!m.try_lock().unwrap().previous_owner_died());
    }
    common::say(&format!(
        "faults: FK4 RobustMutex holder SIGKILLed: {n} iterations, every next locker got it with \
         previous_owner_died (slowest {worst:?})"
    ));
}

// --- FS1: a signal storm during blocking waits ---------------------------------------------------

static SIGNALS: AtomicU64 = AtomicU64::new(0);

extern "C" fn count_signal(_: libc::c_int) {
    SIGNALS.fetch_add(1, Ordering::Relaxed);
}

/// Threads that receive the storm; `pthread_t`s are registered by the threads themselves.
struct Targets(std::sync::Mutex<Vec<libc::pthread_t>>);

impl Targets {
    fn enlist(&self) {
        // SAFETY: pthread_self has no preconditions.
        self.0.lock().unwrap().push(unsafe { libc::pthread_self() });
    }
}

#[test]
fn fs1_signal_storm_no_spurious_errors_and_deadlines_held() {
    // SIGUSR1 without SA_RESTART, so every blocking system call it hits fails with EINTR.
    // SAFETY: a valid sigaction whose handler only does an atomic increment
    // (async-signal-safe). No other test in this binary uses SIGUSR1.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = count_signal as *const () as libc::sighandler_t;
        sa.sa_flags = 0;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()), 0);
    }
    const N: u64 = 20_000;
    let timed = Duration::from_millis(100);
    let (q, _gq) = guarded(Kind::Mq, "fs1-q");
    let (e, _ge) = guarded(Kind::Mq, "fs1-empty");
    let (r, _gr) = guarded(Kind::Shm, "fs1-ring");
    let (re, _gre) = guarded(Kind::Shm, "fs1-ring-empty");
    let (mx, _gm) = guarded(Kind::Shm, "fs1-mutex");
    let rx = Receiver::<Msg>::create(&q, 4).unwrap();
    let tx = Sender::<Msg>::from_queue(MessageQueue::open(&q).unwrap()).unwrap();
    let empty = Receiver::<Msg>::create(&e, 2).unwrap();
    let ring_rx = RingReceiver::<Msg>::create(&r, 8, RingMode::Spsc).unwrap();
    let ring_tx = RingSender::<Msg>::open(&r).unwrap();
    let ring_empty_rx = RingReceiver::<Msg>::create(&re, 8, RingMode::Spsc).unwrap();
    let _ring_empty_tx = RingSender::<Msg>::open(&re).unwrap(); // so it is not "disconnected"
    let mutex = RobustMutex::create(&mx).unwrap();
    let targets = Targets(std::sync::Mutex::new(Vec::new()));
    let workers = 6;
    let go = std::sync::Barrier::new(workers + 1);
    let done = std::sync::Barrier::new(workers + 1);
    let may_exit = std::sync::Barrier::new(workers + 1);
    let stop = AtomicBool::new(false);
    let overshoot_ns = AtomicU64::new(0);
    let timed_waits = AtomicUsize::new(0);
    let note_overshoot = |start: Instant| {
        let took = start.elapsed();
        assert!(took >= timed, "returned early after {took:?}");
        overshoot_ns.fetch_max((took - timed).as_nanos() as u64, Ordering::Relaxed);
        timed_waits.fetch_add(1, Ordering::Relaxed);
    };
    let note_overshoot = &note_overshoot;
    let empty = &empty;
    let jobs: Vec<Box<dyn FnOnce() + Send + '_>> = vec![
        Box::new(|| {
            for seq in 0..N {
                tx.send_timeout(&msg(seq), WAIT).unwrap();
            }
        }),
        Box::new(|| {
            for seq in 0..N {
                let m = rx.recv_timeout(WAIT).unwrap();
                assert_eq!(m.seq, seq, "typed queue under the storm");
            }
        }),
        Box::new(move || {
            for seq in 0..N {
                ring_tx.send_timeout(&msg(seq), WAIT).unwrap();
            }
        }),
        Box::new(move || {
            for seq in 0..N {
                assert_eq!(
                    ring_rx.recv_timeout(WAIT).unwrap().seq,
                    seq,
                    "ring under the storm"
                );
            }
        }),
        Box::new(move || {
            let ring_empty = ring_empty_rx;
            for _ in 0..10 {
                let start = Instant::now();
                let err = empty.recv_timeout(timed).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
                note_overshoot(start);
                let start = Instant::now();
                let err = ring_empty.recv_timeout(timed).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
                note_overshoot(start);
            }
        }),
        Box::new(|| {
            // The main thread holds the mutex from before `go`.
            for _ in 0..10 {
                let start = Instant::now();
                let err = mutex.lock_timeout(timed).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
                note_overshoot(start);
            }
        }),
    ];
    assert_eq!(jobs.len(), workers);
    std::thread::scope(|s| {
        for job in jobs {
            let (targets, go, done, may_exit) = (&targets, &go, &done, &may_exit);
            s.spawn(move || {
                targets.enlist();
                go.wait();
                // A failing job must fail the test, not leave the others waiting at the
                // barriers: catch its panic, pass the barriers, then re-raise it. (Its peers
                // wait at most WAIT for it, then fail too.)
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                done.wait();
                may_exit.wait();
                if let Err(panic) = outcome {
                    std::panic::resume_unwind(panic);
                }
            });
        }
        let guard = mutex.lock().unwrap();
        let storm = s.spawn(|| {
            let mut sent = 0u64;
            while !stop.load(Ordering::Relaxed) {
                for &t in targets.0.lock().unwrap().iter() {
                    // SAFETY: every target thread stays alive until `may_exit`, which is passed
                    // only after this thread has stopped (joined below).
                    unsafe { libc::pthread_kill(t, libc::SIGUSR1) };
                    sent += 1;
                }
                std::thread::sleep(Duration::from_micros(100));
            }
            sent
        });
        go.wait();
        done.wait();
        stop.store(true, Ordering::Relaxed);
        let sent = storm.join().unwrap();
        may_exit.wait();
        drop(guard);
        let overshoot = Duration::from_nanos(overshoot_ns.load(Ordering::Relaxed));
        assert!(
            overshoot < Duration::from_secs(1),
            "deadline overshoot {overshoot:?}"
        );
        common::say(&format!(
            "faults: FS1 signal storm (SIGUSR1 without SA_RESTART, every ~100 us to {workers} \
             threads): {sent} signals sent, {} handled; {N} typed-queue and {N} ring messages \
             in order, 0 spurious errors; {} timed waits all TimedOut, none early, worst \
             overshoot {overshoot:?}",
            SIGNALS.load(Ordering::Relaxed),
            timed_waits.load(Ordering::Relaxed)
        ));
        assert!(
            SIGNALS.load(Ordering::Relaxed) > 0,
            "the storm reached no thread"
        );
    });
}

// --- FQ1: full queue and full ring -------------------------------------------------------------

#[test]
fn fq1_full_queue_blocking_loses_nothing_and_a_failed_try_send_queues_nothing() {
    const N: u64 = 100_000;
    let (name, _g) = guarded(Kind::Mq, "fq1");
    let rx = Receiver::<Msg>::create(&name, 4).unwrap();
    let tx = Sender::<Msg>::from_queue(MessageQueue::open(&name).unwrap()).unwrap();
    let busy = AtomicU64::new(0);
    std::thread::scope(|s| {
        s.spawn(|| {
            for seq in 0..N {
                if seq % 2 == 0 {
                    tx.send(&msg(seq)).unwrap();
                    continue;
                }
                loop {
                    match tx.try_send(&msg(seq)) {
                        Ok(()) => break,
                        Err(e) => {
                            assert_eq!(e.kind(), ErrorKind::WouldBlock, "{e}");
                            busy.fetch_add(1, Ordering::Relaxed);
                            std::thread::yield_now();
                        }
                    }
                }
            }
        });
        for seq in 0..N {
            let m = rx.recv_timeout(WAIT).unwrap();
            assert!(intact(&m));
            assert_eq!(m.seq, seq, "lost, duplicated or reordered");
        }
    });
    assert_eq!(rx.try_recv().unwrap_err().kind(), ErrorKind::WouldBlock);
    common::say(&format!(
        "faults: FQ1 full queue (depth 4): {N} messages, half blocking and half try_send; {} \
         try_send calls found it full and queued nothing; 0 lost, 0 duplicated, order held",
        busy.load(Ordering::Relaxed)
    ));
}

#[test]
fn fq1_full_ring_blocking_loses_nothing_and_a_failed_try_send_queues_nothing() {
    const N: u64 = 100_000;
    let (name, _g) = guarded(Kind::Shm, "fq1-ring");
    let rx = RingReceiver::<Msg>::create(&name, 4, RingMode::Mpmc).unwrap();
    let tx = RingSender::<Msg>::open(&name).unwrap();
    let busy = AtomicU64::new(0);
    std::thread::scope(|s| {
        let busy = &busy;
        s.spawn(move || {
            for seq in 0..N {
                if seq % 2 == 0 {
                    tx.send(&msg(seq)).unwrap();
                    continue;
                }
                while let Err(e) = tx.try_send(&msg(seq)) {
                    assert_eq!(e.kind(), ErrorKind::WouldBlock, "{e}");
                    busy.fetch_add(1, Ordering::Relaxed);
                    std::thread::yield_now();
                }
            }
        });
        for seq in 0..N {
            let m = rx.recv_timeout(WAIT).unwrap();
            assert!(intact(&m));
            assert_eq!(m.seq, seq, "lost, duplicated or reordered");
        }
    });
    common::say(&format!(
        "faults: FQ1 full ring (capacity 4, MPMC): {N} messages; {} try_send calls found it full \
         and queued nothing; 0 lost, 0 duplicated, order held",
        busy.load(Ordering::Relaxed)
    ));
}

// --- FT1: a peer truncates a live segment ------------------------------------------------------

#[test]
fn ft1_a_peer_truncating_a_live_segment_is_an_error_never_a_crash() {
    let n = common::iterations();
    let page = 4096usize;
    for it in 0..n {
        let (name, _g) = guarded(Kind::Shm, "ft1");
        let shm = SharedMemory::create(&name, 4 * page as u64).unwrap();
        let map = shm.map().unwrap();
        map.write_at(3 * page, b"before").unwrap();
        let mut buf = [0u8; 6];
        map.read_at(3 * page, &mut buf).unwrap();
        assert!(!map.is_truncated());
        // Another process shrinks the segment to 100 bytes under our mapping.
        let child = common::spawn_child("child_entry", "truncate", &[&name, "100"]);
        common::expect_success(child, "truncate");
        // Page 0 still exists: reading it works.
        map.read_at(0, &mut buf).unwrap();
        // Page 3 is gone: touching it would be SIGBUS; here it is an error.
        let err = map.read_at(3 * page, &mut buf).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Mismatch, "iteration {it}: {err}");
        assert!(err.to_string().contains("truncated"), "{err}");
        assert!(map.is_truncated());
        assert_eq!(
            map.write_at(2 * page, b"x").unwrap_err().kind(),
            ErrorKind::Mismatch
        );
    }
    // The typed layers on a truncated segment: errors, not crashes or hangs.
    let (name, _g) = guarded(Kind::Shm, "ft1-shared");
    let shared = Shared::create(&name, &big(7)).unwrap();
    SharedMemory::open(&name).unwrap().resize(8).unwrap();
    let _ = shared.load(); // zeros or a copy, never a crash
    assert_eq!(
        shared.store(&big(8)).unwrap_err().kind(),
        ErrorKind::Mismatch
    );
    let (name, _g) = guarded(Kind::Shm, "ft1-ring");
    let rx = RingReceiver::<Msg>::create(&name, 64, RingMode::Spsc).unwrap();
    let _tx = RingSender::<Msg>::open(&name).unwrap();
    SharedMemory::open(&name).unwrap().resize(8).unwrap();
    // Its header page keeps existing (zeroed past byte 8), so the ring may just look empty:
    // a bounded wait ends with an error, never a crash or a hang.
    let err = rx.recv_timeout(Duration::from_secs(1)).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Mismatch | ErrorKind::TimedOut | ErrorKind::Disconnected
        ),
        "{err}"
    );
    common::say(&format!(
        "faults: FT1 peer truncated a live segment: {n} iterations, every access past the new \
         end an ErrorKind::Mismatch, 0 SIGBUS; Shared<T> store reports it, a ring receive ends in an error"
    ));
}
