//! POSIX named semaphores, shared memory and message queues for Rust: the counterpart of
//! Python's `posix_ipc`, over the same kernel objects.
//!
//! This is the crate to depend on; it re-exports [`posix_ipc_core`]. [`compat`] maps every
//! posix_ipc name to its Rust counterpart; the [`typed`] module, [`typed::ring`],
//! [`typed::pubsub`] and [`lifecycle`] hold the guides to the channels and to cleaning up.
//!
//! With the `tokio` cargo feature it also re-exports `posix_ipc::asyncio`: async queues and
//! typed channels on epoll through tokio's `AsyncFd` (`AsyncReceiver` is a `Stream`,
//! `AsyncSender` a `Sink`), and async semaphore and ring waits.
//!
//! ```
//! use posix_ipc::{MessageQueue, O_CREX};
//!
//! # let name = format!("/doc-facade-{}", std::process::id());
//! // posix_ipc style ...
//! let mq = MessageQueue::new(Some(&name), O_CREX, 0o600, 4, 64, true, true)?;
//! mq.send(b"hello", 0)?;
//! // ... or builder style
//! let reader = MessageQueue::options().write(false).open(&name)?;
//! assert_eq!(reader.receive()?.0, b"hello");
//! posix_ipc::unlink_message_queue(&name)?;
//! # Ok::<(), posix_ipc::Error>(())
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

pub use posix_ipc_core::*;
/// `#[derive(IpcMessage)]`: see [`IpcMessage`](trait@IpcMessage).
pub use posix_ipc_derive::IpcMessage;

/// The Rust blocks of `README.md`, compiled and run as doctests (`cargo test --doc`).
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
