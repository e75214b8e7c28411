//! POSIX message queues (`mq_open`), posix_ipc's `MessageQueue`.
//!
//! ```
//! use posix_ipc_core::MessageQueue;
//!
//! # let name = format!("/doc-mq-{}", std::process::id());
//! // 4 messages of at most 64 bytes; keep queues small (RLIMIT_MSGQUEUE is per user).
//! let mq = MessageQueue::create(&name, 4, 64)?;
//! mq.send(b"low", 1)?;
//! mq.send(b"high", 9)?;
//! assert_eq!(mq.receive()?, (b"high".to_vec(), 9));   // highest priority first
//! let mut buf = [0u8; 64];                              // no allocation
//! let (len, prio) = mq.receive_into(&mut buf, posix_ipc_core::Timeout::Immediate)?;
//! assert_eq!((&buf[..len], prio), (&b"low"[..], 1));
//! assert!(mq.try_receive().unwrap_err().is_busy());     // empty
//! mq.unlink()?;
//! # Ok::<(), posix_ipc_core::Error>(())
//! ```
//!
//! Timed sends and receives wait on `CLOCK_MONOTONIC` (a `ppoll` on the queue descriptor
//! between non-blocking attempts), so changing the wall clock does not affect them; posix_ipc
//! hands the kernel a `CLOCK_REALTIME` deadline.
//!
//! On Linux a queue descriptor is a file descriptor: [`MessageQueue`] implements [`AsFd`], so it
//! works with `poll`, epoll, mio and tokio's `AsyncFd`.

use std::collections::HashMap;
use std::fmt;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crate::cancel::{self, CancelToken, Stops};
use crate::constants::QUEUE_PRIORITY_MAX;
use crate::error::{self, Error, ErrorKind, Object, ObjectKind, Operation, Result};
use crate::limits;
use crate::name::Name;
use crate::open::{self, Disposition};
use crate::sys::{self, MqHandle};
use crate::timeout::{Deadline, Timeout};
use crate::verify::{verify_methods, Verify};

const KIND: ObjectKind = ObjectKind::MessageQueue;

/// An open POSIX message queue: a descriptor, closed on drop. The name stays until
/// [`unlink`](MessageQueue::unlink).
///
/// `MessageQueue` is `Send` and `Sync`: several threads may send and receive through one handle.
pub struct MessageQueue {
    /// Must stay the first field: it cancels a pending callback before `handle` closes.
    notify: NotifyState,
    handle: MqHandle,
    name: Name,
    mode: u32,
    max_messages: usize,
    max_message_size: usize,
    read: bool,
    write: bool,
    created: bool,
    cancel: Option<CancelToken>,
}

/// How long a wait with a peer check (the typed layer's liveness) sleeps before it looks at the
/// other side's processes again.
pub(crate) const PEER_SLICE: Duration = Duration::from_millis(100);

/// How a send or receive of the typed layer waits.
pub(crate) struct Wait<'a> {
    /// When to give up.
    pub(crate) deadline: Deadline,
    /// Whether `EINTR` (a signal handler ran) retries instead of failing with `Interrupted`.
    pub(crate) retry_eintr: bool,
    /// Asked every [`PEER_SLICE`] of waiting: the `Disconnected` error once every peer of the
    /// other side has gone.
    pub(crate) disconnected: Option<&'a dyn Fn() -> Option<Error>>,
    /// The handle's current slice deadline (`CLOCK_REALTIME` nanoseconds; 0: none yet), for
    /// waits with a peer check and no timeout.
    pub(crate) slice: Option<&'a std::sync::atomic::AtomicU64>,
}

impl Wait<'_> {
    /// posix_ipc's behaviour: a signal interrupts, no peer check.
    pub(crate) fn plain(deadline: Deadline) -> Wait<'static> {
        Wait {
            deadline,
            retry_eintr: false,
            disconnected: None,
            slice: None,
        }
    }
}

/// Options for opening or creating a queue, in the style of `std::fs::OpenOptions`.
///
/// ```
/// # let name = format!("/doc-mqopt-{}", std::process::id());
/// let mq = posix_ipc_core::MessageQueue::options()
///     .create_new(true)
///     .max_messages(2)
///     .max_message_size(16)
///     .write(true)
///     .read(false)
///     .open(&name)?;
/// assert!(mq.try_receive().unwrap_err().is_permissions());
/// mq.unlink()?;
/// # Ok::<(), posix_ipc_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct MessageQueueOptions {
    disposition: Disposition,
    mode: u32,
    max_messages: Option<i64>,
    max_message_size: Option<i64>,
    read: bool,
    write: bool,
    nonblocking: bool,
    verify: Verify,
}

impl Default for MessageQueueOptions {
    fn default() -> Self {
        MessageQueueOptions {
            disposition: Disposition::Open,
            mode: 0o600,
            max_messages: None,
            max_message_size: None,
            read: true,
            write: true,
            nonblocking: false,
            verify: Verify::default(),
        }
    }
}

impl MessageQueueOptions {
    /// Open an existing queue for reading and writing, blocking (the defaults).
    pub fn new() -> Self {
        Self::default()
    }

    /// Create the queue if it does not exist (`O_CREAT`). The sizes apply only if it is
    /// created; the real ones are always read back (`mq_getattr`).
    pub fn create(&mut self, create: bool) -> &mut Self {
        self.disposition = self.disposition.with_create(create);
        self
    }

