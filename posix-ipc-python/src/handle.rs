//! A handle that `close()` can take away while other threads still use it.
//!
//! Every class keeps its core handle in a `Slot`: a call clones the `Arc` under a short lock and
//! runs without the lock (a blocking call then releases the GIL, and a notification callback may
//! call back into the same object). `close()` empties the slot; a call already running keeps its
//! clone, so the descriptor stays valid until that call returns (posix_ipc closes it under the
//! blocked call, which may then act on a reused descriptor number).

use std::sync::{Arc, PoisonError, RwLock};

use pyo3::PyResult;

use crate::errors;

/// The core handle of one Python object, or nothing after `close()`.
pub(crate) struct Slot<T> {
    inner: RwLock<Option<Arc<T>>>,
    what: &'static str,
}

impl<T> Slot<T> {
    /// A slot holding `handle`; `what` names the class in errors ("the semaphore").
    pub(crate) fn new(handle: T, what: &'static str) -> Slot<T> {
        Slot {
            inner: RwLock::new(Some(Arc::new(handle))),
            what,
        }
    }

    /// The handle, or `ExistentialError` naming `name` once closed.
    #[inline]
    pub(crate) fn get(&self, name: &str) -> PyResult<Arc<T>> {
        self.inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or_else(|| errors::closed(self.what, name))
    }

    /// Whether `close()` has run.
    pub(crate) fn is_closed(&self) -> bool {
        self.inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none()
    }

    /// Empties the slot; returns the handle if it was still open. The caller drops it (closing
    /// the object once no running call holds it any more).
    pub(crate) fn take(&self) -> Option<Arc<T>> {
        self.inner
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}
