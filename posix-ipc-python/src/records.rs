//! Fixed-size records in shared memory, shared with Rust programs: `RecordType`, the rings
//! (`RingSender`, `RingReceiver`) and the seqlock struct `Shared`.
//!
//! A Rust type's record type (its name, size and layout fingerprint) comes from the Python
//! module the Rust side generates (`posix_ipc::typed::python_module::<T>()`, its `RECORD`).
//! The segment header is checked against it when a ring or `Shared` is opened, exactly as for a
//! Rust `RingReceiver<T>` or `Shared<T>`: another size or fingerprint is a ValueError that says
//! what the segment holds.

use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError};

use posix_ipc_core as core;
use posix_ipc_core::typed::ring::RingOptions;
use posix_ipc_core::typed::{LayoutDesc, RecordReceiver, RecordSender, RecordShared};
use posix_ipc_core::{ErrorKind, RingMode, Timeout};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

use crate::args;
use crate::errors::{to_py, IntoPy};
use crate::extras::wait_in_slices;
use crate::handle::Slot;

/// `kind=RING_SPSC`: one producer and one consumer (the fastest).
pub(crate) const RING_SPSC: u32 = 0;
/// `kind=RING_MPMC`: up to 32 producers and 32 consumers.
pub(crate) const RING_MPMC: u32 = 1;

/// The shape of a fixed-size record: a name (for messages), its size in bytes and its layout
/// fingerprint. A Rust type's comes from the module its program generates
/// (`posix_ipc::typed::python_module::<T>()`, as `RECORD`).
#[pyclass(module = "posix_ipc_rs", frozen, eq, hash)]
#[derive(Clone)]
pub struct RecordType {
    pub(crate) inner: core::RecordType,
    /// The full layout, when it is known (`from_dtype`): what `dtype` gives back.
    pub(crate) layout: Option<LayoutDesc>,
}

// Equal record types are those a segment's check accepts as the same: name, size, fingerprint.
impl PartialEq for RecordType {
    fn eq(&self, other: &Self) -> bool {
        self.inner == other.inner
    }
}

impl Eq for RecordType {}

impl std::hash::Hash for RecordType {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.inner.hash(state);
    }
}

#[pymethods]
impl RecordType {
    #[new]
    #[pyo3(signature = (name, size, fingerprint))]
    fn new(
        name: &Bound<'_, PyAny>,
        size: &Bound<'_, PyAny>,
        fingerprint: &Bound<'_, PyAny>,
    ) -> PyResult<RecordType> {
        let name: String = name.extract()?;
        let size = args::int(
            size,
            "size",
            1,
            core::typed::RECORD_SIZE_MAX as i128,
            "RECORD_SIZE_MAX",
        )? as usize;
        let fingerprint =
            args::int(fingerprint, "fingerprint", 0, u64::MAX as i128, "a u64")? as u64;
        Ok(RecordType {
            inner: core::RecordType::new(name, size, fingerprint),
            layout: None,
        })
    }

    /// The record type of a numpy structured dtype: the same size, layout and fingerprint as
    /// `#[derive(IpcMessage)]` on a `#[repr(C)]` Rust struct with the same fields in the same
    /// order (nested structs and fixed arrays included), so no Rust is needed to describe a
    /// record. numpy itself is not needed either: any object with a dtype's attributes works.
    ///
    /// The fingerprint is FNV-1a 64 over the size, the alignment, the field count and, for each
    /// field, its name, offset, size, element count and element kind (nested structs
    /// recursively); type names are not part of it. Refused, with the field named: padding
    /// (a field not where a `#[repr(C)]` struct puts it, or bytes after the last one), object,
    /// bool, string, datetime, half-float and unstructured fields, and non-native byte order.
    #[staticmethod]
    #[pyo3(signature = (dtype, name = None))]
    fn from_dtype(dtype: &Bound<'_, PyAny>, name: Option<String>) -> PyResult<RecordType> {
        let name = name.unwrap_or_else(|| "Record".to_string());
        let layout = crate::dtype::layout_of(dtype, &name, 0)?;
        let size = usize::try_from(layout.size).unwrap_or(usize::MAX);
        if size > core::typed::RECORD_SIZE_MAX {
            return Err(PyValueError::new_err(format!(
                "the dtype is {size} bytes, above RECORD_SIZE_MAX ({})",
                core::typed::RECORD_SIZE_MAX
            )));
        }
        Ok(RecordType {
            inner: core::RecordType::new(name, size, layout.fingerprint()),
            layout: Some(layout),
        })
    }

