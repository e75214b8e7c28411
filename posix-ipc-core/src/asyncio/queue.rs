//! Async message queues and typed queue channels over tokio's `AsyncFd`.

use std::fmt;
use std::future::poll_fn;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use ::tokio::io::unix::AsyncFd;
use ::tokio::io::Interest;
use futures_core::Stream;
use futures_sink::Sink;

use super::{object, runtime, timed_out};
use crate::error::{Error, ErrorKind, ObjectKind, Operation, Result};
use crate::mq::MessageQueue;
use crate::timeout::Timeout;
use crate::typed::{IpcMessage, Receiver, Sender};

/// Anything that owns a [`MessageQueue`]: the raw queue and the typed ends.
trait HoldsQueue {
    fn queue(&self) -> &MessageQueue;
}

impl HoldsQueue for MessageQueue {
    fn queue(&self) -> &MessageQueue {
        self
    }
}

impl<T: IpcMessage> HoldsQueue for Sender<T> {
    fn queue(&self) -> &MessageQueue {
        Sender::queue(self)
    }
}

impl<T: IpcMessage> HoldsQueue for Receiver<T> {
    fn queue(&self) -> &MessageQueue {
        Receiver::queue(self)
    }
}

/// The owner, seen by tokio as a file descriptor.
struct Watched<Q>(Q);

impl<Q: HoldsQueue> AsRawFd for Watched<Q> {
    fn as_raw_fd(&self) -> RawFd {
        self.0.queue().as_raw_fd()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Receive,
    Send,
}

/// A queue owner registered with tokio's reactor, its descriptor non-blocking.
struct Registered<Q: HoldsQueue> {
    fd: AsyncFd<Watched<Q>>,
}

impl<Q: HoldsQueue> Registered<Q> {
    fn new(owner: Q) -> Result<Self> {
        let mq = owner.queue();
        let obj = object(ObjectKind::MessageQueue, mq.name());
        runtime(Operation::Open, obj.clone())?;
        mq.set_block(false)?;
        // The kernel reports both directions whatever the access mode; asking for both keeps
        // one registration per descriptor.
        let interest = Interest::READABLE.add(Interest::WRITABLE);
        // SAFETY: `register_with_interest` needs the descriptor to stay open, refer to the same
        // open file description and be returned by every `as_raw_fd` call for as long as the
        // `AsyncFd` owns it:
        // - `Watched` owns the `Sender`/`Receiver`/`MessageQueue`, whose descriptor is closed
        //   only when it is dropped (`close` takes it by value);
        // - the `AsyncFd` gives the owner out only by shared reference (`get_ref`,
        //   `get_inner`), never `&mut` or by value before `into_inner`, so nothing can close,
        //   replace or move it out while it is registered;
        // - `as_raw_fd` returns the descriptor number the owner was opened with, fixed for
        //   its whole life.
        let registered = unsafe { AsyncFd::register_with_interest(Watched(owner), interest) };
        registered.map(|fd| Registered { fd }).map_err(|e| {
            let cause = e.into_parts().1;
            let err = Error::new(
                ErrorKind::Other,
                Operation::Open,
                obj,
                format!("tokio could not register the queue descriptor with epoll: {cause}"),
            );
            match cause.raw_os_error() {
                Some(errno) => err.with_errno(errno),
                None => err,
            }
        })
    }

    fn owner(&self) -> &Q {
        &self.fd.get_ref().0
    }

    fn queue(&self) -> &MessageQueue {
        self.owner().queue()
    }

