//! Typed message-queue channels: [`Sender<T>`] and [`Receiver<T>`] over a [`MessageQueue`].
//!
//! The queue's message size is the type's size: creating sets it, opening checks it, so a
//! producer and a consumer built with different types fail at open time with both sizes named,
//! not later with garbage. A received message of the wrong length (a foreign or buggy sender)
//! is an [`ErrorKind::WrongLength`] error that hands back the bytes and priority; the receiver
//! keeps working.
//!
//! Blocking calls retry after a signal interrupts them (`EINTR`), keeping the original deadline.

use std::marker::PhantomData;
use std::time::Duration;

use super::IpcMessage;
use crate::error::{Error, ErrorKind, Operation, Result, Returned};
use crate::mq::{MessageQueue, MessageQueueOptions};
use crate::timeout::{Deadline, Timeout};

fn check_queue<T: IpcMessage>(mq: &MessageQueue) -> Result<()> {
    let size = std::mem::size_of::<T>();
    if mq.max_message_size() != size {
        return Err(Error::new(
            ErrorKind::Mismatch,
            Operation::Open,
            crate::Object {
                kind: crate::ObjectKind::MessageQueue,
                name: Some(mq.name().to_owned()),
            },
            format!(
                "the queue's max_message_size is {} bytes but {} is {size} bytes: it was made \
                 for another message type (or by another program); open the queue made for \
                 {}, or remove it and create it again",
                mq.max_message_size(),
                T::LAYOUT.name,
                T::LAYOUT.name
            ),
        ));
    }
    Ok(())
}

fn options<T: IpcMessage>(max_messages: usize) -> MessageQueueOptions {
    let mut o = MessageQueue::options();
    o.max_messages(max_messages)
        .max_message_size(std::mem::size_of::<T>());
    o
}

