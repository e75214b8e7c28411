//! The topic segment and its protocol on bytes: [`Topic`] (the mapped segment), [`PubCore`]
//! (the publisher's side) and [`SubCore`] (a subscriber's side). The typed and frame ends wrap
//! these. The layout and the protocol are described in the parent module's documentation.

use std::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::{Policy, TopicOptions, PUBSUB_MAGIC, PUBSUB_MAX_SUBSCRIBERS, PUBSUB_VERSION};
use crate::cancel::{CancelToken, Stops};
use crate::error::{Error, ErrorKind, Object, ObjectKind, Operation, Result};
use crate::shm::{Mapping, SharedMemory};
use crate::sys;
use crate::timeout::Deadline;
use crate::typed::describe::SegmentInfo;
use crate::typed::header::{self, SegmentKind};
use crate::typed::peers::{GoneCache, Table, ENTRY, MAX_PEERS};
use crate::typed::record::RecordType;
use crate::typed::signal::{Backoff, Signal};

const POLICY: usize = 12;
const FINGERPRINT: usize = 16;
const PAYLOAD: usize = 24;
const CAPACITY: usize = 32;
const BUFFERS: usize = 40;
const STRIDE: usize = 48;
const DATA: usize = 56;
const READY: usize = 64;
const SHAPE: usize = 68;
const HISTORY: usize = 72;
const MAX_SUBSCRIBERS: usize = 80;
const STALL_MS: usize = 84;
const FRAME_HEADER: usize = 88;
const TYPE_NAME: usize = 96;
const TYPE_NAME_LEN: usize = 32;
const HEADER_LEN: usize = 128;
const TAIL: usize = 128;
const DATA_SIGNAL: usize = 256;
const SUBSCRIBERS_SLEEPING: usize = 260;
const SPACE_SIGNAL: usize = 384;
const PUBLISHER_SLEEPING: usize = 388;
const PUBLISHER_JOINED: usize = 448;
const SUBSCRIBERS_JOINED: usize = 452;
const PUBLISHERS: usize = 512;
const SUBSCRIBERS: usize = PUBLISHERS + MAX_PEERS * ENTRY;
/// Where the peer tables end (for `lifecycle`).
pub(crate) const PEER_TABLES_END: usize = SUBSCRIBERS + MAX_PEERS * ENTRY;
const CURSORS: usize = 4096;
const CURSOR_STRIDE: usize = 128;
const ENTRIES: usize = CURSORS + MAX_PEERS * CURSOR_STRIDE;
const ENTRY_LEN: usize = 32;
const HOLDER_STRIDE: usize = 64;
/// Largest log capacity.
pub(super) const CAPACITY_MAX: usize = 1 << 16;
/// Buffer stride from which a publisher reuses the newest sample's buffer (see
/// `PubCore::reuse_newest`).
const REUSE_FROM: usize = 1 << 16;
/// Passes over the retired buffers before a loan reports that none is free.
const RECYCLE_PASSES: u32 = 64;
const SLEEP_SLICE: Duration = Duration::from_millis(100);
const OPEN_WAIT: Duration = Duration::from_secs(1);

/// The shape code of a topic of fixed-size records (`Publisher<T>`).
pub(super) const SHAPE_RECORDS: u32 = 0;
/// The shape code of a topic of byte frames (`FramePublisher`).
pub(super) const SHAPE_FRAMES: u32 = 1;

pub(super) fn object(name: &str) -> Object {
    Object {
        kind: ObjectKind::Topic,
        name: Some(name.to_owned()),
    }
}

pub(super) fn as_topic(e: Error) -> Error {
    e.about(ObjectKind::Topic)
}

/// Where things are in a topic segment of this shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Geometry {
    buffers: u64,
    stride: u64,
    holders: u64,
    data: u64,
    total: u64,
}

