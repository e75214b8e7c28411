//! The handle table: C holds ids, never pointers into Rust memory, so a zero, closed or
//! foreign id is an error code rather than a use after free.
//!
//! An id is `kind << 56 | generation << 32 | (slot + 1)`: the kind catches a handle of one
//! kind passed as another (through a cast), the generation (24 bits, wrapping) a closed handle
//! whose slot was reused. Slots live in chunks that are allocated once and never freed or
//! moved, so finding one takes no lock and no reference count: a call locks only its own
//! slot. Each slot holds its object behind a one-call lock ([`OneCall`]: topic and ring ends,
//! whose calls need the object to themselves; calls on one handle from two threads are
//! serialised) or a read-write lock (objects whose calls share them: a thread waiting on a
//! semaphore or a shared struct does not hold up another thread's call on the same handle).
//!
//! Closing never waits for a call in progress on another thread: it bumps the slot's
//! generation (so the id fails from then on) and marks the slot closing; whichever of the
//! closer and the calls in progress is the last to let go of the slot's lock drops the object
//! and frees the slot.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock, TryLockError};

use crate::status::{Fail, Res, PIPC_BAD_HANDLE};

/// The kinds of handle, as stored in an id's top byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// `pipc_publisher`
    Publisher = 1,
    /// `pipc_subscriber`
    Subscriber = 2,
    /// `pipc_cancel`
    Cancel = 3,
    /// `pipc_ring_sender`
    RingSender = 4,
    /// `pipc_ring_receiver`
    RingReceiver = 5,
    /// `pipc_shared`
    Shared = 6,
    /// `pipc_queue`
    Queue = 7,
    /// `pipc_mutex`
    Mutex = 8,
    /// `pipc_semaphore`
    Semaphore = 9,
    /// `pipc_shm`
    Shm = 10,
    /// `pipc_mq`
    Mq = 11,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Publisher => "publisher",
            Kind::Subscriber => "subscriber",
            Kind::Cancel => "cancel token",
            Kind::RingSender => "ring sender",
            Kind::RingReceiver => "ring receiver",
            Kind::Shared => "shared struct",
            Kind::Queue => "typed queue",
            Kind::Mutex => "robust mutex",
            Kind::Semaphore => "semaphore",
            Kind::Shm => "shared memory",
            Kind::Mq => "message queue",
        }
    }

    fn of(byte: u8) -> Option<Kind> {
        Some(match byte {
            1 => Kind::Publisher,
            2 => Kind::Subscriber,
            3 => Kind::Cancel,
            4 => Kind::RingSender,
            5 => Kind::RingReceiver,
            6 => Kind::Shared,
            7 => Kind::Queue,
            8 => Kind::Mutex,
            9 => Kind::Semaphore,
            10 => Kind::Shm,
            11 => Kind::Mq,
            _ => return None,
        })
    }
}

/// Slots per chunk, and chunks per table: 65,536 open handles of one kind at most.
const CHUNK: usize = 64;
const CHUNKS: usize = 1024;
const GENERATION_MASK: u32 = 0x00ff_ffff;

/// How a table guards its objects: `Mutex<T>` (one call at a time, in a [`OneCall`] cell) or
/// `RwLock<T>` (calls share the object). The slot's cell holds `Option<T>`: `None` when free.
pub trait Guard {
    /// The slot's cell.
    type Cell: Send + Sync;
    /// An empty cell.
    fn empty() -> Self::Cell;
    /// Takes the object out if the cell can be locked now (for the last one out of a closing
    /// slot); `None` if it is locked by someone else. `Some(None)`: locked, empty.
    fn try_take(cell: &Self::Cell) -> Option<Option<Box<dyn Send>>>;
}

/// The cell of a one-call-at-a-time slot: taken with one compare-exchange and given back with
/// a release store, where a mutex's unlock is a second locked instruction (this is on the path
/// of every receive and loan). A call that finds it taken (another thread's call on the same
/// handle, which the header advises against) spins briefly, then sleeps in growing steps of
/// at most 1 ms until it is free.
pub struct OneCall<T> {
    busy: AtomicBool,
    value: UnsafeCell<Option<T>>,
}

// SAFETY: the value is reached only through a `OneCallGuard`, and at most one guard exists at
// a time (`busy`), so sharing a `OneCall` between threads hands the value from one thread to
// another, never to two at once: what `T: Send` allows.
unsafe impl<T: Send> Sync for OneCall<T> {}

/// Exclusive access to a `OneCall`'s value until dropped.
pub struct OneCallGuard<'a, T> {
    cell: &'a OneCall<T>,
}

