//! The one error type of the workspace.
//!
//! Every failure is an [`Error`]: it says which object ([`Object`]), which operation
//! ([`Operation`]), what went wrong ([`ErrorKind`]) and, where the kernel refused, the `errno`
//! (also reachable through [`std::error::Error::source`]). Its one-line `Display` is meant to be
//! shown to a person as it is: it names the limit and how to raise it where a limit was hit.
//!
//! posix_ipc users find their exception classes in [`Error::posix_ipc_exception`] and the
//! `is_existential`/`is_permissions`/`is_busy`/`is_signal` predicates.

use std::fmt;
use std::io;

/// What kind of object an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ObjectKind {
    /// A POSIX named semaphore (`sem_open`).
    Semaphore,
    /// A POSIX shared-memory segment (`shm_open`).
    SharedMemory,
    /// A POSIX message queue (`mq_open`).
    MessageQueue,
    /// A [`RobustMutex`](crate::RobustMutex): a robust process-shared mutex in a
    /// shared-memory segment.
    Mutex,
    /// A timeout value given to a blocking call.
    Timeout,
    /// A typed ring channel ([`RingSender`](crate::RingSender)/[`RingReceiver`](crate::RingReceiver))
    /// in a shared-memory segment.
    Ring,
    /// A publish-subscribe topic ([`Publisher`](crate::Publisher)/
    /// [`Subscriber`](crate::Subscriber), [`FramePublisher`](crate::FramePublisher)/
    /// [`FrameSubscriber`](crate::FrameSubscriber)) in a shared-memory segment.
    Topic,
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ObjectKind::Semaphore => "semaphore",
            ObjectKind::SharedMemory => "shared memory",
            ObjectKind::MessageQueue => "message queue",
            ObjectKind::Mutex => "robust mutex",
            ObjectKind::Timeout => "timeout",
            ObjectKind::Ring => "ring",
            ObjectKind::Topic => "topic",
        })
    }
}

/// The object an error is about: its kind and, when known, its name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Object {
    /// The kind of object.
    pub kind: ObjectKind,
    /// The name as the caller gave it (after normalisation), if there is one.
    pub name: Option<String>,
}

impl fmt::Display for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{} {:?}", self.kind, name),
            None => write!(f, "{}", self.kind),
        }
    }
}

/// The operation that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// Opening an existing object.
    Open,
    /// Creating an object (`O_CREAT`, with or without `O_EXCL`).
    Create,
    /// Removing the object's name (`*_unlink`).
    Unlink,
    /// Closing a handle.
    Close,
    /// Waiting on a semaphore.
    Acquire,
    /// Posting a semaphore.
    Release,
    /// Reading a semaphore's value.
    GetValue,
    /// Sending a message.
    Send,
    /// Receiving a message.
    Receive,
    /// Reading a queue's attributes (`mq_getattr`).
    GetAttributes,
    /// Changing a queue's attributes (`mq_setattr`).
    SetAttributes,
    /// Registering or cancelling a queue notification (`mq_notify`).
    Notify,
    /// Resizing a segment (`ftruncate`, `posix_fallocate`).
    Resize,
    /// Reading an object's size, owner or mode (`fstat`, `stat`).
    Stat,
    /// Mapping a segment (`mmap`).
    Map,
    /// Reading from or writing to a mapping.
    Access,
    /// Converting or validating a timeout.
    Timeout,
    /// Reading a typed shared struct.
    Load,
    /// Writing a typed shared struct.
    Store,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::Open => "open",
            Operation::Create => "create",
            Operation::Unlink => "unlink",
            Operation::Close => "close",
            Operation::Acquire => "acquire",
            Operation::Release => "release",
            Operation::GetValue => "read the value of",
            Operation::Send => "send to",
            Operation::Receive => "receive from",
            Operation::GetAttributes => "read the attributes of",
            Operation::SetAttributes => "set the attributes of",
            Operation::Notify => "request notification from",
            Operation::Resize => "resize",
            Operation::Stat => "read the attributes of",
            Operation::Map => "map",
            Operation::Access => "access",
            Operation::Timeout => "use",
            Operation::Load => "load from",
            Operation::Store => "store to",
        })
    }
}