    /// Waits for readiness in `dir`, then runs the non-blocking `attempt` once; on
    /// `WouldBlock` clears the readiness and waits again. The attempt's effect (a message
    /// taken or sent) happens only in the poll that returns `Ready`: cancellation-safe.
    fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut attempt: impl FnMut(&Q) -> Result<R>,
    ) -> Poll<Result<R>> {
        let mq = self.queue();
        let allowed = match dir {
            Direction::Receive => mq.readable(),
            Direction::Send => mq.writable(),
        };
        if !allowed {
            // The attempt fails with PermissionDenied without a system call; never wait for a
            // readiness this handle cannot use.
            return Poll::Ready(attempt(self.owner()));
        }
        loop {
            let ready = match dir {
                Direction::Receive => self.fd.poll_read_ready(cx),
                Direction::Send => self.fd.poll_write_ready(cx),
            };
            let mut guard = ready!(ready).map_err(|e| self.reactor_error(dir, &e))?;
            match attempt(&guard.get_inner().0) {
                Err(e) if e.kind() == ErrorKind::WouldBlock => guard.clear_ready(),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                other => return Poll::Ready(other),
            }
        }
    }

    fn reactor_error(&self, dir: Direction, e: &std::io::Error) -> Error {
        Error::new(
            ErrorKind::Other,
            operation(dir),
            object(ObjectKind::MessageQueue, self.queue().name()),
            format!("tokio's reactor failed while waiting for the queue: {e}"),
        )
    }

    /// Unregisters and restores blocking mode.
    fn into_owner(self) -> Result<Q> {
        let owner = self.fd.into_inner().0;
        owner.queue().set_block(true)?;
        Ok(owner)
    }

    async fn timeout<R>(
        &self,
        dir: Direction,
        timeout: Duration,
        fut: impl std::future::Future<Output = Result<R>>,
    ) -> Result<R> {
        match ::tokio::time::timeout(timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(timed_out(
                operation(dir),
                object(ObjectKind::MessageQueue, self.queue().name()),
                timeout,
                match dir {
                    Direction::Receive => "the queue stayed empty",
                    Direction::Send => "the queue stayed full",
                },
            )),
        }
    }
}

fn operation(dir: Direction) -> Operation {
    match dir {
        Direction::Receive => Operation::Receive,
        Direction::Send => Operation::Send,
    }
}

// --- the raw queue ------------------------------------------------------------------------------

/// A [`MessageQueue`] whose sends and receives are futures, waiting with epoll through tokio's
/// reactor (no thread per queue). See the [module docs](crate::asyncio) for how and why it is
/// cancellation-safe.
///
/// ```
/// use posix_ipc::{AsyncMessageQueue, MessageQueue};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> posix_ipc::Result<()> {
/// # let name = format!("/doc-amq-{}", std::process::id());
/// let mq = AsyncMessageQueue::new(MessageQueue::create(&name, 4, 64)?)?;
/// mq.send(b"job", 3).await?;
/// assert_eq!(mq.receive().await?, (b"job".to_vec(), 3));
/// let err = mq.receive_timeout(std::time::Duration::from_millis(10)).await.unwrap_err();
/// assert_eq!(err.kind(), posix_ipc::ErrorKind::TimedOut);
/// mq.get_ref().unlink()?;
/// # Ok(())
/// # }
/// ```
pub struct AsyncMessageQueue {
    io: Registered<MessageQueue>,
}

impl AsyncMessageQueue {
    /// Registers `mq` with the current tokio runtime and switches its descriptor to
    /// non-blocking mode (`mq_setattr`; the flag belongs to the open file description, so a
    /// forked child sharing the descriptor sees it too).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unsupported`] outside a tokio runtime; an error of `mq_setattr` or of the
    /// epoll registration.
    ///
    /// # Panics
    ///
    /// If the runtime was built without I/O enabled (as tokio's own I/O types do).
    pub fn new(mq: MessageQueue) -> Result<Self> {
        Ok(AsyncMessageQueue {
            io: Registered::new(mq)?,
        })
    }

    /// Sends `message` with `priority`, waiting while the queue is full.
    ///
    /// # Errors
    ///
    /// As [`MessageQueue::send`] (the size and priority are checked before any wait).
    pub async fn send(&self, message: &[u8], priority: u32) -> Result<()> {
        poll_fn(|cx| self.poll_send(cx, message, priority)).await
    }

