//! posix_ipc's `tests/test_semaphores.py` (20 tests), ported, plus the defects posix_ipc has
//! and this crate must not (posix_ipc.md §1.9) and the edge cases it leaves untested.

mod common;

use std::time::{Duration, Instant};

use common::{guard, guarded, Kind};
use posix_ipc::{ErrorKind, Semaphore, Timeout, O_CREAT, O_CREX, O_EXCL, O_TRUNC};

/// posix_ipc's setUp: `Semaphore(None, O_CREX, initial_value=1)`, unlinked in tearDown.
fn setup() -> (Semaphore, common::Cleanup) {
    let sem = Semaphore::new(None, O_CREX, 0o600, 1).unwrap();
    let g = guard(Kind::Sem, sem.name());
    (sem, g)
}

// --- TestSemaphoreCreation ---------------------------------------------------------------

#[test]
fn no_flags_opens_the_existing_semaphore() {
    let (sem, _g) = setup();
    let other = Semaphore::new(Some(sem.name()), 0, 0o600, 0).unwrap();
    assert_eq!(other.name(), sem.name());
    assert!(!other.created());
    sem.release().unwrap();
    assert_eq!(other.value().unwrap(), 2, "both handles see one semaphore");
}

#[test]
fn o_creat_on_an_existing_semaphore_opens_it_and_ignores_the_initial_value() {
    let (sem, _g) = setup();
    let other = Semaphore::new(Some(sem.name()), O_CREAT, 0o600, 77).unwrap();
    assert!(!other.created());
    assert_eq!(other.value().unwrap(), 1);
}

#[test]
fn o_creat_on_a_new_name_creates() {
    let (name, _g) = guarded(Kind::Sem, "sem-creat-new");
    let sem = Semaphore::new(Some(&name), O_CREAT, 0o600, 3).unwrap();
    assert!(sem.created());
    assert_eq!(sem.value().unwrap(), 3);
}

