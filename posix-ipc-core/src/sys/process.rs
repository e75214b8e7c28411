//! Processes, clocks, limits, randomness, memory barriers and futexes.

use std::ffi::{c_int, c_void};
use std::time::Duration;

use super::*;

/// Fills `buf` from the kernel's random source (`getrandom(2)`), falling back to a mix of the
/// clock and the process id if the call is unavailable.
pub(crate) fn fill_random(buf: &mut [u8]) {
    let mut filled = 0;
    while filled < buf.len() {
        let rest = &mut buf[filled..];
        // SAFETY: `rest` is a valid, writable buffer of `rest.len()` bytes for the duration of
        // the call; getrandom writes at most that many bytes.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast::<c_void>(), rest.len(), 0) };
        if n > 0 {
            filled += n as usize;
        } else if n < 0 && last_errno() == libc::EINTR {
            continue;
        } else {
            break;
        }
    }
    if filled < buf.len() {
        let mut x = monotonic_now().as_nanos() as u64 ^ (u64::from(std::process::id()) << 32);
        for b in &mut buf[filled..] {
            // xorshift64
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
    }
}

#[inline]
pub(super) fn timespec_of(d: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: d.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: libc::c_long::from(d.subsec_nanos() as i32),
    }
}

/// The command name of `pid` (`/proc/PID/comm`), `"?"` if it cannot be read.
pub(crate) fn process_command(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|c| c.trim_end().to_string())
        .unwrap_or_else(|_| "?".to_string())
}

/// Time on `CLOCK_MONOTONIC` since its epoch.
pub(crate) fn monotonic_now() -> Duration {
    clock_now(libc::CLOCK_MONOTONIC)
}

/// CPU time the calling thread has used (`CLOCK_THREAD_CPUTIME_ID`).
#[cfg(test)]
pub(crate) fn thread_cpu_time() -> Duration {
    clock_now(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// `clock_gettime(clock)`; zero for a clock the system does not have.
#[inline]
fn clock_now(clock: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec. The callers pass clocks that always exist on
    // Linux, so the call cannot fail (and if it did, `ts` stays zero, which is still a valid
    // value).
    unsafe { libc::clock_gettime(clock, &mut ts) };
    Duration::new(
        ts.tv_sec.max(0) as u64,
        ts.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}

/// The device number of `major:minor`, as `stat` gives it (`makedev(3)`).
pub(crate) fn makedev(major: u32, minor: u32) -> u64 {
    libc::makedev(major, minor)
}

/// `sysconf(name)`, `None` where the system has no value.
pub(crate) fn sysconf(name: c_int) -> Option<i64> {
    // SAFETY: sysconf takes any integer and reports unknown names with -1.
    let v = unsafe { libc::sysconf(name) };
    (v >= 0).then_some(v as i64)
}

/// `getrlimit(resource)` as (soft, hard); `RLIM_INFINITY` is `u64::MAX`.
pub(crate) fn getrlimit(resource: libc::__rlimit_resource_t) -> SysResult<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit.
    if unsafe { libc::getrlimit(resource, &mut lim) } == 0 {
        Ok((lim.rlim_cur, lim.rlim_max))
    } else {
        Err(last_errno())
    }
}

/// `SIGRTMIN()` / `SIGRTMAX()`: the realtime signal range, which glibc decides at run time.
pub(crate) fn sigrt_range() -> (c_int, c_int) {
    (libc::SIGRTMIN(), libc::SIGRTMAX())
}

pub(super) static PID: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
pub(super) static PID_FORK_HOOK: std::sync::Once = std::sync::Once::new();

extern "C" fn forget_pid_in_child() {
    PID.store(0, std::sync::atomic::Ordering::Relaxed);
}

/// The calling process's id, cached (glibc no longer caches `getpid`, and the shared-struct
/// lock needs it on every store). A `pthread_atfork` hook clears the cache in a forked child.
#[inline]
pub(crate) fn getpid() -> u32 {
    let pid = PID.load(std::sync::atomic::Ordering::Relaxed);
    if pid != 0 {
        return pid;
    }
    PID_FORK_HOOK.call_once(|| {
        // SAFETY: registers a plain `extern "C" fn()` with 'static lifetime as the child
        // handler; it only stores to an atomic, which is async-signal-safe.
        unsafe { libc::pthread_atfork(None, None, Some(forget_pid_in_child)) };
    });
    let pid = std::process::id();
    PID.store(pid, std::sync::atomic::Ordering::Relaxed);
    pid
}

/// Whether a process with this id exists (`kill(pid, 0)`; `EPERM` means it exists but belongs
/// to someone else).
pub(crate) fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 performs only the existence and permission checks; nothing is sent.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || last_errno() == libc::EPERM
}

/// The start time (in clock ticks since boot, field 22 of `/proc/PID/stat`) of a running
/// process, or `None` if no such process runs (zombies count as gone). With the pid it
/// identifies a process even after its pid is reused.
pub(crate) fn process_start_time(pid: u32) -> Option<u64> {
    if pid == 0 {
        return None;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    if state == "Z" || state == "X" {
        return None;
    }
    fields.nth(18)?.parse().ok()
}

/// Whether a running process is stopped (state `T`, by SIGSTOP or a terminal, or `t`, by a
/// tracer), from field 3 of `/proc/PID/stat`. `false` if it runs, sleeps or does not exist.
pub(crate) fn process_stopped(pid: u32) -> bool {
    if pid == 0 {
        return false;
    }
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let Some(close) = stat.rfind(')') else {
        return false;
    };
    matches!(stat[close + 1..].split_whitespace().next(), Some("T" | "t"))
}

pub(super) const MEMBARRIER_CMD_GLOBAL_EXPEDITED: libc::c_int = 1 << 1;
pub(super) const MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED: libc::c_int = 1 << 2;

/// The pid that registered for expedited global memory barriers (0: none, `u32::MAX`:
/// registration failed in this process).
pub(super) static MEMBARRIER_PID: std::sync::atomic::AtomicU32 =
    std::sync::atomic::AtomicU32::new(0);

/// Registers this process to receive `membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED)` barriers
/// (once per process; again after a fork). Returns whether it is registered.
pub(crate) fn membarrier_register() -> bool {
    use std::sync::atomic::Ordering::Relaxed;
    let me = getpid();
    let state = MEMBARRIER_PID.load(Relaxed);
    if state == me {
        return true;
    }
    // SAFETY: membarrier takes three integer arguments and touches no memory of ours.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_membarrier,
            MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED,
            0,
            0,
        )
    };
    if rc == 0 {
        MEMBARRIER_PID.store(me, Relaxed);
        true
    } else {
        false
    }
}