/// What went wrong, in categories a program can act on.
///
/// The kinds map onto posix_ipc's exception classes (see [`ErrorKind::posix_ipc_exception`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// No object has that name (`ENOENT`). posix_ipc: `ExistentialError`.
    NotFound,
    /// An object with that name exists and exclusive creation was asked for (`EEXIST`).
    /// posix_ipc: `ExistentialError`.
    AlreadyExists,
    /// The handle was closed, or the descriptor is no longer valid (`EBADF`).
    /// posix_ipc: `ExistentialError`.
    Closed,
    /// The caller may not do this (`EACCES`, `EPERM`, a queue opened without read or write
    /// access). posix_ipc: `PermissionsError`.
    PermissionDenied,
    /// The operation would have blocked and no wait was allowed (a zero timeout, or a
    /// non-blocking queue). posix_ipc: `BusyError`.
    WouldBlock,
    /// The timeout expired. posix_ipc: `BusyError`.
    TimedOut,
    /// Another process already receives notifications from this queue (`EBUSY`).
    /// posix_ipc: `BusyError`.
    NotificationBusy,
    /// A signal interrupted a blocking call (`EINTR`). posix_ipc: `SignalError`.
    Interrupted,
    /// A blocking call was stopped from outside: its handle's
    /// [`CancelToken`](crate::CancelToken) was cancelled, or a signal that
    /// [`signals::stop_on_signals`](crate::signals::stop_on_signals) watches arrived. Nothing was
    /// sent, received or acquired by the call. posix_ipc: `SignalError`.
    Cancelled,
    /// The name is malformed or too long (checked before any system call). posix_ipc:
    /// `ValueError`.
    InvalidName,
    /// An argument is out of range or inconsistent (priority, size, flags, timeout, buffer).
    /// posix_ipc: `ValueError` (or `TypeError` for a bad timeout).
    InvalidArgument,
    /// A system limit refused the request (`fs.mqueue.*`, `RLIMIT_MSGQUEUE`, open files). The
    /// message names the limit, its current value and how to raise it.
    LimitExceeded,
    /// A message is longer than the queue's `max_message_size` (`EMSGSIZE`). posix_ipc:
    /// `ValueError`.
    MessageTooLarge,
    /// A semaphore is already at `SEM_VALUE_MAX` (`EOVERFLOW`). posix_ipc: `OSError`.
    Overflow,
    /// `/dev/shm` (or the queue namespace) has no room (`ENOSPC`). posix_ipc: `OSError`.
    NoSpace,
    /// The kernel is out of memory (`ENOMEM`). posix_ipc: `MemoryError`.
    OutOfMemory,
    /// An existing object does not match what the caller needs (a segment too small for the
    /// mapping, a queue whose message size differs from the type's).
    Mismatch,
    /// A received message does not have the length of the expected type (a foreign or buggy
    /// sender). The bytes and priority are handed back in [`Error::returned`]: nothing is lost.
    WrongLength,
    /// A shared object exists but its creator has not finished initialising it.
    NotInitialized,
    /// Every peer on the other side of a channel has gone (closed, or died) and nothing more
    /// can arrive (or be taken).
    Disconnected,
    /// A subscriber of an [`Overwrite`](crate::Policy::Overwrite) topic fell behind (or was
    /// skipped by a [`Block`](crate::Policy::Block) publisher while it was stopped) and the
    /// samples it had not read were overwritten: [`Error::missed`] says how many. The next
    /// receive resumes at the oldest sample still there.
    Lagged,
    /// The publisher of a topic this subscriber follows
    /// ([`SubscribeOptions::follow_restarts`](crate::SubscribeOptions::follow_restarts)) went
    /// away and a new one took the topic over: [`Error::generation`] gives the new publisher's
    /// generation. Reported once, before the first sample of the new generation; the next
    /// receive returns that sample.
    Restarted,
    /// The platform lacks the feature.
    Unsupported,
    /// Waiting would never end: this thread already holds the [`RobustMutex`](crate::RobustMutex)
    /// it tries to lock (`EDEADLK`).
    Deadlock,
    /// A [`RobustMutex`](crate::RobustMutex) can no longer be used (`ENOTRECOVERABLE`): a peer
    /// released it after its previous owner died without marking it consistent. Remove it and
    /// create it again.
    NotRecoverable,
    /// An existing object failed the owner or mode check asked for with `verify_owner`,
    /// `verify_mode` or `verify_private` on an options builder: another user made it, or its
    /// permission bits grant more than allowed. posix_ipc: `PermissionsError`.
    Untrusted,
    /// Any other operating-system error; the errno is kept.
    Other,
}

