//! Stopping blocked calls (issue 12, item 1): a `CancelToken` from another thread, and Ctrl-C or
//! SIGTERM with `posix_ipc::signals` on, stop every kind of wait with `ErrorKind::Cancelled`,
//! having done nothing (no message taken or sent, no unit acquired). Without either, calls
//! wait as before.
//!
//! The signal scenario runs `POSIX_IPC_FAULT_ITERATIONS` (default 100) child processes, each
//! blocked in turn in every kind of wait and stopped by a real SIGINT or SIGTERM; it prints one
//! summary line (uncaptured), as does each token scenario, which `scripts/reliability` matches by
//! its wording and puts in RELIABILITY.md.

mod common;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{guarded, Kind};
use posix_ipc::{
    CancelToken, ErrorKind, IpcMessage, MessageQueue, Receiver, RingMode, RingReceiver, RingSender,
    RobustMutex, Semaphore, Sender, Shared, SharedMemory, Timeout,
};

#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct Tick {
    seq: u64,
    value: f64,
}

const HANG: Duration = Duration::from_secs(10);

/// Runs `wait` on a thread, waits until that thread sleeps in the kernel, cancels `token`, and
/// returns the wait's result and how long after the cancel it returned. Fails the test if the
/// wait does not return (a hang guard, not a speed target: the latency is printed).
fn cancel_while_blocked<R: Send + 'static>(
    token: &CancelToken,
    wait: impl FnOnce() -> posix_ipc::Result<R> + Send + 'static,
) -> (posix_ipc::Result<R>, Duration) {
    let (r, (), took) = cancel_while_blocked_with(token, (), move |()| (wait(), ()));
    (r, took)
}

/// As [`cancel_while_blocked`], handing `state` to the waiting thread and back (a handle that
/// must stay alive, such as the only consumer of a ring).
fn cancel_while_blocked_with<R: Send + 'static, S: Send + 'static>(
    token: &CancelToken,
    state: S,
    wait: impl FnOnce(S) -> (posix_ipc::Result<R>, S) + Send + 'static,
) -> (posix_ipc::Result<R>, S, Duration) {
    let (tid_tx, tid_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        tid_tx.send(common::gettid()).unwrap();
        let (r, state) = wait(state);
        let _ = done_tx.send((r, state, Instant::now()));
    });
    let tid = tid_rx.recv().unwrap();
    assert!(
        common::wait_until_sleeping(std::process::id(), tid),
        "the waiting thread never went to sleep"
    );
    // Still blocked: nothing came back yet.
    assert!(
        done_rx.try_recv().is_err(),
        "the wait returned before the cancel"
    );
    let cancelled_at = Instant::now();
    token.cancel();
    let (r, state, at) = done_rx
        .recv_timeout(HANG)
        .expect("the wait did not return within 10 s of the cancel");
    (r, state, at.saturating_duration_since(cancelled_at))
}

fn expect_cancelled<R>(what: &str, r: posix_ipc::Result<R>, took: Duration) {
    match r {
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Cancelled, "{what}: {e}");
            assert!(e.to_string().contains("CancelToken"), "{what}: {e}");
        }
        Ok(_) => panic!("{what}: the wait completed instead of being cancelled"),
    }
    common::say(&format!(
        "cancel: {what} returned {:.3} ms after the cancel",
        took.as_secs_f64() * 1e3
    ));
}

#[test]
fn a_token_stops_a_semaphore_acquire_and_takes_no_unit() {
    let (name, _g) = guarded(Kind::Sem, "cancel-sem");
    let token = CancelToken::new();
    let sem = Semaphore::create(&name, 0).unwrap().with_cancel(&token);
    let s2 = Semaphore::open(&name).unwrap().with_cancel(&token);
    let (r, took) = cancel_while_blocked(&token, move || s2.acquire());
    expect_cancelled("semaphore acquire", r, took);
    // A later release is not swallowed by the stopped wait.
    sem.release().unwrap();
    assert_eq!(sem.value().unwrap(), 1);
    // While cancelled, a call that can complete at once still does; one that must wait stops.
    sem.acquire().unwrap();
    assert_eq!(sem.acquire().unwrap_err().kind(), ErrorKind::Cancelled);
    token.reset();
    assert_eq!(
        sem.acquire_timeout(Duration::from_millis(20))
            .unwrap_err()
            .kind(),
        ErrorKind::TimedOut
    );
}

