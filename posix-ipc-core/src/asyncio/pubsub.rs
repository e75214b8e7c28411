//! Async publish-subscribe: readiness on the task, futex sleeps on tokio's blocking pool (as
//! for the rings).

use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;

use super::ring::{end_back, poll_step, State};
use super::{object, timed_out};
use crate::error::{Error, ErrorKind, ObjectKind, Operation, Result};
use crate::timeout::Timeout;
use crate::typed::{
    Frame, FrameHeader, FrameLoan, FramePublisher, FrameSubscriber, IpcMessage, Loan, NoHeader,
    Publisher, Sample, Subscriber,
};

fn not_ready(name: &str, op: Operation) -> Error {
    Error::new(
        ErrorKind::WouldBlock,
        op,
        object(ObjectKind::Topic, name),
        "not ready",
    )
}

fn away(name: &str, op: Operation) -> Error {
    Error::new(
        ErrorKind::WouldBlock,
        op,
        object(ObjectKind::Topic, name),
        "the topic end is on tokio's blocking pool, finishing the wait of a dropped future (at \
         most 100 ms): try again when it is back",
    )
}

/// The plumbing every async topic end shares: the end, here or waiting on the pool.
macro_rules! async_end {
    ($async:ident, $end:ty $(where $g:ident: $b:path)?, $op:expr) => {
        // Never pinned structurally: the state is moved freely.
        impl<$($g: $b)?> Unpin for $async$(<$g>)? {}

        impl<$($g: $b + Send)?> $async$(<$g>)? {
            /// Wraps the end. Needs no runtime until a call has to wait.
            pub fn new(end: $end) -> Self {
                $async {
                    name: end.name().to_owned(),
                    state: State::Here(end),
                }
            }

            /// Ready when the next call would not wait: the topic's futex is slept on by a
            /// thread of tokio's blocking pool (in slices of 100 ms) meanwhile, and nothing is
            /// taken or published by the wait, so dropping the future loses nothing.
            pub fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
                let name = self.name.clone();
                poll_step(
                    &mut self.state,
                    cx,
                    (ObjectKind::Topic, &self.name),
                    $op,
                    move |end: &mut $end| {
                        if end.ready_now() {
                            Ok(())
                        } else {
                            Err(not_ready(&name, $op))
                        }
                    },
                    |end: &mut $end, d| end.wait_ready(d),
                )
            }

            /// The end, while it is here (not on the pool).
            fn here(&mut self) -> Result<&mut $end> {
                match &mut self.state {
                    State::Here(end) => Ok(end),
                    _ => Err(away(&self.name, $op)),
                }
            }

            /// The topic's name.
            pub fn name(&self) -> &str {
                &self.name
            }

            /// Gives back the end, after the wait in flight (at most 100 ms) if there is one.
            pub async fn into_inner(self) -> Result<$end> {
                end_back(self.state, (ObjectKind::Topic, &self.name)).await
            }
        }

        impl<$($g: $b)?> fmt::Debug for $async$(<$g>)? {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($async), self.name)
            }
        }
    };
}

/// A [`Subscriber`] with async receives and a [`Stream`] of copies that ends when the publisher
/// has gone and everything was received. Wrap a subscriber opened with
/// [`SubscribeOptions::follow_restarts`](crate::SubscribeOptions::follow_restarts) and the
/// stream does not end: a restart of the publisher is an item, `Some(Err(e))` with
/// [`ErrorKind::Restarted`], followed by the new publisher's samples.
///
/// ```
/// use posix_ipc::{AsyncSubscriber, IpcMessage, Publisher, Subscriber, TopicOptions};
///
/// #[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
/// #[repr(C)]
/// struct Tick { seq: u64 }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> posix_ipc::Result<()> {
/// # let name = format!("/doc-asub-{}", std::process::id());
/// let mut publisher = Publisher::<Tick>::create(&name, &TopicOptions::new())?;
/// let mut sub = AsyncSubscriber::new(Subscriber::<Tick>::open(&name)?);
/// let producer = std::thread::spawn(move || {
///     publisher.send(&Tick { seq: 7 })?;
///     publisher.unlink()
/// });
/// assert_eq!(sub.recv().await?.seq, 7);                // a guard, in place
/// producer.join().unwrap()?;
/// let err = sub.recv().await.unwrap_err();             // the publisher has gone
/// assert_eq!(err.kind(), posix_ipc::ErrorKind::Disconnected);
/// # Ok(())
/// # }
/// ```
pub struct AsyncSubscriber<T: IpcMessage> {
    state: State<Subscriber<T>>,
    name: String,
}

async_end!(AsyncSubscriber, Subscriber<T> where T: IpcMessage, Operation::Receive);

impl<T: IpcMessage + Send> AsyncSubscriber<T> {
    /// The next sample, in place, waiting without blocking the runtime. Errors as
    /// [`Subscriber::recv`].
    pub async fn recv(&mut self) -> Result<Sample<'_, T>> {
        poll_fn(|cx| self.poll_ready(cx)).await?;
        self.here()?.recv_with(Timeout::Immediate)
    }

    /// The next sample, copied out.
    pub async fn recv_copy(&mut self) -> Result<T> {
        Ok(*self.recv().await?)
    }

    /// The next sample, copied out, waiting at most `timeout` (a tokio timer).
    pub async fn recv_timeout(&mut self, timeout: Duration) -> Result<T> {
        let name = self.name.clone();
        match ::tokio::time::timeout(timeout, self.recv_copy()).await {
            Ok(r) => r,
            Err(_) => Err(timed_out(
                Operation::Receive,
                object(ObjectKind::Topic, &name),
                timeout,
                "no sample was published",
            )),
        }
    }
}