impl ErrorKind {
    /// The name of the posix_ipc 1.3.2 exception class a Python program would see for this
    /// kind (`"ExistentialError"`, `"BusyError"`, `"ValueError"`, ...).
    pub fn posix_ipc_exception(self) -> &'static str {
        match self {
            ErrorKind::NotFound | ErrorKind::AlreadyExists | ErrorKind::Closed => {
                "ExistentialError"
            }
            ErrorKind::PermissionDenied | ErrorKind::Untrusted => "PermissionsError",
            ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::NotificationBusy => {
                "BusyError"
            }
            ErrorKind::Interrupted | ErrorKind::Cancelled => "SignalError",
            ErrorKind::InvalidName
            | ErrorKind::InvalidArgument
            | ErrorKind::MessageTooLarge
            | ErrorKind::WrongLength
            | ErrorKind::Mismatch => "ValueError",
            ErrorKind::NotInitialized => "ExistentialError",
            ErrorKind::OutOfMemory => "MemoryError",
            ErrorKind::LimitExceeded
            | ErrorKind::Overflow
            | ErrorKind::NoSpace
            | ErrorKind::Unsupported
            | ErrorKind::Disconnected
            | ErrorKind::Lagged
            | ErrorKind::Restarted
            | ErrorKind::Deadlock
            | ErrorKind::NotRecoverable
            | ErrorKind::Other => "OSError",
        }
    }

    fn io_kind(self) -> io::ErrorKind {
        match self {
            ErrorKind::NotFound => io::ErrorKind::NotFound,
            ErrorKind::AlreadyExists => io::ErrorKind::AlreadyExists,
            ErrorKind::Closed => io::ErrorKind::NotConnected,
            ErrorKind::PermissionDenied | ErrorKind::Untrusted => io::ErrorKind::PermissionDenied,
            ErrorKind::WouldBlock | ErrorKind::NotificationBusy => io::ErrorKind::WouldBlock,
            ErrorKind::TimedOut => io::ErrorKind::TimedOut,
            ErrorKind::Interrupted | ErrorKind::Cancelled => io::ErrorKind::Interrupted,
            ErrorKind::InvalidName
            | ErrorKind::InvalidArgument
            | ErrorKind::MessageTooLarge
            | ErrorKind::Mismatch => io::ErrorKind::InvalidInput,
            ErrorKind::WrongLength => io::ErrorKind::InvalidData,
            ErrorKind::NotInitialized => io::ErrorKind::WouldBlock,
            ErrorKind::Disconnected => io::ErrorKind::BrokenPipe,
            ErrorKind::Lagged => io::ErrorKind::InvalidData,
            ErrorKind::Restarted => io::ErrorKind::ConnectionReset,
            ErrorKind::OutOfMemory => io::ErrorKind::OutOfMemory,
            ErrorKind::Unsupported => io::ErrorKind::Unsupported,
            ErrorKind::LimitExceeded | ErrorKind::Overflow | ErrorKind::NoSpace => {
                io::ErrorKind::Other
            }
            // io::ErrorKind::Deadlock is newer than the MSRV (1.82).
            ErrorKind::Deadlock | ErrorKind::NotRecoverable | ErrorKind::Other => {
                io::ErrorKind::Other
            }
        }
    }
}

/// A payload handed back with an error so that nothing is lost (for example a message of the
/// wrong length that was already taken off the queue).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Returned {
    /// The bytes that could not be used.
    pub bytes: Vec<u8>,
    /// The message priority they arrived with.
    pub priority: u32,
}

#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    operation: Operation,
    object: Object,
    detail: String,
    source: Option<io::Error>,
    returned: Option<Returned>,
    missed: Option<u64>,
    generation: Option<u64>,
}

/// The error type of every fallible call in this workspace.
///
/// Its `Display` is one line: `cannot <operation> <object>: <detail>` (plus the errno name
/// where the kernel refused), for example:
///
/// ```text
/// cannot create message queue "/q": max_messages 64 exceeds fs.mqueue.msg_max (10): raise it with `sysctl -w fs.mqueue.msg_max=64` or run with CAP_SYS_RESOURCE (EINVAL)
/// ```
///
/// The error is one pointer wide, so `Result<T, Error>` stays small on hot paths.
pub struct Error(Box<Inner>);