impl<T> OneCall<T> {
    fn new(value: Option<T>) -> OneCall<T> {
        OneCall {
            busy: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    #[inline]
    fn try_lock(&self) -> Option<OneCallGuard<'_, T>> {
        self.busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| OneCallGuard { cell: self })
    }

    #[inline]
    fn lock(&self) -> OneCallGuard<'_, T> {
        match self.try_lock() {
            Some(g) => g,
            None => self.lock_contended(),
        }
    }

    #[cold]
    fn lock_contended(&self) -> OneCallGuard<'_, T> {
        let mut sleep = std::time::Duration::from_micros(10);
        for spin in 0u32.. {
            if let Some(g) = self.try_lock() {
                return g;
            }
            if spin < 100 {
                std::hint::spin_loop();
            } else {
                std::thread::sleep(sleep);
                sleep = (sleep * 2).min(std::time::Duration::from_millis(1));
            }
        }
        unreachable!("the loop above returns")
    }
}

impl<T> std::ops::Deref for OneCallGuard<'_, T> {
    type Target = Option<T>;
    fn deref(&self) -> &Option<T> {
        // SAFETY: this guard holds `busy` (taken with Acquire after the previous holder's
        // Release store), so no other reference to the value exists until it is dropped.
        unsafe { &*self.cell.value.get() }
    }
}

impl<T> std::ops::DerefMut for OneCallGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut Option<T> {
        // SAFETY: as in `deref`; `&mut self` makes this the only reference through the guard.
        unsafe { &mut *self.cell.value.get() }
    }
}

impl<T> Drop for OneCallGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.cell.busy.store(false, Ordering::Release);
    }
}

impl<T: Send + 'static> Guard for Mutex<T> {
    type Cell = OneCall<T>;
    fn empty() -> Self::Cell {
        OneCall::new(None)
    }
    fn try_take(cell: &Self::Cell) -> Option<Option<Box<dyn Send>>> {
        let mut g = cell.try_lock()?;
        Some(g.take().map(|t| Box::new(t) as Box<dyn Send>))
    }
}

impl<T: Send + Sync + 'static> Guard for RwLock<T> {
    type Cell = RwLock<Option<T>>;
    fn empty() -> Self::Cell {
        RwLock::new(None)
    }
    fn try_take(cell: &Self::Cell) -> Option<Option<Box<dyn Send>>> {
        match cell.try_write() {
            Ok(mut g) => Some(g.take().map(|t| Box::new(t) as Box<dyn Send>)),
            Err(TryLockError::Poisoned(p)) => {
                Some(p.into_inner().take().map(|t| Box::new(t) as Box<dyn Send>))
            }
            Err(TryLockError::WouldBlock) => None,
        }
    }
}

/// One slot: its generation, whether it is being closed, and the object.
pub struct Slot<G: Guard> {
    generation: AtomicU32,
    closing: AtomicBool,
    cell: G::Cell,
}

struct Free {
    /// Slots free for reuse.
    free: Vec<usize>,
    /// Slots never used so far start here.
    next: usize,
}

/// A table of one kind of object.
pub struct Table<G: Guard> {
    kind: Kind,
    /// Each chunk's first slot (null: not allocated yet); a chunk is `CHUNK` slots, leaked.
    chunks: [AtomicPtr<Slot<G>>; CHUNKS],
    free: Mutex<Free>,
}

impl<G: Guard> Table<G> {
    /// An empty table of `kind`.
    pub const fn new(kind: Kind) -> Table<G> {
        Table {
            kind,
            chunks: [const { AtomicPtr::new(std::ptr::null_mut()) }; CHUNKS],
            free: Mutex::new(Free {
                free: Vec::new(),
                next: 0,
            }),
        }
    }

    fn bad(&self, message: String) -> Fail {
        Fail::new(PIPC_BAD_HANDLE, message)
    }

    #[cold]
    fn closed(&self, id: u64) -> Fail {
        self.bad(format!("the {} handle {id:#x} is closed", self.kind.name()))
    }

    /// The slot numbered `index`, if its chunk exists.
    #[inline(always)]
    fn slot(&self, index: usize) -> Option<&Slot<G>> {
        let chunk = self.chunks.get(index / CHUNK)?.load(Ordering::Acquire);
        if chunk.is_null() {
            return None;
        }
        // SAFETY: a non-null chunk pointer points to `CHUNK` initialised slots, leaked (never
        // freed or moved) and published with Release by `allocate` before this Acquire load;
        // `index % CHUNK` is in bounds. Slots are only used through shared references
        // (their fields are atomics and locks).
        Some(unsafe { &*chunk.add(index % CHUNK) })
    }

