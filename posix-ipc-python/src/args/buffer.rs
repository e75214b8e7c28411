//! Buffer-protocol arguments, read or written in place.
//!
//! A numpy array (of any dtype), `memoryview`, `bytearray`, `mmap` or `array.array` is
//! exported once for the call (`PyObject_GetBuffer` with `PyBUF_SIMPLE`, which asks for the
//! bytes as one contiguous block and computes no item format) and released when the call ends:
//! its bytes are never copied into a temporary. A buffer that is not C-contiguous (a numpy
//! slice with steps, a transposed array) is refused with a `TypeError` that says how to make
//! it contiguous, as posix_ipc refuses it (posix_ipc 1.3.2 crashes on a strided numpy array),
//! rather than copied behind the caller's back.

use std::ops::{Deref, DerefMut};

use pyo3::buffer::PyUntypedBuffer;
use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;

use super::type_name;

/// An export of an object's buffer as one C-contiguous block of bytes
/// (`PyObject_GetBuffer`), released (`PyBuffer_Release`) when dropped.
///
/// It holds raw pointers, so it is neither `Send` nor `Sync`: it is dropped on the thread that
/// made it, and a call that runs without the GIL takes the slice it derefs to, never the
/// export.
pub(crate) struct Export {
    /// Boxed: the exporter may keep pointers into the struct it filled, so it never moves.
    view: Box<ffi::Py_buffer>,
}

impl Export {
    /// Exports `obj`'s buffer as contiguous bytes, writable if `writable`. `what` names the
    /// argument in errors ("the record", "the buffer").
    ///
    /// # Errors
    ///
    /// `TypeError` if `obj` has no buffer protocol, its buffer is not C-contiguous, or
    /// `writable` is asked of a read-only one (bytes, a read-only numpy array); otherwise what
    /// the exporter raised.
    fn new(obj: &Bound<'_, PyAny>, what: &str, writable: bool) -> PyResult<Export> {
        let py = obj.py();
        if !has_buffer(obj) {
            let kinds = if writable {
                "a writable bytes-like object (bytearray, a numpy array, memoryview, mmap)"
            } else {
                "bytes or a bytes-like object (bytearray, memoryview, a numpy array, mmap)"
            };
            return Err(PyTypeError::new_err(format!(
                "{what} must be {kinds}, not {}",
                type_name(obj)
            )));
        }
        let mut view = Box::new(ffi::Py_buffer::new());
        let flags = if writable {
            ffi::PyBUF_SIMPLE | ffi::PyBUF_WRITABLE
        } else {
            ffi::PyBUF_SIMPLE
        };
        // SAFETY:
        // - `obj` is a live object (the `Bound` holds a reference) and the `Bound` proves this
        //   thread is attached to the interpreter, which the call needs;
        // - `view` points to a `Py_buffer` we own, valid for writes, which stays at that address
        //   (boxed) until it is released;
        // - on success the exporter filled `view` and holds a reference to `obj` in `view.obj`;
        //   `Export`'s drop releases it exactly once. On failure nothing was filled (the
        //   protocol sets `view.obj` to NULL) and there is nothing to release: the `Box` alone
        //   is dropped below, with the exception the exporter set fetched.
        let got = unsafe { ffi::PyObject_GetBuffer(obj.as_ptr(), &mut *view, flags) };
        if got != 0 {
            let raised = PyErr::fetch(py);
            return Err(refused(obj, what, writable).unwrap_or(raised));
        }
        let export = Export { view };
        // SAFETY: `view` was filled by a successful `PyObject_GetBuffer` and is not released
        // until `export` is dropped; the call only reads it (shape NULL, as PyBUF_SIMPLE
        // gives, counts as contiguous).
        let contiguous = unsafe { ffi::PyBuffer_IsContiguous(&*export.view, b'C' as _) } != 0;
        if !contiguous || export.view.len < 0 || (export.view.buf.is_null() && export.view.len > 0)
        {
            // An exporter that ignored PyBUF_SIMPLE: not something to read as one block.
            return Err(not_contiguous(obj, what));
        }
        if writable && export.view.readonly != 0 {
            return Err(read_only(obj, what));
        }
        Ok(export)
    }

    fn byte_len(&self) -> usize {
        // Checked non-negative in `new`.
        self.view.len as usize
    }
}

impl Drop for Export {
    fn drop(&mut self) {
        // The export is not `Send`, so this runs on the thread that made it, which is attached
        // whenever a method of ours returns; `attach` is then a check of a thread-local, and it
        // also covers a drop during unwinding from code that had detached.
        Python::attach(|_| {
            // SAFETY: `view` was filled by a successful `PyObject_GetBuffer` (an `Export` exists
            // only then) and is released here, once; this thread is attached.
            unsafe { ffi::PyBuffer_Release(&mut *self.view) }
        });
    }
}

