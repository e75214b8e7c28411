//! Typed shared memory: [`Shared<T>`], a struct in a named segment that several processes load
//! and store safely, and [`RawShared<T>`], the header-less form for C and Python peers that
//! know only the struct layout.

use std::marker::PhantomData;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::describe::SegmentInfo;
use super::header::{self, SegmentKind};
use super::layout::LayoutDesc;
use super::peers::{OwnerWord, TakeOver};
use super::record::RecordType;
use super::IpcMessage;
use crate::cancel::CancelToken;
use crate::error::{ErrorKind, Operation, Result};
use crate::shm::{Mapping, SharedMemory};
use crate::sys;
use crate::timeout::Timeout;

mod raw;
mod record;
mod seqlock;

pub use raw::RawShared;
pub use record::RecordShared;

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
/// The owner word (see [`OwnerWord`]).
const OWNER: usize = 56;
/// Bytes of the trailer after slot 1 of a segment with a stored layout: the description's
/// offset and length, two `u64` words (the 64-byte header has no room left for them).
const TRAILER: usize = 16;
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
    /// The owner word: `pid << 32 | (start time & 0xffff_ffff)` of the process whose handle
    /// created the segment or took it over ([`Shared::create_or_take_over`]); 0 for none
    /// (segments of earlier releases, which kept these bytes zero, read as none).
    pub owner: u64,
}

const _: () = assert!(std::mem::size_of::<SharedHeader>() == HEADER);

impl SharedHeader {
    /// Python `struct` format of the header (native order, as written).
    pub const PYTHON_FORMAT: &'static str = if cfg!(target_endian = "little") {
        "<8sIIQQIIQIIQ"
    } else {
        ">8sIIQQIIQIIQ"
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
/// | 56 | 8 | `owner` | owner word: `pid << 32 \| (start time & 0xffff_ffff)` of the process whose handle created the segment or took it over ([`create_or_take_over`](Self::create_or_take_over)), stored before `ready` and cleared when that handle is dropped; 0 for none |
/// | 64 | `stride` | slot 0 | a `T` |
/// | 64 + `stride` | `stride` | slot 1 | a `T` |
/// | 64 + 2 × `stride` | 8 | `layout_at` | offset of the stored layout of `T` (trailer, only in a segment that has one; 0: none) |
/// | 72 + 2 × `stride` | 8 | `layout_len` | its length in bytes |
/// | 80 + 2 × `stride` | `layout_len` | layout | the stored layout of `T`, in the format of [`LayoutDesc::encode`] |
///
/// `stride` is `size_of::<T>()` rounded up to 64. All integers are native-endian.
///
/// The stored layout (field names, offsets, kinds, counts and nested structs of `T`) lets a
/// tool or a program in another language decode the value without the Rust type
/// ([`layout`](Self::layout), `posix-ipc shm info`). The header has no room left, so its offset
/// and length are in a trailer after slot 1, where a reader finds them from the header's
/// `size`; both words and the layout are written before `ready`. A segment made by
/// [`RecordShared`] (whose [`RecordType`] has no layout) or by an earlier release ends after
/// slot 1: it has no trailer and no stored layout, and opens as before.
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
    /// Whether this handle made the segment or took it over, and so holds its owner word
    /// (cleared when it is dropped).
    owner: bool,
    _type: PhantomData<T>,
}

impl<T: IpcMessage> Shared<T> {
    /// Creates the segment for `T` holding `initial` (exclusive: fails if the name exists). The
    /// header's `ready` flag is stored last, so no opener ever sees a half-made segment as
    /// ready.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::AlreadyExists`] if the name exists (the error names the calls to use
    /// instead).
    pub fn create(name: &str, initial: &T) -> Result<Self> {
        let record = RecordType::of::<T>();
        Self::create_record(name, record, Some(&T::LAYOUT), bytemuck::bytes_of(initial))
            .map_err(|e| exists_in(e, &format!("Shared::<{}>", T::LAYOUT.name)))
    }

