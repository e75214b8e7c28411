//! A handle that `close()` can take away while other threads still use it.
//!
//! Every class keeps its core handle in a `Slot`. A call that does not wait borrows it
//! ([`Slot::with`]: no lock, no reference count, through `arc-swap`); a call that may wait
//! takes its own reference ([`Slot::get`]) and runs without the GIL on it (a notification
//! callback may also call back into the same object). `close()` empties the slot; a call
//! already running keeps its reference, so the descriptor stays valid until that call returns
//! (posix_ipc closes it under the blocked call, which may then act on a reused descriptor
//! number).

use std::sync::Arc;

use arc_swap::ArcSwapOption;
use pyo3::PyResult;

use crate::errors;

/// The core handle of one Python object, or nothing after `close()`.
pub(crate) struct Slot<T> {
    inner: ArcSwapOption<T>,
    what: &'static str,
}

impl<T> Slot<T> {
    /// A slot holding `handle`; `what` names the class in errors ("the semaphore").
    pub(crate) fn new(handle: T, what: &'static str) -> Slot<T> {
        Slot {
            inner: ArcSwapOption::new(Some(Arc::new(handle))),
            what,
        }
    }

    /// A reference of its own to the handle (for a call that may wait), or `ExistentialError`
    /// naming `name` once closed.
    #[inline]
    pub(crate) fn get(&self, name: &str) -> PyResult<Arc<T>> {
        self.inner
            .load_full()
            .ok_or_else(|| errors::closed(self.what, name))
    }

    /// Runs `f` on the handle, borrowed for the call (which must not wait), or raises
    /// `ExistentialError` naming `name` once closed.
    #[inline]
    pub(crate) fn with<R>(
        &self,
        name: &str,
        f: impl FnOnce(&Arc<T>) -> PyResult<R>,
    ) -> PyResult<R> {
        match &*self.inner.load() {
            Some(handle) => f(handle),
            None => Err(errors::closed(self.what, name)),
        }
    }

    /// Whether `close()` has run.
    pub(crate) fn is_closed(&self) -> bool {
        self.inner.load().is_none()
    }

    /// Empties the slot; returns the handle if it was still open. The caller drops it (closing
    /// the object once no running call holds it any more).
    pub(crate) fn take(&self) -> Option<Arc<T>> {
        self.inner.swap(None)
    }
}
