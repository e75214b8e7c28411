//! Typed message-queue channels: [`Sender<T>`] and [`Receiver<T>`] over a [`MessageQueue`],
//! and [`TypedQueue<T>`], the queue itself for a process that creates and removes it without
//! using either end.
//!
//! The queue's message size is the type's size: creating sets it, opening checks it. A queue
//! made by this typed API also has a *companion* segment (see
//! [`companion`](super::companion)) that records the message type's layout fingerprint and who
//! is connected, so that:
//!
//! - opening it for another type of the same size fails at once with
//!   [`ErrorKind::Mismatch`], naming both types and fingerprints;
//! - a receiver waiting on an empty queue gets [`ErrorKind::Disconnected`] once every typed
//!   sender has gone (dropped, or killed with SIGKILL) and the queue is drained, and
//!   [`Receiver::iter`] then ends; a sender blocked on a full queue gets it once every typed
//!   receiver has gone. A peer's departure is noticed within 100 ms.
//!
//! A queue made by posix_ipc, by C or by [`MessageQueue`] has no companion: it works exactly as
//! before, with the size check only and no peer tracking (peers that are not typed handles of
//! this crate are never counted either way). Messages are the same bytes in both cases.
//!
//! A received message of the wrong length (a foreign or buggy sender) is an
//! [`ErrorKind::WrongLength`] error that hands back the bytes and priority; the receiver keeps
//! working. Blocking calls retry after a signal interrupts them (`EINTR`), keeping the original
//! deadline, unless a [`CancelToken`] (or [`signals`](crate::signals)) stops them.
//!
//! Both ends are `Send` and `Sync`: several threads may send (or receive) through one handle,
//! the kernel serialises the calls. [`Sender::try_clone`] gives another handle on the same
//! queue (its own descriptor, the same registration).

mod record;

pub use record::{QueueSide, RecordQueue};

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use super::companion::{Companion, QueueDesc, Registration, Side};
use super::peers::TakeOver;
use super::IpcMessage;
use crate::cancel::CancelToken;
use crate::error::{Error, ErrorKind, Object, ObjectKind, Operation, Result, Returned};
use crate::mq::{MessageQueue, MessageQueueOptions, Wait};
use crate::name::Name;
use crate::owned::{Owned, OwnedName, Removable};
use crate::timeout::Timeout;

fn check_size(desc: &QueueDesc, mq: &MessageQueue) -> Result<()> {
    let size = desc.record.size;
    if mq.max_message_size() != size {
        return Err(Error::new(
            ErrorKind::Mismatch,
            Operation::Open,
            Object {
                kind: ObjectKind::MessageQueue,
                name: Some(mq.name().to_owned()),
            },
            format!(
                "the queue's max_message_size is {} bytes but {} is {size} bytes: it was made \
                 for another message type (or by another program); open the queue made for \
                 {}, or remove it and create it again",
                mq.max_message_size(),
                desc.record.name,
                desc.record.name
            ),
        ));
    }
    Ok(())
}

fn queue_object(name: &str) -> Object {
    Object {
        kind: ObjectKind::MessageQueue,
        name: Some(name.to_owned()),
    }
}

/// The error of a received message of `bytes.len()` bytes where a `type_name` of `size` was
/// expected (a foreign or buggy sender): the bytes and priority go back with it.
fn wrong_length_received(
    queue: &str,
    type_name: &str,
    size: usize,
    bytes: &[u8],
    priority: u32,
) -> Error {
    let len = bytes.len();
    Error::new(
        ErrorKind::WrongLength,
        Operation::Receive,
        queue_object(queue),
        format!(
            "received a {len}-byte message with priority {priority}, but {type_name} is {size} \
             bytes (a foreign or buggy sender); the bytes are returned with this error"
        ),
    )
    .with_returned(Returned {
        bytes: bytes.to_vec(),
        priority,
    })
}

/// A create's [`ErrorKind::AlreadyExists`], naming the calls of `end` ("Sender::<Tick>") to use
/// instead.
fn exists_in(e: Error, end: &str) -> Error {
    super::header::exists_naming(
        e,
        &format!("{end}::open"),
        &format!("{end}::create_or_take_over"),
    )
}

