//! The only module that calls libc or nix.
//!
//! Every function here either is safe to call with any argument, or owns the resource it acts on
//! (`SemHandle`, `MqHandle`, `MapRegion`) so that the rest of the crate needs no `unsafe`. Errors
//! come back as the raw `errno`; the calling module turns them into an [`Error`](crate::Error)
//! that names the object and the operation.

use std::ffi::{c_int, c_void, CStr};
use std::os::fd::{AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::time::Duration;

/// The outcome of a system call: the value, or the `errno` it failed with.
pub(crate) type SysResult<T> = std::result::Result<T, i32>;

fn last_errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

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
fn timespec_of(d: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: d.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: libc::c_long::from(d.subsec_nanos() as i32),
    }
}

/// Time on `CLOCK_MONOTONIC` since its epoch.
pub(crate) fn monotonic_now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists on Linux, so
    // the call cannot fail (and if it did, `ts` stays zero, which is still a valid value).
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    Duration::new(
        ts.tv_sec.max(0) as u64,
        ts.tv_nsec.clamp(0, 999_999_999) as u32,
    )
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

static PID: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
static PID_FORK_HOOK: std::sync::Once = std::sync::Once::new();

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

const MEMBARRIER_CMD_GLOBAL_EXPEDITED: libc::c_int = 1 << 1;
const MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED: libc::c_int = 1 << 2;

/// The pid that registered for expedited global memory barriers (0: none, `u32::MAX`:
/// registration failed in this process).
static MEMBARRIER_PID: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

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

// --- eventfd, poll, signals ----------------------------------------------------------------------

/// A new non-blocking, close-on-exec `eventfd` (counter 0).
pub(crate) fn eventfd() -> SysResult<OwnedFd> {
    // SAFETY: eventfd takes two integers and returns a new descriptor or -1.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if fd < 0 {
        return Err(last_errno());
    }
    // SAFETY: `fd` is a descriptor just returned to us and owned by nobody else.
    Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
}

/// Adds 1 to an eventfd's counter, making it readable. Async-signal-safe (one `write(2)`); a
/// full counter or a bad descriptor is ignored (the eventfd is then readable already, or gone).
pub(crate) fn eventfd_signal(fd: RawFd) {
    let one: u64 = 1;
    // SAFETY: writes 8 bytes from a valid local; any descriptor number is memory-safe to pass
    // (a wrong one fails with EBADF or EINVAL).
    unsafe { libc::write(fd, (&one as *const u64).cast::<c_void>(), 8) };
}

/// Resets an eventfd's counter to 0 (non-blocking read).
pub(crate) fn eventfd_drain(fd: RawFd) {
    let mut v: u64 = 0;
    // SAFETY: reads at most 8 bytes into a valid local.
    unsafe { libc::read(fd, (&mut v as *mut u64).cast::<c_void>(), 8) };
}

/// `ppoll` on `fd` (for `POLLOUT` if `writable`, else `POLLIN`) and on the readable-when-set
/// `extra` descriptors, at most `timeout`. Returns whether `fd` is ready and whether an extra
/// descriptor is.
pub(crate) fn poll_with(
    fd: RawFd,
    writable: bool,
    extra: &[Option<RawFd>],
    timeout: Duration,
) -> SysResult<(bool, bool)> {
    let mut fds = [libc::pollfd {
        fd: -1,
        events: 0,
        revents: 0,
    }; 3];
    fds[0] = libc::pollfd {
        fd,
        events: if writable {
            libc::POLLOUT
        } else {
            libc::POLLIN
        },
        revents: 0,
    };
    let mut n = 1;
    for &e in extra.iter().flatten() {
        if n < fds.len() {
            fds[n] = libc::pollfd {
                fd: e,
                events: libc::POLLIN,
                revents: 0,
            };
            n += 1;
        }
    }
    // Cap each wait at a day; callers loop until their deadline.
    let ts = timespec_of(timeout.min(Duration::from_secs(86_400)));
    // SAFETY: `fds[..n]` are valid pollfds; `ts` is a valid timespec; a NULL sigmask leaves the
    // signal mask unchanged.
    let rc = unsafe { libc::ppoll(fds.as_mut_ptr(), n as libc::nfds_t, &ts, std::ptr::null()) };
    if rc < 0 {
        Err(last_errno())
    } else {
        Ok((
            fds[0].revents != 0,
            fds[1..n].iter().any(|p| p.revents != 0),
        ))
    }
}