    /// Create a new queue; fail with [`ErrorKind::AlreadyExists`] if the name is taken.
    pub fn create_new(&mut self, create_new: bool) -> &mut Self {
        self.disposition = Disposition::with_create_new(create_new);
        self
    }

    /// Permission bits for a new queue (default `0o600`; the umask applies).
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.mode = mode;
        self
    }

    /// Capacity of a new queue in messages. Default: the system's `fs.mqueue.msg_default`.
    /// Above `fs.mqueue.msg_max` needs `CAP_SYS_RESOURCE`.
    pub fn max_messages(&mut self, n: usize) -> &mut Self {
        self.max_messages = Some(i64::try_from(n).unwrap_or(i64::MAX));
        self
    }

    /// Largest message of a new queue in bytes. Default: `fs.mqueue.msgsize_default`. Above
    /// `fs.mqueue.msgsize_max` needs `CAP_SYS_RESOURCE`.
    pub fn max_message_size(&mut self, n: usize) -> &mut Self {
        self.max_message_size = Some(i64::try_from(n).unwrap_or(i64::MAX));
        self
    }

    /// Open for receiving (default true).
    pub fn read(&mut self, read: bool) -> &mut Self {
        self.read = read;
        self
    }

    /// Open for sending (default true).
    pub fn write(&mut self, write: bool) -> &mut Self {
        self.write = write;
        self
    }

    /// Start in non-blocking mode (`O_NONBLOCK`; posix_ipc `block=False`).
    pub fn nonblocking(&mut self, nonblocking: bool) -> &mut Self {
        self.nonblocking = nonblocking;
        self
    }

    verify_methods!("queue");

    fn attrs(&self, object: &dyn Fn() -> Object) -> Result<(i64, i64)> {
        let op = Operation::Create;
        let max_messages = self
            .max_messages
            .unwrap_or_else(|| limits::msg_default().unwrap_or(10));
        let max_message_size = self
            .max_message_size
            .unwrap_or_else(|| limits::msgsize_default().unwrap_or(8192));
        for (field, value, hard) in [
            ("max_messages", max_messages, limits::HARD_MSG_MAX),
            (
                "max_message_size",
                max_message_size,
                limits::HARD_MSGSIZE_MAX,
            ),
        ] {
            if value < 1 {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    op,
                    object(),
                    format!("{field} must be at least 1, not {value}"),
                ));
            }
            if value > hard {
                return Err(Error::new(
                    ErrorKind::LimitExceeded,
                    op,
                    object(),
                    format!(
                        "{field} {value} exceeds the kernel's hard limit ({hard}), which no \
                         privilege can raise"
                    ),
                ));
            }
        }
        Ok((max_messages, max_message_size))
    }

    fn validate(&self, object: &dyn Fn() -> Object) -> Result<()> {
        if !self.read && !self.write {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                Operation::Open,
                object(),
                "at least one of read or write must be true",
            ));
        }
        Ok(())
    }

    fn oflag(&self) -> i32 {
        let access = match (self.read, self.write) {
            (true, true) => libc::O_RDWR,
            (true, false) => libc::O_RDONLY,
            _ => libc::O_WRONLY,
        };
        access
            | if self.nonblocking {
                libc::O_NONBLOCK
            } else {
                0
            }
    }

    /// Opens (or creates) the queue `name` (`mq_open`), then reads its real attributes.
    ///
    /// # Errors
    ///
    /// | kind | when |
    /// |---|---|
    /// | [`ErrorKind::InvalidName`] | the name is malformed (checked first) |
    /// | [`ErrorKind::InvalidArgument`] | neither read nor write; a size below 1 |
    /// | [`ErrorKind::LimitExceeded`] | a size above `fs.mqueue.msg_max`/`msgsize_max`, the per-user `RLIMIT_MSGQUEUE` used up, `fs.mqueue.queues_max` reached, too many open files; the message names the limit and how to raise it |
    /// | [`ErrorKind::NotFound`] | opening without create, and no such queue |
    /// | [`ErrorKind::AlreadyExists`] | `create_new`, and the name is taken |
    /// | [`ErrorKind::PermissionDenied`] | the queue belongs to someone else |
    /// | [`ErrorKind::Untrusted`] | the owner or mode fails a `verify_*` check |
    pub fn open(&self, name: &str) -> Result<MessageQueue> {
        let op = match self.disposition {
            Disposition::Open => Operation::Open,
            _ => Operation::Create,
        };
        let name = Name::new(KIND, name, op)?;
        let object = || name.object(KIND);
        self.validate(&object)?;
        let attrs = match self.disposition {
            Disposition::Open => (0, 0),
            _ => self.attrs(&object)?,
        };
        let oflag = self.oflag();
        let (handle, created) = open::open_object(self.disposition, |extra| {
            let attr = (extra & libc::O_CREAT != 0).then_some(attrs);
            MqHandle::open(name.as_c_str(), oflag | extra, self.mode, attr)
        })
        .map_err(|(errno, op)| open_error(errno, op, object(), attrs))?;
        self.finish(handle, name, created)
    }

    /// Creates a queue under a new random name, as posix_ipc does for `name=None`.
    pub fn open_random(&self) -> Result<MessageQueue> {
        let anonymous = || Object {
            kind: KIND,
            name: None,
        };
        self.validate(&anonymous)?;
        let attrs = self.attrs(&anonymous)?;
        let oflag = self.oflag();
        let (handle, name) = open::create_random(|name, extra| {
            MqHandle::open(name.as_c_str(), oflag | extra, self.mode, Some(attrs))
        })
        .map_err(|(errno, op)| open_error(errno, op, anonymous(), attrs))?;
        self.finish(handle, name, true)
    }

    fn finish(&self, handle: MqHandle, name: Name, created: bool) -> Result<MessageQueue> {
        if !self.verify.is_empty() {
            let op = Verify::operation(created);
            let checked = sys::fstat(handle.borrow())
                .map_err(|e| error::os(e, Operation::Stat, name.object(KIND)))
                .and_then(|(_, mode, uid, _)| {
                    self.verify.check(uid, mode, name.object(KIND), op, created)
                });
            if let Err(err) = checked {
                if created {
                    let _ = sys::mq_unlink(name.as_c_str());
                }
                return Err(err);
            }
        }
        let attr = handle.getattr().map_err(|e| {
            Error::new(
                ErrorKind::Other,
                Operation::GetAttributes,
                name.object(KIND),
                "unable to initialize object: mq_getattr failed right after mq_open",
            )
            .with_errno(e)
        })?;
        Ok(MessageQueue {
            notify: NotifyState {
                mqd: handle.raw(),
                token: Mutex::new(None),
            },
            handle,
            name,
            mode: self.mode,
            max_messages: attr.max_messages.max(0) as usize,
            max_message_size: attr.message_size.max(0) as usize,
            read: self.read,
            write: self.write,
            created,
            cancel: None,
        })
    }
}

