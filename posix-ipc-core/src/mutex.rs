//! [`RobustMutex`]: a lock shared by processes that survives the death of its holder.
//!
//! A POSIX semaphore used as a lock has no owner: when the process holding it is killed, the
//! count is never given back and every other process waits forever (posix_ipc issue #53). A
//! robust mutex has an owner. When its holder dies (killed, crashed, or a thread that exits
//! without unlocking), the kernel marks it and the next locker gets it at once, told that the
//! previous owner died so it can check or repair the data the lock protects.
//!
//! # Segment layout (for C peers)
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic `b"PIPCMUTX"` |
//! | 8 | 4 | version (1) |
//! | 12 | 4 | ready: 1 once the mutex is initialised (stored last, release) |
//! | 16 | 4 | `sizeof(pthread_mutex_t)` of the creator |
//! | 24 | 8 | owner word: `pid << 32 \| (start time & 0xffff_ffff)` of the process whose handle created the mutex or took it over ([`RobustMutex::create_or_take_over`]), stored before ready and cleared when that handle is dropped; 0 for none |
//! | 64 | `sizeof(pthread_mutex_t)` | a `pthread_mutex_t`: `PTHREAD_PROCESS_SHARED`, `PTHREAD_MUTEX_ROBUST`, `PTHREAD_MUTEX_ERRORCHECK` |
//!
//! A C program linked with the same C library can `pthread_mutex_lock` the mutex at offset 64
//! (and must call `pthread_mutex_consistent` when it gets `EOWNERDEAD`).

use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

use crate::cancel::{CancelToken, Stops};
use crate::error::{Error, ErrorKind, Object, ObjectKind, Operation, Result};
use crate::shm::{Mapping, SharedMemory};
use crate::sys::{self, Locked};
use crate::timeout::{Deadline, Timeout};
use crate::typed::describe::SegmentInfo;
use crate::typed::header::{self, SegmentKind};
use crate::typed::peers::{OwnerWord, TakeOver};

/// Magic bytes at the start of a robust-mutex segment.
pub const MUTEX_MAGIC: [u8; 8] = crate::typed::header::SegmentKind::RobustMutex.magic();
/// Layout version of a robust-mutex segment.
pub const MUTEX_VERSION: u32 = 1;
const READY: usize = 12;
const MUTEX_SIZE: usize = 16;
/// The owner word (see [`OwnerWord`]).
const OWNER: usize = 24;
const MUTEX: usize = 64;
const SEGMENT: usize = 128;
const DEFAULT_OPEN_WAIT: Duration = Duration::from_secs(1);

const _: () = assert!(MUTEX + std::mem::size_of::<libc::pthread_mutex_t>() <= SEGMENT);

/// A mutex in a named shared-memory segment, shared by processes, that is handed to the next
/// locker when its holder dies.
///
/// [`lock`](Self::lock) returns a [`RobustGuard`] that unlocks on drop. If the previous holder
/// died while holding the lock, the guard says so
/// ([`previous_owner_died`](RobustGuard::previous_owner_died)): whatever the lock protects may
/// be half-updated, and the new holder should check or repair it. The mutex itself is usable
/// again at once (it is marked consistent when it is taken over).
///
/// ```
/// use posix_ipc::RobustMutex;
///
/// # let name = format!("/doc-mutex-{}", std::process::id());
/// let lock = RobustMutex::create(&name)?;
/// {
///     let guard = lock.lock()?;
///     if guard.previous_owner_died() {
///         // repair the data the lock protects
///     }
/// } // unlocked here
/// lock.unlink()?;
/// # Ok::<(), posix_ipc::Error>(())
/// ```
pub struct RobustMutex {
    shm: SharedMemory,
    map: ManuallyDrop<Mapping>,
    /// Guards of this handle that are alive or were leaked: while non-zero, dropping the handle
    /// keeps the mapping (the kernel's robust list of the holding thread points into it).
    held: AtomicUsize,
    cancel: Option<CancelToken>,
    /// Whether this handle made the mutex or took it over, and so holds its owner word
    /// (cleared when it is dropped).
    owner: bool,
}

impl RobustMutex {
    fn object(name: &str) -> Object {
        Object {
            kind: ObjectKind::Mutex,
            name: Some(name.to_owned()),
        }
    }

