//! The mapped ring segment: creating and opening it, its words and slots, registration,
//! the futex handshake and the MPMC repairs.

use super::*;

/// The mapped segment, shared by the sending and receiving handles' code.
pub(super) struct Ring {
    pub(super) shm: SharedMemory,
    pub(super) map: Mapping,
    pub(super) mode: RingMode,
    pub(super) capacity: u64,
    pub(super) mask: u64,
    pub(super) stride: usize,
    /// What a slot carries (its size was checked against the header).
    pub(super) record: RecordType,
    /// Recent answers to "has the other side gone?" for non-blocking calls.
    pub(super) gone: GoneCache,
    /// Whether this handle made the ring or took it over, and so holds its owner word (cleared
    /// when it is dropped).
    pub(super) owner: bool,
}

impl Ring {
    pub(super) fn stride(size: usize, mode: RingMode) -> usize {
        match mode {
            RingMode::Spsc => size.div_ceil(16) * 16,
            RingMode::Mpmc => (size + MPMC_SLOT_HEADER).div_ceil(64) * 64,
        }
    }

    /// Creates the ring with the permission bits `permissions` (the umask applies), with the
    /// stored layout of `layout` after the slots (none for `None`: the segment then ends after
    /// the slots).
    pub(super) fn create(
        name: &str,
        capacity: usize,
        mode: RingMode,
        record: &RecordType,
        layout: Option<&crate::typed::Layout>,
        permissions: u32,
    ) -> Result<Self> {
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
        let description = header::description_of(layout);
        let shm = SharedMemory::options()
            .create_new(true)
            .mode(permissions)
            .size(total)
            .open(name)
            .map_err(as_ring)?;
        let made = header::mark_and_grow(
            &shm,
            RING_MAGIC,
            RING_VERSION,
            total + description.len() as u64,
        )
        .map_err(as_ring)
        .and_then(|()| Self::init(shm, capacity as u64, mode, stride, record, &description));
        if made.is_err() {
            let _ = crate::shm::unlink_shared_memory(name);
        }
        made
    }

    /// Creates the ring, or takes over the one there if it carries `record` with this capacity
    /// and mode and its owner is gone; the ring returned holds the owner word either way. `end`
    /// names the calling end for errors ("RingSender::<Tick>").
    pub(super) fn create_or_take_over(
        name: &str,
        capacity: usize,
        mode: RingMode,
        record: &RecordType,
        layout: Option<&crate::typed::Layout>,
        end: &str,
    ) -> Result<Self> {
        let instead = format!("open it with {end}::open");
        let how = TakeOver {
            object: object(name),
            what: "the ring",
            instead: &instead,
        };
        let (mut ring, taken) = how.run(
            || Self::create(name, capacity, mode, record, layout, DEFAULT_PERMISSIONS),
            || {
                let ring = Self::open(name, DEFAULT_OPEN_WAIT, record)?;
                check_shape(&ring, capacity, mode)?;
                Ok(ring)
            },
            Ring::owner_word,
        )?;
        if taken {
            ring.owner = true;
            ring.shm.take_over();
        }
        Ok(ring)
    }

