//! [`Owned`]: a handle that removes the name of the object it created when it is dropped.
//!
//! Named objects outlive the processes that use them: that is what lets a consumer start after
//! its producer, and what leaves `/dev/shm` full of leftovers after a crash. The handle that
//! created an object can own it instead: wrap it with [`Owned::new`], or use a `create_owned`
//! constructor (every kind has one). The name is then removed when the owner is dropped: at the
//! end of its scope, on an early return with `?`, while a panic unwinds, and, with
//! [`signals::stop_on_signals`](crate::signals::stop_on_signals) on, after Ctrl-C or SIGTERM
//! (the first signal stops blocked calls so the program unwinds normally; a second one removes
//! the names of every live owner and ends the process).
//!
//! Only what the handle itself created is ever removed: an owner around a handle that merely
//! opened an existing object (`open`, or `open_or_create` that found one) removes nothing, and
//! a name that meanwhile refers to another object (removed and made again by someone else) is
//! left alone. SIGKILL and `panic = "abort"` run no destructor: find and remove those
//! leftovers with [`lifecycle::clean_stale`](crate::lifecycle::clean_stale) or
//! `posix-ipc clean --stale`.
//!
//! ```
//! use posix_ipc_core::{MessageQueue, Owned};
//!
//! # let name = format!("/doc-owned-{}", std::process::id());
//! {
//!     let mq = MessageQueue::create_owned(&name, 2, 64)?;   // Owned<MessageQueue>
//!     mq.send(b"job", 0)?;                                   // derefs to the handle
//!     let peer = MessageQueue::open(&name)?;                 // others use it meanwhile
//!     assert_eq!(peer.receive()?.0, b"job");
//! }                                                          // removed here
//! assert!(MessageQueue::open(&name).unwrap_err().is_existential());
//! # Ok::<(), posix_ipc_core::Error>(())
//! ```

use std::fmt;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::sync::{Mutex, PoisonError};

use crate::error::Result;
use crate::name::Name;
use crate::sys;

/// How the names of one kind of object are removed and identified: each kind (semaphores,
/// segments, queues) gives its own where it is defined, so this module knows none of them.
#[doc(hidden)]
pub struct Remover {
    /// Removes the name (a valid one).
    pub(crate) unlink: fn(&Name) -> Result<()>,
    /// Device and inode of what the name refers to now, `None` if nothing.
    pub(crate) identify: fn(&Name) -> Option<(u64, u64)>,
}

impl fmt::Debug for Remover {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Remover")
    }
}

/// A name an owner removes, with the identity (device, inode) of the object it named when the
/// owner was made: a name that no longer refers to that object is not removed.
#[derive(Debug, Clone)]
#[doc(hidden)]
pub struct OwnedName {
    pub(crate) name: Name,
    pub(crate) id: Option<(u64, u64)>,
    remover: &'static Remover,
}

impl OwnedName {
    pub(crate) fn new(name: &Name, id: Option<(u64, u64)>, remover: &'static Remover) -> OwnedName {
        OwnedName {
            name: name.clone(),
            id,
            remover,
        }
    }

    /// Removes the name if it still refers to the object it named. Returns whether it did.
    pub(crate) fn remove(&self) -> Result<bool> {
        let still_ours = match (self.id, (self.remover.identify)(&self.name)) {
            (_, None) => return Ok(false),
            (Some(id), Some(now)) => id == now,
            (None, Some(_)) => true,
        };
        if !still_ours {
            return Ok(false);
        }
        (self.remover.unlink)(&self.name)?;
        Ok(true)
    }
}

pub(crate) mod sealed {
    /// Implemented beside [`Removable`](super::Removable) by each handle that names an object.
    pub trait Sealed {}
}

/// The handles an [`Owned`] can hold: every handle of this crate that names an object.
pub trait Removable: sealed::Sealed {
    /// Whether this handle created the object (only then does an owner remove it).
    fn created_object(&self) -> bool;
    /// The names removing the object removes (a typed queue: the queue and its companion).
    #[doc(hidden)]
    fn owned_names(&self) -> Vec<OwnedName>;
}

