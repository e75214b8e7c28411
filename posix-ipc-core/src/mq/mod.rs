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

use std::fmt;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::Mutex;

use crate::cancel::CancelToken;
use crate::error::{self, Error, ErrorKind, Object, ObjectKind, Operation, Result};
use crate::name::Name;
use crate::open::Disposition;
use crate::sys::{self, MqHandle};

mod link;
mod notify;
mod options;
mod remove;
mod transfer;

pub(crate) use link::{companion_name, unlink_companion, QUEUE_DEV, QUEUE_INO};
pub use link::{COMPANION_MAGIC, COMPANION_SUFFIX};
pub use notify::Notification;
use notify::NotifyState;
pub use options::MessageQueueOptions;
pub use remove::unlink_message_queue;
use remove::unlink_name;
pub(crate) use remove::{identity_of, REMOVER};
pub(crate) use transfer::Wait;

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

impl MessageQueue {
    /// posix_ipc's constructor: `MessageQueue(name, flags=0, mode=0o600,
    /// max_messages=QUEUE_MESSAGES_MAX_DEFAULT, max_message_size=QUEUE_MESSAGE_SIZE_MAX_DEFAULT,
    /// read=True, write=True)`.
    ///
    /// `flags` may combine [`O_CREAT`](crate::O_CREAT), [`O_EXCL`](crate::O_EXCL) and
    /// [`O_NONBLOCK`](crate::O_NONBLOCK). `name = None` needs `O_EXCL`.
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

    /// As [`open`](Self::open), waiting up to `timeout` for the queue to exist and be
    /// initialised (its creator may start later): see [`open_wait`](crate::open_wait), which
    /// this is, for how it waits and stops (Ctrl-C, SIGTERM with
    /// [`signals`](crate::signals) on; a [`CancelToken`](crate::CancelToken) through
    /// `posix_ipc::open_wait` itself).
    pub fn open_wait(name: &str, timeout: impl Into<crate::Timeout>) -> Result<MessageQueue> {
        crate::cancel::open_wait(timeout, None, || MessageQueue::open(name))
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

    /// Whether this handle created the queue (or took it over: see the typed ends'
    /// `create_or_take_over`).
    pub fn created(&self) -> bool {
        self.created
    }

    /// Makes this handle the queue's creator: a typed end that took a queue over owns it from
    /// now on (an [`Owned`](crate::Owned) around it removes it).
    pub(crate) fn take_over(&mut self) {
        self.created = true;
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