    /// The numpy structured dtype of the record (fields, offsets, nested structs and arrays),
    /// for a record type made with `from_dtype`. numpy is imported here, and only here.
    #[getter]
    fn dtype<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.layout {
            Some(layout) => crate::dtype::dtype_of(py, layout),
            None => Err(PyValueError::new_err(format!(
                "record type {:?} knows only its size and fingerprint, not its fields: make it \
                 with RecordType.from_dtype to have a dtype",
                self.inner.name
            ))),
        }
    }

    /// The name used in messages.
    #[getter]
    fn name(&self) -> &str {
        &self.inner.name
    }

    /// Bytes per record.
    #[getter]
    fn size(&self) -> usize {
        self.inner.size
    }

    /// The layout fingerprint.
    #[getter]
    fn fingerprint(&self) -> u64 {
        self.inner.fingerprint
    }

    fn __repr__(&self) -> String {
        format!(
            "posix_ipc_rs.RecordType({:?}, {}, {:#018x})",
            self.inner.name, self.inner.size, self.inner.fingerprint
        )
    }
}

/// A ring end is used by one thread at a time (its index caches are not shared): each Python
/// object keeps its end behind a mutex, taken without the GIL when another thread holds it.
type Locked<E> = Mutex<E>;

fn lock<E>(end: &Locked<E>) -> MutexGuard<'_, E> {
    end.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The end if no other thread uses it now (the fast path, with the GIL held).
fn try_lock<E>(end: &Locked<E>) -> Option<MutexGuard<'_, E>> {
    match end.try_lock() {
        Ok(g) => Some(g),
        Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    }
}

fn ring_kind(kind: Option<&Bound<'_, PyAny>>) -> PyResult<RingMode> {
    match args::int_or(kind, RING_SPSC, "kind", 0, 1, "RING_SPSC or RING_MPMC")? {
        RING_SPSC => Ok(RingMode::Spsc),
        _ => Ok(RingMode::Mpmc),
    }
}

/// A ring's `mode`: its permission bits, as everywhere else in the module. `mode` chose SPSC or
/// MPMC before `kind` did; its old values, 0 and 1, are no permission bits a ring can use (no
/// one, or only others' execute bit), so they are refused naming `kind` rather than taken as
/// either meaning.
fn ring_permissions(mode: Option<&Bound<'_, PyAny>>) -> PyResult<u32> {
    let bits = crate::mode(mode)?;
    if bits == RING_SPSC || bits == RING_MPMC {
        let kind = if bits == RING_SPSC {
            "RING_SPSC"
        } else {
            "RING_MPMC"
        };
        return Err(PyValueError::new_err(format!(
            "mode={bits} ({kind}?): a ring's mode is its permission bits now, as for \
             SharedMemory (default 0o600); choose one or several producers and consumers with \
             kind={kind}"
        )));
    }
    Ok(bits)
}

/// A core error about a ring or `Shared` in Python terms: the core's messages name its Rust
/// calls (`RingMode::Mpmc`, `RecordSender::open`, `create_or_take_over`), which a Python
/// program has as `kind=RING_MPMC`, the constructors with flags 0 and `unlink_shared_memory`.
/// `open` says how Python opens the object ("RingSender(name, record)").
fn in_python_terms(e: core::Error, open: &str) -> PyErr {
    let detail = e.detail();
    let renamed = if detail.contains("RingMode::Mpmc") {
        detail.replace("RingMode::Mpmc", "kind=RING_MPMC")
    } else if let Some(at) = detail.find("; it may be left over") {
        format!(
            "{}; it may be left over from a crashed run: see who holds it with `posix-ipc ls \
             --holders` and remove it with posix_ipc_rs.unlink_shared_memory(name), or open it \
             with {open}",
            &detail[..at]
        )
    } else {
        return to_py(e);
    };
    let mut python = core::Error::new(e.kind(), e.operation(), e.object().clone(), renamed);
    if let Some(errno) = e.errno() {
        python = python.with_errno(errno);
    }
    to_py(python)
}

