//! POSIX named semaphores (`sem_open`), posix_ipc's `Semaphore`.
//!
//! ```
//! use posix_ipc_core::Semaphore;
//! use std::time::Duration;
//!
//! # let name = format!("/doc-sem-{}", std::process::id());
//! let sem = Semaphore::create(&name, 1)?;          // O_CREX, value 1, mode 0600
//! {
//!     let _held = sem.acquire_guard()?;            // posix_ipc's `with sem:`
//!     assert_eq!(sem.value()?, 0);
//!     assert!(sem.try_acquire().unwrap_err().is_busy());
//! }                                                // released here
//! sem.acquire_timeout(Duration::from_millis(10))?;
//! sem.release()?;
//! sem.unlink()?;                                   // remove the name
//! # Ok::<(), posix_ipc_core::Error>(())
//! ```
//!
//! A semaphore has no owner: if a process dies while "holding" it, nobody releases it. Use it as
//! a counting signal, and keep crash-safe mutual exclusion for a lock that detects dead owners.

use std::fmt;
use std::time::Duration;

use crate::cancel::{self, CancelToken, Stops};
use crate::error::{self, Error, ErrorKind, ObjectKind, Operation, Result};
use crate::name::Name;
use crate::open::{self, Disposition};
use crate::sys::{SemHandle, SemLookup};
use crate::timeout::{Deadline, Timeout};
use crate::verify::{verify_methods, Verify};

const KIND: ObjectKind = ObjectKind::Semaphore;

/// An open POSIX named semaphore. Closed (`sem_close`) on drop; the name stays until
/// [`unlink`](Semaphore::unlink).
///
/// `Semaphore` is `Send` and `Sync`: threads may share one handle.
pub struct Semaphore {
    handle: SemHandle,
    name: Name,
    mode: u32,
    created: bool,
    cancel: Option<CancelToken>,
}

/// Options for opening or creating a semaphore, in the style of `std::fs::OpenOptions`.
///
/// ```
/// # let name = format!("/doc-semopt-{}", std::process::id());
/// let sem = posix_ipc_core::Semaphore::options()
///     .create_new(true)
///     .mode(0o600)
///     .initial_value(3)
///     .open(&name)?;
/// assert_eq!(sem.value()?, 3);
/// assert!(sem.created());
/// sem.unlink()?;
/// # Ok::<(), posix_ipc_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct SemaphoreOptions {
    disposition: Disposition,
    mode: u32,
    initial_value: u32,
    verify: Verify,
}

impl Default for SemaphoreOptions {
    fn default() -> Self {
        SemaphoreOptions {
            disposition: Disposition::Open,
            mode: 0o600,
            initial_value: 0,
            verify: Verify::default(),
        }
    }
}

impl SemaphoreOptions {
    /// Open an existing semaphore only (the default).
    pub fn new() -> Self {
        Self::default()
    }

    /// Create the semaphore if it does not exist (`O_CREAT`). Mode and initial value apply only
    /// if it is created; [`Semaphore::created`] tells which happened.
    pub fn create(&mut self, create: bool) -> &mut Self {
        self.disposition = self.disposition.with_create(create);
        self
    }

    /// Create a new semaphore and fail with [`ErrorKind::AlreadyExists`] if the name is taken
    /// (`O_CREAT | O_EXCL`). Never adopts an object someone else made.
    pub fn create_new(&mut self, create_new: bool) -> &mut Self {
        self.disposition = Disposition::with_create_new(create_new);
        self
    }