fn geometry(payload: u64, capacity: u64, max_subscribers: u64) -> Option<Geometry> {
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

/// The mapped topic segment.
pub(crate) struct Topic {
    pub(super) shm: SharedMemory,
    ctrl: Mapping,
    data: Mapping,
    pub(super) policy: Policy,
    pub(super) capacity: u64,
    mask: u64,
    pub(super) buffers: u64,
    stride: usize,
    pub(super) max_payload: usize,
    /// Where a frame's bytes start in its buffer, after its typed header (0: none).
    pub(super) frame_offset: usize,
    pub(super) history: u64,
    pub(super) max_subscribers: usize,
    pub(super) stall: Duration,
    pub(super) record: RecordType,
    holders_at: usize,
}

/// A sample a subscriber holds: its index, the buffer it is in and its length.
#[derive(Debug, Clone, Copy)]
pub(super) struct Held {
    pub(super) index: u64,
    pub(super) buffer: u64,
    pub(super) len: usize,
}

enum Step<R> {
    Done(R),
    Wait,
}

impl Topic {
    /// Creates the segment (exclusive) for records of `record` (`shape` says fixed records or
    /// frames using at most `record.size` bytes of a buffer, of which a typed header takes the
    /// first `header_size` rounded up to 64).
    pub(super) fn create(
        name: &str,
        record: &RecordType,
        shape: u32,
        header_size: usize,
        opts: &TopicOptions,
    ) -> Result<Topic> {
        record.check(Operation::Create, || object(name))?;
        let bad = |detail: String| {
            Error::new(
                ErrorKind::InvalidArgument,
                Operation::Create,
                object(name),
                detail,
            )
        };
        let capacity = opts.capacity;
        if capacity < 2 || !capacity.is_power_of_two() || capacity > CAPACITY_MAX {
            return Err(bad(format!(
                "topic capacity {capacity} must be a power of two from 2 to {CAPACITY_MAX}"
            )));
        }
        if opts.history >= capacity {
            return Err(bad(format!(
                "history {} must be less than the capacity ({capacity}): the sample being \
                 overwritten cannot be handed to a late joiner",
                opts.history
            )));
        }
        if opts.max_subscribers == 0 || opts.max_subscribers > PUBSUB_MAX_SUBSCRIBERS {
            return Err(bad(format!(
                "max_subscribers {} must be from 1 to {PUBSUB_MAX_SUBSCRIBERS}",
                opts.max_subscribers
            )));
        }
        let stall_ms = u32::try_from(opts.stall_timeout.as_millis())
            .ok()
            .filter(|&ms| ms > 0)
            .ok_or_else(|| {
                bad(format!(
                    "stall_timeout {:?} must be from 1 ms to {} ms",
                    opts.stall_timeout,
                    u32::MAX
                ))
            })?;
        let geo = geometry(
            record.size as u64,
            capacity as u64,
            opts.max_subscribers as u64,
        )
        .ok_or_else(|| bad("the topic's size overflows the address space".to_string()))?;
        let mut head = [0u8; HEADER_LEN];
        head[0..8].copy_from_slice(&PUBSUB_MAGIC);
        head[8..12].copy_from_slice(&PUBSUB_VERSION.to_ne_bytes());
        let policy: u32 = match opts.policy {
            Policy::Block => 0,
            Policy::Overwrite => 1,
        };
        head[POLICY..POLICY + 4].copy_from_slice(&policy.to_ne_bytes());
        head[FINGERPRINT..FINGERPRINT + 8].copy_from_slice(&record.fingerprint.to_ne_bytes());
        head[PAYLOAD..PAYLOAD + 8].copy_from_slice(&(record.size as u64).to_ne_bytes());
        head[CAPACITY..CAPACITY + 8].copy_from_slice(&(capacity as u64).to_ne_bytes());
        head[BUFFERS..BUFFERS + 8].copy_from_slice(&geo.buffers.to_ne_bytes());
        head[STRIDE..STRIDE + 8].copy_from_slice(&geo.stride.to_ne_bytes());
        head[DATA..DATA + 8].copy_from_slice(&geo.data.to_ne_bytes());
        head[SHAPE..SHAPE + 4].copy_from_slice(&shape.to_ne_bytes());
        head[HISTORY..HISTORY + 8].copy_from_slice(&(opts.history as u64).to_ne_bytes());
        head[MAX_SUBSCRIBERS..MAX_SUBSCRIBERS + 4]
            .copy_from_slice(&(opts.max_subscribers as u32).to_ne_bytes());
        head[STALL_MS..STALL_MS + 4].copy_from_slice(&stall_ms.to_ne_bytes());
        head[FRAME_HEADER..FRAME_HEADER + 4].copy_from_slice(&(header_size as u32).to_ne_bytes());
        // The type's name, for `posix-ipc ls` (cut to 32 bytes at a character boundary).
        let mut cut = record.name.len().min(TYPE_NAME_LEN);
        while !record.name.is_char_boundary(cut) {
            cut -= 1;
        }
        head[TYPE_NAME..TYPE_NAME + cut].copy_from_slice(&record.name.as_bytes()[..cut]);
        let shm = SharedMemory::create(name, geo.total).map_err(as_topic)?;
        let made = Topic::init(shm, &head, &geo, record);
        if made.is_err() {
            let _ = crate::shm::unlink_shared_memory(name);
        }
        made
    }

    fn init(
        shm: SharedMemory,
        head: &[u8; HEADER_LEN],
        geo: &Geometry,
        record: &RecordType,
    ) -> Result<Topic> {
        let ctrl = shm.map_range(0, geo.data as usize).map_err(as_topic)?;
        // Everything but the ready word, which openers load atomically (ftruncate zeroed it;
        // it is stored once, atomically, below).
        ctrl.write_at(0, &head[..READY])?;
        ctrl.write_at(READY + 4, &head[READY + 4..])?;
        let data = shm
            .map_range(geo.data, (geo.buffers * geo.stride) as usize)
            .map_err(as_topic)?;
        let topic = Topic::assemble(shm, ctrl, data, head, record)?;
        topic.u32_at(READY).store(1, Ordering::Release);
        Ok(topic)
    }

    /// Opens an existing topic, checking its header against `record`, `shape` and (frames)
    /// the typed header's size and the maximum frame length asked for. The payload is mapped
    /// writable only for a publisher.
    pub(super) fn open(
        name: &str,
        record: &RecordType,
        shape: u32,
        header_size: usize,
        publisher: bool,
        frame_len: Option<usize>,
    ) -> Result<Topic> {
        let shm = SharedMemory::open(name).map_err(as_topic)?;
        let name = shm.name().to_owned();
        let mismatch = |detail: String| {
            Error::new(ErrorKind::Mismatch, Operation::Open, object(&name), detail)
        };
        // Creators size the segment in one step; any size past the control block may be one.
        let made_size = |size: u64| size > ENTRIES as u64;
        let spec = header::HeaderSpec {
            len: HEADER_LEN,
            min_size: ENTRIES,
            made_size: &made_size,
            kind: SegmentKind::Topic,
            version: PUBSUB_VERSION,
            ready: READY,
            object: object(&name),
        };
        let head = header::open_published(&shm, &spec, OPEN_WAIT, "the topic's creator", "")?;
        let u32_of = |o: usize| u32::from_ne_bytes(head[o..o + 4].try_into().unwrap_or([0; 4]));
        let u64_of = |o: usize| u64::from_ne_bytes(head[o..o + 8].try_into().unwrap_or([0; 8]));
        let (their_shape, fp, payload) = (u32_of(SHAPE), u64_of(FINGERPRINT), u64_of(PAYLOAD));
        let their_header = u64::from(u32_of(FRAME_HEADER));
        let their_offset = their_header.next_multiple_of(64);
        if their_shape != shape {
            return Err(mismatch(if their_shape == SHAPE_FRAMES {
                let (with, how) = match their_header {
                    0 => (String::new(), "FrameSubscriber::open".to_string()),
                    n => {
                        let h = type_name(&head);
                        (
                            format!(" with a {n}-byte {h} header"),
                            format!("FrameSubscriber::<{h}>::open_with_header"),
                        )
                    }
                };
                format!(
                    "the topic carries byte frames of up to {} bytes{with} (FramePublisher/\
                     FrameSubscriber), not {} records: open it with {how}",
                    payload.saturating_sub(their_offset),
                    record.name
                )
            } else {
                format!(
                    "the topic carries {payload}-byte records with layout fingerprint {fp:#018x} \
                     (Publisher<T>/Subscriber<T>), not byte frames: open it with Subscriber<T> \
                     of that type"
                )
            }));
        }
        if shape == SHAPE_RECORDS && (fp != record.fingerprint || payload != record.size as u64) {
            return Err(header::type_mismatch(
                object(&name),
                "the topic carries",
                "samples",
                (payload, fp),
                record,
            ));
        }
        if shape == SHAPE_FRAMES {
            let their_name = type_name(&head);
            match (their_header, header_size) {
                (0, 0) if fp != record.fingerprint => {
                    return Err(mismatch(format!(
                        "frame topic with fingerprint {fp:#018x}, expected {:#018x}",
                        record.fingerprint
                    )))
                }
                (0, 0) => {}
                (0, _) => {
                    return Err(mismatch(format!(
                        "the topic's frames have no header, not a {} one: open it with \
                         FrameSubscriber::open (FramePublisher::open)",
                        record.name
                    )))
                }
                (_, 0) => {
                    return Err(mismatch(format!(
                        "the topic's frames carry a {their_header}-byte {their_name} header \
                         (layout fingerprint {fp:#018x}): open it with \
                         FrameSubscriber::<{their_name}>::open_with_header \
                         (FramePublisher::<{their_name}>::open_with_header)"
                    )))
                }
                _ if fp != record.fingerprint || their_header != header_size as u64 => {
                    return Err(mismatch(format!(
                        "the topic's frames carry another header type: a {their_header}-byte \
                         {their_name} header with layout fingerprint {fp:#018x}, not {} \
                         ({header_size} bytes, fingerprint {:#018x}): open it with \
                         FrameSubscriber::<{their_name}>::open_with_header",
                        record.name, record.fingerprint
                    )))
                }
                _ => {}
            }
            if let Some(want) = frame_len {
                let theirs = payload.saturating_sub(their_offset);
                if theirs != want as u64 {
                    return Err(mismatch(format!(
                        "the topic's frames are at most {theirs} bytes, but {want} was asked \
                         for: open it with FrameSubscriber::open to take its size"
                    )));
                }
            }
        }
        let geo = geometry(
            payload,
            u64_of(CAPACITY),
            u64::from(u32_of(MAX_SUBSCRIBERS)),
        );
        let cap = u64_of(CAPACITY);
        let subs = u32_of(MAX_SUBSCRIBERS) as usize;
        let consistent = geo.filter(|g| {
            cap.is_power_of_two()
                && (2..=CAPACITY_MAX as u64).contains(&cap)
                && (1..=PUBSUB_MAX_SUBSCRIBERS).contains(&subs)
                && payload >= 1
                && payload <= crate::typed::RECORD_SIZE_MAX as u64
                && u64_of(BUFFERS) == g.buffers
                && u64_of(STRIDE) == g.stride
                && u64_of(DATA) == g.data
                && u32_of(POLICY) <= 1
                && u64_of(HISTORY) < cap
                && (if shape == SHAPE_FRAMES {
                    their_offset < payload
                } else {
                    their_header == 0
                })
        });
        let Some(geo) = consistent else {
            return Err(mismatch(format!(
                "inconsistent topic header (capacity {cap}, {subs} subscribers, {payload}-byte \
                 payload, buffers {}, stride {}, data at {}, policy {}): it was not made by this \
                 library, or was damaged",
                u64_of(BUFFERS),
                u64_of(STRIDE),
                u64_of(DATA),
                u32_of(POLICY)
            )));
        };
        let have = shm.size()?;
        if have < geo.total {
            return Err(mismatch(format!(
                "the segment is {have} bytes, smaller than the {} its header promises (it was \
                 truncated)",
                geo.total
            )));
        }
        let ctrl = shm.map_range(0, geo.data as usize).map_err(as_topic)?;
        let data = shm
            .map_range_as(geo.data, (geo.buffers * geo.stride) as usize, publisher)
            .map_err(as_topic)?;
        let mut fixed = record.clone();
        fixed.size = payload as usize;
        Topic::assemble(shm, ctrl, data, &head, &fixed)
    }

    fn assemble(
        shm: SharedMemory,
        ctrl: Mapping,
        data: Mapping,
        head: &[u8],
        record: &RecordType,
    ) -> Result<Topic> {
        let u32_of = |o: usize| u32::from_ne_bytes(head[o..o + 4].try_into().unwrap_or([0; 4]));
        let u64_of = |o: usize| u64::from_ne_bytes(head[o..o + 8].try_into().unwrap_or([0; 8]));
        let capacity = u64_of(CAPACITY);
        let geo = geometry(
            u64_of(PAYLOAD),
            capacity,
            u64::from(u32_of(MAX_SUBSCRIBERS)),
        )
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Mismatch,
                Operation::Open,
                object(shm.name()),
                "inconsistent topic header",
            )
        })?;
        Ok(Topic {
            policy: if u32_of(POLICY) == 1 {
                Policy::Overwrite
            } else {
                Policy::Block
            },
            capacity,
            mask: capacity - 1,
            buffers: geo.buffers,
            stride: geo.stride as usize,
            max_payload: u64_of(PAYLOAD) as usize,
            frame_offset: (u64::from(u32_of(FRAME_HEADER)).next_multiple_of(64) as usize)
                .min(u64_of(PAYLOAD) as usize),
            history: u64_of(HISTORY),
            max_subscribers: u32_of(MAX_SUBSCRIBERS) as usize,
            stall: Duration::from_millis(u64::from(u32_of(STALL_MS).max(1))),
            record: record.clone(),
            holders_at: geo.holders as usize,
            shm,
            ctrl,
            data,
        })
    }

    #[inline(always)]
    fn u64_at(&self, offset: usize) -> &AtomicU64 {
        debug_assert!(offset % 8 == 0 && offset + 8 <= self.ctrl.len());
        // SAFETY: every offset passed here is an 8-aligned word of the control block, inside
        // the control mapping (whose length was computed from the header checked at open or
        // written at create, and checked against the segment's size before mapping); the
        // mapping is page-aligned, so the word is 8-aligned. Every process following the layout
        // accesses these words only atomically, so a shared `&AtomicU64` is sound, and it lives
        // no longer than `&self`, which keeps the mapping.
        unsafe { &*self.ctrl.as_ptr().add(offset).cast::<AtomicU64>() }
    }

    #[inline(always)]
    fn u32_at(&self, offset: usize) -> &AtomicU32 {
        debug_assert!(offset % 4 == 0 && offset + 4 <= self.ctrl.len());
        // SAFETY: as in `u64_at`, for a 4-aligned word of the control block.
        unsafe { &*self.ctrl.as_ptr().add(offset).cast::<AtomicU32>() }
    }

    #[inline(always)]
    pub(super) fn tail(&self) -> &AtomicU64 {
        self.u64_at(TAIL)
    }

    #[inline(always)]
    fn stamp(&self, index: u64) -> &AtomicU64 {
        self.u64_at(ENTRIES + (index & self.mask) as usize * ENTRY_LEN)
    }

    #[inline(always)]
    fn entry_buffer(&self, index: u64) -> &AtomicU64 {
        self.u64_at(ENTRIES + (index & self.mask) as usize * ENTRY_LEN + 8)
    }

    #[inline(always)]
    fn entry_len(&self, index: u64) -> &AtomicU64 {
        self.u64_at(ENTRIES + (index & self.mask) as usize * ENTRY_LEN + 16)
    }

    /// The holder bits of `buffer` (`buffer < self.buffers`, checked by callers).
    #[inline(always)]
    fn holders(&self, buffer: u64) -> &AtomicU64 {
        debug_assert!(buffer < self.buffers);
        self.u64_at(self.holders_at + buffer as usize * HOLDER_STRIDE)
    }

    /// Subscriber `k`'s cursor: the index of the next sample it reads, plus 1 (0: none).
    #[inline(always)]
    fn cursor(&self, k: usize) -> &AtomicU64 {
        self.u64_at(CURSORS + k * CURSOR_STRIDE)
    }

    /// 1 while a `Block` publisher no longer waits for subscriber `k` (it was stopped).
    #[inline(always)]
    fn evicted(&self, k: usize) -> &AtomicU32 {
        self.u32_at(CURSORS + k * CURSOR_STRIDE + 8)
    }

    pub(super) fn publishers(&self) -> Table<'_> {
        Table {
            map: &self.ctrl,
            base: PUBLISHERS,
            joined: PUBLISHER_JOINED,
        }
    }

    pub(super) fn subscribers(&self) -> Table<'_> {
        Table {
            map: &self.ctrl,
            base: SUBSCRIBERS,
            joined: SUBSCRIBERS_JOINED,
        }
    }

    fn data_signal(&self) -> Signal<'_> {
        Signal {
            word: self.u32_at(DATA_SIGNAL),
            sleepers: self.u32_at(SUBSCRIBERS_SLEEPING),
        }
    }

    fn space_signal(&self) -> Signal<'_> {
        Signal {
            word: self.u32_at(SPACE_SIGNAL),
            sleepers: self.u32_at(PUBLISHER_SLEEPING),
        }
    }

    /// The first byte of `buffer`'s payload (`buffer < self.buffers`, checked by callers).
    #[inline(always)]
    pub(super) fn payload(&self, buffer: u64) -> *const u8 {
        debug_assert!(buffer < self.buffers);
        // `wrapping_add` keeps this safe; the offset is inside the data mapping, whose length
        // is `buffers × stride`.
        self.data
            .as_ptr()
            .wrapping_add(buffer as usize * self.stride)
    }

    /// Whether another process truncated the segment under us.
    fn truncated(&self) -> bool {
        self.ctrl.is_truncated() || self.data.is_truncated()
    }

    fn truncated_error(&self, op: Operation) -> Error {
        Error::new(
            ErrorKind::Mismatch,
            op,
            object(self.shm.name()),
            "another process truncated the topic's segment while it was in use: its samples \
             and state are gone; create it again",
        )
    }

    /// If subscriber entry `k` holds a dead process, takes it, undoes its cursor and holder
    /// bits and frees it (its loans come back). Returns whether it did.
    fn reap_subscriber(&self, k: usize) -> bool {
        let subs = self.subscribers();
        if !subs.claim_dead(k) {
            return false;
        }
        self.cursor(k).store(0, Ordering::Release);
        self.evicted(k).store(0, Ordering::Release);
        self.clear_holder_bit(k);
        subs.deregister(k);
        true
    }

    fn clear_holder_bit(&self, k: usize) {
        let keep = !(1u64 << k);
        for b in 0..self.buffers {
            self.holders(b).fetch_and(keep, Ordering::AcqRel);
        }
    }

    /// The lowest cursor of the subscribers a `Block` publisher waits for (`tail` if none).
    fn min_cursor(&self, tail: u64) -> u64 {
        // Pairs with the fence a joining subscriber issues after storing its cursor.
        fence(Ordering::SeqCst);
        let mut min = tail;
        for k in 0..self.max_subscribers {
            let c = self.cursor(k).load(Ordering::Acquire);
            if c != 0 && self.evicted(k).load(Ordering::Acquire) == 0 {
                min = min.min(c - 1);
            }
        }
        min
    }

    /// Live subscribers, for the handles' `subscribers()`.
    pub(super) fn live_subscribers(&self) -> usize {
        self.subscribers().live_pids().len()
    }
}

