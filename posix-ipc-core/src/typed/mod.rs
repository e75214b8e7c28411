//! Typed messages: the traits behind `#[derive(IpcMessage)]`, typed queue channels
//! ([`Sender`]/[`Receiver`]), typed shared memory ([`Shared`], [`RawShared`]) and layout export
//! for Python and C peers.
//!
//! A message type is plain old data (`bytemuck::Pod`): `#[repr(C)]`, no padding, and fields of
//! primitive numbers, arrays and other message types only. Any byte pattern a peer writes is
//! then a valid value, so a buggy or hostile peer can corrupt values but never cause undefined
//! behaviour here.
//!
//! # Source layout
//!
//! One module per kind of channel or segment: `queue` (typed queues) with `companion` (their
//! type and peer record), `shared` (`Shared<T>`), `ring/` (rings), `pubsub/`
//! (publish-subscribe). What they share: `header` (the named-segment header protocol: magic,
//! version, fingerprint, ready flag, waiting for a creator, the errors for a segment of
//! another kind or type), `peers` (the tables of connected processes and their liveness),
//! `signal` (the futex wake/sleep handshake), `record` (record types known at run time) and
//! `layout` (layouts for Python and C).

pub mod companion;
pub(crate) mod header;
mod layout;
mod message;
pub(crate) mod peers;
pub mod pubsub;
mod queue;
mod record;
pub mod ring;
mod shared;
mod signal;

/// The `bytemuck` crate this one builds on: an [`IpcMessage`] is a `bytemuck::Pod`, so
/// `bytemuck::bytes_of(&msg)` gives its bytes (re-exported so the version always matches).
pub use bytemuck;
pub use companion::{COMPANION_MAGIC, COMPANION_SUFFIX, COMPANION_VERSION};
pub use header::SegmentKind;
pub use layout::{Field, Kind, Layout, Primitive, Shape};
#[doc(hidden)]
pub use message::__private;
pub use message::{python_module, IpcField, IpcMessage};
pub use pubsub::{
    Frame, FrameHeader, FrameLoan, FrameLoanUninit, FramePublisher, FrameSubscriber, Loan,
    LoanUninit, NoHeader, Policy, Publisher, Sample, Subscriber, TopicOptions, FRAME_FINGERPRINT,
    FRAME_LEN_MAX, PUBSUB_MAGIC, PUBSUB_MAX_SUBSCRIBERS, PUBSUB_VERSION,
};
pub use queue::{Iter, Receiver, Sender, TryIter, TypedQueue};
pub use record::{RecordType, RECORD_SIZE_MAX};
pub use ring::{
    RecordReceiver, RecordSender, RingMode, RingReceiver, RingSender, RING_MAGIC, RING_MAX_PEERS,
    RING_VERSION,
};
pub use shared::{RawShared, RecordShared, Shared, SharedHeader, SHARED_MAGIC, SHARED_VERSION};