/// Whether this process has no descriptor left under `RLIMIT_NOFILE` (`limit`).
fn descriptors_full(limit: Option<u64>) -> bool {
    match std::fs::read_dir("/proc/self/fd") {
        // Not even one descriptor is free to list them with.
        Err(e) => e.raw_os_error() == Some(libc::EMFILE),
        // The listing itself holds one descriptor.
        Ok(dir) => limit.is_some_and(|l| dir.count() as u64 + 1 >= l),
    }
}

fn open_error(
    errno: i32,
    op: Operation,
    object: Object,
    (max_messages, max_message_size): (i64, i64),
) -> Error {
    let limit_error = |detail: String| {
        Error::new(ErrorKind::LimitExceeded, op, object.clone(), detail).with_errno(errno)
    };
    match (errno, op) {
        (libc::EINVAL, Operation::Create) => {
            let msg_max = limits::msg_max();
            let msgsize_max = limits::msgsize_max();
            if msg_max.is_some_and(|max| max_messages > max) {
                limit_error(format!(
                    "max_messages {max_messages} exceeds fs.mqueue.msg_max ({}): raise it with \
                     `sysctl -w fs.mqueue.msg_max={max_messages}` or run with CAP_SYS_RESOURCE",
                    msg_max.unwrap_or_default()
                ))
            } else if msgsize_max.is_some_and(|max| max_message_size > max) {
                limit_error(format!(
                    "max_message_size {max_message_size} exceeds fs.mqueue.msgsize_max ({}): \
                     raise it with `sysctl -w fs.mqueue.msgsize_max={max_message_size}` or run \
                     with CAP_SYS_RESOURCE",
                    msgsize_max.unwrap_or_default()
                ))
            } else {
                error::os(errno, op, object)
            }
        }
        (libc::EMFILE, Operation::Create) => {
            if descriptors_full(limits::rlimit_nofile().map(|l| l.0)) {
                error::os(errno, op, object)
            } else {
                let rlimit = limits::rlimit_msgqueue()
                    .map_or_else(|| "?".to_string(), |(soft, _)| soft.to_string());
                limit_error(format!(
                    "the queue needs about {} bytes ({max_messages} messages of \
                     {max_message_size} bytes plus bookkeeping) and this user's queues have used \
                     up RLIMIT_MSGQUEUE ({rlimit} bytes): remove unused queues, create a smaller \
                     queue, or raise the limit with `ulimit -q` (setrlimit RLIMIT_MSGQUEUE; \
                     above the hard limit needs CAP_SYS_RESOURCE)",
                    limits::queue_bytes(max_messages, max_message_size)
                ))
            }
        }
        (libc::ENOSPC, _) => limit_error(format!(
            "the system already holds fs.mqueue.queues_max ({}) queues: remove unused queues or \
             raise it with `sysctl -w fs.mqueue.queues_max=N`",
            limits::queues_max().map_or_else(|| "?".to_string(), |v| v.to_string())
        )),
        (libc::ENOENT, Operation::Open) => Error::new(
            ErrorKind::NotFound,
            op,
            object,
            "no queue exists with the specified name",
        )
        .with_errno(errno),
        (libc::EEXIST, _) => Error::new(
            ErrorKind::AlreadyExists,
            op,
            object,
            format!(
                "a queue with the specified name already exists{}",
                error::LEFTOVER_HINT
            ),
        )
        .with_errno(errno),
        _ => error::os(errno, op, object),
    }
}

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
    /// posix_ipc's constructor: `MessageQueue(name, flags=0, mode=0o600,
    /// max_messages=QUEUE_MESSAGES_MAX_DEFAULT, max_message_size=QUEUE_MESSAGE_SIZE_MAX_DEFAULT,
    /// read=True, write=True)`.
    ///
    /// `flags` may combine [`O_CREAT`](crate::O_CREAT), [`O_EXCL`](crate::O_EXCL) and
    /// [`O_NONBLOCK`](crate::O_NONBLOCK). `name = None` needs `O_EXCL`.
    #[allow(clippy::too_many_arguments, reason = "mirrors posix_ipc's constructor")]
    pub fn new(
        name: Option<&str>,
        flags: i32,
        mode: u32,
        max_messages: i64,
        max_message_size: i64,
        read: bool,
        write: bool,
    ) -> Result<MessageQueue> {
        let bad = |detail: &str| {
            Error::new(
                ErrorKind::InvalidArgument,
                Operation::Open,
                Object {
                    kind: KIND,
                    name: name.map(str::to_owned),
                },
                detail,
            )
        };
        let disposition = Disposition::from_flags(flags).map_err(bad)?;
        let mut options = MessageQueue::options();
        options
            .mode(mode)
            .read(read)
            .write(write)
            .nonblocking(flags & libc::O_NONBLOCK != 0);
        options.max_messages = Some(max_messages);
        options.max_message_size = Some(max_message_size);
        options.disposition = disposition;
        match name {
            Some(name) => options.open(name),
            None if disposition == Disposition::CreateNew => options.open_random(),
            None => Err(bad("the name can only be None if O_EXCL is set")),
        }
    }

    /// A builder for the less common cases.
    pub fn options() -> MessageQueueOptions {
        MessageQueueOptions::new()
    }

    /// Opens an existing queue for reading and writing.
    pub fn open(name: &str) -> Result<MessageQueue> {
        MessageQueue::options().open(name)
    }

    /// Creates a new queue holding `max_messages` messages of at most `max_message_size`
    /// bytes, failing if the name exists.
    pub fn create(
        name: &str,
        max_messages: usize,
        max_message_size: usize,
    ) -> Result<MessageQueue> {
        MessageQueue::options()
            .create_new(true)
            .max_messages(max_messages)
            .max_message_size(max_message_size)
            .open(name)
    }

    /// Opens the queue, creating it with these sizes if missing. The real sizes are in
    /// [`max_messages`](Self::max_messages) and [`max_message_size`](Self::max_message_size).
    pub fn open_or_create(
        name: &str,
        max_messages: usize,
        max_message_size: usize,
    ) -> Result<MessageQueue> {
        MessageQueue::options()
            .create(true)
            .max_messages(max_messages)
            .max_message_size(max_message_size)
            .open(name)
    }

    /// As [`create`](Self::create), owned: the queue is removed when the owner is dropped (see
    /// [`Owned`](crate::Owned)).
    pub fn create_owned(
        name: &str,
        max_messages: usize,
        max_message_size: usize,
    ) -> Result<crate::Owned<MessageQueue>> {
        Self::create(name, max_messages, max_message_size).map(crate::Owned::new)
    }

    /// Creates a queue under a random unused name.
    pub fn create_random(max_messages: usize, max_message_size: usize) -> Result<MessageQueue> {
        MessageQueue::options()
            .create_new(true)
            .max_messages(max_messages)
            .max_message_size(max_message_size)
            .open_random()
    }

    fn object(&self) -> Object {
        self.name.object(KIND)
    }

    fn fail(&self, kind: ErrorKind, op: Operation, detail: impl Into<String>) -> Error {
        Error::new(kind, op, self.object(), detail)
    }

    fn op_error(&self, errno: i32, op: Operation, timed: bool) -> Error {
        let (full_or_empty, access) = if op == Operation::Send {
            ("full", "writing")
        } else {
            ("empty", "reading")
        };
        match errno {
            libc::EAGAIN => self
                .fail(
                    ErrorKind::WouldBlock,
                    op,
                    format!("the queue is {full_or_empty}"),
                )
                .with_errno(errno),
            libc::ETIMEDOUT if !timed => self
                .fail(
                    ErrorKind::WouldBlock,
                    op,
                    format!("the queue is {full_or_empty}"),
                )
                .with_errno(errno),
            libc::ETIMEDOUT => self
                .fail(
                    ErrorKind::TimedOut,
                    op,
                    format!("the queue stayed {full_or_empty} until the timeout expired"),
                )
                .with_errno(errno),
            // The access mode was checked before the call, so EBADF means the descriptor itself
            // is no longer valid (closed behind this handle's back).
            libc::EBADF => self
                .fail(
                    ErrorKind::Closed,
                    op,
                    format!(
                        "the queue's descriptor is no longer valid (closed behind this handle's \
                         back), so it cannot be used for {access}"
                    ),
                )
                .with_errno(errno),
            libc::EMSGSIZE => self
                .fail(
                    ErrorKind::MessageTooLarge,
                    op,
                    format!(
                        "the message is longer than the queue's max_message_size ({})",
                        self.max_message_size
                    ),
                )
                .with_errno(errno),
            _ => error::os(errno, op, self.object()),
        }
    }

    #[inline]
    fn check_send(&self, message: &[u8], priority: u32) -> Result<()> {
        if !self.write {
            return Err(self.fail(
                ErrorKind::PermissionDenied,
                Operation::Send,
                "the queue is not open for writing (opened with write = false)",
            ));
        }
        if priority > QUEUE_PRIORITY_MAX {
            return Err(self.fail(
                ErrorKind::InvalidArgument,
                Operation::Send,
                format!("priority {priority} exceeds QUEUE_PRIORITY_MAX ({QUEUE_PRIORITY_MAX})"),
            ));
        }
        if message.len() > self.max_message_size {
            return Err(self.fail(
                ErrorKind::MessageTooLarge,
                Operation::Send,
                format!(
                    "the message is {} bytes; it must be no longer than the queue's \
                     max_message_size ({} bytes)",
                    message.len(),
                    self.max_message_size
                ),
            ));
        }
        Ok(())
    }

    /// Sends `message` with `priority` (0 to [`QUEUE_PRIORITY_MAX`]), waiting while the queue
    /// is full (`mq_send`). On a non-blocking queue ([`set_block(false)`](Self::set_block)) a
    /// full queue is [`ErrorKind::WouldBlock`] at once.
    ///
    /// # Errors
    ///
    /// | kind | when |
    /// |---|---|
    /// | [`ErrorKind::InvalidArgument`] | priority above 32767 (checked first) |
    /// | [`ErrorKind::MessageTooLarge`] | longer than [`max_message_size`](Self::max_message_size) (checked first) |
    /// | [`ErrorKind::PermissionDenied`] | the handle was opened with `write = false` |
    /// | [`ErrorKind::WouldBlock`] | non-blocking and full |
    /// | [`ErrorKind::Interrupted`] | a signal handler interrupted the wait |
    #[doc(alias = "mq_send")]
    #[inline]
    pub fn send(&self, message: &[u8], priority: u32) -> Result<()> {
        self.send_with(message, priority, Timeout::Infinite)
    }

    /// Sends without waiting: [`ErrorKind::WouldBlock`] if the queue is full.
    #[inline]
    pub fn try_send(&self, message: &[u8], priority: u32) -> Result<()> {
        self.send_with(message, priority, Timeout::Immediate)
    }

    /// Sends, waiting at most `timeout` for room: [`ErrorKind::TimedOut`] after that.
    #[doc(alias = "mq_timedsend")]
    #[inline]
    pub fn send_timeout(&self, message: &[u8], priority: u32, timeout: Duration) -> Result<()> {
        self.send_with(message, priority, Timeout::from(timeout))
    }

    /// posix_ipc's `send(message, timeout, priority)` with any [`Timeout`].
    #[inline]
    pub fn send_with(
        &self,
        message: &[u8],
        priority: u32,
        timeout: impl Into<Timeout>,
    ) -> Result<()> {
        let deadline = timeout.into().deadline();
        if deadline == Deadline::Never
            && self.cancel.is_none()
            && crate::signals::global().is_none()
        {
            // The common case, as one blocking call: nothing can stop it but a signal.
            self.check_send(message, priority)?;
            return self
                .handle
                .send(message, priority, None)
                .map_err(|e| self.op_error(e, Operation::Send, false));
        }
        self.send_waiting(message, priority, &Wait::plain(deadline))
    }

    /// Sends as the typed layer asks (`wait`: deadline, `EINTR` policy, peer check).
    #[inline]
    pub(crate) fn send_waiting(
        &self,
        message: &[u8],
        priority: u32,
        wait: &Wait<'_>,
    ) -> Result<()> {
        self.check_send(message, priority)?;
        self.transfer(Operation::Send, wait, |at| {
            self.handle.send(message, priority, at)
        })
    }

    /// Receives the oldest message of the highest priority, waiting while the queue is empty
    /// (`mq_receive`). Returns the bytes and the priority.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::PermissionDenied`] if opened with `read = false`; [`ErrorKind::WouldBlock`]
    /// if non-blocking and empty; [`ErrorKind::Interrupted`] on a signal.
    #[doc(alias = "mq_receive")]
    #[inline]
    pub fn receive(&self) -> Result<(Vec<u8>, u32)> {
        self.receive_with(Timeout::Infinite)
    }

    /// Receives without waiting: [`ErrorKind::WouldBlock`] if the queue is empty.
    #[inline]
    pub fn try_receive(&self) -> Result<(Vec<u8>, u32)> {
        self.receive_with(Timeout::Immediate)
    }

    /// Receives, waiting at most `timeout`: [`ErrorKind::TimedOut`] after that.
    #[doc(alias = "mq_timedreceive")]
    pub fn receive_timeout(&self, timeout: Duration) -> Result<(Vec<u8>, u32)> {
        self.receive_with(Timeout::from(timeout))
    }

    /// posix_ipc's `receive(timeout)` with any [`Timeout`].
    #[inline]
    pub fn receive_with(&self, timeout: impl Into<Timeout>) -> Result<(Vec<u8>, u32)> {
        let mut buf = vec![0u8; self.max_message_size];
        let (len, priority) = self.receive_into(&mut buf, timeout)?;
        buf.truncate(len);
        Ok((buf, priority))
    }

    /// std-style alias of [`receive`](Self::receive).
    pub fn recv(&self) -> Result<(Vec<u8>, u32)> {
        self.receive()
    }

    /// std-style alias of [`try_receive`](Self::try_receive).
    pub fn try_recv(&self) -> Result<(Vec<u8>, u32)> {
        self.try_receive()
    }

    /// std-style alias of [`receive_timeout`](Self::receive_timeout).
    pub fn recv_timeout(&self, timeout: Duration) -> Result<(Vec<u8>, u32)> {
        self.receive_timeout(timeout)
    }

    /// Receives into `buf`, allocating nothing; returns the message length and priority.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] if `buf` is shorter than
    /// [`max_message_size`](Self::max_message_size) (the kernel would refuse even a short
    /// message); otherwise as [`receive_with`](Self::receive_with).
    #[inline]
    pub fn receive_into(
        &self,
        buf: &mut [u8],
        timeout: impl Into<Timeout>,
    ) -> Result<(usize, u32)> {
        let deadline = timeout.into().deadline();
        if deadline == Deadline::Never
            && self.cancel.is_none()
            && crate::signals::global().is_none()
            && self.read
            && buf.len() >= self.max_message_size
        {
            // The common case, as one blocking call: nothing can stop it but a signal.
            return self
                .handle
                .receive(buf, None)
                .map_err(|e| self.op_error(e, Operation::Receive, false));
        }
        self.receive_waiting(buf, &Wait::plain(deadline))
    }

    /// Receives as the typed layer asks (`wait`: deadline, `EINTR` policy, peer check).
    #[inline]
    pub(crate) fn receive_waiting(&self, buf: &mut [u8], wait: &Wait<'_>) -> Result<(usize, u32)> {
        let op = Operation::Receive;
        if !self.read {
            return Err(self.fail(
                ErrorKind::PermissionDenied,
                op,
                "the queue is not open for reading (opened with read = false)",
            ));
        }
        if buf.len() < self.max_message_size {
            return Err(self.fail(
                ErrorKind::InvalidArgument,
                op,
                format!(
                    "the buffer is {} bytes, shorter than the queue's max_message_size ({}); \
                     the kernel refuses any receive into it",
                    buf.len(),
                    self.max_message_size
                ),
            ));
        }
        self.transfer(op, wait, |at| self.handle.receive(buf, at))
    }

    /// The waiting strategy shared by send and receive. `attempt(None)` is the blocking call,
    /// `attempt(Some(t))` the timed one with the absolute `CLOCK_REALTIME` deadline `t`
    /// (`Duration::ZERO`: do not wait).
    ///
    /// - No token, no peer check: one blocking call (or `mq_timed*` for "now"), as always.
    /// - A finite timeout, or a token: non-blocking attempts, and between them a `ppoll` on the
    ///   queue and the tokens' eventfds, measured on the monotonic clock; the peer check runs
    ///   when a slice of [`PEER_SLICE`] passes without progress.
    /// - No token, no timeout, a peer check: one `mq_timed*` call per message whose deadline,
    ///   [`PEER_SLICE`] ahead on the wall clock, only bounds how long a dead peer goes
    ///   unnoticed (a wall-clock jump backwards delays that, nothing else).
    #[inline]
    fn transfer<R>(
        &self,
        op: Operation,
        wait: &Wait<'_>,
        mut attempt: impl FnMut(Option<Duration>) -> sys::SysResult<R>,
    ) -> Result<R> {
        let stops = Stops::of(self.cancel.as_ref());
        match wait.deadline {
            Deadline::Now => {
                let mut r = attempt(Some(Duration::ZERO));
                while wait.retry_eintr && r.as_ref().err() == Some(&libc::EINTR) {
                    r = attempt(Some(Duration::ZERO));
                }
                return match r {
                    Ok(r) => Ok(r),
                    // Empty (or full), and nobody left on the other side: say so.
                    Err(e @ (libc::ETIMEDOUT | libc::EAGAIN)) => Err(wait
                        .disconnected
                        .and_then(|gone| gone())
                        .unwrap_or_else(|| self.op_error(e, op, false))),
                    Err(e) => Err(self.op_error(e, op, false)),
                };
            }
            Deadline::Never if !stops.active() => match wait.disconnected {
                None => loop {
                    match attempt(None) {
                        Err(libc::EINTR) if wait.retry_eintr => continue,
                        r => return r.map_err(|e| self.op_error(e, op, false)),
                    }
                },
                Some(gone) => loop {
                    // The slice deadline is kept per handle and renewed only when a call
                    // times out, so a call that need not wait reads no clock.
                    let at = wait.slice.map_or(0, |s| s.load(Ordering::Relaxed));
                    match attempt(Some(Duration::from_nanos(at))) {
                        Ok(r) => return Ok(r),
                        Err(libc::ETIMEDOUT) => {
                            let now = sys::realtime_now();
                            let now_ns = u64::try_from(now.as_nanos()).unwrap_or(u64::MAX);
                            // The slice is over (the call waited until its deadline, or the
                            // deadline had passed already): look at the peers, at most once a
                            // slice, then start a new slice and wait again.
                            if at != 0 && now_ns >= at {
                                if let Some(err) = gone() {
                                    return self.last_attempt(op, err, &mut attempt);
                                }
                            }
                            let next = now_ns.saturating_add(PEER_SLICE.as_nanos() as u64);
                            match wait.slice {
                                Some(s) => s.store(next, Ordering::Relaxed),
                                None => {
                                    match attempt(Some(Duration::from_nanos(next))) {
                                        Ok(r) => return Ok(r),
                                        Err(libc::ETIMEDOUT) | Err(libc::EINTR) => {}
                                        Err(e) => return Err(self.op_error(e, op, false)),
                                    }
                                    if let Some(err) = gone() {
                                        return self.last_attempt(op, err, &mut attempt);
                                    }
                                }
                            }
                        }
                        Err(libc::EINTR) if wait.retry_eintr => {}
                        Err(e) => return Err(self.op_error(e, op, false)),
                    }
                },
            },
            _ => {}
        }
        self.transfer_polling(op, wait, stops, &mut attempt)
    }

    #[cold]
    fn transfer_polling<R>(
        &self,
        op: Operation,
        wait: &Wait<'_>,
        stops: Stops<'_>,
        attempt: &mut dyn FnMut(Option<Duration>) -> sys::SysResult<R>,
    ) -> Result<R> {
        let timed = matches!(wait.deadline, Deadline::At(_));
        let (mut fds, mut sliced) = stops.event_fds();
        let mut peers_checked = sys::monotonic_now();
        loop {
            match attempt(Some(Duration::ZERO)) {
                Ok(r) => return Ok(r),
                Err(libc::ETIMEDOUT) => {}
                Err(libc::EINTR) if wait.retry_eintr => {}
                Err(e) => return Err(self.op_error(e, op, false)),
            }
            stops.check(op, || self.object())?;
            if let Some(gone) = wait.disconnected {
                let now = sys::monotonic_now();
                if now.saturating_sub(peers_checked) >= PEER_SLICE {
                    peers_checked = now;
                    if let Some(err) = gone() {
                        return self.last_attempt(op, err, attempt);
                    }
                }
            }
            let Some(left) = wait.deadline.remaining() else {
                return Err(self.op_error(libc::ETIMEDOUT, op, true));
            };
            let mut slice = left;
            if wait.disconnected.is_some() {
                slice = slice.min(PEER_SLICE);
            }
            if sliced {
                slice = slice.min(cancel::SLICE);
            }
            match sys::poll_with(self.handle.raw(), op == Operation::Send, &fds, slice) {
                Ok((_, token_ready)) => {
                    // A token's eventfd readable although no token is cancelled (a signal
                    // handler's late write after a reset): poll the queue alone for the rest
                    // of this call, in slices, rather than spin on it.
                    if token_ready && !stops.cancelled() {
                        fds = [None, None];
                        sliced = true;
                    }
                }
                Err(libc::EINTR) => {
                    stops.check(op, || self.object())?;
                    if !wait.retry_eintr {
                        return Err(self.op_error(libc::EINTR, op, timed));
                    }
                }
                Err(e) => return Err(self.op_error(e, op, true)),
            }
        }
    }

    /// Every peer of the other side has gone: one last attempt (a receive drains what is
    /// left; a send may find room), else `gone`.
    fn last_attempt<R>(
        &self,
        op: Operation,
        gone: Error,
        attempt: &mut dyn FnMut(Option<Duration>) -> sys::SysResult<R>,
    ) -> Result<R> {
        match attempt(Some(Duration::ZERO)) {
            Ok(r) => Ok(r),
            Err(libc::ETIMEDOUT) | Err(libc::EAGAIN) => Err(gone),
            Err(e) => Err(self.op_error(e, op, false)),
        }
    }

    /// Whether calls block (posix_ipc's `block` property): `false` when the descriptor has
    /// `O_NONBLOCK`. Read live with `mq_getattr`.
    pub fn block(&self) -> Result<bool> {
        self.handle
            .getattr()
            .map(|a| a.flags & i64::from(libc::O_NONBLOCK) == 0)
            .map_err(|e| error::os(e, Operation::GetAttributes, self.object()))
    }

    /// Sets blocking mode on this descriptor (`mq_setattr`). With `block == false`, a full
    /// send or an empty receive fails at once with [`ErrorKind::WouldBlock`], whatever the
    /// timeout. The flag belongs to the open file description: a forked child that inherited
    /// the descriptor shares it.
    pub fn set_block(&self, block: bool) -> Result<()> {
        let flags = if block {
            0
        } else {
            i64::from(libc::O_NONBLOCK)
        };
        self.handle
            .set_flags(flags)
            .map_err(|e| error::os(e, Operation::SetAttributes, self.object()))
    }

    /// Number of messages in the queue now (`mq_getattr`).
    pub fn current_messages(&self) -> Result<usize> {
        self.handle
            .getattr()
            .map(|a| a.current_messages.max(0) as usize)
            .map_err(|e| error::os(e, Operation::GetAttributes, self.object()))
    }

    /// Capacity in messages, as the kernel reported it when the queue was opened.
    pub fn max_messages(&self) -> usize {
        self.max_messages
    }

    /// Largest message in bytes, as the kernel reported it when the queue was opened.
    pub fn max_message_size(&self) -> usize {
        self.max_message_size
    }

    /// The descriptor number (posix_ipc's `mqd`).
    pub fn mqd(&self) -> RawFd {
        self.handle.raw()
    }

    /// The descriptor number (posix_ipc's `fileno()`, for selectors).
    pub fn fileno(&self) -> RawFd {
        self.handle.raw()
    }

    /// The name, with its leading slash.
    pub fn name(&self) -> &str {
        self.name.as_str()
    }

    /// The mode given when opening (posix_ipc's `mode`).
    pub fn mode(&self) -> u32 {
        self.mode
    }

    /// Whether this handle may receive.
    pub fn readable(&self) -> bool {
        self.read
    }

    /// Whether this handle may send.
    pub fn writable(&self) -> bool {
        self.write
    }

    /// Whether this handle created the queue.
    pub fn created(&self) -> bool {
        self.created
    }

    /// The validated name.
    pub(crate) fn name_ref(&self) -> &Name {
        &self.name
    }

    /// Device and inode of the queue this handle holds (`fstat` of its descriptor).
    pub(crate) fn identity(&self) -> Result<(u64, u64)> {
        sys::fstat_id(self.handle.borrow())
            .map_err(|e| error::os(e, Operation::Stat, self.object()))
    }

    /// Attaches a [`CancelToken`]: from now on a send or receive of this handle that waits ends
    /// with [`ErrorKind::Cancelled`] as soon as the token is cancelled (the wait becomes a
    /// `ppoll` on the queue and the token's eventfd). Replaces an earlier token.
    pub fn with_cancel(mut self, token: &CancelToken) -> MessageQueue {
        self.cancel = Some(token.clone());
        self
    }

    /// The token attached with [`with_cancel`](Self::with_cancel), if any.
    pub fn cancel_token(&self) -> Option<&CancelToken> {
        self.cancel.as_ref()
    }

    /// A second handle on the same open queue (`fcntl(F_DUPFD_CLOEXEC)`): same name, access
    /// and token; its own descriptor, closed on its own drop. Blocking mode (`set_block`) is
    /// shared, as it belongs to the open queue description.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::LimitExceeded`] if the process has no descriptor left.
    pub fn try_clone(&self) -> Result<MessageQueue> {
        let handle = self
            .handle
            .try_clone()
            .map_err(|e| error::os(e, Operation::Open, self.object()))?;
        Ok(MessageQueue {
            notify: NotifyState {
                mqd: handle.raw(),
                token: Mutex::new(None),
            },
            handle,
            name: self.name.clone(),
            mode: self.mode,
            max_messages: self.max_messages,
            max_message_size: self.max_message_size,
            read: self.read,
            write: self.write,
            created: false,
            cancel: self.cancel.clone(),
        })
    }

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

    /// Removes the name (`mq_unlink`). Open handles keep working; the queue is destroyed when
    /// the last one closes.
    #[doc(alias = "mq_unlink")]
    pub fn unlink(&self) -> Result<()> {
        unlink_name(&self.name)
    }

    /// Closes the descriptor now (`mq_close`), reporting any error; cancels this handle's
    /// pending callback. Dropping also closes.
    pub fn close(self) -> Result<()> {
        let MessageQueue {
            notify,
            handle,
            name,
            ..
        } = self;
        drop(notify);
        handle
            .close()
            .map_err(|e| error::os(e, Operation::Close, name.object(KIND)))
    }
}

