//! The zero-copy objects: `Loan` (a sample being written in the segment), `Frame` (a frame
//! received in place) and `HeaderView` (a frame's header in either), each exporting its bytes
//! through the buffer protocol with every view counted.

use super::*;

/// A sample being written in the topic's segment: a writable bytes-like object (buffer
/// protocol), published by `send()` without a copy. `np.frombuffer(loan, np.uint8)` is a view
/// that writes in place. `with pub.loan(n) as loan:` sends it at the end of the block, or gives
/// it back unsent if the block raises. Views of it must be gone by `send()` (`BufferError`
/// otherwise), so that nothing changes a frame once subscribers may read it.
#[pyclass(module = "posix_ipc_rs", frozen)]
pub struct Loan {
    pub(super) owner: Owner,
    pub(super) seq: u64,
    pub(super) header: Option<Span>,
    pub(super) bytes: Span,
    pub(super) name: String,
    pub(super) record: Option<RecordType>,
    pub(super) frames: bool,
}

impl Loan {
    fn pub_state(&self) -> &Arc<Mutex<PubState>> {
        match &self.owner {
            Owner::Pub(s) => s,
            Owner::Sub(_) => unreachable!("a loan belongs to a publisher"),
        }
    }

    fn out(&self, st: &PubState, action: &str) -> PyResult<()> {
        if st.hold.current != self.seq {
            return Err(PyValueError::new_err(format!(
                "topic \"{}\": this loan was already sent or given back (a later loan or send \
                 of its publisher gives back one not sent); it cannot be {action}",
                self.name
            )));
        }
        Ok(())
    }
}

#[pymethods]
impl Loan {
    /// Publishes the sample (no copy). For frames, `nbytes` shortens it to its first `nbytes`
    /// bytes. `BufferError` while a view of it is alive.
    #[pyo3(signature = (nbytes=None))]
    fn send(&self, nbytes: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let n = match nbytes.filter(|n| !n.is_none()) {
            Some(n) if self.frames => {
                Some(
                    args::int(n, "nbytes", 0, self.bytes.len as i128, "the loan's length")?
                        as usize,
                )
            }
            Some(_) => {
                return Err(PyValueError::new_err(
                    "a record is sent whole: nbytes is for frames",
                ))
            }
            None => None,
        };
        let mut st = lock(self.pub_state());
        self.out(&st, "sent")?;
        if st.hold.exports > 0 {
            return Err(views_alive(
                "the loan",
                st.hold.exports,
                "then send(): a published sample must not change",
            ));
        }
        st.end().topic()?.send_loaned(n);
        st.hold.current = 0;
        Ok(())
    }

    /// Gives the sample back unsent (nothing is published). `BufferError` while a view of it
    /// is alive; nothing happens if it was already sent or given back.
    fn discard(&self) -> PyResult<()> {
        let mut st = lock(self.pub_state());
        if st.hold.current != self.seq {
            return Ok(());
        }
        if st.hold.exports > 0 {
            return Err(views_alive(
                "the loan",
                st.hold.exports,
                "then discard() it",
            ));
        }
        if let Some(end) = st.end.as_mut() {
            end.give_back_kept();
        }
        st.hold.current = 0;
        st.settle();
        Ok(())
    }

    /// Whether it is still out (neither sent nor given back).
    #[getter]
    fn pending(&self) -> bool {
        lock(self.pub_state()).hold.current == self.seq
    }

    /// The frame's header, writable in place (`HeaderView`; `numpy.frombuffer(loan.header,
    /// header.dtype)`), or None if the topic's frames have none. Assigning bytes of the
    /// header's size copies them in.
    #[getter]
    fn header(slf: &Bound<'_, Self>) -> Option<HeaderView> {
        let me = slf.get();
        me.header.map(|span| HeaderView {
            owner: me.owner.clone(),
            seq: me.seq,
            span,
            writable: true,
            record: me.record.clone(),
            _parent: slf.clone().into_any().unbind(),
        })
    }

