//! Async (tokio) message queues, typed channels, semaphores and ring waits (cargo feature
//! `tokio`: `posix-ipc = { version = "0.1", features = ["tokio"] }`).
//!
//! Every future here leaves the runtime's worker threads free while it waits, and every
//! receive is cancellation-safe, so a receive can sit in a `select!` beside a shutdown signal:
//!
//! ```
//! use futures::StreamExt;
//! use posix_ipc::{AsyncReceiver, IpcMessage};
//!
//! #[derive(Clone, Copy, Debug, IpcMessage)]
//! #[repr(C)]
//! struct Job { id: u64 }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> posix_ipc::Result<()> {
//! # let name = format!("/doc-async-select-{}", std::process::id());
//! let mut rx = AsyncReceiver::<Job>::create(&name, 4)?;        // inside a tokio runtime
//! let (stop, mut shutdown) = tokio::sync::watch::channel(());
//! stop.send(()).ok();                                           // another task, usually
//! tokio::select! {
//!     job = rx.next() => println!("job {}", job.expect("a queue's stream never ends")?.id),
//!     _ = shutdown.changed() => println!("stopping"),           // the receive is dropped: nothing lost
//! }
//! rx.queue().unlink()?;
//! # Ok(())
//! # }
//! ```
//!
//! Each kind of object waits differently, because the kernel offers each a different way to
//! wait:
//!
//! | type | waits with | cost of a wait |
//! |---|---|---|
//! | [`AsyncMessageQueue`], [`AsyncSender`], [`AsyncReceiver`] | epoll, through tokio's [`AsyncFd`](::tokio::io::unix::AsyncFd) over the queue descriptor in non-blocking mode | none beyond tokio's reactor: no thread per queue, any number of queues on any number of worker threads |
//! | [`AsyncSemaphore`] | a thread of tokio's blocking pool in `sem_clockwait`, in slices of 100 ms | one blocking-pool thread per pending acquire, a hand-off (a few microseconds) per wait that has to sleep |
//! | [`AsyncRingReceiver`], [`AsyncRingSender`] | a thread of tokio's blocking pool sleeping on the ring's futex, in slices of 100 ms | one blocking-pool thread per waiting ring end, a hand-off per wait that has to sleep |
//! | [`AsyncSubscriber`], [`AsyncFrameSubscriber`], [`AsyncPublisher`], [`AsyncFramePublisher`] | as the rings: the topic's futex, slept on by a blocking-pool thread in slices of 100 ms; the sample is taken (or loaned) on the task | as the rings |
//!
//! # Message queues: readiness, not threads
//!
//! On Linux a queue descriptor is a file descriptor that epoll understands: it is readable while
//! the queue holds a message and writable while it has room. A send or receive future first
//! waits for that readiness, then makes one non-blocking `mq_timedsend`/`mq_timedreceive`; if
//! another process was faster (`EAGAIN`), it clears the readiness and waits again. The
//! descriptor is switched to `O_NONBLOCK` when it is wrapped (and back by `into_inner`).
//!
//! **Cancellation safety.** A message is taken off the queue only in the poll that returns it,
//! so dropping a receive future (a lost `select!` branch, a `timeout`) never loses a message;
//! a send future either sent its message in the poll that returned `Ready` or did not send it
//! at all. Timeouts (`receive_timeout`, `send_timeout`) are tokio timers around these futures.
//!
//! # Semaphores: the blocking pool
//!
//! A POSIX semaphore has no descriptor, so epoll cannot wait for it. [`AsyncSemaphore::acquire`]
//! first tries `sem_trywait`; if the value is zero it hands the wait to tokio's blocking pool
//! (`spawn_blocking`), where a thread waits in slices of 100 ms (`sem_clockwait`) and checks
//! between slices whether the future is still wanted. The cost is one pool thread per pending
//! acquire (tokio's pool grows to 512 threads by default) and a thread hand-off per wait. A
//! dropped acquire future never leaks a unit: if its thread acquires after the future has gone,
//! it releases at once (another waiter may see that unit a few microseconds later than it
//! could have).
//!
//! # Rings: a futex waiter on the blocking pool
//!
//! A [`RingReceiver`](crate::RingReceiver) sleeps on a futex in the shared segment, and a futex
//! cannot be polled by epoll. An eventfd could be, but it belongs to one process: the producer,
//! another process, could not signal it without receiving it over a Unix socket first, and it
//! would cost the producer a `write` per message, changing the ring protocol for C peers. So
//! [`AsyncRingReceiver`] takes messages with the non-blocking `try_recv` on the task and, only
//! when the ring is empty, moves the receiver to tokio's blocking pool, where a thread sleeps
//! on the futex (woken by the producer as any blocked receiver is) without taking anything, for
//! at most 100 ms; then the task tries again. A busy ring costs no hand-off at all; an idle one
//! costs a pool thread that wakes every 100 ms. Dropping a receive future loses nothing (the
//! wait, not the message, is in flight); dropping the [`AsyncRingReceiver`] during a wait keeps
//! its registration in the ring until the slice ends.
//!
//! # Tested
//!
//! The workspace's `tests/async_queue.rs`, `tests/async_wait.rs` and `tests/async_pubsub.rs`
//! run runtimes against real peer processes: one task receiving from several queues with
//! `select!`, every message received exactly once while receives are cancelled
//! mid-wait, 48 queues on two worker threads, and semaphore, ring and topic waits that leave a
//! single-threaded runtime free. `examples/async_consumer.rs` is the `consumer` example on
//! tokio, reading the `producer` example's readings as a `Stream`.
//!
//! # Example
//!
//! ```
//! use posix_ipc::{AsyncReceiver, AsyncSender, IpcMessage};
//! use futures::{SinkExt, StreamExt};
//!
//! #[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
//! #[repr(C)]
//! #[ipc(priority = 2)]
//! struct Tick { seq: u64, value: f64 }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> posix_ipc::Result<()> {
//! # let name = format!("/doc-async-{}", std::process::id());
//! let mut tx = AsyncSender::<Tick>::create(&name, 4)?;   // inside a tokio runtime
//! let mut rx = AsyncReceiver::<Tick>::open(&name)?;
//! tx.send(&Tick { seq: 1, value: 0.5 }).await?;           // an async method ...
//! tx.feed(Tick { seq: 2, value: 1.0 }).await?;            // ... or the Sink
//! tx.flush().await?;
//! assert_eq!(rx.recv().await?.seq, 1);                    // an async method ...
//! assert_eq!(rx.next().await.transpose()?.map(|t| t.seq), Some(2)); // ... or the Stream
//! tx.queue().unlink()?;
//! # Ok(())
//! # }
//! ```

