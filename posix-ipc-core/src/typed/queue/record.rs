//! [`RecordQueue`]: a typed queue whose message type is given at run time, for peers without
//! a Rust type (the C library, tools). The same queue and companion segment as
//! [`Sender<T>`](super::Sender) / [`Receiver<T>`](super::Receiver) of a type with that size
//! and fingerprint: the type is checked against the companion, peers are tracked, and the
//! layout, if given, is stored for tools.

use super::{exists_in, queue_object, wrong_length_received, Channel, QueueDesc};
use crate::cancel::CancelToken;
use crate::error::{Error, ErrorKind, Operation, Result};
use crate::mq::MessageQueue;
use crate::owned::{Owned, OwnedName, Removable};
use crate::timeout::Timeout;
use crate::typed::companion::Side;
use crate::typed::record::Bytes;
use crate::typed::{LayoutDesc, RecordType};

/// Which end of the queue a [`RecordQueue`] handle is: what it opens the queue for and how the
/// companion counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueSide {
    /// Sends only; counted as a sender (receivers see it leave).
    Sender,
    /// Receives only; counted as a receiver.
    Receiver,
    /// Sends and receives; counted as neither (the creator that removes the queue at the end).
    Neither,
}

impl QueueSide {
    fn access(self) -> (bool, bool) {
        match self {
            QueueSide::Sender => (false, true),
            QueueSide::Receiver => (true, false),
            QueueSide::Neither => (true, true),
        }
    }

    fn side(self) -> Option<Side> {
        match self {
            QueueSide::Sender => Some(Side::Producer),
            QueueSide::Receiver => Some(Side::Consumer),
            QueueSide::Neither => None,
        }
    }

    fn end(self, record: &RecordType) -> String {
        let end = match self {
            QueueSide::Sender => "Sender",
            QueueSide::Receiver => "Receiver",
            QueueSide::Neither => "TypedQueue",
        };
        format!("{end}::<{}>", record.name)
    }
}

/// A typed queue of records of a [`RecordType`], one end of it (see [`QueueSide`]).
///
/// ```
/// use posix_ipc::{QueueSide, RecordQueue, RecordType};
///
/// # let name = format!("/doc-record-queue-{}", std::process::id());
/// let tick = RecordType::new("Tick", 16, 0x7469_636b);
/// let tx = RecordQueue::create(&name, &tick, None, 4, QueueSide::Sender)?;
/// let rx = RecordQueue::open(&name, &tick, QueueSide::Receiver)?;
/// tx.send_with(&[7; 16], 3, posix_ipc::Timeout::Infinite)?;
/// let mut out = [0; 16];
/// assert_eq!(rx.recv_into(&mut out, posix_ipc::Timeout::Infinite)?, 3);
/// assert_eq!(out, [7; 16]);
/// tx.unlink()?;
/// # Ok::<(), posix_ipc::Error>(())
/// ```
pub struct RecordQueue {
    ch: Channel<Bytes>,
    desc: QueueDesc,
}

impl RecordQueue {
    /// Creates the queue for `record` (message size `record.size`, `max_messages` slots) and
    /// its companion, storing `layout` (which must describe `record`), exclusively.
    pub fn create(
        name: &str,
        record: &RecordType,
        layout: Option<&LayoutDesc>,
        max_messages: usize,
        side: QueueSide,
    ) -> Result<Self> {
        let desc = Self::desc(name, record, layout)?;
        let (read, write) = side.access();
        let (mq, c) = Channel::<Bytes>::create(&desc, name, max_messages, read, write)
            .map_err(|e| exists_in(e, &side.end(record)))?;
        Ok(RecordQueue {
            ch: Channel::new_end(mq, Some(c), side.side()),
            desc,
        })
    }

    /// Creates the queue, or takes over the one under `name` made for `record` with
    /// `max_messages` slots whose owner is gone, and owns it, as
    /// [`Sender::create_or_take_over`](super::Sender::create_or_take_over).
    pub fn create_or_take_over(
        name: &str,
        record: &RecordType,
        layout: Option<&LayoutDesc>,
        max_messages: usize,
        side: QueueSide,
    ) -> Result<Owned<Self>> {
        let desc = Self::desc(name, record, layout)?;
        let (mq, c) = Channel::<Bytes>::create_or_take_over(
            &desc,
            name,
            max_messages,
            side.access(),
            &side.end(record),
        )?;
        Ok(Owned::new(RecordQueue {
            ch: Channel::new_end(mq, Some(c), side.side()),
            desc,
        }))
    }