/// A pipe whose ends are close-on-exec; the write end is non-blocking (for a signal handler).
pub(crate) fn signal_pipe() -> SysResult<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as c_int; 2];
    // SAFETY: `fds` is a valid array of two ints for pipe2 to fill.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: both descriptors were just returned to us and are owned by nobody else.
    let (r, w) = unsafe {
        (
            <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fds[0]),
            <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fds[1]),
        )
    };
    // SAFETY: fcntl on a descriptor we own, with integer arguments.
    unsafe {
        let flags = libc::fcntl(fds[1], libc::F_GETFL);
        libc::fcntl(fds[1], libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
    Ok((r, w))
}

/// Writes one byte to a descriptor (async-signal-safe); errors are ignored.
pub(crate) fn write_byte(fd: RawFd, byte: u8) {
    // SAFETY: writes 1 byte from a valid local; any descriptor number is memory-safe to pass.
    unsafe { libc::write(fd, (&byte as *const u8).cast::<c_void>(), 1) };
}

/// Writes `bytes` to standard error with one `write(2)`, ignoring errors and short writes.
pub(crate) fn write_stderr(bytes: &[u8]) {
    // SAFETY: writes at most `bytes.len()` bytes from a valid slice to descriptor 2.
    unsafe { libc::write(2, bytes.as_ptr().cast::<c_void>(), bytes.len()) };
}

/// Blocks reading one byte (retrying after `EINTR`); `None` at end of file or on error.
pub(crate) fn read_byte(fd: BorrowedFd<'_>) -> Option<u8> {
    let mut byte = 0u8;
    loop {
        // SAFETY: reads at most 1 byte into a valid local from a descriptor we borrow.
        let n = unsafe { libc::read(fd.as_raw_fd(), (&mut byte as *mut u8).cast::<c_void>(), 1) };
        match n {
            1 => return Some(byte),
            n if n < 0 && last_errno() == libc::EINTR => continue,
            _ => return None,
        }
    }
}

/// Installs `handler` for `signal` with an empty mask and **without** `SA_RESTART`, so a
/// blocking system call the signal lands in returns `EINTR` instead of resuming.
pub(crate) fn install_signal_handler(
    signal: c_int,
    handler: extern "C" fn(c_int),
) -> SysResult<()> {
    // SAFETY: an all-zero sigaction is valid (SIG_DFL, empty mask, no flags); the handler is a
    // plain `extern "C" fn(c_int)` with 'static lifetime that does only async-signal-safe work
    // (the caller's contract, documented at `signals::on_signal`).
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler as *const () as libc::sighandler_t;
        action.sa_flags = 0;
        libc::sigemptyset(&mut action.sa_mask);
        check(libc::sigaction(signal, &action, std::ptr::null_mut()))
    }
}

/// Puts back the default action of `signal` and sends it to this process: it then ends the
/// way it would have without a handler (for SIGINT and SIGTERM: killed by that signal).
pub(crate) fn die_of(signal: c_int) -> ! {
    // SAFETY: as in `install_signal_handler`, with SIG_DFL; `raise` and `_exit` take integers.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = libc::SIG_DFL;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(signal, &action, std::ptr::null_mut());
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, signal);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::raise(signal);
        libc::_exit(128 + signal)
    }
}

/// The calling thread's `errno` (to save and restore it around a signal handler's work).
pub(crate) fn errno() -> c_int {
    // SAFETY: __errno_location returns the calling thread's valid errno address.
    unsafe { *libc::__errno_location() }
}

/// Sets the calling thread's `errno`.
pub(crate) fn set_errno(value: c_int) {
    // SAFETY: as in `errno`.
    unsafe { *libc::__errno_location() = value };
}

// ---------------------------------------------------------------------------------------------
// Semaphores
// ---------------------------------------------------------------------------------------------

extern "C" {
    // glibc >= 2.30; libc 0.2 does not declare it.
    fn sem_clockwait(
        sem: *mut libc::sem_t,
        clockid: libc::clockid_t,
        abstime: *const libc::timespec,
    ) -> c_int;
}

/// An open named semaphore (`sem_t *` from `sem_open`), closed on drop.
#[derive(Debug)]
pub(crate) struct SemHandle {
    ptr: NonNull<libc::sem_t>,
}

// SAFETY: a `sem_t` from sem_open is a process-shared object designed for concurrent use; every
// sem_* function is thread-safe, and the pointer stays valid until `sem_close`, which only
// `Drop`/`close` call, with exclusive access.
unsafe impl Send for SemHandle {}
// SAFETY: as above: all operations through `&SemHandle` are thread-safe sem_* calls.
unsafe impl Sync for SemHandle {}

impl SemHandle {
    /// `sem_open(name, oflag, mode, value)`.
    pub(crate) fn open(name: &CStr, oflag: c_int, mode: u32, value: u32) -> SysResult<SemHandle> {
        // SAFETY: `name` is a valid NUL-terminated string. The variadic arguments are the
        // mode_t and unsigned int sem_open reads when O_CREAT is set; passing them always is
        // harmless (they are ignored otherwise). Both are promoted to c_uint as C requires.
        let ptr = unsafe {
            libc::sem_open(
                name.as_ptr(),
                oflag,
                mode as libc::c_uint,
                value as libc::c_uint,
            )
        };
        if ptr == libc::SEM_FAILED {
            return Err(last_errno());
        }
        NonNull::new(ptr)
            .map(|ptr| SemHandle { ptr })
            .ok_or(libc::EINVAL)
    }

    /// `sem_wait`.
    #[inline]
    pub(crate) fn wait(&self) -> SysResult<()> {
        // SAFETY: `ptr` came from a successful sem_open and is not closed while `self` lives.
        check(unsafe { libc::sem_wait(self.ptr.as_ptr()) })
    }

    /// `sem_trywait`.
    #[inline]
    pub(crate) fn try_wait(&self) -> SysResult<()> {
        // SAFETY: as in `wait`.
        check(unsafe { libc::sem_trywait(self.ptr.as_ptr()) })
    }