fn options(desc: &QueueDesc, max_messages: usize) -> MessageQueueOptions {
    let mut o = MessageQueue::options();
    o.max_messages(max_messages)
        .max_message_size(desc.record.size);
    o
}

/// What both ends (and [`TypedQueue`]) hold: the queue, and the companion registration if the
/// queue has a companion.
struct Channel<T> {
    mq: MessageQueue,
    peer: Option<Arc<Registration>>,
    /// The deadline of the current peer-check slice (see `Wait::slice`).
    slice: std::sync::atomic::AtomicU64,
    _type: PhantomData<fn() -> T>,
}

impl<T> Channel<T> {
    /// Creates the companion, then the queue (exclusively), then publishes the companion.
    fn create(
        desc: &QueueDesc,
        name: &str,
        max_messages: usize,
        read: bool,
        write: bool,
    ) -> Result<(MessageQueue, Companion)> {
        let queue = Name::new(ObjectKind::MessageQueue, name, Operation::Create)?;
        let companion = Companion::create(desc, queue.as_str(), 0o600)?;
        let made = options(desc, max_messages)
            .create_new(true)
            .read(read)
            .write(write)
            .open(queue.as_str())
            .and_then(|mq| {
                companion.publish(&mq)?;
                Ok(mq)
            });
        match made {
            Ok(mq) => Ok((mq, companion)),
            Err(e) => {
                // The queue (if made) and the companion go together (ours only, by identity).
                super::companion::unlink_segment_if(companion.name(), companion.identity());
                if e.kind() != ErrorKind::AlreadyExists {
                    let _ = crate::mq::unlink_message_queue(queue.as_str());
                }
                Err(e)
            }
        }
    }

    /// Creates the queue for `T`, or takes over the one there if it was made by the typed API
    /// for `T` with `max_messages` slots and its owner is gone; the companion returned holds
    /// the owner word either way. `end` names the caller for errors ("Sender::<Tick>").
    fn create_or_take_over(
        desc: &QueueDesc,
        name: &str,
        max_messages: usize,
        (read, write): (bool, bool),
        end: &str,
    ) -> Result<(MessageQueue, Companion)> {
        let instead = format!("open it with {end}::open");
        let how = TakeOver {
            object: queue_object(name),
            what: "the typed queue",
            instead: &instead,
        };
        let ((mut mq, mut companion), taken) = how.run(
            || Self::create(desc, name, max_messages, read, write),
            || {
                let mq = MessageQueue::options().read(read).write(write).open(name)?;
                check_size(desc, &mq)?;
                if mq.max_messages() != max_messages {
                    return Err(Error::new(
                        ErrorKind::Mismatch,
                        Operation::Open,
                        queue_object(name),
                        format!(
                            "the queue holds at most {} messages, not the {max_messages} asked \
                             for",
                            mq.max_messages()
                        ),
                    ));
                }
                match Companion::open(desc, &mq)? {
                    Some(c) if c.writable() => Ok((mq, c)),
                    Some(c) => Err(Error::new(
                        ErrorKind::PermissionDenied,
                        Operation::Create,
                        queue_object(name),
                        format!(
                            "its companion segment {:?} is read-only to this process, which \
                             cannot record itself as the new owner",
                            c.name()
                        ),
                    )),
                    None => Err(Error::new(
                        ErrorKind::Mismatch,
                        Operation::Open,
                        queue_object(name),
                        "it has no companion segment of the typed API (it was made by \
                         posix_ipc, C or MessageQueue, or its companion is left over from an \
                         earlier queue): nothing records its type or owner; remove it, or \
                         wrap it with from_queue",
                    )),
                }
            },
            |(_, c)| c.owner_word(),
        )?;
        if taken {
            mq.take_over();
            companion.hold_owner();
        }
        Ok((mq, companion))
    }

    fn new_end(mq: MessageQueue, companion: Option<Companion>, side: Option<Side>) -> Channel<T> {
        let peer = companion.map(|c| match side {
            Some(side) => Arc::new(Registration::new(c, side)),
            None => Arc::new(Registration::observer(c)),
        });
        Channel {
            mq,
            peer,
            slice: std::sync::atomic::AtomicU64::new(0),
            _type: PhantomData,
        }
    }

