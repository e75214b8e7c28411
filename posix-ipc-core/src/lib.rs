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
//! # Typed messages
//!
//! `#[derive(IpcMessage)]` (re-exported by the `posix-ipc` facade) turns a plain `#[repr(C)]`
//! struct into a message type; the typed layer carries it over a queue ([`Sender`],
//! [`Receiver`], [`TypedQueue`]), in a shared struct ([`Shared`], [`RawShared`]) or over a
//! shared-memory ring ([`RingSender`], [`RingReceiver`]), checking the type's size and layout
//! fingerprint when the object is opened:
//!
//! ```
//! use posix_ipc::{IpcMessage, Receiver, RingMode, RingReceiver, RingSender, Sender, Shared};
//!
//! #[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
//! #[repr(C)]
//! #[ipc(priority = 5)]
//! struct Reading { seq: u64, value: f64 }
//!
//! # let pid = std::process::id();
//! let r = Reading { seq: 1, value: 0.5 };
//! let tx = Sender::<Reading>::create_owned(&format!("/doc-lib-q-{pid}"), 10)?;  // removed on drop
//! let rx = Receiver::<Reading>::open(&format!("/doc-lib-q-{pid}"))?;          // type checked
//! tx.send(&r)?;
//! assert_eq!(rx.recv_with_priority()?, (r, 5));
//!
//! let ring_rx = RingReceiver::<Reading>::create_owned(&format!("/doc-lib-r-{pid}"), 64, RingMode::Spsc)?;
//! let ring_tx = RingSender::<Reading>::open(&format!("/doc-lib-r-{pid}"))?;
//! ring_tx.send(&r)?;                                    // no system call while both are busy
//! assert_eq!(ring_rx.recv()?, r);
//!
//! let latest = Shared::create_owned(&format!("/doc-lib-s-{pid}"), &r)?;
//! assert_eq!(latest.load(), r);                         // never a torn value
//! # Ok::<(), posix_ipc::Error>(())
//! ```
//!
//! # Living with named objects
//!
//! - [`Owned`] (every kind's `create_owned`): the creator removes the object when dropped,
//!   also on `?` and panic.
//! - [`CancelToken`] (`with_cancel` on every handle that blocks) stops a blocked call from
//!   another thread; [`signals::stop_on_signals`] makes Ctrl-C and SIGTERM stop them all.
//! - Typed queues and rings notice when every peer on the other side has gone, also after
//!   SIGKILL ([`ErrorKind::Disconnected`]).
//! - [`lifecycle`] lists objects with their holders and headers, and removes leftovers of
//!   crashed runs ([`lifecycle::clean_stale`]).
//!
//! # Threads
//!
//! | handle | `Send` | `Sync` | why |
//! |---|---|---|---|
//! | [`Semaphore`], [`SharedMemory`], [`MessageQueue`] | yes | yes | every call is a thread-safe system call on the descriptor or `sem_t` |
//! | [`Sender`], [`Receiver`], [`TypedQueue`] | yes | yes | the same, plus a registration shared by clones (`try_clone`) |
//! | [`Shared`], [`RawShared`], [`RobustMutex`] | yes | yes | all access to the segment is atomic or by copy, under the cross-process lock |
//! | [`RingSender`], [`RingReceiver`] | yes | no | each end caches the other side's index; use `try_clone` for another producer or consumer of an MPMC ring |
//! | [`CancelToken`] | yes | yes | an `Arc` of atomics and a lock |
//! | [`Owned<H>`](Owned) | as `H` | as `H` | |
//! | [`RobustGuard`] | no | no | a mutex is unlocked by the thread that locked it |
//!
//! # Security defaults
//!
//! - New objects get mode `0600` (the umask applies); `create`/[`O_CREX`] never adopts an
//!   object someone else made; descriptors are close-on-exec.
//! - To open an object a peer made, ask the builder to check who owns it and what its mode
//!   allows (`verify_private`, `verify_owner`, `verify_mode` on
//!   [`MessageQueueOptions`], [`SharedMemoryOptions`] and [`SemaphoreOptions`]). The check looks
//!   at the object actually opened (its descriptor; for a semaphore, the file in `/dev/shm`
//!   matched by inode to its mapping), not at the name, runs before anything is resized or
//!   truncated, and a failure is [`ErrorKind::Untrusted`]. An object the same call creates is
//!   checked too, and removed again if it fails.
//!
//!   ```
//!   use posix_ipc_core::{ErrorKind, MessageQueue};
//!
//!   # let name = format!("/doc-lib-verify-{}", std::process::id());
//!   # let made = MessageQueue::create(&name, 2, 64)?;
//!   // Refuse a queue another user pre-created under this name, or one others may read or
//!   // write. (Like any open, it is NotFound if nobody has created it yet.)
//!   let q = MessageQueue::options().verify_private().open(&name)?;
//!   // Or separately: an owner (`verify_owner(uid)`) and the permission bits allowed.
//!   let err = MessageQueue::options().verify_mode(0o400).open(&name).unwrap_err();
//!   assert_eq!(err.kind(), ErrorKind::Untrusted); // mode 0600 grants 0200 beyond 0400
//!   # made.unlink()?;
//!   # Ok::<(), posix_ipc_core::Error>(())
//!   ```
//!
//!   The error says what it found and which check refused it, and what to do: for an object
//!   owned by another user, that this user may have taken the name first to intercept the
//!   data, and to remove it or create the object with `create_new`. [`Shared`], [`RawShared`],
//!   the ring handles and [`RobustMutex`] have no builder: call `stat()` on the handle right
//!   after opening (it reads the descriptor the handle holds) and check
//!   [`SegmentStat::is_private`] or its `uid` and `mode`.
//! - Names are validated before any system call, with one rule for all three kinds ([`name`]):
//!   the leading slash is optional, no other slash, no NUL, not `.` or `..`, at most 255 bytes
//!   (251 for semaphores), and a shared-memory name may not start with `sem.`.
//! - Shared memory is never handed out as a plain `&[u8]`/`&mut [u8]` that another process may
//!   write: [`Mapping`] copies in and out; the raw views are `unsafe` with a written contract.
//!   [`Shared<T>`](Shared) is a double-buffered seqlock: a reader never accepts a torn value and
//!   a writer killed mid-store leaves the published value intact.
//! - A segment that another process shrinks while it is mapped would raise `SIGBUS` when the
//!   lost pages are touched (the kernel offers no way to prevent shrinking `shm_open` objects).
//!   This crate catches that fault for its own mappings, puts zeros in place of the lost page,
//!   and every checked access through that mapping then returns [`ErrorKind::Mismatch`]
//!   ([`Mapping::is_truncated`]); a `SIGBUS` anywhere else keeps its usual effect.
//! - [`RobustMutex`] is a lock shared by processes that survives its holder being killed: the
//!   next locker gets it at once, with `previous_owner_died()` telling it to check the data it
//!   protects (a semaphore used as a lock would stay taken forever).
//!
//! What was tried against all this (SIGKILL mid-operation, signal storms, full queues,
//! truncation, bad inputs, randomised cases, many processes over a queue and a ring) and what
//! happened is in the workspace's `RELIABILITY.md`.
//!
//! # Platform and limits
//!
//! Linux with glibc is the supported and tested platform ([`MESSAGE_QUEUES_SUPPORTED`],
//! [`SEMAPHORE_TIMEOUT_SUPPORTED`] and [`SEMAPHORE_VALUE_SUPPORTED`] are true there). Message
//! queues are limited by the kernel: `fs.mqueue.msg_max` (10 by default) messages per queue and
//! `fs.mqueue.msgsize_max` (8192 by default) bytes per message without `CAP_SYS_RESOURCE`, and
//! `RLIMIT_MSGQUEUE` (819,200 bytes by default) of queue memory per user. [`limits`] reads the
//! live values, and every error caused by a limit names it, its value and how to raise it:
//!
//! ```text
//! cannot create message queue "/q": max_messages 64 exceeds fs.mqueue.msg_max (10): raise it with `sysctl -w fs.mqueue.msg_max=64` or run with CAP_SYS_RESOURCE (EINVAL)
//! ```
//!
//! posix_ipc users: [`compat`] maps every posix_ipc name to its counterpart here.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(
    missing_docs,
    unsafe_op_in_unsafe_fn,
    clippy::undocumented_unsafe_blocks
)]

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod asyncio;
pub mod cancel;
pub mod compat;
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
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use asyncio::{
    AsyncFramePublisher, AsyncFrameSubscriber, AsyncMessageQueue, AsyncPublisher, AsyncReceiver,
    AsyncRingReceiver, AsyncRingSender, AsyncSemaphore, AsyncSemaphoreGuard, AsyncSender,
    AsyncSubscriber,
};
pub use cancel::{open_wait, CancelToken};
pub use constants::{
    AUTHOR, COPYRIGHT, LICENSE, MESSAGE_QUEUES_SUPPORTED, O_CREAT, O_CREX, O_EXCL, O_NONBLOCK,
    O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, POSIX_IPC_VERSION, QUEUE_MESSAGES_MAX_DEFAULT,
    QUEUE_MESSAGE_SIZE_MAX_DEFAULT, QUEUE_PRIORITY_MAX, SEMAPHORE_TIMEOUT_SUPPORTED,
    SEMAPHORE_VALUE_SUPPORTED, USER_SIGNAL_MAX, USER_SIGNAL_MIN, VERSION,
};
#[expect(
    deprecated,
    reason = "posix_ipc's deprecated constants stay available under their names"
)]
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
pub use timeout::{now_ns, Timeout};
pub use typed::{
    AnySample, AnySubscriber, Footprint, Frame, FrameHeader, FrameLoan, FrameLoanUninit,
    FramePublisher, FrameSubscriber, Loan, LoanUninit, NoHeader, Policy, Publisher, RecordLoan,
    RecordPublisher, RecordSample, RecordSubscriber, Sample, SubscribeOptions, Subscriber,
    TopicInfo, TopicOptions, TopicStatus,
};
pub use typed::{
    ElementDesc, FieldDesc, LayoutDesc, LayoutError, LayoutErrorKind, Value, LAYOUT_DESC_MAGIC,
    LAYOUT_DESC_VERSION,
};
pub use typed::{
    IpcField, IpcMessage, QueueSide, RawShared, Receiver, RecordQueue, RecordReceiver,
    RecordSender, RecordShared, RecordType, RingMode, RingReceiver, RingSender, SegmentKind,
    Sender, Shared, TypedQueue,
};