    /// `sem_clockwait(CLOCK_MONOTONIC, at)`: wait until the monotonic clock reads `at`.
    #[inline]
    pub(crate) fn wait_until(&self, at: Duration) -> SysResult<()> {
        let ts = timespec_of(at);
        // SAFETY: as in `wait`; `ts` is a valid, normalised timespec (nanoseconds < 1e9).
        check(unsafe { sem_clockwait(self.ptr.as_ptr(), libc::CLOCK_MONOTONIC, &ts) })
    }

    /// `sem_post`.
    #[inline]
    pub(crate) fn post(&self) -> SysResult<()> {
        // SAFETY: as in `wait`.
        check(unsafe { libc::sem_post(self.ptr.as_ptr()) })
    }

    /// `sem_getvalue`.
    #[inline]
    pub(crate) fn value(&self) -> SysResult<i32> {
        let mut v: c_int = 0;
        // SAFETY: as in `wait`; `v` is a valid, writable int.
        check(unsafe { libc::sem_getvalue(self.ptr.as_ptr(), &mut v) })?;
        Ok(v)
    }

    /// `sem_close`, reporting its result.
    pub(crate) fn close(self) -> SysResult<()> {
        let ptr = self.ptr;
        std::mem::forget(self);
        // SAFETY: `ptr` came from sem_open; `self` was forgotten, so nothing uses or closes it
        // again.
        check(unsafe { libc::sem_close(ptr.as_ptr()) })
    }
}

impl Drop for SemHandle {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from sem_open and this is its only close.
        unsafe { libc::sem_close(self.ptr.as_ptr()) };
    }
}

/// `sem_unlink(name)`.
pub(crate) fn sem_unlink(name: &CStr) -> SysResult<()> {
    // SAFETY: `name` is a valid NUL-terminated string.
    check(unsafe { libc::sem_unlink(name.as_ptr()) })
}

#[inline]
fn check(rc: c_int) -> SysResult<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(last_errno())
    }
}

fn nix_err(e: nix::errno::Errno) -> i32 {
    e as i32
}

// ---------------------------------------------------------------------------------------------
// Shared memory
// ---------------------------------------------------------------------------------------------

/// `shm_open(name, oflag, mode)`; the descriptor is close-on-exec.
pub(crate) fn shm_open(name: &CStr, oflag: c_int, mode: u32) -> SysResult<OwnedFd> {
    let flags = nix::fcntl::OFlag::from_bits_retain(oflag);
    let mode = nix::sys::stat::Mode::from_bits_retain(mode as libc::mode_t);
    nix::sys::mman::shm_open(name, flags, mode).map_err(nix_err)
}

/// `shm_unlink(name)`.
pub(crate) fn shm_unlink(name: &CStr) -> SysResult<()> {
    nix::sys::mman::shm_unlink(name).map_err(nix_err)
}

/// `ftruncate(fd, len)`.
pub(crate) fn ftruncate(fd: BorrowedFd<'_>, len: u64) -> SysResult<()> {
    let len = libc::off_t::try_from(len).map_err(|_| libc::EFBIG)?;
    nix::unistd::ftruncate(fd, len).map_err(nix_err)
}

/// `posix_fallocate(fd, offset, len)`: reserve the pages now, so a full `/dev/shm` is `ENOSPC`
/// here rather than `SIGBUS` on first touch.
pub(crate) fn fallocate(fd: BorrowedFd<'_>, offset: u64, len: u64) -> SysResult<()> {
    let offset = libc::off_t::try_from(offset).map_err(|_| libc::EFBIG)?;
    let len = libc::off_t::try_from(len).map_err(|_| libc::EFBIG)?;
    if len == 0 {
        return Ok(());
    }
    nix::fcntl::posix_fallocate(fd, offset, len).map_err(nix_err)
}

/// `fstat(fd)`: (size, mode bits, owner uid, link count).
pub(crate) fn fstat(fd: BorrowedFd<'_>) -> SysResult<(u64, u32, u32, u64)> {
    let st = nix::sys::stat::fstat(fd).map_err(nix_err)?;
    Ok((
        st.st_size.max(0) as u64,
        st.st_mode & 0o7777,
        st.st_uid,
        st.st_nlink,
    ))
}

/// Device and inode of an open descriptor (`fstat`): what identifies the object behind it.
pub(crate) fn fstat_id(fd: BorrowedFd<'_>) -> SysResult<(u64, u64)> {
    let st = nix::sys::stat::fstat(fd).map_err(nix_err)?;
    Ok((st.st_dev, st.st_ino))
}

/// Device and inode of a path (`stat`, following links).
pub(crate) fn stat_id(path: &std::path::Path) -> SysResult<(u64, u64)> {
    let st = nix::sys::stat::stat(path).map_err(nix_err)?;
    Ok((st.st_dev, st.st_ino))
}

/// `mount("none", dir, "mqueue", 0, NULL)`.
pub(crate) fn mount_mqueue(dir: &str) -> SysResult<()> {
    let dir = std::ffi::CString::new(dir).map_err(|_| libc::EINVAL)?;
    // SAFETY: every pointer is a valid NUL-terminated string or NULL for the data argument,
    // which the mqueue filesystem does not need.
    check(unsafe {
        libc::mount(
            c"none".as_ptr(),
            dir.as_ptr(),
            c"mqueue".as_ptr(),
            0,
            std::ptr::null(),
        )
    })
}