    /// Wraps an open queue: the size check, then the companion's type check if it has one.
    fn wrap(desc: &QueueDesc, mq: MessageQueue, side: Option<Side>) -> Result<Channel<T>> {
        check_size(desc, &mq)?;
        let companion = Companion::open(desc, &mq)?;
        Ok(Self::new_end(mq, companion, side))
    }

    /// Creates for `side`, or opens what exists (the companion decides the type check).
    fn open_or_create(
        desc: &QueueDesc,
        name: &str,
        max_messages: usize,
        read: bool,
        write: bool,
        side: Option<Side>,
    ) -> Result<Channel<T>> {
        let mut last = None;
        for _ in 0..16 {
            match Self::create(desc, name, max_messages, read, write) {
                Ok((mq, c)) => return Ok(Self::new_end(mq, Some(c), side)),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
            match MessageQueue::options().read(read).write(write).open(name) {
                Ok(mq) => return Self::wrap(desc, mq, side),
                // Removed between the two calls: create again. (If that keeps happening, the
                // create's own error says why, e.g. a foreign segment holds the companion's
                // name.)
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            Error::new(
                ErrorKind::Other,
                Operation::Open,
                Object {
                    kind: ObjectKind::MessageQueue,
                    name: Some(name.to_owned()),
                },
                "the queue keeps being created and removed by others: try again",
            )
        }))
    }

    fn try_clone(&self) -> Result<Channel<T>> {
        Ok(Channel {
            mq: self.mq.try_clone()?,
            peer: self.peer.clone(),
            slice: std::sync::atomic::AtomicU64::new(0),
            _type: PhantomData,
        })
    }

    fn wait<'a>(&'a self, timeout: Timeout, gone: &'a dyn Fn() -> Option<Error>) -> Wait<'a> {
        Wait {
            deadline: timeout.deadline(),
            retry_eintr: true,
            disconnected: self.peer.as_ref().map(|_| gone),
            slice: Some(&self.slice),
        }
    }

    fn other_side_gone(&self, op: Operation) -> Option<Error> {
        self.peer
            .as_ref()
            .and_then(|p| p.other_side_gone(self.mq.name(), op))
    }

    fn unlink(&self) -> Result<()> {
        let id = self.mq.identity().ok();
        self.mq.unlink()?;
        if let Some(id) = id {
            Companion::unlink_for(self.mq.name(), id);
        }
        Ok(())
    }

    fn owned_names(&self) -> Vec<OwnedName> {
        let id = self.mq.identity().ok();
        let mut names = vec![OwnedName::new(self.mq.name_ref(), id, &crate::mq::REMOVER)];
        if let Some(p) = &self.peer {
            if let Ok(c) = Name::new(
                ObjectKind::SharedMemory,
                p.companion.name(),
                Operation::Unlink,
            ) {
                let cid = p.companion.identity();
                names.push(OwnedName::new(&c, cid, &crate::shm::REMOVER));
            }
        }
        names
    }

    /// The layout the companion stores, if the queue has a companion that stores one.
    fn layout(&self) -> Option<super::LayoutDesc> {
        self.peer.as_ref().and_then(|p| p.companion.stored_layout())
    }