    /// The slot of `id` and the generation it names, if the id is of this table's kind and
    /// its slot exists (what every call does first: no error is built here).
    #[inline(always)]
    fn find(&self, id: u64) -> Option<(&Slot<G>, u32)> {
        if (id >> 56) as u8 != self.kind as u8 {
            return None;
        }
        let index = ((id & 0xffff_ffff) as usize).checked_sub(1)?;
        let slot = self.slot(index)?;
        Some((slot, (id >> 32) as u32 & GENERATION_MASK))
    }

    /// The slot of `id` and the generation it names, or why the id is bad.
    #[inline(always)]
    fn lookup(&self, id: u64) -> Res<(&Slot<G>, u32)> {
        match self.find(id) {
            Some(found) => Ok(found),
            None => Err(self.bad_id(id)),
        }
    }

    #[cold]
    fn bad_id(&self, id: u64) -> Fail {
        let what = self.kind.name();
        if id == 0 {
            return self.bad(format!(
                "the {what} handle is zero (never opened, or its opening failed)"
            ));
        }
        let kind = (id >> 56) as u8;
        if kind != self.kind as u8 {
            let other = Kind::of(kind).map_or("unknown", Kind::name);
            return self.bad(format!(
                "{id:#x} is not a {what} handle (it is of kind {other})"
            ));
        }
        self.closed(id)
    }

    fn free_list(&self) -> MutexGuard<'_, Free> {
        // Each step under this lock is one assignment: a panic cannot leave it inconsistent.
        self.free.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A free slot (allocating a chunk if needed) and its index.
    fn allocate(&self) -> Res<(usize, &Slot<G>)> {
        let mut f = self.free_list();
        let index = match f.free.pop() {
            Some(i) => i,
            None => {
                let i = f.next;
                if i >= CHUNK * CHUNKS {
                    return Err(Fail::new(
                        crate::PIPC_LIMIT_EXCEEDED,
                        format!(
                            "{} {} handles are open: close some (at most {} at once)",
                            i,
                            self.kind.name(),
                            CHUNK * CHUNKS
                        ),
                    ));
                }
                if i % CHUNK == 0 {
                    let chunk: Box<[Slot<G>]> = (0..CHUNK)
                        .map(|_| Slot {
                            generation: AtomicU32::new(1),
                            closing: AtomicBool::new(false),
                            cell: G::empty(),
                        })
                        .collect();
                    let first = Box::leak(chunk).as_mut_ptr();
                    self.chunks[i / CHUNK].store(first, Ordering::Release);
                }
                f.next = i + 1;
                i
            }
        };
        drop(f);
        let slot = self
            .slot(index)
            .ok_or_else(|| Fail::new(crate::PIPC_INTERNAL, "a slot just allocated has no chunk"))?;
        Ok((index, slot))
    }

    fn id(&self, index: usize, slot: &Slot<G>) -> u64 {
        let generation = slot.generation.load(Ordering::Acquire) & GENERATION_MASK;
        (self.kind as u64) << 56 | u64::from(generation) << 32 | (index as u64 + 1)
    }

    /// After letting go of the lock of `slot` (of `id`): if the slot is closing, the last
    /// one out drops the object and frees the slot.
    #[inline]
    fn finish_closing(&self, id: u64, slot: &Slot<G>) {
        if slot.closing.load(Ordering::SeqCst) {
            self.close_now(id, slot);
        }
    }

    #[cold]
    fn close_now(&self, id: u64, slot: &Slot<G>) {
        if let Some(object) = G::try_take(&slot.cell) {
            if slot.closing.swap(false, Ordering::SeqCst) {
                // Dropped outside any lock: closing a topic may take a while.
                drop(object);
                self.free_list().free.push((id & 0xffff_ffff) as usize - 1);
            }
        }
    }

    /// Closes `id`: the id fails from now on; the object is dropped now, or by the call in
    /// progress on it when that call ends.
    pub fn remove(&self, id: u64) -> Res<()> {
        let (slot, generation) = self.lookup(id)?;
        // Only one closer per generation: the one whose exchange succeeds.
        let next = generation.wrapping_add(1) & GENERATION_MASK;
        let current = slot.generation.load(Ordering::Acquire);
        if current & GENERATION_MASK != generation
            || slot
                .generation
                .compare_exchange(current, next, Ordering::SeqCst, Ordering::SeqCst)
                .is_err()
        {
            return Err(self.closed(id));
        }
        slot.closing.store(true, Ordering::SeqCst);
        self.finish_closing(id, slot);
        Ok(())
    }
}