/// The effective user id of this process.
pub(crate) fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions, cannot fail and touches no memory of ours.
    unsafe { libc::geteuid() }
}

/// Why [`sem_owner_mode`] could not vouch for a semaphore.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SemLookup {
    /// The name no longer refers to the semaphore this handle holds (removed, or replaced).
    Gone,
    /// `/proc/self/maps` could not be read (this errno), so the mapping cannot be matched.
    NoMaps(i32),
    /// `stat` of the semaphore's file failed with this errno (other than `ENOENT`).
    Stat(i32),
}

/// Owner and permission bits of the semaphore `handle` opened as `name`: `stat` of the file
/// glibc maps for it (`/dev/shm/sem.<name>`), accepted only if that file's device and inode are
/// the ones of the mapping that holds the semaphore (from `/proc/self/maps`). So a name removed
/// or swapped after `sem_open` is caught ([`SemLookup::Gone`]) instead of vouching for an
/// object we do not hold.
pub(crate) fn sem_owner_mode(handle: &SemHandle, name: &CStr) -> Result<(u32, u32), SemLookup> {
    let bare = name
        .to_bytes()
        .strip_prefix(b"/")
        .unwrap_or(name.to_bytes());
    let mut path = b"/dev/shm/sem.".to_vec();
    path.extend_from_slice(bare);
    let path = <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(&path);
    let st = match nix::sys::stat::stat(path) {
        Ok(st) => st,
        Err(nix::errno::Errno::ENOENT) => return Err(SemLookup::Gone),
        Err(e) => return Err(SemLookup::Stat(nix_err(e))),
    };
    let maps = std::fs::read_to_string("/proc/self/maps")
        .map_err(|e| SemLookup::NoMaps(e.raw_os_error().unwrap_or(libc::EIO)))?;
    let addr = handle.ptr.as_ptr() as usize;
    let mapped = maps.lines().find_map(|line| {
        let mut fields = line.split_ascii_whitespace();
        let (start, end) = fields.next()?.split_once('-')?;
        let (start, end) = (
            usize::from_str_radix(start, 16).ok()?,
            usize::from_str_radix(end, 16).ok()?,
        );
        if !(start..end).contains(&addr) {
            return None;
        }
        let (major, minor) = fields.nth(2)?.split_once(':')?;
        let inode = fields.next()?.parse::<u64>().ok()?;
        Some((
            u32::from_str_radix(major, 16).ok()?,
            u32::from_str_radix(minor, 16).ok()?,
            inode,
        ))
    });
    if mapped != Some((libc::major(st.st_dev), libc::minor(st.st_dev), st.st_ino)) {
        return Err(SemLookup::Gone);
    }
    Ok((st.st_uid, st.st_mode & 0o7777))
}

/// A `MAP_SHARED` mapping of a descriptor, unmapped on drop.
#[derive(Debug)]
pub(crate) struct MapRegion {
    ptr: NonNull<u8>,
    len: usize,
    writable: bool,
    /// Its slot in the truncation guard.
    guard: usize,
}

/// "Errno" of a mapping refused because the truncation guard tracks [`GUARD_SLOTS`] already.
pub(crate) const GUARD_FULL: i32 = -1;

// SAFETY: the region is plain memory owned by this value until munmap; moving it to another
// thread moves that ownership. All accesses are by raw copies.
unsafe impl Send for MapRegion {}
// SAFETY: `&MapRegion` only allows copies in and out of the region (see `read`/`write`), which
// are as thread-safe as the same copies between processes, the case the region exists for.
unsafe impl Sync for MapRegion {}

impl MapRegion {
    /// `mmap(NULL, len, PROT_READ[|PROT_WRITE], MAP_SHARED, fd, offset)`.
    pub(crate) fn map(
        fd: BorrowedFd<'_>,
        offset: u64,
        len: usize,
        writable: bool,
    ) -> SysResult<MapRegion> {
        use nix::sys::mman::{MapFlags, ProtFlags};
        let nz = std::num::NonZeroUsize::new(len).ok_or(libc::EINVAL)?;
        let offset = libc::off_t::try_from(offset).map_err(|_| libc::EOVERFLOW)?;
        let prot = if writable {
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE
        } else {
            ProtFlags::PROT_READ
        };
        // SAFETY: a fresh mapping at an address the kernel picks (addr = None) cannot overlap
        // any Rust object; `fd` is a valid open descriptor for the duration of the call.
        let ptr = unsafe { nix::sys::mman::mmap(None, nz, prot, MapFlags::MAP_SHARED, fd, offset) }
            .map_err(nix_err)?;
        let Some(guard) = guard_register(ptr.as_ptr() as usize, len) else {
            // SAFETY: exactly the mapping just created, not yet shared with anything.
            let _ = unsafe { nix::sys::mman::munmap(ptr, len) };
            return Err(GUARD_FULL);
        };
        Ok(MapRegion {
            ptr: ptr.cast::<u8>(),
            len,
            writable,
            guard,
        })
    }