    #[setter]
    fn set_header(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let Some(span) = self.header else {
            return Err(PyValueError::new_err(format!(
                "topic \"{}\": its frames have no header",
                self.name
            )));
        };
        let bytes = args::record_bytes(value, "the header")?;
        if bytes.len() != span.len {
            return Err(PyValueError::new_err(format!(
                "the header is {} bytes, not {}",
                span.len,
                bytes.len()
            )));
        }
        let st = lock(self.pub_state());
        self.out(&st, "written")?;
        // SAFETY: the loan is out (checked under the mutex, which a send or give-back takes), so
        // its header span is in a buffer loaned to this publisher alone and mapped writable;
        // `bytes` is the caller's memory, another object.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), span.addr as *mut u8, span.len);
        }
        Ok(())
    }

    fn __len__(&self) -> usize {
        self.bytes.len
    }

    /// Returns the loan itself.
    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// Sends the loan if the block ended normally and it is still out, gives it back if the
    /// block raised.
    #[pyo3(signature = (exc_type, _exc=None, _tb=None))]
    fn __exit__(
        &self,
        exc_type: &Bound<'_, PyAny>,
        _exc: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        if exc_type.is_none() {
            if self.pending() {
                self.send(None)?;
            }
        } else if self.discard().is_err() {
            // A view still alive: the buffer goes back when the loan object goes.
        }
        Ok(false)
    }

    /// # Safety
    ///
    /// Called by the interpreter with its `Py_buffer`.
    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut ffi::Py_buffer,
        flags: c_int,
    ) -> PyResult<()> {
        let me = slf.get();
        // SAFETY: `view` is the interpreter's, for `slf`; the bytes are the loan's, in its
        // publisher's buffer, which the publisher end (kept alive by `me.owner`) keeps mapped
        // while the loan is out.
        unsafe {
            export(
                slf.as_ptr(),
                view,
                flags,
                Piece {
                    owner: &me.owner,
                    seq: me.seq,
                    span: me.bytes,
                    writable: true,
                    what: "the loan",
                },
            )
        }
    }

    /// # Safety
    ///
    /// Called by the interpreter with a `Py_buffer` this object filled.
    unsafe fn __releasebuffer__(&self, _view: *mut ffi::Py_buffer) {
        unexport(&self.owner, self.seq);
    }

    fn __repr__(&self) -> String {
        format!(
            "<posix_ipc_rs.Loan of {} bytes on {}{}>",
            self.bytes.len,
            crate::py_str_repr(&self.name),
            if self.pending() { "" } else { ", done" }
        )
    }
}

impl Drop for Loan {
    fn drop(&mut self) {
        // No view is alive (each keeps the loan alive): a loan still out goes back unsent.
        let mut st = lock(self.pub_state());
        if st.hold.current == self.seq {
            if let Some(end) = st.end.as_mut() {
                end.give_back_kept();
            }
            st.hold.current = 0;
            st.settle();
        }
    }
}

/// A frame received in place: a read-only bytes-like object (buffer protocol) over the frame's
/// bytes in the segment. `np.frombuffer(frame, np.uint8)` is a view, no copy. The frame is held
/// (the publisher does not reuse its buffer) until `release()`, the end of a `with` block, the
/// next receive, or garbage collection; none of these may happen while a view of it is alive
/// (`BufferError`). `bytes(frame)` copies it.
#[pyclass(module = "posix_ipc_rs", frozen)]
pub struct Frame {
    pub(super) owner: Owner,
    pub(super) seq: u64,
    pub(super) index: u64,
    pub(super) published: u64,
    pub(super) header: Option<Span>,
    pub(super) bytes: Span,
    pub(super) header_type: Option<RecordType>,
}

impl Frame {
    fn sub_state(&self) -> &Arc<Mutex<SubState>> {
        match &self.owner {
            Owner::Sub(s) => s,
            Owner::Pub(_) => unreachable!("a frame belongs to a subscriber"),
        }
    }
}

#[pymethods]
impl Frame {
    /// Releases the frame: the publisher may reuse its buffer. `BufferError` while a view of it
    /// is alive; nothing happens if it was already released.
    fn release(&self) -> PyResult<()> {
        let mut st = lock(self.sub_state());
        if st.hold.current != self.seq {
            return Ok(());
        }
        if st.hold.exports > 0 {
            return Err(views_alive(
                "the frame",
                st.hold.exports,
                "then release() it",
            ));
        }
        if let Some(end) = st.end.as_mut() {
            end.release();
        }
        st.hold.current = 0;
        st.settle();
        Ok(())
    }

    /// Whether it is still held.
    #[getter]
    fn held(&self) -> bool {
        lock(self.sub_state()).hold.current == self.seq
    }

    /// The frame's number on the topic: how many samples were published before it.
    #[getter]
    fn index(&self) -> u64 {
        self.index
    }

