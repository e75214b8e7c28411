//! `posix_ipc_rs`: Python's posix_ipc API served by `posix-ipc-core`.
//!
//! `import posix_ipc_rs as posix_ipc` is the only change a posix_ipc 1.3.2 program needs: the
//! same constants, functions, exception classes, classes, parameters and defaults. What differs
//! on purpose (no crash on bad input, no silent wrap of integers, no unlink on a failed resize,
//! monotonic timeouts, limits read live) is listed in this crate's README.md (the PyPI page,
//! whose Python examples `tests/test_readme.py` runs). On top of it: typed
//! shared-memory rings, the seqlock struct `Shared` and `RobustMutex`, interoperating with the
//! Rust types of the same names.
//!
//! The module makes no system call of its own: every operation is the core's.

mod args;
mod dtype;
mod errors;
mod extras;
mod handle;
mod memory;
mod queue;
mod records;
mod semaphore;
mod topics;

use posix_ipc_core as core;
use pyo3::prelude::*;

use errors::IntoPy;

/// `flags` (posix_ipc parses it as a C int).
pub(crate) fn flags(obj: Option<&Bound<'_, PyAny>>) -> PyResult<i32> {
    args::int_or(
        obj,
        0,
        "flags",
        i32::MIN as i128,
        i32::MAX as i128,
        "a C int",
    )
}

/// `mode`: permission bits.
pub(crate) fn mode(obj: Option<&Bound<'_, PyAny>>) -> PyResult<u32> {
    args::int_or(obj, 0o600, "mode", 0, 0o7777, "permission bits, 0o7777")
}

/// A name in a repr, quoted.
pub(crate) fn py_str_repr(s: &str) -> String {
    format!("{s:?}")
}

/// Removes the semaphore `name` (sem_unlink).
#[pyfunction]
#[pyo3(signature = (name, /))]
fn unlink_semaphore(name: &Bound<'_, PyAny>) -> PyResult<()> {
    core::unlink_semaphore(&args::unlink_name(name)?).py()
}

/// Removes the shared memory segment `name` (shm_unlink).
#[pyfunction]
#[pyo3(signature = (name, /))]
fn unlink_shared_memory(name: &Bound<'_, PyAny>) -> PyResult<()> {
    core::unlink_shared_memory(&args::unlink_name(name)?).py()
}

/// Removes the message queue `name` (mq_unlink).
#[pyfunction]
#[pyo3(signature = (name, /))]
fn unlink_message_queue(name: &Bound<'_, PyAny>) -> PyResult<()> {
    let name = args::unlink_name(name)?;
    if let Some(e) = args::posix_ipc_queue_name_error(&name, false) {
        return Err(e);
    }
    core::unlink_message_queue(&name).py()
}

/// POSIX IPC for Python: posix_ipc's API (semaphores, shared memory, message queues) on the
/// posix-ipc Rust core, plus rings, Shared and RobustMutex.
#[pymodule]
fn posix_ipc_rs(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("O_CREAT", core::O_CREAT)?;
    m.add("O_EXCL", core::O_EXCL)?;
    m.add("O_CREX", core::O_CREX)?;
    m.add("O_TRUNC", core::O_TRUNC)?;
    m.add("O_RDONLY", core::O_RDONLY)?;
    m.add("O_WRONLY", core::O_WRONLY)?;
    m.add("O_RDWR", core::O_RDWR)?;
    m.add("O_NONBLOCK", core::O_NONBLOCK)?;
    m.add("PAGE_SIZE", core::limits::page_size())?;
    m.add("SEMAPHORE_VALUE_MAX", core::limits::sem_value_max())?;
    m.add(
        "SEMAPHORE_TIMEOUT_SUPPORTED",
        core::SEMAPHORE_TIMEOUT_SUPPORTED,
    )?;
    m.add("SEMAPHORE_VALUE_SUPPORTED", core::SEMAPHORE_VALUE_SUPPORTED)?;
    m.add("MESSAGE_QUEUES_SUPPORTED", core::MESSAGE_QUEUES_SUPPORTED)?;
    m.add(
        "QUEUE_MESSAGES_MAX_DEFAULT",
        core::QUEUE_MESSAGES_MAX_DEFAULT,
    )?;
    m.add(
        "QUEUE_MESSAGE_SIZE_MAX_DEFAULT",
        core::QUEUE_MESSAGE_SIZE_MAX_DEFAULT,
    )?;
    m.add("QUEUE_PRIORITY_MAX", core::QUEUE_PRIORITY_MAX)?;
    m.add("USER_SIGNAL_MIN", *core::USER_SIGNAL_MIN)?;
    m.add("USER_SIGNAL_MAX", *core::USER_SIGNAL_MAX)?;
    // posix_ipc's VERSION is the version of the API served; ours is __version__.
    m.add("VERSION", core::POSIX_IPC_VERSION)?;
    m.add("POSIX_IPC_VERSION", core::POSIX_IPC_VERSION)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("__author__", env!("CARGO_PKG_AUTHORS"))?;
    m.add("__license__", env!("CARGO_PKG_LICENSE"))?;
    m.add("__copyright__", "Copyright the posix-ipc developers")?;

    m.add("Error", py.get_type::<errors::Error>())?;
    m.add("SignalError", py.get_type::<errors::SignalError>())?;
    m.add(
        "DisconnectedError",
        py.get_type::<errors::DisconnectedError>(),
    )?;
    m.add(
        "PermissionsError",
        py.get_type::<errors::PermissionsError>(),
    )?;
    m.add(
        "ExistentialError",
        py.get_type::<errors::ExistentialError>(),
    )?;
    m.add("BusyError", py.get_type::<errors::BusyError>())?;
    m.add("LaggedError", py.get_type::<errors::LaggedError>())?;
    m.add("RestartedError", py.get_type::<errors::RestartedError>())?;

    m.add_function(wrap_pyfunction!(unlink_semaphore, m)?)?;
    m.add_function(wrap_pyfunction!(unlink_shared_memory, m)?)?;
    m.add_function(wrap_pyfunction!(unlink_message_queue, m)?)?;
    m.add_class::<semaphore::Semaphore>()?;
    m.add_class::<memory::SharedMemory>()?;
    m.add_class::<queue::MessageQueue>()?;
    extras::register(m)?;
    topics::register(m)?;
    Ok(())
}