fn mode_code(mode: RingMode) -> u32 {
    match mode {
        RingMode::Spsc => RING_SPSC,
        _ => RING_MPMC,
    }
}

/// What `flags` asks of a ring end: open (0) or create (O_CREX). O_CREAT alone is refused: a
/// ring's two ends must agree on who made it, and one that is half made is never adopted.
fn creates(flags: i32, name: &str) -> PyResult<bool> {
    if flags & core::O_CREX == core::O_CREX {
        Ok(true)
    } else if flags & core::O_CREAT != 0 {
        Err(PyValueError::new_err(format!(
            "ring \"{name}\": flags must be 0 (open) or O_CREX (create); O_CREAT alone is not \
             supported, since only the creator initialises a ring"
        )))
    } else {
        Ok(false)
    }
}

fn required_name(name: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    args::name(name)?.ok_or_else(|| PyValueError::new_err(format!("a {what} needs a name")))
}

/// Common constructor arguments of the two ring ends (and of `create_ring`).
struct RingArgs {
    name: String,
    record: core::RecordType,
    create: bool,
    /// Capacity, kind and permission bits, for a ring to create.
    options: RingOptions,
}

fn ring_args(
    name: &Bound<'_, PyAny>,
    record: &RecordType,
    flags: Option<&Bound<'_, PyAny>>,
    capacity: Option<&Bound<'_, PyAny>>,
    kind: Option<&Bound<'_, PyAny>>,
    mode: Option<&Bound<'_, PyAny>>,
) -> PyResult<RingArgs> {
    let name = required_name(name, "ring")?;
    let create = creates(crate::flags(flags)?, &name)?;
    let capacity = args::int_or(
        capacity,
        64usize,
        "capacity",
        2,
        1 << 30,
        "a power of two, 2 to 2**30",
    )?;
    let mut options = RingOptions::new(capacity, ring_kind(kind)?);
    options.permissions(ring_permissions(mode)?);
    Ok(RingArgs {
        name,
        record: record.inner.clone(),
        create,
        options,
    })
}

/// Makes the ring `name` for records of `record` and takes no end: the processes it is made
/// for then open a `RingSender(name, record)` and a `RingReceiver(name, record)`.
///
/// A parent that makes a ring for its children calls this rather than creating an end: an end
/// it made would hold the SPSC ring's one producer (or consumer) slot, and a consumer would be
/// told that every producer has gone once the parent closed it, before the real producer came.
/// Until a producer attaches, a receiver waits. `kind` is RING_SPSC or RING_MPMC, `mode` the
/// segment's permission bits (the umask applies). Remove it with `unlink_shared_memory(name)`
/// (or an end's `unlink()`). ExistentialError if the name exists.
#[pyfunction]
#[pyo3(signature = (name, record, capacity=None, kind=None, mode=None), text_signature = "(name, record, capacity=64, kind=RING_SPSC, mode=0o600)")]
pub(crate) fn create_ring(
    name: &Bound<'_, PyAny>,
    record: &RecordType,
    capacity: Option<&Bound<'_, PyAny>>,
    kind: Option<&Bound<'_, PyAny>>,
    mode: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let a = ring_args(name, record, None, capacity, kind, mode)?;
    a.options
        .create_records(&a.name, &a.record)
        .map_err(|e| in_python_terms(e, OPEN_RING))
}

/// How Python opens a ring, for errors.
const OPEN_RING: &str = "RingSender(name, record) or RingReceiver(name, record)";

