//! `MessageQueue`: posix_ipc's class over the core's message queue.

use std::os::fd::AsRawFd;
use std::sync::Arc;

use posix_ipc_core as core;
use posix_ipc_core::{ErrorKind, Notification, Timeout};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyInt, PyTuple};

use crate::args;
use crate::errors::{after_wait, to_py, IntoPy};
use crate::handle::Slot;

/// A POSIX message queue (posix_ipc.MessageQueue).
///
/// `MessageQueue(name, flags=0, mode=0o600, max_messages=QUEUE_MESSAGES_MAX_DEFAULT,
/// max_message_size=QUEUE_MESSAGE_SIZE_MAX_DEFAULT, read=True, write=True)`. `with
/// MessageQueue(...) as mq:` closes the handle on exit (it does not unlink).
#[pyclass(module = "posix_ipc_rs", subclass, frozen)]
pub struct MessageQueue {
    slot: Slot<core::MessageQueue>,
    name: String,
    mode: u32,
    max_messages: usize,
    max_message_size: usize,
    read: bool,
    write: bool,
    flags: i32,
    /// Calls left that go straight to the blocking call (see [`Adaptive`]).
    send_skip: Adaptive,
    receive_skip: Adaptive,
}

/// Whether to try a call without waiting first. On a queue the attempt is a system call of
/// its own, so a handle whose calls keep having to wait (a ping-pong, a consumer that keeps up)
/// stops trying for the next [`SKIP`] calls and goes straight to the blocking call without the
/// GIL, as posix_ipc does; one whose calls find a message or room keeps the GIL and makes one
/// system call.
#[derive(Default)]
pub(crate) struct Adaptive(std::sync::atomic::AtomicU32);

/// Calls that skip the attempt after one had to wait.
const SKIP: u32 = 16;

impl Adaptive {
    /// Whether this call should go straight to the blocking call.
    #[inline]
    fn skip(&self) -> bool {
        let left = self.0.load(std::sync::atomic::Ordering::Relaxed);
        if left > 0 {
            self.0.store(left - 1, std::sync::atomic::Ordering::Relaxed);
        }
        left > 0
    }

    /// The attempt found it would have to wait.
    #[inline]
    fn waited(&self) {
        self.0.store(SKIP, std::sync::atomic::Ordering::Relaxed);
    }
}

thread_local! {
    /// A receive buffer per thread, reused: receiving needs `max_message_size` bytes of room,
    /// and allocating (and zeroing) 8 KiB for each message cost more than the receive.
    static BUFFER: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

impl MessageQueue {
    fn handle(&self) -> PyResult<Arc<core::MessageQueue>> {
        self.slot.get(&self.name)
    }
}

/// Sends, releasing the GIL only if the call has to wait (see [`Adaptive`]).
pub(crate) fn send(
    py: Python<'_>,
    mq: &core::MessageQueue,
    message: &[u8],
    priority: u32,
    timeout: Timeout,
    adaptive: &Adaptive,
) -> PyResult<()> {
    if timeout == Timeout::Immediate || !adaptive.skip() {
        match mq.try_send(message, priority) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::WouldBlock && timeout != Timeout::Immediate => {
                adaptive.waited();
            }
            Err(e) => return Err(to_py(e)),
        }
    }
    let r = py.detach(|| mq.send_with(message, priority, timeout));
    after_wait(py, r)
}

/// Receives, releasing the GIL only if the call has to wait (see [`Adaptive`]).
pub(crate) fn receive<'py>(
    py: Python<'py>,
    mq: &core::MessageQueue,
    timeout: Timeout,
    adaptive: &Adaptive,
) -> PyResult<(Bound<'py, PyBytes>, u32)> {
    // Taken out of the thread's slot for the call, so that a receive inside a signal handler
    // run by this call (check_signals) gets a buffer of its own.
    let mut buf = BUFFER.take();
    let size = mq.max_message_size();
    if buf.len() < size {
        buf.resize(size, 0);
    }
    let room = &mut buf[..size];
    let mut got = None;
    if timeout == Timeout::Immediate || !adaptive.skip() {
        match mq.receive_into(room, Timeout::Immediate) {
            Ok(r) => got = Some(Ok(r)),
            Err(e) if e.kind() == ErrorKind::WouldBlock && timeout != Timeout::Immediate => {
                adaptive.waited();
            }
            Err(e) => got = Some(Err(to_py(e))),
        }
    }
    let got = match got {
        Some(r) => r,
        None => {
            let r = py.detach(|| mq.receive_into(room, timeout));
            after_wait(py, r)
        }
    };
    let out = got.map(|(len, priority)| (PyBytes::new(py, &buf[..len]), priority));
    BUFFER.set(buf);
    out
}

