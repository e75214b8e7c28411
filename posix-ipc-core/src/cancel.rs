//! Stopping a blocked call from outside: [`CancelToken`].
//!
//! Every blocking call of this crate (semaphore acquire, queue send and receive, the typed
//! queue, the ring, the `Shared<T>` write lock and [`Shared::wait_change`](crate::Shared),
//! [`RobustMutex::lock`](crate::RobustMutex::lock)) can be stopped by a token attached to its
//! handle with `with_cancel`, or by every token at once when
//! [`signals::stop_on_signals`](crate::signals::stop_on_signals) is on and Ctrl-C or SIGTERM
//! arrives. A stopped call returns [`ErrorKind::Cancelled`] and has
//! done nothing: no message was taken or sent, no unit acquired, so nothing is lost or
//! duplicated.
//!
//! ```
//! use posix_ipc_core::{CancelToken, ErrorKind, MessageQueue};
//! use std::time::Duration;
//!
//! # let name = format!("/doc-cancel-{}", std::process::id());
//! let stop = CancelToken::new();
//! let mq = MessageQueue::create(&name, 2, 64)?.with_cancel(&stop);
//! let stopper = stop.clone();
//! let t = std::thread::spawn(move || {
//!     std::thread::sleep(Duration::from_millis(50));
//!     stopper.cancel();                      // from any thread
//! });
//! let err = mq.receive().unwrap_err();       // blocked on the empty queue until then
//! assert_eq!(err.kind(), ErrorKind::Cancelled);
//! t.join().unwrap();
//! mq.unlink()?;
//! # Ok::<(), posix_ipc_core::Error>(())
//! ```
//!
//! # When a cancelled token is seen
//!
//! A call checks its tokens whenever it would have to wait, and while it waits. A call that
//! can complete at once (a message is queued, there is room, the semaphore is free) completes,
//! so a program can still drain what is there after a stop (`try_recv`, `try_iter`); a busy
//! loop that never waits should test [`CancelToken::is_cancelled`] itself.
//!
//! # How fast a waiter notices
//!
//! | wait | woken by `cancel()` |
//! |---|---|
//! | ring, `Shared<T>::wait_change` (a futex in the segment) | at once: the token wakes the futex |
//! | message queue, typed queue | at once: the wait is a `ppoll` on the queue and on the token's `eventfd` |
//! | `Shared<T>` write lock | at once, or within 10 ms if the cancel lands between the last check and the sleep |
//! | semaphore, `RobustMutex` | within 10 ms: glibc's waits cannot be woken from outside, so they wait in 10 ms slices while a token is attached |
//!
//! Without a token (and without [`signals`](crate::signals)) every call waits exactly as it
//! did before: one blocking system call, no slices, no extra cost.

use std::fmt;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::error::{Error, ErrorKind, Object, Operation};
use crate::sys;

/// How long a semaphore or robust-mutex wait sleeps between looks at its tokens.
pub(crate) const SLICE: Duration = Duration::from_millis(10);

/// A handle that stops blocking calls, from any thread. Clones share one state.
///
/// Attach it to a handle with `with_cancel(&token)` (every handle that can block has it:
/// [`Semaphore`](crate::Semaphore), [`MessageQueue`](crate::MessageQueue),
/// [`Sender`](crate::Sender), [`Receiver`](crate::Receiver), [`Shared`](crate::Shared),
/// [`RingSender`](crate::RingSender), [`RingReceiver`](crate::RingReceiver),
/// [`RobustMutex`](crate::RobustMutex)); one token may serve many handles. See the
/// [module documentation](self) for an example and for how fast each kind of wait notices.
#[derive(Clone)]
pub struct CancelToken(Arc<Inner>);

struct Inner {
    cancelled: AtomicBool,
    /// The signal that cancelled the token (the [`signals`](crate::signals) token), or 0.
    signal: AtomicI32,
    /// How many times [`CancelToken::reset`] was called.
    resets: AtomicU32,
    /// An `eventfd` that becomes readable when the token is cancelled, so a queue wait can
    /// `ppoll` it beside the queue. `None` if the process had no descriptor left for it: queue
    /// waits then look at the token every 10 ms instead.
    event: Option<OwnedFd>,
    /// Futex words that calls waiting with this token sleep on right now.
    sleepers: Mutex<Sleepers>,
}

