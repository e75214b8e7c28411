//! eventfd, poll, pipes and signal handlers.

use std::ffi::{c_int, c_void};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;

use super::*;

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