/// Retries `f` after `EINTR` with the same deadline.
#[inline]
fn retry<R>(deadline: Deadline, mut f: impl FnMut(Deadline) -> Result<R>) -> Result<R> {
    loop {
        match f(deadline) {
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// The sending end of a typed queue.
///
/// ```
/// use posix_ipc::{IpcMessage, Receiver, Sender};
///
/// #[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
/// #[repr(C)]
/// #[ipc(priority = 3)]
/// struct Tick { seq: u64, value: f64 }
///
/// # let name = format!("/doc-typed-{}", std::process::id());
/// let tx = Sender::<Tick>::create(&name, 4)?;          // message size = size_of::<Tick>()
/// let rx = Receiver::<Tick>::open(&name)?;             // checks the queue's real size
/// tx.send(&Tick { seq: 1, value: 0.5 })?;              // priority 3, from the type
/// assert_eq!(rx.recv_with_priority()?, (Tick { seq: 1, value: 0.5 }, 3));
/// tx.queue().unlink()?;
/// # Ok::<(), posix_ipc::Error>(())
/// ```
pub struct Sender<T> {
    mq: MessageQueue,
    _type: PhantomData<fn(T)>,
}

impl<T: IpcMessage> Sender<T> {
    /// Creates a new queue for `T` (message size `size_of::<T>()`, `max_messages` slots),
    /// opened for writing only; fails if the name exists.
    pub fn create(name: &str, max_messages: usize) -> Result<Self> {
        let mq = options::<T>(max_messages)
            .create_new(true)
            .read(false)
            .open(name)?;
        Self::from_queue(mq)
    }

    /// Opens an existing queue for writing, checking that it was made for `T`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Mismatch`] naming both sizes if the queue's message size is not
    /// `size_of::<T>()`.
    pub fn open(name: &str) -> Result<Self> {
        Self::from_queue(MessageQueue::options().read(false).open(name)?)
    }

    /// Opens the queue, creating it for `T` if it does not exist; checks its message size.
    pub fn open_or_create(name: &str, max_messages: usize) -> Result<Self> {
        let mq = options::<T>(max_messages)
            .create(true)
            .read(false)
            .open(name)?;
        Self::from_queue(mq)
    }

    /// Wraps an open queue after checking its message size against `T`.
    pub fn from_queue(mq: MessageQueue) -> Result<Self> {
        check_queue::<T>(&mq)?;
        Ok(Sender {
            mq,
            _type: PhantomData,
        })
    }

    /// Sends with the type's priority ([`IpcMessage::PRIORITY`]), waiting while the queue is
    /// full.
    #[inline]
    pub fn send(&self, msg: &T) -> Result<()> {
        self.send_with(msg, T::PRIORITY, Timeout::Infinite)
    }

    /// Sends with another priority (checked at run time: at most 32767).
    #[inline]
    pub fn send_priority(&self, msg: &T, priority: u32) -> Result<()> {
        self.send_with(msg, priority, Timeout::Infinite)
    }

    /// Sends without waiting: [`ErrorKind::WouldBlock`] if the queue is full.
    #[inline]
    pub fn try_send(&self, msg: &T) -> Result<()> {
        self.send_with(msg, T::PRIORITY, Timeout::Immediate)
    }

    /// Sends, waiting at most `timeout` for room.
    pub fn send_timeout(&self, msg: &T, timeout: Duration) -> Result<()> {
        self.send_with(msg, T::PRIORITY, timeout)
    }

    /// Sends with any priority and [`Timeout`].
    #[inline]
    pub fn send_with(&self, msg: &T, priority: u32, timeout: impl Into<Timeout>) -> Result<()> {
        let bytes = bytemuck::bytes_of(msg);
        retry(timeout.into().deadline(), |d| {
            self.mq.send_deadline(bytes, priority, d)
        })
    }

    /// The underlying queue.
    pub fn queue(&self) -> &MessageQueue {
        &self.mq
    }

    /// Gives back the underlying queue.
    pub fn into_queue(self) -> MessageQueue {
        self.mq
    }
}

/// The receiving end of a typed queue. See [`Sender`] for an example.
pub struct Receiver<T> {
    mq: MessageQueue,
    _type: PhantomData<fn() -> T>,
}

impl<T: IpcMessage> Receiver<T> {
    /// Creates a new queue for `T`, opened for reading only; fails if the name exists.
    pub fn create(name: &str, max_messages: usize) -> Result<Self> {
        let mq = options::<T>(max_messages)
            .create_new(true)
            .write(false)
            .open(name)?;
        Self::from_queue(mq)
    }

    /// Opens an existing queue for reading, checking that it was made for `T`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Mismatch`] naming both sizes if the queue's message size is not
    /// `size_of::<T>()`.
    pub fn open(name: &str) -> Result<Self> {
        Self::from_queue(MessageQueue::options().write(false).open(name)?)
    }

    /// Opens the queue, creating it for `T` if it does not exist; checks its message size.
    pub fn open_or_create(name: &str, max_messages: usize) -> Result<Self> {
        let mq = options::<T>(max_messages)
            .create(true)
            .write(false)
            .open(name)?;
        Self::from_queue(mq)
    }

    /// Wraps an open queue after checking its message size against `T`.
    pub fn from_queue(mq: MessageQueue) -> Result<Self> {
        check_queue::<T>(&mq)?;
        Ok(Receiver {
            mq,
            _type: PhantomData,
        })
    }

    /// Receives the next message (highest priority first), waiting while the queue is empty.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::WrongLength`] if the message is not `size_of::<T>()` bytes long; the bytes
    /// and priority are in [`Error::returned`](crate::Error::returned).
    #[inline]
    pub fn recv(&self) -> Result<T> {
        self.recv_with(Timeout::Infinite).map(|(t, _)| t)
    }

    /// As [`recv`](Self::recv), also returning the priority.
    #[inline]
    pub fn recv_with_priority(&self) -> Result<(T, u32)> {
        self.recv_with(Timeout::Infinite)
    }

    /// Receives without waiting: [`ErrorKind::WouldBlock`] if the queue is empty.
    #[inline]
    pub fn try_recv(&self) -> Result<T> {
        self.recv_with(Timeout::Immediate).map(|(t, _)| t)
    }

    /// Receives, waiting at most `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T> {
        self.recv_with(timeout).map(|(t, _)| t)
    }

    /// Receives with any [`Timeout`]; returns the message and its priority. Allocates nothing:
    /// the kernel copies the message straight into the returned value.
    #[inline]
    pub fn recv_with(&self, timeout: impl Into<Timeout>) -> Result<(T, u32)> {
        let mut value = T::zeroed();
        let (len, priority) = retry(timeout.into().deadline(), |d| {
            self.mq
                .receive_deadline(bytemuck::bytes_of_mut(&mut value), d)
        })?;
        let size = std::mem::size_of::<T>();
        if len != size {
            let bytes = bytemuck::bytes_of(&value)[..len].to_vec();
            return Err(Error::new(
                ErrorKind::WrongLength,
                Operation::Receive,
                crate::Object {
                    kind: crate::ObjectKind::MessageQueue,
                    name: Some(self.mq.name().to_owned()),
                },
                format!(
                    "received a {len}-byte message with priority {priority}, but {} is {size} \
                     bytes (a foreign or buggy sender); the bytes are returned with this error",
                    T::LAYOUT.name
                ),
            )
            .with_returned(Returned { bytes, priority }));
        }
        Ok((value, priority))
    }

    /// A blocking iterator over received messages (each item a `Result`; it never ends on its
    /// own).
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { rx: self }
    }

    /// An iterator over the messages queued now; it ends when the queue is empty. Errors other
    /// than "empty" are yielded.
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { rx: self }
    }

    /// The underlying queue.
    pub fn queue(&self) -> &MessageQueue {
        &self.mq
    }

    /// Gives back the underlying queue.
    pub fn into_queue(self) -> MessageQueue {
        self.mq
    }
}

/// Blocking iterator from [`Receiver::iter`].
pub struct Iter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T: IpcMessage> Iterator for Iter<'_, T> {
    type Item = Result<T>;
    fn next(&mut self) -> Option<Result<T>> {
        Some(self.rx.recv())
    }
}

/// Non-blocking iterator from [`Receiver::try_iter`].
pub struct TryIter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T: IpcMessage> Iterator for TryIter<'_, T> {
    type Item = Result<T>;
    fn next(&mut self) -> Option<Result<T>> {
        match self.rx.try_recv() {
            Err(e) if e.kind() == ErrorKind::WouldBlock => None,
            other => Some(other),
        }
    }
}

impl<'a, T: IpcMessage> IntoIterator for &'a Receiver<T> {
    type Item = Result<T>;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T: IpcMessage> std::fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sender<{}>({:?})", T::LAYOUT.name, self.mq.name())
    }
}

impl<T: IpcMessage> std::fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Receiver<{}>({:?})", T::LAYOUT.name, self.mq.name())
    }
}