impl crate::owned::Removable for MessageQueue {
    fn created_object(&self) -> bool {
        self.created
    }
    fn owned_names(&self) -> Vec<crate::owned::OwnedName> {
        vec![crate::owned::OwnedName::new(
            KIND,
            &self.name,
            self.identity().ok(),
        )]
    }
}

/// This handle's pending callback registration. Declared before the descriptor in
/// [`MessageQueue`], so it is dropped (and cancels) while the descriptor is still open.
struct NotifyState {
    mqd: RawFd,
    token: Mutex<Option<usize>>,
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

fn unlink_name(name: &Name) -> Result<()> {
    // A typed queue's companion goes with it (only the one that describes this queue).
    let id = identity_of(name);
    sys::mq_unlink(name.as_c_str()).map_err(|e| match e {
        libc::ENOENT => Error::new(
            ErrorKind::NotFound,
            Operation::Unlink,
            name.object(KIND),
            "no queue exists with the specified name",
        )
        .with_errno(e),
        _ => error::os(e, Operation::Unlink, name.object(KIND)),
    })?;
    if let Some(id) = id {
        crate::typed::companion::Companion::unlink_for(name.as_str(), id);
    }
    Ok(())
}

/// Device and inode of the queue `name` names now (opened without blocking, for reading or
/// else for writing), `None` if there is none or it cannot be opened.
pub(crate) fn identity_of(name: &Name) -> Option<(u64, u64)> {
    // The mqueue filesystem, where it is mounted, tells without opening (no descriptor or
    // permission needed).
    let path = std::path::Path::new(crate::lifecycle::MQUEUE_DIR)
        .join(name.as_str().trim_start_matches('/'));
    if let Ok(id) = sys::stat_id(&path) {
        return Some(id);
    }
    let open = |read: bool| {
        MessageQueue::options()
            .read(read)
            .write(!read)
            .nonblocking(true)
            .open(name.as_str())
    };
    let mq = match open(true) {
        Err(e) if e.kind() == ErrorKind::PermissionDenied => open(false),
        other => other,
    };
    mq.ok().and_then(|mq| mq.identity().ok())
}

/// Removes the queue `name` (`mq_unlink`), posix_ipc's `unlink_message_queue`.
#[doc(alias = "mq_unlink")]
pub fn unlink_message_queue(name: &str) -> Result<()> {
    unlink_name(&Name::new(KIND, name, Operation::Unlink)?)
}

impl AsFd for MessageQueue {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.handle.borrow()
    }
}

impl AsRawFd for MessageQueue {
    fn as_raw_fd(&self) -> RawFd {
        self.handle.raw()
    }
}

impl fmt::Debug for MessageQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let py = |b: bool| if b { "True" } else { "False" };
        write!(
            f,
            "posix_ipc.MessageQueue({:?}, mode={:04o}, max_message_size={}, max_messages={}, \
             read={}, write={})",
            self.name.as_str(),
            self.mode,
            self.max_message_size,
            self.max_messages,
            py(self.read),
            py(self.write)
        )
    }
}

impl fmt::Display for MessageQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name.as_str())
    }
}