    /// Creates the segment holding `initial`, or takes over the one under `name` whose owner
    /// is gone, and owns it (the segment is removed when the owner is dropped): what a process
    /// restarted under a fixed name calls. The owner is the handle that created the segment or
    /// took it over last; it stops owning when it is dropped, or when its process dies
    /// (SIGKILL included).
    ///
    /// - Nothing there: creates it, as [`create`](Self::create).
    /// - A segment of `T` whose owner is gone: takes it over and stores `initial` in it, so
    ///   that the result is as if it had been created: it holds `initial`. The store is a
    ///   store like any other (its version goes on from the old value's), so readers that
    ///   kept their handles, waiting in [`wait_change`](Self::wait_change) or not, see it.
    /// - A live owner (also this process): [`ErrorKind::AlreadyExists`] naming it (pid and
    ///   command) and what to call instead.
    /// - A segment of another type, or of another kind: [`ErrorKind::Mismatch`] naming both.
    ///
    /// Of processes racing on one name, exactly one wins; the others get
    /// [`ErrorKind::AlreadyExists`] naming it.
    pub fn create_or_take_over(name: &str, initial: &T) -> Result<crate::Owned<Self>> {
        Self::create_or_take_over_record(
            name,
            RecordType::of::<T>(),
            Some(&T::LAYOUT),
            bytemuck::bytes_of(initial),
            &format!("Shared::<{}>", T::LAYOUT.name),
        )
        .map(crate::Owned::new)
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

    /// As [`open`](Self::open), waiting up to `timeout` for the segment to exist and be
    /// initialised (its creator may start later): see [`open_wait`](crate::open_wait), which
    /// this is, for how it waits and stops (Ctrl-C, SIGTERM with
    /// [`signals`](crate::signals) on; a [`CancelToken`](crate::CancelToken) through
    /// `posix_ipc::open_wait` itself).
    pub fn open_wait(name: &str, timeout: impl Into<crate::Timeout>) -> Result<Self> {
        crate::cancel::open_wait(timeout, None, || Self::open(name))
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

impl SharedHeader {
    fn zeroed_header() -> SharedHeader {
        bytemuck::Zeroable::zeroed()
    }
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        if self.owner {
            OwnerWord(self.atomic_u64(OWNER)).release();
        }
    }
}

/// A create's [`ErrorKind::AlreadyExists`], naming the calls of `end` ("Shared::<Pose>") to use
/// instead.
fn exists_in(e: crate::Error, end: &str) -> crate::Error {
    header::exists_naming(
        e,
        &format!("{end}::open"),
        &format!("{end}::create_or_take_over"),
    )
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
    info.owner = header::u64_in(map, OWNER).and_then(super::peers::owner_info);
    info.layout = match (info.ready, info.fingerprint, info.type_size) {
        (true, Some(fingerprint), Some(size)) => description_words(size)
            .and_then(|words| usize::try_from(words).ok())
            .and_then(|words| header::description_in(map, words, fingerprint)),
        _ => None,
    };
    info
}

/// Where the trailer of a segment holding values of `size` bytes starts (the description's
/// offset and length words, after slot 1), if that is a sane place.
fn description_words(size: u64) -> Option<u64> {
    let stride = size.checked_next_multiple_of(64)?.max(64);
    stride.checked_mul(2)?.checked_add(HEADER as u64)
}

/// The layout a `Shared` segment stores (see the layout table of [`Shared`]), for tools: read
/// through mappings of its own, so whatever part of the segment the caller maps. `None` for a
/// segment that is not ready, has no trailer (made by [`RecordShared`] or an earlier release)
/// or holds a description that is invalid or not of the values' fingerprint.
pub(crate) fn stored_layout_of(shm: &SharedMemory) -> Option<LayoutDesc> {
    let head = shm.map_range(0, HEADER).ok()?;
    if head.load_u32_acquire(READY).ok()? != 1 {
        return None;
    }
    let fingerprint = header::u64_in(&head, std::mem::offset_of!(SharedHeader, fingerprint))?;
    let size = header::u64_in(&head, std::mem::offset_of!(SharedHeader, size))?;
    let words = header::description_words(shm, description_words(size)?)?;
    header::read_description(shm, words, fingerprint)
}