    pub(super) fn init(
        shm: SharedMemory,
        capacity: u64,
        mode: RingMode,
        stride: usize,
        record: &RecordType,
        description: &[u8],
    ) -> Result<Self> {
        let map = shm.map().map_err(as_ring)?;
        let mut header = [0u8; 64];
        header[0..8].copy_from_slice(&RING_MAGIC);
        header[8..12].copy_from_slice(&RING_VERSION.to_ne_bytes());
        let mode_code: u32 = if mode == RingMode::Mpmc { 1 } else { 0 };
        header[MODE..MODE + 4].copy_from_slice(&mode_code.to_ne_bytes());
        header[FINGERPRINT..FINGERPRINT + 8].copy_from_slice(&record.fingerprint.to_ne_bytes());
        header[SIZE..SIZE + 8].copy_from_slice(&(record.size as u64).to_ne_bytes());
        header[CAPACITY..CAPACITY + 8].copy_from_slice(&capacity.to_ne_bytes());
        header[STRIDE..STRIDE + 8].copy_from_slice(&(stride as u64).to_ne_bytes());
        header[SLOTS_AT..SLOTS_AT + 8].copy_from_slice(&(SLOTS as u64).to_ne_bytes());
        // Everything but the ready word, which openers load atomically (ftruncate zeroed it;
        // it is stored once, atomically, below).
        map.write_at(0, &header[..READY])?;
        map.write_at(READY + 4, &header[READY + 4..])?;
        // The stored layout, after the slots, and the header words that find it.
        let slots_end = SLOTS + capacity as usize * stride;
        header::write_description(&map, DESCRIPTION_AT, slots_end, description)?;
        let ring = Ring {
            shm,
            map,
            mode,
            capacity,
            mask: capacity - 1,
            stride,
            record: record.clone(),
            gone: GoneCache::default(),
            owner: true,
        };
        if mode == RingMode::Mpmc {
            for i in 0..capacity {
                ring.slot_seq(i).store(i, Ordering::Relaxed);
            }
        }
        ring.owner_word().set_me();
        ring.u32_at(READY).store(1, Ordering::Release);
        Ok(ring)
    }