    fn live(&self, side: Side) -> Option<Vec<u32>> {
        self.peer
            .as_ref()
            .map(|p| p.companion.table(side).live_pids())
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
/// let rx = Receiver::<Tick>::open(&name)?;             // checks the queue's type
/// tx.send(&Tick { seq: 1, value: 0.5 })?;              // priority 3, from the type
/// assert_eq!(rx.recv_with_priority()?, (Tick { seq: 1, value: 0.5 }, 3));
/// tx.unlink()?;                                        // the queue and its companion
/// # Ok::<(), posix_ipc::Error>(())
/// ```
pub struct Sender<T> {
    ch: Channel<T>,
}

impl<T: IpcMessage> Sender<T> {
    /// Creates a new queue for `T` (message size `size_of::<T>()`, `max_messages` slots) and
    /// its companion, opened for writing only; fails with [`ErrorKind::AlreadyExists`] if the
    /// name exists (the error says how to find and remove a leftover).
    pub fn create(name: &str, max_messages: usize) -> Result<Self> {
        let (mq, c) = Channel::<T>::create(&QueueDesc::of::<T>(), name, max_messages, false, true)
            .map_err(|e| exists_in(e, &format!("Sender::<{}>", T::LAYOUT.name)))?;
        Ok(Sender {
            ch: Channel::new_end(mq, Some(c), Some(Side::Producer)),
        })
    }

    /// Creates the queue for `T` (and its companion), or takes over the one under `name` whose
    /// owner is gone, and owns it (the queue and its companion are removed when the owner is
    /// dropped): what a process restarted under a fixed name calls. The owner is the typed
    /// handle that created the queue or took it over last (with its clones); it stops owning
    /// when it is dropped, or when its process dies (SIGKILL included).
    ///
    /// - Nothing there: creates it, as [`create`](Self::create).
    /// - A queue made by the typed API for `T` (its companion's layout fingerprint and the
    ///   message size) with `max_messages` slots, whose owner is gone: takes it over. The
    ///   messages in it stay, and this sender registers as [`open`](Self::open) would.
    /// - A live owner (also this process): [`ErrorKind::AlreadyExists`] naming it (pid and
    ///   command) and what to call instead.
    /// - A queue of another type, message size or `max_messages`, or without a typed
    ///   companion (made by posix_ipc, C or [`MessageQueue`]): [`ErrorKind::Mismatch`]
    ///   naming both.
    ///
    /// Of processes racing on one name, exactly one wins; the others get
    /// [`ErrorKind::AlreadyExists`] naming it.
    pub fn create_or_take_over(name: &str, max_messages: usize) -> Result<Owned<Self>> {
        let end = format!("Sender::<{}>", T::LAYOUT.name);
        let (mq, c) = Channel::<T>::create_or_take_over(
            &QueueDesc::of::<T>(),
            name,
            max_messages,
            (false, true),
            &end,
        )?;
        Ok(Owned::new(Sender {
            ch: Channel::new_end(mq, Some(c), Some(Side::Producer)),
        }))
    }

    /// As [`create`](Self::create), owned: the queue and its companion are removed when the
    /// owner is dropped (see [`Owned`]).
    pub fn create_owned(name: &str, max_messages: usize) -> Result<Owned<Self>> {
        Self::create(name, max_messages).map(Owned::new)
    }

    /// Opens an existing queue for writing, checking that it was made for `T`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Mismatch`] naming both types if the queue was made for another type (its
    /// companion's fingerprint, or for a queue without companion its message size).
    pub fn open(name: &str) -> Result<Self> {
        Self::from_queue(MessageQueue::options().read(false).open(name)?)
    }

    /// As [`open`](Self::open), waiting up to `timeout` for the queue to exist and be
    /// initialised (its creator may start later): see [`open_wait`](crate::open_wait), which
    /// this is, for how it waits and stops (Ctrl-C, SIGTERM with
    /// [`signals`](crate::signals) on; a [`CancelToken`](crate::CancelToken) through
    /// `posix_ipc::open_wait` itself).
    pub fn open_wait(name: &str, timeout: impl Into<crate::Timeout>) -> Result<Self> {
        crate::cancel::open_wait(timeout, None, || Self::open(name))
    }

    /// Opens the queue, creating it (and its companion) for `T` if it does not exist.
    pub fn open_or_create(name: &str, max_messages: usize) -> Result<Self> {
        Channel::open_or_create(
            &QueueDesc::of::<T>(),
            name,
            max_messages,
            false,
            true,
            Some(Side::Producer),
        )
        .map(|ch| Sender { ch })
    }

    /// Wraps an open queue after checking it against `T` (size; and type, if the queue has a
    /// companion, which this handle then registers with).
    pub fn from_queue(mq: MessageQueue) -> Result<Self> {
        Channel::wrap(&QueueDesc::of::<T>(), mq, Some(Side::Producer)).map(|ch| Sender { ch })
    }

    /// Attaches a [`CancelToken`]: a send that waits for room ends with
    /// [`ErrorKind::Cancelled`] as soon as the token is cancelled.
    pub fn with_cancel(mut self, token: &CancelToken) -> Self {
        self.ch.mq = self.ch.mq.with_cancel(token);
        self
    }

    /// Another sender on the same queue: its own descriptor, the same registration (the queue
    /// counts one producer until every clone is dropped) and token.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::LimitExceeded`] if the process has no descriptor left.
    pub fn try_clone(&self) -> Result<Self> {
        Ok(Sender {
            ch: self.ch.try_clone()?,
        })
    }

    /// Sends with the type's priority ([`IpcMessage::PRIORITY`]), waiting while the queue is
    /// full.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Disconnected`] if the queue stays full and every typed receiver has gone;
    /// [`ErrorKind::Cancelled`] if a token stops the wait. The message was not sent in either
    /// case.
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
        let gone = || self.ch.other_side_gone(Operation::Send);
        let wait = self.ch.wait(timeout.into(), &gone);
        self.ch.mq.send_waiting(bytes, priority, &wait)
    }

    /// Whether the queue has a companion, so that this sender checks the type and tracks the
    /// receivers (false for a queue made by posix_ipc, C or [`MessageQueue`]).
    pub fn is_tracked(&self) -> bool {
        self.ch.peer.is_some()
    }

    /// The pids of the typed receivers connected now (`None` without a companion).
    pub fn receivers(&self) -> Option<Vec<u32>> {
        self.ch.live(Side::Consumer)
    }

    /// The full layout of the message type that the queue's companion segment stores (field
    /// names, offsets, kinds, counts, nested structs), for decoding its messages without the
    /// Rust type, as `posix-ipc shm info` does: see the layout in the
    /// [`companion`](super::companion) docs. Read from the companion at each call.
    ///
    /// `None` if the queue has no companion (made by posix_ipc, C or [`MessageQueue`]) or its
    /// companion stores none (made by an earlier release).
    pub fn layout(&self) -> Option<super::LayoutDesc> {
        self.ch.layout()
    }

    /// Whether this handle created the queue.
    pub fn created(&self) -> bool {
        self.ch.mq.created()
    }

    /// Removes the queue's name and its companion's (`mq_unlink`, `shm_unlink`); connected
    /// handles keep working.
    pub fn unlink(&self) -> Result<()> {
        self.ch.unlink()
    }

    /// The underlying queue.
    pub fn queue(&self) -> &MessageQueue {
        &self.ch.mq
    }

    /// Gives back the underlying queue (the registration ends).
    pub fn into_queue(self) -> MessageQueue {
        self.ch.mq
    }
}

/// The receiving end of a typed queue. See [`Sender`] for an example.
pub struct Receiver<T> {
    ch: Channel<T>,
}

impl<T: IpcMessage> Receiver<T> {
    /// Creates a new queue for `T` and its companion, opened for reading only; fails with
    /// [`ErrorKind::AlreadyExists`] if the name exists.
    pub fn create(name: &str, max_messages: usize) -> Result<Self> {
        let (mq, c) = Channel::<T>::create(&QueueDesc::of::<T>(), name, max_messages, true, false)
            .map_err(|e| exists_in(e, &format!("Receiver::<{}>", T::LAYOUT.name)))?;
        Ok(Receiver {
            ch: Channel::new_end(mq, Some(c), Some(Side::Consumer)),
        })
    }