    /// When it was published: `CLOCK_MONOTONIC` nanoseconds, as
    /// `time.clock_gettime_ns(time.CLOCK_MONOTONIC)` (a bridge or a replay keeps the original
    /// publisher's).
    #[getter]
    fn published_ns(&self) -> u64 {
        self.published
    }

    /// The frame's header, read-only in place (`HeaderView`; `numpy.frombuffer(frame.header,
    /// header.dtype)[0]`), or None if the topic's frames have none.
    #[getter]
    fn header(slf: &Bound<'_, Self>) -> Option<HeaderView> {
        let me = slf.get();
        me.header.map(|span| HeaderView {
            owner: me.owner.clone(),
            seq: me.seq,
            span,
            writable: false,
            record: me.header_type.clone(),
            _parent: slf.clone().into_any().unbind(),
        })
    }

    fn __len__(&self) -> usize {
        self.bytes.len
    }

    /// Returns the frame itself.
    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// Releases the frame (`BufferError` if a view of it is still alive).
    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, _exc: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.release()?;
        Ok(false)
    }

    /// # Safety
    ///
    /// Called by the interpreter with its `Py_buffer`.
    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut ffi::Py_buffer,
        flags: c_int,
    ) -> PyResult<()> {
        let me = slf.get();
        // SAFETY: `view` is the interpreter's, for `slf`; the bytes are the frame's, in the
        // segment its subscriber end (kept alive by `me.owner`) keeps mapped while it holds the
        // frame.
        unsafe {
            export(
                slf.as_ptr(),
                view,
                flags,
                Piece {
                    owner: &me.owner,
                    seq: me.seq,
                    span: me.bytes,
                    writable: false,
                    what: "the frame",
                },
            )
        }
    }

    /// # Safety
    ///
    /// Called by the interpreter with a `Py_buffer` this object filled.
    unsafe fn __releasebuffer__(&self, _view: *mut ffi::Py_buffer) {
        unexport(&self.owner, self.seq);
    }

    fn __repr__(&self) -> String {
        format!(
            "<posix_ipc_rs.Frame #{} of {} bytes{}>",
            self.index,
            self.bytes.len,
            if self.held() { "" } else { ", released" }
        )
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        // No view is alive (each keeps the frame alive): a frame still held is released.
        let mut st = lock(self.sub_state());
        if st.hold.current == self.seq {
            if let Some(end) = st.end.as_mut() {
                end.release();
            }
            st.hold.current = 0;
            st.settle();
        }
    }
}

/// A frame's header in place: writable on a loan, read-only on a received frame; a bytes-like
/// object counted as a view of its loan or frame. `bytes(view)` copies it;
/// `numpy.frombuffer(view, record.dtype)[0]` reads its fields.
#[pyclass(module = "posix_ipc_rs", frozen)]
pub struct HeaderView {
    owner: Owner,
    seq: u64,
    span: Span,
    writable: bool,
    record: Option<RecordType>,
    /// The loan or frame it belongs to, kept alive while this view (or a view of it) is: that
    /// one is released or given back only when it goes, which is then after every view of its
    /// header.
    _parent: Py<PyAny>,
}

#[pymethods]
impl HeaderView {
    /// The header's record type.
    #[getter]
    fn record(&self) -> Option<RecordType> {
        self.record.clone()
    }

    fn __len__(&self) -> usize {
        self.span.len
    }

    /// # Safety
    ///
    /// Called by the interpreter with its `Py_buffer`.
    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut ffi::Py_buffer,
        flags: c_int,
    ) -> PyResult<()> {
        let me = slf.get();
        // SAFETY: as for the loan or frame it belongs to: the header lies in the same buffer,
        // mapped while that loan or frame is out, which `export` checks and counts.
        unsafe {
            export(
                slf.as_ptr(),
                view,
                flags,
                Piece {
                    owner: &me.owner,
                    seq: me.seq,
                    span: me.span,
                    writable: me.writable,
                    what: "the header",
                },
            )
        }
    }

    /// # Safety
    ///
    /// Called by the interpreter with a `Py_buffer` this object filled.
    unsafe fn __releasebuffer__(&self, _view: *mut ffi::Py_buffer) {
        unexport(&self.owner, self.seq);
    }

    fn __repr__(&self) -> String {
        format!(
            "<posix_ipc_rs.HeaderView of {} bytes{}>",
            self.span.len,
            if self.writable { "" } else { ", read-only" }
        )
    }
}
