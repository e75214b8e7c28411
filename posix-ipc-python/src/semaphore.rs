//! `Semaphore`: posix_ipc's class over the core's named semaphore.

use std::sync::Arc;

use posix_ipc_core as core;
use posix_ipc_core::{ErrorKind, Timeout};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::args;
use crate::errors::{after_wait, IntoPy};
use crate::handle::Slot;

/// A POSIX named semaphore (posix_ipc.Semaphore).
///
/// `Semaphore(name, flags=0, mode=0o600, initial_value=0)`. `name=None` with `O_CREX` makes a
/// new semaphore with a random name. `with sem:` acquires on entry and releases on exit.
#[pyclass(module = "posix_ipc_rs", subclass, frozen)]
pub struct Semaphore {
    slot: Slot<core::Semaphore>,
    name: String,
    mode: u32,
    flags: i32,
}

impl Semaphore {
    fn handle(&self) -> PyResult<std::sync::Arc<core::Semaphore>> {
        self.slot.get(&self.name)
    }
}

/// Acquires `sem`, releasing the GIL only if the call has to wait.
pub(crate) fn acquire(py: Python<'_>, sem: &core::Semaphore, timeout: Timeout) -> PyResult<()> {
    match sem.try_acquire() {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == ErrorKind::WouldBlock && timeout != Timeout::Immediate => {}
        Err(e) => return Err(crate::errors::to_py(e)),
    }
    let r = py.detach(|| sem.acquire_with(timeout));
    after_wait(py, r)
}

#[pymethods]
impl Semaphore {
    #[new]
    #[pyo3(signature = (name, flags=None, mode=None, initial_value=None), text_signature = "(name, flags=0, mode=0o600, initial_value=0)")]
    fn new(
        name: &Bound<'_, PyAny>,
        flags: Option<&Bound<'_, PyAny>>,
        mode: Option<&Bound<'_, PyAny>>,
        initial_value: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Semaphore> {
        let given = args::name(name)?;
        let flags = crate::flags(flags)?;
        let mode = crate::mode(mode)?;
        let max = core::limits::sem_value_max() as i128;
        let initial_value: u32 = args::int_or(
            initial_value,
            0,
            "initial_value",
            0,
            max,
            "SEMAPHORE_VALUE_MAX",
        )?;
        let sem = core::Semaphore::new(given.as_deref(), flags, mode, initial_value).py()?;
        Ok(Semaphore {
            name: given.unwrap_or_else(|| sem.name().to_owned()),
            mode,
            flags,
            slot: Slot::new(sem, "the semaphore"),
        })
    }

    /// Waits until the value is above zero, then decrements it. `timeout=None` waits forever,
    /// `0` never waits (BusyError at once), a positive number waits at most that many seconds
    /// (BusyError when it expires). Other threads run while it waits; Ctrl-C raises
    /// KeyboardInterrupt.
    #[pyo3(signature = (timeout=None))]
    fn acquire(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let timeout = args::timeout(timeout)?;
        let sem = self.slot.with(&self.name, |sem| match sem.try_acquire() {
            Ok(()) => Ok(None),
            Err(e) if e.kind() == ErrorKind::WouldBlock && timeout != Timeout::Immediate => {
                Ok(Some(Arc::clone(sem)))
            }
            Err(e) => Err(crate::errors::to_py(e)),
        })?;
        match sem {
            None => Ok(()),
            // It has to wait: without the GIL, on a reference of its own.
            Some(sem) => after_wait(py, py.detach(|| sem.acquire_with(timeout))),
        }
    }

    /// Increments the value, waking one waiter.
    fn release(&self) -> PyResult<()> {
        self.slot.with(&self.name, |sem| sem.release().py())
    }

    /// Closes this handle (the semaphore itself stays until unlinked). Afterwards every
    /// method and property but `name` raises ExistentialError.
    fn close(&self) -> PyResult<()> {
        match self.slot.take() {
            Some(sem) => match std::sync::Arc::try_unwrap(sem) {
                Ok(sem) => sem.close().py(),
                // A call on another thread still holds it: it closes when that call returns.
                Err(_) => Ok(()),
            },
            None => Err(crate::errors::closed("the semaphore", &self.name)),
        }
    }

    /// Removes the name; the semaphore lives on until every handle is closed.
    fn unlink(&self) -> PyResult<()> {
        self.handle()?.unlink().py()
    }

    /// Acquires (waiting as long as it takes) and returns the semaphore.
    fn __enter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        let sem = slf.get().handle()?;
        acquire(slf.py(), &sem, Timeout::Infinite)?;
        Ok(slf)
    }

    /// Releases.
    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, _exc: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.release()?;
        Ok(false)
    }

    /// The name, as given (or the random name chosen).
    /// The flags it was opened with (posix_ipc issue #113): O_CREAT, O_EXCL, O_TRUNC,
    /// O_NONBLOCK as given.
    #[getter]
    fn flags(&self) -> i32 {
        self.flags
    }

    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// The permission bits it was opened with.
    #[getter]
    fn mode(&self) -> PyResult<u32> {
        self.handle()?;
        Ok(self.mode)
    }

    /// The current value (sem_getvalue).
    #[getter]
    fn value(&self) -> PyResult<u32> {
        self.slot.with(&self.name, |sem| sem.value().py())
    }

    fn __str__(&self) -> &str {
        &self.name
    }

    fn __repr__(&self) -> String {
        format!(
            "posix_ipc_rs.Semaphore({}, mode=0o{:o}){}",
            crate::py_str_repr(&self.name),
            self.mode,
            if self.slot.is_closed() {
                " (closed)"
            } else {
                ""
            }
        )
    }
}