/// The Python class of a ring end: its own methods (`$own`), then what both ends have
/// (close, unlink, the context manager, name, record, capacity, kind, mode, repr).
macro_rules! ring_end {
    ($class:ident, { $($own:tt)* }) => {
        #[pymethods]
        impl $class {
            $($own)*

            /// Closes this end (the ring counts one peer fewer on its side).
            fn close(&self) {
                self.slot.take();
            }

            /// Removes the ring's name; connected ends keep working.
            fn unlink(&self) -> PyResult<()> {
                match self.slot.get(&self.name) {
                    Ok(end) => lock(&end).unlink().py(),
                    Err(_) => core::unlink_shared_memory(&self.name).py(),
                }
            }

            /// Returns the end itself.
            fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
                slf
            }

            /// Closes the end (does not unlink).
            #[pyo3(signature = (*_exc))]
            fn __exit__(&self, _exc: &Bound<'_, PyTuple>) -> bool {
                self.close();
                false
            }

            /// The ring's name, as given.
            #[getter]
            fn name(&self) -> &str {
                &self.name
            }

            /// The record type it carries, with the layout the ring stores (a Rust type's) or the
            /// one its record type was made with (`from_dtype`): `record.dtype` reads its records.
            #[getter]
            fn record(&self) -> RecordType {
                RecordType {
                    inner: self.record.clone(),
                    layout: self.layout.clone(),
                }
            }

            /// The ring's capacity in records.
            #[getter]
            fn capacity(&self) -> usize {
                self.capacity
            }

            /// RING_SPSC or RING_MPMC.
            #[getter]
            fn kind(&self) -> u32 {
                mode_code(self.mode)
            }

            /// The permission bits of the ring's segment, as `fstat` read them when this end
            /// was made (the umask applied to the creator's `mode`).
            #[getter]
            fn mode(&self) -> u32 {
                self.permissions
            }

            fn __repr__(&self) -> String {
                format!(
                    "posix_ipc_rs.{}({}, {:?} of {} bytes)",
                    stringify!($class),
                    crate::py_str_repr(&self.name),
                    self.record.name,
                    self.record.size
                )
            }
        }
    };
}

/// The sending end of a shared-memory ring of fixed-size records, interoperating with the Rust
/// `RingReceiver<T>` (and `RingSender<T>` peers) of a type with the same record type.
///
/// `RingSender(name, record, flags=0, capacity=64, kind=RING_SPSC, mode=0o600)`: flags 0 opens
/// an existing ring (its header checked against `record`; capacity and kind come from it),
/// `O_CREX` creates one with `capacity` slots (a power of two), of `kind` (RING_SPSC or
/// RING_MPMC), with permission bits `mode`, and registers on it. A process that makes a ring
/// for others and takes no end calls `create_ring`. `with` closes the end (it does not unlink).
#[pyclass(module = "posix_ipc_rs", subclass, frozen)]
pub struct RingSender {
    slot: Slot<Locked<RecordSender>>,
    name: String,
    record: core::RecordType,
    /// The layout the segment stores, or the one the record type was made with.
    layout: Option<LayoutDesc>,
    capacity: usize,
    mode: RingMode,
    /// The segment's permission bits (`fstat` when the end was made).
    permissions: u32,
}

