//! [`Topic`]: the mapped segment, its words, and what the publisher and subscribers both do.

use std::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use super::{Policy, TopicOptions, PUBSUB_MAGIC, PUBSUB_MAX_SUBSCRIBERS, PUBSUB_VERSION};
use crate::error::{Error, ErrorKind, Operation, Result};
use crate::shm::{Mapping, SharedMemory};
use crate::typed::header::{self, SegmentKind};
use crate::typed::layout::LayoutDesc;
use crate::typed::peers::{OwnerWord, Table};
use crate::typed::record::RecordType;
use crate::typed::signal::Signal;

use super::*;

/// The mapped topic segment.
pub(crate) struct Topic {
    pub(in crate::typed::pubsub) shm: SharedMemory,
    pub(super) ctrl: Mapping,
    pub(super) data: Mapping,
    pub(in crate::typed::pubsub) policy: Policy,
    pub(in crate::typed::pubsub) capacity: u64,
    pub(super) mask: u64,
    pub(in crate::typed::pubsub) buffers: u64,
    pub(super) stride: usize,
    pub(in crate::typed::pubsub) max_payload: usize,
    /// Where a frame's bytes start in its buffer, after its typed header (0: none).
    pub(in crate::typed::pubsub) frame_offset: usize,
    pub(in crate::typed::pubsub) history: u64,
    pub(in crate::typed::pubsub) max_subscribers: usize,
    pub(in crate::typed::pubsub) stall: Duration,
    pub(in crate::typed::pubsub) record: RecordType,
    pub(super) holders_at: usize,
    /// Records or frames (`SHAPE_RECORDS`, `SHAPE_FRAMES`).
    pub(in crate::typed::pubsub) shape: u32,
    /// Frames: the typed header's exact size (0: none).
    pub(in crate::typed::pubsub) header_size: usize,
}

/// A sample a subscriber holds: its index, the buffer it is in and its length.
#[derive(Debug, Clone, Copy)]
pub(in crate::typed::pubsub) struct Held {
    pub(in crate::typed::pubsub) index: u64,
    pub(in crate::typed::pubsub) buffer: u64,
    pub(in crate::typed::pubsub) len: usize,
    /// When it was published (`CLOCK_MONOTONIC` ns).
    pub(in crate::typed::pubsub) published: u64,
}

pub(super) enum Step<R> {
    Done(R),
    Wait,
}