fn would_block(name: &str, op: Operation, detail: &str) -> Error {
    Error::new(ErrorKind::WouldBlock, op, object(name), detail)
}

fn timed_out(name: &str, op: Operation, detail: &str) -> Error {
    Error::new(ErrorKind::TimedOut, op, object(name), detail)
}

/// The publisher's side.
pub(crate) struct PubCore {
    pub(super) topic: Topic,
    entry: usize,
    pub(super) cancel: Option<CancelToken>,
    /// Buffers no entry refers to and no subscriber holds (the most recently freed last).
    free: Vec<u64>,
    /// Buffers no entry refers to that a subscriber still held when last checked.
    retired: Vec<u64>,
    /// The next index to publish (this publisher is the tail's only writer).
    tail: u64,
    /// The lowest cursor of the waited-for subscribers, as last scanned (`Block`).
    min_cache: u64,
    stopped_since: [Option<Instant>; MAX_PEERS],
}

impl PubCore {
    pub(super) fn new(topic: Topic) -> Result<PubCore> {
        sys::membarrier_register();
        let name = topic.shm.name().to_owned();
        let taken = |pid: u32| {
            Error::new(
                ErrorKind::AlreadyExists,
                Operation::Open,
                object(&name),
                format!(
                    "the topic already has a live publisher (pid {pid}): a topic has one \
                     publisher at a time"
                ),
            )
        };
        let pubs = topic.publishers();
        if let Some(&pid) = pubs.live_pids().first() {
            return Err(taken(pid));
        }
        let entry = pubs.register().ok_or_else(|| taken(0))?;
        // Two publishers opening at once: both back off rather than both publish.
        let me = sys::getpid();
        if let Some(pid) = (0..MAX_PEERS)
            .filter(|&i| i != entry && pubs.alive(i))
            .map(|i| pubs.pid(i).load(Ordering::Acquire))
            .next()
        {
            pubs.deregister(entry);
            return Err(taken(if pid == me { me } else { pid }));
        }
        // What a previous publisher left: buffers entries refer to are in use, buffers
        // subscribers hold are retired, the rest are free.
        let mut used = vec![false; topic.buffers as usize];
        for e in 0..topic.capacity {
            if topic.stamp(e).load(Ordering::Acquire) != 0 {
                let b = topic.entry_buffer(e).load(Ordering::Acquire);
                if b < topic.buffers {
                    used[b as usize] = true;
                }
            }
        }
        let mut free = Vec::with_capacity(topic.buffers as usize);
        let mut retired = Vec::new();
        for b in (0..topic.buffers).rev() {
            if used[b as usize] {
                continue;
            }
            if topic.holders(b).load(Ordering::Acquire) != 0 {
                retired.push(b);
            } else {
                free.push(b);
            }
        }
        let tail = topic.tail().load(Ordering::Acquire);
        Ok(PubCore {
            topic,
            entry,
            cancel: None,
            free,
            retired,
            tail,
            min_cache: tail,
            stopped_since: [None; MAX_PEERS],
        })
    }