/// `Result` with this workspace's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Builds an error. Used by this workspace's crates; applications rarely need it.
    pub fn new(
        kind: ErrorKind,
        operation: Operation,
        object: Object,
        detail: impl Into<String>,
    ) -> Error {
        Error(Box::new(Inner {
            kind,
            operation,
            object,
            detail: detail.into(),
            source: None,
            returned: None,
            missed: None,
            generation: None,
        }))
    }

    /// Attaches the `errno` the kernel returned.
    pub fn with_errno(mut self, errno: i32) -> Error {
        self.0.source = Some(io::Error::from_raw_os_error(errno));
        self
    }

    /// Attaches bytes that must be handed back to the caller.
    pub fn with_returned(mut self, returned: Returned) -> Error {
        self.0.returned = Some(returned);
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The operation that failed.
    pub fn operation(&self) -> Operation {
        self.0.operation
    }

    /// The object the operation was about.
    pub fn object(&self) -> &Object {
        &self.0.object
    }

    /// The object's name, if it has one.
    pub fn name(&self) -> Option<&str> {
        self.0.object.name.as_deref()
    }

    /// The human explanation, without the `cannot <operation> <object>` prefix.
    pub fn detail(&self) -> &str {
        &self.0.detail
    }

    /// The `errno` the kernel returned, when the error came from a system call.
    pub fn errno(&self) -> Option<i32> {
        self.0.source.as_ref().and_then(io::Error::raw_os_error)
    }

    /// The bytes handed back with this error, if any (see [`Returned`]).
    pub fn returned(&self) -> Option<&Returned> {
        self.0.returned.as_ref()
    }

    /// For [`ErrorKind::Lagged`]: how many samples were overwritten before this subscriber read
    /// them (exactly; the next receive returns the sample after them).
    pub fn missed(&self) -> Option<u64> {
        self.0.missed
    }

    pub(crate) fn with_missed(mut self, missed: u64) -> Error {
        self.0.missed = Some(missed);
        self
    }

    /// For [`ErrorKind::Restarted`]: the generation of the topic's new publisher (each
    /// publisher of a topic gets the next one; the first is 1).
    pub fn generation(&self) -> Option<u64> {
        self.0.generation
    }

    pub(crate) fn with_generation(mut self, generation: u64) -> Error {
        self.0.generation = Some(generation);
        self
    }

    /// Takes the bytes handed back with this error, if any.
    pub fn into_returned(self) -> Option<Returned> {
        self.0.returned
    }

    /// The posix_ipc exception class a Python program would see: `"ExistentialError"`,
    /// `"PermissionsError"`, `"BusyError"`, `"SignalError"`, `"ValueError"`, `"MemoryError"` or
    /// `"OSError"`.
    pub fn posix_ipc_exception(&self) -> &'static str {
        self.0.kind.posix_ipc_exception()
    }

    /// True where posix_ipc raises `ExistentialError`: not found, already exists, closed.
    pub fn is_existential(&self) -> bool {
        self.posix_ipc_exception() == "ExistentialError"
    }

    /// True where posix_ipc raises `PermissionsError`.
    pub fn is_permissions(&self) -> bool {
        self.posix_ipc_exception() == "PermissionsError"
    }

    /// True where posix_ipc raises `BusyError`: would block, timed out, notification busy.
    pub fn is_busy(&self) -> bool {
        self.posix_ipc_exception() == "BusyError"
    }

    /// True where posix_ipc raises `SignalError`: a signal interrupted the wait, or the wait
    /// was cancelled ([`ErrorKind::Cancelled`]).
    pub fn is_signal(&self) -> bool {
        matches!(self.0.kind, ErrorKind::Interrupted | ErrorKind::Cancelled)
    }

    /// The same error about another kind of object of the same name (a typed layer reporting
    /// what failed underneath it as the object the caller holds, a ring rather than "shared
    /// memory").
    pub(crate) fn about(mut self, kind: ObjectKind) -> Error {
        self.0.object.kind = kind;
        self
    }

    /// The same failure reported about `object` (the one the caller holds), with `context`
    /// saying what failed underneath it.
    pub(crate) fn reframed(mut self, object: Object, context: &str) -> Error {
        self.0.object = object;
        self.0.detail = format!("{context}: {}", self.0.detail);
        self
    }
}