    /// Whether a page of the region was found past the end of its segment (a peer truncated
    /// it) and replaced by zeros: the data seen since is not the segment's.
    #[inline]
    pub(crate) fn truncated(&self) -> bool {
        GUARD[self.guard].truncated.load(AtomicOrdering::Acquire)
    }

    pub(crate) fn writable(&self) -> bool {
        self.writable
    }

    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Copies `buf.len()` bytes from `offset` into `buf`. The caller checked the range.
    pub(crate) fn read(&self, offset: usize, buf: &mut [u8]) {
        debug_assert!(offset
            .checked_add(buf.len())
            .is_some_and(|end| end <= self.len));
        // SAFETY:
        // - the source range [offset, offset+len) lies inside the mapping (checked by the only
        //   callers, `Mapping::read_at` and friends, and debug-asserted above);
        // - the mapping is readable (PROT_READ is always set) and stays mapped while `self`
        //   lives;
        // - `buf` is a distinct Rust allocation, so the ranges do not overlap.
        // Another process may write the same bytes concurrently; the copy then yields some mix
        // of old and new bytes, which is a valid `[u8]` (documented on `Mapping`).
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.ptr.as_ptr().add(offset),
                buf.as_mut_ptr(),
                buf.len(),
            )
        }
    }

    /// Copies `data` to `offset`. The caller checked the range and that the region is writable.
    pub(crate) fn write(&self, offset: usize, data: &[u8]) {
        debug_assert!(self.writable);
        debug_assert!(offset
            .checked_add(data.len())
            .is_some_and(|end| end <= self.len));
        // SAFETY:
        // - the destination range lies inside the mapping (checked by the callers, debug-asserted
        //   above), which was mapped PROT_WRITE (callers check `writable` first);
        // - no Rust reference into the mapping exists (safe code only copies in and out), so
        //   writing through the raw pointer aliases nothing;
        // - `data` is a distinct allocation: no overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(data.as_ptr(), self.ptr.as_ptr().add(offset), data.len())
        }
    }

    /// `msync(MS_SYNC)` over the whole region.
    pub(crate) fn flush(&self) -> SysResult<()> {
        // SAFETY: the range is exactly the live mapping created by `map`.
        unsafe {
            nix::sys::mman::msync(
                self.ptr.cast::<c_void>(),
                self.len,
                nix::sys::mman::MsFlags::MS_SYNC,
            )
        }
        .map_err(nix_err)
    }
}

impl Drop for MapRegion {
    fn drop(&mut self) {
        // Unregister first: nothing touches the region any more, and a later mapping at the
        // same address must not inherit the slot.
        guard_release(self.guard);
        // SAFETY: `ptr`/`len` describe exactly the mapping created in `map`, unmapped only here.
        // Safe code holds no references into it (all access is by copy), and `unsafe` views
        // handed out by `Mapping` borrow the `Mapping`, so they cannot outlive this drop.
        let _ = unsafe { nix::sys::mman::munmap(self.ptr.cast::<c_void>(), self.len) };
    }
}

// ---------------------------------------------------------------------------------------------
// Message queues
// ---------------------------------------------------------------------------------------------

/// Attributes of a queue, from `mq_getattr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MqAttr {
    pub(crate) flags: i64,
    pub(crate) max_messages: i64,
    pub(crate) message_size: i64,
    pub(crate) current_messages: i64,
}

/// An open message-queue descriptor (`mqd_t`, a file descriptor on Linux), closed on drop.
#[derive(Debug)]
pub(crate) struct MqHandle {
    mqd: libc::mqd_t,
}

impl MqHandle {
    /// `mq_open(name, oflag, mode, attr)`; `attr` (max messages, message size) is passed only
    /// when given. Descriptors are close-on-exec (the kernel always sets it for mq_open).
    pub(crate) fn open(
        name: &CStr,
        oflag: c_int,
        mode: u32,
        attr: Option<(i64, i64)>,
    ) -> SysResult<MqHandle> {
        let mqd = match attr {
            Some((max_messages, message_size)) => {
                // SAFETY: an all-zero mq_attr is valid (it is a plain C struct of integers).
                let mut a: libc::mq_attr = unsafe { std::mem::zeroed() };
                a.mq_maxmsg = max_messages as _;
                a.mq_msgsize = message_size as _;
                // SAFETY: `name` is NUL-terminated; with O_CREAT mq_open reads a mode_t and a
                // `struct mq_attr *`, which `a` is, valid for the call.
                unsafe {
                    libc::mq_open(
                        name.as_ptr(),
                        oflag,
                        mode as libc::mode_t,
                        &mut a as *mut libc::mq_attr,
                    )
                }
            }
            // SAFETY: `name` is NUL-terminated; without O_CREAT no variadic argument is read,
            // and a NULL attr pointer means "kernel defaults" when O_CREAT is set.
            None => unsafe {
                libc::mq_open(
                    name.as_ptr(),
                    oflag,
                    mode as libc::mode_t,
                    std::ptr::null_mut::<libc::mq_attr>(),
                )
            },
        };
        if mqd < 0 {
            Err(last_errno())
        } else {
            Ok(MqHandle { mqd })
        }
    }

