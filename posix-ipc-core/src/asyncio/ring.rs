//! Async waits on the shared-memory ring: non-blocking attempts on the task, futex sleeps on
//! tokio's blocking pool.

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use ::tokio::task::JoinHandle;
use futures_core::Stream;

use super::{object, pool_failed, runtime, timed_out, WAIT_SLICE};
use crate::error::{Error, ErrorKind, ObjectKind, Operation, Result};
use crate::typed::{IpcMessage, RingReceiver, RingSender};

/// Where a ring or topic end is: here, ready for a non-blocking attempt, or on a pool thread
/// sleeping on the segment's futex.
pub(super) enum State<R> {
    Here(R),
    Waiting(JoinHandle<R>),
    /// The pool thread panicked or was cancelled (runtime shutdown) and took the end with it.
    Lost,
}

/// Runs `attempt` on the end while it is here; on `WouldBlock` sends the end to the blocking
/// pool to sleep in `wait` for at most a slice, and tries again when it comes back. Only the
/// wait is ever in flight, never a message: cancellation-safe.
pub(super) fn poll_step<R: Send + 'static, V>(
    state: &mut State<R>,
    cx: &mut Context<'_>,
    (kind, name): (ObjectKind, &str),
    op: Operation,
    mut attempt: impl FnMut(&mut R) -> Result<V>,
    wait: fn(&mut R, Duration),
) -> Poll<Result<V>> {
    let obj = || object(kind, name);
    loop {
        match std::mem::replace(state, State::Lost) {
            State::Here(mut end) => match attempt(&mut end) {
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    let rt = match runtime(op, obj()) {
                        Ok(rt) => rt,
                        Err(e) => {
                            *state = State::Here(end);
                            return Poll::Ready(Err(e));
                        }
                    };
                    *state = State::Waiting(rt.spawn_blocking(move || {
                        wait(&mut end, WAIT_SLICE);
                        end
                    }));
                }
                other => {
                    *state = State::Here(end);
                    return Poll::Ready(other);
                }
            },
            State::Waiting(mut handle) => match Pin::new(&mut handle).poll(cx) {
                Poll::Pending => {
                    *state = State::Waiting(handle);
                    return Poll::Pending;
                }
                Poll::Ready(Ok(end)) => *state = State::Here(end),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(pool_failed(op, obj(), &e))),
            },
            State::Lost => {
                return Poll::Ready(Err(Error::new(
                    ErrorKind::Closed,
                    op,
                    obj(),
                    format!(
                        "this {kind} end was lost with a thread of tokio's blocking pool (a panic \
                         or a runtime shutdown during a wait); open the {kind} again"
                    ),
                )))
            }
        }
    }
}

pub(super) async fn end_back<R>(state: State<R>, (kind, name): (ObjectKind, &str)) -> Result<R> {
    match state {
        State::Here(end) => Ok(end),
        State::Waiting(handle) => handle
            .await
            .map_err(|e| pool_failed(Operation::Close, object(kind, name), &e)),
        State::Lost => Err(Error::new(
            ErrorKind::Closed,
            Operation::Close,
            object(kind, name),
            format!("this {kind} end was lost with a thread of tokio's blocking pool"),
        )),
    }
}

/// The receiving end of a ring, with async receives and a [`Stream`] that ends when every
/// producer has gone and the ring is drained.
///
/// Messages are taken with the non-blocking `try_recv` on the task; only when the ring is empty
/// does the receiver move to tokio's blocking pool, where a thread sleeps on the ring's futex
/// for at most 100 ms without taking anything (see the [module docs](crate::asyncio) for why
/// and what it costs). A dropped receive future loses no message.
///
/// ```
/// use posix_ipc::{AsyncRingReceiver, IpcMessage, RingMode, RingReceiver, RingSender};
///
/// #[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
/// #[repr(C)]
/// struct Tick { seq: u64 }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> posix_ipc::Result<()> {
/// # let name = format!("/doc-aring-{}", std::process::id());
/// let mut rx = AsyncRingReceiver::new(RingReceiver::<Tick>::create(&name, 8, RingMode::Spsc)?);
/// let tx = RingSender::<Tick>::open(&name)?;
/// let producer = std::thread::spawn(move || tx.send(&Tick { seq: 7 }));
/// assert_eq!(rx.recv().await?.seq, 7);                 // the task never blocks
/// producer.join().unwrap()?;
/// let err = rx.recv().await.unwrap_err();              // the producer has gone
/// assert_eq!(err.kind(), posix_ipc::ErrorKind::Disconnected);
/// rx.into_inner().await?.unlink()?;
/// # Ok(())
/// # }
/// ```
pub struct AsyncRingReceiver<T: IpcMessage> {
    state: State<RingReceiver<T>>,
    name: String,
}

// Never pinned structurally: the state is moved freely.
impl<T: IpcMessage> Unpin for AsyncRingReceiver<T> {}

impl<T: IpcMessage + Send> AsyncRingReceiver<T> {
    /// Wraps `rx`. Needs no runtime until a receive has to wait.
    pub fn new(rx: RingReceiver<T>) -> Self {
        AsyncRingReceiver {
            name: rx.name().to_owned(),
            state: State::Here(rx),
        }
    }

