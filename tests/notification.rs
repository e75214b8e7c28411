//! posix_ipc's `TestMessageQueueNotification` (6 tests), ported, plus what it leaves untested:
//! another process gets BusyError, dropping a queue with a pending callback is safe (posix_ipc
//! 1.3.2 segfaults, D4), and a panicking callback does not take the process down.

mod common;

use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use common::{guard, guarded, Kind};
use posix_ipc::{ErrorKind, MessageQueue, Notification, O_CREX};
use signal_hook::iterator::Signals;

const WAIT: Duration = Duration::from_secs(10);

fn setup() -> (MessageQueue, common::Cleanup) {
    let mq = MessageQueue::new(None, O_CREX, 0o600, 10, 10, true, true).unwrap();
    let g = guard(Kind::Mq, mq.name());
    (mq, g)
}

/// Whether any process holds a notification registration on the queue. Probes with a raw
/// `SIGEV_NONE` registration (refused with EBUSY if one exists) and removes the probe.
fn registration_exists(mq: &MessageQueue) -> bool {
    use std::os::fd::AsRawFd;
    // SAFETY: an all-zero sigevent is valid; SIGEV_NONE delivers nothing.
    let mut ev: libc::sigevent = unsafe { std::mem::zeroed() };
    ev.sigev_notify = libc::SIGEV_NONE;
    // SAFETY: the descriptor is open for the duration of the call; `ev` is valid.
    let rc = unsafe { libc::mq_notify(mq.as_raw_fd(), &ev) };
    if rc == 0 {
        // SAFETY: as above; NULL cancels the probe registration.
        unsafe { libc::mq_notify(mq.as_raw_fd(), std::ptr::null()) };
        false
    } else {
        assert_eq!(
            std::io::Error::last_os_error().raw_os_error(),
            Some(libc::EBUSY)
        );
        true
    }
}

/// Waits (bounded) for one delivery of `signal` through signal-hook's self-pipe.
fn signal_waiter(signal: i32) -> (mpsc::Receiver<i32>, signal_hook::iterator::Handle) {
    let mut signals = Signals::new([signal]).unwrap();
    let handle = signals.handle();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for s in signals.forever() {
            if tx.send(s).is_err() {
                break;
            }
        }
    });
    (rx, handle)
}

#[test]
fn signal_notification_is_delivered() {
    let (mq, _g) = setup();
    let signal = *posix_ipc::USER_SIGNAL_MIN;
    let (rx, handle) = signal_waiter(signal);
    mq.request_notification(Notification::Signal(signal))
        .unwrap();
    assert!(registration_exists(&mq));
    mq.send(b"", 0).unwrap();
    assert_eq!(rx.recv_timeout(WAIT).unwrap(), signal);
    handle.close();
}

#[test]
fn signal_notification_is_one_shot() {
    let (mq, _g) = setup();
    let signal = *posix_ipc::USER_SIGNAL_MIN + 1;
    let (rx, handle) = signal_waiter(signal);
    mq.request_notification(Notification::Signal(signal))
        .unwrap();
    mq.send(b"1", 0).unwrap();
    assert_eq!(rx.recv_timeout(WAIT).unwrap(), signal);
    // The registration was consumed when it fired.
    assert!(!registration_exists(&mq));
    handle.close();
}

#[test]
fn cancel_with_no_argument_removes_the_registration() {
    let (mq, _g) = setup();
    let signal = *posix_ipc::USER_SIGNAL_MIN + 2;
    let (_rx, handle) = signal_waiter(signal);
    mq.request_notification(Notification::Signal(signal))
        .unwrap();
    assert!(registration_exists(&mq));
    mq.request_notification(Notification::Cancel).unwrap();
    assert!(!registration_exists(&mq));
    handle.close();
}

#[test]
fn cancel_many_times_is_fine() {
    let (mq, _g) = setup();
    for _ in 0..1000 {
        mq.request_notification(Notification::Cancel).unwrap();
    }
    assert!(!registration_exists(&mq));
}

#[test]
fn thread_notification_runs_the_callback_once() {
    let (mq, _g) = setup();
    let (tx, rx) = mpsc::channel();
    mq.request_notification(Notification::callback(move || {
        tx.send(std::thread::current().id()).unwrap();
    }))
    .unwrap();
    mq.send(b"x", 0).unwrap();
    let thread = rx.recv_timeout(WAIT).unwrap();
    assert_ne!(
        thread,
        std::thread::current().id(),
        "runs on another thread"
    );
    assert!(!registration_exists(&mq), "one-shot");
}