#[test]
fn a_token_stops_queue_receive_and_send_without_losing_a_message() {
    let (name, _g) = guarded(Kind::Mq, "cancel-mq");
    let token = CancelToken::new();
    let mq = MessageQueue::create(&name, 2, 16).unwrap();
    let rx = MessageQueue::open(&name).unwrap().with_cancel(&token);
    let (r, took) = cancel_while_blocked(&token, move || rx.receive());
    expect_cancelled("queue receive", r, took);
    token.reset();

    mq.send(b"one", 1).unwrap();
    mq.send(b"two", 2).unwrap();
    let tx = MessageQueue::open(&name).unwrap().with_cancel(&token);
    let (r, took) = cancel_while_blocked(&token, move || tx.send(b"three", 3));
    expect_cancelled("queue send", r, took);
    // Exactly what was there: nothing lost, the stopped send added nothing.
    assert_eq!(mq.current_messages().unwrap(), 2);
    assert_eq!(mq.receive().unwrap(), (b"two".to_vec(), 2));
    assert_eq!(mq.receive().unwrap(), (b"one".to_vec(), 1));
    assert!(mq.try_receive().unwrap_err().is_busy());
}

#[test]
fn a_token_stops_typed_queue_ends_and_the_iterator_ends_after_it() {
    let (name, _g) = guarded(Kind::Mq, "cancel-typed");
    let token = CancelToken::new();
    let tx = Sender::<Tick>::create(&name, 1).unwrap();
    let rx = Receiver::<Tick>::open(&name).unwrap().with_cancel(&token);
    let (r, took) = cancel_while_blocked(&token, move || {
        let mut it = rx.iter();
        let first = it.next().expect("the iterator yields the cancellation");
        assert!(
            it.next().is_none(),
            "the iterator ends after a cancellation"
        );
        first
    });
    expect_cancelled("typed receive (iter)", r, took);
    token.reset();
    tx.send(&Tick { seq: 1, value: 1.0 }).unwrap();
    let tx2 = Sender::<Tick>::open(&name).unwrap().with_cancel(&token);
    let (r, took) = cancel_while_blocked(&token, move || tx2.send(&Tick { seq: 2, value: 2.0 }));
    expect_cancelled("typed send", r, took);
    let rx = Receiver::<Tick>::open(&name).unwrap();
    assert_eq!(rx.try_recv().unwrap().seq, 1);
    assert_eq!(rx.try_recv().unwrap_err().kind(), ErrorKind::WouldBlock);
}

#[test]
fn a_token_wakes_ring_sleepers_on_both_sides() {
    for mode in [RingMode::Spsc, RingMode::Mpmc] {
        let (name, _g) = guarded(Kind::Shm, "cancel-ring");
        let token = CancelToken::new();
        let rx = RingReceiver::<Tick>::create(&name, 2, mode)
            .unwrap()
            .with_cancel(&token);
        let tx = RingSender::<Tick>::open(&name).unwrap().with_cancel(&token);
        let (r, rx, took) = cancel_while_blocked_with(&token, rx, |rx| (rx.recv(), rx));
        expect_cancelled(&format!("ring receive ({mode:?})"), r, took);
        token.reset();
        tx.send(&Tick { seq: 1, value: 0.0 }).unwrap();
        tx.send(&Tick { seq: 2, value: 0.0 }).unwrap();
        let (r, _tx, took) =
            cancel_while_blocked_with(&token, tx, |tx| (tx.send(&Tick { seq: 3, value: 0.0 }), tx));
        expect_cancelled(&format!("ring send ({mode:?})"), r, took);
        // The consumer receives exactly the two messages sent; the stopped send added nothing.
        token.reset();
        assert_eq!(rx.try_recv().unwrap().seq, 1);
        assert_eq!(rx.try_recv().unwrap().seq, 2);
        assert_eq!(rx.try_recv().unwrap_err().kind(), ErrorKind::WouldBlock);
    }
}

