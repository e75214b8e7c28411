//! Typed shared memory: [`Shared<T>`], a struct in a named segment that several processes load
//! and store safely, and [`RawShared<T>`], the header-less form for C and Python peers that
//! know only the struct layout.

use std::marker::PhantomData;
use std::sync::atomic::{fence, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::time::Duration;

use super::describe::SegmentInfo;
use super::header::{self, SegmentKind};
use super::record::{Bytes, RecordType};
use super::IpcMessage;
use crate::cancel::{CancelToken, Stops};
use crate::error::{Error, ErrorKind, Object, ObjectKind, Operation, Result};
use crate::shm::{Mapping, SharedMemory};
use crate::sys;
use crate::timeout::{Deadline, Timeout};

/// The 8 magic bytes at the start of a `Shared<T>` segment.
pub const SHARED_MAGIC: [u8; 8] = super::header::SegmentKind::Shared.magic();
/// The segment layout version this crate writes and accepts.
pub const SHARED_VERSION: u32 = 1;
const HEADER: usize = 64;
const READY: usize = 32;
const LOCK: usize = 36;
const SEQ: usize = 40;
/// Readers sleeping in `wait_change` (a count).
const CHANGE_WAITERS: usize = 48;
/// The futex word `wait_change` sleeps on: bumped by a store that finds waiters.
const CHANGES: usize = 52;
/// Set in the lock word while a writer sleeps on it (pids stay below 2^22 on Linux).
const WAITERS: u32 = 1 << 31;
const DEFAULT_OPEN_WAIT: Duration = Duration::from_secs(1);

/// The header of a `Shared<T>` segment, as a plain struct (for documentation and for peers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
pub struct SharedHeader {
    /// [`SHARED_MAGIC`].
    pub magic: [u8; 8],
    /// [`SHARED_VERSION`].
    pub version: u32,
    /// 64.
    pub header_size: u32,
    /// Layout fingerprint of the stored type.
    pub fingerprint: u64,
    /// Size of the stored type.
    pub size: u64,
    /// 1 once the creator has published the segment.
    pub ready: u32,
    /// Pid of the writer holding the lock, or 0.
    pub lock: u32,
    /// Completed stores; the current value is in slot `seq & 1`.
    pub seq: u64,
    /// Readers sleeping in [`Shared::wait_change`] now.
    pub change_waiters: u32,
    /// Bumped (and futex-woken) by a store that finds `change_waiters` non-zero.
    pub changes: u32,
    /// Zero.
    pub reserved: [u8; 8],
}

const _: () = assert!(std::mem::size_of::<SharedHeader>() == HEADER);

impl SharedHeader {
    /// Python `struct` format of the header (native order, as written).
    pub const PYTHON_FORMAT: &'static str = if cfg!(target_endian = "little") {
        "<8sIIQQIIQII8s"
    } else {
        ">8sIIQQIIQII8s"
    };
}

fn stride_of(size: usize) -> usize {
    size.div_ceil(64).max(1) * 64
}