    /// Whether the next sample may be published now (`Overwrite`: always).
    #[inline]
    fn has_room(&mut self) -> bool {
        if self.topic.policy == Policy::Overwrite
            || self.tail - self.min_cache < self.topic.capacity
        {
            return true;
        }
        self.min_cache = self.topic.min_cursor(self.tail);
        self.tail - self.min_cache < self.topic.capacity
    }

    /// A free buffer for the next sample, waiting (`Block`) until the slowest subscriber that
    /// is waited for leaves room.
    pub(super) fn loan(&mut self, deadline: Deadline) -> Result<u64> {
        if !self.has_room() {
            self.wait_room(deadline)?;
        }
        if let Some(b) = self.reuse_newest() {
            return Ok(b);
        }
        self.take_buffer()
    }

    /// For frames of [`REUSE_FROM`] bytes and more on a topic without history: the buffer of
    /// the newest sample once every subscriber has read it, so that the next frame is written
    /// into memory that is still in the caches (a ping-pong then touches one buffer per
    /// direction instead of `capacity + 1`). The newest sample's entry is invalidated first,
    /// as any entry is before its buffer is reused; no subscriber needs it (every cursor is
    /// past it, and one joining now starts at the tail).
    fn reuse_newest(&mut self) -> Option<u64> {
        let t = &self.topic;
        if t.stride < REUSE_FROM || t.history != 0 || self.tail == 0 {
            return None;
        }
        let j = self.tail - 1;
        if t.stamp(j).load(Ordering::Acquire) != j + 1 {
            return None;
        }
        self.min_cache = t.min_cursor(self.tail);
        let b = t.entry_buffer(j).load(Ordering::Relaxed);
        if self.min_cache <= j || b >= t.buffers {
            return None;
        }
        t.stamp(j).store(0, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        if t.holders(b).load(Ordering::Acquire) == 0 {
            Some(b)
        } else {
            self.retired.push(b);
            None
        }
    }

    fn wait_room(&mut self, deadline: Deadline) -> Result<()> {
        let op = Operation::Send;
        let what = "the slowest subscriber has not read the oldest sample (Policy::Block)";
        let cancel = self.cancel.clone();
        let stops = Stops::of(cancel.as_ref());
        let mut backoff = Backoff::default();
        loop {
            if self.has_room() {
                return Ok(());
            }
            if deadline == Deadline::Now {
                self.drop_stalled();
                if self.has_room() {
                    return Ok(());
                }
                return Err(would_block(self.topic.shm.name(), op, what));
            }
            if backoff.busy() {
                continue;
            }
            if self.topic.truncated() {
                return Err(self.topic.truncated_error(op));
            }
            self.drop_stalled();
            if self.has_room() {
                return Ok(());
            }
            stops.check(op, || object(self.topic.shm.name()))?;
            let slice = match deadline.remaining() {
                None => return Err(timed_out(self.topic.shm.name(), op, what)),
                Some(left) => left.min(SLEEP_SLICE).min(self.topic.stall / 4),
            };
            let (topic, tail) = (&self.topic, self.tail);
            topic.space_signal().sleep(
                slice.max(Duration::from_millis(1)),
                || tail - topic.min_cursor(tail) < topic.capacity,
                stops,
            );
        }
    }

    /// Stops waiting for subscribers that hold the publisher back and are dead (their entries
    /// are freed, their loans come back) or stopped for longer than the stall timeout (they
    /// are evicted: they get [`ErrorKind::Lagged`] for what they miss when they go on).
    fn drop_stalled(&mut self) {
        let topic = &self.topic;
        let now = Instant::now();
        let subs = topic.subscribers();
        for k in 0..topic.max_subscribers {
            let c = topic.cursor(k).load(Ordering::Acquire);
            let holding_back = c != 0
                && topic.evicted(k).load(Ordering::Acquire) == 0
                && self.tail - (c - 1).min(self.tail) >= topic.capacity;
            if !holding_back {
                self.stopped_since[k] = None;
                continue;
            }
            let pid = subs.pid(k).load(Ordering::Acquire);
            if !subs.alive(k) {
                if !topic.reap_subscriber(k) && pid == 0 {
                    // A cursor without a registration: a subscriber died between the two.
                    let _ =
                        topic
                            .cursor(k)
                            .compare_exchange(c, 0, Ordering::AcqRel, Ordering::Relaxed);
                }
                self.stopped_since[k] = None;
            } else if sys::process_stopped(pid) {
                let since = *self.stopped_since[k].get_or_insert(now);
                if now.duration_since(since) >= topic.stall {
                    topic.evicted(k).store(1, Ordering::Release);
                    self.stopped_since[k] = None;
                }
            } else {
                self.stopped_since[k] = None;
            }
        }
        self.min_cache = topic.min_cursor(self.tail);
    }

    /// Whether a loan would not wait (the async layer's readiness).
    #[cfg(feature = "tokio")]
    pub(super) fn ready_now(&mut self) -> bool {
        self.has_room() || {
            self.drop_stalled();
            self.has_room()
        }
    }

    /// Sleeps until there may be room or `timeout` passes (the async layer's wait), dropping
    /// dead and stalled subscribers as a blocking loan does.
    #[cfg(feature = "tokio")]
    pub(super) fn wait_writable(&mut self, timeout: Duration) {
        let deadline = Instant::now().checked_add(timeout);
        loop {
            if self.ready_now() {
                return;
            }
            let left =
                deadline.map_or(SLEEP_SLICE, |d| d.saturating_duration_since(Instant::now()));
            if left.is_zero() {
                return;
            }
            let (topic, tail) = (&self.topic, self.tail);
            topic.space_signal().sleep(
                left.min(SLEEP_SLICE)
                    .min(topic.stall / 4)
                    .max(Duration::from_millis(1)),
                || tail - topic.min_cursor(tail) < topic.capacity,
                Stops::of(None),
            );
        }
    }

    fn take_buffer(&mut self) -> Result<u64> {
        if let Some(b) = self.free.pop() {
            return Ok(b);
        }
        // The buffers are counted so that one is always free, but holder bits are read one
        // word at a time: a subscriber that releases one buffer and then tries another (and
        // drops it on the stamp check) can look as if it held both. A few more passes see it.
        for pass in 0..RECYCLE_PASSES {
            self.recycle();
            if let Some(b) = self.free.pop() {
                return Ok(b);
            }
            if pass == RECYCLE_PASSES / 2 {
                for k in 0..MAX_PEERS {
                    self.topic.reap_subscriber(k);
                }
            }
            std::thread::yield_now();
        }
        self.free.pop().ok_or_else(|| {
            Error::new(
                ErrorKind::LimitExceeded,
                Operation::Send,
                object(self.topic.shm.name()),
                format!(
                    "all {} sample buffers of the topic are in use ({} in the log, the rest \
                     held by subscribers or loaned): a peer is not following the protocol",
                    self.topic.buffers, self.topic.capacity
                ),
            )
        })
    }

    /// Moves retired buffers that no subscriber holds any more to the free list. The fence
    /// orders every entry invalidation before it ahead of the holder checks (see the safety
    /// argument): one fence for a whole batch of retired buffers, none on the publish path.
    fn recycle(&mut self) {
        fence(Ordering::SeqCst);
        let mut i = 0;
        while i < self.retired.len() {
            if self.topic.holders(self.retired[i]).load(Ordering::Acquire) == 0 {
                let b = self.retired.swap_remove(i);
                self.free.push(b);
            } else {
                i += 1;
            }
        }
    }

    /// Gives back a loaned buffer that was not published.
    pub(super) fn give_back(&mut self, buffer: u64) {
        self.free.push(buffer);
    }

    /// Publishes the loaned `buffer` holding `len` bytes as the next sample.
    #[inline]
    pub(super) fn publish(&mut self, buffer: u64, len: usize) {
        let t = &self.topic;
        let i = self.tail;
        let old_stamp = t.stamp(i).load(Ordering::Relaxed);
        let old_buffer = t.entry_buffer(i).load(Ordering::Relaxed);
        // Invalidate the entry first. The buffer it named is retired: it is freed only after a
        // `SeqCst` fence (in `take_buffer`, once for many) and a check of its holder bits, the
        // other half of a subscriber's "hold, fence, then re-check the stamp".
        t.stamp(i).store(0, Ordering::Relaxed);
        t.entry_buffer(i).store(buffer, Ordering::Release);
        t.entry_len(i).store(len as u64, Ordering::Release);
        t.stamp(i).store(i + 1, Ordering::Release);
        t.tail().store(i + 1, Ordering::Release);
        self.tail = i + 1;
        t.data_signal().wake();
        if old_stamp != 0 && old_buffer < t.buffers && old_buffer != buffer {
            self.retired.push(old_buffer);
        }
    }

    /// The first byte of a loaned buffer, writable.
    #[inline(always)]
    pub(super) fn payload_mut(&self, buffer: u64) -> *mut u8 {
        self.topic.payload(buffer).cast_mut()
    }
}

impl Drop for PubCore {
    fn drop(&mut self) {
        self.topic.publishers().deregister(self.entry);
        // Sleeping subscribers notice that the publisher has gone.
        self.topic.data_signal().wake_all();
    }
}

/// Where a copied sample goes.
pub(super) trait CopySink {
    /// The bytes a copy of `len` bytes goes to (again, if an earlier copy was not accepted).
    fn start(&mut self, len: usize) -> &mut [u8];