    /// Sends, waiting at most `timeout` for room: [`ErrorKind::TimedOut`] after that.
    pub async fn send_timeout(
        &self,
        message: &[u8],
        priority: u32,
        timeout: Duration,
    ) -> Result<()> {
        self.io
            .timeout(Direction::Send, timeout, self.send(message, priority))
            .await
    }

    /// Sends without waiting: [`ErrorKind::WouldBlock`] if the queue is full.
    pub fn try_send(&self, message: &[u8], priority: u32) -> Result<()> {
        self.get_ref().try_send(message, priority)
    }

    /// The poll form of [`send`](Self::send), for hand-written futures.
    pub fn poll_send(
        &self,
        cx: &mut Context<'_>,
        message: &[u8],
        priority: u32,
    ) -> Poll<Result<()>> {
        self.io.poll_io(cx, Direction::Send, |mq| {
            mq.send_with(message, priority, Timeout::Immediate)
        })
    }

    /// Receives the oldest message of the highest priority, waiting while the queue is empty.
    /// Returns the bytes and the priority.
    pub async fn receive(&self) -> Result<(Vec<u8>, u32)> {
        let mut buf = vec![0u8; self.get_ref().max_message_size()];
        let (len, priority) = self.receive_into(&mut buf).await?;
        buf.truncate(len);
        Ok((buf, priority))
    }

    /// std-style alias of [`receive`](Self::receive).
    pub async fn recv(&self) -> Result<(Vec<u8>, u32)> {
        self.receive().await
    }

    /// Receives, waiting at most `timeout`: [`ErrorKind::TimedOut`] after that.
    pub async fn receive_timeout(&self, timeout: Duration) -> Result<(Vec<u8>, u32)> {
        self.io
            .timeout(Direction::Receive, timeout, self.receive())
            .await
    }

    /// Receives into `buf` (at least [`max_message_size`](MessageQueue::max_message_size)
    /// bytes), allocating nothing; returns the length and the priority.
    pub async fn receive_into(&self, buf: &mut [u8]) -> Result<(usize, u32)> {
        poll_fn(|cx| self.poll_receive_into(cx, buf)).await
    }

    /// Receives without waiting: [`ErrorKind::WouldBlock`] if the queue is empty.
    pub fn try_receive(&self) -> Result<(Vec<u8>, u32)> {
        self.get_ref().try_receive()
    }

    /// The poll form of [`receive_into`](Self::receive_into), for hand-written futures: a
    /// message is taken only when this returns `Ready(Ok(..))`.
    pub fn poll_receive_into(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<Result<(usize, u32)>> {
        self.io.poll_io(cx, Direction::Receive, |mq| {
            mq.receive_into(buf, Timeout::Immediate)
        })
    }

    /// The queue (non-blocking while it is registered here).
    pub fn get_ref(&self) -> &MessageQueue {
        self.io.owner()
    }

    /// Unregisters the queue and gives it back in blocking mode.
    ///
    /// # Errors
    ///
    /// An error of `mq_setattr` restoring blocking mode (the queue is then dropped).
    pub fn into_inner(self) -> Result<MessageQueue> {
        self.io.into_owner()
    }
}

impl fmt::Debug for AsyncMessageQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AsyncMessageQueue")
            .field(self.get_ref())
            .finish()
    }
}

// --- typed channels -----------------------------------------------------------------------------

/// The async sending end of a typed queue: async methods, and a [`Sink`] of `T` (sent with
/// [`IpcMessage::PRIORITY`]). Waits with epoll through tokio's reactor.
///
/// The `Sink` holds at most one message that `poll_ready`/`poll_flush` have not yet managed to
/// send (the queue was full); `flush` or `close` waits until it is sent. See the
/// [module docs](crate::asyncio) for an example.
pub struct AsyncSender<T: IpcMessage> {
    io: Registered<Sender<T>>,
    /// The Sink's message not yet sent, with its priority.
    pending: Option<(T, u32)>,
}

// The sender is never pinned structurally: `pending` is moved freely.
impl<T: IpcMessage> Unpin for AsyncSender<T> {}