    /// Receives the next message, waiting while the ring is empty.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Disconnected`] once every producer has gone and the ring is drained;
    /// [`ErrorKind::Unsupported`] if it has to wait outside a tokio runtime.
    pub async fn recv(&mut self) -> Result<T> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Receives, waiting at most `timeout` (a tokio timer): [`ErrorKind::TimedOut`] after that.
    pub async fn recv_timeout(&mut self, timeout: Duration) -> Result<T> {
        let name = self.name.clone();
        match ::tokio::time::timeout(timeout, self.recv()).await {
            Ok(r) => r,
            Err(_) => Err(timed_out(
                Operation::Receive,
                object(ObjectKind::Ring, &name),
                timeout,
                "the ring stayed empty",
            )),
        }
    }

    /// The poll form of [`recv`](Self::recv).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<T>> {
        poll_step(
            &mut self.state,
            cx,
            (ObjectKind::Ring, &self.name),
            Operation::Receive,
            |rx: &mut RingReceiver<T>| rx.try_recv(),
            |rx: &mut RingReceiver<T>, d| rx.wait_until_readable(d),
        )
    }

    /// Receives without waiting: [`ErrorKind::WouldBlock`] if the ring is empty (or if a wait
    /// of a dropped receive is still in flight on the blocking pool, for at most 100 ms), and
    /// [`ErrorKind::Disconnected`] if it is empty with every producer gone.
    pub fn try_recv(&self) -> Result<T> {
        match &self.state {
            State::Here(rx) => rx.try_recv(),
            _ => Err(self.away(Operation::Receive)),
        }
    }

    /// Waits for at least one message (as [`recv`](Self::recv)), then appends it and every
    /// message ready after it, up to `max` in all, to `out`; returns how many. One pool
    /// hand-off at most per batch, however many messages it brings.
    pub async fn recv_batch(&mut self, out: &mut Vec<T>, max: usize) -> Result<usize> {
        if max == 0 {
            return Ok(0);
        }
        out.push(self.recv().await?);
        Ok(1 + self.try_recv_batch(out, max - 1))
    }

    /// Appends up to `max` messages that are ready now to `out`, without waiting; returns how
    /// many (0 while a wait is in flight on the blocking pool).
    pub fn try_recv_batch(&mut self, out: &mut Vec<T>, max: usize) -> usize {
        match &self.state {
            State::Here(rx) => rx.try_recv_batch(out, max),
            _ => 0,
        }
    }

    fn away(&self, op: Operation) -> Error {
        Error::new(
            ErrorKind::WouldBlock,
            op,
            object(ObjectKind::Ring, &self.name),
            "the ring end is on tokio's blocking pool, finishing the wait of a dropped future \
             (at most 100 ms): nothing can be taken until it is back",
        )
    }

    /// The segment's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Gives back the receiver, after the wait in flight (at most 100 ms) if there is one.
    pub async fn into_inner(self) -> Result<RingReceiver<T>> {
        end_back(self.state, (ObjectKind::Ring, &self.name)).await
    }
}

impl<T: IpcMessage + Send> Stream for AsyncRingReceiver<T> {
    type Item = Result<T>;

    /// Ends (`None`) when every producer has gone and the ring is drained.
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<T>>> {
        self.get_mut().poll_recv(cx).map(|r| match r {
            Err(e) if e.kind() == ErrorKind::Disconnected => None,
            other => Some(other),
        })
    }
}

/// The sending end of a ring, with async sends that wait while the ring is full without
/// blocking the runtime (a futex sleep on tokio's blocking pool, as for
/// [`AsyncRingReceiver`]). A dropped send future either sent its message or did not.
pub struct AsyncRingSender<T: IpcMessage> {
    state: State<RingSender<T>>,
    name: String,
}

// Never pinned structurally: the state is moved freely.
impl<T: IpcMessage> Unpin for AsyncRingSender<T> {}

impl<T: IpcMessage + Send> AsyncRingSender<T> {
    /// Wraps `tx`. Needs no runtime until a send has to wait.
    pub fn new(tx: RingSender<T>) -> Self {
        AsyncRingSender {
            name: tx.name().to_owned(),
            state: State::Here(tx),
        }
    }

    /// Sends `value`, waiting while the ring is full.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Disconnected`] if the ring is full and every consumer has gone.
    pub async fn send(&mut self, value: &T) -> Result<()> {
        poll_fn(|cx| self.poll_send(cx, value)).await
    }

    /// Sends, waiting at most `timeout` for room: [`ErrorKind::TimedOut`] after that.
    pub async fn send_timeout(&mut self, value: &T, timeout: Duration) -> Result<()> {
        let name = self.name.clone();
        match ::tokio::time::timeout(timeout, self.send(value)).await {
            Ok(r) => r,
            Err(_) => Err(timed_out(
                Operation::Send,
                object(ObjectKind::Ring, &name),
                timeout,
                "the ring stayed full",
            )),
        }
    }

    /// The poll form of [`send`](Self::send).
    pub fn poll_send(&mut self, cx: &mut Context<'_>, value: &T) -> Poll<Result<()>> {
        poll_step(
            &mut self.state,
            cx,
            (ObjectKind::Ring, &self.name),
            Operation::Send,
            |tx: &mut RingSender<T>| tx.try_send(value),
            |tx: &mut RingSender<T>, d| tx.wait_until_writable(d),
        )
    }

    /// The segment's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Gives back the sender, after the wait in flight (at most 100 ms) if there is one.
    pub async fn into_inner(self) -> Result<RingSender<T>> {
        end_back(self.state, (ObjectKind::Ring, &self.name)).await
    }
}

impl<T: IpcMessage> fmt::Debug for AsyncRingReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AsyncRingReceiver<{}>({:?})", T::LAYOUT.name, self.name)
    }
}

impl<T: IpcMessage> fmt::Debug for AsyncRingSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AsyncRingSender<{}>({:?})", T::LAYOUT.name, self.name)
    }
}
