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
//! Processes register in the segment (pid and start time), so the channel knows who is alive:
//! when every producer has gone (dropped, or killed with SIGKILL) a receiver drains what is left
//! and then gets [`ErrorKind::Disconnected`]; the reverse for senders blocked on a full ring. A
//! producer killed in the middle of writing a message never makes a consumer accept a torn
//! message (nothing is published before it is complete) nor hang (in MPMC mode the slot it
//! claimed is skipped once it is known to be dead).
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

use std::marker::PhantomData;
use std::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use super::header::{self, SegmentKind};
use super::peers::{GoneCache, Table, ENTRY, MAX_PEERS};
use super::record::{Bytes, RecordType};
use super::signal::Signal;
use super::IpcMessage;
use crate::cancel::{CancelToken, Stops};
use crate::error::{Error, ErrorKind, Object, ObjectKind, Operation, Result};
use crate::shm::{Mapping, SharedMemory};
use crate::sys;
use crate::timeout::{Deadline, Timeout};

/// Magic bytes at the start of a ring segment.
pub const RING_MAGIC: [u8; 8] = *b"PIPCRING";
/// Segment layout version.
pub const RING_VERSION: u32 = 2;
/// Most producers (and most consumers) a ring can register.
pub const RING_MAX_PEERS: usize = MAX_PEERS;

const MODE: usize = 12;
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
const SPIN: u32 = 4000;
const YIELDS: u32 = 16;
const SLEEP_SLICE: Duration = Duration::from_millis(100);
const DEFAULT_OPEN_WAIT: Duration = Duration::from_secs(1);

/// Which producers and consumers a ring admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingMode {
    /// One producer and one consumer at a time: the fastest mode.
    Spsc,
    /// Up to 32 producers and 32 consumers at a time.
    Mpmc,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Producer,
    Consumer,
}

/// The mapped segment, shared by the sending and receiving handles' code.
struct Ring {
    shm: SharedMemory,
    map: Mapping,
    mode: RingMode,
    capacity: u64,
    mask: u64,
    stride: usize,
    /// What a slot carries (its size was checked against the header).
    record: RecordType,
    /// Recent answers to "has the other side gone?" for non-blocking calls.
    gone: GoneCache,
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

fn object(name: &str) -> Object {
    Object {
        kind: ObjectKind::Ring,
        name: Some(name.to_owned()),
    }
}

impl Ring {
    fn stride(size: usize, mode: RingMode) -> usize {
        match mode {
            RingMode::Spsc => size.div_ceil(16) * 16,
            RingMode::Mpmc => (size + MPMC_SLOT_HEADER).div_ceil(64) * 64,
        }
    }

