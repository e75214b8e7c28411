//! Robust process-shared mutexes (`pthread_mutex_*`).

use std::ffi::c_int;
use std::time::Duration;

use super::*;

#[cfg(target_env = "gnu")]
extern "C" {
    // glibc >= 2.30; the libc crate does not declare it.
    fn pthread_mutex_clocklock(
        mutex: *mut libc::pthread_mutex_t,
        clock: libc::clockid_t,
        abstime: *const libc::timespec,
    ) -> c_int;
}

/// How a lock attempt on a robust mutex ended well.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Locked {
    /// Taken normally.
    Clean,
    /// Taken from an owner that died holding it (`EOWNERDEAD`); not yet marked consistent.
    OwnerDied,
}

pub(super) fn locked(rc: c_int) -> SysResult<Locked> {
    match rc {
        0 => Ok(Locked::Clean),
        libc::EOWNERDEAD => Ok(Locked::OwnerDied),
        e => Err(e),
    }
}

/// Initialises `*m` as an error-checking, process-shared, robust mutex.
///
/// # Safety
///
/// `m` points to writable memory of `size_of::<pthread_mutex_t>()` bytes, aligned for it, that
/// no thread in any process uses as a mutex yet (the caller has just created it).
pub(crate) unsafe fn robust_mutex_init(m: *mut libc::pthread_mutex_t) -> SysResult<()> {
    let mut attr = std::mem::MaybeUninit::<libc::pthread_mutexattr_t>::uninit();
    // SAFETY: `attr` is valid writable storage for an attribute object, initialised by the
    // first call before the others use it and destroyed once at the end; `m` satisfies
    // `pthread_mutex_init`'s requirements by this function's contract.
    unsafe {
        check_rc(libc::pthread_mutexattr_init(attr.as_mut_ptr()))?;
        let a = attr.as_mut_ptr();
        let rc = (|| {
            check_rc(libc::pthread_mutexattr_settype(
                a,
                libc::PTHREAD_MUTEX_ERRORCHECK,
            ))?;
            check_rc(libc::pthread_mutexattr_setpshared(
                a,
                libc::PTHREAD_PROCESS_SHARED,
            ))?;
            check_rc(libc::pthread_mutexattr_setrobust(
                a,
                libc::PTHREAD_MUTEX_ROBUST,
            ))?;
            check_rc(libc::pthread_mutex_init(m, a))
        })();
        libc::pthread_mutexattr_destroy(a);
        rc
    }
}

pub(super) fn check_rc(rc: c_int) -> SysResult<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(rc)
    }
}

/// Locks `*m`, waiting until `deadline` (absolute `CLOCK_MONOTONIC` time) or forever.
///
/// # Safety
///
/// `m` points to a mutex initialised by [`robust_mutex_init`] (here or in another process),
/// in memory that stays mapped while this thread holds the lock.
pub(crate) unsafe fn robust_mutex_lock(
    m: *mut libc::pthread_mutex_t,
    deadline: Option<Duration>,
) -> SysResult<Locked> {
    match deadline {
        // SAFETY: `m` is an initialised mutex by the contract.
        None => locked(unsafe { libc::pthread_mutex_lock(m) }),
        Some(at) => {
            let ts = timespec_of(at);
            #[cfg(target_env = "gnu")]
            // SAFETY: as above; `ts` is a valid normalised absolute time.
            let rc = unsafe { pthread_mutex_clocklock(m, libc::CLOCK_MONOTONIC, &ts) };
            #[cfg(not(target_env = "gnu"))]
            // SAFETY: as above. Without clocklock the deadline is converted to the realtime
            // clock, so a wall-clock jump can lengthen or shorten the wait.
            let rc = unsafe {
                let now = monotonic_now();
                let left = at.saturating_sub(now);
                let mut rt = libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                };
                libc::clock_gettime(libc::CLOCK_REALTIME, &mut rt);
                let abs = Duration::new(rt.tv_sec.max(0) as u64, rt.tv_nsec as u32) + left;
                libc::pthread_mutex_timedlock(m, &timespec_of(abs))
            };
            locked(rc)
        }
    }
}

/// Tries to lock `*m` without waiting (`EBUSY` if another thread holds it).
///
/// # Safety
///
/// As [`robust_mutex_lock`].
pub(crate) unsafe fn robust_mutex_trylock(m: *mut libc::pthread_mutex_t) -> SysResult<Locked> {
    // SAFETY: `m` is an initialised mutex by the contract.
    locked(unsafe { libc::pthread_mutex_trylock(m) })
}

/// Marks a mutex taken with [`Locked::OwnerDied`] consistent again.
///
/// # Safety
///
/// `m` is an initialised robust mutex that this thread holds.
pub(crate) unsafe fn robust_mutex_consistent(m: *mut libc::pthread_mutex_t) -> SysResult<()> {
    // SAFETY: by the contract.
    check_rc(unsafe { libc::pthread_mutex_consistent(m) })
}

/// Unlocks `*m`.
///
/// # Safety
///
/// `m` is an initialised mutex that this thread holds.
pub(crate) unsafe fn robust_mutex_unlock(m: *mut libc::pthread_mutex_t) -> SysResult<()> {
    // SAFETY: by the contract.
    check_rc(unsafe { libc::pthread_mutex_unlock(m) })
}
