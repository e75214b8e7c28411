//! Typed ring channels in shared memory: [`RingSender<T>`] and [`RingReceiver<T>`].
//!
//! A POSIX message queue costs a system call per message. A ring is a circular array of `T` in
//! a named shared-memory segment with atomic indices: when both sides are busy, a message costs
//! a copy and a few atomic operations, no system call. When one side waits, it spins briefly,
//! then sleeps on a futex in the segment, so an idle receiver costs (almost) nothing.
//!
//! Two modes: [`RingMode::Spsc`] (one producer, one consumer; the fast path) and
//! [`RingMode::Mpmc`] (any number of producers and consumers, per-slot sequence numbers after
//! Dmitry Vyukov's bounded queue).
//!
//! An end's `create` makes the ring and registers that end; [`RingOptions`] also makes it with
//! chosen permission bits, or without taking an end ([`RingOptions::create`]), for a parent
//! that makes a ring its children then open.
//!
//! Processes register in the segment (pid and start time), so the channel knows who is alive:
//! when every producer has gone (dropped, or killed with SIGKILL) a receiver drains what is left
//! and then gets [`ErrorKind::Disconnected`]; the reverse for senders blocked on a full ring. A
//! producer killed in the middle of writing a message never makes a consumer accept a torn
//! message (nothing is published before it is complete) nor hang (in MPMC mode the slot it
//! claimed is skipped once it is known to be dead).
//!
//! A ring carries the same [`IpcMessage`] types as a typed queue, so moving a channel from a
//! queue to a ring is one line; batches ([`RingSender::send_batch`],
//! [`RingReceiver::recv_batch`]) move many messages per index update. The workspace's
//! `cargo run --release --example ring_demo` runs the demo's producer and consumer processes
//! over a ring.
//!
//! ```
//! use posix_ipc::{ErrorKind, IpcMessage, RingMode, RingReceiver, RingSender};
//!
//! #[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
//! #[repr(C)]
//! struct Reading { seq: u64, value: f64 }
//!
//! # let name = format!("/doc-ring-mod-{}", std::process::id());
//! let rx = RingReceiver::<Reading>::create_owned(&name, 1024, RingMode::Spsc)?; // removed on drop
//! let tx = RingSender::<Reading>::open(&name)?;          // another process, usually
//! for seq in 0..100 {
//!     tx.send(&Reading { seq, value: 0.5 })?;            // no system call while both are busy
//! }
//! drop(tx);                                              // as a SIGKILL of the producer would
//! let mut got = Vec::new();
//! while got.len() < 100 {
//!     rx.recv_batch(&mut got, 64)?;                      // waits for one, then takes up to 64
//! }
//! assert_eq!(rx.recv().unwrap_err().kind(), ErrorKind::Disconnected);
//! # Ok::<(), posix_ipc::Error>(())
//! ```
//!
//! # Segment layout (for C peers)
//!
//! All integers native-endian; offsets in bytes.
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic `b"PIPCRING"` |
//! | 8 | 4 | version (2) |
//! | 12 | 4 | mode: 0 SPSC, 1 MPMC |
//! | 16 | 8 | layout fingerprint of `T` |
//! | 24 | 8 | `size_of::<T>()` |
//! | 32 | 8 | capacity (a power of two) |
//! | 40 | 8 | slot stride |
//! | 48 | 8 | offset of slot 0 (4096) |
//! | 56 | 4 | ready (1 once initialised, stored last) |
//! | 64 | 8 | owner word: `pid << 32 \| (start time & 0xffff_ffff)` of the process whose handle created the ring or took it over ([`RingSender::create_or_take_over`]), stored before ready and cleared when that handle is dropped; 0 for none |
//! | 72 | 8 | offset of the stored layout of `T`, `4096 + capacity × stride` (after the slots), stored before ready; 0: none |
//! | 80 | 8 | its length in bytes |
//! | 128 | 8 | tail: count of messages published (SPSC) / claimed (MPMC) |
//! | 256 | 8 | head: count of messages consumed (SPSC) / claimed (MPMC) |
//! | 384 | 4 | data futex: incremented when data is published while consumers sleep |
//! | 388 | 4 | number of sleeping consumers |
//! | 512 | 4 | space futex: incremented when room is made while producers sleep |
//! | 516 | 4 | number of sleeping producers |
//! | 640 | 4 | 1 once any producer has connected |
//! | 644 | 4 | 1 once any consumer has connected |
//! | 768 | 32 × 32 | producer table: `{pid u32, pad u32, start_time u64, busy u64, pad u64}` |
//! | 1792 | 32 × 32 | consumer table, same entries |
//! | 4096 | capacity × stride | slots |
//! | 4096 + capacity × stride | length at 80 | the stored layout of `T`, in the format of [`LayoutDesc::encode`](crate::typed::LayoutDesc::encode) |
//!
//! The stored layout (field names, offsets, kinds, counts and nested structs of `T`) lets a
//! tool or a program in another language decode the messages without the Rust type
//! ([`RingSender::layout`], `posix-ipc shm info`). A ring made by a [`RecordSender`] or
//! [`RecordReceiver`] (whose [`RecordType`] has no layout) or by an earlier release ends after
//! its slots and has 0 at 72 and 80: it stores none, and opens as before.
//!
//! SPSC slot `i % capacity` holds the message at index `i`; a producer writes it while
//! `tail - head < capacity`, then stores `tail + 1` (release); a consumer reads it while
//! `head < tail`, then stores `head + 1`. MPMC slots start with `{seq u64, stamp u64}` and the
//! message at offset 16: a producer claims index `i` by a compare-and-swap of the tail when
//! `seq == i`, writes, stores `stamp = i + 1` (release) and publishes `seq = i + 1`; a consumer
//! claims by a compare-and-swap of the head when `seq == i + 1`, reads, and releases with
//! `seq = i + capacity`. A message is valid only if its `stamp == i + 1`: a slot whose producer
//! died after claiming it is published by a peer with the seq alone, so its stale stamp marks it
//! as skipped (and only the producer of a lap ever writes the stamp). `busy` is `u64::MAX` while a peer is claiming and `i + 1` while it
//! works on index `i`. After publishing, a producer bumps the data futex and wakes it if
//! consumers sleep (and the reverse).
//!
//! # Source layout
//!
//! `segment.rs` the mapped segment (create, open, words, slots, registration, futex handshake,
//! MPMC repairs); `wait.rs` the blocking loop and its errors; `sender.rs` and `receiver.rs` the
//! typed ends and the byte-level protocol they share with `record.rs`, the ends of a run-time
//! [`RecordType`]; `ends.rs` the methods every end has; `options.rs` [`RingOptions`], which
//! creates a ring with chosen permission bits, or without taking an end.

