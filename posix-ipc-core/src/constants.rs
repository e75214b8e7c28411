//! posix_ipc's module constants, with the same names and Linux values.
//!
//! The flags are the `<fcntl.h>` values and can be combined with `|` and passed to the
//! posix_ipc-style constructors ([`Semaphore::new`](crate::Semaphore::new),
//! [`SharedMemory::new`](crate::SharedMemory::new),
//! [`MessageQueue::new`](crate::MessageQueue::new)). Values the running system decides are
//! functions in [`limits`](crate::limits); the two that posix_ipc froze at build time and then
//! deprecated are kept, computed at run time.

use std::sync::LazyLock;

/// Create the object if it does not exist (`O_CREAT`, 64).
pub const O_CREAT: i32 = libc::O_CREAT;
/// With [`O_CREAT`], fail if the object exists (`O_EXCL`, 128).
pub const O_EXCL: i32 = libc::O_EXCL;
/// `O_CREAT | O_EXCL` (192): create a new object or fail.
pub const O_CREX: i32 = O_CREAT | O_EXCL;
/// Truncate an existing shared-memory segment to zero bytes (`O_TRUNC`, 512).
pub const O_TRUNC: i32 = libc::O_TRUNC;
/// Open a message queue for reading only (`O_RDONLY`, 0).
pub const O_RDONLY: i32 = libc::O_RDONLY;
/// Open a message queue for writing only (`O_WRONLY`, 1).
pub const O_WRONLY: i32 = libc::O_WRONLY;
/// Open a message queue for reading and writing (`O_RDWR`, 2).
pub const O_RDWR: i32 = libc::O_RDWR;
/// Open a message queue in non-blocking mode (`O_NONBLOCK`, 2048).
pub const O_NONBLOCK: i32 = libc::O_NONBLOCK;

/// Whether this platform has POSIX message queues (true on Linux).
pub const MESSAGE_QUEUES_SUPPORTED: bool = cfg!(target_os = "linux");
/// Whether semaphore waits can time out (`sem_timedwait`; true on Linux).
pub const SEMAPHORE_TIMEOUT_SUPPORTED: bool = cfg!(target_os = "linux");
/// Whether a semaphore's value can be read (`sem_getvalue`; true on Linux).
pub const SEMAPHORE_VALUE_SUPPORTED: bool = cfg!(target_os = "linux");

/// posix_ipc's default `max_messages` for a new queue (10, Linux's default `fs.mqueue.msg_max`).
///
/// This constant matches posix_ipc; new queues made by this crate without an explicit count use
/// the live [`limits::msg_default`](crate::limits::msg_default) instead.
pub const QUEUE_MESSAGES_MAX_DEFAULT: i64 = 10;
/// posix_ipc's default `max_message_size` for a new queue (8192).
///
/// As for [`QUEUE_MESSAGES_MAX_DEFAULT`], new queues use the live
/// [`limits::msgsize_default`](crate::limits::msgsize_default).
pub const QUEUE_MESSAGE_SIZE_MAX_DEFAULT: i64 = 8192;
/// The highest message priority (32767, `MQ_PRIO_MAX - 1` on Linux).
pub const QUEUE_PRIORITY_MAX: u32 = 32767;

/// The lowest realtime signal a program may use for notifications (`SIGRTMIN`, decided by
/// glibc at run time, 34 with NPTL). Read it with `*USER_SIGNAL_MIN`.
pub static USER_SIGNAL_MIN: LazyLock<i32> = LazyLock::new(|| crate::sys::sigrt_range().0);
/// The highest realtime signal (`SIGRTMAX`, 64 on Linux). Read it with `*USER_SIGNAL_MAX`.
pub static USER_SIGNAL_MAX: LazyLock<i32> = LazyLock::new(|| crate::sys::sigrt_range().1);

/// The page size.
#[deprecated(
    since = "0.1.0",
    note = "use `limits::page_size()` (posix_ipc deprecated PAGE_SIZE in 1.3.0)"
)]
pub static PAGE_SIZE: LazyLock<usize> = LazyLock::new(crate::limits::page_size);
/// The largest semaphore value.
#[deprecated(
    since = "0.1.0",
    note = "use `limits::sem_value_max()` (posix_ipc deprecated SEMAPHORE_VALUE_MAX in 1.3.0)"
)]
pub static SEMAPHORE_VALUE_MAX: LazyLock<u32> = LazyLock::new(crate::limits::sem_value_max);

/// This crate's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The version of Python's posix_ipc whose API and behaviour this crate follows.
pub const POSIX_IPC_VERSION: &str = "1.3.2";
/// Authors (posix_ipc's `__author__`).
pub const AUTHOR: &str = env!("CARGO_PKG_AUTHORS");
/// License (posix_ipc's `__license__`).
pub const LICENSE: &str = env!("CARGO_PKG_LICENSE");
/// Copyright notice (posix_ipc's `__copyright__`).
pub const COPYRIGHT: &str =
    "Copyright 2026 the posix-ipc developers; API after posix_ipc, Copyright 2008 - 2025 Philip Semanchuk and contributors";