impl<T: Send + 'static> Table<Mutex<T>> {
    /// Stores `object`; its id.
    pub fn add(&self, object: T) -> Res<u64> {
        let (index, slot) = self.allocate()?;
        *slot.cell.lock() = Some(object);
        Ok(self.id(index, slot))
    }

    /// Runs `f` on the object of `id`, locked (calls on one handle are serialised).
    #[inline]
    pub fn with<R>(&self, id: u64, f: impl FnOnce(&mut T) -> Res<R>) -> Res<R> {
        let (slot, generation) = self.lookup(id)?;
        let result = {
            // A panic in an earlier call (its guard was dropped while unwinding) left the
            // object as the core leaves it after any error: go on.
            let mut cell = slot.cell.lock();
            match cell.as_mut() {
                Some(object)
                    if slot.generation.load(Ordering::Acquire) & GENERATION_MASK == generation =>
                {
                    f(object)
                }
                _ => Err(self.closed(id)),
            }
        };
        self.finish_closing(id, slot);
        result
    }
}

impl<T: Send + Sync + 'static> Table<RwLock<T>> {
    /// Stores `object`; its id.
    pub fn add(&self, object: T) -> Res<u64> {
        let (index, slot) = self.allocate()?;
        *slot.cell.write().unwrap_or_else(|e| e.into_inner()) = Some(object);
        Ok(self.id(index, slot))
    }

    /// Runs `f` on the object of `id`, shared with other threads' calls.
    pub fn with<R>(&self, id: u64, f: impl FnOnce(&T) -> Res<R>) -> Res<R> {
        let (slot, generation) = self.lookup(id)?;
        let result = {
            let cell = slot.cell.read().unwrap_or_else(|e| e.into_inner());
            match cell.as_ref() {
                Some(object)
                    if slot.generation.load(Ordering::Acquire) & GENERATION_MASK == generation =>
                {
                    f(object)
                }
                _ => Err(self.closed(id)),
            }
        };
        self.finish_closing(id, slot);
        result
    }

    /// Runs `f` on the object of `id`, alone.
    pub fn with_mut<R>(&self, id: u64, f: impl FnOnce(&mut T) -> Res<R>) -> Res<R> {
        let (slot, generation) = self.lookup(id)?;
        let result = {
            let mut cell = slot.cell.write().unwrap_or_else(|e| e.into_inner());
            match cell.as_mut() {
                Some(object)
                    if slot.generation.load(Ordering::Acquire) & GENERATION_MASK == generation =>
                {
                    f(object)
                }
                _ => Err(self.closed(id)),
            }
        };
        self.finish_closing(id, slot);
        result
    }
}

/// A handle struct of the header: `{ uint64_t id; }`.
pub trait Handle {
    /// The handle of `id`.
    fn from_id(id: u64) -> Self;
}

/// Declares a handle struct of the header.
#[macro_export]
#[doc(hidden)]
macro_rules! handle_struct {
    ($name:ident) => {
        /// A handle: an id into the library's table (0: none).
        #[repr(C)]
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct $name {
            /// The id.
            pub id: u64,
        }

        impl $crate::handles::Handle for $name {
            fn from_id(id: u64) -> Self {
                $name { id }
            }
        }
    };
}

/// An object as opened (`Plain`) or as made by a `create_or_take_over` (`Owned`: closing the
/// handle removes the object).
pub enum Held<T: posix_ipc_core::Removable> {
    /// Opened or created: closing leaves the object.
    Plain(T),
    /// Owned: closing removes it.
    Owned(posix_ipc_core::Owned<T>),
}

impl<T: posix_ipc_core::Removable> Held<T> {
    /// The object.
    pub fn get(&self) -> &T {
        match self {
            Held::Plain(t) => t,
            Held::Owned(t) => t,
        }
    }

    /// The object, mutable.
    pub fn get_mut(&mut self) -> &mut T {
        match self {
            Held::Plain(t) => t,
            Held::Owned(t) => t,
        }
    }

    /// Applies a builder (`with_cancel`) that takes the object by value.
    pub fn map(self, f: impl FnOnce(T) -> T) -> Held<T> {
        match self {
            Held::Plain(t) => Held::Plain(f(t)),
            Held::Owned(t) => Held::Owned(posix_ipc_core::Owned::new(f(t.into_inner()))),
        }
    }
}