    fn err(&self, kind: ErrorKind, op: Operation, detail: impl Into<String>) -> Error {
        Error::new(kind, op, Self::object(self.shm.name()), detail)
    }

    /// Creates the mutex (exclusively: fails with [`ErrorKind::AlreadyExists`] if the name
    /// exists, naming the calls to use instead), unlocked, in a segment of mode 0600.
    pub fn create(name: &str) -> Result<RobustMutex> {
        let shm = SharedMemory::create(name, SEGMENT as u64).map_err(|e| match e.kind() {
            ErrorKind::AlreadyExists => header::exists_naming(
                e.about(ObjectKind::Mutex),
                "RobustMutex::open",
                "RobustMutex::create_or_take_over",
            ),
            _ => e,
        })?;
        let made = Self::init(shm);
        if made.is_err() {
            let _ = crate::shm::unlink_shared_memory(name);
        }
        made
    }

    fn init(shm: SharedMemory) -> Result<RobustMutex> {
        let map = shm.map()?;
        map.write_at(0, &MUTEX_MAGIC)?;
        map.write_at(8, &MUTEX_VERSION.to_ne_bytes())?;
        let size = std::mem::size_of::<libc::pthread_mutex_t>() as u32;
        map.write_at(MUTEX_SIZE, &size.to_ne_bytes())?;
        let this = RobustMutex {
            shm,
            map: ManuallyDrop::new(map),
            held: AtomicUsize::new(0),
            cancel: None,
            owner: true,
        };
        // SAFETY: the segment was just created exclusively and is not marked ready, so no
        // thread in any process uses the mutex yet; `raw()` is in bounds and aligned.
        unsafe { sys::robust_mutex_init(this.raw()) }
            .map_err(|e| crate::error::os(e, Operation::Create, Self::object(this.shm.name())))?;
        this.owner_word().set_me();
        this.ready().store(1, Ordering::Release);
        Ok(this)
    }

    /// Opens an existing mutex, waiting up to one second for its creator to finish.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`] if there is none; [`ErrorKind::Mismatch`] if the segment is not
    /// a robust mutex (or was made with another C library's `pthread_mutex_t`);
    /// [`ErrorKind::NotInitialized`] if its creator did not finish in time.
    pub fn open(name: &str) -> Result<RobustMutex> {
        let shm = SharedMemory::open(name)?;
        let name = shm.name().to_owned();
        let spec = header::HeaderSpec {
            len: MUTEX,
            min_size: SEGMENT,
            made_size: &|size| size == SEGMENT as u64,
            kind: SegmentKind::RobustMutex,
            version: MUTEX_VERSION,
            ready: READY,
            object: Self::object(&name),
        };
        let header =
            header::open_published(&shm, &spec, DEFAULT_OPEN_WAIT, "the mutex's creator", "")?;
        let map = shm.map_range(0, SEGMENT)?;
        let this = RobustMutex {
            shm,
            map: ManuallyDrop::new(map),
            held: AtomicUsize::new(0),
            cancel: None,
            owner: false,
        };
        let size = u32::from_ne_bytes(header[16..20].try_into().unwrap_or_default());
        if size as usize != std::mem::size_of::<libc::pthread_mutex_t>() {
            return Err(this.err(
                ErrorKind::Mismatch,
                Operation::Open,
                format!(
                    "the mutex was made with a {size}-byte pthread_mutex_t, this C library's is \
                     {} bytes",
                    std::mem::size_of::<libc::pthread_mutex_t>()
                ),
            ));
        }
        Ok(this)
    }

    /// As [`open`](Self::open), waiting up to `timeout` for the mutex to exist and be
    /// initialised (its creator may start later): see [`open_wait`](crate::open_wait), which
    /// this is, for how it waits and stops (Ctrl-C, SIGTERM with
    /// [`signals`](crate::signals) on; a [`CancelToken`](crate::CancelToken) through
    /// `posix_ipc::open_wait` itself).
    pub fn open_wait(name: &str, timeout: impl Into<crate::Timeout>) -> Result<RobustMutex> {
        crate::cancel::open_wait(timeout, None, || RobustMutex::open(name))
    }

    /// Opens the mutex, creating it if it does not exist.
    pub fn open_or_create(name: &str) -> Result<RobustMutex> {
        loop {
            match Self::create(name) {
                Err(e) if e.kind() == ErrorKind::AlreadyExists => match Self::open(name) {
                    // Removed between the two calls: try again.
                    Err(e) if e.kind() == ErrorKind::NotFound => continue,
                    other => return other,
                },
                other => return other,
            }
        }
    }