    /// Where a copy of `len` bytes goes in two parts: the first bytes of the sample, and the
    /// bytes from offset `at` (a multiple of 8) on. By default all of it goes to
    /// [`start`](Self::start).
    #[inline(always)]
    fn parts(&mut self, len: usize) -> (&mut [u8], usize, &mut [u8]) {
        (self.start(len), 0, &mut [])
    }
}

/// A frame's typed header and its bytes, copied apart: the header from the buffer's start, the
/// bytes from the frame offset on (the padding between them is not copied).
pub(super) struct SplitSink<'a> {
    pub(super) header: &'a mut [u8],
    pub(super) offset: usize,
    pub(super) out: &'a mut Vec<u8>,
}

impl CopySink for SplitSink<'_> {
    fn start(&mut self, len: usize) -> &mut [u8] {
        self.parts(len).0
    }

    fn parts(&mut self, len: usize) -> (&mut [u8], usize, &mut [u8]) {
        // A sample shorter than its header (only from a dishonest peer) fills what it has.
        let head = self.header.len().min(len);
        self.out.resize(len.saturating_sub(self.offset), 0);
        (&mut self.header[..head], self.offset, &mut self.out[..])
    }
}

/// A fixed buffer as long as any sample (a longer sample from a hostile peer is cut).
impl CopySink for &mut [u8] {
    fn start(&mut self, len: usize) -> &mut [u8] {
        let n = len.min(self.len());
        &mut self[..n]
    }
}