/// A `T` in a named shared-memory segment, loaded and stored whole by any number of processes.
///
/// Never hands out a `&T` into memory another process may write: [`load`](Self::load) returns
/// a consistent copy, [`store`](Self::store) and [`update`](Self::update) write under a
/// cross-process lock.
///
/// # Segment layout (for C and Python peers)
///
/// | offset | size | field | meaning |
/// |---|---|---|---|
/// | 0 | 8 | `magic` | `b"PIPCSHM\0"` |
/// | 8 | 4 | `version` | 1 |
/// | 12 | 4 | `header_size` | 64 |
/// | 16 | 8 | `fingerprint` | [`Layout::fingerprint`](super::Layout::fingerprint) of `T` |
/// | 24 | 8 | `size` | `size_of::<T>()` |
/// | 32 | 4 | `ready` | 0 while the creator initialises, 1 once published (stored last) |
/// | 36 | 4 | `lock` | 0, or the pid of the writer holding the write lock, with bit 31 set while another writer sleeps on it (a futex word) |
/// | 40 | 8 | `seq` | number of completed stores; the current value is in slot `seq & 1` |
/// | 48 | 4 | `change_waiters` | readers sleeping in [`wait_change`](Self::wait_change) |
/// | 52 | 4 | `changes` | a futex word those readers sleep on, bumped by a store that finds waiters |
/// | 56 | 8 | reserved | zero |
/// | 64 | `stride` | slot 0 | a `T` |
/// | 64 + `stride` | `stride` | slot 1 | a `T` |
///
/// `stride` is `size_of::<T>()` rounded up to 64. All integers are native-endian.
///
/// A store takes the write lock, writes the value into the slot **not** being read
/// (`(seq + 1) & 1`), then publishes it by incrementing `seq` (release). A load reads `seq`
/// (acquire), copies slot `seq & 1`, and accepts the copy only if `seq` has not changed
/// meanwhile, otherwise it retries. So a reader never accepts a torn value, never waits for a
/// writer, and a writer killed mid-store leaves the published value intact. A writer that dies
/// holding the lock is detected (its pid no longer exists) and the lock is taken over.
///
/// A reader that must react to changes sleeps in [`wait_change`](Self::wait_change) instead of
/// polling: a store that finds `change_waiters` non-zero bumps `changes` and wakes it. A C
/// writer that does not know this protocol still works: the readers then notice its stores
/// within 100 ms.
///
/// ```
/// use posix_ipc::{IpcMessage, Shared};
///
/// #[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
/// #[repr(C)]
/// struct Position { x: f64, y: f64, stamp: u64 }
///
/// # let name = format!("/doc-shared-{}", std::process::id());
/// let a = Shared::create(&name, &Position { x: 0.0, y: 0.0, stamp: 0 })?;
/// let b = Shared::<Position>::open(&name)?;          // checks type fingerprint and size
/// a.store(&Position { x: 1.0, y: 2.0, stamp: 1 })?;
/// assert_eq!(b.load().stamp, 1);
/// b.update(|p| p.stamp += 1)?;
/// assert_eq!(a.load().stamp, 2);
/// a.unlink()?;
/// # Ok::<(), posix_ipc::Error>(())
/// ```
pub struct Shared<T> {
    shm: SharedMemory,
    map: Mapping,
    stride: usize,
    cancel: Option<CancelToken>,
    /// What the slots hold (checked against the header).
    record: RecordType,
    _type: PhantomData<T>,
}

impl<T: IpcMessage> Shared<T> {
    /// Creates the segment for `T` holding `initial` (exclusive: fails if the name exists). The
    /// header's `ready` flag is stored last, so no opener ever sees a half-made segment as
    /// ready.
    pub fn create(name: &str, initial: &T) -> Result<Self> {
        Self::create_record(name, RecordType::of::<T>(), bytemuck::bytes_of(initial))
    }

    /// Opens an existing segment made for `T`, waiting up to one second for its creator to
    /// finish initialising it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Mismatch`] if the segment was made for another type (fingerprint or size
    /// differ) or is not a `Shared` segment; [`ErrorKind::NotInitialized`] if its creator has
    /// not published it in time; [`ErrorKind::NotFound`] if it does not exist.
    pub fn open(name: &str) -> Result<Self> {
        Self::open_timeout(name, DEFAULT_OPEN_WAIT)
    }

    /// As [`open`](Self::open), waiting at most `wait` for the creator.
    pub fn open_timeout(name: &str, wait: Duration) -> Result<Self> {
        Self::open_record(name, wait, RecordType::of::<T>())
    }

    /// Opens the segment, creating it with `initial` if it does not exist.
    pub fn open_or_create(name: &str, initial: &T) -> Result<Self> {
        match Self::create(name, initial) {
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Self::open(name),
            other => other,
        }
    }

    /// A consistent copy of the current value. Never blocks on a writer and never returns a
    /// torn value: it retries while a store is published during the copy.
    #[inline]
    pub fn load(&self) -> T {
        self.load_versioned().0
    }

    /// A consistent copy of the current value with its version (the number of stores that
    /// produced it).
    #[inline]
    pub fn load_versioned(&self) -> (T, u64) {
        let mut value = T::zeroed();
        let version = self.load_into(bytemuck::bytes_of_mut(&mut value));
        (value, version)
    }

