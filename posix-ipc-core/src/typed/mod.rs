//! Typed messages: the traits behind `#[derive(IpcMessage)]`, typed queue channels
//! ([`Sender`]/[`Receiver`]), typed shared memory ([`Shared`], [`RawShared`]) and layout export
//! for Python and C peers.
//!
//! A message type is plain old data (`bytemuck::Pod`): `#[repr(C)]`, no padding, and fields of
//! primitive numbers, arrays and other message types only. Any byte pattern a peer writes is
//! then a valid value, so a buggy or hostile peer can corrupt values but never cause undefined
//! behaviour here.
//!
//! # Which channel
//!
//! | use | when | copies | readers |
//! |---|---|---|---|
//! | [`Sender<T>`](Sender)/[`Receiver<T>`](Receiver) (POSIX queue) | priorities, `poll`/epoll and notifications, Python's or C's `mq_*` peers, messages that must survive the processes | in and out, by the kernel | each message to one receiver |
//! | [`RingSender<T>`](RingSender)/[`RingReceiver<T>`](RingReceiver) ([`ring`]) | a work queue between processes at memory speed: no system call per message while both sides are busy, batches | in and out | each message to one consumer (SPSC or MPMC) |
//! | [`Publisher<T>`](Publisher)/[`Subscriber<T>`](Subscriber), [`FramePublisher`]/[`FrameSubscriber`] ([`pubsub`]) | one producer, many consumers that all see everything: camera frames, point clouds, market data; frames up to 1 GiB | none (loans and guards), or a copy out if you ask | every sample to every subscriber |
//! | [`Shared<T>`](Shared) | the latest value only (a pose, a setting), readers never blocked by the writer | in and out (seqlock) | any number, latest value |
//!
//! # The derive
//!
//! `#[derive(IpcMessage)]` (attributes `priority = N`, `max_message_size = N`,
//! `crate = "path"`) implements [`IpcMessage`] with `PRIORITY`, `MAX_MESSAGE_SIZE`, `LAYOUT`
//! (fields, offsets, sizes, kinds) and `FINGERPRINT`, plus `bytemuck::Pod`, after proving the
//! type is plain old data. A priority above 32767, a field of type `bool`, `usize`, a reference
//! or an enum, padding, a missing `#[repr(C)]`, or a type larger than the queue limit is a
//! compile error on the offending token (each case is tested with trybuild in the workspace's
//! `tests/ui/`). A Python program reads the same messages with
//! `struct.unpack(Reading.python_format(), data)`, or with the module [`python_module`]
//! generates for `posix_ipc_rs`; a C program includes `Reading::c_declaration()`, whose
//! `static_assert`s check every offset.
//!
//! # Typed queues
//!
//! [`Sender<T>`](Sender)/[`Receiver<T>`](Receiver) are a POSIX queue whose message size is
//! `size_of::<T>()`. Opening a queue of another size fails at open time naming both sizes; a
//! received message of the wrong length is [`ErrorKind::WrongLength`](crate::ErrorKind) with
//! the bytes handed back ([`Error::returned`](crate::Error::returned)).
//!
//! A queue made by the typed API has a *companion* segment beside it (`/readings.pipc-q` for
//! `/readings`, one page, removed with the queue) that records the type's layout fingerprint and
//! who is connected. So opening it for another type of the same size is
//! [`ErrorKind::Mismatch`](crate::ErrorKind) naming both types and fingerprints; a receiver gets
//! [`ErrorKind::Disconnected`](crate::ErrorKind) (and [`Receiver::iter`] ends) once the queue
//! is drained and every typed sender has gone, also after SIGKILL; and a sender blocked on a
//! full queue gets it once every typed receiver has gone (noticed within one 100 ms slice). The
//! messages are the same bytes as before: a queue made by posix_ipc, C or
//! [`MessageQueue`](crate::MessageQueue) has no companion and keeps the size-only check,
//! without peer tracking. [`TypedQueue<T>`](TypedQueue) is the queue itself, for a process that
//! creates and removes it without being a sender or a receiver.
//!
//! # Shared values
//!
//! [`Shared<T>`](Shared) is a `T` in a segment with a header (magic, version, layout
//! fingerprint, size, ready flag published last): [`load`](Shared::load),
//! [`store`](Shared::store), [`update`](Shared::update), and
//! [`wait_change`](Shared::wait_change), which sleeps on a futex in the segment until the next
//! store instead of polling. It is a double-buffered seqlock: a reader never accepts a torn
//! value, and a writer killed mid-store leaves the published value intact. Its segment layout
//! and protocol, for C and Python peers, are on [`Shared`] (the workspace's
//! `examples/python/read_shared.py` reads one). [`RawShared<T>`](RawShared) is the header-less
//! form, for peers that know only the struct layout.
//!
//! # Source layout
//!
//! One module per kind of channel or segment: `queue` (typed queues) with `companion` (their
//! type and peer record), `shared` (`Shared<T>`), `ring/` (rings), `pubsub/`
//! (publish-subscribe). What they share: `header` (the named-segment header protocol: magic,
//! version, fingerprint, ready flag, waiting for a creator, the errors for a segment of
//! another kind or type), `peers` (the tables of connected processes and their liveness),
//! `signal` (the futex wake/sleep handshake), `record` (record types known at run time) and
//! `layout` (layouts for Python and C, and stored in segments as bytes, [`LayoutDesc`], for
//! tools that decode samples without the Rust type).