#[test]
fn a_token_stops_a_shared_store_waiting_for_the_lock_and_a_wait_change() {
    let (name, _g) = guarded(Kind::Shm, "cancel-shared");
    let token = CancelToken::new();
    let shared = std::sync::Arc::new(Shared::create(&name, &Tick { seq: 0, value: 0.0 }).unwrap());
    // Another thread holds the write lock in the middle of an update.
    let (held_tx, held_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let holder = {
        let shared = std::sync::Arc::clone(&shared);
        std::thread::spawn(move || {
            shared
                .update(|v| {
                    held_tx.send(()).unwrap();
                    release_rx.recv().unwrap();
                    v.seq = 1;
                })
                .unwrap();
        })
    };
    held_rx.recv().unwrap();
    let writer = Shared::<Tick>::open(&name).unwrap().with_cancel(&token);
    let (r, took) = cancel_while_blocked(&token, move || {
        writer.store(&Tick {
            seq: 99,
            value: 0.0,
        })
    });
    expect_cancelled("Shared store waiting for the lock", r, took);
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    // The stopped store published nothing: the value is the holder's.
    assert_eq!(shared.load().seq, 1);
    assert_eq!(shared.version(), 1);

    token.reset();
    let reader = Shared::<Tick>::open(&name).unwrap().with_cancel(&token);
    let (r, took) = cancel_while_blocked(&token, move || reader.wait_change(1, Timeout::Infinite));
    expect_cancelled("Shared wait_change", r, took);
}

#[test]
fn a_token_stops_a_robust_mutex_lock() {
    let (name, _g) = guarded(Kind::Shm, "cancel-mutex");
    let token = CancelToken::new();
    let mutex = std::sync::Arc::new(RobustMutex::create(&name).unwrap());
    let (held_tx, held_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let holder = {
        let mutex = std::sync::Arc::clone(&mutex);
        std::thread::spawn(move || {
            let _g = mutex.lock().unwrap();
            held_tx.send(()).unwrap();
            release_rx.recv().unwrap();
        })
    };
    held_rx.recv().unwrap();
    let other = RobustMutex::open(&name).unwrap().with_cancel(&token);
    let (r, took) = cancel_while_blocked(&token, move || other.lock().map(|_| ()));
    expect_cancelled("RobustMutex lock", r, took);
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    assert!(!mutex.try_lock().unwrap().previous_owner_died());
}

#[test]
fn shared_wait_change_wakes_on_a_store_from_another_process() {
    let (name, _g) = guarded(Kind::Shm, "wait-change");
    let (go_name, _g2) = guarded(Kind::Sem, "wait-change-go");
    let shared = Shared::create(&name, &Tick { seq: 0, value: 0.0 }).unwrap();
    let go = Semaphore::create(&go_name, 0).unwrap();
    let (_, version) = shared.load_versioned();
    let mut child = common::spawn_child("child_entry", "store-later", &[&name, &go_name]);
    common::wait_line(&mut child, "ready");
    let reader = Shared::<Tick>::open(&name).unwrap();
    let (tid_tx, tid_rx) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        tid_tx.send(common::gettid()).unwrap();
        reader.wait_change(version, Timeout::After(HANG))
    });
    let tid = tid_rx.recv().unwrap();
    // The reader sleeps on the futex before the store is made: the store must wake it.
    assert!(common::wait_until_sleeping(std::process::id(), tid));
    go.release().unwrap();
    let (value, v) = waiter
        .join()
        .unwrap()
        .expect("the child's store wakes the waiter");
    assert_eq!((value.seq, v), (42, version + 1));
    // Nothing newer yet: an immediate look says so.
    assert_eq!(
        shared
            .wait_change(v, Timeout::Immediate)
            .unwrap_err()
            .kind(),
        ErrorKind::WouldBlock
    );
    common::expect_success(child, "the storing child");
}

// --- signals: a real SIGINT or SIGTERM stops each kind of wait ---------------------------------

/// The waits a child blocks in, one after the other, for the signal scenario.
const KINDS: [&str; 10] = [
    "sem-acquire",
    "mq-receive",
    "mq-send-full",
    "typed-recv",
    "typed-send-full",
    "ring-recv",
    "ring-send-full",
    "shared-lock",
    "shared-wait-change",
    "mutex-lock",
];