impl<T: IpcMessage> AsyncSender<T> {
    /// Registers `tx` with the current tokio runtime (see [`AsyncMessageQueue::new`]).
    ///
    /// # Errors
    ///
    /// As [`AsyncMessageQueue::new`].
    pub fn new(tx: Sender<T>) -> Result<Self> {
        Ok(AsyncSender {
            io: Registered::new(tx)?,
            pending: None,
        })
    }

    /// [`Sender::create`], then [`new`](Self::new).
    pub fn create(name: &str, max_messages: usize) -> Result<Self> {
        Self::new(Sender::create(name, max_messages)?)
    }

    /// [`Sender::open`] (which checks the queue's message size), then [`new`](Self::new).
    pub fn open(name: &str) -> Result<Self> {
        Self::new(Sender::open(name)?)
    }

    /// [`Sender::open_or_create`], then [`new`](Self::new).
    pub fn open_or_create(name: &str, max_messages: usize) -> Result<Self> {
        Self::new(Sender::open_or_create(name, max_messages)?)
    }

    /// Sends with the type's priority, waiting while the queue is full.
    pub async fn send(&self, msg: &T) -> Result<()> {
        self.send_priority(msg, T::PRIORITY).await
    }

    /// Sends with another priority (checked at run time: at most 32767).
    pub async fn send_priority(&self, msg: &T, priority: u32) -> Result<()> {
        poll_fn(|cx| self.poll_send(cx, msg, priority)).await
    }

    /// Sends, waiting at most `timeout` for room: [`ErrorKind::TimedOut`] after that.
    pub async fn send_timeout(&self, msg: &T, timeout: Duration) -> Result<()> {
        self.io
            .timeout(Direction::Send, timeout, self.send(msg))
            .await
    }

    /// Sends without waiting: [`ErrorKind::WouldBlock`] if the queue is full.
    pub fn try_send(&self, msg: &T) -> Result<()> {
        self.get_ref().try_send(msg)
    }

    /// The poll form of [`send_priority`](Self::send_priority).
    pub fn poll_send(&self, cx: &mut Context<'_>, msg: &T, priority: u32) -> Poll<Result<()>> {
        self.io.poll_io(cx, Direction::Send, |tx| {
            tx.send_with(msg, priority, Timeout::Immediate)
        })
    }

    /// Sends the Sink's pending message, if any.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        if let Some((msg, priority)) = self.pending {
            let r = ready!(self.poll_send(cx, &msg, priority));
            // Sent, or failed for a reason a retry would not cure (it is reported).
            self.pending = None;
            r?;
        }
        Poll::Ready(Ok(()))
    }

    /// The typed sender.
    pub fn get_ref(&self) -> &Sender<T> {
        self.io.owner()
    }

    /// The underlying queue.
    pub fn queue(&self) -> &MessageQueue {
        self.io.queue()
    }

    /// Unregisters and gives back the sender in blocking mode. A message the `Sink` still
    /// holds is dropped: `flush` first.
    pub fn into_inner(self) -> Result<Sender<T>> {
        self.io.into_owner()
    }
}

impl<T: IpcMessage> Sink<T> for AsyncSender<T> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.get_mut().poll_pending(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: T) -> Result<()> {
        let this = self.get_mut();
        if this.pending.is_some() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                Operation::Send,
                object(ObjectKind::MessageQueue, this.queue().name()),
                "Sink::start_send was called without a successful poll_ready: the previous \
                 message is still waiting for room",
            ));
        }
        this.pending = Some((item, T::PRIORITY));
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.get_mut().poll_pending(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.get_mut().poll_pending(cx)
    }
}

/// The async receiving end of a typed queue: async methods, and a [`Stream`] of `Result<T>`
/// that never ends on its own. Waits with epoll through tokio's reactor; cancellation-safe
/// (see the [module docs](crate::asyncio)).
pub struct AsyncReceiver<T: IpcMessage> {
    io: Registered<Receiver<T>>,
}