#[test]
fn o_excl_on_an_existing_name_is_existential() {
    let (sem, _g) = setup();
    let err = Semaphore::new(Some(sem.name()), O_CREAT | O_EXCL, 0o600, 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    assert!(err.is_existential());
}

#[test]
fn o_crex_on_an_existing_name_is_existential() {
    let (sem, _g) = setup();
    let err = Semaphore::new(Some(sem.name()), O_CREX, 0o600, 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    let err = Semaphore::create(sem.name(), 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
}

#[test]
fn randomly_generated_name_has_posix_ipc_shape() {
    let (sem, _g) = setup();
    let name = sem.name();
    assert!(name.starts_with('/') && name.len() >= 2, "{name}");
    assert!((6..=13).contains(&name.len()), "{name}");
}

#[test]
fn name_without_slash_is_the_same_object() {
    let (name, _g) = guarded(Kind::Sem, "sem-noslash");
    let sem = Semaphore::create(&name, 5).unwrap();
    let other = Semaphore::open(name.trim_start_matches('/')).unwrap();
    assert_eq!(other.name(), name);
    assert_eq!(other.value().unwrap(), sem.value().unwrap());
}

#[test]
fn default_initial_value_is_zero() {
    let (name, _g) = guarded(Kind::Sem, "sem-default");
    let sem = Semaphore::new(Some(&name), O_CREX, 0o600, 0).unwrap();
    assert_eq!(sem.value().unwrap(), 0);
    let (name2, _g2) = guarded(Kind::Sem, "sem-default-builder");
    let sem2 = Semaphore::options().create_new(true).open(&name2).unwrap();
    assert_eq!(sem2.value().unwrap(), 0);
}

#[test]
fn zero_initial_value() {
    let (name, _g) = guarded(Kind::Sem, "sem-zero");
    assert_eq!(Semaphore::create(&name, 0).unwrap().value().unwrap(), 0);
}

#[test]
fn nonzero_initial_value() {
    let (name, _g) = guarded(Kind::Sem, "sem-42");
    assert_eq!(Semaphore::create(&name, 42).unwrap().value().unwrap(), 42);
}

#[test]
fn builder_accepts_every_constructor_argument() {
    // posix_ipc's test_kwargs: name, flags, mode, initial_value by keyword.
    let (name, _g) = guarded(Kind::Sem, "sem-kwargs");
    let sem = Semaphore::options()
        .create_new(true)
        .mode(0o640)
        .initial_value(2)
        .open(&name)
        .unwrap();
    assert_eq!(sem.mode(), 0o640);
    assert_eq!(sem.value().unwrap(), 2);
    assert_eq!(
        format!("{sem:?}"),
        format!("posix_ipc.Semaphore({name:?}, mode=0640)")
    );
    assert_eq!(sem.to_string(), name);
}

#[test]
fn o_trunc_is_accepted_and_ignored() {
    let (name, _g) = guarded(Kind::Sem, "sem-trunc");
    let sem = Semaphore::new(Some(&name), O_CREX | O_TRUNC, 0o600, 4).unwrap();
    assert_eq!(sem.value().unwrap(), 4);
}

#[test]
fn o_excl_without_o_creat_is_refused() {
    let (name, _g) = guarded(Kind::Sem, "sem-excl-only");
    let err = Semaphore::new(Some(&name), O_EXCL, 0o600, 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err
        .to_string()
        .contains("O_EXCL must be combined with O_CREAT"));
}

#[test]
fn none_name_requires_o_excl() {
    let err = Semaphore::new(None, O_CREAT, 0o600, 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("None"), "{err}");
}

#[test]
fn initial_value_above_sem_value_max_is_refused_before_creating() {
    let (name, _g) = guarded(Kind::Sem, "sem-toobig");
    let max = posix_ipc::limits::sem_value_max();
    let err = Semaphore::create(&name, max + 1).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("SEM_VALUE_MAX"), "{err}");
    assert_eq!(
        Semaphore::open(&name).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    // posix_ipc wraps 2**32 to 0 silently (D7); a u32 cannot even express it here.
    let sem = Semaphore::create(&name, max).unwrap();
    assert_eq!(sem.value().unwrap(), max);
}

// --- TestSemaphoreAquisitionAndRelease -----------------------------------------------------

#[test]
fn simple_acquisition() {
    let (sem, _g) = setup();
    sem.acquire().unwrap();
    assert_eq!(sem.value().unwrap(), 0);
}

#[test]
fn zero_timeout_acquires_once_then_is_busy() {
    let (sem, _g) = setup();
    sem.acquire_with(Timeout::Immediate).unwrap();
    let err = sem.acquire_with(Duration::ZERO).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WouldBlock);
    assert!(err.is_busy());
    assert_eq!(sem.try_acquire().unwrap_err().kind(), ErrorKind::WouldBlock);
}

fn assert_times_out_after(sem: &Semaphore, timeout: Duration) {
    let start = Instant::now();
    let err = sem.acquire_timeout(timeout).unwrap_err();
    let took = start.elapsed();
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
    assert!(err.is_busy());
    assert!(
        took >= timeout,
        "returned after {took:?}, before {timeout:?}"
    );
    assert!(
        took < timeout + Duration::from_millis(500),
        "took {took:?} for {timeout:?}"
    );
}

#[test]
fn nonzero_int_timeout_expires() {
    let (sem, _g) = setup();
    sem.acquire().unwrap();
    assert_times_out_after(&sem, Duration::from_secs(1));
}

#[test]
fn nonzero_float_timeout_expires() {
    let (sem, _g) = setup();
    sem.acquire().unwrap();
    let t = Timeout::from_secs_f64(1.5).unwrap();
    assert_eq!(t, Timeout::After(Duration::from_millis(1500)));
    assert_times_out_after(&sem, Duration::from_millis(1500));
}

#[test]
fn many_releases_succeed() {
    let (sem, _g) = setup();
    let n = 1_000_000u32.min(posix_ipc::limits::sem_value_max() - 1);
    for _ in 0..n {
        sem.release().unwrap();
    }
    assert_eq!(sem.value().unwrap(), 1 + n);
}

#[test]
fn guard_holds_the_semaphore_for_its_scope() {
    // posix_ipc's test_context_manager.
    let (sem, _g) = setup();
    {
        let _held = sem.acquire_guard().unwrap();
        assert_eq!(sem.value().unwrap(), 0);
        assert!(sem.try_acquire().unwrap_err().is_busy());
    }
    assert_eq!(sem.value().unwrap(), 1);
    sem.try_acquire().unwrap();
}

#[test]
fn guard_releases_when_the_scope_panics() {
    let (sem, _g) = setup();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _held = sem.acquire_guard().unwrap();
        panic!("error inside the guarded scope");
    }));
    assert!(result.is_err());
    assert_eq!(sem.value().unwrap(), 1, "released despite the panic");
}