    /// Waits until a store newer than version `since` is published, then returns the value
    /// and its version, without polling: the reader sleeps on a futex in the segment that
    /// stores wake (see the layout). Returns at once if the version already differs from
    /// `since`, so no store is missed between two calls:
    ///
    /// ```
    /// # use posix_ipc::{IpcMessage, Shared, Timeout};
    /// # #[derive(Clone, Copy, IpcMessage)] #[repr(C)] struct Config { rate: u64 }
    /// # let name = format!("/doc-waitchange-{}", std::process::id());
    /// let config = Shared::create_owned(&name, &Config { rate: 10 })?;
    /// let (mut current, mut version) = config.load_versioned();
    /// config.store(&Config { rate: 20 })?;                       // another process, usually
    /// (current, version) = config.wait_change(version, Timeout::Infinite)?;
    /// assert_eq!((current.rate, version), (20, 1));
    /// # Ok::<(), posix_ipc::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::TimedOut`] (or [`ErrorKind::WouldBlock`] for [`Timeout::Immediate`]) if no
    /// store came in time; [`ErrorKind::Cancelled`] if a token stops the wait (at once: the
    /// token wakes the futex); [`ErrorKind::Mismatch`] if a peer truncated the segment.
    pub fn wait_change(&self, since: u64, timeout: impl Into<Timeout>) -> Result<(T, u64)> {
        let mut value = T::zeroed();
        let version =
            self.wait_change_into(since, timeout.into(), bytemuck::bytes_of_mut(&mut value))?;
        Ok((value, version))
    }

    /// As [`create`](Self::create), owned: the segment is removed when the owner is dropped
    /// (see [`Owned`](crate::Owned)).
    pub fn create_owned(name: &str, initial: &T) -> Result<crate::Owned<Self>> {
        Self::create(name, initial).map(crate::Owned::new)
    }

    /// Stores `value` (under the cross-process write lock; readers are never blocked).
    #[inline]
    pub fn store(&self, value: &T) -> Result<()> {
        self.store_bytes(bytemuck::bytes_of(value))
    }

    /// Read-modify-write under the write lock: `f` gets the current value and its changes are
    /// published when it returns. No other writer runs in between (in any process).
    pub fn update<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R> {
        let _lock = self.lock()?;
        let mut value = T::zeroed();
        self.copy_out(
            self.atomic_u64(SEQ).load(Ordering::Acquire),
            bytemuck::bytes_of_mut(&mut value),
        );
        let r = f(&mut value);
        self.publish(bytemuck::bytes_of(&value));
        self.check_truncation(Operation::Store)?;
        Ok(r)
    }

    /// The Python `struct` format of the header ([`SharedHeader::PYTHON_FORMAT`]).
    pub fn python_header_format() -> &'static str {
        SharedHeader::PYTHON_FORMAT
    }

    /// Byte offset of slot `i` (0 or 1) in the segment.
    pub fn slot_offset(i: usize) -> usize {
        HEADER + (i & 1) * stride_of(std::mem::size_of::<T>())
    }
}

/// What `Shared<T>` and [`RecordShared`] share: the seqlock protocol, on bytes.
impl<T> Shared<T> {
    fn object(name: &str) -> Object {
        Object {
            kind: ObjectKind::SharedMemory,
            name: Some(name.to_owned()),
        }
    }

    fn total_for(size: usize) -> usize {
        HEADER + 2 * stride_of(size)
    }

    fn create_record(name: &str, record: RecordType, initial: &[u8]) -> Result<Self> {
        record.check(Operation::Create, || Self::object(name))?;
        if initial.len() != record.size {
            return Err(record.wrong_length(Operation::Create, Self::object(name), initial.len()));
        }
        let shm = SharedMemory::create(name, Self::total_for(record.size) as u64)?;
        let made = Self::init(shm, record, initial);
        if made.is_err() {
            let _ = crate::shm::unlink_shared_memory(name);
        }
        made
    }