    /// Permission bits for a new semaphore (default `0o600`; the umask applies).
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.mode = mode;
        self
    }

    /// Initial value of a new semaphore (default 0), at most [`limits::sem_value_max`].
    ///
    /// [`limits::sem_value_max`]: crate::limits::sem_value_max
    pub fn initial_value(&mut self, value: u32) -> &mut Self {
        self.initial_value = value;
        self
    }

    verify_methods!("semaphore");

    /// Applies the `verify_*` checks to a semaphore just opened or created.
    fn verified(&self, sem: Semaphore) -> Result<Semaphore> {
        if self.verify.is_empty() {
            return Ok(sem);
        }
        let op = Verify::operation(sem.created);
        let object = || sem.name.object(KIND);
        let lookup = |detail: String, errno: i32| {
            Error::new(ErrorKind::Unsupported, op, object(), detail).with_errno(errno)
        };
        let left = if sem.created {
            "; the semaphore this call created is left in place (remove it with \
             unlink_semaphore if it is not wanted)"
        } else {
            ""
        };
        match crate::sys::sem_owner_mode(&sem.handle, sem.name.as_c_str()) {
            Ok((uid, mode)) => match self.verify.check(uid, mode, object(), op, sem.created) {
                Ok(()) => Ok(sem),
                Err(err) => {
                    if sem.created {
                        // The check ran on the inode this handle maps, which the name still
                        // names: it is the one this call created.
                        let _ = crate::sys::sem_unlink(sem.name.as_c_str());
                    }
                    Err(err)
                }
            },
            // Never unlink here: the name may now belong to someone else's semaphore.
            Err(SemLookup::Gone) => Err(Error::new(
                ErrorKind::Untrusted,
                op,
                object(),
                "its name was removed or given to another semaphore right after it was opened, \
                 so its owner and mode cannot be vouched for; open it again",
            )),
            Err(SemLookup::NoMaps(errno)) => Err(lookup(
                format!(
                    "cannot verify its owner and mode: /proc/self/maps is unreadable, and it is \
                     needed to match the semaphore to its file in /dev/shm{left}"
                ),
                errno,
            )),
            Err(SemLookup::Stat(errno)) => Err(lookup(
                format!(
                    "cannot verify its owner and mode: its file in /dev/shm cannot be read{left}"
                ),
                errno,
            )),
        }
    }

    fn check_value(&self, object: impl Fn() -> crate::error::Object) -> Result<()> {
        let max = crate::limits::sem_value_max();
        if self.initial_value > max {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                Operation::Create,
                object(),
                format!(
                    "initial_value {} exceeds SEM_VALUE_MAX ({max})",
                    self.initial_value
                ),
            ));
        }
        Ok(())
    }

    /// Opens (or creates) the semaphore `name` (`sem_open`).
    ///
    /// # Errors
    ///
    /// | kind | when |
    /// |---|---|
    /// | [`ErrorKind::InvalidName`] | the name is malformed (checked first) |
    /// | [`ErrorKind::InvalidArgument`] | the initial value exceeds `SEM_VALUE_MAX` |
    /// | [`ErrorKind::NotFound`] | opening without create, and no such semaphore |
    /// | [`ErrorKind::AlreadyExists`] | `create_new`, and the name is taken |
    /// | [`ErrorKind::PermissionDenied`] | the semaphore belongs to someone else |
    /// | [`ErrorKind::LimitExceeded`] | too many open files |
    /// | [`ErrorKind::Untrusted`] | the owner or mode fails a `verify_*` check |
    pub fn open(&self, name: &str) -> Result<Semaphore> {
        let op = match self.disposition {
            Disposition::Open => Operation::Open,
            _ => Operation::Create,
        };
        let name = Name::new(KIND, name, op)?;
        self.check_value(|| name.object(KIND))?;
        let (handle, created) = open::open_object(self.disposition, |extra| {
            SemHandle::open(name.as_c_str(), extra, self.mode, self.initial_value)
        })
        .map_err(|(errno, op)| error::os(errno, op, name.object(KIND)))?;
        self.verified(Semaphore {
            handle,
            name,
            mode: self.mode,
            created,
            cancel: None,
        })
    }

    /// Creates a semaphore under a new random name (`/` plus 5 to 12 lowercase letters), as
    /// posix_ipc does for `name=None`: exclusive creation, retried on a name clash.
    pub fn open_random(&self) -> Result<Semaphore> {
        self.check_value(|| crate::error::Object {
            kind: KIND,
            name: None,
        })?;
        let (handle, name) = open::create_random(|name, flags| {
            SemHandle::open(name.as_c_str(), flags, self.mode, self.initial_value)
        })
        .map_err(|(errno, op)| {
            error::os(
                errno,
                op,
                crate::error::Object {
                    kind: KIND,
                    name: None,
                },
            )
        })?;
        self.verified(Semaphore {
            handle,
            name,
            mode: self.mode,
            created: true,
            cancel: None,
        })
    }
}