/// Owners alive in this process, for the second-signal exit of [`crate::signals`].
static LIVE: Mutex<Vec<(u64, u32, Vec<OwnedName>)>> = Mutex::new(Vec::new());
static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Removes the names of every live owner (the second stop signal). Returns how many it removed.
pub(crate) fn remove_all() -> usize {
    let live = LIVE.lock().unwrap_or_else(PoisonError::into_inner);
    let me = sys::getpid();
    live.iter()
        .filter(|(_, pid, _)| *pid == me)
        .flat_map(|(_, _, names)| names)
        .filter(|n| n.remove().unwrap_or(false))
        .count()
}

/// A handle that removes the object it created when dropped. Derefs to the handle.
///
/// See the [module documentation](self) for when it removes and when it does not.
pub struct Owned<H: Removable> {
    handle: ManuallyDrop<H>,
    /// The process that made the owner: a forked child that inherited it removes nothing.
    pid: u32,
    /// Its entry in the live list (`None`: it owns nothing).
    entry: Option<u64>,
    names: Vec<OwnedName>,
}

impl<H: Removable> Owned<H> {
    /// Takes ownership of `handle`'s object if `handle` created it; otherwise the owner removes
    /// nothing ([`owns`](Self::owns) is false).
    pub fn new(handle: H) -> Owned<H> {
        if !handle.created_object() {
            return Owned {
                handle: ManuallyDrop::new(handle),
                pid: sys::getpid(),
                entry: None,
                names: Vec::new(),
            };
        }
        let names = handle.owned_names();
        let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        LIVE.lock().unwrap_or_else(PoisonError::into_inner).push((
            id,
            sys::getpid(),
            names.clone(),
        ));
        Owned {
            handle: ManuallyDrop::new(handle),
            pid: sys::getpid(),
            entry: Some(id),
            names,
        }
    }

    /// Whether dropping this owner removes the object (the handle created it).
    pub fn owns(&self) -> bool {
        self.entry.is_some()
    }

    /// The names this owner removes.
    pub fn names(&self) -> Vec<&str> {
        self.names.iter().map(|n| n.name.as_str()).collect()
    }

    /// Gives up ownership: the handle is returned and the object stays.
    pub fn into_inner(mut self) -> H {
        self.forget_entry();
        drop(std::mem::take(&mut self.names));
        // SAFETY: `handle` is taken exactly once, here; `self` is forgotten right after, so
        // `Drop` never touches it again.
        let handle = unsafe { ManuallyDrop::take(&mut self.handle) };
        std::mem::forget(self);
        handle
    }

    /// Removes the object now, reporting an error (dropping removes it too, silently), then
    /// closes the handle. Returns whether anything was removed.
    pub fn remove(mut self) -> Result<bool> {
        self.forget_entry();
        let mut names = std::mem::take(&mut self.names);
        if self.pid != sys::getpid() {
            names.clear();
        }
        let mut removed = false;
        let mut first_error = None;
        for n in &names {
            match n.remove() {
                Ok(r) => removed |= r,
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        drop(self);
        match first_error {
            Some(e) => Err(e),
            None => Ok(removed),
        }
    }

    fn forget_entry(&mut self) {
        if let Some(id) = self.entry.take() {
            LIVE.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .retain(|(i, _, _)| *i != id);
        }
    }
}

impl<H: Removable> Drop for Owned<H> {
    fn drop(&mut self) {
        self.forget_entry();
        // A forked child that inherited the owner leaves its parent's objects alone.
        if self.pid == sys::getpid() {
            for n in &self.names {
                let _ = n.remove();
            }
        }
        // SAFETY: dropped exactly once, here (`into_inner` forgets `self` after taking it).
        unsafe { ManuallyDrop::drop(&mut self.handle) };
    }
}

impl<H: Removable> Deref for Owned<H> {
    type Target = H;
    fn deref(&self) -> &H {
        &self.handle
    }
}

impl<H: Removable> DerefMut for Owned<H> {
    fn deref_mut(&mut self) -> &mut H {
        &mut self.handle
    }
}

impl<H: Removable + fmt::Debug> fmt::Debug for Owned<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Owned")
            .field("handle", &*self.handle)
            .field("owns", &self.owns())
            .finish()
    }
}