#[test]
fn guard_with_timeout_and_explicit_release() {
    let (sem, _g) = setup();
    let held = sem.acquire_guard_with(Duration::from_millis(100)).unwrap();
    assert!(sem
        .acquire_guard_with(Duration::from_millis(50))
        .unwrap_err()
        .is_busy());
    held.release().unwrap();
    assert_eq!(sem.value().unwrap(), 1);
}

#[test]
fn release_at_sem_value_max_is_an_overflow_error() {
    let (name, _g) = guarded(Kind::Sem, "sem-overflow");
    let max = posix_ipc::limits::sem_value_max();
    let sem = Semaphore::create(&name, max).unwrap();
    let err = sem.release().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Overflow);
    assert_eq!(err.errno(), Some(libc::EOVERFLOW));
    assert!(err.to_string().contains(&max.to_string()), "{err}");
    assert_eq!(sem.value().unwrap(), max);
}

#[test]
fn a_release_from_another_thread_wakes_a_waiter() {
    let (sem, _g) = setup();
    sem.acquire().unwrap();
    std::thread::scope(|s| {
        let waiter = s.spawn(|| sem.acquire_timeout(Duration::from_secs(10)));
        // The waiter can only return Ok once the release below happens.
        sem.release().unwrap();
        waiter.join().unwrap().unwrap();
    });
    assert_eq!(sem.value().unwrap(), 0);
}

/// The state letter of thread `tid` of this process (`S` while it sleeps in a wait), or `None`
/// once it has exited.
fn thread_state(tid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..].trim_start().chars().next()
}

#[test]
fn huge_timeouts_wait_instead_of_failing_at_once() {
    // posix_ipc: timeout=1e20 overflows time_t and fails at once (D8). Here a waiter with a
    // huge timeout on a zero semaphore must really go to sleep, and succeed once released.
    let (sem, _g) = setup();
    sem.acquire().unwrap();
    for timeout in [
        Timeout::After(Duration::MAX),
        Timeout::from_secs_f64(1e20).unwrap(),
        Timeout::After(Duration::from_secs(u64::MAX / 2)),
    ] {
        let sem = &sem;
        std::thread::scope(|s| {
            let (tx, rx) = std::sync::mpsc::channel();
            let waiter = s.spawn(move || {
                // SAFETY: gettid has no preconditions.
                tx.send(unsafe { libc::gettid() }).unwrap();
                sem.acquire_with(timeout)
            });
            let tid = rx.recv().unwrap();
            // Wait (bounded) until the waiter sleeps in the kernel, or has already returned.
            let deadline = Instant::now() + Duration::from_secs(10);
            while thread_state(tid).is_some_and(|c| c != 'S') && Instant::now() < deadline {
                std::thread::yield_now();
            }
            assert!(
                !waiter.is_finished(),
                "{timeout:?}: the wait returned at once instead of sleeping"
            );
            sem.release().unwrap();
            waiter.join().unwrap().unwrap();
        });
    }
}

#[test]
fn negative_or_nan_float_timeouts_are_refused() {
    for bad in [-1.0, f64::NAN] {
        let err = Timeout::from_secs_f64(bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    }
}

// --- TestSemaphoreDestruction --------------------------------------------------------------

#[test]
fn after_unlink_and_close_reopening_is_existential() {
    let (sem, _g) = setup();
    let name = sem.name().to_owned();
    sem.unlink().unwrap();
    sem.close().unwrap();
    let err = Semaphore::open(&name).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[test]
fn an_unlinked_semaphore_stays_usable_until_closed() {
    let (sem, _g) = setup();
    sem.unlink().unwrap();
    sem.release().unwrap();
    assert_eq!(sem.value().unwrap(), 2);
    let err = sem.unlink().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "second unlink");
}

#[test]
fn unlink_works_by_name_after_close() {
    // posix_ipc documents this but raises ExistentialError (D9).
    let (name, _g) = guarded(Kind::Sem, "sem-close-unlink");
    Semaphore::create(&name, 0).unwrap().close().unwrap();
    posix_ipc::unlink_semaphore(&name).unwrap();
}

// --- TestSemaphorePropertiesAndAttributes --------------------------------------------------

#[test]
fn name_property_starts_with_a_slash() {
    let (sem, _g) = setup();
    assert!(sem.name().starts_with('/') && sem.name().len() >= 2);
}

#[test]
fn value_property() {
    let (sem, _g) = setup();
    assert_eq!(sem.value().unwrap(), 1);
}

#[test]
fn semaphore_handles_are_shareable_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Semaphore>();
}