mod ends;
mod options;
mod receiver;
mod record;
mod segment;
mod sender;
mod wait;

pub use options::RingOptions;
pub use receiver::RingReceiver;
pub use record::{RecordReceiver, RecordSender};
use segment::{check_shape, Ring, Taken};
pub use sender::RingSender;
use std::marker::PhantomData;
use std::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;
use wait::*;

use super::describe::SegmentInfo;
use super::header::{self, SegmentKind};
use super::layout::LayoutDesc;
use super::peers::{GoneCache, OwnerWord, Table, TakeOver, ENTRY, MAX_PEERS};
use super::record::{Bytes, RecordType};
use super::signal::{Backoff, Signal};
use super::IpcMessage;
use crate::cancel::{CancelToken, Stops};
use crate::error::{Error, ErrorKind, Object, ObjectKind, Operation, Result};
use crate::shm::{Mapping, SharedMemory};
use crate::sys;
use crate::timeout::{Deadline, Timeout};

/// Magic bytes at the start of a ring segment.
pub const RING_MAGIC: [u8; 8] = crate::typed::header::SegmentKind::Ring.magic();
/// Segment layout version.
pub const RING_VERSION: u32 = 2;
/// Most producers (and most consumers) a ring can register.
pub const RING_MAX_PEERS: usize = MAX_PEERS;