    fn create(name: &str, capacity: usize, mode: RingMode, record: &RecordType) -> Result<Self> {
        record.check(Operation::Create, || object(name))?;
        if capacity < 2 || !capacity.is_power_of_two() || capacity > 1 << 30 {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                Operation::Create,
                object(name),
                format!("ring capacity {capacity} must be a power of two from 2 to 2^30"),
            ));
        }
        let stride = Self::stride(record.size, mode);
        let total = SLOTS as u64 + capacity as u64 * stride as u64;
        let shm = SharedMemory::create(name, total).map_err(as_ring)?;
        let made = Self::init(shm, capacity as u64, mode, stride, record);
        if made.is_err() {
            let _ = crate::shm::unlink_shared_memory(name);
        }
        made
    }

    fn init(
        shm: SharedMemory,
        capacity: u64,
        mode: RingMode,
        stride: usize,
        record: &RecordType,
    ) -> Result<Self> {
        let map = shm.map().map_err(as_ring)?;
        let mut header = [0u8; 64];
        header[0..8].copy_from_slice(&RING_MAGIC);
        header[8..12].copy_from_slice(&RING_VERSION.to_ne_bytes());
        let mode_code: u32 = if mode == RingMode::Mpmc { 1 } else { 0 };
        header[12..16].copy_from_slice(&mode_code.to_ne_bytes());
        header[16..24].copy_from_slice(&record.fingerprint.to_ne_bytes());
        header[24..32].copy_from_slice(&(record.size as u64).to_ne_bytes());
        header[32..40].copy_from_slice(&capacity.to_ne_bytes());
        header[40..48].copy_from_slice(&(stride as u64).to_ne_bytes());
        header[48..56].copy_from_slice(&(SLOTS as u64).to_ne_bytes());
        // Everything but the ready word, which openers load atomically (ftruncate zeroed it;
        // it is stored once, atomically, below).
        map.write_at(0, &header[..READY])?;
        map.write_at(READY + 4, &header[READY + 4..])?;
        let ring = Ring {
            shm,
            map,
            mode,
            capacity,
            mask: capacity - 1,
            stride,
            record: record.clone(),
            gone: GoneCache::default(),
        };
        if mode == RingMode::Mpmc {
            for i in 0..capacity {
                ring.slot_seq(i).store(i, Ordering::Relaxed);
            }
        }
        ring.u32_at(READY).store(1, Ordering::Release);
        Ok(ring)
    }

    fn open(name: &str, wait: Duration, record: &RecordType) -> Result<Self> {
        record.check(Operation::Open, || object(name))?;
        let shm = SharedMemory::open(name).map_err(as_ring)?;
        let name = shm.name().to_owned();
        let mismatch = |detail: String| {
            Error::new(ErrorKind::Mismatch, Operation::Open, object(&name), detail)
        };
        // A creator sizes the segment to the control block plus a power of two (2 to 2^30) of
        // slots of one of the two strides.
        let made_size = |size: u64| {
            [RingMode::Spsc, RingMode::Mpmc].iter().any(|&mode| {
                let stride = Self::stride(record.size, mode) as u64;
                let slots = size.saturating_sub(SLOTS as u64);
                size > SLOTS as u64
                    && slots % stride == 0
                    && (slots / stride).is_power_of_two()
                    && (2..=1 << 30).contains(&(slots / stride))
            })
        };
        let spec = header::HeaderSpec {
            len: 64,
            min_size: SLOTS,
            made_size: &made_size,
            kind: SegmentKind::Ring,
            version: RING_VERSION,
            ready: READY,
            object: object(&name),
        };
        let header = header::open_published(&shm, &spec, wait, "the ring's creator", "")?;
        let u32_of = |o: usize| u32::from_ne_bytes(header[o..o + 4].try_into().unwrap_or([0; 4]));
        let u64_of = |o: usize| u64::from_ne_bytes(header[o..o + 8].try_into().unwrap_or([0; 8]));
        let size = record.size as u64;
        if u64_of(16) != record.fingerprint || u64_of(24) != size {
            return Err(header::type_mismatch(
                object(&name),
                "the ring carries",
                "messages",
                (u64_of(24), u64_of(16)),
                record,
            ));
        }
        let mode = match u32_of(MODE) {
            0 => RingMode::Spsc,
            1 => RingMode::Mpmc,
            other => {
                return Err(mismatch(format!(
                    "unknown ring mode {other} in the header (0 is SPSC, 1 is MPMC)"
                )))
            }
        };
        let capacity = u64_of(32);
        let stride = Self::stride(record.size, mode);
        if !capacity.is_power_of_two()
            || capacity < 2
            || u64_of(40) != stride as u64
            || u64_of(48) != SLOTS as u64
        {
            return Err(mismatch(format!(
                "inconsistent ring header (capacity {capacity}, stride {}, slots at {})",
                u64_of(40),
                u64_of(48)
            )));
        }
        // A hostile header must not overflow the size computation into a small mapping.
        let total = capacity
            .checked_mul(stride as u64)
            .and_then(|slots| slots.checked_add(SLOTS as u64))
            .filter(|&t| usize::try_from(t).is_ok())
            .ok_or_else(|| {
                mismatch(format!(
                    "inconsistent ring header: capacity {capacity} x stride {stride} overflows"
                ))
            })?;
        let have = shm.size()?;
        if have < total {
            return Err(mismatch(format!(
                "the segment is {have} bytes, smaller than the {total} its header promises"
            )));
        }
        let map = shm.map_range(0, total as usize).map_err(as_ring)?;
        let ring = Ring {
            shm,
            map,
            mode,
            capacity,
            mask: capacity - 1,
            stride,
            record: record.clone(),
            gone: GoneCache::default(),
        };
        Ok(ring)
    }

    /// Another mapping of the same segment, through a second descriptor.
    fn try_clone(&self) -> Result<Self> {
        let shm = self.shm.try_clone().map_err(as_ring)?;
        let map = shm.map_range(0, self.map.len()).map_err(as_ring)?;
        Ok(Ring {
            shm,
            map,
            mode: self.mode,
            capacity: self.capacity,
            mask: self.mask,
            stride: self.stride,
            record: self.record.clone(),
            gone: GoneCache::default(),
        })
    }

    #[inline]
    fn u64_at(&self, offset: usize) -> &AtomicU64 {
        debug_assert!(offset % 8 == 0 && offset + 8 <= self.map.len());
        // SAFETY: `offset` is an 8-aligned offset inside the mapping (a header field or an MPMC
        // slot's sequence number; the mapping is page-aligned and its size was checked against
        // the header at open). Every process accesses these words only atomically, so a shared
        // `&AtomicU64` is sound, and it lives no longer than `&self`, which keeps the mapping.
        unsafe { &*self.map.as_ptr().add(offset).cast::<AtomicU64>() }
    }

    #[inline]
    fn u32_at(&self, offset: usize) -> &AtomicU32 {
        debug_assert!(offset % 4 == 0 && offset + 4 <= self.map.len());
        // SAFETY: as in `u64_at`, for a 4-aligned header word.
        unsafe { &*self.map.as_ptr().add(offset).cast::<AtomicU32>() }
    }

    #[inline]
    fn slot_offset(&self, index: u64) -> usize {
        SLOTS + (index & self.mask) as usize * self.stride
    }

    #[inline]
    fn slot_seq(&self, index: u64) -> &AtomicU64 {
        self.u64_at(self.slot_offset(index))
    }

    #[inline]
    fn slot_stamp(&self, index: u64) -> &AtomicU64 {
        self.u64_at(self.slot_offset(index) + 8)
    }

    #[inline]
    fn data_offset(&self, index: u64) -> usize {
        self.slot_offset(index)
            + if self.mode == RingMode::Mpmc {
                MPMC_SLOT_HEADER
            } else {
                0
            }
    }

    /// Copies `bytes` (one record) into the slot of `index`. The caller owns the slot (see the
    /// protocol in the module docs): no other process reads or writes it until the caller
    /// publishes it.
    #[inline(always)]
    fn write_slot(&self, index: u64, bytes: &[u8]) {
        let offset = self.data_offset(index);
        assert_eq!(
            bytes.len(),
            self.record.size,
            "a ring slot takes one whole record"
        );
        debug_assert!(offset + bytes.len() <= self.map.len());
        // SAFETY:
        // - the destination range lies inside the mapping: slots were checked against the
        //   segment size at open/create, `index & mask` < capacity, and `bytes.len()` is the
        //   record size (asserted above), which is at most the stride;
        // - the mapping is writable (read-write handle), and no Rust reference into it exists;
        // - the slot is owned by this producer until it publishes it (the tail or `seq` store
        //   with release ordering that follows), so no other process touches these bytes now;
        // - `bytes` is the caller's memory, outside the mapping: no overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.map.as_ptr().cast_mut().add(offset),
                bytes.len(),
            )
        }
    }

    /// Copies the slot of `index` into `out` (one record long). The caller owns the slot until
    /// it releases it.
    #[inline(always)]
    fn read_slot(&self, index: u64, out: &mut [u8]) {
        let offset = self.data_offset(index);
        assert_eq!(
            out.len(),
            self.record.size,
            "a ring slot holds one whole record"
        );
        debug_assert!(offset + out.len() <= self.map.len());
        // SAFETY:
        // - the source range lies inside the mapping (as in `write_slot`);
        // - the slot was published with release ordering and observed with acquire ordering,
        //   and no producer writes it again until this consumer releases it, so the bytes are
        //   complete and stable (a peer that breaks the protocol can only produce wrong bytes:
        //   they are plain bytes here);
        // - `out` is the caller's memory, outside the mapping: no overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.map.as_ptr().add(offset),
                out.as_mut_ptr(),
                out.len(),
            );
        }
    }

    /// Copies `value` into the slot of `index` (a `T` of the record size, checked when the ring
    /// was opened or created). As [`write_slot`](Self::write_slot), with a length known when
    /// compiling.
    #[inline(always)]
    fn write_value<T: IpcMessage>(&self, index: u64, value: &T) {
        let offset = self.data_offset(index);
        debug_assert_eq!(std::mem::size_of::<T>(), self.record.size);
        debug_assert!(offset + std::mem::size_of::<T>() <= self.map.len());
        // SAFETY: as in `write_slot`: the caller owns the slot; `size_of::<T>()` is the
        // record size (the header was checked against `T` at open/create), at most the stride,
        // so the range lies inside the mapping; `value` is outside it.
        unsafe {
            std::ptr::copy_nonoverlapping(
                (value as *const T).cast::<u8>(),
                self.map.as_ptr().cast_mut().add(offset),
                std::mem::size_of::<T>(),
            )
        }
    }

    /// Copies the slot of `index` into `out` as a `T` (see [`write_value`](Self::write_value)):
    /// afterwards `out` holds a valid `T`.
    #[inline(always)]
    fn read_value<T: IpcMessage>(&self, index: u64, out: &mut std::mem::MaybeUninit<T>) {
        let offset = self.data_offset(index);
        debug_assert_eq!(std::mem::size_of::<T>(), self.record.size);
        debug_assert!(offset + std::mem::size_of::<T>() <= self.map.len());
        // SAFETY: as in `read_slot` for the range (inside the mapping, the slot owned by this
        // consumer, published with release and observed with acquire); `out` is the caller's
        // memory, outside the mapping, with room for a `T`. All `size_of::<T>()` bytes of
        // `out` are written, and any bytes are a valid `T` (`T: Pod`).
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.map.as_ptr().add(offset),
                out.as_mut_ptr().cast::<u8>(),
                std::mem::size_of::<T>(),
            );
        }
    }

    /// The peer table of `side`.
    #[inline]
    fn peers(&self, side: Side) -> Table<'_> {
        let (producers, consumers) = peer_tables(&self.map);
        match side {
            Side::Producer => producers,
            Side::Consumer => consumers,
        }
    }

    #[inline]
    fn entry_busy(&self, side: Side, i: usize) -> &AtomicU64 {
        self.peers(side).busy(i)
    }

    /// Registers this process on `side`; returns its entry.
    fn register(&self, side: Side) -> Result<usize> {
        let what = if side == Side::Producer {
            "producer"
        } else {
            "consumer"
        };
        if self.mode == RingMode::Spsc {
            let live = self.peers(side).live_pids();
            if let Some(pid) = live.first() {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    Operation::Open,
                    object(self.shm.name()),
                    format!(
                        "the SPSC ring already has a {what} (pid {pid}); create it with \
                         RingMode::Mpmc for several"
                    ),
                ));
            }
        }
        self.peers(side).register().ok_or_else(|| {
            Error::new(
                ErrorKind::LimitExceeded,
                Operation::Open,
                object(self.shm.name()),
                format!("the ring already has {RING_MAX_PEERS} live {what}s, its limit"),
            )
        })
    }

    fn deregister(&self, side: Side, i: usize) {
        self.peers(side).deregister(i);
        // Wake the other side so a blocked peer notices the disconnection now.
        self.signal(match side {
            Side::Producer => Side::Consumer,
            Side::Consumer => Side::Producer,
        })
        .wake_all();
    }

    /// Whether `side` had peers and none is alive now.
    #[inline]
    fn disconnected(&self, side: Side) -> bool {
        self.peers(side).disconnected()
    }

    /// (futex word, sleeper count) a waiter on `side` uses.
    #[inline]
    fn signal_of(&self, waiting: Side) -> (usize, usize) {
        match waiting {
            Side::Consumer => (DATA_SIGNAL, CONSUMERS_SLEEPING),
            Side::Producer => (SPACE_SIGNAL, PRODUCERS_SLEEPING),
        }
    }

    /// The futex handshake a waiter on `side` sleeps on.
    #[inline(always)]
    fn signal(&self, waiting: Side) -> Signal<'_> {
        let (word, sleepers) = self.signal_of(waiting);
        Signal {
            word: self.u32_at(word),
            sleepers: self.u32_at(sleepers),
        }
    }

    /// Wakes sleepers of `side` if there are any (see [`Signal::wake`]).
    #[inline(always)]
    fn wake(&self, side: Side) {
        self.signal(side).wake();
    }

    /// Sleeps on `side`'s futex until woken or `slice` passes (see [`Signal::sleep`]).
    fn sleep(&self, side: Side, slice: Duration, ready: impl Fn() -> bool, stops: Stops<'_>) {
        self.signal(side).sleep(slice, ready, stops);
    }

    // --- MPMC recovery --------------------------------------------------------------------------

    /// If the next index to consume was claimed by a producer that died before publishing it,
    /// publish it as invalid so consumers skip it. Returns whether it repaired a slot.
    fn repair_producer_slot(&self) -> bool {
        let pos = self.u64_at(HEAD).load(Ordering::SeqCst);
        if self.u64_at(TAIL).load(Ordering::SeqCst) <= pos
            || self.slot_seq(pos).load(Ordering::SeqCst) != pos
        {
            return false;
        }
        self.repair(Side::Producer, pos, pos, pos + 1)
    }

    /// If the next index to produce waits for a consumer that died after claiming the message
    /// of the previous lap, release that slot (the message in flight is lost).
    fn repair_consumer_slot(&self) -> bool {
        let pos = self.u64_at(TAIL).load(Ordering::SeqCst);
        let Some(prev) = pos.checked_sub(self.capacity) else {
            return false;
        };
        if self.u64_at(HEAD).load(Ordering::SeqCst) <= prev
            || self.slot_seq(pos).load(Ordering::SeqCst) != prev + 1
        {
            return false;
        }
        self.repair(Side::Consumer, prev, prev + 1, pos)
    }

    /// Moves the slot of `index` from `seq == from` to `to` if no live peer of `side` is
    /// claiming or working on `index`, and clears dead entries of `side`.
    fn repair(&self, side: Side, index: u64, from: u64, to: u64) -> bool {
        let peers = self.peers(side);
        for i in 0..RING_MAX_PEERS {
            let busy = peers.busy(i).load(Ordering::SeqCst);
            if (busy == u64::MAX || busy == index + 1) && peers.alive(i) {
                return false;
            }
        }
        // The slot's stamp is left alone: it is written only by the producer of this lap, so a
        // slot published here is skipped unless that producer completed the message before it
        // died. (Writing a "not valid" mark here raced with a live producer publishing just
        // after the checks above and lost its message.)
        let repaired = self
            .slot_seq(index)
            .compare_exchange(from, to, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok();
        peers.clear_dead();
        repaired
    }
}

