//! Python arguments to Rust values, checked instead of wrapped.
//!
//! posix_ipc parses integers with `I` and `k`, which wrap silently (`initial_value=2**32` is 0,
//! `size=2**64` is 0), and passes names to C without looking for a NUL. Here every integer is
//! range-checked and an error names the argument, the limit and the value.

mod buffer;

use std::time::Duration;

use posix_ipc_core::Timeout;
use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyFloat, PyInt, PyString};

pub(crate) use buffer::{Export, Writable};

/// An object name: `None` (a random name, with `O_EXCL`), a `str`, or `bytes` (UTF-8).
pub(crate) fn name(obj: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    if obj.is_none() {
        return Ok(None);
    }
    let name = if let Ok(s) = obj.cast::<PyString>() {
        s.to_cow()?.into_owned()
    } else if let Ok(b) = obj.cast::<PyBytes>() {
        match std::str::from_utf8(b.as_bytes()) {
            Ok(s) => s.to_owned(),
            Err(_) => {
                return Err(PyValueError::new_err(format!(
                    "the name {:?} is not UTF-8; names are text",
                    b.as_bytes()
                )))
            }
        }
    } else {
        return Err(PyTypeError::new_err(format!(
            "the name must be None, a str or bytes, not {}",
            type_name(obj)
        )));
    };
    if name.contains('\0') {
        return Err(PyValueError::new_err(format!(
            "the name {name:?} contains a NUL character, which no POSIX name may hold"
        )));
    }
    Ok(Some(name))
}

/// A name for the module-level `unlink_*` functions: `str` only, as in posix_ipc.
pub(crate) fn unlink_name(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    match obj.cast::<PyString>() {
        Ok(_) => Ok(name(obj)?.unwrap_or_default()),
        Err(_) => Err(PyTypeError::new_err(format!(
            "the name must be a str, not {}",
            type_name(obj)
        ))),
    }
}

/// An integer argument within `lo..=hi`. `limit` says where the bound comes from (shown when
/// the value is outside).
pub(crate) fn int(
    obj: &Bound<'_, PyAny>,
    what: &str,
    lo: i128,
    hi: i128,
    limit: &str,
) -> PyResult<i128> {
    if obj.cast::<PyInt>().is_err() {
        return Err(PyTypeError::new_err(format!(
            "{what} must be an int, not {}",
            type_name(obj)
        )));
    }
    let out_of_range =
        |shown: String| format!("{what} must be between {lo} and {hi} ({limit}), not {shown}");
    match obj.extract::<i128>() {
        Ok(v) if (lo..=hi).contains(&v) => Ok(v),
        Ok(v) => Err(PyValueError::new_err(out_of_range(v.to_string()))),
        Err(_) => Err(PyOverflowError::new_err(out_of_range(
            obj.str()
                .map(|s| s.to_string())
                .unwrap_or_else(|_| "a huge int".into()),
        ))),
    }
}

/// An optional integer argument (`None` means `default`).
pub(crate) fn int_or<T: TryFrom<i128>>(
    obj: Option<&Bound<'_, PyAny>>,
    default: T,
    what: &str,
    lo: i128,
    hi: i128,
    limit: &str,
) -> PyResult<T> {
    match obj {
        None => Ok(default),
        Some(o) => {
            let v = int(o, what, lo, hi, limit)?;
            T::try_from(v)
                .map_err(|_| PyOverflowError::new_err(format!("{what} {v} is out of range")))
        }
    }
}

/// Longest finite timeout: what a `Duration` holds.
const TIMEOUT_MAX_SECS: f64 = u64::MAX as f64;