    /// Creates the mutex, or takes over the one under `name` whose owner is gone, and owns it
    /// (the segment is removed when the owner is dropped): what a process restarted under a
    /// fixed name calls. The owner is the handle that created the mutex or took it over last;
    /// it stops owning when it is dropped, or when its process dies (SIGKILL included).
    ///
    /// - Nothing there: creates it, as [`create`](Self::create).
    /// - A robust mutex whose owner is gone: takes it over as it is. If a process died holding
    ///   the lock, the next [`lock`](Self::lock) gets it at once, with
    ///   [`previous_owner_died`](RobustGuard::previous_owner_died), as for any robust mutex.
    /// - A live owner (also this process): [`ErrorKind::AlreadyExists`] naming it (pid and
    ///   command) and what to call instead.
    /// - Another kind of segment, or a mutex of another C library's `pthread_mutex_t`:
    ///   [`ErrorKind::Mismatch`] naming both.
    ///
    /// Of processes racing on one name, exactly one wins; the others get
    /// [`ErrorKind::AlreadyExists`] naming it.
    pub fn create_or_take_over(name: &str) -> Result<crate::Owned<RobustMutex>> {
        let how = TakeOver {
            object: Self::object(name),
            what: "the mutex",
            instead: "open it with RobustMutex::open",
        };
        let (mut mutex, taken) = how.run(
            || Self::create(name),
            || Self::open(name),
            RobustMutex::owner_word,
        )?;
        if taken {
            mutex.owner = true;
            mutex.shm.take_over();
        }
        Ok(crate::Owned::new(mutex))
    }

