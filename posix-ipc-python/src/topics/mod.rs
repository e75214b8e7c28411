//! Publish-subscribe topics from Python, the same topics as Rust's: `Publisher` and
//! `Subscriber` of records of a `RecordType`, `FramePublisher` and `FrameSubscriber` of byte
//! frames with an optional header of a `RecordType`, and the zero-copy objects between them:
//! `Loan` (a sample being written in the segment) and `Frame` (a frame received in place), both
//! exporting their bytes through the buffer protocol, and `HeaderView` for a frame's header.
//!
//! What no Python object may ever do is see a buffer the publisher reuses, or write one that
//! subscribers read. Every exported view is counted (PEP 3118 `__getbuffer__` and
//! `__releasebuffer__`): a frame is released, and a loan sent or given back, only when no view
//! of it is alive (`BufferError` otherwise, as `bytearray` and `mmap` do); a frame or loan that
//! the garbage collector takes had no view left (a view keeps its exporter alive), so it is
//! released then. Each end keeps its core handle and this count under one mutex, which no code
//! holds while it waits for the GIL (waits run in slices without the GIL and take the mutex per
//! slice), so taking it with the GIL held never deadlocks.

use std::os::raw::c_int;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use posix_ipc_core as core;
use posix_ipc_core::{
    ErrorKind, Owned, Policy, RecordPublisher, RecordSubscriber, SubscribeOptions, Timeout,
    TopicOptions,
};
use pyo3::exceptions::{PyBufferError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

use crate::args;
use crate::errors::{to_py, IntoPy};
use crate::extras::wait_in_slices;
use crate::records::RecordType;

mod publish;
mod subscribe;
mod views;

pub use publish::{FramePublisher, Publisher};
pub use subscribe::{FrameSubscriber, Subscriber};
pub use views::{Frame, HeaderView, Loan};

/// `policy=POLICY_BLOCK`: the publisher waits for the slowest subscriber (none misses a sample).
pub(crate) const POLICY_BLOCK: u32 = 0;
/// `policy=POLICY_OVERWRITE`: the publisher never waits; a slow subscriber gets `LaggedError`.
pub(crate) const POLICY_OVERWRITE: u32 = 1;

/// A frame copied in with the GIL held at most this long; longer ones are copied without it.
const COPY_WITH_GIL_MAX: usize = 64 * 1024;

/// A publisher's core end: owned (removed when it goes) if this object created or took over
/// the topic with `O_CREAT`.
enum PubEnd {
    Plain(RecordPublisher),
    Owned(Owned<RecordPublisher>),
}

impl std::ops::Deref for PubEnd {
    type Target = RecordPublisher;
    fn deref(&self) -> &RecordPublisher {
        match self {
            PubEnd::Plain(p) => p,
            PubEnd::Owned(p) => p,
        }
    }
}

impl std::ops::DerefMut for PubEnd {
    fn deref_mut(&mut self) -> &mut RecordPublisher {
        match self {
            PubEnd::Plain(p) => p,
            PubEnd::Owned(p) => p,
        }
    }
}

/// Which loan or frame is out, and how many views export it.
#[derive(Default)]
struct Hold {
    /// The number of the loan or frame out now (0: none).
    current: u64,
    /// Views of it alive.
    exports: usize,
    /// The last number given.
    last: u64,
}

impl Hold {
    fn begin(&mut self) -> u64 {
        self.last += 1;
        self.current = self.last;
        self.exports = 0;
        self.last
    }
}

/// An end and the count of its loan or frame, shared by the end's object and its loans or
/// frames. `end` is `None` once closed; a close asked for while a view of the loan or frame is
/// alive waits for the last one to go (`closing`).
struct State<E> {
    end: Option<E>,
    hold: Hold,
    closing: bool,
    name: String,
    kind: &'static str,
    /// An error a batch receive met after records it returned, for the next receive.
    pending: Option<core::Error>,
}

/// A publisher's state, shared with its loans.
type PubState = State<PubEnd>;
/// A core result.
type CoreResult<T> = Result<T, core::Error>;

/// A subscriber's state, shared with its frames.
type SubState = State<RecordSubscriber>;

impl<E> State<E> {
    fn new(end: E, name: &str, kind: &'static str) -> Arc<Mutex<State<E>>> {
        Arc::new(Mutex::new(State {
            end: Some(end),
            hold: Hold::default(),
            closing: false,
            name: name.to_string(),
            kind,
            pending: None,
        }))
    }

    /// The end, or the error for a closed one.
    fn end(&mut self) -> Result<&mut E, core::Error> {
        match self.end.as_mut() {
            Some(e) if !self.closing => Ok(e),
            _ => Err(core::Error::new(
                ErrorKind::Closed,
                core::Operation::Open,
                core::error::Object {
                    kind: core::ObjectKind::Topic,
                    name: Some(self.name.clone()),
                },
                format!("the {} has been closed", self.kind),
            )),
        }
    }

    /// Closes the end now, or once the last view of its loan or frame has gone.
    fn close(&mut self) {
        self.closing = true;
        self.settle();
    }

    /// Finishes a close asked for, if no view holds it back: dropping the end gives back its
    /// loan or releases its frame, leaves the topic, and (owned) removes it.
    fn settle(&mut self) {
        if self.closing && (self.hold.current == 0 || self.hold.exports == 0) {
            self.hold.current = 0;
            self.end = None;
        }
    }

    /// Counts a view of loan or frame `seq` gone.
    fn unexport(&mut self, seq: u64) {
        if self.hold.current == seq && self.hold.exports > 0 {
            self.hold.exports -= 1;
        }
        self.settle();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The state a loan, frame or header view belongs to.
#[derive(Clone)]
enum Owner {
    Pub(Arc<Mutex<PubState>>),
    Sub(Arc<Mutex<SubState>>),
}

impl Owner {
    fn with_hold<R>(&self, f: impl FnOnce(&mut Hold) -> R) -> R {
        match self {
            Owner::Pub(s) => f(&mut lock(s).hold),
            Owner::Sub(s) => f(&mut lock(s).hold),
        }
    }
}

/// Where exported bytes are: an address in a segment the owner's end keeps mapped, as a number
/// (so that the classes are `Send`).
#[derive(Clone, Copy)]
struct Span {
    addr: usize,
    len: usize,
}

/// What an object exports: `span`, part of the loan or frame `seq` of `owner`, writable or not
/// (`what` names it in errors).
struct Piece<'a> {
    owner: &'a Owner,
    seq: u64,
    span: Span,
    writable: bool,
    what: &'static str,
}

/// Fills `view` for `obj`, whose bytes are `span` of the loan or frame `seq` of `owner`, and
/// counts the export; `BufferError` if that loan or frame is no longer out.
///
/// # Safety
///
/// `view` is the `Py_buffer` the interpreter passed to `__getbuffer__` for `obj`, and `span`
/// lies in a mapping that stays valid while loan or frame `seq` is out (the owner's end keeps it
/// mapped, and `obj` keeps the owner alive).
unsafe fn export(
    obj: *mut ffi::PyObject,
    view: *mut ffi::Py_buffer,
    flags: c_int,
    piece: Piece<'_>,
) -> PyResult<()> {
    let Piece {
        owner,
        seq,
        span,
        writable,
        what,
    } = piece;
    if !writable && flags & ffi::PyBUF_WRITABLE == ffi::PyBUF_WRITABLE {
        return Err(PyBufferError::new_err(format!(
            "{what} is read-only: the publisher's bytes are not for subscribers to change \
             (copy it, e.g. numpy.array(...), to modify it)"
        )));
    }
    let len = isize::try_from(span.len).map_err(|_| PyBufferError::new_err("too long"))?;
    owner.with_hold(|hold| {
        if hold.current != seq {
            return Err(PyBufferError::new_err(format!(
                "{what} was already released (sent, given back, or replaced by a later one): \
                 its bytes are no longer this object's"
            )));
        }
        // SAFETY: `view` and `obj` are the interpreter's (the caller's contract); the span is
        // mapped while `seq` is out, which it is (checked above, under the mutex that every
        // release takes), and stays so while the export is counted (a release with exports is
        // refused). `PyBuffer_FillInfo` takes a reference to `obj` for the view and sets an
        // exception on failure.
        let filled = unsafe {
            ffi::PyBuffer_FillInfo(
                view,
                obj,
                span.addr as *mut std::ffi::c_void,
                len,
                c_int::from(!writable),
                flags,
            )
        };
        if filled != 0 {
            return Err(Python::attach(|py| {
                PyErr::take(py).unwrap_or_else(|| PyBufferError::new_err("cannot export"))
            }));
        }
        hold.exports += 1;
        Ok(())
    })
}

/// Counts a view of loan or frame `seq` gone.
fn unexport(owner: &Owner, seq: u64) {
    match owner {
        Owner::Pub(s) => lock(s).unexport(seq),
        Owner::Sub(s) => lock(s).unexport(seq),
    }
}

fn views_alive(what: &str, n: usize, then: &str) -> PyErr {
    PyBufferError::new_err(format!(
        "{what} is still exported to {n} view{} (a memoryview or numpy array of it): release \
         them first (`del` the array, or memoryview.release()), {then}",
        if n == 1 { "" } else { "s" }
    ))
}

/// Topic errors name the Python calls, not the core's run-time ends.
fn rename_calls(e: core::Error) -> PyErr {
    rename(to_py(e))
}

/// `rename_calls` on a Python exception made from a core error.
fn rename(err: PyErr) -> PyErr {
    Python::attach(|py| {
        let value = err.value(py);
        let Ok(msg) = value.str().map(|s| s.to_string()) else {
            return err.clone_ref(py);
        };
        let renamed = msg
            .replace(
                "RecordPublisher::create_or_take_over_frames",
                "FramePublisher(name, max_frame_len, flags=O_CREAT)",
            )
            .replace("RecordSubscriber::open_frames", "FrameSubscriber(name)")
            .replace(
                "RecordPublisher::create_or_take_over",
                "Publisher(name, record, flags=O_CREAT)",
            )
            .replace("RecordSubscriber::open", "Subscriber(name, record)")
            .replace("TopicOptions::replace_stale(true)", "replace_stale=True")
            .replace("TopicOptions::max_subscribers", "max_subscribers");
        if renamed == msg {
            return err.clone_ref(py);
        }
        let new = PyErr::from_type(value.get_type(), renamed);
        for attr in ["missed", "generation"] {
            if let Ok(v) = value.getattr(attr) {
                let _ = new.value(py).setattr(attr, v);
            }
        }
        new
    })
}

trait TopicResult<T> {
    fn topic(self) -> PyResult<T>;
}

impl<T> TopicResult<T> for Result<T, core::Error> {
    fn topic(self) -> PyResult<T> {
        self.map_err(rename_calls)
    }
}

/// `wait_in_slices` (Ctrl-C stops it) with the calls renamed in its errors.
fn wait_topic<R: Send>(
    py: Python<'_>,
    timeout: Timeout,
    attempt: impl Fn(Timeout) -> Result<R, core::Error> + Sync,
) -> PyResult<R> {
    wait_in_slices(py, timeout, attempt).map_err(rename)
}

fn policy(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Policy> {
    match args::int_or(
        obj,
        POLICY_BLOCK,
        "policy",
        0,
        1,
        "POLICY_BLOCK or POLICY_OVERWRITE",
    )? {
        POLICY_BLOCK => Ok(Policy::Block),
        _ => Ok(Policy::Overwrite),
    }
}

fn policy_code(p: Policy) -> u32 {
    match p {
        Policy::Block => POLICY_BLOCK,
        _ => POLICY_OVERWRITE,
    }
}

/// The options a publisher's constructor takes.
#[allow(clippy::too_many_arguments)]
fn topic_options(
    mode: Option<&Bound<'_, PyAny>>,
    capacity: Option<&Bound<'_, PyAny>>,
    max_subscribers: Option<&Bound<'_, PyAny>>,
    policy_arg: Option<&Bound<'_, PyAny>>,
    history: Option<&Bound<'_, PyAny>>,
    stall_timeout: Option<&Bound<'_, PyAny>>,
    replace_stale: bool,
) -> PyResult<TopicOptions> {
    let mut o = TopicOptions::new()
        .mode(crate::mode(mode)?)
        .policy(policy(policy_arg)?)
        .replace_stale(replace_stale);
    if let Some(c) = capacity.filter(|c| !c.is_none()) {
        o = o
            .capacity(args::int(c, "capacity", 2, 1 << 16, "a power of two, 2 to 65536")? as usize);
    }
    if let Some(m) = max_subscribers.filter(|m| !m.is_none()) {
        o = o.max_subscribers(args::int(m, "max_subscribers", 1, 32, "1 to 32")? as usize);
    }
    if let Some(h) = history {
        o = o.history(args::int(h, "history", 0, 1 << 16, "less than the capacity")? as usize);
    }
    if let Some(s) = stall_timeout {
        match args::timeout(Some(s))? {
            Timeout::After(d) => o = o.stall_timeout(d),
            _ => {
                return Err(PyValueError::new_err(
                    "stall_timeout must be a positive number of seconds (at most 49 days)",
                ))
            }
        }
    }
    Ok(o)
}

/// What `flags` asks of a publisher: 0 opens the topic as its publisher, `O_CREX` creates it,
/// `O_CREAT` creates it or takes over a stale one (owned).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Disposition {
    Open,
    Create,
    CreateOrTakeOver,
}

fn disposition(flags: Option<&Bound<'_, PyAny>>) -> PyResult<Disposition> {
    let f = crate::flags(flags)?;
    Ok(if f & core::O_CREX == core::O_CREX {
        Disposition::Create
    } else if f & core::O_CREAT != 0 {
        Disposition::CreateOrTakeOver
    } else {
        Disposition::Open
    })
}

fn required_name(name: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    args::name(name)?.ok_or_else(|| PyValueError::new_err(format!("a {what} needs a name")))
}

/// A `RecordType` for Python from the core's, with the layout the topic stores or else the one
/// given.
fn record_for_py(
    inner: &core::RecordType,
    stored: Option<core::typed::LayoutDesc>,
    given: Option<&RecordType>,
) -> RecordType {
    RecordType {
        inner: inner.clone(),
        layout: stored.or_else(|| given.and_then(|g| g.layout.clone())),
    }
}

/// Registers the topic classes and constants.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("POLICY_BLOCK", POLICY_BLOCK)?;
    m.add("POLICY_OVERWRITE", POLICY_OVERWRITE)?;
    m.add_class::<Publisher>()?;
    m.add_class::<Subscriber>()?;
    m.add_class::<FramePublisher>()?;
    m.add_class::<FrameSubscriber>()?;
    m.add_class::<Loan>()?;
    m.add_class::<Frame>()?;
    m.add_class::<HeaderView>()?;
    Ok(())
}