#[derive(Default)]
struct Sleepers {
    next: u64,
    /// (registration id, address of an `AtomicU32`, whether to bump it before waking).
    list: Vec<(u64, usize, bool)>,
}

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> CancelToken {
        CancelToken(Arc::new(Inner {
            cancelled: AtomicBool::new(false),
            signal: AtomicI32::new(0),
            resets: AtomicU32::new(0),
            event: sys::eventfd().ok(),
            sleepers: Mutex::new(Sleepers::default()),
        }))
    }

    /// Stops every call waiting with this token now, and every later call that would wait,
    /// until [`reset`](Self::reset). Calls already finished are not affected. Idempotent.
    ///
    /// Not for signal handlers (it takes a lock); use
    /// [`signals::stop_on_signals`](crate::signals::stop_on_signals), or call it from the
    /// thread-based callback of `ctrlc` or `signal-hook`.
    pub fn cancel(&self) {
        // Under the sleepers' lock, so that a `reset` on another thread cannot drain the
        // eventfd between the flag and the write (which would leave a readable eventfd on a
        // token that is not cancelled, and queue waits polling it would spin).
        let sleepers = self
            .0
            .sleepers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.0.cancelled.store(true, Ordering::SeqCst);
        if let Some(fd) = &self.0.event {
            sys::eventfd_signal(fd.as_raw_fd());
        }
        Self::wake_locked(&sleepers);
    }

    /// Wakes the futex sleepers (the flag and the eventfd were set by a signal handler, which
    /// can do only that).
    pub(crate) fn wake_sleepers(&self) {
        let sleepers = self
            .0
            .sleepers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Self::wake_locked(&sleepers);
    }

    fn wake_locked(sleepers: &Sleepers) {
        for &(_, addr, bump) in &sleepers.list {
            // SAFETY: `addr` is the address of an `AtomicU32` registered by a `Watch` that is
            // still alive: a `Watch` removes its entry, under this same lock, before the borrow
            // of the word it was made from ends, so while the lock is held here every listed
            // word is valid (a mapped futex word of a live handle). It is only accessed
            // atomically, by every process that maps it.
            let word = unsafe { &*(addr as *const AtomicU32) };
            if bump {
                word.fetch_add(1, Ordering::SeqCst);
            }
            sys::futex_wake(word, i32::MAX);
        }
    }

    /// Whether the token has been cancelled (and not reset since).
    #[inline]
    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::SeqCst)
    }

    /// Makes the token usable again: later waits are no longer stopped by it.
    pub fn reset(&self) {
        let _serialised = self
            .0
            .sleepers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.0.cancelled.store(false, Ordering::SeqCst);
        self.0.signal.store(0, Ordering::SeqCst);
        self.0.resets.fetch_add(1, Ordering::SeqCst);
        if let Some(fd) = &self.0.event {
            sys::eventfd_drain(fd.as_raw_fd());
        }
    }

    pub(crate) fn resets(&self) -> u32 {
        self.0.resets.load(Ordering::SeqCst)
    }

    /// The signal number that cancelled this token, for the token of
    /// [`signals::stop_on_signals`](crate::signals::stop_on_signals); `None` otherwise.
    pub fn signal(&self) -> Option<i32> {
        match self.0.signal.load(Ordering::SeqCst) {
            0 => None,
            s => Some(s),
        }
    }

    /// What a signal handler may do: store the flag and the signal, write the eventfd. All
    /// async-signal-safe (atomic stores and `write(2)`).
    pub(crate) fn cancel_from_signal_handler(&self, signal: i32) {
        self.0.signal.store(signal, Ordering::SeqCst);
        self.0.cancelled.store(true, Ordering::SeqCst);
        if let Some(fd) = &self.0.event {
            sys::eventfd_signal(fd.as_raw_fd());
        }
    }

    pub(crate) fn event_fd(&self) -> Option<RawFd> {
        self.0.event.as_ref().map(AsRawFd::as_raw_fd)
    }

    fn register(&self, word: &AtomicU32, bump: bool) -> u64 {
        let mut s = self
            .0
            .sleepers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        s.next += 1;
        let id = s.next;
        s.list.push((id, word as *const AtomicU32 as usize, bump));
        id
    }

    fn unregister(&self, id: u64) {
        let mut s = self
            .0
            .sleepers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        s.list.retain(|&(i, _, _)| i != id);
    }

    fn ptr_eq(&self, other: &CancelToken) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Default for CancelToken {
    fn default() -> Self {
        CancelToken::new()
    }
}

impl fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelToken")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

/// The process-wide token that [`signals::stop_on_signals`](crate::signals::stop_on_signals)
/// hands out and its handlers cancel. It lives here, below every blocking call, so that those
/// calls obey it without knowing how signals are caught.
pub(crate) mod process_token {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::OnceLock;

    use super::CancelToken;

    /// The token, set once by [`install`].
    static TOKEN: OnceLock<CancelToken> = OnceLock::new();
    /// Whether [`TOKEN`] is set (one plain load on the hot paths that ask).
    static INSTALLED: AtomicBool = AtomicBool::new(false);