impl Deref for Export {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        if self.byte_len() == 0 {
            return &[];
        }
        // SAFETY:
        // - `buf` points to `len` bytes in one block (PyBUF_SIMPLE, and `new` checked the view
        //   C-contiguous), non-null (checked in `new` for `len > 0`);
        // - the exporter keeps them valid and in place until `PyBuffer_Release`, which runs
        //   only when `self` is dropped, and the slice borrows `self`: it cannot outlive the
        //   export. This holds while the GIL is released too: the export, not the GIL, pins
        //   the memory (a bytearray refuses to resize, an mmap to close and a numpy array to
        //   resize or free its data while exported);
        // - any bytes are valid `u8`s. Other code may still write to a mutable exporter's bytes
        //   while we read them (another thread, once the GIL is released, or native code),
        //   which is that program's own race on its data, as with the `memcpy` of a C
        //   extension: the bytes read are then a mix of old and new, never out of bounds, and
        //   no length, index or pointer here is derived from them.
        unsafe { std::slice::from_raw_parts(self.view.buf.cast::<u8>(), self.byte_len()) }
    }
}

/// A writable buffer argument (`receive_into`, `load_into`), written in place.
pub(crate) struct Writable(Export);

impl Writable {
    /// Exports `obj`'s buffer for writing; `what` names the argument in errors.
    ///
    /// # Errors
    ///
    /// `TypeError` naming it if `obj` is read-only (bytes, a read-only numpy array), not
    /// C-contiguous, or has no buffer protocol.
    pub(crate) fn new(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Writable> {
        Export::new(obj, what, true).map(Writable)
    }
}

impl Deref for Writable {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl DerefMut for Writable {
    fn deref_mut(&mut self) -> &mut [u8] {
        if self.0.byte_len() == 0 {
            return &mut [];
        }
        // SAFETY: as in `Export::deref` for the range and its lifetime (the slice borrows
        // `self` mutably, so no other slice of this export exists meanwhile), and:
        // - the exporter granted write access (PyBUF_WRITABLE, and `new` checked `readonly`);
        // - no Rust reference into these bytes exists but this one: the memory belongs to a
        //   Python object, and this module hands out no other view of it during the call.
        //   Python code or native code writing or reading them at the same time (another
        //   thread, once the GIL is released) races on its own data, as with a C extension's
        //   `memcpy` into it: the bytes are then a mix, never out of bounds.
        unsafe { std::slice::from_raw_parts_mut(self.0.view.buf.cast::<u8>(), self.0.byte_len()) }
    }
}

/// Whether `obj` has the buffer protocol (`PyObject_CheckBuffer`).
pub(crate) fn has_buffer(obj: &Bound<'_, PyAny>) -> bool {
    // SAFETY: `obj` is a live object (a `Bound` holds a reference) and the `Bound` proves this
    // thread is attached to the interpreter, which the call needs. It only reads the type's
    // buffer slot.
    unsafe { ffi::PyObject_CheckBuffer(obj.as_ptr()) != 0 }
}

/// Exports `obj`'s buffer for reading in place.
pub(crate) fn readable(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Export> {
    Export::new(obj, what, false)
}

/// Why the exporter refused a simple (contiguous, maybe writable) export of `obj`, in our
/// words, when the full export (strides, format) says why: not C-contiguous, or read-only.
/// `None` keeps the exporter's own exception.
fn refused(obj: &Bound<'_, PyAny>, what: &str, writable: bool) -> Option<PyErr> {
    let full = PyUntypedBuffer::get(obj).ok()?;
    if !full.is_c_contiguous() {
        Some(not_contiguous(obj, what))
    } else if writable && full.readonly() {
        Some(read_only(obj, what))
    } else {
        None
    }
}

fn not_contiguous(obj: &Bound<'_, PyAny>, what: &str) -> PyErr {
    PyTypeError::new_err(format!(
        "{what} ({}) is not C-contiguous: its bytes have steps between them (a numpy slice \
         such as x[::2], a column, a transposed array), so they are not one block to use in \
         place; pass np.ascontiguousarray(x) or bytes(x), which copy it once",
        type_name(obj)
    ))
}

fn read_only(obj: &Bound<'_, PyAny>, what: &str) -> PyErr {
    PyTypeError::new_err(format!(
        "{what} ({}) is read-only, and it is written to: pass a writable buffer, such as a \
         bytearray or a writable numpy array",
        type_name(obj)
    ))
}