/// A record `pop_many_by` took: still in its slot (SPSC, read before the head moves on) or
/// already copied out (MPMC).
enum Taken<'a> {
    Slot(&'a Ring, u64),
    Copied(&'a [u8]),
}

impl Taken<'_> {
    /// Copies the record into `out` (one record long).
    #[inline(always)]
    fn read(&self, out: &mut [u8]) {
        match self {
            Taken::Slot(ring, index) => ring.read_slot(*index, out),
            Taken::Copied(bytes) => out.copy_from_slice(bytes),
        }
    }
}

/// Why a non-blocking operation did nothing.
enum Step<R> {
    Done(R),
    /// Empty (receive) or full (send).
    Wait,
}

fn disconnected(name: &str, op: Operation, detail: &str) -> Error {
    Error::new(ErrorKind::Disconnected, op, object(name), detail)
}

fn timed_out(name: &str, op: Operation, detail: &str) -> Error {
    Error::new(ErrorKind::TimedOut, op, object(name), detail)
}

fn would_block(name: &str, op: Operation, detail: &str) -> Error {
    Error::new(ErrorKind::WouldBlock, op, object(name), detail)
}

/// The waiting loop shared by blocking sends and receives: spin, yield, then sleep on the
/// futex in slices, checking for a dead peer side between slices.
fn wait_loop<R>(
    ring: &Ring,
    waiting: Side,
    deadline: Deadline,
    op: Operation,
    stops: Stops<'_>,
    mut attempt: impl FnMut() -> Step<R>,
    ready: impl Fn() -> bool,
) -> Result<R> {
    let name = ring.shm.name();
    let (what, other) = match waiting {
        Side::Consumer => ("the ring is empty", Side::Producer),
        Side::Producer => ("the ring is full", Side::Consumer),
    };
    if deadline == Deadline::Now {
        let (word, _) = ring.signal_of(waiting);
        return match attempt() {
            Step::Done(r) => Ok(r),
            Step::Wait
                if ring
                    .gone
                    .disconnected(&ring.peers(other), ring.u32_at(word)) =>
            {
                match attempt() {
                    Step::Done(r) => Ok(r),
                    Step::Wait => Err(disconnected(name, op, disconnect_text(waiting))),
                }
            }
            Step::Wait => Err(would_block(name, op, what)),
        };
    }
    let mut spins = 0u32;
    loop {
        if let Step::Done(r) = attempt() {
            return Ok(r);
        }
        if spins < SPIN {
            spins += 1;
            std::hint::spin_loop();
            continue;
        }
        if spins < SPIN + YIELDS {
            spins += 1;
            std::thread::yield_now();
            continue;
        }
        if ring.mode == RingMode::Mpmc {
            let _ = match waiting {
                Side::Consumer => ring.repair_producer_slot(),
                Side::Producer => ring.repair_consumer_slot(),
            };
        }
        if ring.map.is_truncated() {
            return Err(Error::new(
                ErrorKind::Mismatch,
                op,
                object(name),
                "another process truncated the ring's segment while it was in use: its \
                 messages and state are gone; create it again",
            ));
        }
        if ring.disconnected(other) {
            // Drain first: a message published before the last peer left is still delivered.
            return match attempt() {
                Step::Done(r) => Ok(r),
                Step::Wait => Err(disconnected(name, op, disconnect_text(waiting))),
            };
        }
        stops.check(op, || object(name))?;
        let slice = match deadline.remaining() {
            None => return Err(timed_out(name, op, what)),
            Some(left) => left.min(SLEEP_SLICE),
        };
        ring.sleep(waiting, slice, &ready, stops);
    }
}