/// A vector that becomes the sample.
impl CopySink for Vec<u8> {
    fn start(&mut self, len: usize) -> &mut [u8] {
        // Keeps what is there (overwritten by the copy); only a longer sample writes zeros.
        self.resize(len, 0);
        self
    }
}

/// Fills `dst` from the words `first`, `first + 1`, … of a sample (`word` loads one).
#[inline(always)]
fn copy_words(dst: &mut [u8], first: usize, word: impl Fn(usize) -> [u8; 8]) {
    let mut chunks = dst.chunks_exact_mut(8);
    let mut w = first;
    for chunk in &mut chunks {
        chunk.copy_from_slice(&word(w));
        w += 1;
    }
    let rest = chunks.into_remainder();
    if !rest.is_empty() {
        let n = rest.len();
        rest.copy_from_slice(&word(w)[..n]);
    }
}

/// A subscriber's side.
pub(crate) struct SubCore {
    pub(super) topic: Topic,
    entry: usize,
    bit: u64,
    /// The next index to read.
    next: u64,
    /// Samples below this index were published before this subscriber joined: losing them
    /// (history overwritten while joining) is not reported as lag.
    joined_at: u64,
    pub(super) cancel: Option<CancelToken>,
    held: Option<u64>,
    gone: GoneCache,
}

impl SubCore {
    pub(super) fn new(topic: Topic) -> Result<SubCore> {
        sys::membarrier_register();
        let subs = topic.subscribers();
        let full = |n: usize, why: &str| {
            Error::new(
                ErrorKind::LimitExceeded,
                Operation::Open,
                object(topic.shm.name()),
                format!("the topic already has {n} live subscribers, {why}"),
            )
        };
        let k = subs
            .register()
            .ok_or_else(|| full(MAX_PEERS, "the most a topic admits"))?;
        if k >= topic.max_subscribers {
            subs.deregister(k);
            return Err(full(
                topic.max_subscribers,
                "the most it was created for (TopicOptions::max_subscribers, up to 32)",
            ));
        }
        // Holder bits a dead predecessor in this entry left are not ours.
        topic.clear_holder_bit(k);
        topic.evicted(k).store(0, Ordering::Release);
        let t0 = topic.tail().load(Ordering::Acquire);
        let start = t0 - topic.history.min(topic.capacity - 1).min(t0);
        topic.cursor(k).store(start + 1, Ordering::SeqCst);
        // Pairs with the fence of the publisher's cursor scan: from the tail read after this
        // on, the publisher sees our cursor before it overwrites anything we still need.
        fence(Ordering::SeqCst);
        let joined_at = topic.tail().load(Ordering::Acquire);
        Ok(SubCore {
            bit: 1 << k,
            entry: k,
            next: start,
            joined_at,
            cancel: None,
            held: None,
            gone: GoneCache::default(),
            topic,
        })
    }