    /// Creates the queue for `T` (and its companion), or takes over the one under `name` whose
    /// owner is gone, and owns it, as [`Sender::create_or_take_over`] does; this receiver then
    /// registers as [`open`](Self::open) would, and the messages in the queue stay for it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::AlreadyExists`] naming the owner if it is alive; [`ErrorKind::Mismatch`]
    /// naming both for a queue of another type, message size or `max_messages`, or one
    /// without a typed companion.
    pub fn create_or_take_over(name: &str, max_messages: usize) -> Result<Owned<Self>> {
        let end = format!("Receiver::<{}>", T::LAYOUT.name);
        let (mq, c) = Channel::<T>::create_or_take_over(
            &QueueDesc::of::<T>(),
            name,
            max_messages,
            (true, false),
            &end,
        )?;
        Ok(Owned::new(Receiver {
            ch: Channel::new_end(mq, Some(c), Some(Side::Consumer)),
        }))
    }

    /// As [`create`](Self::create), owned: the queue and its companion are removed when the
    /// owner is dropped (see [`Owned`]).
    pub fn create_owned(name: &str, max_messages: usize) -> Result<Owned<Self>> {
        Self::create(name, max_messages).map(Owned::new)
    }

    /// Opens an existing queue for reading, checking that it was made for `T`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Mismatch`] naming both types if the queue was made for another type.
    pub fn open(name: &str) -> Result<Self> {
        Self::from_queue(MessageQueue::options().write(false).open(name)?)
    }

