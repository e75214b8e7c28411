//! What posix_ipc lacks: `RobustMutex` (posix_ipc issue #53), the shared-memory rings and the
//! seqlock struct `Shared`, interoperating with the Rust types of the same names.

use std::time::Duration;

use posix_ipc_core as core;
use posix_ipc_core::{ErrorKind, Timeout};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::args;
use crate::errors::{to_py, IntoPy};
use crate::handle::Slot;

/// How long a blocked call whose wait a signal does not interrupt (a robust mutex: glibc
/// restarts it; a ring or `Shared` futex: the core goes back to sleep) waits without the GIL
/// before it looks for a pending signal, so that Ctrl-C stops it.
const SIGNAL_CHECK: Duration = Duration::from_millis(50);

/// Runs `attempt` (a blocking call of the core taking a timeout) without the GIL in slices of
/// at most [`SIGNAL_CHECK`] until it succeeds, fails otherwise, or `timeout` expires; between
/// slices, a pending signal's Python handler runs (Ctrl-C raises KeyboardInterrupt).
pub(crate) fn wait_in_slices<R: Send>(
    py: Python<'_>,
    timeout: Timeout,
    attempt: impl Fn(Timeout) -> Result<R, core::Error> + Sync,
) -> PyResult<R> {
    let deadline = match timeout {
        Timeout::After(d) => Some(std::time::Instant::now() + d),
        _ => None,
    };
    loop {
        let slice = match deadline {
            Some(at) => at
                .saturating_duration_since(std::time::Instant::now())
                .min(SIGNAL_CHECK),
            None => SIGNAL_CHECK,
        };
        let last = deadline.is_some() && slice < SIGNAL_CHECK;
        match py.detach(|| attempt(Timeout::After(slice))) {
            Ok(r) => return Ok(r),
            Err(e) if e.kind() == ErrorKind::TimedOut && !last => py.check_signals()?,
            Err(e) => return Err(to_py(e)),
        }
    }
}

/// A lock shared by processes that is handed to the next locker when its holder dies
/// (posix_ipc issue #53), interoperating with the Rust `posix_ipc::RobustMutex`.
///
/// `RobustMutex(name, flags=0)`, always made with mode 0600: flags 0 opens an existing one, `O_CREAT` opens
/// or creates, `O_CREX` creates. `acquire()` returns True if the previous holder died holding
/// it (check or repair what it protects); `with m:` acquires and releases. Only the thread that
/// acquired it may release it.
#[pyclass(module = "posix_ipc_rs", subclass, frozen)]
pub struct RobustMutex {
    slot: Slot<core::RobustMutex>,
    name: String,
    owner_died: std::sync::atomic::AtomicBool,
}

#[pymethods]
impl RobustMutex {
    #[new]
    #[pyo3(signature = (name, flags=None), text_signature = "(name, flags=0)")]
    fn new(name: &Bound<'_, PyAny>, flags: Option<&Bound<'_, PyAny>>) -> PyResult<RobustMutex> {
        let Some(given) = args::name(name)? else {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "a RobustMutex needs a name (None is not accepted)",
            ));
        };
        let flags = crate::flags(flags)?;
        let m = if flags & core::O_CREX == core::O_CREX {
            core::RobustMutex::create(&given)
        } else if flags & core::O_CREAT != 0 {
            core::RobustMutex::open_or_create(&given)
        } else {
            core::RobustMutex::open(&given)
        }
        .py()?;
        Ok(RobustMutex {
            name: given,
            slot: Slot::new(m, "the robust mutex"),
            owner_died: false.into(),
        })
    }

    /// Locks, waiting as `timeout` says (None: forever, 0: BusyError at once, seconds:
    /// BusyError when they expire), other threads running. Returns True if the previous holder
    /// died holding it. Ctrl-C raises KeyboardInterrupt (noticed within 50 ms).
    #[pyo3(signature = (timeout=None))]
    fn acquire(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<bool> {
        let timeout = args::timeout(timeout)?;
        let m = self.slot.get(&self.name)?;
        let died = match m.lock_unguarded(Timeout::Immediate) {
            Ok(died) => died,
            Err(e) if e.kind() == ErrorKind::WouldBlock && timeout != Timeout::Immediate => {
                wait_in_slices(py, timeout, |slice| m.lock_unguarded(slice))?
            }
            Err(e) => return Err(to_py(e)),
        };
        self.owner_died
            .store(died, std::sync::atomic::Ordering::Relaxed);
        Ok(died)
    }

    /// Unlocks; PermissionsError if this thread does not hold it.
    fn release(&self) -> PyResult<()> {
        self.slot.get(&self.name)?.unlock().py()
    }

    /// Whether the holder before the last `acquire()` died holding the lock.
    #[getter]
    fn previous_owner_died(&self) -> bool {
        self.owner_died.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Acquires and returns the mutex.
    fn __enter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        slf.get().acquire(slf.py(), None)?;
        Ok(slf)
    }

    /// Releases.
    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, _exc: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.release()?;
        Ok(false)
    }

    /// Removes the name (the segment lives on while handles are open).
    fn unlink(&self) -> PyResult<()> {
        match self.slot.get(&self.name) {
            Ok(m) => m.unlink().py(),
            Err(_) => core::unlink_shared_memory(&self.name).py(),
        }
    }

    /// Closes this handle (a lock it holds stays held until released or the thread exits).
    fn close(&self) -> PyResult<()> {
        self.slot.take();
        Ok(())
    }

    /// The name, as given.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    fn __str__(&self) -> &str {
        &self.name
    }

    fn __repr__(&self) -> String {
        format!(
            "posix_ipc_rs.RobustMutex({})",
            crate::py_str_repr(&self.name)
        )
    }
}

/// Adds the extra classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<RobustMutex>()?;
    m.add_class::<crate::records::RecordType>()?;
    m.add_class::<crate::records::RingSender>()?;
    m.add_class::<crate::records::RingReceiver>()?;
    m.add_class::<crate::records::Shared>()?;
    m.add_function(wrap_pyfunction!(crate::records::create_ring, m)?)?;
    m.add("RING_SPSC", crate::records::RING_SPSC)?;
    m.add("RING_MPMC", crate::records::RING_MPMC)?;
    m.add("RECORD_SIZE_MAX", core::typed::RECORD_SIZE_MAX)?;
    Ok(())
}