    /// Releases the sample held, if any.
    #[inline]
    pub(super) fn release(&mut self) {
        if let Some(b) = self.held.take() {
            self.topic
                .holders(b)
                .fetch_and(!self.bit, Ordering::Release);
        }
    }

    /// Moves the cursor to `next` and tells a `Block` publisher waiting for room.
    #[inline(always)]
    fn advance(&mut self, next: u64) {
        self.next = next;
        self.topic
            .cursor(self.entry)
            .store(next + 1, Ordering::Release);
        if self.topic.policy == Policy::Block {
            self.topic.space_signal().wake();
        }
    }

    /// One attempt at taking the next sample without waiting: `take(self, index, buffer,
    /// len)` accepts the sample (holding it, or copying it out) and says whether it was still
    /// there.
    #[inline]
    fn attempt<R>(
        &mut self,
        mut take: impl FnMut(&mut Self, u64, u64, usize) -> Option<R>,
    ) -> Step<Result<R>> {
        let t = &self.topic;
        if t.evicted(self.entry).load(Ordering::Relaxed) != 0 {
            // The publisher stopped waiting for us while we were stopped: count us again.
            // What was overwritten meanwhile is found below.
            t.evicted(self.entry).store(0, Ordering::Release);
        }
        loop {
            let t = &self.topic;
            let c = self.next;
            let stamp = t.stamp(c).load(Ordering::Acquire);
            if stamp != 0 && stamp < c + 1 {
                // The entry still holds an earlier lap: sample `c` is not published yet. (While
                // polling, this entry is the one shared word looked at.)
                return Step::Wait;
            }
            if stamp == c + 1 {
                let b = t.entry_buffer(c).load(Ordering::Acquire);
                let len = t.entry_len(c).load(Ordering::Acquire);
                if b < t.buffers && len <= t.max_payload as u64 {
                    if let Some(r) = take(self, c, b, len as usize) {
                        self.advance(c + 1);
                        return Step::Done(Ok(r));
                    }
                }
            }
            let t = &self.topic;
            let tail = t.tail().load(Ordering::Acquire);
            if c >= tail {
                return Step::Wait;
            }
            let s = t.stamp(c).load(Ordering::Acquire);
            if s == c + 1 {
                continue;
            }
            // Sample `c` was published and is gone (overwritten), or its entry is damaged:
            // resume at the oldest sample that is surely still there.
            let resume = (tail + 1).saturating_sub(t.capacity).max(c + 1);
            let missed = resume.saturating_sub(c.max(self.joined_at));
            self.advance(resume);
            if missed == 0 {
                continue;
            }
            let err = Error::new(
                ErrorKind::Lagged,
                Operation::Receive,
                object(self.topic.shm.name()),
                format!(
                    "this subscriber fell behind and {missed} samples were overwritten before \
                     it read them (the topic keeps {}): it resumes at sample {resume}",
                    self.topic.capacity
                ),
            )
            .with_missed(missed);
            return Step::Done(Err(err));
        }
    }