/// Blocks in the wait `kind` on objects named after `base` (owned, so they go when the child
/// returns); returns the error that ended it.
fn block_in(kind: &str, base: &str) -> posix_ipc::Error {
    let name = format!("{base}-{kind}");
    let err = match kind {
        "sem-acquire" => {
            let s = Semaphore::create_owned(&name, 0).unwrap();
            say_ready(kind);
            s.acquire().unwrap_err()
        }
        "mq-receive" => {
            let q = MessageQueue::create_owned(&name, 1, 8).unwrap();
            say_ready(kind);
            q.receive().unwrap_err()
        }
        "mq-send-full" => {
            let q = MessageQueue::create_owned(&name, 1, 8).unwrap();
            q.send(b"x", 0).unwrap();
            say_ready(kind);
            q.send(b"y", 0).unwrap_err()
        }
        "typed-recv" => {
            let rx = Receiver::<Tick>::create_owned(&name, 1).unwrap();
            say_ready(kind);
            rx.recv().unwrap_err()
        }
        "typed-send-full" => {
            let tx = Sender::<Tick>::create_owned(&name, 1).unwrap();
            tx.send(&Tick { seq: 0, value: 0.0 }).unwrap();
            say_ready(kind);
            tx.send(&Tick { seq: 1, value: 0.0 }).unwrap_err()
        }
        "ring-recv" => {
            let rx = RingReceiver::<Tick>::create_owned(&name, 2, RingMode::Spsc).unwrap();
            say_ready(kind);
            rx.recv().unwrap_err()
        }
        "ring-send-full" => {
            let tx = RingSender::<Tick>::create_owned(&name, 2, RingMode::Mpmc).unwrap();
            tx.send(&Tick { seq: 0, value: 0.0 }).unwrap();
            tx.send(&Tick { seq: 1, value: 0.0 }).unwrap();
            say_ready(kind);
            tx.send(&Tick { seq: 2, value: 0.0 }).unwrap_err()
        }
        "shared-lock" => {
            let s = std::sync::Arc::new(
                Shared::create_owned(&name, &Tick { seq: 0, value: 0.0 }).unwrap(),
            );
            let (held_tx, held_rx) = mpsc::channel();
            let holder = std::sync::Arc::clone(&s);
            // A thread that holds the write lock until the process ends (parked forever).
            std::thread::spawn(move || {
                let _ = holder.update(|_| {
                    held_tx.send(()).unwrap();
                    loop {
                        std::thread::park();
                    }
                });
            });
            held_rx.recv().unwrap();
            say_ready(kind);
            let err = s.store(&Tick { seq: 9, value: 0.0 }).unwrap_err();
            // The parked holder keeps its Arc: remove the name by hand.
            let _ = posix_ipc::unlink_shared_memory(&name);
            err
        }
        "shared-wait-change" => {
            let s = Shared::create_owned(&name, &Tick { seq: 0, value: 0.0 }).unwrap();
            say_ready(kind);
            s.wait_change(0, Timeout::Infinite).unwrap_err()
        }
        "mutex-lock" => {
            let m = std::sync::Arc::new(RobustMutex::create_owned(&name).unwrap());
            let (held_tx, held_rx) = mpsc::channel();
            let holder = std::sync::Arc::clone(&m);
            std::thread::spawn(move || {
                let _g = holder.lock().unwrap();
                held_tx.send(()).unwrap();
                loop {
                    std::thread::park();
                }
            });
            held_rx.recv().unwrap();
            say_ready(kind);
            let err = m.lock().unwrap_err();
            let _ = posix_ipc::unlink_shared_memory(&name);
            err
        }
        other => panic!("unknown wait {other}"),
    };
    err
}

fn say_ready(kind: &str) {
    println!("ready {kind} {}", common::gettid());
}