    pub(super) fn open(name: &str, wait: Duration, record: &RecordType) -> Result<Self> {
        record.check(Operation::Open, || object(name))?;
        let shm = SharedMemory::open(name).map_err(as_ring)?;
        let name = shm.name().to_owned();
        let mismatch = |detail: String| {
            Error::new(ErrorKind::Mismatch, Operation::Open, object(&name), detail)
        };
        // A creator sizes the segment to the control block plus a power of two (2 to 2^30) of
        // slots of one of the two strides (it marks the header before it grows the segment for
        // a stored layout, so a blank header is only ever seen at that size).
        let made_size = |size: u64| {
            [RingMode::Spsc, RingMode::Mpmc].iter().any(|&mode| {
                let stride = Self::stride(record.size, mode) as u64;
                (1..=30).any(|k| size == SLOTS as u64 + (stride << k))
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
        if u64_of(FINGERPRINT) != record.fingerprint || u64_of(SIZE) != size {
            return Err(header::type_mismatch(
                object(&name),
                "the ring carries",
                "messages",
                (u64_of(SIZE), u64_of(FINGERPRINT)),
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
        let capacity = u64_of(CAPACITY);
        let stride = Self::stride(record.size, mode);
        if !capacity.is_power_of_two()
            || capacity < 2
            || u64_of(STRIDE) != stride as u64
            || u64_of(SLOTS_AT) != SLOTS as u64
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
            owner: false,
        };
        Ok(ring)
    }

    /// Another mapping of the same segment, through a second descriptor.
    pub(super) fn try_clone(&self) -> Result<Self> {
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
            owner: false,
        })
    }

    /// The ring's owner word (see [`OwnerWord`]).
    pub(super) fn owner_word(&self) -> OwnerWord<'_> {
        OwnerWord(self.u64_at(OWNER))
    }

    #[inline]
    pub(super) fn u64_at(&self, offset: usize) -> &AtomicU64 {
        debug_assert!(offset % 8 == 0 && offset + 8 <= self.map.len());
        // SAFETY: `offset` is an 8-aligned offset inside the mapping (a header field or an MPMC
        // slot's sequence number; the mapping is page-aligned and its size was checked against
        // the header at open). Every process accesses these words only atomically, so a shared
        // `&AtomicU64` is sound, and it lives no longer than `&self`, which keeps the mapping.
        unsafe { &*self.map.as_ptr().add(offset).cast::<AtomicU64>() }
    }

    #[inline]
    pub(super) fn u32_at(&self, offset: usize) -> &AtomicU32 {
        debug_assert!(offset % 4 == 0 && offset + 4 <= self.map.len());
        // SAFETY: as in `u64_at`, for a 4-aligned header word.
        unsafe { &*self.map.as_ptr().add(offset).cast::<AtomicU32>() }
    }

    #[inline]
    pub(super) fn slot_offset(&self, index: u64) -> usize {
        SLOTS + (index & self.mask) as usize * self.stride
    }

    #[inline]
    pub(super) fn slot_seq(&self, index: u64) -> &AtomicU64 {
        self.u64_at(self.slot_offset(index))
    }

    #[inline]
    pub(super) fn slot_stamp(&self, index: u64) -> &AtomicU64 {
        self.u64_at(self.slot_offset(index) + 8)
    }

    #[inline]
    pub(super) fn data_offset(&self, index: u64) -> usize {
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
    pub(super) fn write_slot(&self, index: u64, bytes: &[u8]) {
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
    pub(super) fn read_slot(&self, index: u64, out: &mut [u8]) {
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
    pub(super) fn write_value<T: IpcMessage>(&self, index: u64, value: &T) {
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
    pub(super) fn read_value<T: IpcMessage>(&self, index: u64, out: &mut std::mem::MaybeUninit<T>) {
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
    pub(super) fn peers(&self, side: Side) -> Table<'_> {
        let (producers, consumers) = peer_tables(&self.map);
        match side {
            Side::Producer => producers,
            Side::Consumer => consumers,
        }
    }

    #[inline]
    pub(super) fn entry_busy(&self, side: Side, i: usize) -> &AtomicU64 {
        self.peers(side).busy(i)
    }

    /// Registers this process on `side`; returns its entry.
    pub(super) fn register(&self, side: Side) -> Result<usize> {
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

    pub(super) fn deregister(&self, side: Side, i: usize) {
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
    pub(super) fn disconnected(&self, side: Side) -> bool {
        self.peers(side).disconnected()
    }

    /// (futex word, sleeper count) a waiter on `side` uses.
    #[inline]
    pub(super) fn signal_of(&self, waiting: Side) -> (usize, usize) {
        match waiting {
            Side::Consumer => (DATA_SIGNAL, CONSUMERS_SLEEPING),
            Side::Producer => (SPACE_SIGNAL, PRODUCERS_SLEEPING),
        }
    }

    /// The futex handshake a waiter on `side` sleeps on.
    #[inline(always)]
    pub(super) fn signal(&self, waiting: Side) -> Signal<'_> {
        let (word, sleepers) = self.signal_of(waiting);
        Signal {
            word: self.u32_at(word),
            sleepers: self.u32_at(sleepers),
        }
    }

    /// Wakes sleepers of `side` if there are any (see [`Signal::wake`]).
    #[inline(always)]
    pub(super) fn wake(&self, side: Side) {
        self.signal(side).wake();
    }

    /// Sleeps on `side`'s futex until woken or `slice` passes (see [`Signal::sleep`]).
    pub(super) fn sleep(
        &self,
        side: Side,
        slice: Duration,
        ready: impl Fn() -> bool,
        stops: Stops<'_>,
    ) {
        self.signal(side).sleep(slice, ready, stops);
    }

    // --- MPMC recovery --------------------------------------------------------------------------

    /// If the next index to consume was claimed by a producer that died before publishing it,
    /// publish it as invalid so consumers skip it. Returns whether it repaired a slot.
    pub(super) fn repair_producer_slot(&self) -> bool {
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
    pub(super) fn repair_consumer_slot(&self) -> bool {
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
    pub(super) fn repair(&self, side: Side, index: u64, from: u64, to: u64) -> bool {
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

impl Drop for Ring {
    fn drop(&mut self) {
        if self.owner {
            self.owner_word().release();
        }
    }
}

/// A record `pop_many_by` took: still in its slot (SPSC, read before the head moves on) or
/// already copied out (MPMC).
pub(super) enum Taken<'a> {
    Slot(&'a Ring, u64),
    Copied(&'a [u8]),
}

impl Taken<'_> {
    /// Copies the record into `out` (one record long).
    #[inline(always)]
    pub(super) fn read(&self, out: &mut [u8]) {
        match self {
            Taken::Slot(ring, index) => ring.read_slot(*index, out),
            Taken::Copied(bytes) => out.copy_from_slice(bytes),
        }
    }
}

pub(super) fn check_shape(ring: &Ring, capacity: usize, mode: RingMode) -> Result<()> {
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