#[test]
fn thread_notification_can_rearm_itself() {
    let (mq, _g) = setup();
    let mq = Arc::new(mq);
    let (tx, rx) = mpsc::channel();

    fn arm(mq: Arc<MessageQueue>, tx: mpsc::Sender<Vec<u8>>) {
        let again = Arc::clone(&mq);
        mq.request_notification(Notification::callback(move || {
            let (msg, _) = again.try_receive().unwrap();
            arm(Arc::clone(&again), tx.clone());
            tx.send(msg).unwrap();
        }))
        .unwrap();
    }

    arm(Arc::clone(&mq), tx);
    for i in 0..10u8 {
        mq.send(&[i], 0).unwrap();
        assert_eq!(rx.recv_timeout(WAIT).unwrap(), vec![i]);
    }
    mq.request_notification(Notification::Cancel).unwrap();
}

#[test]
fn signal_numbers_outside_the_valid_range_are_refused() {
    let (mq, _g) = setup();
    for bad in [0, -1, *posix_ipc::USER_SIGNAL_MAX + 1, 999] {
        let err = mq
            .request_notification(Notification::Signal(bad))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{bad}");
    }
}

#[test]
fn another_process_gets_busy_while_this_one_is_registered() {
    let (mq, _g) = setup();
    mq.request_notification(Notification::callback(|| {}))
        .unwrap();
    let child = common::spawn_child("child_entry", "notify-busy", &[mq.name()]);
    let out = common::expect_success(child, "notify-busy child");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("busy: NotificationBusy"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    mq.request_notification(Notification::Cancel).unwrap();
    // Now the child may register.
    let child = common::spawn_child("child_entry", "notify-free", &[mq.name()]);
    let out = common::expect_success(child, "notify-free child");
    assert!(String::from_utf8_lossy(&out.stdout).contains("registered"));
}

#[test]
#[ignore = "child-process entry point, run by the tests that spawn it"]
fn child_entry() {
    let Some((role, args)) = common::child_role() else {
        panic!("child_entry runs only as a child process");
    };
    let mq = MessageQueue::open(&args[0]).unwrap();
    let result = mq.request_notification(Notification::Signal(*posix_ipc::USER_SIGNAL_MIN));
    match (role.as_str(), result) {
        ("notify-busy", Err(e)) => {
            assert!(e.is_busy());
            println!("busy: {:?}", e.kind());
        }
        ("notify-free", Ok(())) => println!("registered"),
        (role, r) => panic!("{role}: unexpected {r:?}"),
    }
}

#[test]
fn dropping_a_queue_with_a_pending_callback_is_safe() {
    // posix_ipc 1.3.2 D4: GC the queue with a pending (f, p) registration, then send: segfault.
    let (name, _g) = guarded(Kind::Mq, "notify-drop");
    let mq = MessageQueue::create(&name, 2, 8).unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    mq.request_notification(Notification::callback(move || {
        let _ = tx.send(());
    }))
    .unwrap();
    drop(mq);
    let other = MessageQueue::open(&name).unwrap();
    assert!(!registration_exists(&other), "dropping cancelled it");
    other.send(b"after", 0).unwrap();
    // The callback (and its sender) were destroyed with the registration: the channel is
    // disconnected rather than delivering.
    assert_eq!(
        rx.recv_timeout(WAIT).unwrap_err(),
        mpsc::RecvTimeoutError::Disconnected
    );
}

#[test]
fn a_panicking_callback_does_not_take_the_process_down() {
    let (mq, _g) = setup();
    mq.request_notification(Notification::callback(|| {
        panic!("callback panics on purpose")
    }))
    .unwrap();
    mq.send(b"1", 0).unwrap();
    // Once the panicking callback has run, the registration is consumed and a new one works.
    let (tx, rx) = mpsc::channel();
    mq.receive().unwrap();
    let deadline = std::time::Instant::now() + WAIT;
    while registration_exists(&mq) {
        assert!(
            std::time::Instant::now() < deadline,
            "the first notification never fired"
        );
        std::thread::yield_now();
    }
    mq.request_notification(Notification::callback(move || tx.send(()).unwrap()))
        .unwrap();
    mq.send(b"2", 0).unwrap();
    rx.recv_timeout(WAIT).unwrap();
}

#[test]
fn dropping_a_callback_that_owns_another_queue_with_a_callback_does_not_deadlock() {
    // A's pending callback holds the last handle of B, and B has a pending callback of its
    // own. Dropping A destroys A's callback, which drops B, which cancels B's callback: the
    // registry of callbacks must not still be locked by A at that moment.
    let (a, _ga) = setup();
    let (b, _gb) = setup();
    b.request_notification(Notification::callback(|| {}))
        .unwrap();
    let b = Arc::new(b);
    let held = Arc::clone(&b);
    a.request_notification(Notification::callback(move || drop(held)))
        .unwrap();
    drop(b);
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        drop(a);
        let _ = done.send(());
    });
    finished
        .recv_timeout(WAIT)
        .expect("dropping A deadlocked on the callback registry");
}