impl Semaphore {
    /// posix_ipc's constructor: `Semaphore(name, flags=0, mode=0o600, initial_value=0)`.
    ///
    /// `name = None` creates a semaphore with a random name and requires `O_EXCL` in `flags`.
    /// `flags` is 0 (open), [`O_CREAT`](crate::O_CREAT) or [`O_CREX`](crate::O_CREX);
    /// `O_TRUNC` is accepted and ignored, as in posix_ipc.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] for `O_EXCL` without `O_CREAT`, or `None` without
    /// `O_EXCL`; otherwise as [`SemaphoreOptions::open`].
    pub fn new(name: Option<&str>, flags: i32, mode: u32, initial_value: u32) -> Result<Semaphore> {
        let bad = |detail: &str| {
            Error::new(
                ErrorKind::InvalidArgument,
                Operation::Open,
                crate::error::Object {
                    kind: KIND,
                    name: name.map(str::to_owned),
                },
                detail,
            )
        };
        let disposition = Disposition::from_flags(flags).map_err(bad)?;
        let mut options = Semaphore::options();
        options.mode(mode).initial_value(initial_value);
        options.disposition = disposition;
        match name {
            Some(name) => options.open(name),
            None if disposition == Disposition::CreateNew => options.open_random(),
            None => Err(bad("the name can only be None if O_EXCL is set")),
        }
    }

    /// A builder for the less common cases (mode, options known at run time).
    pub fn options() -> SemaphoreOptions {
        SemaphoreOptions::new()
    }

    /// Opens an existing semaphore (posix_ipc `Semaphore(name)`).
    pub fn open(name: &str) -> Result<Semaphore> {
        Semaphore::options().open(name)
    }

    /// As [`open`](Self::open), waiting up to `timeout` for the semaphore to exist and be
    /// initialised (its creator may start later): see [`open_wait`](crate::open_wait), which
    /// this is, for how it waits and stops (Ctrl-C, SIGTERM with
    /// [`signals`](crate::signals) on; a [`CancelToken`](crate::CancelToken) through
    /// `posix_ipc::open_wait` itself).
    pub fn open_wait(name: &str, timeout: impl Into<crate::Timeout>) -> Result<Semaphore> {
        crate::cancel::open_wait(timeout, None, || Semaphore::open(name))
    }

    /// Creates a new semaphore with `initial_value`, failing if the name exists
    /// (posix_ipc `Semaphore(name, O_CREX, initial_value=v)`).
    pub fn create(name: &str, initial_value: u32) -> Result<Semaphore> {
        Semaphore::options()
            .create_new(true)
            .initial_value(initial_value)
            .open(name)
    }

    /// Opens the semaphore, creating it with `initial_value` if it does not exist
    /// (posix_ipc `O_CREAT`). See [`created`](Semaphore::created).
    pub fn open_or_create(name: &str, initial_value: u32) -> Result<Semaphore> {
        Semaphore::options()
            .create(true)
            .initial_value(initial_value)
            .open(name)
    }

    /// As [`create`](Self::create), owned: the semaphore is removed when the owner is dropped
    /// (see [`Owned`](crate::Owned)).
    pub fn create_owned(name: &str, initial_value: u32) -> Result<crate::Owned<Semaphore>> {
        Self::create(name, initial_value).map(crate::Owned::new)
    }

    /// Creates a semaphore under a random unused name (posix_ipc `Semaphore(None, O_CREX)`).
    pub fn create_random(initial_value: u32) -> Result<Semaphore> {
        Semaphore::options()
            .create_new(true)
            .initial_value(initial_value)
            .open_random()
    }

    #[inline]
    fn err(&self, errno: i32, op: Operation) -> Error {
        let e = error::os(errno, op, self.name.object(KIND));
        match errno {
            libc::EAGAIN => Error::new(
                ErrorKind::WouldBlock,
                op,
                self.name.object(KIND),
                "the semaphore is busy (its value is 0)",
            )
            .with_errno(errno),
            libc::ETIMEDOUT => Error::new(
                ErrorKind::TimedOut,
                op,
                self.name.object(KIND),
                "the semaphore stayed at 0 until the timeout expired",
            )
            .with_errno(errno),
            libc::EOVERFLOW => Error::new(
                ErrorKind::Overflow,
                op,
                self.name.object(KIND),
                format!(
                    "the semaphore is already at SEM_VALUE_MAX ({})",
                    crate::limits::sem_value_max()
                ),
            )
            .with_errno(errno),
            _ => e,
        }
    }

    /// Waits until the value is above zero, then decrements it (`sem_wait`).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Interrupted`] if a signal handler interrupted the wait (posix_ipc's
    /// `SignalError`).
    #[doc(alias = "sem_wait")]
    #[inline]
    pub fn acquire(&self) -> Result<()> {
        self.acquire_with(Timeout::Infinite)
    }