/// Whether this process registered (see [`membarrier_register`]); cheap, for hot paths.
#[inline]
pub(crate) fn membarrier_registered() -> bool {
    MEMBARRIER_PID.load(std::sync::atomic::Ordering::Relaxed) == getpid()
}

/// `membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED)`: a full memory barrier on every CPU running a
/// registered process. Returns false if the kernel refused.
pub(crate) fn membarrier_global() -> bool {
    // SAFETY: as in `membarrier_register`.
    unsafe { libc::syscall(libc::SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0) == 0 }
}

/// `futex(FUTEX_WAIT)` on a word that may live in shared memory: sleeps while `*word ==
/// expected`, at most `timeout`. Spurious wake-ups are possible; callers re-check.
pub(crate) fn futex_wait(word: &std::sync::atomic::AtomicU32, expected: u32, timeout: Duration) {
    let ts = timespec_of(timeout);
    // SAFETY: `word` is a valid, aligned u32 for the duration of the call; FUTEX_WAIT only reads
    // it; `ts` is a valid relative timespec; the unused arguments are ignored by FUTEX_WAIT.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            &ts as *const libc::timespec,
            std::ptr::null::<u32>(),
            0u32,
        )
    };
}

/// `futex(FUTEX_WAKE)`: wakes up to `n` waiters on `word` (in any process sharing it).
pub(crate) fn futex_wake(word: &std::sync::atomic::AtomicU32, n: i32) {
    // SAFETY: `word` is a valid, aligned u32; FUTEX_WAKE does not access it beyond its address.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE,
            n,
            std::ptr::null::<libc::timespec>(),
            std::ptr::null::<u32>(),
            0u32,
        )
    };
}

/// Time on `CLOCK_REALTIME` since the epoch (for the absolute deadlines of `mq_timedsend` and
/// `mq_timedreceive`, which the kernel measures on that clock).
pub(crate) fn realtime_now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_REALTIME always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    Duration::new(
        ts.tv_sec.max(0) as u64,
        ts.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}