    /// The token, if it is on (cheap: one atomic load); blocking calls obey it.
    #[inline]
    pub(crate) fn active() -> Option<&'static CancelToken> {
        if INSTALLED.load(Ordering::Relaxed) {
            TOKEN.get()
        } else {
            None
        }
    }

    /// The token, if it was ever installed (for the signal handler and its thread).
    pub(crate) fn get() -> Option<&'static CancelToken> {
        TOKEN.get()
    }

    /// Makes the token and turns it on; a second call keeps the first token.
    pub(crate) fn install() {
        let _ = TOKEN.set(CancelToken::new());
        INSTALLED.store(true, Ordering::SeqCst);
    }
}

/// The tokens a call must obey: its handle's, and the process-wide one of
/// [`signals`](crate::signals) when that is on.
#[derive(Clone, Copy)]
pub(crate) struct Stops<'a> {
    own: Option<&'a CancelToken>,
    global: Option<&'static CancelToken>,
}

impl<'a> Stops<'a> {
    #[inline]
    pub(crate) fn of(own: Option<&'a CancelToken>) -> Stops<'a> {
        let global = process_token::active();
        // The same token twice would be registered twice; once is enough.
        let own = match (own, global) {
            (Some(o), Some(g)) if o.ptr_eq(g) => None,
            _ => own,
        };
        Stops { own, global }
    }

    /// Whether any token applies (otherwise calls wait as they always did).
    #[inline]
    pub(crate) fn active(&self) -> bool {
        self.own.is_some() || self.global.is_some()
    }

    fn tokens(&self) -> impl Iterator<Item = &'a CancelToken> {
        let global: Option<&'a CancelToken> = self.global;
        self.own.into_iter().chain(global)
    }

    /// The error to return if a token is cancelled, naming the cause.
    pub(crate) fn check(
        &self,
        op: Operation,
        object: impl FnOnce() -> Object,
    ) -> Result<(), Error> {
        let Some(token) = self.tokens().find(|t| t.is_cancelled()) else {
            return Ok(());
        };
        let cause = match token.signal() {
            Some(sig) => format!(
                "{} arrived and posix_ipc::signals::stop_on_signals turns it into a stop",
                signal_name(sig)
            ),
            None => "its CancelToken was cancelled".to_string(),
        };
        let nothing = match op {
            Operation::Send => "nothing was sent",
            Operation::Receive => "nothing was received",
            Operation::Acquire => "nothing was acquired",
            Operation::Store => "nothing was stored",
            _ => "nothing was done",
        };
        Err(Error::new(
            ErrorKind::Cancelled,
            op,
            object(),
            format!("the wait was stopped: {cause}; {nothing}"),
        ))
    }

    /// Whether a token is cancelled.
    pub(crate) fn cancelled(&self) -> bool {
        self.tokens().any(CancelToken::is_cancelled)
    }

    /// The eventfds to poll beside a queue; `None` in a slot without one. If a token has no
    /// eventfd, `sliced` tells the caller to wake every [`SLICE`].
    pub(crate) fn event_fds(&self) -> ([Option<RawFd>; 2], bool) {
        let mut fds = [None; 2];
        let mut sliced = false;
        for (slot, t) in fds.iter_mut().zip(self.tokens()) {
            *slot = t.event_fd();
            sliced |= slot.is_none();
        }
        (fds, sliced)
    }

    /// Registers `word` with every token for the duration of a futex wait: a cancel wakes it
    /// (after adding 1 to it when `bump`, so that a waiter about to sleep on the old value
    /// does not sleep at all; only for words whose value is a wake-up counter).
    pub(crate) fn watch<'w>(&self, word: &'w AtomicU32, bump: bool) -> Watch<'w>
    where
        'a: 'w,
    {
        let mut ids = [None, None];
        for (slot, t) in ids.iter_mut().zip(self.tokens()) {
            *slot = Some((t.register(word, bump), t));
        }
        Watch {
            ids,
            _word: std::marker::PhantomData,
        }
    }
}

/// A futex word registered with the tokens of a wait; unregistered on drop.
pub(crate) struct Watch<'w> {
    ids: [Option<(u64, &'w CancelToken)>; 2],
    _word: std::marker::PhantomData<&'w AtomicU32>,
}

impl Drop for Watch<'_> {
    fn drop(&mut self) {
        for (id, t) in self.ids.iter().flatten() {
            t.unregister(*id);
        }
    }
}

/// The name of a signal number (`SIGINT`), or `signal N`.
pub(crate) fn signal_name(sig: i32) -> String {
    let name = match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGSTOP => "SIGSTOP",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGBUS => "SIGBUS",
        libc::SIGABRT => "SIGABRT",
        _ => return format!("signal {sig}"),
    };
    name.to_string()
}