pub mod companion;
pub(crate) mod describe;
pub(crate) mod header;
mod layout;
mod message;
pub(crate) mod peers;
pub mod pubsub;
mod queue;
mod record;
pub mod ring;
pub(crate) mod shared;
mod signal;

/// The `bytemuck` crate this one builds on: an [`IpcMessage`] is a `bytemuck::Pod`, so
/// `bytemuck::bytes_of(&msg)` gives its bytes (re-exported so the version always matches).
pub use bytemuck;
pub use companion::{COMPANION_MAGIC, COMPANION_SUFFIX, COMPANION_VERSION};
pub use header::SegmentKind;
pub use layout::{
    ElementDesc, Field, FieldDesc, Kind, Layout, LayoutDesc, LayoutError, LayoutErrorKind,
    Primitive, Shape, Value, LAYOUT_DESC_MAGIC, LAYOUT_DESC_MAX_DEPTH, LAYOUT_DESC_MAX_FIELDS,
    LAYOUT_DESC_MAX_SIZE, LAYOUT_DESC_VERSION,
};
#[doc(hidden)]
pub use message::__private;
pub use message::{python_module, IpcField, IpcMessage};
pub use pubsub::{
    AnySample, AnySubscriber, Footprint, Frame, FrameHeader, FrameLoan, FrameLoanUninit,
    FramePublisher, FrameSubscriber, Loan, LoanUninit, NoHeader, Policy, Publisher, RecordLoan,
    RecordPublisher, RecordSample, RecordSubscriber, Sample, SubscribeOptions, Subscriber,
    TopicInfo, TopicOptions, TopicStatus, FRAME_CAPACITY_DEFAULT, FRAME_FINGERPRINT, FRAME_LEN_MAX,
    FRAME_SUBSCRIBERS_DEFAULT, PUBSUB_MAGIC, PUBSUB_MAX_SUBSCRIBERS, PUBSUB_VERSION,
    RECORD_CAPACITY_DEFAULT, RECORD_SUBSCRIBERS_DEFAULT,
};
pub use queue::{Iter, QueueSide, Receiver, RecordQueue, Sender, TryIter, TypedQueue};
pub use record::{RecordType, RECORD_SIZE_MAX};
pub use ring::{
    RecordReceiver, RecordSender, RingMode, RingReceiver, RingSender, RING_MAGIC, RING_MAX_PEERS,
    RING_VERSION,
};
pub use shared::{RawShared, RecordShared, Shared, SharedHeader, SHARED_MAGIC, SHARED_VERSION};