fn disconnect_text(waiting: Side) -> &'static str {
    match waiting {
        Side::Consumer => {
            "every producer has gone (closed or died) and the ring is drained: no message will \
             come"
        }
        Side::Producer => {
            "every consumer has gone (closed or died) and the ring is full: no message will be \
             taken"
        }
    }
}

/// The sending end of a ring.
///
/// ```
/// use posix_ipc::{IpcMessage, RingMode, RingReceiver, RingSender};
///
/// #[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
/// #[repr(C)]
/// struct Tick { seq: u64, value: f64 }
///
/// # let name = format!("/doc-ring-{}", std::process::id());
/// let rx = RingReceiver::<Tick>::create(&name, 1024, RingMode::Spsc)?;
/// let tx = RingSender::<Tick>::open(&name)?;          // checks type and layout
/// tx.send(&Tick { seq: 1, value: 0.5 })?;
/// tx.send_batch(&[Tick { seq: 2, value: 1.0 }, Tick { seq: 3, value: 1.5 }])?;
/// assert_eq!(rx.recv()?.seq, 1);
/// let mut more = Vec::new();
/// assert_eq!(rx.recv_batch(&mut more, 16)?, 2);
/// drop(tx);                                           // the only producer leaves ...
/// assert!(rx.recv().unwrap_err().kind() == posix_ipc::ErrorKind::Disconnected);
/// rx.unlink()?;
/// # Ok::<(), posix_ipc::Error>(())
/// ```
pub struct RingSender<T> {
    ring: Ring,
    _type: PhantomData<T>,
    entry: usize,
    cancel: Option<CancelToken>,
    /// SPSC: the consumer's head as last seen (saves reading the shared line every send).
    head_cache: std::cell::Cell<u64>,
    /// SPSC: the tail this producer, its only writer, last stored.
    tail_local: std::cell::Cell<u64>,
}

/// The receiving end of a ring. See [`RingSender`] for an example.
pub struct RingReceiver<T> {
    ring: Ring,
    _type: PhantomData<T>,
    entry: usize,
    cancel: Option<CancelToken>,
    /// SPSC: the producer's tail as last seen.
    tail_cache: std::cell::Cell<u64>,
    /// SPSC: the head this consumer, its only writer, last stored.
    head_local: std::cell::Cell<u64>,
}

impl<T: IpcMessage> RingSender<T> {
    /// Creates the ring segment (exclusive) with `capacity` slots (a power of two) and
    /// registers as its producer.
    pub fn create(name: &str, capacity: usize, mode: RingMode) -> Result<Self> {
        Self::with(Ring::create(name, capacity, mode, &RecordType::of::<T>())?)
    }

    /// Opens an existing ring, checking its header against `T`, and registers as a producer.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Mismatch`] for a ring of another type; [`ErrorKind::AlreadyExists`] if an
    /// SPSC ring already has a live producer; [`ErrorKind::NotInitialized`] if its creator did
    /// not finish within a second.
    pub fn open(name: &str) -> Result<Self> {
        Self::with(Ring::open(name, DEFAULT_OPEN_WAIT, &RecordType::of::<T>())?)
    }

    /// As [`open`](Self::open), also requiring this capacity and mode.
    pub fn open_checked(name: &str, capacity: usize, mode: RingMode) -> Result<Self> {
        let ring = Ring::open(name, DEFAULT_OPEN_WAIT, &RecordType::of::<T>())?;
        check_shape(&ring, capacity, mode)?;
        Self::with(ring)
    }

    /// As [`create`](Self::create), owned: the segment is removed when the owner is dropped
    /// (see [`Owned`](crate::Owned)).
    pub fn create_owned(name: &str, capacity: usize, mode: RingMode) -> Result<crate::Owned<Self>> {
        Self::create(name, capacity, mode).map(crate::Owned::new)
    }

    /// Sends `value`, waiting while the ring is full (spinning briefly, then sleeping).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Disconnected`] if the ring is full and every consumer has gone.
    #[inline]
    pub fn send(&self, value: &T) -> Result<()> {
        if let Step::Done(()) = self.try_push(|r, i| r.write_value(i, value)) {
            self.ring.wake(Side::Consumer);
            return Ok(());
        }
        self.send_with(value, Timeout::Infinite)
    }

    /// Sends without waiting: [`ErrorKind::WouldBlock`] if the ring is full.
    pub fn try_send(&self, value: &T) -> Result<()> {
        self.send_with(value, Timeout::Immediate)
    }

    /// Sends, waiting at most `timeout` for room: [`ErrorKind::TimedOut`] after that.
    pub fn send_timeout(&self, value: &T, timeout: Duration) -> Result<()> {
        self.send_with(value, timeout)
    }

    /// Sends with any [`Timeout`].
    #[inline(never)]
    pub fn send_with(&self, value: &T, timeout: impl Into<Timeout>) -> Result<()> {
        // The loop of `send_bytes_with`, made for `T`: the copy has a constant length.
        let r = wait_loop(
            &self.ring,
            Side::Producer,
            timeout.into().deadline(),
            Operation::Send,
            Stops::of(self.cancel.as_ref()),
            || self.try_push(|r, i| r.write_value(i, value)),
            || self.has_room(),
        );
        if r.is_ok() {
            self.ring.wake(Side::Consumer);
        }
        r
    }

    /// Sends every value of `values`, in order, waking consumers once per run of messages that
    /// fit rather than once per message.
    pub fn send_batch(&self, values: &[T]) -> Result<()> {
        let mut rest = values;
        while !rest.is_empty() {
            let n = self.push_many(rest);
            if n > 0 {
                self.ring.wake(Side::Consumer);
                rest = &rest[n..];
                continue;
            }
            self.send_with(&rest[0], Timeout::Infinite)?;
            rest = &rest[1..];
        }
        Ok(())
    }

    /// Sends as many of `values` as fit now, in order; returns how many.
    pub fn try_send_batch(&self, values: &[T]) -> usize {
        let n = self.push_many(values);
        if n > 0 {
            self.ring.wake(Side::Consumer);
        }
        n
    }

    fn push_many(&self, values: &[T]) -> usize {
        self.push_many_by(values.len(), |r, index, i| r.write_value(index, &values[i]))
    }
}

