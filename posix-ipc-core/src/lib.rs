//! POSIX named semaphores, shared memory and message queues in safe Rust: the core of the
//! [`posix-ipc`](https://docs.rs/posix-ipc) workspace.
//!
//! Everything Python's `posix_ipc` 1.3.2 offers is here under the same names ([`Semaphore`],
//! [`SharedMemory`], [`MessageQueue`], [`O_CREX`], [`BusyError`-like kinds](ErrorKind), ...),
//! over the very same kernel objects, so Rust, Python and C programs can share them. On top of
//! parity: builders, `Duration` timeouts measured on the monotonic clock, RAII (handles close on
//! drop), one [`Error`] type that names the object, the operation and the limit hit, names
//! validated before any system call, and no undefined behaviour on any input.
//!
//! ```
//! use posix_ipc_core::{MessageQueue, Semaphore, SharedMemory};
//!
//! let pid = std::process::id();
//! let sem = Semaphore::create(&format!("/doc-lib-sem-{pid}"), 0)?;
//! let shm = SharedMemory::create(&format!("/doc-lib-shm-{pid}"), 4096)?;
//! let mq = MessageQueue::create(&format!("/doc-lib-mq-{pid}"), 2, 128)?;
//!
//! shm.map()?.write_at(0, b"ready")?;
//! sem.release()?;
//! mq.send(b"ping", 7)?;
//! assert_eq!(mq.receive()?, (b"ping".to_vec(), 7));
//!
//! sem.unlink()?;
//! shm.unlink()?;
//! mq.unlink()?;
//! # Ok::<(), posix_ipc_core::Error>(())
//! ```
//!
//! Linux with glibc is the supported platform.

#![deny(
    missing_docs,
    unsafe_op_in_unsafe_fn,
    clippy::undocumented_unsafe_blocks
)]

#[cfg(feature = "tokio")]
pub mod asyncio;
pub mod cancel;
mod constants;
pub mod error;
pub mod lifecycle;
pub mod limits;
mod mq;
mod mutex;
pub mod name;
mod open;
pub mod owned;
#[cfg(test)]
mod proptest_run;
mod sem;
mod shm;
pub mod signals;
mod sys;
mod timeout;
pub mod typed;
mod verify;

#[cfg(feature = "tokio")]
pub use asyncio::{
    AsyncMessageQueue, AsyncReceiver, AsyncRingReceiver, AsyncRingSender, AsyncSemaphore,
    AsyncSemaphoreGuard, AsyncSender,
};
pub use cancel::CancelToken;
pub use constants::{
    AUTHOR, COPYRIGHT, LICENSE, MESSAGE_QUEUES_SUPPORTED, O_CREAT, O_CREX, O_EXCL, O_NONBLOCK,
    O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, POSIX_IPC_VERSION, QUEUE_MESSAGES_MAX_DEFAULT,
    QUEUE_MESSAGE_SIZE_MAX_DEFAULT, QUEUE_PRIORITY_MAX, SEMAPHORE_TIMEOUT_SUPPORTED,
    SEMAPHORE_VALUE_SUPPORTED, USER_SIGNAL_MAX, USER_SIGNAL_MIN, VERSION,
};
#[allow(deprecated)]
pub use constants::{PAGE_SIZE, SEMAPHORE_VALUE_MAX};
pub use error::{Error, ErrorKind, Object, ObjectKind, Operation, Result, Returned};
pub use mq::{unlink_message_queue, MessageQueue, MessageQueueOptions, Notification};
pub use mutex::{RobustGuard, RobustMutex, MUTEX_MAGIC, MUTEX_VERSION};
pub use owned::{Owned, Removable};
pub use sem::{unlink_semaphore, Semaphore, SemaphoreGuard, SemaphoreOptions};
pub use shm::{
    unlink_shared_memory, ClosedSharedMemory, Mapping, SegmentStat, SharedMemory,
    SharedMemoryOptions,
};
pub use timeout::Timeout;
pub use typed::{
    IpcField, IpcMessage, RawShared, Receiver, RingMode, RingReceiver, RingSender, SegmentKind,
    Sender, Shared, TypedQueue,
};