impl<T: IpcMessage + Send> Stream for AsyncSubscriber<T> {
    type Item = Result<T>;

    /// Copies of the samples; ends (`None`) when the publisher has gone and every sample was
    /// received. A lag is an item: `Some(Err(e))` with [`ErrorKind::Lagged`].
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<T>>> {
        let this = self.get_mut();
        match this.poll_ready(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
            Poll::Ready(Ok(())) => Poll::Ready(match this.here().and_then(|s| s.try_recv()) {
                Err(e) if e.kind() == ErrorKind::Disconnected => None,
                other => Some(other),
            }),
        }
    }
}

/// A [`FrameSubscriber`] with async receives and a [`Stream`] of copied frames (with a typed
/// header `H`: of the header and the frame's bytes).
pub struct AsyncFrameSubscriber<H: FrameHeader = NoHeader> {
    state: State<FrameSubscriber<H>>,
    name: String,
}

async_end!(AsyncFrameSubscriber, FrameSubscriber<H> where H: FrameHeader, Operation::Receive);

impl<H: FrameHeader + Send> AsyncFrameSubscriber<H> {
    /// The next frame, in place, waiting without blocking the runtime.
    pub async fn recv(&mut self) -> Result<Frame<'_, H>> {
        poll_fn(|cx| self.poll_ready(cx)).await?;
        self.here()?.recv_with(Timeout::Immediate)
    }
}

impl<H: IpcMessage + Send> Stream for AsyncFrameSubscriber<H> {
    type Item = Result<(H, Vec<u8>)>;

    /// Copies of the headers and frames; ends when the publisher has gone and every frame was
    /// received.
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        match this.poll_ready(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
            Poll::Ready(Ok(())) => {
                Poll::Ready(match this.here().and_then(|s| s.try_recv_with_header()) {
                    Err(e) if e.kind() == ErrorKind::Disconnected => None,
                    other => Some(other),
                })
            }
        }
    }
}

impl Stream for AsyncFrameSubscriber {
    type Item = Result<Vec<u8>>;

    /// Copies of the frames; ends when the publisher has gone and every frame was received.
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Vec<u8>>>> {
        let this = self.get_mut();
        match this.poll_ready(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
            Poll::Ready(Ok(())) => Poll::Ready(match this.here().and_then(|s| s.try_recv()) {
                Err(e) if e.kind() == ErrorKind::Disconnected => None,
                other => Some(other),
            }),
        }
    }
}

/// A [`Publisher`] whose loans and sends wait (with [`Policy::Block`](crate::Policy::Block))
/// without blocking the runtime.
pub struct AsyncPublisher<T: IpcMessage> {
    state: State<Publisher<T>>,
    name: String,
}

async_end!(AsyncPublisher, Publisher<T> where T: IpcMessage, Operation::Send);

impl<T: IpcMessage + Send> AsyncPublisher<T> {
    /// Loans the next sample (zeroed) once there is room.
    pub async fn loan(&mut self) -> Result<Loan<'_, T>> {
        poll_fn(|cx| self.poll_ready(cx)).await?;
        self.here()?.try_loan()
    }

    /// Publishes a copy of `value` once there is room. A dropped future published it or not.
    pub async fn send(&mut self, value: &T) -> Result<()> {
        poll_fn(|cx| self.poll_ready(cx)).await?;
        self.here()?.try_send(value)
    }
}

/// A [`FramePublisher`] whose loans and sends wait without blocking the runtime (with a typed
/// header `H` or without).
pub struct AsyncFramePublisher<H: FrameHeader = NoHeader> {
    state: State<FramePublisher<H>>,
    name: String,
}

async_end!(AsyncFramePublisher, FramePublisher<H> where H: FrameHeader, Operation::Send);

impl<H: FrameHeader + Send> AsyncFramePublisher<H> {
    /// Loans a frame of `len` bytes (zeroed, and its header) once there is room.
    pub async fn loan(&mut self, len: usize) -> Result<FrameLoan<'_, H>> {
        poll_fn(|cx| self.poll_ready(cx)).await?;
        self.here()?.loan_with(len, Timeout::Immediate)
    }
}

impl AsyncFramePublisher {
    /// Publishes a copy of `bytes` once there is room.
    pub async fn send(&mut self, bytes: &[u8]) -> Result<()> {
        poll_fn(|cx| self.poll_ready(cx)).await?;
        self.here()?.send_with(bytes, Timeout::Immediate)
    }
}

impl<H: IpcMessage + Send> AsyncFramePublisher<H> {
    /// Publishes a copy of `header` and `bytes` once there is room.
    pub async fn send_with_header(&mut self, header: &H, bytes: &[u8]) -> Result<()> {
        poll_fn(|cx| self.poll_ready(cx)).await?;
        self.here()?
            .send_with_header_with(header, bytes, Timeout::Immediate)
    }
}