/// What the typed sender and the [`RecordSender`] share: the protocol, on bytes.
impl<T> RingSender<T> {
    fn with(ring: Ring) -> Result<Self> {
        sys::membarrier_register();
        let entry = ring.register(Side::Producer)?;
        let head = ring.u64_at(HEAD).load(Ordering::Acquire);
        let tail = ring.u64_at(TAIL).load(Ordering::Acquire);
        Ok(RingSender {
            ring,
            _type: PhantomData,
            entry,
            cancel: None,
            head_cache: std::cell::Cell::new(head),
            tail_local: std::cell::Cell::new(tail),
        })
    }

    /// Publishes one record, written into its slot by `write(ring, index)`, if there is room.
    #[inline(always)]
    fn try_push(&self, write: impl FnOnce(&Ring, u64)) -> Step<()> {
        let r = &self.ring;
        match r.mode {
            RingMode::Spsc => {
                let tail = self.tail_local.get();
                if tail - self.head_cache.get() >= r.capacity {
                    self.head_cache.set(r.u64_at(HEAD).load(Ordering::Acquire));
                    if tail - self.head_cache.get() >= r.capacity {
                        return Step::Wait;
                    }
                }
                write(r, tail);
                r.u64_at(TAIL).store(tail + 1, Ordering::Release);
                self.tail_local.set(tail + 1);
                Step::Done(())
            }
            RingMode::Mpmc => {
                let busy = r.entry_busy(Side::Producer, self.entry);
                busy.store(u64::MAX, Ordering::Relaxed);
                fence(Ordering::SeqCst);
                let tail = r.u64_at(TAIL);
                let mut pos = tail.load(Ordering::Relaxed);
                loop {
                    let seq = r.slot_seq(pos).load(Ordering::Acquire);
                    let diff = seq as i64 - pos as i64;
                    if diff == 0 {
                        match tail.compare_exchange_weak(
                            pos,
                            pos + 1,
                            Ordering::SeqCst,
                            Ordering::Relaxed,
                        ) {
                            Ok(_) => break,
                            Err(p) => pos = p,
                        }
                    } else if diff < 0 {
                        busy.store(0, Ordering::Release);
                        return Step::Wait;
                    } else {
                        pos = tail.load(Ordering::Relaxed);
                    }
                }
                busy.store(pos + 1, Ordering::Relaxed);
                write(r, pos);
                r.slot_stamp(pos).store(pos + 1, Ordering::Release);
                r.slot_seq(pos).store(pos + 1, Ordering::Release);
                busy.store(0, Ordering::Release);
                Step::Done(())
            }
        }
    }

    #[inline]
    fn has_room(&self) -> bool {
        let r = &self.ring;
        match r.mode {
            RingMode::Spsc => {
                r.u64_at(TAIL).load(Ordering::SeqCst) - r.u64_at(HEAD).load(Ordering::SeqCst)
                    < r.capacity
            }
            RingMode::Mpmc => {
                let pos = r.u64_at(TAIL).load(Ordering::SeqCst);
                r.slot_seq(pos).load(Ordering::SeqCst) as i64 - pos as i64 >= 0
            }
        }
    }

    /// Publishes as many of the `count` records `record(i)` as fit now, in order (no wake);
    /// returns how many.
    fn push_many_by(&self, count: usize, write: impl Fn(&Ring, u64, usize)) -> usize {
        let r = &self.ring;
        if r.mode == RingMode::Spsc {
            // One index update for the whole run.
            let tail = self.tail_local.get();
            let mut room = r.capacity - (tail - self.head_cache.get());
            if room < count as u64 {
                self.head_cache.set(r.u64_at(HEAD).load(Ordering::Acquire));
                room = r.capacity - (tail - self.head_cache.get());
            }
            let n = room.min(count as u64);
            for i in 0..n {
                write(r, tail + i, i as usize);
            }
            if n > 0 {
                r.u64_at(TAIL).store(tail + n, Ordering::Release);
                self.tail_local.set(tail + n);
            }
            return n as usize;
        }
        let mut n = 0;
        while n < count {
            match self.try_push(|r, index| write(r, index, n)) {
                Step::Done(()) => n += 1,
                Step::Wait => break,
            }
        }
        n
    }

    /// Sends one record, waiting as long as it takes.
    #[inline(always)]
    fn send_bytes(&self, bytes: &[u8]) -> Result<()> {
        if let Step::Done(()) = self.try_push(|r, i| r.write_slot(i, bytes)) {
            self.ring.wake(Side::Consumer);
            return Ok(());
        }
        self.send_bytes_with(bytes, Timeout::Infinite)
    }

    /// Sends one record with any timeout.
    #[inline(never)]
    fn send_bytes_with(&self, bytes: &[u8], timeout: Timeout) -> Result<()> {
        let r = wait_loop(
            &self.ring,
            Side::Producer,
            timeout.deadline(),
            Operation::Send,
            Stops::of(self.cancel.as_ref()),
            || self.try_push(|r, i| r.write_slot(i, bytes)),
            || self.has_room(),
        );
        if r.is_ok() {
            self.ring.wake(Side::Consumer);
        }
        r
    }
}

impl<T> Drop for RingSender<T> {
    fn drop(&mut self) {
        self.ring.deregister(Side::Producer, self.entry);
    }
}

impl<T: IpcMessage> RingReceiver<T> {
    /// Creates the ring segment (exclusive) with `capacity` slots (a power of two) and
    /// registers as its consumer.
    pub fn create(name: &str, capacity: usize, mode: RingMode) -> Result<Self> {
        Self::with(Ring::create(name, capacity, mode, &RecordType::of::<T>())?)
    }

    /// Opens an existing ring, checking its header against `T`, and registers as a consumer.
    pub fn open(name: &str) -> Result<Self> {
        Self::with(Ring::open(name, DEFAULT_OPEN_WAIT, &RecordType::of::<T>())?)
    }

    /// As [`open`](Self::open), also requiring this capacity and mode.
    pub fn open_checked(name: &str, capacity: usize, mode: RingMode) -> Result<Self> {
        let ring = Ring::open(name, DEFAULT_OPEN_WAIT, &RecordType::of::<T>())?;
        check_shape(&ring, capacity, mode)?;
        Self::with(ring)
    }

    /// As [`create`](Self::create), owned: the segment is removed when the owner is dropped
    /// (see [`Owned`](crate::Owned)).
    pub fn create_owned(name: &str, capacity: usize, mode: RingMode) -> Result<crate::Owned<Self>> {
        Self::create(name, capacity, mode).map(crate::Owned::new)
    }

    /// One message, if one is ready. `Some(None)` is a slot a dead producer abandoned (skipped).
    #[inline(always)]
    fn try_pop_value(&self) -> Step<Option<T>> {
        let mut value = std::mem::MaybeUninit::<T>::uninit();
        match self.try_pop(|r, i| r.read_value(i, &mut value)) {
            // SAFETY: `try_pop` ran the reader (it returns `Done` only after reading the
            // claimed slot), which wrote a whole `T` into `value`.
            Step::Done(true) => Step::Done(Some(unsafe { value.assume_init() })),
            Step::Done(false) => Step::Done(None),
            Step::Wait => Step::Wait,
        }
    }