impl<T: IpcMessage> AsyncReceiver<T> {
    /// Registers `rx` with the current tokio runtime (see [`AsyncMessageQueue::new`]).
    ///
    /// # Errors
    ///
    /// As [`AsyncMessageQueue::new`].
    pub fn new(rx: Receiver<T>) -> Result<Self> {
        Ok(AsyncReceiver {
            io: Registered::new(rx)?,
        })
    }

    /// [`Receiver::create`], then [`new`](Self::new).
    pub fn create(name: &str, max_messages: usize) -> Result<Self> {
        Self::new(Receiver::create(name, max_messages)?)
    }

    /// [`Receiver::open`] (which checks the queue's message size), then [`new`](Self::new).
    pub fn open(name: &str) -> Result<Self> {
        Self::new(Receiver::open(name)?)
    }

    /// [`Receiver::open_or_create`], then [`new`](Self::new).
    pub fn open_or_create(name: &str, max_messages: usize) -> Result<Self> {
        Self::new(Receiver::open_or_create(name, max_messages)?)
    }

    /// Receives the next message (highest priority first), waiting while the queue is empty.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::WrongLength`] for a message that is not `size_of::<T>()` bytes, with the
    /// bytes in [`Error::returned`] (as [`Receiver::recv`]).
    pub async fn recv(&self) -> Result<T> {
        self.recv_with_priority().await.map(|(v, _)| v)
    }

    /// As [`recv`](Self::recv), also returning the priority.
    pub async fn recv_with_priority(&self) -> Result<(T, u32)> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Receives, waiting at most `timeout`: [`ErrorKind::TimedOut`] after that.
    pub async fn recv_timeout(&self, timeout: Duration) -> Result<T> {
        self.io
            .timeout(Direction::Receive, timeout, self.recv())
            .await
    }

    /// Receives without waiting: [`ErrorKind::WouldBlock`] if the queue is empty.
    pub fn try_recv(&self) -> Result<T> {
        self.get_ref().try_recv()
    }

    /// The poll form of [`recv_with_priority`](Self::recv_with_priority): a message is taken
    /// only when this returns `Ready`.
    pub fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Result<(T, u32)>> {
        self.io.poll_io(cx, Direction::Receive, |rx| {
            rx.recv_with(Timeout::Immediate)
        })
    }

    /// A [`Stream`] of messages with their priorities (this receiver is itself a stream of
    /// messages without them).
    pub fn with_priority(&self) -> WithPriority<'_, T> {
        WithPriority { rx: self }
    }

    /// The typed receiver.
    pub fn get_ref(&self) -> &Receiver<T> {
        self.io.owner()
    }

    /// The underlying queue.
    pub fn queue(&self) -> &MessageQueue {
        self.io.queue()
    }

    /// Unregisters and gives back the receiver in blocking mode.
    pub fn into_inner(self) -> Result<Receiver<T>> {
        self.io.into_owner()
    }
}

impl<T: IpcMessage> Stream for AsyncReceiver<T> {
    type Item = Result<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<T>>> {
        self.poll_recv(cx).map(|r| Some(r.map(|(v, _)| v)))
    }
}

/// A [`Stream`] of `(message, priority)` from [`AsyncReceiver::with_priority`]; it never ends
/// on its own.
pub struct WithPriority<'a, T: IpcMessage> {
    rx: &'a AsyncReceiver<T>,
}

impl<T: IpcMessage> Stream for WithPriority<'_, T> {
    type Item = Result<(T, u32)>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<(T, u32)>>> {
        self.rx.poll_recv(cx).map(Some)
    }
}

impl<T: IpcMessage> fmt::Debug for AsyncSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Async{:?}", self.get_ref())
    }
}

impl<T: IpcMessage> fmt::Debug for AsyncReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Async{:?}", self.get_ref())
    }
}

impl<T: IpcMessage> fmt::Debug for WithPriority<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WithPriority({:?})", self.rx)
    }
}
