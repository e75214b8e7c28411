//! `mq_notify`: [`Notification`] by signal or callback, and the registry of pending callbacks
//! that makes a late notification harmless.

use std::collections::HashMap;
use std::fmt;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::error::{self, ErrorKind, Operation, Result};
use crate::sys::{self};

use super::*;

/// What [`MessageQueue::request_notification`] should do when the queue goes from empty to
/// non-empty.
#[non_exhaustive]
pub enum Notification {
    /// Cancel this process's registration (posix_ipc `request_notification(None)`).
    Cancel,
    /// Send this signal to the process (posix_ipc `request_notification(signum)`); install a
    /// handler first. [`USER_SIGNAL_MIN`](crate::USER_SIGNAL_MIN) to
    /// [`USER_SIGNAL_MAX`](crate::USER_SIGNAL_MAX) are meant for this.
    Signal(i32),
    /// Run this function on a new thread (posix_ipc `request_notification((f, param))`).
    Callback(Box<dyn FnOnce() + Send + 'static>),
}

impl Notification {
    /// A callback notification from a closure.
    pub fn callback(f: impl FnOnce() + Send + 'static) -> Notification {
        Notification::Callback(Box::new(f))
    }
}

impl fmt::Debug for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Notification::Cancel => f.write_str("Cancel"),
            Notification::Signal(s) => write!(f, "Signal({s})"),
            Notification::Callback(_) => f.write_str("Callback(..)"),
        }
    }
}

type Callback = Box<dyn FnOnce() + Send + 'static>;

/// Pending callbacks by token. glibc's notification thread receives only the token, never a
/// pointer: a registration that fires after its queue was dropped finds nothing and does
/// nothing (posix_ipc 1.3.2 segfaults there).
static CALLBACKS: Mutex<Option<HashMap<usize, Callback>>> = Mutex::new(None);
static NEXT_TOKEN: AtomicUsize = AtomicUsize::new(1);

fn callbacks() -> std::sync::MutexGuard<'static, Option<HashMap<usize, Callback>>> {
    CALLBACKS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Removes a pending callback from the registry and drops it only once the registry is
/// unlocked: the callback may own the last handle of another queue with a pending callback of
/// its own, whose drop locks the registry again (dropping it under the lock deadlocked).
fn discard_callback(token: usize) {
    let callback = callbacks().as_mut().and_then(|map| map.remove(&token));
    drop(callback);
}

extern "C" fn run_callback(value: libc::sigval) {
    let token = value.sival_ptr as usize;
    let callback = callbacks().as_mut().and_then(|map| map.remove(&token));
    if let Some(callback) = callback {
        // A panic must not unwind into glibc's thread; the panic hook has already reported it.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(callback));
    }
}

impl MessageQueue {
    /// Asks the kernel to notify this process when the queue goes from empty to non-empty
    /// (`mq_notify`). One-shot: after it fires, register again. Each call first cancels this
    /// process's current registration, as posix_ipc does.
    ///
    /// The kernel allows one registered process per queue, and does not notify while a
    /// process is blocked in a receive. A callback runs on a thread that glibc creates; it may
    /// register again (hold the queue in an `Arc`). Dropping or closing this handle cancels a
    /// pending callback, and a callback that fires late finds nothing to run: no use after free
    /// is possible (posix_ipc 1.3.2 segfaults there).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotificationBusy`] if another process is registered;
    /// [`ErrorKind::InvalidArgument`] for a signal outside 1 to `SIGRTMAX`.
    #[doc(alias = "mq_notify")]
    pub fn request_notification(&self, notification: Notification) -> Result<()> {
        let op = Operation::Notify;
        if let Notification::Signal(signo) = notification {
            let max = *crate::constants::USER_SIGNAL_MAX;
            if !(1..=max).contains(&signo) {
                return Err(self.fail(
                    ErrorKind::InvalidArgument,
                    op,
                    format!("signal {signo} is not a valid signal number (1 to {max})"),
                ));
            }
        }
        let mut token = self
            .notify
            .token
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.cancel_locked(&mut token)?;
        let busy = |e: i32| match e {
            libc::EBUSY => self
                .fail(
                    ErrorKind::NotificationBusy,
                    op,
                    "the queue is already delivering notifications to another process",
                )
                .with_errno(e),
            _ => error::os(e, op, self.object()),
        };
        match notification {
            Notification::Cancel => Ok(()),
            Notification::Signal(signo) => self.handle.notify_signal(signo).map_err(busy),
            Notification::Callback(callback) => {
                let t = NEXT_TOKEN.fetch_add(1, Ordering::Relaxed);
                callbacks()
                    .get_or_insert_with(HashMap::new)
                    .insert(t, callback);
                match self.handle.notify_thread(run_callback, t) {
                    Ok(()) => {
                        *token = Some(t);
                        Ok(())
                    }
                    Err(e) => {
                        discard_callback(t);
                        Err(busy(e))
                    }
                }
            }
        }
    }

    fn cancel_locked(&self, token: &mut Option<usize>) -> Result<()> {
        self.handle
            .notify_cancel()
            .map_err(|e| error::os(e, Operation::Notify, self.object()))?;
        if let Some(t) = token.take() {
            discard_callback(t);
        }
        Ok(())
    }
}

/// This handle's pending callback registration. Declared before the descriptor in
/// [`MessageQueue`], so it is dropped (and cancels) while the descriptor is still open.
pub(super) struct NotifyState {
    pub(super) mqd: RawFd,
    pub(super) token: Mutex<Option<usize>>,
}

impl Drop for NotifyState {
    fn drop(&mut self) {
        let token = self.token.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(t) = token.take() {
            let _ = sys::mq_notify_cancel(self.mqd);
            discard_callback(t);
        }
    }
}
