//! Where everything is in a topic segment, and how big its parts are ([`Geometry`]).

use std::time::Duration;

use crate::error::{Error, Object, ObjectKind};
use crate::typed::peers::{ENTRY, MAX_PEERS};

pub(super) const POLICY: usize = 12;
pub(super) const FINGERPRINT: usize = 16;
pub(super) const PAYLOAD: usize = 24;
pub(super) const CAPACITY: usize = 32;
pub(super) const BUFFERS: usize = 40;
pub(super) const STRIDE: usize = 48;
pub(super) const DATA: usize = 56;
pub(super) const READY: usize = 64;
pub(super) const SHAPE: usize = 68;
pub(super) const HISTORY: usize = 72;
pub(super) const MAX_SUBSCRIBERS: usize = 80;
pub(super) const STALL_MS: usize = 84;
pub(super) const FRAME_HEADER: usize = 88;
pub(super) const TYPE_NAME: usize = 96;
pub(super) const TYPE_NAME_LEN: usize = 32;
pub(super) const HEADER_LEN: usize = 128;
pub(super) const TAIL: usize = 128;
/// Publishers the topic has had: a publisher's generation is the value after its increment.
pub(super) const GENERATION: usize = 136;
/// The owner word (see `typed::peers::OwnerWord`).
pub(super) const OWNER: usize = 144;
/// Where the stored layout description starts (0: none), and its length.
pub(super) const DESCRIPTION_AT: usize = 160;
pub(super) const DESCRIPTION_LEN: usize = 168;
pub(super) const DATA_SIGNAL: usize = 256;
pub(super) const SUBSCRIBERS_SLEEPING: usize = 260;
pub(super) const SPACE_SIGNAL: usize = 384;
pub(super) const PUBLISHER_SLEEPING: usize = 388;
pub(super) const PUBLISHER_JOINED: usize = 448;
pub(super) const SUBSCRIBERS_JOINED: usize = 452;
pub(super) const PUBLISHERS: usize = 512;
pub(super) const SUBSCRIBERS: usize = PUBLISHERS + MAX_PEERS * ENTRY;
/// Where the peer tables end (for `lifecycle`).
pub(crate) const PEER_TABLES_END: usize = SUBSCRIBERS + MAX_PEERS * ENTRY;
pub(super) const CURSORS: usize = 4096;
pub(super) const CURSOR_STRIDE: usize = 128;
pub(super) const ENTRIES: usize = CURSORS + MAX_PEERS * CURSOR_STRIDE;
pub(super) const ENTRY_LEN: usize = 64;
/// An entry's buffer field for a gap: samples lost before they reached this topic (by a bridge
/// or a replay), its length field their count; subscribers report it as lag.
pub(in crate::typed::pubsub) const GAP: u64 = u64::MAX;
pub(super) const HOLDER_STRIDE: usize = 64;
/// Largest log capacity.
pub(in crate::typed::pubsub) const CAPACITY_MAX: usize = 1 << 16;
/// Buffer stride from which a publisher reuses the newest sample's buffer (see
/// `PubCore::reuse_newest`).
pub(super) const REUSE_FROM: usize = 1 << 16;
/// Passes over the retired buffers before a loan reports that none is free.
pub(super) const RECYCLE_PASSES: u32 = 64;
pub(super) const SLEEP_SLICE: Duration = Duration::from_millis(100);
pub(super) const OPEN_WAIT: Duration = Duration::from_secs(1);

/// The shape code of a topic of fixed-size records (`Publisher<T>`).
pub(in crate::typed::pubsub) const SHAPE_RECORDS: u32 = 0;
/// The shape code of a topic of byte frames (`FramePublisher`).
pub(in crate::typed::pubsub) const SHAPE_FRAMES: u32 = 1;

pub(crate) fn object(name: &str) -> Object {
    Object {
        kind: ObjectKind::Topic,
        name: Some(name.to_owned()),
    }
}

pub(in crate::typed::pubsub) fn as_topic(e: Error) -> Error {
    e.about(ObjectKind::Topic)
}

/// Where things are in a topic segment of this shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Geometry {
    pub(super) buffers: u64,
    pub(super) stride: u64,
    pub(super) holders: u64,
    pub(super) data: u64,
    pub(super) total: u64,
}

pub(super) fn geometry(payload: u64, capacity: u64, max_subscribers: u64) -> Option<Geometry> {
    let buffers = capacity.checked_add(max_subscribers)?.checked_add(1)?;
    // Frames of a page or more start on a page of their own (large copies run fastest so).
    let stride = if payload >= 4096 {
        payload.checked_next_multiple_of(4096)?
    } else {
        payload.checked_next_multiple_of(64)?
    };
    let holders = ENTRIES as u64 + capacity.checked_mul(ENTRY_LEN as u64)?;
    let data = (holders + buffers * HOLDER_STRIDE as u64).checked_next_multiple_of(4096)?;
    let total = data.checked_add(buffers.checked_mul(stride)?)?;
    usize::try_from(total).ok()?;
    Some(Geometry {
        buffers,
        stride,
        holders,
        data,
        total,
    })
}