    /// `mq_getattr`.
    pub(crate) fn getattr(&self) -> SysResult<MqAttr> {
        // SAFETY: an all-zero mq_attr is valid.
        let mut a: libc::mq_attr = unsafe { std::mem::zeroed() };
        // SAFETY: `mqd` is open while `self` lives; `a` is valid and writable.
        check(unsafe { libc::mq_getattr(self.mqd, &mut a) })?;
        Ok(MqAttr {
            flags: a.mq_flags as i64,
            max_messages: a.mq_maxmsg as i64,
            message_size: a.mq_msgsize as i64,
            current_messages: a.mq_curmsgs as i64,
        })
    }

    /// `mq_setattr` with new `mq_flags` (only `O_NONBLOCK` is honoured by the kernel).
    pub(crate) fn set_flags(&self, flags: i64) -> SysResult<()> {
        // SAFETY: an all-zero mq_attr is valid.
        let mut a: libc::mq_attr = unsafe { std::mem::zeroed() };
        a.mq_flags = flags as _;
        // SAFETY: `mqd` is open while `self` lives; `a` is valid; the old-attr pointer may be
        // NULL.
        check(unsafe { libc::mq_setattr(self.mqd, &a, std::ptr::null_mut()) })
    }

    /// `mq_send` (deadline `None`) or `mq_timedsend` with an absolute `CLOCK_REALTIME` deadline.
    /// `Some(Duration::ZERO)` (the epoch) makes a non-blocking attempt on a blocking descriptor.
    #[inline]
    pub(crate) fn send(
        &self,
        msg: &[u8],
        priority: u32,
        realtime_at: Option<Duration>,
    ) -> SysResult<()> {
        let rc = match realtime_at {
            // SAFETY: `mqd` is open; `msg` is valid for `msg.len()` bytes.
            None => unsafe { libc::mq_send(self.mqd, msg.as_ptr().cast(), msg.len(), priority) },
            Some(at) => {
                let ts = timespec_of(at);
                // SAFETY: as above; `ts` is a valid, normalised timespec.
                unsafe {
                    libc::mq_timedsend(self.mqd, msg.as_ptr().cast(), msg.len(), priority, &ts)
                }
            }
        };
        check(rc)
    }

    /// `mq_receive` / `mq_timedreceive` into `buf`; returns (length, priority).
    #[inline]
    pub(crate) fn receive(
        &self,
        buf: &mut [u8],
        realtime_at: Option<Duration>,
    ) -> SysResult<(usize, u32)> {
        let mut prio: libc::c_uint = 0;
        let n = match realtime_at {
            // SAFETY: `mqd` is open; `buf` is valid and writable for `buf.len()` bytes; the
            // kernel writes at most that many; `prio` is a valid unsigned int.
            None => unsafe {
                libc::mq_receive(self.mqd, buf.as_mut_ptr().cast(), buf.len(), &mut prio)
            },
            Some(at) => {
                let ts = timespec_of(at);
                // SAFETY: as above; `ts` is a valid, normalised timespec.
                unsafe {
                    libc::mq_timedreceive(
                        self.mqd,
                        buf.as_mut_ptr().cast(),
                        buf.len(),
                        &mut prio,
                        &ts,
                    )
                }
            }
        };
        if n < 0 {
            Err(last_errno())
        } else {
            Ok((n as usize, prio))
        }
    }

    /// `mq_notify(SIGEV_SIGNAL, signo)`.
    pub(crate) fn notify_signal(&self, signo: c_int) -> SysResult<()> {
        // SAFETY: an all-zero sigevent is valid.
        let mut ev: libc::sigevent = unsafe { std::mem::zeroed() };
        ev.sigev_notify = libc::SIGEV_SIGNAL;
        ev.sigev_signo = signo;
        // SAFETY: `mqd` is open; `ev` is a valid sigevent for the call.
        check(unsafe { libc::mq_notify(self.mqd, &ev) })
    }

    /// `mq_notify(SIGEV_THREAD)`: glibc runs `function(token)` on a new thread when the queue
    /// goes from empty to non-empty. `token` is an integer, never a pointer, so a late call can
    /// never touch freed memory.
    pub(crate) fn notify_thread(
        &self,
        function: extern "C" fn(libc::sigval),
        token: usize,
    ) -> SysResult<()> {
        let ev = SigeventThread {
            sigev_value: libc::sigval {
                sival_ptr: token as *mut c_void,
            },
            sigev_signo: 0,
            sigev_notify: libc::SIGEV_THREAD,
            function: Some(function),
            attributes: std::ptr::null_mut(),
            _pad: [0; SIGEV_PAD - 4],
        };
        // SAFETY: `SigeventThread` has glibc's `struct sigevent` layout with the
        // `_sigev_thread` union member selected (checked by the const assertion below); `mqd` is
        // open; `function` is a valid `extern "C" fn(sigval)` with 'static lifetime; the
        // attributes pointer may be NULL.
        check(unsafe { libc::mq_notify(self.mqd, (&ev as *const SigeventThread).cast()) })
    }

