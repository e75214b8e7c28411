//! Ctrl-C and SIGTERM as a clean stop: blocked calls return, owning handles remove their
//! objects, the program ends normally.
//!
//! A program that calls [`stop_on_signals`] once (opt-in) gets this behaviour:
//!
//! 1. The **first** SIGINT or SIGTERM cancels a process-wide [`CancelToken`]: every blocking
//!    call of this crate, in every thread, that waits or is about to wait returns
//!    [`ErrorKind::Cancelled`] at once (semaphores and
//!    `RobustMutex` within 10 ms). Nothing was sent, received or acquired by those calls. The
//!    error travels up with `?` like any other, so destructors run: [`Owned`](crate::Owned)
//!    handles remove their objects, guards release, and `main` returns.
//! 2. A **second** such signal ends the process at once, the way that signal would have ended
//!    it without this module (exit status "killed by SIGINT"), after removing the names that
//!    live [`Owned`](crate::Owned) handles hold, so even a program stuck elsewhere leaves
//!    nothing behind.
//!
//! ```no_run
//! use posix_ipc::{ErrorKind, IpcMessage, Receiver};
//!
//! #[derive(Clone, Copy, IpcMessage)]
//! #[repr(C)]
//! struct Reading { seq: u64, value: f64 }
//!
//! fn main() -> posix_ipc::Result<()> {
//!     posix_ipc::signals::stop_on_signals()?;                  // once, early
//!     let rx = Receiver::<Reading>::create_owned("/readings", 10)?; // removed on every exit path
//!     for reading in rx.iter() {                             // ends when every producer left
//!         match reading {
//!             Ok(r) => println!("{}", r.value),
//!             Err(e) if e.kind() == ErrorKind::Cancelled => break,  // Ctrl-C or SIGTERM
//!             Err(e) => return Err(e),
//!         }
//!     }
//!     Ok(())                                                 // the queue is removed here
//! }
//! ```
//!
//! How it works: the handler (installed without `SA_RESTART`, so the system call it lands in
//! returns `EINTR`) only stores a flag, writes the token's `eventfd` and a byte to a pipe, all
//! async-signal-safe; a thread of this module reads the pipe and wakes the futex sleepers. A
//! busy loop that never waits keeps running until it waits; test
//! [`stop_requested`] in it.
//!
//! Do not combine it with another handler for the same signals (`ctrlc`, `signal-hook`): the
//! last one installed wins. With those crates, create a [`CancelToken`], attach it to the
//! handles with `with_cancel`, and call [`CancelToken::cancel`] from their callback instead.
//!
//! SIGKILL cannot be caught: after a `kill -9` find and remove leftovers with
//! [`lifecycle::clean_stale`](crate::lifecycle::clean_stale) or `posix-ipc clean --stale`.

use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::cancel::{process_token, signal_name, CancelToken};
use crate::error::{Error, ErrorKind, Object, ObjectKind, Operation, Result};
use crate::sys;

/// The write end of the pipe the handler wakes the signal thread through (-1 before install).
static PIPE: AtomicI32 = AtomicI32::new(-1);
/// The token's reset count (plus one) when the stop now pending was delivered; 0: none yet. A
/// signal that finds the same count (the program has not reset the token since) is the second.
static PENDING: AtomicU32 = AtomicU32::new(0);
/// Set in the byte written to the pipe for a second signal.
const SECOND: u8 = 0x80;

/// Serialises installation.
static INSTALL: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// Turns SIGINT (Ctrl-C) and SIGTERM into a stop of every blocking call; see the
/// [module documentation](self). Returns the process-wide token (to test, or to cancel by
/// hand). Calling it again returns the same token.
///
/// # Errors
///
/// [`ErrorKind::Other`] if the handler, the pipe or the signal thread cannot be set up.
pub fn stop_on_signals() -> Result<CancelToken> {
    stop_on(&[libc::SIGINT, libc::SIGTERM])
}

/// As [`stop_on_signals`], for the signals given (for example also `SIGHUP`).
///
/// # Errors
///
/// [`ErrorKind::InvalidArgument`] for SIGKILL, SIGSTOP, or a number that is not a signal;
/// [`ErrorKind::Other`] if the handler, the pipe or the signal thread cannot be set up.
pub fn stop_on(signals: &[i32]) -> Result<CancelToken> {
    let object = || Object {
        kind: ObjectKind::Timeout,
        name: None,
    };
    let fail = |detail: String| Error::new(ErrorKind::Other, Operation::Open, object(), detail);
    let mut installed = INSTALL.lock().unwrap_or_else(PoisonError::into_inner);
    for &sig in signals {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP || !(1..=libc::SIGRTMAX()).contains(&sig) {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                Operation::Open,
                object(),
                format!(
                    "{} cannot be caught, so it cannot stop calls",
                    signal_name(sig)
                ),
            ));
        }
    }
    if process_token::get().is_none() {
        let (read, write) = sys::signal_pipe()
            .map_err(|e| fail(format!("cannot create the signal pipe: {}", io(e))))?;
        process_token::install();
        std::thread::Builder::new()
            .name("posix-ipc-signals".into())
            .spawn(move || signal_thread(read))
            .map_err(|e| fail(format!("cannot start the signal thread: {e}")))?;
        // Leaked on purpose: the handler may write to it until the process ends.
        PIPE.store(keep(write), Ordering::SeqCst);
    }
    for &sig in signals {
        if !installed.contains(&sig) {
            sys::install_signal_handler(sig, on_signal).map_err(|e| {
                fail(format!(
                    "cannot install a handler for {}: {}",
                    signal_name(sig),
                    io(e)
                ))
            })?;
            installed.push(sig);
        }
    }
    Ok(process_token::get().cloned().unwrap_or_default())
}

/// Whether a signal watched by [`stop_on_signals`] has arrived (and the token was not reset).
pub fn stop_requested() -> bool {
    process_token::get().is_some_and(CancelToken::is_cancelled)
}

fn io(errno: i32) -> std::io::Error {
    std::io::Error::from_raw_os_error(errno)
}

fn keep(fd: OwnedFd) -> RawFd {
    let raw = fd.as_raw_fd();
    std::mem::forget(fd);
    raw
}

/// The handler: only async-signal-safe work (atomic loads and stores, `write(2)`), and `errno`
/// is put back as it was.
extern "C" fn on_signal(sig: libc::c_int) {
    let saved = sys::errno();
    let mut second = false;
    if let Some(token) = process_token::get() {
        let now = token.resets().wrapping_add(1).max(1);
        second = PENDING.swap(now, Ordering::SeqCst) == now;
        token.cancel_from_signal_handler(sig);
    }
    let pipe = PIPE.load(Ordering::SeqCst);
    if pipe >= 0 {
        // The signal number fits in 7 bits on Linux (at most 64).
        sys::write_byte(
            pipe,
            (sig as u8 & !SECOND) | if second { SECOND } else { 0 },
        );
    }
    sys::set_errno(saved);
}

fn signal_thread(read: OwnedFd) {
    while let Some(byte) = sys::read_byte(read.as_fd()) {
        if let Some(token) = process_token::get() {
            token.wake_sleepers();
        }
        if byte & SECOND != 0 {
            let sig = i32::from(byte & !SECOND);
            let removed = crate::owned::remove_all();
            // One write(2), not eprintln!: another thread may hold the stderr lock.
            let line = format!(
                "posix-ipc: second stop signal ({}): removed {removed} owned object(s); exiting\n",
                signal_name(sig)
            );
            sys::write_stderr(line.as_bytes());
            sys::die_of(sig);
        }
    }
}
