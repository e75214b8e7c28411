//! `SharedMemory`: posix_ipc's class over the core's segment handle.

use std::os::fd::{AsRawFd, IntoRawFd};
use std::sync::{Mutex, MutexGuard, PoisonError};

use posix_ipc_core as core;
use posix_ipc_core::ErrorKind;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::args;
use crate::errors::{ExistentialError, IntoPy};

enum State {
    Open(core::SharedMemory),
    Closed(core::ClosedSharedMemory),
    /// Closed by a `close_fd()` whose `close` failed (or, briefly, during a transition):
    /// `unlink()` goes by name.
    Gone,
}

/// A POSIX shared memory segment (posix_ipc.SharedMemory).
///
/// `SharedMemory(name, flags=0, mode=0o600, size=0, read_only=False, reserve=False)`. Map it
/// with `mmap.mmap(shm.fd, shm.size)`. As posix_ipc, a size only sets the segment's length
/// (`ftruncate`): any size the file system accepts is created, and pages are found as they are
/// first written, so a write to one that a full `/dev/shm` cannot supply kills the process with
/// SIGBUS. `reserve=True` reserves them now (`posix_fallocate`): a full `/dev/shm` is then an
/// OSError (ENOSPC) here, naming the space left, and never a SIGBUS later. As in posix_ipc, the descriptor is not closed when the object
/// is garbage collected (programs close it themselves with `os.close(shm.fd)`); `close_fd()`,
/// `close()` or `with SharedMemory(...) as shm:` close it.
#[pyclass(module = "posix_ipc_rs", subclass, frozen)]
pub struct SharedMemory {
    state: Mutex<State>,
    name: String,
    mode: u32,
    read_only: bool,
    flags: i32,
}

impl SharedMemory {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn closed(&self) -> PyErr {
        ExistentialError::new_err(format!(
            "cannot use shared memory \"{}\": its descriptor has been closed (close_fd)",
            self.name
        ))
    }
}

impl Drop for SharedMemory {
    fn drop(&mut self) {
        // posix_ipc never closes the descriptor on garbage collection, and its programs close it
        // themselves (`os.close(shm.fd)`); closing it here could close a number that already
        // belongs to another file. The descriptor is given up, not closed.
        let state = std::mem::replace(
            self.state.get_mut().unwrap_or_else(PoisonError::into_inner),
            State::Gone,
        );
        if let State::Open(shm) = state {
            let _ = shm.into_raw_fd();
        }
    }
}

#[pymethods]
impl SharedMemory {
    #[new]
    #[pyo3(signature = (name, flags=None, mode=None, size=None, read_only=None, reserve=None), text_signature = "(name, flags=0, mode=0o600, size=0, read_only=False, reserve=False)")]
    fn new(
        name: &Bound<'_, PyAny>,
        flags: Option<&Bound<'_, PyAny>>,
        mode: Option<&Bound<'_, PyAny>>,
        size: Option<&Bound<'_, PyAny>>,
        read_only: Option<&Bound<'_, PyAny>>,
        reserve: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<SharedMemory> {
        let given = args::name(name)?;
        let flags = crate::flags(flags)?;
        let mode = crate::mode(mode)?;
        let size: u64 = args::int_or(size, 0, "size", 0, i64::MAX as i128, "off_t, 2**63 - 1")?;
        let read_only = match read_only {
            Some(r) => r.is_truthy()?,
            None => false,
        };
        let reserve = match reserve {
            Some(r) => r.is_truthy()?,
            None => false,
        };
        let shm = core::SharedMemory::new_reserving(
            given.as_deref(),
            flags,
            mode,
            size,
            read_only,
            reserve,
        )
        .py()?;
        Ok(SharedMemory {
            name: given.unwrap_or_else(|| shm.name().to_owned()),
            mode,
            read_only,
            flags,
            state: Mutex::new(State::Open(shm)),
        })
    }

    /// Closes the descriptor (mappings stay valid). Calling it again does nothing.
    fn close_fd(&self) -> PyResult<()> {
        let mut state = self.state();
        match std::mem::replace(&mut *state, State::Gone) {
            State::Open(shm) => match shm.close_fd() {
                Ok(closed) => {
                    *state = State::Closed(closed);
                    Ok(())
                }
                Err(e) => {
                    // The descriptor is gone either way (for EBADF the program closed it
                    // itself with os.close); keep what unlink() needs.
                    let kind = e.kind();
                    *state = State::Gone;
                    if kind == ErrorKind::Closed {
                        Ok(())
                    } else {
                        Err(crate::errors::to_py(e))
                    }
                }
            },
            other => {
                *state = other;
                Ok(())
            }
        }
    }

    /// The same as `close_fd()` (posix_ipc issue #98).
    fn close(&self) -> PyResult<()> {
        self.close_fd()
    }

    /// The descriptor (for `mmap.mmap(shm.fileno(), shm.size)`), -1 once closed.
    fn fileno(&self) -> i32 {
        self.fd()
    }

    /// Removes the name; the memory lives on while it is mapped or open. Works after
    /// `close_fd()`.
    fn unlink(&self) -> PyResult<()> {
        match &*self.state() {
            State::Open(shm) => shm.unlink().py(),
            State::Closed(closed) => closed.unlink().py(),
            State::Gone => core::unlink_shared_memory(&self.name).py(),
        }
    }

    /// Returns the segment itself.
    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// Closes the descriptor (does not unlink).
    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, _exc: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.close_fd()?;
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

    /// The descriptor, -1 once closed.
    #[getter]
    fn fd(&self) -> i32 {
        match &*self.state() {
            State::Open(shm) => shm.as_raw_fd(),
            _ => -1,
        }
    }

    /// The permission bits it was opened with.
    #[getter]
    fn mode(&self) -> u32 {
        self.mode
    }

    /// Whether it was opened read-only.
    #[getter]
    fn read_only(&self) -> bool {
        self.read_only
    }

    /// The current size in bytes (fstat, so another process's resize shows at once).
    #[getter]
    fn size(&self) -> PyResult<u64> {
        match &*self.state() {
            State::Open(shm) => shm.size().py(),
            _ => Err(self.closed()),
        }
    }

    fn __str__(&self) -> &str {
        &self.name
    }

    fn __repr__(&self) -> String {
        format!(
            "posix_ipc_rs.SharedMemory({}, mode=0o{:o}{})",
            crate::py_str_repr(&self.name),
            self.mode,
            if self.read_only {
                ", read_only=True"
            } else {
                ""
            }
        )
    }
}