    /// Holds sample `index` in `buffer`: sets this subscriber's holder bit, then checks that
    /// the entry still names the sample (see the safety argument).
    #[inline]
    fn hold(&mut self, index: u64, buffer: u64, len: usize) -> Option<Held> {
        let t = &self.topic;
        t.holders(buffer).fetch_or(self.bit, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        if t.stamp(index).load(Ordering::Relaxed) == index + 1 {
            self.held = Some(buffer);
            return Some(Held { index, buffer, len });
        }
        t.holders(buffer).fetch_and(!self.bit, Ordering::Release);
        None
    }

    /// Copies sample `index` (`len` bytes) out of `buffer` into `out`, then checks that the
    /// entry still names it: a copy the publisher may have overwritten meanwhile is not accepted (a seqlock read;
    /// the bytes are loaded as atomic words, so a concurrent write is not a data race). No
    /// holder bit is touched.
    #[inline]
    fn copy(&self, index: u64, buffer: u64, len: usize, out: &mut impl CopySink) -> bool {
        let t = &self.topic;
        let src = t.payload(buffer).cast::<AtomicU64>();
        let (head, at, body) = out.parts(len);
        debug_assert!(at % 8 == 0 && head.len() <= len && at + body.len() <= len.max(at));
        // The sinks give at most `len` bytes from the start and at most `len - at` from `at`.
        let head_len = head.len().min(len);
        let body_len = body.len().min(len.saturating_sub(at));
        let word = |w: usize| {
            // SAFETY: the buffer is 64-aligned and `stride` (a multiple of 64, at least the
            // payload size, so at least `len`) bytes long inside the data mapping, so each
            // 8-byte word below `len` rounded up is aligned and mapped; `copy_words` reads only
            // words holding bytes below `head_len` or from `at` to `at + body_len`, all below
            // `len`. The words are read atomically because the publisher may be writing them;
            // any value is a valid `u64`.
            unsafe { &*src.add(w) }
                .load(Ordering::Relaxed)
                .to_ne_bytes()
        };
        copy_words(&mut head[..head_len], 0, word);
        copy_words(&mut body[..body_len], at / 8, word);
        fence(Ordering::Acquire);
        t.stamp(index).load(Ordering::Relaxed) == index + 1
    }

    #[inline]
    fn has_data(&self) -> bool {
        self.topic.tail().load(Ordering::SeqCst) > self.next
    }

    /// Whether a sample (or a lag) is there: looks at the next sample's entry, the word that
    /// changes when it is published, and at the tail only when the entry is being rewritten
    /// or was overwritten (so a polling loop waits on one shared cache line, the one it reads
    /// next anyway).
    #[inline]
    pub(super) fn has_samples(&self) -> bool {
        let c = self.next;
        let stamp = self.topic.stamp(c).load(Ordering::Acquire);
        if stamp == c + 1 {
            return true;
        }
        if stamp != 0 && stamp < c + 1 {
            return false;
        }
        self.pending() > 0
    }

    /// Samples published that this subscriber has not received (or lost) yet.
    #[inline]
    pub(super) fn pending(&self) -> u64 {
        self.topic
            .tail()
            .load(Ordering::Acquire)
            .saturating_sub(self.next)
    }

    /// Takes the next sample, held in place, waiting up to `deadline`.
    pub(super) fn next(&mut self, deadline: Deadline) -> Result<Held> {
        self.release();
        self.wait_for(deadline, Self::hold)
    }

    /// Copies the next sample into `out`, waiting up to `deadline`; returns its index and
    /// length.
    pub(super) fn next_copy(
        &mut self,
        deadline: Deadline,
        out: &mut impl CopySink,
    ) -> Result<(u64, usize)> {
        self.release();
        self.wait_for(deadline, |s, i, b, len| {
            s.copy(i, b, len, out).then_some((i, len))
        })
    }

    fn wait_for<R>(
        &mut self,
        deadline: Deadline,
        mut take: impl FnMut(&mut Self, u64, u64, usize) -> Option<R>,
    ) -> Result<R> {
        if let Step::Done(r) = self.attempt(&mut take) {
            return r;
        }
        let op = Operation::Receive;
        let what = "no sample has been published since the last one received";
        let cancel = self.cancel.clone();
        let stops = Stops::of(cancel.as_ref());
        let disconnected = |name: &str| {
            Error::new(
                ErrorKind::Disconnected,
                op,
                object(name),
                "the publisher has gone (closed or died) and every sample it published was \
                 received: no sample will come until a publisher opens the topic again",
            )
        };
        if deadline == Deadline::Now {
            let gone = self
                .gone
                .disconnected(&self.topic.publishers(), self.topic.u32_at(DATA_SIGNAL));
            if gone {
                return match self.attempt(&mut take) {
                    Step::Done(r) => r,
                    Step::Wait => Err(disconnected(self.topic.shm.name())),
                };
            }
            return Err(would_block(self.topic.shm.name(), op, what));
        }
        let mut backoff = Backoff::default();
        loop {
            if let Step::Done(r) = self.attempt(&mut take) {
                return r;
            }
            if backoff.busy() {
                continue;
            }
            if self.topic.truncated() {
                return Err(self.topic.truncated_error(op));
            }
            if self.topic.publishers().disconnected() {
                return match self.attempt(&mut take) {
                    Step::Done(r) => r,
                    Step::Wait => Err(disconnected(self.topic.shm.name())),
                };
            }
            stops.check(op, || object(self.topic.shm.name()))?;
            let slice = match deadline.remaining() {
                None => return Err(timed_out(self.topic.shm.name(), op, what)),
                Some(left) => left.min(SLEEP_SLICE),
            };
            self.topic
                .data_signal()
                .sleep(slice, || self.has_data(), stops);
        }
    }

    /// Whether a receive would not wait: a sample (or a lag) is there, or the publisher has
    /// gone (the async layer's readiness).
    #[cfg(feature = "tokio")]
    pub(super) fn ready_now(&self) -> bool {
        self.has_data() || self.topic.publishers().disconnected()
    }

    /// Sleeps until a sample may be ready, the publisher has gone, or `timeout` passes (the
    /// async layer's wait; it takes the sample itself without waiting).
    #[cfg(feature = "tokio")]
    pub(super) fn wait_readable(&self, timeout: Duration) {
        let deadline = Instant::now().checked_add(timeout);
        loop {
            if self.has_data() || self.topic.publishers().disconnected() {
                return;
            }
            let left =
                deadline.map_or(SLEEP_SLICE, |d| d.saturating_duration_since(Instant::now()));
            if left.is_zero() {
                return;
            }
            self.topic.data_signal().sleep(
                left.min(SLEEP_SLICE),
                || self.has_data(),
                Stops::of(None),
            );
        }
    }
}

impl Drop for SubCore {
    fn drop(&mut self) {
        self.release();
        let t = &self.topic;
        t.cursor(self.entry).store(0, Ordering::Release);
        t.evicted(self.entry).store(0, Ordering::Release);
        t.subscribers().deregister(self.entry);
        // A publisher waiting for this subscriber goes on.
        t.space_signal().wake_all();
    }
}

/// What `posix-ipc ls` shows of a topic: its policy, sample type or frame size, samples
/// published and kept, and its publisher and subscribers.
pub(crate) fn describe(map: &Mapping) -> SegmentInfo {
    let mut info = SegmentInfo::new(SegmentKind::Topic, map);
    info.ready = header::u32_in(map, READY) == Some(1);
    if map.len() < PEER_TABLES_END {
        return info;
    }
    let Ok(head) = map.read_vec(0, HEADER_LEN) else {
        return info;
    };
    let u32_of = |o: usize| u32::from_ne_bytes(head[o..o + 4].try_into().unwrap_or([0; 4]));
    let u64_of = |o: usize| u64::from_ne_bytes(head[o..o + 8].try_into().unwrap_or([0; 8]));
    info.policy = Some(if u32_of(POLICY) == 1 {
        Policy::Overwrite
    } else {
        Policy::Block
    });
    info.fingerprint = Some(u64_of(FINGERPRINT));
    info.count = Some(header::atomic_u64(map, TAIL).load(Ordering::Acquire));
    info.capacity = Some(u64_of(CAPACITY));
    let frames = u32_of(SHAPE) == SHAPE_FRAMES;
    let frame_header = u64::from(u32_of(FRAME_HEADER));
    let payload = u64_of(PAYLOAD);
    info.type_size = Some(if frames {
        payload.saturating_sub(frame_header.next_multiple_of(64))
    } else {
        payload
    });
    if frames && frame_header > 0 {
        info.frame_header = Some((type_name(&head), frame_header));
    }
    info.type_name = Some(if frames {
        "byte frames".to_string()
    } else {
        type_name(&head)
    });
    let (p, c) = peer_tables(map);
    info.set_peers(p, c);
    info
}

/// The type name a topic header keeps (for `ls` and error messages).
fn type_name(head: &[u8]) -> String {
    let name = &head[TYPE_NAME..TYPE_NAME + TYPE_NAME_LEN];
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    String::from_utf8_lossy(&name[..end]).into_owned()
}

/// The publisher and subscriber tables of a mapped topic (for `lifecycle`).
pub(crate) fn peer_tables(map: &Mapping) -> (Table<'_>, Table<'_>) {
    (
        Table {
            map,
            base: PUBLISHERS,
            joined: PUBLISHER_JOINED,
        },
        Table {
            map,
            base: SUBSCRIBERS,
            joined: SUBSCRIBERS_JOINED,
        },
    )
}