mod pubsub;
mod queue;
mod ring;
mod sem;

pub use pubsub::{AsyncFramePublisher, AsyncFrameSubscriber, AsyncPublisher, AsyncSubscriber};
pub use queue::{AsyncMessageQueue, AsyncReceiver, AsyncSender, WithPriority};
pub use ring::{AsyncRingReceiver, AsyncRingSender};
pub use sem::{AsyncSemaphore, AsyncSemaphoreGuard};

use std::time::Duration;

use crate::error::{Error, ErrorKind, Object, ObjectKind, Operation};

/// How long a thread of the blocking pool waits before it checks whether its wait is still
/// wanted (semaphores) or hands control back to the task (rings).
const WAIT_SLICE: Duration = Duration::from_millis(100);

fn object(kind: ObjectKind, name: &str) -> Object {
    Object {
        kind,
        name: Some(name.to_owned()),
    }
}

/// The current tokio runtime, or an error saying that one is needed.
fn runtime(op: Operation, object: Object) -> Result<::tokio::runtime::Handle, Error> {
    ::tokio::runtime::Handle::try_current().map_err(|_| {
        Error::new(
            ErrorKind::Unsupported,
            op,
            object,
            "the async API needs a tokio runtime: call it from inside one (#[tokio::main], \
             Runtime::block_on or a spawned task)",
        )
    })
}

fn timed_out(op: Operation, object: Object, timeout: Duration, what: &str) -> Error {
    Error::new(
        ErrorKind::TimedOut,
        op,
        object,
        format!("{what} for the whole timeout ({timeout:?})"),
    )
}

/// A thread of the blocking pool ended without handing back its result.
fn pool_failed(op: Operation, object: Object, e: &::tokio::task::JoinError) -> Error {
    Error::new(
        ErrorKind::Other,
        op,
        object,
        format!(
            "the waiting thread of tokio's blocking pool ended without an answer ({e}); the \
             runtime is probably shutting down"
        ),
    )
}