    fn init(shm: SharedMemory, record: RecordType, initial: &[u8]) -> Result<Self> {
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
            reserved: [0; 8],
        };
        // Everything but the ready word, which openers load atomically (ftruncate zeroed it;
        // it is stored once, atomically, below).
        let bytes = bytemuck::bytes_of(&header);
        map.write_at(0, &bytes[..READY])?;
        map.write_at(READY + 4, &bytes[READY + 4..])?;
        sys::membarrier_register();
        let this = Shared {
            shm,
            map,
            stride: stride_of(record.size),
            cancel: None,
            record,
            _type: PhantomData,
        };
        this.copy_in(0, initial);
        this.atomic_u32(READY).store(1, Ordering::Release);
        Ok(this)
    }

    fn open_record(name: &str, wait: Duration, record: RecordType) -> Result<Self> {
        record.check(Operation::Open, || Self::object(name))?;
        let total = Self::total_for(record.size);
        let shm = SharedMemory::open(name)?;
        let name = shm.name().to_owned();
        let spec = header::HeaderSpec {
            len: HEADER,
            min_size: total,
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
            _type: PhantomData,
        };
        Ok(this)
    }

    #[inline]
    fn atomic_u32(&self, offset: usize) -> &AtomicU32 {
        debug_assert!(offset % 4 == 0 && offset + 4 <= HEADER);
        // SAFETY: the mapping is at least HEADER bytes, page-aligned, and lives as long as
        // `&self`; `offset` is a constant 4-aligned header offset inside it. Every process
        // accesses this word only atomically (or through futex), so an `&AtomicU32` to it is
        // sound (AtomicU32 has the layout of u32 and allows shared mutation).
        unsafe { &*self.map.as_ptr().add(offset).cast::<AtomicU32>() }
    }

    #[inline]
    fn atomic_u64(&self, offset: usize) -> &AtomicU64 {
        debug_assert!(offset % 8 == 0 && offset + 8 <= self.map.len());
        // SAFETY: as in `atomic_u32`; `offset` is 8-aligned (header field or slot word) and in
        // bounds, and the page-aligned mapping makes the address 8-aligned.
        unsafe { &*self.map.as_ptr().add(offset).cast::<AtomicU64>() }
    }

    #[inline]
    fn atomic_u8(&self, offset: usize) -> &AtomicU8 {
        debug_assert!(offset < self.map.len());
        // SAFETY: in bounds (slot tail bytes); any address is aligned for AtomicU8.
        unsafe { &*self.map.as_ptr().add(offset).cast::<AtomicU8>() }
    }

    #[inline]
    fn slot(&self, index: u64) -> usize {
        HEADER + (index & 1) as usize * self.stride
    }

    /// Copies slot `index` into `dst` (one record long) with relaxed atomic loads (word by
    /// word, then the tail).
    #[inline]
    fn copy_out(&self, index: u64, dst: &mut [u8]) {
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
    fn copy_in(&self, index: u64, src: &[u8]) {
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
    fn load_into(&self, out: &mut [u8]) -> u64 {
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

    /// Number of stores completed so far (the header's `seq`).
    pub fn version(&self) -> u64 {
        self.atomic_u64(SEQ).load(Ordering::Acquire)
    }

    fn lock(&self) -> Result<WriteLock<'_, T>> {
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

    fn publish(&self, value: &[u8]) {
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
    fn wait_change_into(&self, since: u64, timeout: Timeout, out: &mut [u8]) -> Result<u64> {
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
    fn store_bytes(&self, value: &[u8]) -> Result<()> {
        let _lock = self.lock()?;
        self.publish(value);
        self.check_truncation(Operation::Store)
    }

    /// A peer truncating the segment turns its pages into zeros here (see
    /// [`Mapping::is_truncated`]): stores are then lost, so they fail.
    fn check_truncation(&self, op: Operation) -> Result<()> {
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

/// A shared struct whose record type is known only at run time ([`RecordType`]): values go in
/// and out as bytes of exactly the record size, under the same seqlock protocol and header
/// checks as [`Shared<T>`], with which it interoperates (same size and fingerprint). This is
/// what the Python module's `Shared` uses.
pub struct RecordShared(Shared<Bytes>);

impl RecordShared {
    /// Creates the segment (exclusive) holding `initial`, one record of `record`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] if `initial` is not one record long; otherwise as
    /// [`Shared::create`].
    pub fn create(name: &str, record: &RecordType, initial: &[u8]) -> Result<Self> {
        Shared::create_record(name, record.clone(), initial).map(RecordShared)
    }

    /// Opens an existing segment, checking its header against `record` (waiting up to one
    /// second for its creator).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Mismatch`] for a segment of another record size or fingerprint, or not a
    /// shared struct; otherwise as [`Shared::open`].
    pub fn open(name: &str, record: &RecordType) -> Result<Self> {
        Self::open_timeout(name, record, DEFAULT_OPEN_WAIT)
    }

    /// As [`open`](Self::open), waiting at most `wait` for the creator.
    pub fn open_timeout(name: &str, record: &RecordType, wait: Duration) -> Result<Self> {
        Shared::open_record(name, wait, record.clone()).map(RecordShared)
    }

    /// The record type it holds.
    pub fn record(&self) -> &RecordType {
        &self.0.record
    }

    /// A consistent copy of the current value and its version.
    pub fn load_versioned(&self) -> (Vec<u8>, u64) {
        let mut out = vec![0; self.0.record.size];
        let version = self.0.load_into(&mut out);
        (out, version)
    }

    /// A consistent copy of the current value.
    pub fn load(&self) -> Vec<u8> {
        self.load_versioned().0
    }

    /// Number of stores completed so far.
    pub fn version(&self) -> u64 {
        self.0.version()
    }

    /// Stores one record (under the cross-process write lock).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] if `value` is not one record long; otherwise as
    /// [`Shared::store`].
    pub fn store(&self, value: &[u8]) -> Result<()> {
        self.check_len(Operation::Store, value.len())?;
        self.0.store_bytes(value)
    }

    /// Waits until a store newer than version `since`, as [`Shared::wait_change`].
    pub fn wait_change(&self, since: u64, timeout: impl Into<Timeout>) -> Result<(Vec<u8>, u64)> {
        let mut out = vec![0; self.0.record.size];
        let version = self.0.wait_change_into(since, timeout.into(), &mut out)?;
        Ok((out, version))
    }

    /// Attaches a [`CancelToken`], as [`Shared::with_cancel`].
    pub fn with_cancel(self, token: &CancelToken) -> Self {
        RecordShared(self.0.with_cancel(token))
    }

    /// Whether this handle created the segment.
    pub fn created(&self) -> bool {
        self.0.created()
    }

    /// The segment's name.
    pub fn name(&self) -> &str {
        self.0.name()
    }

    /// Owner, mode and size of the segment (`fstat` of this handle's descriptor).
    pub fn stat(&self) -> Result<crate::SegmentStat> {
        self.0.stat()
    }

    /// Removes the segment's name; mapped users keep working.
    pub fn unlink(&self) -> Result<()> {
        self.0.unlink()
    }

    fn check_len(&self, op: Operation, len: usize) -> Result<()> {
        if len == self.0.record.size {
            Ok(())
        } else {
            Err(self
                .0
                .record
                .wrong_length(op, Shared::<Bytes>::object(self.name()), len))
        }
    }
}

impl std::fmt::Debug for RecordShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RecordShared({:?}, {} of {} bytes)",
            self.name(),
            self.0.record.name,
            self.0.record.size
        )
    }
}

impl crate::owned::sealed::Sealed for RecordShared {}
impl crate::owned::Removable for RecordShared {
    fn created_object(&self) -> bool {
        self.0.shm.created()
    }
    fn owned_names(&self) -> Vec<crate::owned::OwnedName> {
        crate::owned::Removable::owned_names(&self.0.shm)
    }
}

impl SharedHeader {
    fn zeroed_header() -> SharedHeader {
        bytemuck::Zeroable::zeroed()
    }
}

struct WriteLock<'a, T> {
    shared: &'a Shared<T>,
}

impl<T> Drop for WriteLock<'_, T> {
    fn drop(&mut self) {
        let word = self.shared.atomic_u32(LOCK);
        if word.swap(0, Ordering::Release) & WAITERS != 0 {
            sys::futex_wake(word, 1);
        }
    }
}

impl<T: IpcMessage> std::fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Shared<{}>({:?})", T::LAYOUT.name, self.shm.name())
    }
}