    /// `mq_notify(NULL)`: cancel this process's registration.
    pub(crate) fn notify_cancel(&self) -> SysResult<()> {
        // SAFETY: `mqd` is open; NULL cancels.
        check(unsafe { libc::mq_notify(self.mqd, std::ptr::null()) })
    }

    pub(crate) fn raw(&self) -> RawFd {
        self.mqd
    }

    /// A second descriptor for the same open queue (`fcntl(F_DUPFD_CLOEXEC)`).
    pub(crate) fn try_clone(&self) -> SysResult<MqHandle> {
        // SAFETY: fcntl with F_DUPFD_CLOEXEC on a descriptor open while `self` lives returns a
        // new descriptor (or -1) that nobody else owns.
        let fd = unsafe { libc::fcntl(self.mqd, libc::F_DUPFD_CLOEXEC, 0) };
        if fd < 0 {
            Err(last_errno())
        } else {
            Ok(MqHandle { mqd: fd })
        }
    }

    pub(crate) fn borrow(&self) -> BorrowedFd<'_> {
        // SAFETY: on Linux an mqd_t is a file descriptor, open until `self` is dropped, and the
        // BorrowedFd cannot outlive `&self`.
        unsafe { BorrowedFd::borrow_raw(self.mqd) }
    }

    /// `mq_close`, reporting its result.
    pub(crate) fn close(self) -> SysResult<()> {
        let mqd = self.mqd;
        std::mem::forget(self);
        // SAFETY: `mqd` is open and, `self` being forgotten, closed only here.
        check(unsafe { libc::mq_close(mqd) })
    }
}

impl Drop for MqHandle {
    fn drop(&mut self) {
        // SAFETY: `mqd` came from mq_open and this is its only close.
        unsafe { libc::mq_close(self.mqd) };
    }
}

/// `mq_notify(mqd, NULL)` on a descriptor number: cancels this process's registration. Used
/// while the owning `MqHandle` is still open (see `mq::NotifyState`); on a closed or reused
/// number it can at worst fail with `EBADF` or cancel this process's own registration.
pub(crate) fn mq_notify_cancel(mqd: RawFd) -> SysResult<()> {
    // SAFETY: mq_notify reads no memory when the sigevent pointer is NULL; any int is an
    // acceptable descriptor argument (invalid ones give EBADF).
    check(unsafe { libc::mq_notify(mqd, std::ptr::null()) })
}

/// `mq_unlink(name)`.
pub(crate) fn mq_unlink(name: &CStr) -> SysResult<()> {
    // SAFETY: `name` is a valid NUL-terminated string.
    check(unsafe { libc::mq_unlink(name.as_ptr()) })
}

const SIGEV_PAD: usize = (64 / std::mem::size_of::<c_int>()) - 4;

/// glibc's `struct sigevent` with the `_sigev_thread` member of its union, which the libc crate
/// does not expose.
#[repr(C)]
struct SigeventThread {
    sigev_value: libc::sigval,
    sigev_signo: c_int,
    sigev_notify: c_int,
    function: Option<extern "C" fn(libc::sigval)>,
    attributes: *mut libc::pthread_attr_t,
    _pad: [c_int; SIGEV_PAD - 4],
}

const _: () =
    assert!(std::mem::size_of::<SigeventThread>() == std::mem::size_of::<libc::sigevent>());
const _: () = assert!(std::mem::size_of::<libc::sigevent>() == 64);

/// Closes `fd`, reporting the result (`OwnedFd`'s drop ignores it).
pub(crate) fn close(fd: OwnedFd) -> SysResult<()> {
    let raw = fd.into_raw_fd();
    // SAFETY: `raw` was owned by `fd`, which gave up ownership; it is closed exactly once here.
    check(unsafe { libc::close(raw) })
}

// --- Robust process-shared mutex --------------------------------------------------------------

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

fn locked(rc: c_int) -> SysResult<Locked> {
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

fn check_rc(rc: c_int) -> SysResult<()> {
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

// --- Truncation guard ---------------------------------------------------------------------------
//
// Touching a page of a shared mapping that lies past the end of its file raises SIGBUS, and any
// process that can open a segment can shrink it (`ftruncate`) while others have it mapped. So
// that no safe access ever dies of it, every `MapRegion` is registered here, and a SIGBUS
// handler replaces a faulting page of a registered region by a private zero page (the access
// then completes, reading zeros or writing into the void) and marks the region: every access
// through the region checks the mark afterwards and reports the truncation as an error. A
// SIGBUS at any other address goes to the handler installed before ours (or the default
// action), so other faults keep their usual effect.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering as AtomicOrdering};

/// Most regions the guard tracks at once; a mapping beyond that is refused.
pub(crate) const GUARD_SLOTS: usize = 8192;

struct GuardSlot {
    start: AtomicUsize,
    len: AtomicUsize,
    truncated: AtomicBool,
}

#[allow(
    clippy::declare_interior_mutable_const,
    reason = "used only as the array-repeat initialiser"
)]
const EMPTY_SLOT: GuardSlot = GuardSlot {
    start: AtomicUsize::new(0),
    len: AtomicUsize::new(0),
    truncated: AtomicBool::new(false),
};
static GUARD: [GuardSlot; GUARD_SLOTS] = [EMPTY_SLOT; GUARD_SLOTS];
static GUARD_PAGE: AtomicUsize = AtomicUsize::new(4096);