const MODE: usize = 12;
const FINGERPRINT: usize = 16;
const SIZE: usize = 24;
const CAPACITY: usize = 32;
const STRIDE: usize = 40;
/// Where the header records the offset of the slots ([`SLOTS`]).
const SLOTS_AT: usize = 48;
// Each index, and each pair of futex word and sleeper count, has a 128-byte block of its own:
// CPUs fetch cache lines in adjacent pairs, so 64 bytes apart is not far enough.
const TAIL: usize = 128;
const HEAD: usize = 256;
const DATA_SIGNAL: usize = 384;
const CONSUMERS_SLEEPING: usize = 388;
const SPACE_SIGNAL: usize = 512;
const PRODUCERS_SLEEPING: usize = 516;
const PRODUCERS_JOINED: usize = 640;
const CONSUMERS_JOINED: usize = 644;
const PRODUCERS: usize = 768;
const CONSUMERS: usize = PRODUCERS + RING_MAX_PEERS * ENTRY;
const SLOTS: usize = 4096;
const MPMC_SLOT_HEADER: usize = 16;
const READY: usize = 56;
/// The owner word (see [`OwnerWord`]).
const OWNER: usize = 64;
/// Where the stored layout starts (the end of the slots; 0: none); its length follows, at 80.
const DESCRIPTION_AT: usize = 72;
/// Permission bits of a ring segment unless [`RingOptions::permissions`] gives others.
const DEFAULT_PERMISSIONS: u32 = 0o600;
const SLEEP_SLICE: Duration = Duration::from_millis(100);
const DEFAULT_OPEN_WAIT: Duration = Duration::from_secs(1);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Producer,
    Consumer,
}

pub use super::describe::RingMode;

/// What `posix-ipc ls` shows of a ring: its mode, type, capacity, fill and peers.
pub(crate) fn describe(map: &Mapping) -> SegmentInfo {
    let mut info = SegmentInfo::new(SegmentKind::Ring, map);
    info.ready = header::u32_in(map, READY) == Some(1);
    info.ring_mode = match header::u32_in(map, MODE) {
        Some(0) => Some(RingMode::Spsc),
        Some(1) => Some(RingMode::Mpmc),
        _ => None,
    };
    info.fingerprint = header::u64_in(map, FINGERPRINT);
    info.type_size = header::u64_in(map, SIZE);
    info.capacity = header::u64_in(map, CAPACITY);
    info.owner = header::u64_in(map, OWNER).and_then(super::peers::owner_info);
    if let (true, Some(fingerprint)) = (info.ready, info.fingerprint) {
        info.layout = header::description_in(map, DESCRIPTION_AT, fingerprint);
    }
    if map.len() >= PEER_TABLES_END {
        let tail = header::atomic_u64(map, TAIL).load(Ordering::Acquire);
        let head = header::atomic_u64(map, HEAD).load(Ordering::Acquire);
        info.count = Some(tail.saturating_sub(head));
        let (p, c) = peer_tables(map);
        info.set_peers(p, c);
    }
    info
}

/// The layout a ring stores after its slots (see the segment layout in the module docs), for
/// tools: read through mappings of its own, so whatever part of the segment the caller maps
/// (`describe` sees only what its mapping covers). `None` for a ring that is not ready, stores
/// none (made by a record end or an earlier release) or holds a description that is invalid or
/// not of the messages' fingerprint.
pub(crate) fn stored_layout_of(shm: &SharedMemory) -> Option<LayoutDesc> {
    let head = shm.map_range(0, DESCRIPTION_AT + 16).ok()?;
    if head.load_u32_acquire(READY).ok()? != 1 {
        return None;
    }
    let fingerprint = header::u64_in(&head, FINGERPRINT)?;
    let words = (
        header::u64_in(&head, DESCRIPTION_AT)?,
        header::u64_in(&head, DESCRIPTION_AT + 8)?,
    );
    header::read_description(shm, words, fingerprint)
}

/// Where the peer tables end: a mapping of this many bytes shows the whole control block.
pub(crate) const PEER_TABLES_END: usize = CONSUMERS + RING_MAX_PEERS * ENTRY;