ring_end!(RingSender, {
    #[new]
    #[pyo3(signature = (name, record, flags=None, capacity=None, kind=None, mode=None), text_signature = "(name, record, flags=0, capacity=64, kind=RING_SPSC, mode=0o600)")]
    fn new(
        name: &Bound<'_, PyAny>,
        record: &RecordType,
        flags: Option<&Bound<'_, PyAny>>,
        capacity: Option<&Bound<'_, PyAny>>,
        kind: Option<&Bound<'_, PyAny>>,
        mode: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<RingSender> {
        let a = ring_args(name, record, flags, capacity, kind, mode)?;
        let end = if a.create {
            a.options.create_record_sender(&a.name, &a.record)
        } else {
            RecordSender::open(&a.name, &a.record)
        }
        .map_err(|e| in_python_terms(e, OPEN_RING))?;
        Ok(RingSender {
            permissions: end.stat().py()?.mode & 0o7777,
            layout: end.layout().or_else(|| record.layout.clone()),
            capacity: end.capacity(),
            mode: end.mode(),
            slot: Slot::new(Mutex::new(end), "the ring sender"),
            name: a.name,
            record: a.record,
        })
    }

    /// Sends one record: bytes or any C-contiguous bytes-like object (a numpy array of any
    /// dtype, memoryview, bytearray, mmap) of exactly `record.size` bytes, read in place, not
    /// copied first; a buffer that is not C-contiguous is a TypeError. While
    /// the ring is full it waits as `timeout` says (None: forever, 0: BusyError at once,
    /// seconds: BusyError when they expire), other threads running; Ctrl-C raises
    /// KeyboardInterrupt. DisconnectedError if the ring is full and every receiver has
    /// gone.
    #[pyo3(signature = (record, timeout=None))]
    fn send(
        &self,
        py: Python<'_>,
        record: &Bound<'_, PyAny>,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let data = args::record_bytes(record, "the record")?;
        // The slice, not the export, goes to the wait without the GIL (see `args::Data`).
        let bytes: &[u8] = &data;
        let timeout = args::timeout(timeout)?;
        let end = self.slot.get(&self.name)?;
        if let Some(guard) = try_lock(&end) {
            match guard.try_send(bytes) {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == ErrorKind::WouldBlock && timeout != Timeout::Immediate => {}
                Err(e) => return Err(to_py(e)),
            }
        }
        wait_in_slices(py, timeout, |slice| lock(&end).send_with(bytes, slice))
    }

    /// Sends many records at once: `records` is a whole number of records back to back (bytes
    /// or any C-contiguous bytes-like object, for example `b"".join(...)` or a numpy array of
    /// the record's dtype, read in place), sent in order with one wake-up per run that fits.
    /// Waits as `timeout` says whenever the ring is full.
    #[pyo3(signature = (records, timeout=None))]
    fn send_many(
        &self,
        py: Python<'_>,
        records: &Bound<'_, PyAny>,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let data = args::record_bytes(records, "the records")?;
        let bytes: &[u8] = &data;
        let timeout = args::timeout(timeout)?;
        let end = self.slot.get(&self.name)?;
        let size = self.record.size;
        let mut rest: &[u8] = bytes;
        loop {
            // As many as fit now, with the GIL (or without it if another thread uses the end).
            let sent = match try_lock(&end) {
                Some(guard) => guard.try_send_many(rest),
                None => py.detach(|| lock(&end).try_send_many(rest)),
            }
            .py()?;
            rest = &rest[sent * size..];
            if rest.is_empty() {
                return Ok(());
            }
            if timeout == Timeout::Immediate {
                return Err(to_py(posix_ipc_core::Error::new(
                    ErrorKind::WouldBlock,
                    posix_ipc_core::Operation::Send,
                    posix_ipc_core::error::Object {
                        kind: posix_ipc_core::ObjectKind::Ring,
                        name: Some(self.name.clone()),
                    },
                    format!(
                        "the ring is full: {} of {} records sent",
                        (bytes.len() - rest.len()) / size,
                        bytes.len() / size
                    ),
                )));
            }
            // Full: wait for room for the next one, then go on.
            let first = &rest[..size];
            wait_in_slices(py, timeout, |slice| lock(&end).send_with(first, slice))?;
            rest = &rest[size..];
            if rest.is_empty() {
                return Ok(());
            }
        }
    }
});

/// The receiving end of a shared-memory ring of fixed-size records; see `RingSender`.
///
/// `RingReceiver(name, record, flags=0, capacity=64, kind=RING_SPSC, mode=0o600)`.
#[pyclass(module = "posix_ipc_rs", subclass, frozen)]
pub struct RingReceiver {
    slot: Slot<Locked<RecordReceiver>>,
    name: String,
    record: core::RecordType,
    /// The layout the segment stores, or the one the record type was made with.
    layout: Option<LayoutDesc>,
    capacity: usize,
    mode: RingMode,
    /// The segment's permission bits (`fstat` when the end was made).
    permissions: u32,
}

ring_end!(RingReceiver, {
    #[new]
    #[pyo3(signature = (name, record, flags=None, capacity=None, kind=None, mode=None), text_signature = "(name, record, flags=0, capacity=64, kind=RING_SPSC, mode=0o600)")]
    fn new(
        name: &Bound<'_, PyAny>,
        record: &RecordType,
        flags: Option<&Bound<'_, PyAny>>,
        capacity: Option<&Bound<'_, PyAny>>,
        kind: Option<&Bound<'_, PyAny>>,
        mode: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<RingReceiver> {
        let a = ring_args(name, record, flags, capacity, kind, mode)?;
        let end = if a.create {
            a.options.create_record_receiver(&a.name, &a.record)
        } else {
            RecordReceiver::open(&a.name, &a.record)
        }
        .map_err(|e| in_python_terms(e, OPEN_RING))?;
        Ok(RingReceiver {
            permissions: end.stat().py()?.mode & 0o7777,
            layout: end.layout().or_else(|| record.layout.clone()),
            capacity: end.capacity(),
            mode: end.mode(),
            slot: Slot::new(Mutex::new(end), "the ring receiver"),
            name: a.name,
            record: a.record,
        })
    }

    /// Takes the next record (bytes of `record.size`). While the ring is empty it waits as
    /// `timeout` says; DisconnectedError once every sender has gone and the ring is
    /// drained.
    #[pyo3(signature = (timeout=None))]
    fn receive<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let timeout = args::timeout(timeout)?;
        let end = self.slot.get(&self.name)?;
        if let Some(guard) = try_lock(&end) {
            // Straight into the bytes object: no buffer in between.
            let mut outcome = None;
            let got = PyBytes::new_with(py, self.record.size, |out| {
                match guard.recv_into(out, Timeout::Immediate) {
                    Ok(()) => Ok(()),
                    Err(e) => {
                        outcome = Some(e);
                        Ok(())
                    }
                }
            })?;
            match outcome {
                None => return Ok(got),
                Some(e) if e.kind() == ErrorKind::WouldBlock && timeout != Timeout::Immediate => {}
                Some(e) => return Err(to_py(e)),
            }
        }
        let buf = wait_in_slices(py, timeout, |slice| lock(&end).recv_with(slice))?;
        Ok(PyBytes::new(py, &buf))
    }

    /// Takes up to `max_records` records at once, back to back in one bytes object (unpack it
    /// with `struct.iter_unpack`): waits as `timeout` says for the first, then takes what is
    /// ready, with one wake-up.
    #[pyo3(signature = (max_records, timeout=None))]
    fn receive_many<'py>(
        &self,
        py: Python<'py>,
        max_records: &Bound<'py, PyAny>,
        timeout: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let max = args::int(max_records, "max_records", 1, 1 << 30, "1 to 2**30")? as usize;
        let timeout = args::timeout(timeout)?;
        let end = self.slot.get(&self.name)?;
        let mut out = Vec::with_capacity(max.min(self.capacity) * self.record.size);
        let taken = match try_lock(&end) {
            Some(guard) => guard.try_recv_many(&mut out, max),
            None => 0,
        };
        if taken == 0 {
            let first = if timeout == Timeout::Immediate {
                // One more try, to say why there is nothing: empty, or every sender has gone.
                lock(&end).recv_with(Timeout::Immediate).py()?
            } else {
                wait_in_slices(py, timeout, |slice| lock(&end).recv_with(slice))?
            };
            out.extend_from_slice(&first);
            lock(&end).try_recv_many(&mut out, max - 1);
        }
        Ok(PyBytes::new(py, &out))
    }

    /// Fills `buffer` (a writable C-contiguous buffer: bytearray, a numpy array such as
    /// `np.empty(n, dtype=record.dtype)`, a writable memoryview or mmap) with as many whole
    /// records as it holds and are ready, back to back from its start, without an allocation
    /// per record; returns how many it wrote (the bytes after them are left as they were).
    /// Waits as `timeout` says for the first (None: forever, 0: BusyError at once, seconds:
    /// BusyError when they expire); DisconnectedError once every sender has gone and the ring
    /// is drained. `buffer` must be a whole number of records, at least one (ValueError naming
    /// the sizes); a read-only one (bytes) is a TypeError.
    #[pyo3(signature = (buffer, timeout=None))]
    fn receive_into(
        &self,
        py: Python<'_>,
        buffer: &Bound<'_, PyAny>,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<usize> {
        let mut out = args::Writable::new(buffer, "the buffer")?;
        let timeout = args::timeout(timeout)?;
        let size = self.record.size;
        if out.len() < size || out.len() % size != 0 {
            return Err(PyValueError::new_err(format!(
                "the buffer is {} bytes, not a whole number of {size}-byte {} records (at \
                 least one): give it a multiple of record.size ({size}) bytes, for example \
                 np.empty(n, dtype=record.dtype) or bytearray(n * {size})",
                out.len(),
                self.record.name
            )));
        }
        let out: &mut [u8] = &mut out;
        let end = self.slot.get(&self.name)?;
        if let Some(guard) = try_lock(&end) {
            let taken = guard.try_recv_many_into(out).py()?;
            if taken > 0 {
                return Ok(taken);
            }
        }
        let (first, rest) = out.split_at_mut(size);
        if timeout == Timeout::Immediate {
            // One more try, to say why there is nothing: empty, or every sender has gone.
            lock(&end).recv_into(first, Timeout::Immediate).py()?;
        } else {
            // Waited for through a record of its own: the wait runs without the GIL, in
            // slices that each lock the end again.
            let got = wait_in_slices(py, timeout, |slice| lock(&end).recv_with(slice))?;
            first.copy_from_slice(&got);
        }
        let more = lock(&end).try_recv_many_into(rest).py()?;
        Ok(1 + more)
    }
});

