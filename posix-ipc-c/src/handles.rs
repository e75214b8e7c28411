//! The handle table: C holds ids, never pointers into Rust memory, so a zero, closed or
//! foreign id is an error code rather than a use after free.
//!
//! An id is `kind << 56 | generation << 32 | (slot + 1)`: the kind catches a handle of one
//! kind passed as another (through a cast), the generation a closed handle whose slot was
//! reused. Each object sits inside an `Arc`, behind a mutex (topic ends, whose calls need the
//! object to themselves: calls on one handle from two threads are serialised) or a
//! read-write lock (objects whose calls share them: a thread waiting on a shared struct or a
//! ring does not hold up another thread's call on the same handle). Closing a handle while
//! another thread waits in a call on it removes it from the table at once but frees it only
//! when that call returns.

use std::sync::{Arc, Mutex, MutexGuard, RwLock};

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

struct Slot<T> {
    generation: u32,
    object: Option<Arc<T>>,
}

struct Slots<T> {
    slots: Vec<Slot<T>>,
    free: Vec<usize>,
}

/// A table of one kind of object.
pub struct Table<T> {
    kind: Kind,
    inner: Mutex<Slots<T>>,
}

impl<T> Table<T> {
    /// An empty table of `kind`.
    pub const fn new(kind: Kind) -> Table<T> {
        Table {
            kind,
            inner: Mutex::new(Slots {
                slots: Vec::new(),
                free: Vec::new(),
            }),
        }
    }

    fn slots(&self) -> MutexGuard<'_, Slots<T>> {
        // A panic while the table was locked left it consistent (each step below is one
        // assignment): go on.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores `object` and returns its id.
    pub fn insert(&self, object: T) -> u64 {
        let mut s = self.slots();
        let object = Some(Arc::new(object));
        let index = match s.free.pop() {
            Some(i) => {
                s.slots[i].object = object;
                i
            }
            None => {
                s.slots.push(Slot {
                    generation: 1,
                    object,
                });
                s.slots.len() - 1
            }
        };
        let generation = s.slots[index].generation;
        (self.kind as u64) << 56 | u64::from(generation & 0x00ff_ffff) << 32 | (index as u64 + 1)
    }

    fn slot_of(&self, id: u64) -> Res<usize> {
        let what = self.kind.name();
        if id == 0 {
            return Err(Fail::new(
                PIPC_BAD_HANDLE,
                format!("the {what} handle is zero (never opened, or its opening failed)"),
            ));
        }
        let kind = (id >> 56) as u8;
        if kind != self.kind as u8 {
            let other = Kind::of(kind).map_or("unknown", Kind::name);
            return Err(Fail::new(
                PIPC_BAD_HANDLE,
                format!("{id:#x} is not a {what} handle (it is of kind {other})"),
            ));
        }
        Ok((id & 0xffff_ffff) as usize - 1)
    }

    fn closed(&self, id: u64) -> Fail {
        Fail::new(
            PIPC_BAD_HANDLE,
            format!("the {} handle {id:#x} is closed", self.kind.name()),
        )
    }

    /// The object of `id`.
    pub fn get(&self, id: u64) -> Res<Arc<T>> {
        let index = self.slot_of(id)?;
        let generation = (id >> 32) as u32 & 0x00ff_ffff;
        let s = self.slots();
        match s.slots.get(index) {
            Some(slot) if slot.generation & 0x00ff_ffff == generation => {
                slot.object.clone().ok_or_else(|| self.closed(id))
            }
            _ => Err(self.closed(id)),
        }
    }

    /// Removes `id` from the table; the object is dropped when the last call using it returns.
    pub fn remove(&self, id: u64) -> Res<Arc<T>> {
        let index = self.slot_of(id)?;
        let generation = (id >> 32) as u32 & 0x00ff_ffff;
        let mut s = self.slots();
        let removed = match s.slots.get_mut(index) {
            Some(slot) if slot.generation & 0x00ff_ffff == generation => {
                let o = slot.object.take();
                if o.is_some() {
                    slot.generation = slot.generation.wrapping_add(1);
                }
                o
            }
            _ => None,
        };
        match removed {
            Some(o) => {
                s.free.push(index);
                Ok(o)
            }
            None => Err(self.closed(id)),
        }
    }
}

impl<T> Table<Mutex<T>> {
    /// Stores `object` behind a mutex.
    pub fn add(&self, object: T) -> u64 {
        self.insert(Mutex::new(object))
    }

    /// Runs `f` on the object of `id`, locked. A panic in an earlier call left the object
    /// as the core leaves it after any error: go on.
    pub fn with<R>(&self, id: u64, f: impl FnOnce(&mut T) -> Res<R>) -> Res<R> {
        let object = self.get(id)?;
        let mut guard = object.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }
}

impl<T> Table<RwLock<T>> {
    /// Stores `object` behind a read-write lock.
    pub fn add(&self, object: T) -> u64 {
        self.insert(RwLock::new(object))
    }

    /// Runs `f` on the object of `id`, shared with other threads' calls.
    pub fn with<R>(&self, id: u64, f: impl FnOnce(&T) -> Res<R>) -> Res<R> {
        let object = self.get(id)?;
        let guard = object.read().unwrap_or_else(|e| e.into_inner());
        f(&guard)
    }

    /// Runs `f` on the object of `id`, alone.
    pub fn with_mut<R>(&self, id: u64, f: impl FnOnce(&mut T) -> Res<R>) -> Res<R> {
        let object = self.get(id)?;
        let mut guard = object.write().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }
}

/// Writes a new handle's id through `out` (checked not NULL before the object is made).
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