#[test]
#[ignore = "child-process entry point, run by the tests that spawn it"]
fn child_entry() {
    let Some((role, args)) = common::child_role() else {
        panic!("child_entry runs only as a child process");
    };
    match role.as_str() {
        "store-later" => {
            let s = Shared::<Tick>::open(&args[0]).unwrap();
            let go = Semaphore::open(&args[1]).unwrap();
            println!("ready");
            // Stores once the parent's reader is asleep in wait_change.
            go.acquire_timeout(HANG).unwrap();
            s.store(&Tick {
                seq: 42,
                value: 0.0,
            })
            .unwrap();
        }
        "stop-each-wait" => {
            let token = posix_ipc::signals::stop_on_signals().unwrap();
            for kind in KINDS {
                let err = block_in(kind, &args[0]);
                assert_eq!(err.kind(), ErrorKind::Cancelled, "{kind}: {err}");
                println!("cancelled {kind} by {}", token.signal().unwrap_or(0));
                token.reset();
            }
            println!("all stopped");
        }
        "stuck-with-owners" => {
            posix_ipc::signals::stop_on_signals().unwrap();
            let _q = MessageQueue::create_owned(&format!("{}-q", args[0]), 1, 8).unwrap();
            let _m = SharedMemory::create_owned(&format!("{}-m", args[0]), 4096).unwrap();
            let _s = Semaphore::create_owned(&format!("{}-s", args[0]), 0).unwrap();
            let _t = Receiver::<Tick>::create_owned(&format!("{}-t", args[0]), 1).unwrap();
            println!("ready");
            // Busy elsewhere: never waits in posix-ipc, so only a second signal ends it. It
            // says when it has seen the first one, and goes on.
            let mut said = false;
            loop {
                if posix_ipc::signals::stop_requested() && !said {
                    println!("stop seen");
                    said = true;
                }
                std::thread::yield_now();
            }
        }
        other => panic!("unknown child role {other}"),
    }
}

/// A child killed (and reaped) when dropped, so a failing test does not leave it blocked.
struct KillOnDrop(Option<std::process::Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(c) = &mut self.0 {
            if matches!(c.try_wait(), Ok(None)) {
                let _ = c.kill();
            }
            let _ = c.wait();
        }
    }
}

/// Reads the child's next line of its own, skipping the test harness's lines (its first line
/// follows the harness's "test child_entry ... " on the same line).
fn next_line(out: &mut impl std::io::BufRead) -> String {
    loop {
        let mut line = String::new();
        let n = out.read_line(&mut line).expect("read the child's stdout");
        assert!(n > 0, "the child's stdout ended");
        for word in ["ready ", "cancelled ", "all stopped"] {
            if let Some(at) = line.find(word) {
                return line[at..].to_string();
            }
        }
    }
}

#[test]
fn sigint_and_sigterm_stop_every_kind_of_wait_and_owners_remove_their_objects() {
    let n = common::iterations();
    let mut stops = 0u64;
    let mut worst = Duration::ZERO;
    for it in 0..n {
        let base = common::unique_name("sigstop");
        // If the test fails midway, the child is killed and the names are removed.
        let _names: Vec<_> = KINDS
            .iter()
            .flat_map(|k| {
                let n = format!("{base}-{k}");
                [
                    common::guard(Kind::Sem, &n),
                    common::guard(Kind::Shm, &n),
                    common::guard(Kind::Mq, &n),
                    common::guard(Kind::Shm, &format!("{n}.pipc-q")),
                ]
            })
            .collect();
        let mut guard = KillOnDrop(Some(common::spawn_child(
            "child_entry",
            "stop-each-wait",
            &[&base],
        )));
        let child = guard.0.as_mut().expect("just spawned");
        let pid = child.id();
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        for (k, kind) in KINDS.iter().enumerate() {
            let line = next_line(&mut out);
            let tid: i32 = line
                .trim_end()
                .rsplit(' ')
                .next()
                .and_then(|t| t.parse().ok())
                .unwrap_or_else(|| panic!("iteration {it}: expected ready {kind}, got {line:?}"));
            assert!(line.contains(&format!("ready {kind}")), "{line}");
            assert!(
                common::wait_until_sleeping(pid, tid),
                "iteration {it}: {kind} never blocked"
            );
            let signal = if (it as usize + k) % 2 == 0 {
                libc::SIGINT
            } else {
                libc::SIGTERM
            };
            let sent = Instant::now();
            // SAFETY: kill(2) with the pid of our own running child.
            assert_eq!(unsafe { libc::kill(pid as i32, signal) }, 0);
            let line = next_line(&mut out);
            worst = worst.max(sent.elapsed());
            assert_eq!(
                line.trim_end(),
                format!("cancelled {kind} by {signal}"),
                "iteration {it}"
            );
            stops += 1;
        }
        assert_eq!(next_line(&mut out).trim_end(), "all stopped");
        let status = child.wait().unwrap();
        assert!(
            status.success(),
            "iteration {it}: the child failed ({status})"
        );
        let left: Vec<_> = std::fs::read_dir("/dev/shm")
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|f| f.contains(base.trim_start_matches('/')))
            .collect();
        assert!(left.is_empty(), "iteration {it}: owners left {left:?}");
        for kind in [
            "mq-receive",
            "mq-send-full",
            "typed-recv",
            "typed-send-full",
        ] {
            assert!(
                MessageQueue::open(&format!("{base}-{kind}")).is_err(),
                "iteration {it}: queue {kind} left behind"
            );
        }
    }
    common::say(&format!(
        "signals: {n} processes x {} kinds of wait: {stops} blocked calls stopped by SIGINT or \
         SIGTERM, each returned Cancelled and its owned objects were removed; slowest stop \
         {:.1} ms (signal sent to cancelled line read)",
        KINDS.len(),
        worst.as_secs_f64() * 1e3
    ));
}