    /// Decrements the value if it is above zero, without waiting (`sem_trywait`, posix_ipc
    /// `acquire(0)`).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::WouldBlock`] if the value is zero.
    #[doc(alias = "sem_trywait")]
    #[inline]
    pub fn try_acquire(&self) -> Result<()> {
        self.acquire_with(Timeout::Immediate)
    }

    /// Waits at most `timeout` (`sem_clockwait` on `CLOCK_MONOTONIC`, so changing the wall
    /// clock does not affect it). A zero timeout is [`try_acquire`](Semaphore::try_acquire).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::TimedOut`] when the timeout expires; [`ErrorKind::Interrupted`] on a signal.
    #[doc(alias = "sem_timedwait")]
    #[doc(alias = "sem_clockwait")]
    #[inline]
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<()> {
        self.acquire_with(Timeout::from(timeout))
    }

    /// posix_ipc's `acquire(timeout)`: [`Timeout::Infinite`], [`Timeout::Immediate`] or
    /// [`Timeout::After`] (a `Duration` or `Option<Duration>` converts).
    #[inline]
    pub fn acquire_with(&self, timeout: impl Into<Timeout>) -> Result<()> {
        let deadline = timeout.into().deadline();
        let stops = Stops::of(self.cancel.as_ref());
        if stops.active() && deadline != Deadline::Now {
            return self.acquire_stoppable(deadline, stops);
        }
        let r = match deadline {
            Deadline::Never => self.handle.wait(),
            Deadline::Now => self.handle.try_wait(),
            Deadline::At(at) => self.handle.wait_until(at),
        };
        r.map_err(|e| self.err(e, Operation::Acquire))
    }

    /// A wait that a [`CancelToken`] may stop: `sem_clockwait` in slices of 10 ms (glibc's
    /// semaphore wait cannot be woken from outside), looking at the tokens between slices.
    #[cold]
    fn acquire_stoppable(&self, deadline: Deadline, stops: Stops<'_>) -> Result<()> {
        let op = Operation::Acquire;
        loop {
            match self.handle.try_wait() {
                Ok(()) => return Ok(()),
                Err(libc::EAGAIN) | Err(libc::EINTR) => {}
                Err(e) => return Err(self.err(e, op)),
            }
            stops.check(op, || self.name.object(KIND))?;
            let now = crate::sys::monotonic_now();
            let slice_end = now + cancel::SLICE;
            let until = match deadline {
                Deadline::At(at) if at <= now => return Err(self.err(libc::ETIMEDOUT, op)),
                Deadline::At(at) => at.min(slice_end),
                _ => slice_end,
            };
            match self.handle.wait_until(until) {
                Ok(()) => return Ok(()),
                Err(libc::ETIMEDOUT) => {}
                Err(libc::EINTR) => {
                    stops.check(op, || self.name.object(KIND))?;
                    return Err(self.err(libc::EINTR, op));
                }
                Err(e) => return Err(self.err(e, op)),
            }
        }
    }

    /// Attaches a [`CancelToken`]: from now on a wait of this handle ends with
    /// [`ErrorKind::Cancelled`] when the token is cancelled (noticed within 10 ms; see
    /// [`cancel`](crate::cancel)). Replaces an earlier token.
    pub fn with_cancel(mut self, token: &CancelToken) -> Semaphore {
        self.cancel = Some(token.clone());
        self
    }

    /// The token attached with [`with_cancel`](Self::with_cancel), if any.
    pub fn cancel_token(&self) -> Option<&CancelToken> {
        self.cancel.as_ref()
    }