impl Topic {
    /// Creates the segment (exclusive) for records of `record` (`shape` says fixed records or
    /// frames using at most `record.size` bytes of a buffer, of which a typed header takes the
    /// first `header_size` rounded up to 64).
    pub(in crate::typed::pubsub) fn create(
        name: &str,
        record: &RecordType,
        shape: u32,
        header_size: usize,
        layout: Option<&LayoutDesc>,
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
        if opts.mode > 0o7777 {
            return Err(bad(format!(
                "mode {:#o} is not permission bits (at most 0o7777)",
                opts.mode
            )));
        }
        let (capacity, max_subscribers) = opts.resolved(shape == SHAPE_FRAMES);
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
        if max_subscribers == 0 || max_subscribers > PUBSUB_MAX_SUBSCRIBERS {
            return Err(bad(format!(
                "max_subscribers {max_subscribers} must be from 1 to {PUBSUB_MAX_SUBSCRIBERS}"
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
        let geo = geometry(record.size as u64, capacity as u64, max_subscribers as u64)
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
            .copy_from_slice(&(max_subscribers as u32).to_ne_bytes());
        head[STALL_MS..STALL_MS + 4].copy_from_slice(&stall_ms.to_ne_bytes());
        head[FRAME_HEADER..FRAME_HEADER + 4].copy_from_slice(&(header_size as u32).to_ne_bytes());
        // The type's name, for `posix-ipc ls` (cut to 32 bytes at a character boundary).
        let mut cut = record.name.len().min(TYPE_NAME_LEN);
        while !record.name.is_char_boundary(cut) {
            cut -= 1;
        }
        head[TYPE_NAME..TYPE_NAME + cut].copy_from_slice(&record.name.as_bytes()[..cut]);
        // The layout, for tools and other languages, after the buffers.
        let description = layout.map(LayoutDesc::encode).unwrap_or_default();
        let size = geo.total + description.len() as u64;
        let shm = SharedMemory::options()
            .create_new(true)
            .mode(opts.mode)
            .size(size)
            .open(name)
            .map_err(as_topic)?;
        let made = Topic::init(shm, &head, &geo, record, &description);
        if made.is_err() {
            let _ = crate::shm::unlink_shared_memory(name);
        }
        made
    }

    pub(super) fn init(
        shm: SharedMemory,
        head: &[u8; HEADER_LEN],
        geo: &Geometry,
        record: &RecordType,
        description: &[u8],
    ) -> Result<Topic> {
        let ctrl = shm.map_range(0, geo.data as usize).map_err(as_topic)?;
        if !description.is_empty() {
            let page = geo.total & !4095;
            let tail = shm
                .map_range(page, (geo.total - page) as usize + description.len())
                .map_err(as_topic)?;
            tail.write_at((geo.total - page) as usize, description)?;
            header::atomic_u64(&ctrl, DESCRIPTION_AT).store(geo.total, Ordering::Relaxed);
            header::atomic_u64(&ctrl, DESCRIPTION_LEN)
                .store(description.len() as u64, Ordering::Relaxed);
        }
        // Everything but the ready word, which openers load atomically (ftruncate zeroed it;
        // it is stored once, atomically, below).
        ctrl.write_at(0, &head[..READY])?;
        ctrl.write_at(READY + 4, &head[READY + 4..])?;
        let data = shm
            .map_range(geo.data, (geo.buffers * geo.stride) as usize)
            .map_err(as_topic)?;
        let topic = Topic::assemble(shm, ctrl, data, head, record)?;
        topic.owner().set_me();
        topic.u32_at(READY).store(1, Ordering::Release);
        Ok(topic)
    }

    /// Opens an existing topic, checking its header against `record`, `shape` and (frames)
    /// the typed header's size and the maximum frame length asked for. The payload is mapped
    /// writable only for a publisher.
    pub(in crate::typed::pubsub) fn open(
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

    pub(super) fn assemble(
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
            shape: u32_of(SHAPE),
            header_size: u32_of(FRAME_HEADER) as usize,
            shm,
            ctrl,
            data,
        })
    }

    #[inline(always)]
    pub(super) fn u64_at(&self, offset: usize) -> &AtomicU64 {
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
    pub(super) fn u32_at(&self, offset: usize) -> &AtomicU32 {
        debug_assert!(offset % 4 == 0 && offset + 4 <= self.ctrl.len());
        // SAFETY: as in `u64_at`, for a 4-aligned word of the control block.
        unsafe { &*self.ctrl.as_ptr().add(offset).cast::<AtomicU32>() }
    }

    #[inline(always)]
    pub(in crate::typed::pubsub) fn tail(&self) -> &AtomicU64 {
        self.u64_at(TAIL)
    }

    #[inline(always)]
    pub(super) fn stamp(&self, index: u64) -> &AtomicU64 {
        self.u64_at(ENTRIES + (index & self.mask) as usize * ENTRY_LEN)
    }

    #[inline(always)]
    pub(super) fn entry_buffer(&self, index: u64) -> &AtomicU64 {
        self.u64_at(ENTRIES + (index & self.mask) as usize * ENTRY_LEN + 8)
    }

    #[inline(always)]
    pub(super) fn entry_len(&self, index: u64) -> &AtomicU64 {
        self.u64_at(ENTRIES + (index & self.mask) as usize * ENTRY_LEN + 16)
    }

    /// The generation of the publisher that published the entry's sample (0: a publisher that
    /// predates generations).
    #[inline(always)]
    pub(super) fn entry_generation(&self, index: u64) -> &AtomicU64 {
        self.u64_at(ENTRIES + (index & self.mask) as usize * ENTRY_LEN + 24)
    }

    /// When the entry's sample was published (`CLOCK_MONOTONIC` ns, as `now_ns`; a bridge or a
    /// replay stores the original publisher's), stored before the stamp.
    #[inline(always)]
    pub(super) fn entry_published(&self, index: u64) -> &AtomicU64 {
        self.u64_at(ENTRIES + (index & self.mask) as usize * ENTRY_LEN + 32)
    }

    /// Publishers the topic has had (the current or last one's generation).
    pub(in crate::typed::pubsub) fn generation(&self) -> &AtomicU64 {
        self.u64_at(GENERATION)
    }

    /// The process that owns the topic's name (made it or took it over), while it publishes.
    pub(in crate::typed::pubsub) fn owner(&self) -> OwnerWord<'_> {
        OwnerWord(self.u64_at(OWNER))
    }

    /// The holder bits of `buffer` (`buffer < self.buffers`, checked by callers).
    #[inline(always)]
    pub(super) fn holders(&self, buffer: u64) -> &AtomicU64 {
        debug_assert!(buffer < self.buffers);
        self.u64_at(self.holders_at + buffer as usize * HOLDER_STRIDE)
    }

    /// Subscriber `k`'s cursor: the index of the next sample it reads, plus 1 (0: none).
    #[inline(always)]
    pub(super) fn cursor(&self, k: usize) -> &AtomicU64 {
        self.u64_at(CURSORS + k * CURSOR_STRIDE)
    }

    /// 1 while a `Block` publisher no longer waits for subscriber `k` (it was stopped).
    #[inline(always)]
    pub(super) fn evicted(&self, k: usize) -> &AtomicU32 {
        self.u32_at(CURSORS + k * CURSOR_STRIDE + 8)
    }

    pub(in crate::typed::pubsub) fn publishers(&self) -> Table<'_> {
        Table {
            map: &self.ctrl,
            base: PUBLISHERS,
            joined: PUBLISHER_JOINED,
        }
    }

    pub(in crate::typed::pubsub) fn subscribers(&self) -> Table<'_> {
        Table {
            map: &self.ctrl,
            base: SUBSCRIBERS,
            joined: SUBSCRIBERS_JOINED,
        }
    }

    pub(super) fn data_signal(&self) -> Signal<'_> {
        Signal {
            word: self.u32_at(DATA_SIGNAL),
            sleepers: self.u32_at(SUBSCRIBERS_SLEEPING),
        }
    }

