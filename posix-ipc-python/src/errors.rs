//! posix_ipc's exception classes, and the mapping from the core's errors onto them.
//!
//! The exception *types* are posix_ipc's, in the same situations (its test suite checks types,
//! never messages); the *messages* are the core's: the object, the operation, and the limit with
//! how to raise it.

use posix_ipc_core::{Error as CoreError, ErrorKind};
use pyo3::exceptions::{PyException, PyMemoryError, PyOSError, PyValueError};
use pyo3::prelude::*;

pyo3::create_exception!(
    posix_ipc_rs,
    Error,
    PyException,
    "Base class of this module's own errors (posix_ipc.Error)."
);
pyo3::create_exception!(
    posix_ipc_rs,
    SignalError,
    Error,
    "A signal interrupted a blocking call (a Ctrl-C raises KeyboardInterrupt instead)."
);
pyo3::create_exception!(
    posix_ipc_rs,
    PermissionsError,
    Error,
    "The caller may not do this (permissions, or a queue opened without read or write)."
);
pyo3::create_exception!(
    posix_ipc_rs,
    ExistentialError,
    Error,
    "The object does not exist, exists already (with O_EXCL), or was closed."
);
pyo3::create_exception!(
    posix_ipc_rs,
    BusyError,
    Error,
    "The call would have waited (timeout 0, non-blocking queue) or its timeout expired."
);

pyo3::create_exception!(
    posix_ipc_rs,
    DisconnectedError,
    Error,
    "Every peer on the other side has gone (closed, or died) and nothing more can arrive (a \
     ring's receive once it is drained) or be taken (a send to a ring no receiver reads)."
);

pyo3::create_exception!(
    posix_ipc_rs,
    LaggedError,
    Error,
    "A subscriber fell behind: samples were overwritten before it received them. `missed` says \
     how many; the next receive goes on from the oldest sample still there."
);

pyo3::create_exception!(
    posix_ipc_rs,
    RestartedError,
    Error,
    "The topic's publisher was restarted (a subscriber that follows restarts goes on with the \
     new publisher's samples after this): `generation` is the new publisher's generation."
);

/// The Python exception for an error of the core.
pub(crate) fn to_py(e: CoreError) -> PyErr {
    let msg = e.to_string();
    match e.kind() {
        ErrorKind::Lagged => {
            let err = LaggedError::new_err(msg);
            Python::attach(|py| {
                let _ = err.value(py).setattr("missed", e.missed().unwrap_or(0));
            });
            err
        }
        ErrorKind::Restarted => {
            let err = RestartedError::new_err(msg);
            Python::attach(|py| {
                let _ = err
                    .value(py)
                    .setattr("generation", e.generation().unwrap_or(0));
            });
            err
        }
        ErrorKind::NotFound
        | ErrorKind::AlreadyExists
        | ErrorKind::Closed
        | ErrorKind::NotInitialized => ExistentialError::new_err(msg),
        ErrorKind::PermissionDenied | ErrorKind::Untrusted => PermissionsError::new_err(msg),
        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::NotificationBusy => {
            BusyError::new_err(msg)
        }
        ErrorKind::Interrupted | ErrorKind::Cancelled => SignalError::new_err(msg),
        ErrorKind::InvalidName
        | ErrorKind::InvalidArgument
        | ErrorKind::MessageTooLarge
        | ErrorKind::WrongLength
        | ErrorKind::Mismatch => PyValueError::new_err(msg),
        // posix_ipc raises ValueError where the kernel refuses a queue's size (EINVAL); the core
        // names the limit and how to raise it, so the type is kept and the message improves.
        ErrorKind::LimitExceeded if matches!(e.errno(), None | Some(libc::EINVAL)) => {
            PyValueError::new_err(msg)
        }
        ErrorKind::OutOfMemory => PyMemoryError::new_err(msg),
        ErrorKind::Disconnected => DisconnectedError::new_err(msg),
        _ => match e.errno() {
            Some(errno) => PyOSError::new_err((errno, msg)),
            None => PyOSError::new_err(msg),
        },
    }
}

/// `to_py` for a `Result`.
pub(crate) trait IntoPy<T> {
    /// Maps the core's error onto the Python exception.
    fn py(self) -> PyResult<T>;
}

impl<T> IntoPy<T> for Result<T, CoreError> {
    #[inline]
    fn py(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}

/// The end of a blocking call that ran without the GIL: an interrupted wait raises what the
/// Python signal handler raised (KeyboardInterrupt for Ctrl-C), else `SignalError`, as posix_ipc
/// does.
pub(crate) fn after_wait<T>(py: Python<'_>, r: Result<T, CoreError>) -> PyResult<T> {
    match r {
        Ok(v) => Ok(v),
        Err(e) if matches!(e.kind(), ErrorKind::Interrupted | ErrorKind::Cancelled) => {
            py.check_signals()?;
            Err(to_py(e))
        }
        Err(e) => Err(to_py(e)),
    }
}

/// The error for a handle used after `close()`.
pub(crate) fn closed(what: &str, name: &str) -> PyErr {
    ExistentialError::new_err(format!(
        "cannot use {what} \"{name}\": the handle has been closed"
    ))
}