    /// The mutex's owner word (see [`OwnerWord`]).
    fn owner_word(&self) -> OwnerWord<'_> {
        OwnerWord(header::atomic_u64(&self.map, OWNER))
    }

    fn ready(&self) -> &AtomicU32 {
        // SAFETY: the mapping is SEGMENT bytes, page-aligned, and lives as long as `&self`;
        // READY is a 4-aligned offset inside it, accessed only atomically by every process.
        unsafe { &*self.map.as_ptr().add(READY).cast::<AtomicU32>() }
    }

    fn raw(&self) -> *mut libc::pthread_mutex_t {
        // The mutex lives at a 64-aligned offset of a page-aligned mapping of SEGMENT bytes
        // (checked at compile time to hold it). Every access goes through pthread functions,
        // which synchronise with the other processes; no Rust reference to it is ever made.
        self.map
            .as_ptr()
            .wrapping_add(MUTEX)
            .cast_mut()
            .cast::<libc::pthread_mutex_t>()
    }

    /// Locks, waiting as long as it takes.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Deadlock`] if this thread already holds it; [`ErrorKind::NotRecoverable`]
    /// if a foreign peer left it unusable.
    pub fn lock(&self) -> Result<RobustGuard<'_>> {
        self.lock_with(Timeout::Infinite)
    }

    /// Locks if no one holds it now; otherwise [`ErrorKind::WouldBlock`].
    pub fn try_lock(&self) -> Result<RobustGuard<'_>> {
        self.lock_with(Timeout::Immediate)
    }

    /// Locks, waiting at most `timeout` (measured on the monotonic clock); then
    /// [`ErrorKind::TimedOut`].
    pub fn lock_timeout(&self, timeout: Duration) -> Result<RobustGuard<'_>> {
        self.lock_with(timeout)
    }

    /// Locks with any [`Timeout`].
    pub fn lock_with(&self, timeout: impl Into<Timeout>) -> Result<RobustGuard<'_>> {
        let m = self.raw();
        let deadline = timeout.into().deadline();
        let stops = Stops::of(self.cancel.as_ref());
        // Each call's contract: `m` is the initialised mutex of this mapping (initialised at
        // create, checked ready at open), and the mapping outlives the guard, which borrows
        // `self`; a leaked guard keeps the mapping alive through `held` (see `Drop`).
        let r = match deadline {
            // SAFETY: the contract above holds.
            Deadline::Now => unsafe { sys::robust_mutex_trylock(m) },
            _ if stops.active() => loop {
                // With a token: wait in slices (glibc's lock cannot be woken from outside).
                stops.check(Operation::Acquire, || Self::object(self.name()))?;
                let now = sys::monotonic_now();
                let slice_end = now + crate::cancel::SLICE;
                let until = match deadline {
                    Deadline::At(at) if at <= now => break Err(libc::ETIMEDOUT),
                    Deadline::At(at) => at.min(slice_end),
                    _ => slice_end,
                };
                // SAFETY: the contract above holds.
                match unsafe { sys::robust_mutex_lock(m, Some(until)) } {
                    Err(libc::ETIMEDOUT) => {}
                    other => break other,
                }
            },
            // SAFETY: the contract above holds.
            Deadline::Never => unsafe { sys::robust_mutex_lock(m, None) },
            // SAFETY: the contract above holds.
            Deadline::At(at) => unsafe { sys::robust_mutex_lock(m, Some(at)) },
        };
        let locked = match r {
            Ok(l) => l,
            Err(libc::EBUSY) => {
                return Err(self.err(
                    ErrorKind::WouldBlock,
                    Operation::Acquire,
                    "another thread or process holds the lock",
                ))
            }
            Err(libc::ETIMEDOUT) => {
                return Err(self.err(
                    ErrorKind::TimedOut,
                    Operation::Acquire,
                    "another thread or process held the lock for the whole timeout",
                ))
            }
            Err(libc::EDEADLK) => {
                return Err(self.err(
                    ErrorKind::Deadlock,
                    Operation::Acquire,
                    "this thread already holds the lock; waiting for it would never end",
                ))
            }
            Err(libc::ENOTRECOVERABLE) => {
                return Err(self.err(
                    ErrorKind::NotRecoverable,
                    Operation::Acquire,
                    "a peer released the lock after its owner died without marking it \
                     consistent; remove the mutex and create it again",
                ))
            }
            Err(e) => {
                return Err(crate::error::os(
                    e,
                    Operation::Acquire,
                    Self::object(self.name()),
                ))
            }
        };
        self.held.fetch_add(1, Ordering::Relaxed);
        let guard = RobustGuard {
            mutex: self,
            owner_died: locked == Locked::OwnerDied,
            _not_send: PhantomData,
        };
        if guard.owner_died {
            // SAFETY: this thread holds the mutex (it was just returned with EOWNERDEAD).
            unsafe { sys::robust_mutex_consistent(m) }
                .map_err(|e| crate::error::os(e, Operation::Acquire, Self::object(self.name())))?;
        }
        Ok(guard)
    }

    /// Locks and leaves it locked with no guard, for callers whose lock and unlock are separate
    /// calls (the Python module's `acquire()` and `release()`). Returns whether the previous
    /// holder died holding it, as [`RobustGuard::previous_owner_died`]. Unlock it with
    /// [`unlock`](Self::unlock) on the same thread; while it is locked the mapping stays valid
    /// even if this handle is dropped.
    ///
    /// # Errors
    ///
    /// As [`lock_with`](Self::lock_with).
    pub fn lock_unguarded(&self, timeout: impl Into<Timeout>) -> Result<bool> {
        let guard = self.lock_with(timeout)?;
        let owner_died = guard.owner_died;
        // The lock stays held and `held` counts it, as for a leaked guard; `unlock` undoes both.
        std::mem::forget(guard);
        Ok(owner_died)
    }

    /// Unlocks a lock this thread took with [`lock_unguarded`](Self::lock_unguarded).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::PermissionDenied`] if this thread does not hold it (another thread or
    /// process does, or nobody): the mutex is left as it was.
    pub fn unlock(&self) -> Result<()> {
        // SAFETY: `raw()` is the initialised mutex of this mapping, which `&self` keeps alive.
        // The mutex is robust (this crate creates it so, and a C peer must, see the module
        // docs), and glibc checks the owner when unlocking a robust mutex: from a thread that
        // does not hold it the call fails with EPERM and changes nothing, which is why this may
        // be called without knowing who holds it.
        match unsafe { sys::robust_mutex_unlock(self.raw()) } {
            Ok(()) => {
                let _ = self
                    .held
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |h| h.checked_sub(1));
                Ok(())
            }
            Err(libc::EPERM) => Err(self.err(
                ErrorKind::PermissionDenied,
                Operation::Release,
                "this thread does not hold the lock (a robust mutex is released by the thread \
                 that locked it)",
            )),
            Err(e) => Err(crate::error::os(
                e,
                Operation::Release,
                Self::object(self.name()),
            )),
        }
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

    /// Whether this handle created the mutex.
    pub fn created(&self) -> bool {
        self.shm.created()
    }

    /// As [`create`](Self::create), owned: the mutex's segment is removed when the owner is
    /// dropped (see [`Owned`](crate::Owned)).
    pub fn create_owned(name: &str) -> Result<crate::Owned<RobustMutex>> {
        Self::create(name).map(crate::Owned::new)
    }

    /// Attaches a [`CancelToken`]: a lock that waits ends with [`ErrorKind::Cancelled`] within
    /// 10 ms of the token being cancelled (the wait is made in 10 ms slices while a token is
    /// attached). Replaces an earlier token.
    pub fn with_cancel(mut self, token: &CancelToken) -> RobustMutex {
        self.cancel = Some(token.clone());
        self
    }

    /// Removes the name (`shm_unlink`); handles already open keep working.
    pub fn unlink(&self) -> Result<()> {
        self.shm.unlink()
    }
}