fn errno_name(errno: i32) -> &'static str {
    match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EINTR => "EINTR",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::EINVAL => "EINVAL",
        libc::ENFILE => "ENFILE",
        libc::EMFILE => "EMFILE",
        libc::EFBIG => "EFBIG",
        libc::ENOSPC => "ENOSPC",
        libc::EROFS => "EROFS",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::EOVERFLOW => "EOVERFLOW",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::EMSGSIZE => "EMSGSIZE",
        libc::ENOSYS => "ENOSYS",
        _ => "",
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot {} {}: {}",
            self.0.operation, self.0.object, self.0.detail
        )?;
        if let Some(errno) = self.errno() {
            match errno_name(errno) {
                "" => write!(f, " (errno {errno})")?,
                name => write!(f, " ({name})")?,
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.0.kind)
            .field("operation", &self.0.operation)
            .field("object", &self.0.object)
            .field("detail", &self.0.detail)
            .field("errno", &self.errno())
            .field("returned", &self.0.returned.as_ref().map(|r| r.bytes.len()))
            .finish()?;
        write!(f, " /* {self} */")
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<Error> for io::Error {
    fn from(err: Error) -> io::Error {
        io::Error::new(err.0.kind.io_kind(), err)
    }
}

/// Appended to every "already exists" error of a create: after a crash, that is the usual cause.
pub(crate) const LEFTOVER_HINT: &str = "; it may be left over from a crashed run: see who holds \
     it with `posix-ipc ls --holders`, remove leftovers with `posix-ipc clean --stale` (or \
     `posix_ipc::lifecycle::clean_stale`), or open it with open_or_create";

/// Turns an `errno` from a call on `object` into an [`Error`] with a default explanation.
/// Modules override the explanation where they know more (limits, access modes).
pub(crate) fn os(errno: i32, operation: Operation, object: Object) -> Error {
    let kind_name = object.kind;
    let (kind, detail) = match errno {
        libc::ENOENT => (
            ErrorKind::NotFound,
            format!("no {kind_name} exists with this name"),
        ),
        libc::EEXIST => (
            ErrorKind::AlreadyExists,
            format!(
                "a {kind_name} with this name already exists{}",
                LEFTOVER_HINT
            ),
        ),
        libc::EACCES | libc::EPERM | libc::EROFS => (
            ErrorKind::PermissionDenied,
            "permission denied: the object's owner or mode does not allow this access".into(),
        ),
        libc::EAGAIN => (ErrorKind::WouldBlock, "the call would block".into()),
        libc::ETIMEDOUT => (ErrorKind::TimedOut, "the timeout expired".into()),
        libc::EINTR => (
            ErrorKind::Interrupted,
            "a signal interrupted the wait".into(),
        ),
        libc::EBADF => (
            ErrorKind::Closed,
            "the descriptor is not valid (closed, or not open for this access)".into(),
        ),
        libc::EINVAL => (ErrorKind::InvalidArgument, "invalid parameter(s)".into()),
        libc::EMFILE => {
            let limit = crate::limits::rlimit_nofile()
                .map_or_else(|| "?".to_string(), |(soft, _)| soft.to_string());
            (
                ErrorKind::LimitExceeded,
                format!(
                    "this process already has the maximum number of files open (RLIMIT_NOFILE \
                     {limit}): close descriptors or raise it with `ulimit -n`"
                ),
            )
        }
        libc::ENFILE => (
            ErrorKind::LimitExceeded,
            "the system-wide limit on open files is reached (fs.file-max): raise it with \
             `sysctl -w fs.file-max=N`"
                .into(),
        ),
        libc::ENOMEM => (ErrorKind::OutOfMemory, "not enough memory".into()),
        libc::ENOSPC => (ErrorKind::NoSpace, "no space left".into()),
        libc::EMSGSIZE => (ErrorKind::MessageTooLarge, "the message is too long".into()),
        libc::EOVERFLOW => (ErrorKind::Overflow, "value too large for the object".into()),
        libc::EBUSY => (ErrorKind::NotificationBusy, "the object is busy".into()),
        libc::ENAMETOOLONG => (ErrorKind::InvalidName, "the name is too long".into()),
        libc::ENOSYS | libc::EOPNOTSUPP => (
            ErrorKind::Unsupported,
            "the operation is not supported here".into(),
        ),
        other => (
            ErrorKind::Other,
            io::Error::from_raw_os_error(other).to_string(),
        ),
    };
    Error::new(kind, operation, object, detail).with_errno(errno)
}