    /// As [`open`](Self::open), waiting up to `timeout` for the queue to exist and be
    /// initialised (its creator may start later): see [`open_wait`](crate::open_wait), which
    /// this is, for how it waits and stops (Ctrl-C, SIGTERM with
    /// [`signals`](crate::signals) on; a [`CancelToken`](crate::CancelToken) through
    /// `posix_ipc::open_wait` itself).
    pub fn open_wait(name: &str, timeout: impl Into<crate::Timeout>) -> Result<Self> {
        crate::cancel::open_wait(timeout, None, || Self::open(name))
    }

    /// Opens the queue, creating it (and its companion) for `T` if it does not exist.
    pub fn open_or_create(name: &str, max_messages: usize) -> Result<Self> {
        Channel::open_or_create(
            &QueueDesc::of::<T>(),
            name,
            max_messages,
            true,
            false,
            Some(Side::Consumer),
        )
        .map(|ch| Receiver { ch })
    }

    /// Wraps an open queue after checking it against `T` (size; and type, if the queue has a
    /// companion, which this handle then registers with).
    pub fn from_queue(mq: MessageQueue) -> Result<Self> {
        Channel::wrap(&QueueDesc::of::<T>(), mq, Some(Side::Consumer)).map(|ch| Receiver { ch })
    }

    /// Attaches a [`CancelToken`]: a receive that waits ends with [`ErrorKind::Cancelled`] as
    /// soon as the token is cancelled.
    pub fn with_cancel(mut self, token: &CancelToken) -> Self {
        self.ch.mq = self.ch.mq.with_cancel(token);
        self
    }

    /// Another receiver on the same queue: its own descriptor, the same registration and token.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::LimitExceeded`] if the process has no descriptor left.
    pub fn try_clone(&self) -> Result<Self> {
        Ok(Receiver {
            ch: self.ch.try_clone()?,
        })
    }

    /// Receives the next message (highest priority first), waiting while the queue is empty.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::WrongLength`] if the message is not `size_of::<T>()` bytes long (the bytes
    /// and priority are in [`Error::returned`](crate::Error::returned));
    /// [`ErrorKind::Disconnected`] once the queue is empty and every typed sender has gone;
    /// [`ErrorKind::Cancelled`] if a token stops the wait (nothing was taken).
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
        let gone = || self.ch.other_side_gone(Operation::Receive);
        let wait = self.ch.wait(timeout.into(), &gone);
        let (len, priority) = self
            .ch
            .mq
            .receive_waiting(bytemuck::bytes_of_mut(&mut value), &wait)?;
        let size = std::mem::size_of::<T>();
        if len != size {
            let bytes = &bytemuck::bytes_of(&value)[..len];
            return Err(wrong_length_received(
                self.ch.mq.name(),
                T::LAYOUT.name,
                size,
                bytes,
                priority,
            ));
        }
        Ok((value, priority))
    }

