//! What a segment says about itself, for listings and stale detection: [`SegmentInfo`], which
//! each kind fills from its own layout (`describe` beside each kind's layout), and the two modes
//! segment headers record: a ring's [`RingMode`] and a topic's [`Policy`].

use std::collections::HashSet;

use super::header::{self, SegmentKind};
use super::layout::LayoutDesc;
use super::peers::Table;
use crate::shm::Mapping;

/// Which producers and consumers a ring admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingMode {
    /// One producer and one consumer at a time: the fastest mode.
    Spsc,
    /// Up to 32 producers and 32 consumers at a time.
    Mpmc,
}

/// What a publisher does about a subscriber that has not read the oldest sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Wait for it (dead ones are dropped, stopped ones skipped after the stall timeout).
    Block,
    /// Never wait: overwrite, and the subscriber gets
    /// [`ErrorKind::Lagged`](crate::ErrorKind::Lagged).
    Overwrite,
}

/// What this crate's header of a segment says.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SegmentInfo {
    /// Which kind of posix-ipc segment.
    pub kind: SegmentKind,
    /// Its layout version.
    pub version: u32,
    /// Whether its creator finished it (the ready flag).
    pub ready: bool,
    /// The message or value type's size in bytes (`Shared`, ring, companion).
    pub type_size: Option<u64>,
    /// The type's layout fingerprint.
    pub fingerprint: Option<u64>,
    /// The type's name (companion).
    pub type_name: Option<String>,
    /// Topic of frames with a typed header: the header type's name and size in bytes.
    pub frame_header: Option<(String, u64)>,
    /// Ring: SPSC or MPMC.
    pub ring_mode: Option<RingMode>,
    /// Ring: slots.
    pub capacity: Option<u64>,
    /// Ring: messages in it now; `Shared`: stores so far.
    pub count: Option<u64>,
    /// Live producers (ring, companion), by pid.
    pub producers: Vec<u32>,
    /// Live consumers (ring, companion), by pid.
    pub consumers: Vec<u32>,
    /// Entries of peers that are gone (ring, companion), by pid.
    pub dead_peers: Vec<u32>,
    /// `Shared`: the pid holding the write lock; `RobustMutex`: the pid of the thread holding
    /// it.
    pub lock_holder: Option<u32>,
    /// Whether the lock's holder is gone (the next locker takes over). For a `RobustMutex` whose
    /// holder died, the kernel has cleared its id: `lock_holder` is then `None`.
    pub lock_holder_dead: bool,
    /// Companion: its queue's name, and whether that queue exists (with the identity recorded).
    pub queue: Option<(String, bool)>,
    /// Topic: its policy for slow subscribers (`producers` is then its publisher and
    /// `consumers` its subscribers, `count` the samples published, `capacity` the samples
    /// kept, `type_size` the sample size or the largest frame, and `type_name` the sample
    /// type's name, or "byte frames" for a frame topic, whose typed header, if any, is in
    /// `frame_header`).
    pub policy: Option<Policy>,
    /// Topic: the generation of its current or last publisher (1 for the first; 0 for a topic
    /// no publisher has opened since generations were recorded).
    pub generation: Option<u64>,
    /// Kinds that record their owner (the process that made or took over the object, see
    /// `create_or_take_over`): its pid and whether it is alive; `None` if none is recorded.
    pub owner: Option<(u32, bool)>,
    /// The full layout of the value or message type that the segment stores beside its data
    /// (`Shared`, ring, companion and topic segments made by a typed handle of this release),
    /// for decoding values without the Rust type ([`LayoutDesc::format_sample_json`]). `None`
    /// when the segment stores none (made by a record handle, which has no layout, or by an
    /// earlier release) or when the part of the segment read for the listing does not reach
    /// it.
    pub layout: Option<LayoutDesc>,
}

impl SegmentInfo {
    /// What every header says: the kind (from the magic) and the layout version; the kind's
    /// `describe` adds the rest.
    pub(crate) fn new(kind: SegmentKind, map: &Mapping) -> SegmentInfo {
        SegmentInfo {
            kind,
            version: header::version_in(map).unwrap_or(0),
            ready: false,
            type_size: None,
            fingerprint: None,
            type_name: None,
            frame_header: None,
            ring_mode: None,
            capacity: None,
            count: None,
            producers: Vec::new(),
            consumers: Vec::new(),
            dead_peers: Vec::new(),
            lock_holder: None,
            lock_holder_dead: false,
            queue: None,
            policy: None,
            generation: None,
            owner: None,
            layout: None,
        }
    }

    /// The live and dead peers of two tables (producers and consumers, or a topic's publisher
    /// and subscribers).
    pub(crate) fn set_peers(&mut self, producers: Table<'_>, consumers: Table<'_>) {
        self.producers = producers.live_pids();
        self.consumers = consumers.live_pids();
        let live: HashSet<u32> = self
            .producers
            .iter()
            .chain(&self.consumers)
            .copied()
            .collect();
        self.dead_peers = producers
            .recorded_pids()
            .into_iter()
            .chain(consumers.recorded_pids())
            .filter(|p| !live.contains(p))
            .collect();
    }
}