    /// Opens an existing queue, checking it against `record` (its size; and its type, if it
    /// has a companion, which this handle then registers with as `side`).
    pub fn open(name: &str, record: &RecordType, side: QueueSide) -> Result<Self> {
        let desc = Self::desc(name, record, None)?;
        let (read, write) = side.access();
        let mq = MessageQueue::options().read(read).write(write).open(name)?;
        let ch = Channel::<Bytes>::wrap(&desc, mq, side.side())?;
        Ok(RecordQueue { ch, desc })
    }

    fn desc(name: &str, record: &RecordType, layout: Option<&LayoutDesc>) -> Result<QueueDesc> {
        record.check(Operation::Open, || queue_object(name))?;
        if let Some(l) = layout {
            if l.size != record.size as u64 || l.fingerprint() != record.fingerprint {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    Operation::Create,
                    queue_object(name),
                    format!(
                        "the layout {} ({} bytes, fingerprint {:#018x}) does not describe record \
                         type {} ({} bytes, fingerprint {:#018x})",
                        l.name,
                        l.size,
                        l.fingerprint(),
                        record.name,
                        record.size,
                        record.fingerprint
                    ),
                ));
            }
        }
        Ok(QueueDesc {
            record: record.clone(),
            layout: layout.cloned(),
        })
    }

    /// Attaches a [`CancelToken`] that stops a waiting send or receive.
    pub fn with_cancel(mut self, token: &CancelToken) -> Self {
        self.ch.mq = self.ch.mq.with_cancel(token);
        self
    }

    /// Sends one record (exactly `record.size` bytes) with `priority`, waiting as `timeout`
    /// says while the queue is full.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] for another length; [`ErrorKind::Disconnected`] if the
    /// queue stays full and every tracked receiver has gone; as [`MessageQueue`] otherwise.
    pub fn send_with(
        &self,
        record: &[u8],
        priority: u32,
        timeout: impl Into<Timeout>,
    ) -> Result<()> {
        if record.len() != self.desc.record.size {
            return Err(self.desc.record.wrong_length(
                Operation::Send,
                queue_object(self.ch.mq.name()),
                record.len(),
            ));
        }
        let gone = || self.ch.other_side_gone(Operation::Send);
        let wait = self.ch.wait(timeout.into(), &gone);
        self.ch.mq.send_waiting(record, priority, &wait)
    }

    /// Receives one record into `out` (exactly `record.size` bytes), waiting as `timeout`
    /// says; returns its priority.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] if `out` has another length (nothing is taken);
    /// [`ErrorKind::WrongLength`] for a message of another length (a foreign sender: its
    /// bytes and priority are handed back in the error); [`ErrorKind::Disconnected`] once the
    /// queue is empty and every tracked sender has gone.
    pub fn recv_into(&self, out: &mut [u8], timeout: impl Into<Timeout>) -> Result<u32> {
        let size = self.desc.record.size;
        if out.len() != size {
            return Err(self.desc.record.wrong_length(
                Operation::Receive,
                queue_object(self.ch.mq.name()),
                out.len(),
            ));
        }
        let gone = || self.ch.other_side_gone(Operation::Receive);
        let wait = self.ch.wait(timeout.into(), &gone);
        let (len, priority) = self.ch.mq.receive_waiting(out, &wait)?;
        if len != size {
            return Err(wrong_length_received(
                self.ch.mq.name(),
                &self.desc.record.name,
                size,
                &out[..len],
                priority,
            ));
        }
        Ok(priority)
    }

    /// The record type.
    pub fn record(&self) -> &RecordType {
        &self.desc.record
    }

    /// The queue's name.
    pub fn name(&self) -> &str {
        self.ch.mq.name()
    }

    /// Whether the queue has a companion (type check and peer tracking).
    pub fn is_tracked(&self) -> bool {
        self.ch.peer.is_some()
    }

    /// The layout the companion stores, if any.
    pub fn layout(&self) -> Option<LayoutDesc> {
        self.ch.layout()
    }

    /// Whether this handle created the queue (or took it over).
    pub fn created(&self) -> bool {
        self.ch.mq.created()
    }

    /// Removes the queue's name and its companion's; connected handles keep working.
    pub fn unlink(&self) -> Result<()> {
        self.ch.unlink()
    }

    /// The underlying queue.
    pub fn queue(&self) -> &MessageQueue {
        &self.ch.mq
    }
}

impl crate::owned::sealed::Sealed for RecordQueue {}
impl Removable for RecordQueue {
    fn created_object(&self) -> bool {
        self.ch.mq.created()
    }
    fn owned_names(&self) -> Vec<OwnedName> {
        self.ch.owned_names()
    }
}

impl std::fmt::Debug for RecordQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RecordQueue<{}>({:?})",
            self.desc.record.name,
            self.ch.mq.name()
        )
    }
}