    /// Receives the next message, waiting while the ring is empty (spinning briefly, then
    /// sleeping on the segment's futex).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Disconnected`] once every producer has gone and the ring is drained.
    #[inline]
    pub fn recv(&self) -> Result<T> {
        if let Step::Done(Some(v)) = self.try_pop_value() {
            self.ring.wake(Side::Producer);
            return Ok(v);
        }
        self.recv_with(Timeout::Infinite)
    }

    /// Receives without waiting: [`ErrorKind::WouldBlock`] if the ring is empty (and
    /// [`ErrorKind::Disconnected`] if it is empty and every producer has gone).
    pub fn try_recv(&self) -> Result<T> {
        self.recv_with(Timeout::Immediate)
    }

    /// Receives, waiting at most `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T> {
        self.recv_with(timeout)
    }

    /// Receives with any [`Timeout`]. Slots abandoned by a producer that died mid-write are
    /// skipped (MPMC).
    #[inline(never)]
    pub fn recv_with(&self, timeout: impl Into<Timeout>) -> Result<T> {
        // The loop of `recv_bytes_with`, made for `T`: the copy has a constant length.
        let deadline = timeout.into().deadline();
        loop {
            let r = wait_loop(
                &self.ring,
                Side::Consumer,
                deadline,
                Operation::Receive,
                Stops::of(self.cancel.as_ref()),
                || self.try_pop_value(),
                || self.has_data(),
            )?;
            self.ring.wake(Side::Producer);
            if let Some(v) = r {
                return Ok(v);
            }
        }
    }

    /// Waits for at least one message (as [`recv`](Self::recv)), then appends it and every
    /// message ready after it, up to `max` in all, to `out`; returns how many.
    pub fn recv_batch(&self, out: &mut Vec<T>, max: usize) -> Result<usize> {
        if max == 0 {
            return Ok(0);
        }
        out.push(self.recv()?);
        Ok(1 + self.pop_many(out, max - 1))
    }

    /// Appends up to `max` messages that are ready now to `out`; returns how many.
    pub fn try_recv_batch(&self, out: &mut Vec<T>, max: usize) -> usize {
        self.pop_many(out, max)
    }

    fn pop_many(&self, out: &mut Vec<T>, max: usize) -> usize {
        out.reserve(max.min(self.ring.capacity as usize));
        self.pop_many_by(max, |taken| {
            let mut value = T::zeroed();
            taken.read(bytemuck::bytes_of_mut(&mut value));
            out.push(value);
        })
    }
}

/// What the typed receiver and the [`RecordReceiver`] share: the protocol, on bytes.
impl<T> RingReceiver<T> {
    fn with(ring: Ring) -> Result<Self> {
        sys::membarrier_register();
        let entry = ring.register(Side::Consumer)?;
        let tail = ring.u64_at(TAIL).load(Ordering::Acquire);
        let head = ring.u64_at(HEAD).load(Ordering::Acquire);
        Ok(RingReceiver {
            ring,
            _type: PhantomData,
            entry,
            cancel: None,
            tail_cache: std::cell::Cell::new(tail),
            head_local: std::cell::Cell::new(head),
        })
    }

    /// Takes one record into `out` (one record long), if one is ready: `Done(true)`, or
    /// `Done(false)` for a slot a dead producer abandoned (skipped; `out` holds no message).
    #[inline(always)]
    fn try_pop(&self, read: impl FnOnce(&Ring, u64)) -> Step<bool> {
        let r = &self.ring;
        match r.mode {
            RingMode::Spsc => {
                let head = self.head_local.get();
                if head == self.tail_cache.get() {
                    self.tail_cache.set(r.u64_at(TAIL).load(Ordering::Acquire));
                    if head == self.tail_cache.get() {
                        return Step::Wait;
                    }
                }
                read(r, head);
                r.u64_at(HEAD).store(head + 1, Ordering::Release);
                self.head_local.set(head + 1);
                Step::Done(true)
            }
            RingMode::Mpmc => {
                let busy = r.entry_busy(Side::Consumer, self.entry);
                busy.store(u64::MAX, Ordering::Relaxed);
                fence(Ordering::SeqCst);
                let head = r.u64_at(HEAD);
                let mut pos = head.load(Ordering::Relaxed);
                loop {
                    let seq = r.slot_seq(pos).load(Ordering::Acquire);
                    let diff = seq as i64 - (pos + 1) as i64;
                    if diff == 0 {
                        match head.compare_exchange_weak(
                            pos,
                            pos + 1,
                            Ordering::SeqCst,
                            Ordering::Relaxed,
                        ) {
                            Ok(_) => break,
                            Err(p) => pos = p,
                        }
                    } else if diff < 0 {
                        busy.store(0, Ordering::Release);
                        return Step::Wait;
                    } else {
                        pos = head.load(Ordering::Relaxed);
                    }
                }
                busy.store(pos + 1, Ordering::Relaxed);
                let valid = r.slot_stamp(pos).load(Ordering::Acquire) == pos + 1;
                read(r, pos);
                r.slot_seq(pos).store(pos + r.capacity, Ordering::Release);
                busy.store(0, Ordering::Release);
                Step::Done(valid)
            }
        }
    }

    #[inline]
    fn has_data(&self) -> bool {
        let r = &self.ring;
        match r.mode {
            RingMode::Spsc => {
                r.u64_at(HEAD).load(Ordering::SeqCst) != r.u64_at(TAIL).load(Ordering::SeqCst)
            }
            RingMode::Mpmc => {
                let pos = r.u64_at(HEAD).load(Ordering::SeqCst);
                r.slot_seq(pos).load(Ordering::SeqCst) as i64 - (pos + 1) as i64 >= 0
            }
        }
    }