#[test]
fn a_second_signal_ends_a_stuck_program_and_removes_what_its_owners_hold() {
    use std::os::unix::process::ExitStatusExt;
    let base = common::unique_name("stuck");
    let _names = [
        common::guard(Kind::Mq, &format!("{base}-q")),
        common::guard(Kind::Shm, &format!("{base}-m")),
        common::guard(Kind::Sem, &format!("{base}-s")),
        common::guard(Kind::Mq, &format!("{base}-t")),
        common::guard(Kind::Shm, &format!("{base}-t.pipc-q")),
    ];
    let mut guard = KillOnDrop(Some(common::spawn_child(
        "child_entry",
        "stuck-with-owners",
        &[&base],
    )));
    let child = guard.0.as_mut().expect("just spawned");
    common::wait_line(child, "ready");
    let pid = child.id() as i32;
    // SAFETY: kill(2) with the pid of our own running child.
    unsafe { libc::kill(pid, libc::SIGINT) };
    common::wait_line(child, "stop seen");
    assert!(
        child.try_wait().unwrap().is_none(),
        "one signal only stops waits; the busy child runs on"
    );
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(libc::SIGINT),
        "it ends as SIGINT would end it: {status}"
    );
    assert!(
        MessageQueue::open(&format!("{base}-q")).is_err(),
        "the owned queue was removed"
    );
    assert!(
        SharedMemory::open(&format!("{base}-m")).is_err(),
        "the owned segment was removed"
    );
    assert!(
        Semaphore::open(&format!("{base}-s")).is_err(),
        "the owned semaphore was removed"
    );
    assert!(
        MessageQueue::open(&format!("{base}-t")).is_err()
            && SharedMemory::open(&format!("{base}-t.pipc-q")).is_err(),
        "the owned typed queue and its companion were removed"
    );
}

#[test]
fn without_a_token_a_signal_handler_does_not_stop_typed_waits() {
    // A handler installed the usual way (signal-hook, with SA_RESTART): the typed layer keeps
    // waiting, with the same deadline, as before.
    let (name, _g) = guarded(Kind::Mq, "no-token");
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    signal_hook::flag::register(libc::SIGUSR1, std::sync::Arc::clone(&flag)).unwrap();
    let rx = Receiver::<Tick>::create(&name, 1).unwrap();
    let tx = Sender::<Tick>::open(&name).unwrap();
    let (tid_tx, tid_rx) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        tid_tx.send(common::gettid()).unwrap();
        rx.recv()
    });
    let tid = tid_rx.recv().unwrap();
    assert!(common::wait_until_sleeping(std::process::id(), tid));
    for _ in 0..5 {
        // SAFETY: tgkill with this process and the waiting thread's id.
        unsafe { libc::syscall(libc::SYS_tgkill, std::process::id(), tid, libc::SIGUSR1) };
        std::thread::sleep(Duration::from_millis(5));
    }
    tx.send(&Tick { seq: 7, value: 0.0 }).unwrap();
    assert_eq!(waiter.join().unwrap().unwrap().seq, 7);
    assert!(flag.load(std::sync::atomic::Ordering::SeqCst));
}