/// The SIGBUS action that was in place before ours, for addresses that are not ours.
struct PreviousAction(libc::sigaction);
// SAFETY: written once before our handler is installed, read-only afterwards (also from the
// handler); `sigaction` is plain data (a function address, a mask and flags).
unsafe impl Sync for PreviousAction {}
// SAFETY: as above.
unsafe impl Send for PreviousAction {}
static PREVIOUS: std::sync::OnceLock<PreviousAction> = std::sync::OnceLock::new();
static INSTALL: std::sync::Once = std::sync::Once::new();

fn install_guard() {
    INSTALL.call_once(|| {
        GUARD_PAGE.store(
            sysconf(libc::_SC_PAGESIZE).map_or(4096, |p| p as usize),
            AtomicOrdering::Relaxed,
        );
        // SAFETY: `old` and `new` are valid sigaction structs (all-zero is a valid value:
        // SIG_DFL, empty mask, no flags); sigaction reads `new` and writes `old`. The handler
        // only performs async-signal-safe work (atomics, mmap, sigaction, calling the previous
        // handler).
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            libc::sigaction(libc::SIGBUS, std::ptr::null(), &mut old);
            let _ = PREVIOUS.set(PreviousAction(old));
            let mut new: libc::sigaction = std::mem::zeroed();
            new.sa_sigaction = on_sigbus as *const () as libc::sighandler_t;
            new.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut new.sa_mask);
            libc::sigaction(libc::SIGBUS, &new, std::ptr::null_mut());
        }
    });
}

extern "C" fn on_sigbus(sig: c_int, info: *mut libc::siginfo_t, ctx: *mut c_void) {
    // SAFETY: the kernel passes a valid siginfo for a SA_SIGINFO handler; `si_addr` is the
    // faulting address for SIGBUS.
    let (code, addr) = unsafe { ((*info).si_code, (*info).si_addr() as usize) };
    if code == libc::BUS_ADRERR {
        for slot in &GUARD {
            let start = slot.start.load(AtomicOrdering::Acquire);
            if start == 0 || addr < start {
                continue;
            }
            if addr - start < slot.len.load(AtomicOrdering::Acquire) {
                let page = GUARD_PAGE.load(AtomicOrdering::Relaxed);
                let at = addr - addr % page;
                // SAFETY: `at` is a page inside a region this process mapped and still owns
                // (registered until just before munmap); replacing it by a private anonymous
                // page changes what later accesses see, never the validity of memory Rust
                // code refers to (all access to regions is by raw copies and atomics on
                // integers, for which zeros are valid values). mmap is async-signal-safe.
                let p = unsafe {
                    libc::mmap(
                        at as *mut c_void,
                        page,
                        libc::PROT_READ | libc::PROT_WRITE,
                        libc::MAP_FIXED | libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                        -1,
                        0,
                    )
                };
                if p != libc::MAP_FAILED {
                    slot.truncated.store(true, AtomicOrdering::Release);
                    return;
                }
                break;
            }
        }
    }
    // Not ours: behave as if we were not here.
    let Some(PreviousAction(prev)) = PREVIOUS.get() else {
        return;
    };
    match prev.sa_sigaction {
        libc::SIG_DFL | libc::SIG_IGN => {
            // SAFETY: restoring the default action is async-signal-safe; returning re-runs the
            // faulting access, which now gets the default action (termination), as it would
            // have without this handler.
            unsafe {
                let mut dfl: libc::sigaction = std::mem::zeroed();
                dfl.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(libc::SIGBUS, &dfl, std::ptr::null_mut());
            }
        }
        f if prev.sa_flags & libc::SA_SIGINFO != 0 => {
            // SAFETY: `f` is the SA_SIGINFO handler that was installed for SIGBUS before ours,
            // called with the arguments the kernel gave us.
            let f: extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) =
                unsafe { std::mem::transmute(f) };
            f(sig, info, ctx);
        }
        f => {
            // SAFETY: `f` is the plain handler that was installed for SIGBUS before ours.
            let f: extern "C" fn(c_int) = unsafe { std::mem::transmute(f) };
            f(sig);
        }
    }
}

/// Registers `[start, start + len)`; returns its slot, or `None` if every slot is taken.
fn guard_register(start: usize, len: usize) -> Option<usize> {
    install_guard();
    for (i, slot) in GUARD.iter().enumerate() {
        if slot.start.load(AtomicOrdering::Relaxed) == 0
            && slot
                .start
                .compare_exchange(
                    0,
                    usize::MAX,
                    AtomicOrdering::AcqRel,
                    AtomicOrdering::Relaxed,
                )
                .is_ok()
        {
            // usize::MAX as the start matches no address while the slot is being filled.
            slot.truncated.store(false, AtomicOrdering::Relaxed);
            slot.len.store(len, AtomicOrdering::Relaxed);
            slot.start.store(start, AtomicOrdering::Release);
            return Some(i);
        }
    }
    None
}

fn guard_release(slot: usize) {
    let s = &GUARD[slot];
    s.len.store(0, AtomicOrdering::Relaxed);
    s.start.store(0, AtomicOrdering::Release);
}