    /// Takes up to `max` records that are ready now, in order, handing each to `take` (which
    /// must call the reader it gets once, with a buffer of one record); wakes producers once.
    /// Returns how many were taken (abandoned MPMC slots are skipped, not counted).
    fn pop_many_by(&self, max: usize, mut take: impl FnMut(Taken<'_>)) -> usize {
        let r = &self.ring;
        if r.mode == RingMode::Spsc {
            let head = self.head_local.get();
            let mut ready = self.tail_cache.get() - head;
            if ready < max as u64 {
                self.tail_cache.set(r.u64_at(TAIL).load(Ordering::Acquire));
                ready = self.tail_cache.get() - head;
            }
            let n = ready.min(max as u64);
            for i in 0..n {
                take(Taken::Slot(r, head + i));
            }
            if n > 0 {
                r.u64_at(HEAD).store(head + n, Ordering::Release);
                self.head_local.set(head + n);
                r.wake(Side::Producer);
            }
            return n as usize;
        }
        let mut n = 0;
        let mut buf = vec![0u8; r.record.size];
        while n < max {
            match self.try_pop(|r, i| r.read_slot(i, &mut buf)) {
                Step::Done(true) => {
                    take(Taken::Copied(&buf));
                    n += 1;
                }
                Step::Done(false) => {}
                Step::Wait => break,
            }
        }
        if n > 0 {
            r.wake(Side::Producer);
        }
        n
    }

    /// Receives one record into `out` with any timeout, skipping abandoned slots.
    #[inline(never)]
    fn recv_bytes_with(&self, out: &mut [u8], timeout: Timeout) -> Result<()> {
        let deadline = timeout.deadline();
        loop {
            let valid = wait_loop(
                &self.ring,
                Side::Consumer,
                deadline,
                Operation::Receive,
                Stops::of(self.cancel.as_ref()),
                || self.try_pop(|r, i| r.read_slot(i, out)),
                || self.has_data(),
            )?;
            self.ring.wake(Side::Producer);
            if valid {
                return Ok(());
            }
        }
    }
}

impl<T> Drop for RingReceiver<T> {
    fn drop(&mut self) {
        self.ring.deregister(Side::Consumer, self.entry);
    }
}

/// The methods both ends have: ownership, cancellation, clones and what describes the ring.
macro_rules! ring_end_methods {
    ($end:ident, $what:literal) => {
        impl<T> $end<T> {
            /// Attaches a [`CancelToken`]: a call that waits (spinning, then sleeping on the
            /// ring's futex) ends with [`ErrorKind::Cancelled`] as soon as the token is
            /// cancelled (the token wakes the futex). Replaces an earlier token.
            pub fn with_cancel(mut self, token: &CancelToken) -> Self {
                self.cancel = Some(token.clone());
                self
            }

            #[doc = concat!("Another ", $what, " on the same ring, with its own registration (the ring counts it as one more ", $what, ") and the same token. Only an MPMC ring admits several.")]
            ///
            /// # Errors
            ///
            #[doc = concat!("[`ErrorKind::AlreadyExists`] for an SPSC ring; [`ErrorKind::LimitExceeded`] if the ring already has 32 live ", $what, "s or the process has no descriptor left.")]
            pub fn try_clone(&self) -> Result<Self> {
                let mut clone = Self::with(self.ring.try_clone()?)?;
                clone.cancel = self.cancel.clone();
                Ok(clone)
            }

            /// Whether this handle created the ring.
            pub fn created(&self) -> bool {
                self.ring.shm.created()
            }

            /// The ring's capacity in messages.
            pub fn capacity(&self) -> usize {
                self.ring.capacity as usize
            }

            /// The ring's mode.
            pub fn mode(&self) -> RingMode {
                self.ring.mode
            }

            /// The segment's name.
            pub fn name(&self) -> &str {
                self.ring.shm.name()
            }

            /// Owner, mode and size of the segment, from `fstat` of the descriptor this handle
            /// holds (so they describe the object in use, even if its name was since given to
            /// another). Check who made a segment before trusting it with
            /// [`SegmentStat::is_private`](crate::SegmentStat::is_private) or the `uid`/`mode`
            /// fields.
            pub fn stat(&self) -> Result<crate::SegmentStat> {
                self.ring.shm.stat().map_err(as_ring)
            }

            /// Removes the segment's name; connected peers keep working.
            pub fn unlink(&self) -> Result<()> {
                self.ring.shm.unlink().map_err(as_ring)
            }
        }

        impl<T: IpcMessage> crate::owned::Removable for $end<T> {
            fn created_object(&self) -> bool {
                self.ring.shm.created()
            }
            fn owned_names(&self) -> Vec<crate::owned::OwnedName> {
                crate::owned::Removable::owned_names(&self.ring.shm)
            }
        }
    };
}

ring_end_methods!(RingSender, "producer");
ring_end_methods!(RingReceiver, "consumer");

/// The sending end of a ring whose record type is known at run time ([`RecordType`]): records
/// go in as byte slices of exactly the record size. It interoperates with a
/// [`RingReceiver<T>`] (or [`RecordReceiver`]) of the same size and fingerprint; the header is
/// checked as for a typed end. This is what the Python module's `RingSender` uses.
pub struct RecordSender(RingSender<Bytes>);

/// The receiving end of a ring whose record type is known at run time. See [`RecordSender`].
pub struct RecordReceiver(RingReceiver<Bytes>);

/// The methods both record ends have, forwarded to the ring end inside.
macro_rules! record_end_methods {
    ($end:ident, $inner:ident) => {
        impl $end {
            /// Creates the ring segment (exclusive) with `capacity` slots (a power of two) for
            /// records of `record`, and registers on it.
            pub fn create(
                name: &str,
                capacity: usize,
                mode: RingMode,
                record: &RecordType,
            ) -> Result<Self> {
                $inner::with(Ring::create(name, capacity, mode, record)?).map($end)
            }

            /// Opens an existing ring, checking its header against `record`, and registers on
            /// it.
            ///
            /// # Errors
            ///
            /// [`ErrorKind::Mismatch`] for a ring of another record size or fingerprint, as
            /// for a typed end.
            pub fn open(name: &str, record: &RecordType) -> Result<Self> {
                $inner::with(Ring::open(name, DEFAULT_OPEN_WAIT, record)?).map($end)
            }

            /// As [`open`](Self::open), also requiring this capacity and mode.
            pub fn open_checked(
                name: &str,
                record: &RecordType,
                capacity: usize,
                mode: RingMode,
            ) -> Result<Self> {
                let ring = Ring::open(name, DEFAULT_OPEN_WAIT, record)?;
                check_shape(&ring, capacity, mode)?;
                $inner::with(ring).map($end)
            }

            /// The record type this end carries.
            pub fn record(&self) -> &RecordType {
                &self.0.ring.record
            }

            /// Attaches a [`CancelToken`] (see the typed ends).
            pub fn with_cancel(self, token: &CancelToken) -> Self {
                $end(self.0.with_cancel(token))
            }

            /// Another end on the same ring (MPMC only), as for the typed ends.
            pub fn try_clone(&self) -> Result<Self> {
                self.0.try_clone().map($end)
            }

            /// Whether this handle created the ring.
            pub fn created(&self) -> bool {
                self.0.created()
            }

            /// The ring's capacity in records.
            pub fn capacity(&self) -> usize {
                self.0.capacity()
            }

            /// The ring's mode.
            pub fn mode(&self) -> RingMode {
                self.0.mode()
            }

            /// The segment's name.
            pub fn name(&self) -> &str {
                self.0.name()
            }

            /// Owner, mode and size of the segment (`fstat` of this handle's descriptor).
            pub fn stat(&self) -> Result<crate::SegmentStat> {
                self.0.stat()
            }

            /// Removes the segment's name; connected peers keep working.
            pub fn unlink(&self) -> Result<()> {
                self.0.unlink()
            }

            fn check_len(&self, op: Operation, len: usize) -> Result<()> {
                let record = &self.0.ring.record;
                if len == record.size {
                    Ok(())
                } else {
                    Err(record.wrong_length(op, object(self.name()), len))
                }
            }
        }

        impl crate::owned::Removable for $end {
            fn created_object(&self) -> bool {
                self.0.ring.shm.created()
            }
            fn owned_names(&self) -> Vec<crate::owned::OwnedName> {
                crate::owned::Removable::owned_names(&self.0.ring.shm)
            }
        }

        impl std::fmt::Debug for $end {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(
                    f,
                    "{}({:?}, {} of {} bytes, {:?}, capacity {})",
                    stringify!($end),
                    self.name(),
                    self.0.ring.record.name,
                    self.0.ring.record.size,
                    self.0.ring.mode,
                    self.0.ring.capacity
                )
            }
        }
    };
}

record_end_methods!(RecordSender, RingSender);
record_end_methods!(RecordReceiver, RingReceiver);