    /// Acquires (waiting as long as it takes) and returns a guard that releases on drop: the
    /// equivalent of posix_ipc's `with sem:`. The release happens also when the scope is left
    /// by `?` or a panic.
    pub fn acquire_guard(&self) -> Result<SemaphoreGuard<'_>> {
        self.acquire_guard_with(Timeout::Infinite)
    }

    /// As [`acquire_guard`](Semaphore::acquire_guard), with a timeout.
    pub fn acquire_guard_with(&self, timeout: impl Into<Timeout>) -> Result<SemaphoreGuard<'_>> {
        self.acquire_with(timeout)?;
        Ok(SemaphoreGuard { sem: self })
    }

    /// Increments the value, waking one waiter (`sem_post`). Async-signal-safe underneath.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Overflow`] if the value is already `SEM_VALUE_MAX`.
    #[doc(alias = "sem_post")]
    #[inline]
    pub fn release(&self) -> Result<()> {
        self.handle
            .post()
            .map_err(|e| self.err(e, Operation::Release))
    }

    /// The current value (`sem_getvalue`). Another process may change it at any moment.
    #[doc(alias = "sem_getvalue")]
    #[inline]
    pub fn value(&self) -> Result<u32> {
        self.handle
            .value()
            .map(|v| v.max(0) as u32)
            .map_err(|e| self.err(e, Operation::GetValue))
    }

    /// The name, with its leading slash.
    pub fn name(&self) -> &str {
        self.name.as_str()
    }

    /// The mode given when opening (posix_ipc's `mode` attribute: the argument, not the
    /// object's real permissions).
    pub fn mode(&self) -> u32 {
        self.mode
    }

    /// Whether this handle created the semaphore (as opposed to opening an existing one).
    pub fn created(&self) -> bool {
        self.created
    }

    /// Removes the name (`sem_unlink`). Processes that have it open keep using it; the
    /// semaphore is destroyed when the last one closes it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`] if the name was already removed.
    #[doc(alias = "sem_unlink")]
    pub fn unlink(&self) -> Result<()> {
        unlink_name(&self.name)
    }

    /// Closes the handle now (`sem_close`), reporting any error. Dropping also closes.
    pub fn close(self) -> Result<()> {
        let object = self.name.object(KIND);
        self.handle
            .close()
            .map_err(|e| error::os(e, Operation::Close, object))
    }
}

/// How an owner removes and identifies a semaphore's name.
pub(crate) static REMOVER: crate::owned::Remover = crate::owned::Remover {
    unlink: unlink_name,
    identify: identity_of,
};

/// Device and inode of the semaphore `name` names now (its file in `/dev/shm`).
fn identity_of(name: &Name) -> Option<(u64, u64)> {
    crate::sys::stat_id(&crate::name::semaphore_path(name)).ok()
}

impl crate::owned::sealed::Sealed for Semaphore {}

impl crate::owned::Removable for Semaphore {
    fn created_object(&self) -> bool {
        self.created
    }
    fn owned_names(&self) -> Vec<crate::owned::OwnedName> {
        let id = identity_of(&self.name);
        vec![crate::owned::OwnedName::new(&self.name, id, &REMOVER)]
    }
}

fn unlink_name(name: &Name) -> Result<()> {
    crate::sys::sem_unlink(name.as_c_str()).map_err(|e| {
        let mut err = error::os(e, Operation::Unlink, name.object(KIND));
        if e == libc::ENOENT {
            err = Error::new(
                ErrorKind::NotFound,
                Operation::Unlink,
                name.object(KIND),
                "no semaphore exists with the specified name",
            )
            .with_errno(e);
        }
        err
    })
}

/// Removes the semaphore `name` (`sem_unlink`), posix_ipc's `unlink_semaphore`.
///
/// # Errors
///
/// [`ErrorKind::InvalidName`] for a malformed name, [`ErrorKind::NotFound`] if it does not exist,
/// [`ErrorKind::PermissionDenied`] if it belongs to someone else.
#[doc(alias = "sem_unlink")]
pub fn unlink_semaphore(name: &str) -> Result<()> {
    unlink_name(&Name::new(KIND, name, Operation::Unlink)?)
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "posix_ipc.Semaphore({:?}, mode={:04o})",
            self.name.as_str(),
            self.mode
        )
    }
}

impl fmt::Display for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name.as_str())
    }
}

/// Holds one unit of a semaphore; releases it when dropped. See
/// [`Semaphore::acquire_guard`].
#[must_use = "the semaphore is released as soon as the guard is dropped"]
#[derive(Debug)]
pub struct SemaphoreGuard<'a> {
    sem: &'a Semaphore,
}

impl SemaphoreGuard<'_> {
    /// The semaphore this guard holds.
    pub fn semaphore(&self) -> &Semaphore {
        self.sem
    }

    /// Releases now, reporting an error that `Drop` would have to ignore.
    pub fn release(self) -> Result<()> {
        let sem = self.sem;
        std::mem::forget(self);
        sem.release()
    }
}

impl Drop for SemaphoreGuard<'_> {
    fn drop(&mut self) {
        // Cannot fail: this guard's own acquire brought the value down by one, so posting
        // brings it back at most to where it was, below SEM_VALUE_MAX.
        let _ = self.sem.release();
    }
}