    /// A blocking iterator over received messages. Each item is a `Result`; it ends when the
    /// queue is drained and every typed sender has gone ([`ErrorKind::Disconnected`]), and
    /// after yielding a [`ErrorKind::Cancelled`] error. Without a companion it ends only that
    /// way (posix_ipc and C senders are not tracked).
    pub fn iter(&self) -> Iter<'_, T> {
        Iter {
            rx: self,
            done: false,
        }
    }

    /// An iterator over the messages queued now; it ends when the queue is empty (or empty with
    /// every sender gone). Other errors are yielded.
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { rx: self }
    }

    /// Whether the queue has a companion, so that this receiver checks the type and tracks the
    /// senders (false for a queue made by posix_ipc, C or [`MessageQueue`]).
    pub fn is_tracked(&self) -> bool {
        self.ch.peer.is_some()
    }

    /// The pids of the typed senders connected now (`None` without a companion).
    pub fn senders(&self) -> Option<Vec<u32>> {
        self.ch.live(Side::Producer)
    }

    /// The full layout of the message type that the queue's companion segment stores (field
    /// names, offsets, kinds, counts, nested structs), for decoding its messages without the
    /// Rust type, as `posix-ipc shm info` does: see the layout in the
    /// [`companion`](super::companion) docs. Read from the companion at each call.
    ///
    /// `None` if the queue has no companion (made by posix_ipc, C or [`MessageQueue`]) or its
    /// companion stores none (made by an earlier release).
    pub fn layout(&self) -> Option<super::LayoutDesc> {
        self.ch.layout()
    }

    /// Whether this handle created the queue.
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

    /// Gives back the underlying queue (the registration ends).
    pub fn into_queue(self) -> MessageQueue {
        self.ch.mq
    }
}

/// A typed queue as an object, neither end: for the process that creates it, starts the
/// producers and consumers, and removes it at the end (it is not counted as a sender or a
/// receiver, so the ends still see each other leave).
///
/// ```
/// use posix_ipc::{IpcMessage, TypedQueue};
///
/// #[derive(Clone, Copy, Debug, IpcMessage)]
/// #[repr(C)]
/// struct Job { id: u64 }
///
/// # let name = format!("/doc-typedq-{}", std::process::id());
/// let queue = TypedQueue::<Job>::create_owned(&name, 8)?;   // removed when dropped
/// let tx = queue.sender()?;                                  // as Sender::open(name)
/// let rx = queue.receiver()?;
/// tx.send(&Job { id: 7 })?;
/// drop(tx);                                                  // the only sender leaves
/// assert_eq!(rx.recv()?.id, 7);
/// assert_eq!(rx.recv().unwrap_err().kind(), posix_ipc::ErrorKind::Disconnected);
/// # Ok::<(), posix_ipc::Error>(())
/// ```
pub struct TypedQueue<T> {
    ch: Channel<T>,
}

impl<T: IpcMessage> TypedQueue<T> {
    /// Creates the queue for `T` and its companion (exclusively), without joining either side.
    pub fn create(name: &str, max_messages: usize) -> Result<Self> {
        let (mq, c) = Channel::<T>::create(&QueueDesc::of::<T>(), name, max_messages, true, true)
            .map_err(|e| exists_in(e, &format!("TypedQueue::<{}>", T::LAYOUT.name)))?;
        Ok(TypedQueue {
            ch: Channel::new_end(mq, Some(c), None),
        })
    }

    /// Creates the queue for `T` (and its companion), or takes over the one under `name` whose
    /// owner is gone, and owns it, as [`Sender::create_or_take_over`] does, without joining
    /// either side.
    ///
    /// # Errors
    ///
    /// As [`Sender::create_or_take_over`].
    pub fn create_or_take_over(name: &str, max_messages: usize) -> Result<Owned<Self>> {
        let end = format!("TypedQueue::<{}>", T::LAYOUT.name);
        let (mq, c) = Channel::<T>::create_or_take_over(
            &QueueDesc::of::<T>(),
            name,
            max_messages,
            (true, true),
            &end,
        )?;
        Ok(Owned::new(TypedQueue {
            ch: Channel::new_end(mq, Some(c), None),
        }))
    }

    /// As [`create`](Self::create), owned: removed when the owner is dropped.
    pub fn create_owned(name: &str, max_messages: usize) -> Result<Owned<Self>> {
        Self::create(name, max_messages).map(Owned::new)
    }