/// A record in shared memory that any number of processes load and store whole, never torn
/// (the seqlock struct of the Rust `Shared<T>`, which it interoperates with).
///
/// `Shared(name, record, flags=0, initial=None)`: flags 0 opens an existing segment (its header
/// checked against `record`), `O_CREX` creates one holding `initial` (bytes or a C-contiguous
/// bytes-like object of `record.size` bytes, read in place; zeros if None). `with` closes the
/// handle.
#[pyclass(module = "posix_ipc_rs", subclass, frozen)]
pub struct Shared {
    slot: Slot<RecordShared>,
    name: String,
    record: core::RecordType,
    /// The layout the segment stores, or the one the record type was made with.
    layout: Option<LayoutDesc>,
}

#[pymethods]
impl Shared {
    #[new]
    #[pyo3(signature = (name, record, flags=None, initial=None), text_signature = "(name, record, flags=0, initial=None)")]
    fn new(
        name: &Bound<'_, PyAny>,
        record: &RecordType,
        flags: Option<&Bound<'_, PyAny>>,
        initial: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Shared> {
        let name = required_name(name, "Shared segment")?;
        let flags = crate::flags(flags)?;
        let create = flags & core::O_CREX == core::O_CREX;
        if !create && flags & core::O_CREAT != 0 {
            return Err(PyValueError::new_err(format!(
                "Shared \"{name}\": flags must be 0 (open) or O_CREX (create)"
            )));
        }
        let record_type = record.inner.clone();
        let shared = if create {
            match initial {
                Some(i) if !i.is_none() => {
                    let initial = args::record_bytes(i, "the initial value")?;
                    RecordShared::create(&name, &record_type, &initial)
                }
                _ => RecordShared::create(&name, &record_type, &vec![0; record_type.size]),
            }
        } else {
            RecordShared::open(&name, &record_type)
        }
        .map_err(|e| in_python_terms(e, "Shared(name, record)"))?;
        Ok(Shared {
            layout: shared.layout().or_else(|| record.layout.clone()),
            slot: Slot::new(shared, "the Shared segment"),
            name,
            record: record_type,
        })
    }

    /// A consistent copy of the current value (bytes of `record.size`).
    fn load<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        Ok(PyBytes::new(py, &self.slot.get(&self.name)?.load()))
    }