impl RecordSender {
    /// Sends one record, waiting while the ring is full.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] if `record` is not exactly one record long;
    /// [`ErrorKind::Disconnected`] if the ring is full and every consumer has gone.
    pub fn send(&self, record: &[u8]) -> Result<()> {
        self.check_len(Operation::Send, record.len())?;
        self.0.send_bytes(record)
    }

    /// Sends without waiting: [`ErrorKind::WouldBlock`] if the ring is full.
    pub fn try_send(&self, record: &[u8]) -> Result<()> {
        self.send_with(record, Timeout::Immediate)
    }

    /// Sends with any [`Timeout`].
    pub fn send_with(&self, record: &[u8], timeout: impl Into<Timeout>) -> Result<()> {
        self.check_len(Operation::Send, record.len())?;
        self.0.send_bytes_with(record, timeout.into())
    }
}

impl RecordSender {
    /// Sends as many records of `records` (a whole number of records, back to back) as fit
    /// now, in order, with one wake-up; returns how many.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] if `records` is not a whole number of records.
    pub fn try_send_many(&self, records: &[u8]) -> Result<usize> {
        let size = self.0.ring.record.size;
        if records.len() % size != 0 {
            return Err(self.0.ring.record.wrong_length(
                Operation::Send,
                object(self.name()),
                records.len() % size,
            ));
        }
        let n = self.0.push_many_by(records.len() / size, |r, index, i| {
            r.write_slot(index, &records[i * size..(i + 1) * size])
        });
        if n > 0 {
            self.0.ring.wake(Side::Consumer);
        }
        Ok(n)
    }

    /// Sends every record of `records` (a whole number of records, back to back), in order,
    /// waking receivers once per run that fits rather than once per record; waits as
    /// `timeout` says whenever the ring is full.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] if `records` is not a whole number of records; as
    /// [`send_with`](Self::send_with) otherwise (records sent before the error stay sent).
    pub fn send_many(&self, records: &[u8], timeout: impl Into<Timeout>) -> Result<()> {
        let size = self.0.ring.record.size;
        if records.len() % size != 0 {
            return Err(self.0.ring.record.wrong_length(
                Operation::Send,
                object(self.name()),
                records.len() % size,
            ));
        }
        let timeout = timeout.into();
        let mut rest = records;
        while !rest.is_empty() {
            let n = self.0.push_many_by(rest.len() / size, |r, index, i| {
                r.write_slot(index, &rest[i * size..(i + 1) * size])
            });
            if n > 0 {
                self.0.ring.wake(Side::Consumer);
                rest = &rest[n * size..];
                continue;
            }
            self.0.send_bytes_with(&rest[..size], timeout)?;
            rest = &rest[size..];
        }
        Ok(())
    }
}

impl RecordReceiver {
    /// Appends up to `max` records that are ready now to `out`, back to back; returns how many.
    pub fn try_recv_many(&self, out: &mut Vec<u8>, max: usize) -> usize {
        let size = self.0.ring.record.size;
        self.0.pop_many_by(max, |taken| {
            let at = out.len();
            out.resize(at + size, 0);
            taken.read(&mut out[at..]);
        })
    }

    /// Receives one record into `out` (exactly one record long), waiting as `timeout` says.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] if `out` is not one record long; as the typed
    /// receiver otherwise.
    pub fn recv_into(&self, out: &mut [u8], timeout: impl Into<Timeout>) -> Result<()> {
        self.check_len(Operation::Receive, out.len())?;
        self.0.recv_bytes_with(out, timeout.into())
    }

    /// Receives one record, waiting as `timeout` says.
    pub fn recv_with(&self, timeout: impl Into<Timeout>) -> Result<Vec<u8>> {
        let mut out = vec![0; self.0.ring.record.size];
        self.0.recv_bytes_with(&mut out, timeout.into())?;
        Ok(out)
    }

    /// Receives one record, waiting as long as it takes.
    pub fn recv(&self) -> Result<Vec<u8>> {
        self.recv_with(Timeout::Infinite)
    }

    /// Receives without waiting: [`ErrorKind::WouldBlock`] if the ring is empty.
    pub fn try_recv(&self) -> Result<Vec<u8>> {
        self.recv_with(Timeout::Immediate)
    }
}

fn check_shape(ring: &Ring, capacity: usize, mode: RingMode) -> Result<()> {
    if ring.capacity != capacity as u64 || ring.mode != mode {
        return Err(Error::new(
            ErrorKind::Mismatch,
            Operation::Open,
            object(ring.shm.name()),
            format!(
                "the ring has capacity {} in {:?} mode, not capacity {capacity} in {mode:?} mode",
                ring.capacity, ring.mode
            ),
        ));
    }
    Ok(())
}

impl<T: IpcMessage> std::fmt::Debug for RingSender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RingSender<{}>({:?}, {:?}, capacity {})",
            T::LAYOUT.name,
            self.name(),
            self.ring.mode,
            self.ring.capacity
        )
    }
}

impl<T: IpcMessage> std::fmt::Debug for RingReceiver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RingReceiver<{}>({:?}, {:?}, capacity {})",
            T::LAYOUT.name,
            self.name(),
            self.ring.mode,
            self.ring.capacity
        )
    }
}

/// Hooks of the async layer (`crate::asyncio`, feature `tokio`): wait on the segment's futex
/// without taking or publishing a message, so a task can hand the wait to a thread and do the
/// non-blocking attempt itself (a dropped future then never loses a message).
#[cfg(feature = "tokio")]
impl<T: IpcMessage> RingReceiver<T> {
    /// Sleeps until a message may be ready, every producer has gone, or `timeout` passes.
    pub(crate) fn wait_until_readable(&self, timeout: Duration) {
        wait_until(&self.ring, Side::Consumer, timeout, || self.has_data());
    }
}

#[cfg(feature = "tokio")]
impl<T: IpcMessage> RingSender<T> {
    /// Sleeps until there may be room, every consumer has gone, or `timeout` passes.
    pub(crate) fn wait_until_writable(&self, timeout: Duration) {
        wait_until(&self.ring, Side::Producer, timeout, || self.has_room());
    }
}

/// The sleeping half of `wait_loop`, without the attempt: returns when `ready()`, when the
/// other side has gone, after an MPMC repair made progress, or at `timeout`.
#[cfg(feature = "tokio")]
fn wait_until(ring: &Ring, waiting: Side, timeout: Duration, ready: impl Fn() -> bool) {
    let deadline = std::time::Instant::now().checked_add(timeout);
    let other = match waiting {
        Side::Consumer => Side::Producer,
        Side::Producer => Side::Consumer,
    };
    loop {
        if ready() || ring.disconnected(other) {
            return;
        }
        if ring.mode == RingMode::Mpmc {
            let repaired = match waiting {
                Side::Consumer => ring.repair_producer_slot(),
                Side::Producer => ring.repair_consumer_slot(),
            };
            if repaired {
                return;
            }
        }
        let left = deadline.map_or(SLEEP_SLICE, |d| {
            d.saturating_duration_since(std::time::Instant::now())
        });
        if left.is_zero() {
            return;
        }
        ring.sleep(waiting, left.min(SLEEP_SLICE), &ready, Stops::of(None));
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