/// A `T` at a fixed offset of a segment with no header: the form a C or Python program that
/// knows only the struct layout can share ([`IpcMessage::c_declaration`],
/// [`IpcMessage::python_format`]).
///
/// Reads and writes are whole-value copies with no protection against a concurrent writer: a
/// read may see a mix of two writes. Pair it with a [`Semaphore`](crate::Semaphore) (as
/// posix_ipc's demo does) when that matters, or use [`Shared`].
pub struct RawShared<T> {
    shm: SharedMemory,
    map: Mapping,
    _type: PhantomData<T>,
}

impl<T: IpcMessage> RawShared<T> {
    /// Creates a segment of exactly `size_of::<T>()` bytes holding `initial`.
    pub fn create(name: &str, initial: &T) -> Result<Self> {
        let shm = SharedMemory::create(name, std::mem::size_of::<T>() as u64)?;
        let this = Self::at(shm, 0);
        match this {
            Ok(this) => {
                this.write(initial)?;
                Ok(this)
            }
            Err(e) => {
                let _ = crate::shm::unlink_shared_memory(name);
                Err(e)
            }
        }
    }

    /// As [`create`](Self::create), owned: the segment is removed when the owner is dropped
    /// (see [`Owned`](crate::Owned)).
    pub fn create_owned(name: &str, initial: &T) -> Result<crate::Owned<Self>> {
        Self::create(name, initial).map(crate::Owned::new)
    }