    /// Copies a consistent value into `buffer` (a writable C-contiguous buffer of exactly
    /// `record.size` bytes: a bytearray, `np.empty((), dtype=record.dtype)`, a writable
    /// memoryview) without allocating, and returns its version (the number of stores that
    /// produced it), as `load_versioned` does. ValueError if the buffer is another size;
    /// TypeError if it is read-only (bytes).
    fn load_into(&self, buffer: &Bound<'_, PyAny>) -> PyResult<u64> {
        let mut out = args::Writable::new(buffer, "the buffer")?;
        let size = self.record.size;
        if out.len() != size {
            return Err(PyValueError::new_err(format!(
                "the buffer is {} bytes, not one {size}-byte {} record: give it record.size \
                 ({size}) bytes, for example np.empty((), dtype=record.dtype) or \
                 bytearray({size})",
                out.len(),
                self.record.name
            )));
        }
        self.slot.get(&self.name)?.load_into(&mut out).py()
    }

    /// The current value and its version (the number of stores that produced it).
    fn load_versioned<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyBytes>, u64)> {
        let (value, version) = self.slot.get(&self.name)?.load_versioned();
        Ok((PyBytes::new(py, &value), version))
    }

    /// Stores a value (bytes or a C-contiguous bytes-like object such as a numpy array, read
    /// in place, of exactly `record.size` bytes) under the cross-process write lock; readers
    /// are never blocked.
    fn store(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let data = args::record_bytes(value, "the value")?;
        // The slice, not the export, goes without the GIL (see `args::Data`).
        let bytes: &[u8] = &data;
        let shared = self.slot.get(&self.name)?;
        py.detach(|| shared.store(bytes)).py()
    }

    /// Waits until a store newer than version `since`, then returns `(value, version)`;
    /// at once if the version already differs. `timeout` as for the other waits.
    #[pyo3(signature = (since, timeout=None))]
    fn wait_change<'py>(
        &self,
        py: Python<'py>,
        since: &Bound<'py, PyAny>,
        timeout: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<(Bound<'py, PyBytes>, u64)> {
        let since = args::int(since, "since", 0, u64::MAX as i128, "a version")? as u64;
        let timeout = args::timeout(timeout)?;
        let shared = self.slot.get(&self.name)?;
        let (value, version) = match shared.wait_change(since, Timeout::Immediate) {
            Ok(got) => got,
            Err(e) if e.kind() == ErrorKind::WouldBlock && timeout != Timeout::Immediate => {
                wait_in_slices(py, timeout, |slice| shared.wait_change(since, slice))?
            }
            Err(e) => return Err(to_py(e)),
        };
        Ok((PyBytes::new(py, &value), version))
    }

    /// The number of stores completed so far.
    #[getter]
    fn version(&self) -> PyResult<u64> {
        Ok(self.slot.get(&self.name)?.version())
    }

    /// Closes the handle (the segment stays until unlinked).
    fn close(&self) {
        self.slot.take();
    }

    /// Removes the segment's name.
    fn unlink(&self) -> PyResult<()> {
        match self.slot.get(&self.name) {
            Ok(shared) => shared.unlink().py(),
            Err(_) => core::unlink_shared_memory(&self.name).py(),
        }
    }

    /// Returns the handle itself.
    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// Closes the handle (does not unlink).
    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, _exc: &Bound<'_, PyTuple>) -> bool {
        self.close();
        false
    }

    /// The segment's name, as given.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// The record type it holds, with the layout the segment stores (a Rust type's) or the one
    /// its record type was made with (`from_dtype`): `record.dtype` reads its value.
    #[getter]
    fn record(&self) -> RecordType {
        RecordType {
            inner: self.record.clone(),
            layout: self.layout.clone(),
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "posix_ipc_rs.Shared({}, {:?} of {} bytes)",
            crate::py_str_repr(&self.name),
            self.record.name,
            self.record.size
        )
    }
}