/// The producer and consumer tables of a mapped ring segment (for `lifecycle`).
pub(crate) fn peer_tables(map: &Mapping) -> (Table<'_>, Table<'_>) {
    (
        Table {
            map,
            base: PRODUCERS,
            joined: PRODUCERS_JOINED,
        },
        Table {
            map,
            base: CONSUMERS,
            joined: CONSUMERS_JOINED,
        },
    )
}

/// An error of the segment underneath, reported as the ring's.
fn as_ring(e: Error) -> Error {
    e.about(ObjectKind::Ring)
}

/// A create's [`ErrorKind::AlreadyExists`], naming the calls of `end` ("RingSender::<Tick>")
/// to use instead.
fn exists_in(e: Error, end: &str) -> Error {
    header::exists_naming(
        e,
        &format!("{end}::open"),
        &format!("{end}::create_or_take_over"),
    )
}

fn object(name: &str) -> Object {
    Object {
        kind: ObjectKind::Ring,
        name: Some(name.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::typed::{Field, Kind, Layout, Primitive, Shape};

    // A one-field message, implemented by hand: the derive lives in another crate.
    impl IpcMessage for u64 {
        const PRIORITY: u32 = 0;
        const MAX_MESSAGE_SIZE: usize = 8192;
        const LAYOUT: Layout = Layout {
            name: "u64",
            size: 8,
            align: 8,
            fields: &[Field {
                name: "0",
                offset: 0,
                size: 8,
                shape: Shape {
                    kind: Kind::Primitive(Primitive::U64),
                    count: 1,
                },
            }],
        };
    }

    /// Removes the segment even when the test fails.
    struct Unlink(String);
    impl Drop for Unlink {
        fn drop(&mut self) {
            let _ = crate::shm::unlink_shared_memory(&self.0);
        }
    }

    fn unique(tag: &str) -> (String, Unlink) {
        let name = format!("/pit-{}-{tag}", std::process::id());
        (name.clone(), Unlink(name))
    }

    /// The interleaving that lost a message in CI: a consumer's repair checked "slot claimed,
    /// not published, its producer not busy on it", and the live producer published right after
    /// those checks. Running the repair's effect after the publish replays it deterministically:
    /// the message must still be delivered, and the repair must report it did nothing.
    #[test]
    fn a_repair_that_lost_the_race_to_a_live_producer_leaves_its_message_valid() {
        let (name, _g) = unique("ring-repair-race");
        let rx = RingReceiver::<u64>::create(&name, 4, RingMode::Mpmc).unwrap();
        let tx = RingSender::<u64>::open(&name).unwrap();
        tx.send(&7).unwrap();
        tx.send(&8).unwrap();
        // Slot 0 is published (seq 1) and its producer idle: the stale repair moves 0 -> 1.
        assert!(!rx.ring.repair(Side::Producer, 0, 0, 1));
        assert_eq!(rx.try_recv().unwrap(), 7);
        assert_eq!(rx.try_recv().unwrap(), 8);
    }

    /// A slot whose producer died after claiming it is published by the repair and skipped,
    /// and a message from an earlier lap in that slot is never delivered twice.
    #[test]
    fn a_slot_repaired_after_its_producer_died_is_skipped_not_replayed() {
        let (name, _g) = unique("ring-repair-dead");
        let rx = RingReceiver::<u64>::create(&name, 2, RingMode::Mpmc).unwrap();
        let tx = RingSender::<u64>::open(&name).unwrap();
        for v in [1, 2] {
            tx.send(&v).unwrap();
            assert_eq!(rx.try_recv().unwrap(), v);
        }
        // A producer claims index 2 (slot 0, which still holds message 1 and its stamp) and
        // dies: the tail moves past it, no busy entry remains.
        rx.ring.u64_at(TAIL).store(3, Ordering::SeqCst);
        assert!(rx.ring.repair_producer_slot());
        tx.send(&3).unwrap();
        assert_eq!(rx.try_recv().unwrap(), 3, "the dead claim was skipped");
        assert_eq!(rx.try_recv().unwrap_err().kind(), ErrorKind::WouldBlock);
    }
}