    pub(super) fn space_signal(&self) -> Signal<'_> {
        Signal {
            word: self.u32_at(SPACE_SIGNAL),
            sleepers: self.u32_at(PUBLISHER_SLEEPING),
        }
    }

    /// The first byte of `buffer`'s payload (`buffer < self.buffers`, checked by callers).
    #[inline(always)]
    pub(in crate::typed::pubsub) fn payload(&self, buffer: u64) -> *const u8 {
        debug_assert!(buffer < self.buffers);
        // `wrapping_add` keeps this safe; the offset is inside the data mapping, whose length
        // is `buffers × stride`.
        self.data
            .as_ptr()
            .wrapping_add(buffer as usize * self.stride)
    }

    /// The layout its creator stored (of the sample type, or of the frames' header), if any
    /// and if it reads back as a valid description.
    pub(crate) fn stored_layout(&self) -> Option<LayoutDesc> {
        let at = self.u64_at(DESCRIPTION_AT).load(Ordering::Acquire);
        let len = self.u64_at(DESCRIPTION_LEN).load(Ordering::Acquire);
        if at == 0 || len == 0 || len > 1 << 20 {
            return None;
        }
        let end = at.checked_add(len)?;
        if end > self.shm.size().ok()? {
            return None;
        }
        let page = at & !4095;
        let map = self.shm.map_range(page, (end - page) as usize).ok()?;
        let bytes = map.read_vec((at - page) as usize, len as usize).ok()?;
        LayoutDesc::decode(&bytes).ok()
    }

    /// Whether another process truncated the segment under us.
    pub(super) fn truncated(&self) -> bool {
        self.ctrl.is_truncated() || self.data.is_truncated()
    }

    pub(super) fn truncated_error(&self, op: Operation) -> Error {
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
    pub(super) fn reap_subscriber(&self, k: usize) -> bool {
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

    pub(super) fn clear_holder_bit(&self, k: usize) {
        let keep = !(1u64 << k);
        for b in 0..self.buffers {
            self.holders(b).fetch_and(keep, Ordering::AcqRel);
        }
    }

    /// The lowest cursor of the subscribers a `Block` publisher waits for (`tail` if none).
    pub(super) fn min_cursor(&self, tail: u64) -> u64 {
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

    /// Live subscribers that have joined, for the handles' `subscribers()`. A subscriber
    /// enters the table a moment before it places its cursor at the tail, and a sample
    /// published in that moment is not its to read: it counts once its cursor is placed, so a
    /// publisher that waits for `subscribers()` before publishing loses nothing to it.
    pub(in crate::typed::pubsub) fn live_subscribers(&self) -> usize {
        let table = self.subscribers();
        (0..self.max_subscribers)
            .filter(|&k| self.cursor(k).load(Ordering::Acquire) != 0 && table.alive(k))
            .count()
    }
}

pub(super) fn would_block(name: &str, op: Operation, detail: &str) -> Error {
    Error::new(ErrorKind::WouldBlock, op, object(name), detail)
}

pub(super) fn timed_out(name: &str, op: Operation, detail: &str) -> Error {
    Error::new(ErrorKind::TimedOut, op, object(name), detail)
}

/// A second mapping of a topic's control block (up to the log), for [`TopicStatus`]
/// (super::super::TopicStatus): it outlives no handle's borrow.
pub(crate) struct TopicView {
    ctrl: Mapping,
    max_subscribers: usize,
}

impl TopicView {
    pub(in crate::typed::pubsub) fn map(topic: &Topic) -> Result<TopicView> {
        Ok(TopicView {
            ctrl: topic.shm.map_range(0, ENTRIES).map_err(as_topic)?,
            max_subscribers: topic.max_subscribers,
        })
    }

    fn u64_at(&self, offset: usize) -> &AtomicU64 {
        header::atomic_u64(&self.ctrl, offset)
    }

    pub(in crate::typed::pubsub) fn tail(&self) -> u64 {
        self.u64_at(TAIL).load(Ordering::Acquire)
    }

    pub(in crate::typed::pubsub) fn generation(&self) -> u64 {
        self.u64_at(GENERATION).load(Ordering::Acquire)
    }

    pub(in crate::typed::pubsub) fn cursor(&self, k: usize) -> &AtomicU64 {
        self.u64_at(CURSORS + k * CURSOR_STRIDE)
    }

    pub(in crate::typed::pubsub) fn publisher_alive(&self) -> bool {
        let table = Table {
            map: &self.ctrl,
            base: PUBLISHERS,
            joined: PUBLISHER_JOINED,
        };
        (0..crate::typed::peers::MAX_PEERS).any(|i| table.alive(i))
    }

    pub(in crate::typed::pubsub) fn live_subscribers(&self) -> usize {
        let table = Table {
            map: &self.ctrl,
            base: SUBSCRIBERS,
            joined: SUBSCRIBERS_JOINED,
        };
        (0..self.max_subscribers)
            .filter(|&k| self.cursor(k).load(Ordering::Acquire) != 0 && table.alive(k))
            .count()
    }

    /// The most samples a live subscriber has yet to receive.
    pub(in crate::typed::pubsub) fn most_pending(&self) -> u64 {
        let table = Table {
            map: &self.ctrl,
            base: SUBSCRIBERS,
            joined: SUBSCRIBERS_JOINED,
        };
        let tail = self.tail();
        (0..self.max_subscribers)
            .filter(|&k| table.alive(k))
            .map(|k| self.cursor(k).load(Ordering::Acquire))
            .filter(|&cursor| cursor != 0)
            .map(|cursor| tail.saturating_sub(cursor - 1))
            .max()
            .unwrap_or(0)
    }
}