    /// Opens an existing queue and checks it against `T`, without joining either side.
    pub fn open(name: &str) -> Result<Self> {
        Channel::wrap(&QueueDesc::of::<T>(), MessageQueue::open(name)?, None)
            .map(|ch| TypedQueue { ch })
    }

    /// As [`open`](Self::open), waiting up to `timeout` for the queue to exist and be
    /// initialised (its creator may start later): see [`open_wait`](crate::open_wait), which
    /// this is, for how it waits and stops (Ctrl-C, SIGTERM with
    /// [`signals`](crate::signals) on; a [`CancelToken`](crate::CancelToken) through
    /// `posix_ipc::open_wait` itself).
    pub fn open_wait(name: &str, timeout: impl Into<crate::Timeout>) -> Result<Self> {
        crate::cancel::open_wait(timeout, None, || Self::open(name))
    }

    /// A sender on this queue (opened by name, like [`Sender::open`]).
    pub fn sender(&self) -> Result<Sender<T>> {
        Sender::open(self.name())
    }

    /// A receiver on this queue (opened by name, like [`Receiver::open`]).
    pub fn receiver(&self) -> Result<Receiver<T>> {
        Receiver::open(self.name())
    }

    /// The queue's name.
    pub fn name(&self) -> &str {
        self.ch.mq.name()
    }

    /// Whether the queue has a companion (type check and peer tracking).
    pub fn is_tracked(&self) -> bool {
        self.ch.peer.is_some()
    }

    /// The pids of the typed senders connected now (`None` without a companion).
    pub fn senders(&self) -> Option<Vec<u32>> {
        self.ch.live(Side::Producer)
    }

    /// The pids of the typed receivers connected now (`None` without a companion).
    pub fn receivers(&self) -> Option<Vec<u32>> {
        self.ch.live(Side::Consumer)
    }

    /// The full layout of the message type that the queue's companion segment stores (field
    /// names, offsets, kinds, counts, nested structs), for decoding its messages without the
    /// Rust type, as `posix-ipc shm info` does: see the layout in the
    /// [`companion`](super::companion) docs. Read from the companion at each call.
    ///
    /// `None` if the queue has no companion (made by posix_ipc, C or [`MessageQueue`]) or its
    /// companion stores none (made by an earlier release).
    pub fn layout(&self) -> Option<super::LayoutDesc> {
        self.ch.layout()
    }

    /// Whether this handle created the queue.
    pub fn created(&self) -> bool {
        self.ch.mq.created()
    }

    /// Removes the queue's name and its companion's.
    pub fn unlink(&self) -> Result<()> {
        self.ch.unlink()
    }

    /// The underlying queue (read-write).
    pub fn queue(&self) -> &MessageQueue {
        &self.ch.mq
    }
}

macro_rules! removable_channel {
    ($($t:ident),*) => {
        $(
            impl<T: IpcMessage> crate::owned::sealed::Sealed for $t<T> {}
            impl<T: IpcMessage> Removable for $t<T> {
                fn created_object(&self) -> bool {
                    self.ch.mq.created()
                }
                fn owned_names(&self) -> Vec<OwnedName> {
                    self.ch.owned_names()
                }
            }

            impl<T: IpcMessage> std::fmt::Debug for $t<T> {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    write!(f, "{}<{}>({:?})", stringify!($t), T::LAYOUT.name, self.ch.mq.name())
                }
            }
        )*
    };
}
removable_channel!(Sender, Receiver, TypedQueue);

/// Blocking iterator from [`Receiver::iter`].
pub struct Iter<'a, T> {
    rx: &'a Receiver<T>,
    done: bool,
}

impl<T: IpcMessage> Iterator for Iter<'_, T> {
    type Item = Result<T>;
    fn next(&mut self) -> Option<Result<T>> {
        if self.done {
            return None;
        }
        match self.rx.recv() {
            Err(e) if e.kind() == ErrorKind::Disconnected => {
                self.done = true;
                None
            }
            Err(e) if e.kind() == ErrorKind::Cancelled => {
                self.done = true;
                Some(Err(e))
            }
            other => Some(other),
        }
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
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Disconnected) => None,
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
