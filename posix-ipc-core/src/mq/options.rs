//! [`MessageQueueOptions`]: opening and creating a queue, and the errors an open can meet.

use std::sync::Mutex;

use crate::error::{self, Error, ErrorKind, Object, Operation, Result};
use crate::limits;
use crate::name::Name;
use crate::open::{self, Disposition};
use crate::sys::{self, MqHandle};
use crate::verify::{verify_methods, Verify};

use super::*;

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
    pub(super) disposition: Disposition,
    pub(super) mode: u32,
    pub(super) max_messages: Option<i64>,
    pub(super) max_message_size: Option<i64>,
    pub(super) read: bool,
    pub(super) write: bool,
    pub(super) nonblocking: bool,
    pub(super) verify: Verify,
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
                .and_then(|(_, mode, uid, _, _)| {
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
