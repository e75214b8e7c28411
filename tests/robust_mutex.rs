//! RobustMutex: a cross-process lock that is handed over when its holder dies.

mod common;

use std::time::{Duration, Instant};

use common::{guarded, Kind};
use posix_ipc::{ErrorKind, RobustMutex};

#[test]
fn lock_try_lock_timeout_and_relock_errors() {
    let (name, _g) = guarded(Kind::Shm, "mutex-basic");
    let a = RobustMutex::create(&name).unwrap();
    assert!(a.created());
    assert_eq!(
        RobustMutex::create(&name).unwrap_err().kind(),
        ErrorKind::AlreadyExists
    );
    let b = RobustMutex::open(&name).unwrap();
    assert!(!b.created());
    let guard = a.lock().unwrap();
    assert!(!guard.previous_owner_died());
    // Same thread, same or other handle: error-checking, not a silent self-deadlock.
    assert_eq!(a.try_lock().unwrap_err().kind(), ErrorKind::Deadlock);
    assert_eq!(b.lock().unwrap_err().kind(), ErrorKind::Deadlock);
    std::thread::scope(|s| {
        s.spawn(|| {
            assert_eq!(b.try_lock().unwrap_err().kind(), ErrorKind::WouldBlock);
            let start = Instant::now();
            let err = b.lock_timeout(Duration::from_millis(50)).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
            assert!(start.elapsed() >= Duration::from_millis(50));
            assert!(err.to_string().contains(&name), "{err}");
        });
    });
    drop(guard);
    std::thread::scope(|s| {
        s.spawn(|| {
            let g = b.try_lock().unwrap();
            assert!(!g.previous_owner_died());
        });
    });
}

#[test]
fn a_thread_that_exits_holding_the_lock_hands_it_over_as_owner_died() {
    let (name, _g) = guarded(Kind::Shm, "mutex-thread-death");
    let m = RobustMutex::create(&name).unwrap();
    std::thread::scope(|s| {
        s.spawn(|| {
            let other = RobustMutex::open(&name).unwrap();
            std::mem::forget(other.lock().unwrap());
            // `other` is dropped with a leaked guard: its mapping is kept (see Drop) because
            // this thread's robust list points into it until the thread exits.
        });
    });
    let g = m.lock_timeout(Duration::from_secs(5)).unwrap();
    assert!(g.previous_owner_died());
    drop(g);
    let g = m.try_lock().unwrap();
    assert!(
        !g.previous_owner_died(),
        "consistent again after the takeover"
    );
}

#[test]
fn opening_something_else_is_a_mismatch_and_a_missing_one_not_found() {
    let (name, _g) = guarded(Kind::Shm, "mutex-foreign");
    let shm = posix_ipc::SharedMemory::create(&name, 4096).unwrap();
    shm.map().unwrap().write_at(0, b"NOTMUTEX").unwrap();
    shm.map()
        .unwrap()
        .write_at(12, &1u32.to_ne_bytes())
        .unwrap();
    assert_eq!(
        RobustMutex::open(&name).unwrap_err().kind(),
        ErrorKind::Mismatch
    );
    let (missing, _g2) = guarded(Kind::Shm, "mutex-missing");
    assert_eq!(
        RobustMutex::open(&missing).unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn open_or_create_makes_one_and_then_opens_it() {
    let (name, _g) = guarded(Kind::Shm, "mutex-ooc");
    let a = RobustMutex::open_or_create(&name).unwrap();
    let b = RobustMutex::open_or_create(&name).unwrap();
    assert!(a.created() && !b.created());
    let mode = std::fs::metadata(format!("/dev/shm{name}")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(mode.permissions().mode() & 0o777, 0o600);
}