    /// Opens an existing segment and views the `T` at offset 0, checking the segment is large
    /// enough.
    pub fn open(name: &str) -> Result<Self> {
        Self::open_at(name, 0)
    }

    /// Opens an existing segment and views the `T` at `offset`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Mismatch`] naming both sizes if the segment is smaller than
    /// `offset + size_of::<T>()`.
    pub fn open_at(name: &str, offset: u64) -> Result<Self> {
        Self::at(SharedMemory::open(name)?, offset)
    }

    fn at(shm: SharedMemory, offset: u64) -> Result<Self> {
        let map = shm.map_range(offset, std::mem::size_of::<T>())?;
        Ok(RawShared {
            shm,
            map,
            _type: PhantomData,
        })
    }

    /// Copies the value out.
    pub fn read(&self) -> Result<T> {
        let mut value = T::zeroed();
        self.map
            .read_at(0, bytemuck::bytes_of_mut(&mut value))
            .map_err(|e| Error::new(e.kind(), Operation::Load, e.object().clone(), e.detail()))?;
        Ok(value)
    }

    /// Copies `value` in.
    pub fn write(&self, value: &T) -> Result<()> {
        self.map
            .write_at(0, bytemuck::bytes_of(value))
            .map_err(|e| Error::new(e.kind(), Operation::Store, e.object().clone(), e.detail()))
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

    /// Removes the segment's name.
    pub fn unlink(&self) -> Result<()> {
        self.shm.unlink()
    }
}

impl<T: IpcMessage> std::fmt::Debug for RawShared<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RawShared<{}>({:?})", T::LAYOUT.name, self.shm.name())
    }
}

impl<T: IpcMessage> crate::owned::sealed::Sealed for Shared<T> {}
impl<T: IpcMessage> crate::owned::Removable for Shared<T> {
    fn created_object(&self) -> bool {
        self.shm.created()
    }
    fn owned_names(&self) -> Vec<crate::owned::OwnedName> {
        crate::owned::Removable::owned_names(&self.shm)
    }
}

impl<T: IpcMessage> crate::owned::sealed::Sealed for RawShared<T> {}
impl<T: IpcMessage> crate::owned::Removable for RawShared<T> {
    fn created_object(&self) -> bool {
        self.shm.created()
    }
    fn owned_names(&self) -> Vec<crate::owned::OwnedName> {
        crate::owned::Removable::owned_names(&self.shm)
    }
}

/// What `posix-ipc ls` shows of a `Shared` segment: its type, stores so far and the writer
/// holding its lock.
pub(crate) fn describe(map: &Mapping) -> SegmentInfo {
    let mut info = SegmentInfo::new(SegmentKind::Shared, map);
    info.ready = header::u32_in(map, READY) == Some(1);
    info.fingerprint = header::u64_in(map, std::mem::offset_of!(SharedHeader, fingerprint));
    info.type_size = header::u64_in(map, std::mem::offset_of!(SharedHeader, size));
    info.count = header::u64_in(map, SEQ);
    let lock = header::u32_in(map, LOCK).unwrap_or(0) & !WAITERS;
    if lock != 0 {
        info.lock_holder = Some(lock);
        info.lock_holder_dead = !sys::process_alive(lock);
    }
    info
}