/// Longest sleep between two attempts of [`open_wait`].
pub(crate) const OPEN_WAIT_MAX_SLICE: Duration = Duration::from_millis(50);

/// Opens a named object that may not exist yet: calls `open` until it succeeds or fails with
/// something other than "not there yet" ([`ErrorKind::NotFound`],
/// [`ErrorKind::NotInitialized`]), sleeping between attempts with a backoff from 1 ms up to
/// 50 ms (no busy polling). Stops at `timeout` ([`ErrorKind::TimedOut`], naming the object and
/// why it was not opened) or when `cancel`, or the process token of
/// [`signals`](crate::signals) (Ctrl-C, SIGTERM), is cancelled ([`ErrorKind::Cancelled`]), at
/// once: the sleep is a futex wait the token wakes.
///
/// Every kind's `open_wait(name, timeout)` is this around its `open`; with a token, or for an
/// `open` that takes more arguments, call it directly:
///
/// ```
/// use std::time::Duration;
/// use posix_ipc_core::{open_wait, CancelToken, ErrorKind, Semaphore};
///
/// let stop = CancelToken::new();
/// # let name = format!("/doc-open-wait-{}", std::process::id());
/// let err = open_wait(Duration::from_millis(20), Some(&stop), || Semaphore::open(&name))
///     .unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::TimedOut);
/// # Ok::<(), posix_ipc_core::Error>(())
/// ```
pub fn open_wait<T>(
    timeout: impl Into<crate::timeout::Timeout>,
    cancel: Option<&CancelToken>,
    mut open: impl FnMut() -> Result<T, Error>,
) -> Result<T, Error> {
    let timeout = timeout.into();
    let deadline = timeout.deadline();
    let stops = Stops::of(cancel);
    let word = AtomicU32::new(0);
    let mut slice = Duration::from_millis(1);
    loop {
        let waited_for = match open() {
            Ok(v) => return Ok(v),
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotInitialized) => e,
            Err(e) => return Err(e),
        };
        let object = || waited_for.object().clone();
        stops.check(Operation::Open, object)?;
        let Some(left) = deadline.remaining() else {
            let what = match waited_for.kind() {
                ErrorKind::NotFound => "it did not appear",
                _ => "its creator did not finish initialising it",
            };
            let waited = match timeout {
                crate::timeout::Timeout::After(d) => format!(" for {d:?}"),
                _ => String::new(),
            };
            return Err(Error::new(
                ErrorKind::TimedOut,
                Operation::Open,
                object(),
                format!(
                    "waited{waited} for it to exist, but {what}: {}",
                    waited_for.detail()
                ),
            ));
        };
        let nap = slice.min(left);
        {
            let _watch = stops.watch(&word, true);
            let seen = word.load(Ordering::SeqCst);
            if !stops.cancelled() {
                sys::futex_wait(&word, seen, nap);
            }
        }
        stops.check(Operation::Open, object)?;
        slice = (slice * 2).min(OPEN_WAIT_MAX_SLICE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancel_wakes_a_registered_futex_sleeper_at_once() {
        let token = CancelToken::new();
        let word = Arc::new(AtomicU32::new(7));
        let (w, t) = (Arc::clone(&word), token.clone());
        let sleeper = std::thread::spawn(move || {
            let stops = Stops {
                own: Some(&t),
                global: None,
            };
            let started = std::time::Instant::now();
            let _watch = stops.watch(&w, true);
            while !stops.cancelled() {
                sys::futex_wait(&w, w.load(Ordering::SeqCst), Duration::from_secs(30));
            }
            started.elapsed()
        });
        std::thread::sleep(Duration::from_millis(20));
        token.cancel();
        let slept = sleeper.join().unwrap();
        assert!(slept < Duration::from_secs(10), "woken after {slept:?}");
        assert!(word.load(Ordering::SeqCst) >= 8, "the word was bumped");
        assert!(token.sleepers_empty());
    }

    #[test]
    fn reset_makes_the_token_usable_again() {
        let token = CancelToken::new();
        token.cancel();
        assert!(token.is_cancelled());
        token.reset();
        assert!(!token.is_cancelled());
        let stops = Stops {
            own: Some(&token),
            global: None,
        };
        assert!(stops
            .check(Operation::Receive, || Object {
                kind: crate::ObjectKind::MessageQueue,
                name: None
            })
            .is_ok());
    }

    impl CancelToken {
        fn sleepers_empty(&self) -> bool {
            self.0.sleepers.lock().unwrap().list.is_empty()
        }
    }
}