impl Drop for RobustMutex {
    fn drop(&mut self) {
        if self.owner {
            self.owner_word().release();
        }
        if self.held.load(Ordering::Relaxed) != 0 {
            // A guard was leaked (`mem::forget`): the mutex stays locked and is on the holding
            // thread's robust list, which the kernel walks when that thread exits. Keep the
            // memory mapped so that walk never touches memory reused for something else.
            return;
        }
        // SAFETY: `map` is dropped once, here, and never used afterwards.
        unsafe { ManuallyDrop::drop(&mut self.map) }
    }
}

impl crate::owned::sealed::Sealed for RobustMutex {}
impl crate::owned::Removable for RobustMutex {
    fn created_object(&self) -> bool {
        self.shm.created()
    }
    fn owned_names(&self) -> Vec<crate::owned::OwnedName> {
        crate::owned::Removable::owned_names(&self.shm)
    }
}

impl std::fmt::Debug for RobustMutex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RobustMutex")
            .field("name", &self.name())
            .finish_non_exhaustive()
    }
}

/// Holds a [`RobustMutex`]; unlocks it when dropped. Not `Send`: a mutex is unlocked by the
/// thread that locked it.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RobustGuard<'a> {
    mutex: &'a RobustMutex,
    owner_died: bool,
    _not_send: PhantomData<*const ()>,
}

impl RobustGuard<'_> {
    /// Whether the previous holder died while holding the lock (`EOWNERDEAD`). The data the
    /// lock protects may then be half-updated: check or repair it before relying on it.
    pub fn previous_owner_died(&self) -> bool {
        self.owner_died
    }
}

impl Drop for RobustGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: this guard's thread holds the mutex (guards are not `Send`), which lives in
        // the mapping the borrowed handle keeps alive.
        let _ = unsafe { sys::robust_mutex_unlock(self.mutex.raw()) };
        self.mutex.held.fetch_sub(1, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for RobustGuard<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RobustGuard")
            .field("mutex", &self.mutex.name())
            .field("previous_owner_died", &self.owner_died)
            .finish()
    }
}

/// What `posix-ipc ls` shows of a mutex segment: whether it is ready and who holds the lock.
pub(crate) fn describe(map: &Mapping) -> SegmentInfo {
    let mut info = SegmentInfo::new(SegmentKind::RobustMutex, map);
    info.ready = header::u32_in(map, READY) == Some(1);
    info.owner = header::u64_in(map, OWNER).and_then(crate::typed::peers::owner_info);
    // glibc's robust mutex keeps the owner's thread id in its lock word (the first int of
    // pthread_mutex_t), with the waiter and owner-died bits.
    if let Some(word) = header::u32_in(map, MUTEX) {
        let tid = word & 0x3fff_ffff;
        if tid != 0 {
            let pid = thread_group(tid);
            info.lock_holder = Some(pid.unwrap_or(tid));
            info.lock_holder_dead = pid.is_none();
        } else if word & 0x4000_0000 != 0 {
            // FUTEX_OWNER_DIED: the kernel cleared the thread id of a holder that died.
            info.lock_holder_dead = true;
        }
    }
    info
}

/// The process (thread group) a thread id belongs to, if it runs.
fn thread_group(tid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse().ok())
}