/// posix_ipc's `timeout`: `None` waits forever, `0` never waits, a positive number of seconds
/// (int or float) waits that long. `inf` also waits forever. As posix_ipc documents, a negative
/// number, or an int above LONG_MAX, is a TypeError ("The timeout must be None or a
/// non-negative number"); unlike posix_ipc, NaN is a ValueError (posix_ipc passes it to the
/// kernel and reports EINVAL as ExistentialError) and a float too large for any clock an
/// OverflowError (posix_ipc's overflows to "at once").
pub(crate) fn timeout(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Timeout> {
    let Some(obj) = obj else {
        return Ok(Timeout::Infinite);
    };
    if obj.is_none() {
        return Ok(Timeout::Infinite);
    }
    if obj.cast::<PyFloat>().is_err() && obj.cast::<PyInt>().is_err() {
        return Err(PyTypeError::new_err(format!(
            "the timeout must be None or a non-negative number of seconds, not {}",
            type_name(obj)
        )));
    }
    if obj.cast::<PyInt>().is_ok() && obj.extract::<i64>().is_err() {
        return Err(PyTypeError::new_err(format!(
            "The timeout must be None or a non-negative number: {} is not (an int timeout is \
             at most LONG_MAX, {} s, as in posix_ipc; use None to wait forever)",
            obj.str()?,
            i64::MAX
        )));
    }
    let secs: f64 = obj.extract().map_err(|_| {
        PyOverflowError::new_err(format!(
            "the timeout is above the longest wait ({TIMEOUT_MAX_SECS:e} s); use None to wait forever"
        ))
    })?;
    if secs.is_nan() {
        return Err(PyValueError::new_err(
            "the timeout must be None or a non-negative number of seconds, not NaN",
        ));
    }
    if secs < 0.0 {
        return Err(PyTypeError::new_err(format!(
            "The timeout must be None or a non-negative number, not {secs} (a TypeError, as in \
             posix_ipc)"
        )));
    }
    if secs == f64::INFINITY {
        return Ok(Timeout::Infinite);
    }
    if secs >= TIMEOUT_MAX_SECS {
        return Err(PyOverflowError::new_err(format!(
            "the timeout {secs:e} s is above the longest wait ({TIMEOUT_MAX_SECS:e} s); use None to wait forever"
        )));
    }
    if secs == 0.0 {
        return Ok(Timeout::Immediate);
    }
    match Duration::try_from_secs_f64(secs) {
        Ok(d) if d.is_zero() => Ok(Timeout::Immediate),
        Ok(d) => Ok(Timeout::After(d)),
        Err(_) => Err(PyOverflowError::new_err(format!(
            "the timeout {secs:e} s is above the longest wait ({TIMEOUT_MAX_SECS:e} s); use None to wait forever"
        ))),
    }
}

/// The bytes of a data argument, read in place: borrowed from a `bytes` object or a `str`'s
/// UTF-8, or exported from a buffer-protocol object for the call (see [`buffer`]). It derefs to
/// `&[u8]`; a call that runs without the GIL takes that slice, not this (it is not `Sync`, as
/// an export must be released by its own thread).
pub(crate) enum Data<'a> {
    Borrowed(&'a [u8]),
    Exported(Export),
}

impl std::ops::Deref for Data<'_> {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        match self {
            Data::Borrowed(b) => b,
            Data::Exported(e) => e,
        }
    }
}

/// Message bytes: `str` (its UTF-8), `bytes`, or any C-contiguous buffer-protocol object
/// (numpy array, memoryview, bytearray, mmap), all read in place.
pub(crate) fn message<'a>(obj: &'a Bound<'_, PyAny>) -> PyResult<Data<'a>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Data::Borrowed(b.as_bytes()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Data::Borrowed(s.to_str()?.as_bytes()));
    }
    if !buffer::has_buffer(obj) {
        return Err(PyTypeError::new_err(format!(
            "the message must be str, bytes or a bytes-like object, not {}",
            type_name(obj)
        )));
    }
    buffer::readable(obj, "the message").map(Data::Exported)
}

/// The bytes of a record: a `bytes` object or any C-contiguous buffer-protocol object (a numpy
/// array of any dtype, memoryview, bytearray, mmap), read in place; a `str` is refused (a
/// record is bytes, not text), as is a buffer that is not C-contiguous (see [`buffer`]).
pub(crate) fn record_bytes<'a>(obj: &'a Bound<'_, PyAny>, what: &str) -> PyResult<Data<'a>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Data::Borrowed(b.as_bytes()));
    }
    if obj.cast::<PyString>().is_ok() {
        return Err(PyTypeError::new_err(format!(
            "{what} must be bytes or a bytes-like object (bytearray, memoryview, a numpy \
             array, mmap), not str: a record is bytes; encode text first"
        )));
    }
    buffer::readable(obj, what).map(Data::Exported)
}

/// The type name of an object, for messages.
pub(crate) fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// The exception posix_ipc 1.3.2 raises for a message queue name the kernel refuses (its
/// `mq_open` and `mq_unlink` pass the name on unchecked), so that the same input raises the same
/// class here, with a message that says why: a slash after the first character
/// (`PermissionsError`, the kernel's `EACCES`), the name `/` alone (`ExistentialError`,
/// `ENOENT`), and, when opening or creating, a name without its leading slash (`ValueError`,
/// `EINVAL`; an unlink of one finds nothing: `ExistentialError`, as the core says anyway).
pub(crate) fn posix_ipc_queue_name_error(name: &str, opening: bool) -> Option<PyErr> {
    use crate::errors::{ExistentialError, PermissionsError};
    if name == "/" {
        return Some(ExistentialError::new_err(
            "the message queue name \"/\" names no queue: put a name after the slash",
        ));
    }
    if name.len() > 1 && name[1..].contains('/') {
        return Some(PermissionsError::new_err(format!(
            "the message queue name {name:?} has a slash after its first character, which the \
             kernel refuses (EACCES, as posix_ipc reports it): use one leading slash only"
        )));
    }
    if opening && !name.is_empty() && !name.starts_with('/') {
        return Some(PyValueError::new_err(format!(
            "the message queue name {name:?} does not start with a slash, which mq_open requires \
             (EINVAL, a ValueError as in posix_ipc): use \"/{name}\""
        )));
    }
    None
}
