//! The protocol of a `Shared` segment for any stored type: creating and opening it, the
//! seqlock load and store, the writer lock and waiting for a change.

use std::marker::PhantomData;
use std::sync::atomic::{fence, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::time::Duration;

use crate::cancel::{CancelToken, Stops};
use crate::error::{Error, ErrorKind, Object, ObjectKind, Operation, Result};
use crate::shm::SharedMemory;
use crate::sys;
use crate::timeout::{Deadline, Timeout};
use crate::typed::header::{self, SegmentKind};
use crate::typed::record::RecordType;

use super::*;

/// What `Shared<T>` and [`RecordShared`] share: the seqlock protocol, on bytes.
impl<T> Shared<T> {
    pub(super) fn object(name: &str) -> Object {
        Object {
            kind: ObjectKind::SharedMemory,
            name: Some(name.to_owned()),
        }
    }

    pub(super) fn total_for(size: usize) -> usize {
        HEADER + 2 * stride_of(size)
    }

    /// Creates the segment holding `initial`, with the stored layout of `layout` in a trailer
    /// after slot 1 (none for `None`: the segment then ends after slot 1).
    pub(super) fn create_record(
        name: &str,
        record: RecordType,
        layout: Option<&crate::typed::Layout>,
        initial: &[u8],
    ) -> Result<Self> {
        record.check(Operation::Create, || Self::object(name))?;
        if initial.len() != record.size {
            return Err(record.wrong_length(Operation::Create, Self::object(name), initial.len()));
        }
        let description = header::description_of(layout);
        let base = Self::total_for(record.size);
        let mut size = base;
        if !description.is_empty() {
            size += TRAILER + description.len();
        }
        let shm = SharedMemory::create(name, base as u64)?;
        let made = header::mark_and_grow(&shm, SHARED_MAGIC, SHARED_VERSION, size as u64)
            .and_then(|()| Self::init(shm, record, initial, &description));
        if made.is_err() {
            let _ = crate::shm::unlink_shared_memory(name);
        }
        made
    }

    /// Creates the segment holding `initial`, or takes over the one there if it holds
    /// `record` and its owner is gone, storing `initial` in it; the handle returned holds the
    /// owner word either way. `end` names the caller for errors ("Shared::<Pose>").
    pub(super) fn create_or_take_over_record(
        name: &str,
        record: RecordType,
        layout: Option<&crate::typed::Layout>,
        initial: &[u8],
        end: &str,
    ) -> Result<Self> {
        let instead = format!("open it with {end}::open");
        let how = TakeOver {
            object: Self::object(name),
            what: "the shared struct",
            instead: &instead,
        };
        let (mut shared, taken) = how.run(
            || Self::create_record(name, record.clone(), layout, initial),
            || Self::open_record(name, DEFAULT_OPEN_WAIT, record.clone()),
            |shared| OwnerWord(shared.atomic_u64(OWNER)),
        )?;
        if taken {
            shared.owner = true;
            shared.shm.take_over();
            shared.store_bytes(initial)?;
        }
        Ok(shared)
    }

    pub(super) fn init(
        shm: SharedMemory,
        record: RecordType,
        initial: &[u8],
        description: &[u8],
    ) -> Result<Self> {
        let map = shm.map()?;
        let header = SharedHeader {
            magic: SHARED_MAGIC,
            version: SHARED_VERSION,
            header_size: HEADER as u32,
            fingerprint: record.fingerprint,
            size: record.size as u64,
            ready: 0,
            lock: 0,
            seq: 0,
            change_waiters: 0,
            changes: 0,
            owner: 0,
        };
        // Everything but the ready word, which openers load atomically (ftruncate zeroed it;
        // it is stored once, atomically, below).
        let bytes = bytemuck::bytes_of(&header);
        map.write_at(0, &bytes[..READY])?;
        map.write_at(READY + 4, &bytes[READY + 4..])?;
        // The stored layout and the trailer words that find it, after slot 1.
        let trailer = Self::total_for(record.size);
        header::write_description(&map, trailer, trailer + TRAILER, description)?;
        sys::membarrier_register();
        let this = Shared {
            shm,
            map,
            stride: stride_of(record.size),
            cancel: None,
            record,
            owner: true,
            _type: PhantomData,
        };
        this.copy_in(0, initial);
        OwnerWord(this.atomic_u64(OWNER)).set_me();
        this.atomic_u32(READY).store(1, Ordering::Release);
        Ok(this)
    }

    pub(super) fn open_record(name: &str, wait: Duration, record: RecordType) -> Result<Self> {
        record.check(Operation::Open, || Self::object(name))?;
        let total = Self::total_for(record.size);
        let shm = SharedMemory::open(name)?;
        let name = shm.name().to_owned();
        let spec = header::HeaderSpec {
            len: HEADER,
            min_size: total,
            // A creator marks the header before it grows the segment for a stored layout: a
            // blank header is only ever seen at exactly the slots' size.
            made_size: &|size| size == total as u64,
            kind: SegmentKind::Shared,
            version: SHARED_VERSION,
            ready: READY,
            object: Self::object(&name),
        };
        let bytes = header::open_published(
            &shm,
            &spec,
            wait,
            "its creator",
            "; use RawShared for a header-less segment",
        )?;
        let mut header = SharedHeader::zeroed_header();
        bytemuck::bytes_of_mut(&mut header).copy_from_slice(&bytes);
        if header.fingerprint != record.fingerprint || header.size != record.size as u64 {
            return Err(header::type_mismatch(
                Self::object(&name),
                "the segment holds",
                "values",
                (header.size, header.fingerprint),
                &record,
            ));
        }
        let have = shm.size()?;
        if have < total as u64 {
            return Err(Error::new(
                ErrorKind::Mismatch,
                Operation::Open,
                Self::object(&name),
                format!(
                    "the segment is {have} bytes, smaller than the {total} its header promises"
                ),
            ));
        }
        let map = shm.map_range(0, total)?;
        sys::membarrier_register();
        let this = Shared {
            shm,
            map,
            stride: stride_of(record.size),
            cancel: None,
            record,
            owner: false,
            _type: PhantomData,
        };
        Ok(this)
    }

    #[inline]
    pub(super) fn atomic_u32(&self, offset: usize) -> &AtomicU32 {
        debug_assert!(offset % 4 == 0 && offset + 4 <= HEADER);
        // SAFETY: the mapping is at least HEADER bytes, page-aligned, and lives as long as
        // `&self`; `offset` is a constant 4-aligned header offset inside it. Every process
        // accesses this word only atomically (or through futex), so an `&AtomicU32` to it is
        // sound (AtomicU32 has the layout of u32 and allows shared mutation).
        unsafe { &*self.map.as_ptr().add(offset).cast::<AtomicU32>() }
    }

    #[inline]
    pub(super) fn atomic_u64(&self, offset: usize) -> &AtomicU64 {
        debug_assert!(offset % 8 == 0 && offset + 8 <= self.map.len());
        // SAFETY: as in `atomic_u32`; `offset` is 8-aligned (header field or slot word) and in
        // bounds, and the page-aligned mapping makes the address 8-aligned.
        unsafe { &*self.map.as_ptr().add(offset).cast::<AtomicU64>() }
    }

    #[inline]
    pub(super) fn atomic_u8(&self, offset: usize) -> &AtomicU8 {
        debug_assert!(offset < self.map.len());
        // SAFETY: in bounds (slot tail bytes); any address is aligned for AtomicU8.
        unsafe { &*self.map.as_ptr().add(offset).cast::<AtomicU8>() }
    }

    #[inline]
    pub(super) fn slot(&self, index: u64) -> usize {
        HEADER + (index & 1) as usize * self.stride
    }

    /// Copies slot `index` into `dst` (one record long) with relaxed atomic loads (word by
    /// word, then the tail).
    #[inline]
    pub(super) fn copy_out(&self, index: u64, dst: &mut [u8]) {
        assert_eq!(dst.len(), self.record.size, "a slot holds one whole record");
        let base = self.slot(index);
        let words = dst.len() / 8;
        for (i, chunk) in dst.chunks_exact_mut(8).enumerate() {
            let w = self.atomic_u64(base + i * 8).load(Ordering::Relaxed);
            chunk.copy_from_slice(&w.to_ne_bytes());
        }
        for (i, b) in dst[words * 8..].iter_mut().enumerate() {
            *b = self.atomic_u8(base + words * 8 + i).load(Ordering::Relaxed);
        }
    }

    #[inline]
    pub(super) fn copy_in(&self, index: u64, src: &[u8]) {
        assert_eq!(src.len(), self.record.size, "a slot takes one whole record");
        let base = self.slot(index);
        let words = src.len() / 8;
        for (i, chunk) in src.chunks_exact(8).enumerate() {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            self.atomic_u64(base + i * 8)
                .store(u64::from_ne_bytes(w), Ordering::Relaxed);
        }
        for (i, b) in src[words * 8..].iter().enumerate() {
            self.atomic_u8(base + words * 8 + i)
                .store(*b, Ordering::Relaxed);
        }
    }

    /// Copies the current value into `out` consistently (the seqlock read: retried while a
    /// store is published during the copy); returns its version.
    #[inline]
    pub(super) fn load_into(&self, out: &mut [u8]) -> u64 {
        let seq = self.atomic_u64(SEQ);
        loop {
            let before = seq.load(Ordering::Acquire);
            self.copy_out(before, out);
            fence(Ordering::Acquire);
            if seq.load(Ordering::Relaxed) == before {
                return before;
            }
            std::hint::spin_loop();
        }
    }

    /// The full layout of the stored type that the segment carries (field names, offsets,
    /// kinds, counts, nested structs), for decoding its values without the Rust type, as
    /// `posix-ipc shm info` does: see the layout table of [`Shared`]. Read from the segment
    /// (a mapping of its trailer) at each call.
    ///
    /// `None` if the segment stores none: made by a [`RecordShared`] (a [`RecordType`] has no
    /// layout) or by an earlier release, or its description is invalid or not of the
    /// fingerprint the header records.
    ///
    /// ```
    /// # use posix_ipc::{IpcMessage, Shared};
    /// # #[derive(Clone, Copy, IpcMessage)] #[repr(C)] struct Pose { x: f64, seq: u32, flags: [u8; 4] }
    /// # let name = format!("/doc-shared-layout-{}", std::process::id());
    /// let pose = Shared::create_owned(&name, &Pose { x: 1.5, seq: 7, flags: [1, 0, 0, 0] })?;
    /// let layout = pose.layout().expect("a Shared<T> stores its layout");
    /// assert!(layout.check_fingerprint(Pose::FINGERPRINT));
    /// let value = posix_ipc::typed::bytemuck::bytes_of(&pose.load()).to_vec();
    /// assert_eq!(layout.format_sample_json(&value), r#"{"x":1.5,"seq":7,"flags":[1,0,0,0]}"#);
    /// # Ok::<(), posix_ipc::Error>(())
    /// ```
    pub fn layout(&self) -> Option<crate::typed::LayoutDesc> {
        super::stored_layout_of(&self.shm)
    }

    /// Number of stores completed so far (the header's `seq`).
    pub fn version(&self) -> u64 {
        self.atomic_u64(SEQ).load(Ordering::Acquire)
    }

    pub(super) fn lock(&self) -> Result<WriteLock<'_, T>> {
        // The lock word holds the holder's pid, with WAITERS set once someone sleeps on it, so
        // an uncontended unlock is one atomic swap and no system call.
        let word = self.atomic_u32(LOCK);
        let stops = Stops::of(self.cancel.as_ref());
        let me = sys::getpid();
        let mut mine = me;
        let mut spins = 0u32;
        loop {
            let current = match word.compare_exchange(0, mine, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => return Ok(WriteLock { shared: self }),
                Err(current) => current,
            };
            let owner = current & !WAITERS;
            if owner != me && !sys::process_alive(owner) {
                // The holder died mid-store: its half-written slot was never published, so
                // taking the lock over is safe.
                if word
                    .compare_exchange(current, me | WAITERS, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
                {
                    return Ok(WriteLock { shared: self });
                }
                continue;
            }
            if spins < 100 {
                spins += 1;
                std::hint::spin_loop();
                continue;
            }
            if current & WAITERS == 0
                && word
                    .compare_exchange(
                        current,
                        current | WAITERS,
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    )
                    .is_err()
            {
                continue;
            }
            // Bounded sleep: a holder that dies without unlocking is noticed on the next turn.
            stops.check(Operation::Store, || Self::object(self.name()))?;
            {
                let _watch = stops.watch(word, false);
                if !stops.cancelled() {
                    sys::futex_wait(word, current | WAITERS, Duration::from_millis(10));
                }
            }
            // Having slept, take the lock as "contended" so our unlock wakes the next sleeper.
            mine = me | WAITERS;
        }
    }

    pub(super) fn publish(&self, value: &[u8]) {
        let seq = self.atomic_u64(SEQ);
        let next = seq.load(Ordering::Relaxed).wrapping_add(1);
        self.copy_in(next, value);
        seq.store(next, Ordering::Release);
        // The writer's half of the handshake with `wait_change` (as the ring's `wake`): the seq
        // store is ordered before the load of the waiter count by the waiter's membarrier when
        // this process is registered, by a full fence otherwise.
        if sys::membarrier_registered() {
            std::sync::atomic::compiler_fence(Ordering::SeqCst);
        } else {
            fence(Ordering::SeqCst);
        }
        if self.atomic_u32(CHANGE_WAITERS).load(Ordering::Relaxed) != 0 {
            let changes = self.atomic_u32(CHANGES);
            changes.fetch_add(1, Ordering::SeqCst);
            sys::futex_wake(changes, i32::MAX);
        }
    }

    /// The seqlock wait of [`Shared::wait_change`], copying the new value into `out`;
    /// returns its version.
    pub(super) fn wait_change_into(
        &self,
        since: u64,
        timeout: Timeout,
        out: &mut [u8],
    ) -> Result<u64> {
        let deadline = timeout.deadline();
        let stops = Stops::of(self.cancel.as_ref());
        let op = Operation::Load;
        let seq = self.atomic_u64(SEQ);
        let waiters = self.atomic_u32(CHANGE_WAITERS);
        let changes = self.atomic_u32(CHANGES);
        loop {
            if seq.load(Ordering::Acquire) != since {
                self.check_truncation(op)?;
                return Ok(self.load_into(out));
            }
            if deadline == Deadline::Now {
                return Err(Error::new(
                    ErrorKind::WouldBlock,
                    op,
                    Self::object(self.name()),
                    format!("no store after version {since} yet"),
                ));
            }
            stops.check(op, || Self::object(self.name()))?;
            self.check_truncation(op)?;
            let Some(left) = deadline.remaining() else {
                return Err(Error::new(
                    ErrorKind::TimedOut,
                    op,
                    Self::object(self.name()),
                    format!("no store after version {since} before the timeout expired"),
                ));
            };
            let _watch = stops.watch(changes, true);
            waiters.fetch_add(1, Ordering::SeqCst);
            // As the ring's `sleep`: the barrier fences every registered writer's CPU, so a
            // store published before it is seen below, and one after it sees the waiter; if
            // the barrier fails, sleep in 1 ms slices. Writers that do not follow the protocol
            // (C, older releases) are noticed within the 100 ms slice.
            let slice = if sys::membarrier_global() {
                left.min(Duration::from_millis(100))
            } else {
                left.min(Duration::from_millis(1))
            };
            let seen = changes.load(Ordering::SeqCst);
            if seq.load(Ordering::SeqCst) == since && !stops.cancelled() {
                sys::futex_wait(changes, seen, slice);
            }
            waiters.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Attaches a [`CancelToken`]: a [`wait_change`](Self::wait_change) ends at once, and a
    /// store waiting for the write lock within 10 ms, with [`ErrorKind::Cancelled`] when the
    /// token is cancelled. Replaces an earlier token.
    pub fn with_cancel(mut self, token: &CancelToken) -> Self {
        self.cancel = Some(token.clone());
        self
    }

    /// Whether this handle created the segment.
    pub fn created(&self) -> bool {
        self.shm.created()
    }

    /// Stores one record under the write lock.
    #[inline]
    pub(super) fn store_bytes(&self, value: &[u8]) -> Result<()> {
        let _lock = self.lock()?;
        self.publish(value);
        self.check_truncation(Operation::Store)
    }

    /// A peer truncating the segment turns its pages into zeros here (see
    /// [`Mapping::is_truncated`]): stores are then lost, so they fail.
    pub(super) fn check_truncation(&self, op: Operation) -> Result<()> {
        if self.map.is_truncated() {
            return Err(Error::new(
                ErrorKind::Mismatch,
                op,
                Self::object(self.name()),
                "another process truncated the segment while it was in use: its contents are \
                 gone (loads return zeros, stores are lost); create it again",
            ));
        }
        Ok(())
    }

    /// The segment's name.
    pub fn name(&self) -> &str {
        self.shm.name()
    }

    /// Owner, mode and size of the segment, from `fstat` of the descriptor this handle holds
    /// (so they describe the object in use, even if its name was since given to another).
    /// Check who made a segment before trusting it with
    /// [`SegmentStat::is_private`](crate::SegmentStat::is_private) or the `uid`/`mode` fields.
    pub fn stat(&self) -> Result<crate::SegmentStat> {
        self.shm.stat()
    }

    /// Removes the segment's name (`shm_unlink`); mapped users keep working.
    pub fn unlink(&self) -> Result<()> {
        self.shm.unlink()
    }
}