#[pymethods]
impl MessageQueue {
    #[new]
    #[pyo3(
        signature = (name, flags=None, mode=None, max_messages=None, max_message_size=None, read=None, write=None),
        text_signature = "(name, flags=0, mode=0o600, max_messages=10, max_message_size=8192, read=True, write=True)"
    )]
    fn new(
        name: &Bound<'_, PyAny>,
        flags: Option<&Bound<'_, PyAny>>,
        mode: Option<&Bound<'_, PyAny>>,
        max_messages: Option<&Bound<'_, PyAny>>,
        max_message_size: Option<&Bound<'_, PyAny>>,
        read: Option<&Bound<'_, PyAny>>,
        write: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<MessageQueue> {
        let given = args::name(name)?;
        if let Some(e) = given
            .as_deref()
            .and_then(|n| args::posix_ipc_queue_name_error(n, true))
        {
            return Err(e);
        }
        let flags = crate::flags(flags)?;
        let mode = crate::mode(mode)?;
        let long = (i64::MIN as i128, i64::MAX as i128);
        let max_messages: i64 = args::int_or(
            max_messages,
            core::QUEUE_MESSAGES_MAX_DEFAULT,
            "max_messages",
            long.0,
            long.1,
            "a C long",
        )?;
        let max_message_size: i64 = args::int_or(
            max_message_size,
            core::QUEUE_MESSAGE_SIZE_MAX_DEFAULT,
            "max_message_size",
            long.0,
            long.1,
            "a C long",
        )?;
        let truthy = |o: Option<&Bound<'_, PyAny>>| o.map_or(Ok(true), |o| o.is_truthy());
        let (read, write) = (truthy(read)?, truthy(write)?);
        let mq = core::MessageQueue::new(
            given.as_deref(),
            flags,
            mode,
            max_messages,
            max_message_size,
            read,
            write,
        )
        .py()?;
        Ok(MessageQueue {
            name: given.unwrap_or_else(|| mq.name().to_owned()),
            mode,
            max_messages: mq.max_messages(),
            max_message_size: mq.max_message_size(),
            read,
            write,
            flags,
            send_skip: Adaptive::default(),
            receive_skip: Adaptive::default(),
            slot: Slot::new(mq, "the message queue"),
        })
    }

    /// Sends `message` (str as UTF-8, bytes, or any bytes-like object) with `priority` (0 to
    /// QUEUE_PRIORITY_MAX). While the queue is full it waits as `timeout` says (None: forever,
    /// 0: BusyError at once, seconds: BusyError when they expire), other threads running.
    #[pyo3(signature = (message, timeout=None, priority=None), text_signature = "($self, message, timeout=None, priority=0)")]
    fn send(
        &self,
        py: Python<'_>,
        message: &Bound<'_, PyAny>,
        timeout: Option<&Bound<'_, PyAny>>,
        priority: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let message = args::message(message)?;
        let timeout = args::timeout(timeout)?;
        let priority: u32 = args::int_or(
            priority,
            0,
            "priority",
            0,
            core::QUEUE_PRIORITY_MAX as i128,
            "QUEUE_PRIORITY_MAX",
        )?;
        let mq = self.handle()?;
        send(py, &mq, &message, priority, timeout, &self.send_skip)
    }

    /// Takes the oldest message of the highest priority: `(bytes, priority)`. While the queue
    /// is empty it waits as `timeout` says.
    #[pyo3(signature = (timeout=None))]
    fn receive<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<(Bound<'py, PyBytes>, u32)> {
        let timeout = args::timeout(timeout)?;
        let mq = self.handle()?;
        receive(py, &mq, timeout, &self.receive_skip)
    }

    /// Asks to be told when the queue goes from empty to non-empty: `None` cancels, a signal
    /// number sends that signal, `(callable, param)` calls `callable(param)` on a new thread
    /// (it may re-arm the notification; an exception it raises reaches `sys.unraisablehook`).
    /// One notification per request; the queue may be closed or garbage collected with a
    /// callback pending.
    #[pyo3(signature = (notification=None))]
    fn request_notification(&self, notification: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let notification = match notification {
            None => Notification::Cancel,
            Some(n) if n.is_none() => Notification::Cancel,
            Some(n) if n.cast::<PyInt>().is_ok() => {
                let signal: i32 =
                    args::int_or(Some(n), 0, "the signal number", 1, 64, "a signal number")?;
                Notification::Signal(signal)
            }
            Some(n) => callback(n)?,
        };
        self.handle()?.request_notification(notification).py()
    }

    /// Closes this handle (the queue stays until unlinked); a pending notification is
    /// cancelled.
    fn close(&self) -> PyResult<()> {
        match self.slot.take() {
            Some(mq) => match Arc::try_unwrap(mq) {
                Ok(mq) => mq.close().py(),
                Err(_) => Ok(()),
            },
            None => Err(crate::errors::closed("the message queue", &self.name)),
        }
    }

    /// Removes the name; the queue lives on until every handle is closed.
    fn unlink(&self) -> PyResult<()> {
        match self.slot.get(&self.name) {
            Ok(mq) => mq.unlink().py(),
            Err(_) => core::unlink_message_queue(&self.name).py(),
        }
    }

    /// The queue descriptor (pollable with select, poll, selectors).
    fn fileno(&self) -> PyResult<i32> {
        Ok(self.handle()?.as_raw_fd())
    }

    /// Returns the queue itself.
    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// Closes the handle (does not unlink).
    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, _exc: &Bound<'_, PyTuple>) -> PyResult<bool> {
        if !self.slot.is_closed() {
            self.close()?;
        }
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
    fn mode(&self) -> u32 {
        self.mode
    }

    /// The queue's capacity in messages (from the kernel, for an existing queue too).
    #[getter]
    fn max_messages(&self) -> usize {
        self.max_messages
    }

    /// The longest message in bytes (from the kernel).
    #[getter]
    fn max_message_size(&self) -> usize {
        self.max_message_size
    }

    /// The queue descriptor, -1 once closed.
    #[getter]
    fn mqd(&self) -> i32 {
        self.slot.get(&self.name).map_or(-1, |mq| mq.as_raw_fd())
    }

    /// Messages in the queue now.
    #[getter]
    fn current_messages(&self) -> PyResult<usize> {
        self.handle()?.current_messages().py()
    }

    /// Whether send and receive wait (False: they raise BusyError at once, whatever the
    /// timeout).
    #[getter]
    fn block(&self) -> PyResult<bool> {
        self.handle()?.block().py()
    }

    #[setter]
    fn set_block(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let block = value.is_truthy()?;
        self.handle()?.set_block(block).py()
    }

    fn __str__(&self) -> &str {
        &self.name
    }

    fn __repr__(&self) -> String {
        let yes = |b: bool| if b { "True" } else { "False" };
        format!(
            "posix_ipc_rs.MessageQueue({}, mode=0o{:o}, max_messages={}, max_message_size={}, read={}, write={})",
            crate::py_str_repr(&self.name),
            self.mode,
            self.max_messages,
            self.max_message_size,
            yes(self.read),
            yes(self.write)
        )
    }
}

/// A `(callable, param)` notification: `callable(param)` on glibc's notification thread, with
/// the GIL; an exception goes to `sys.unraisablehook`.
fn callback(n: &Bound<'_, PyAny>) -> PyResult<Notification> {
    let bad = || {
        PyTypeError::new_err(format!(
            "the notification must be None, a signal number or a (callable, param) tuple, not {}",
            args::type_name(n)
        ))
    };
    let tuple = n.cast::<PyTuple>().map_err(|_| bad())?;
    if tuple.len() != 2 {
        return Err(bad());
    }
    let f = tuple.get_item(0)?;
    if !f.is_callable() {
        return Err(PyTypeError::new_err(format!(
            "the notification's first item must be callable, not {}",
            args::type_name(&f)
        )));
    }
    let f: Py<PyAny> = f.unbind();
    let param: Py<PyAny> = tuple.get_item(1)?.unbind();
    Ok(Notification::callback(move || {
        // None if the interpreter is shutting down: then nothing can be called.
        let _ = Python::try_attach(|py| {
            if let Err(e) = f.call1(py, (param,)) {
                e.write_unraisable(py, Some(f.bind(py)));
            }
        });
    }))
}
