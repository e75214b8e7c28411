//! The publishing classes: `FramePublisher` and `Publisher`, over one `PubInner`.

use super::*;

/// The common part of the two publisher classes.
struct PubInner {
    state: Arc<Mutex<PubState>>,
    name: String,
    /// The record type (records) or header type (frames, `None` without one), with its layout.
    record: Option<RecordType>,
    frames: bool,
    max_len: usize,
    header_len: usize,
    capacity: usize,
    max_subscribers: usize,
    policy: Policy,
}

impl PubInner {
    fn new(end: PubEnd, name: String, given: Option<&RecordType>) -> PubInner {
        let record = end
            .record_type()
            .map(|r| record_for_py(&r, end.layout(), given));
        PubInner {
            record,
            frames: end.is_frames(),
            max_len: end.max_len(),
            header_len: end.header_len(),
            capacity: end.capacity(),
            max_subscribers: end.max_subscribers(),
            policy: end.policy(),
            state: State::new(end, &name, "publisher"),
            name,
        }
    }

    /// Gives back an unexported loan still out before a new loan or send; `BufferError` if a
    /// view of it is alive.
    fn settle_loan(st: &mut PubState) -> PyResult<()> {
        if st.hold.current != 0 {
            if st.hold.exports > 0 {
                return Err(views_alive(
                    "the loan made before",
                    st.hold.exports,
                    "or send() it, before a new loan or send",
                ));
            }
            if let Some(end) = st.end.as_mut() {
                end.give_back_kept();
            }
            st.hold.current = 0;
        }
        Ok(())
    }

    /// One attempt at a loan, kept: `(seq, header, bytes)`, or `None` if another thread
    /// loaned meanwhile (its loan stays).
    fn take_loan(
        st: &mut PubState,
        nbytes: usize,
        zero: bool,
        slice: Timeout,
    ) -> CoreResult<Option<(u64, Span, Span)>> {
        if st.hold.current != 0 {
            return Ok(None);
        }
        st.end()?.loan_with(nbytes, zero, slice)?.keep();
        let seq = st.hold.begin();
        let (header, bytes) = st.end()?.loaned().expect("a loan was just kept");
        let h = Span {
            addr: header.as_mut_ptr() as usize,
            len: header.len(),
        };
        let b = Span {
            addr: bytes.as_mut_ptr() as usize,
            len: bytes.len(),
        };
        Ok(Some((seq, h, b)))
    }

    fn loan(&self, py: Python<'_>, nbytes: usize, zero: bool, timeout: Timeout) -> PyResult<Loan> {
        // The fast path: one lock.
        let first = {
            let mut st = lock(&self.state);
            Self::settle_loan(&mut st)?;
            Self::take_loan(&mut st, nbytes, zero, Timeout::Immediate)
        };
        let got = match first {
            Ok(v) => v,
            Err(e) if e.kind() == ErrorKind::WouldBlock && timeout != Timeout::Immediate => {
                let state = Arc::clone(&self.state);
                wait_topic(py, timeout, |slice| {
                    Self::take_loan(&mut lock(&state), nbytes, zero, slice)
                })?
            }
            Err(e) => return Err(rename_calls(e)),
        };
        let Some((seq, header, bytes)) = got else {
            return Err(PyValueError::new_err(format!(
                "topic \"{}\": another thread loaned from this publisher at the same time; \
                 one loan at a time per publisher",
                self.name
            )));
        };
        Ok(Loan {
            owner: Owner::Pub(Arc::clone(&self.state)),
            seq,
            header: (self.header_len > 0).then_some(header),
            bytes,
            name: self.name.clone(),
            record: self.record.clone(),
            frames: self.frames,
        })
    }

    fn send(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        header: Option<&Bound<'_, PyAny>>,
        timeout: Timeout,
    ) -> PyResult<()> {
        let what = if self.frames {
            "the frame"
        } else {
            "the record"
        };
        let bytes = args::record_bytes(data, what)?;
        let bytes: &[u8] = &bytes;
        let head = match header.filter(|h| !h.is_none()) {
            Some(h) => {
                if self.header_len == 0 {
                    return Err(PyValueError::new_err(format!(
                        "topic \"{}\": its frames have no header (made without header=), so \
                         send() takes none",
                        self.name
                    )));
                }
                Some(args::record_bytes(h, "the header")?)
            }
            None => None,
        };
        let head: Option<&[u8]> = head.as_deref();
        {
            // The fast path: one lock, with the GIL (a small copy that need not wait).
            let mut st = lock(&self.state);
            Self::settle_loan(&mut st)?;
            let end = st.end().topic()?;
            if bytes.len() <= COPY_WITH_GIL_MAX {
                match end.send_with(bytes, head, Timeout::Immediate) {
                    Ok(()) => return Ok(()),
                    Err(e)
                        if e.kind() == ErrorKind::WouldBlock && timeout != Timeout::Immediate => {}
                    Err(e) => return Err(rename_calls(e)),
                }
            }
        }
        let state = Arc::clone(&self.state);
        let attempt = |slice: Timeout| -> Result<(), core::Error> {
            let mut st = lock(&state);
            // A loan still out is given back (settled above: no view of it is alive).
            st.hold.current = 0;
            st.end()?.send_with(bytes, head, slice)
        };
        if timeout == Timeout::Immediate {
            return py.detach(|| attempt(Timeout::Immediate)).topic();
        }
        wait_topic(py, timeout, attempt)
    }

    fn close(&self) {
        lock(&self.state).close();
    }

    fn unlink(&self) -> PyResult<()> {
        let mut st = lock(&self.state);
        match st.end() {
            Ok(end) => end.unlink().topic(),
            Err(_) => core::unlink_shared_memory(&self.name).py(),
        }
    }

    fn counters(&self) -> PyResult<(u64, usize, u64)> {
        let mut st = lock(&self.state);
        let end = st.end().topic()?;
        Ok((end.published(), end.subscribers(), end.generation()))
    }
}

/// Publishes frames of bytes (images, point clouds, serialised messages) of up to
/// `max_frame_len` bytes, each with an optional header of a `RecordType`, to every
/// `FrameSubscriber` of the topic, in this process or another, Python or Rust
/// (`posix_ipc::FramePublisher`).
///
/// `FramePublisher(name, max_frame_len, flags=0, mode=0o600, header=None, capacity=4,
/// max_subscribers=4, policy=POLICY_BLOCK, history=0, stall_timeout=0.5, replace_stale=False)`.
/// `flags`: 0 opens an existing topic as its publisher (after the previous one closed or died),
/// `O_CREX` creates it, `O_CREAT` creates it or takes over one whose publisher is gone (same
/// header, length and options), and then owns it: `close()` (or the end of `with`) removes it.
/// `mode` is the segment's permission bits.
#[pyclass(module = "posix_ipc_rs", subclass, frozen)]
pub struct FramePublisher {
    inner: PubInner,
}

#[pymethods]
impl FramePublisher {
    #[new]
    #[pyo3(signature = (name, max_frame_len=None, flags=None, mode=None, header=None, capacity=None,
        max_subscribers=None, policy=None, history=None, stall_timeout=None, replace_stale=false),
        text_signature = "(name, max_frame_len=None, flags=0, mode=0o600, header=None, \
        capacity=4, max_subscribers=4, policy=POLICY_BLOCK, history=0, stall_timeout=0.5, \
        replace_stale=False)")]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        name: &Bound<'_, PyAny>,
        max_frame_len: Option<&Bound<'_, PyAny>>,
        flags: Option<&Bound<'_, PyAny>>,
        mode: Option<&Bound<'_, PyAny>>,
        header: Option<&RecordType>,
        capacity: Option<&Bound<'_, PyAny>>,
        max_subscribers: Option<&Bound<'_, PyAny>>,
        policy: Option<&Bound<'_, PyAny>>,
        history: Option<&Bound<'_, PyAny>>,
        stall_timeout: Option<&Bound<'_, PyAny>>,
        replace_stale: bool,
    ) -> PyResult<FramePublisher> {
        let name = required_name(name, "frame topic")?;
        let how = disposition(flags)?;
        let options = topic_options(
            mode,
            capacity,
            max_subscribers,
            policy,
            history,
            stall_timeout,
            replace_stale,
        )?;
        let head = header.map(|h| &h.inner);
        let layout = header.and_then(|h| h.layout.as_ref());
        let max_len = match max_frame_len.filter(|m| !m.is_none()) {
            Some(m) => Some(args::int(
                m,
                "max_frame_len",
                1,
                core::typed::FRAME_LEN_MAX as i128,
                "1 byte to 1 GiB",
            )? as usize),
            None if how == Disposition::Open => None,
            None => {
                return Err(PyTypeError::new_err(
                    "creating a frame topic needs max_frame_len, the largest frame in bytes",
                ))
            }
        };
        let end = py
            .detach(|| match how {
                Disposition::Open => RecordPublisher::open_frames(&name, head).map(PubEnd::Plain),
                Disposition::Create => RecordPublisher::create_frames(
                    &name,
                    max_len.unwrap_or(0),
                    head,
                    layout,
                    &options,
                )
                .map(PubEnd::Plain),
                Disposition::CreateOrTakeOver => RecordPublisher::create_or_take_over_frames(
                    &name,
                    max_len.unwrap_or(0),
                    head,
                    layout,
                    &options,
                )
                .map(PubEnd::Owned),
            })
            .topic()?;
        if let (Disposition::Open, Some(want)) = (how, max_len) {
            if want > end.max_len() {
                return Err(PyValueError::new_err(format!(
                    "frame topic \"{name}\" takes frames of up to {} bytes, not {want}",
                    end.max_len()
                )));
            }
        }
        Ok(FramePublisher {
            inner: PubInner::new(end, name, header),
        })
    }

    /// Loans a frame of `nbytes` bytes in the segment (`Loan`, writable in place; zeroed unless
    /// `zero=False`, which saves writing the frame twice when every byte is written anyway).
    /// With `POLICY_BLOCK` it waits as `timeout` says for the slowest subscriber to leave room
    /// (None: as long as it takes; Ctrl-C raises KeyboardInterrupt). A loan still out and not
    /// viewed is given back first.
    #[pyo3(signature = (nbytes, timeout=None, zero=true))]
    fn loan(
        &self,
        py: Python<'_>,
        nbytes: &Bound<'_, PyAny>,
        timeout: Option<&Bound<'_, PyAny>>,
        zero: bool,
    ) -> PyResult<Loan> {
        let n = args::int(
            nbytes,
            "nbytes",
            0,
            self.inner.max_len as i128,
            "the topic's max_frame_len",
        )? as usize;
        let timeout = args::timeout(timeout)?;
        self.inner.loan(py, n, zero, timeout)
    }

    /// Publishes a copy of `data` (bytes or any C-contiguous bytes-like object: bytearray,
    /// memoryview, numpy array), with `header` (bytes of the header's size; zeros if None) if
    /// the topic's frames have one, waiting as `loan` does.
    #[pyo3(signature = (data, header=None, timeout=None))]
    fn send(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        header: Option<&Bound<'_, PyAny>>,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let timeout = args::timeout(timeout)?;
        self.inner.send(py, data, header, timeout)
    }

    /// Closes this end (a loan still alive keeps it open until it goes). A topic this object
    /// created with `O_CREAT` is removed.
    fn close(&self) {
        self.inner.close();
    }

    /// Removes the topic's name; connected ends keep working.
    fn unlink(&self) -> PyResult<()> {
        self.inner.unlink()
    }

    /// Returns the publisher itself.
    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// Closes the publisher.
    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, _exc: &Bound<'_, PyTuple>) -> bool {
        self.close();
        false
    }

    /// The topic's name.
    #[getter]
    fn name(&self) -> &str {
        &self.inner.name
    }

    /// The largest frame, in bytes (the header not counted).
    #[getter]
    fn max_frame_len(&self) -> usize {
        self.inner.max_len
    }

    /// The header's record type (with its layout), or None.
    #[getter]
    fn header(&self) -> Option<RecordType> {
        self.inner.record.clone()
    }

    /// Frames the topic keeps.
    #[getter]
    fn capacity(&self) -> usize {
        self.inner.capacity
    }

    /// Most subscribers at once.
    #[getter]
    fn max_subscribers(&self) -> usize {
        self.inner.max_subscribers
    }

    /// POLICY_BLOCK or POLICY_OVERWRITE.
    #[getter]
    fn policy(&self) -> u32 {
        policy_code(self.inner.policy)
    }

    /// Frames published on the topic so far.
    #[getter]
    fn published(&self) -> PyResult<u64> {
        Ok(self.inner.counters()?.0)
    }

    /// Subscribers connected and alive now.
    #[getter]
    fn subscribers(&self) -> PyResult<usize> {
        Ok(self.inner.counters()?.1)
    }

    /// This publisher's generation (1 for the topic's first, one more for each later one).
    #[getter]
    fn generation(&self) -> PyResult<u64> {
        Ok(self.inner.counters()?.2)
    }

    fn __repr__(&self) -> String {
        format!(
            "posix_ipc_rs.FramePublisher({}, max_frame_len={})",
            crate::py_str_repr(&self.inner.name),
            self.inner.max_len
        )
    }
}

/// Publishes fixed-size records of a `RecordType` to every `Subscriber` of the topic, Python or
/// Rust (`posix_ipc::Publisher<T>` of a type with that size and fingerprint).
///
/// `Publisher(name, record, flags=0, mode=0o600, capacity=16, max_subscribers=32,
/// policy=POLICY_BLOCK, history=0, stall_timeout=0.5, replace_stale=False)`, `flags` as for
/// `FramePublisher`. A record type made with `RecordType.from_dtype` stores its layout in the
/// topic, for tools (`posix-ipc topic echo`) and other languages.
#[pyclass(module = "posix_ipc_rs", subclass, frozen)]
pub struct Publisher {
    inner: PubInner,
}

#[pymethods]
impl Publisher {
    #[new]
    #[pyo3(signature = (name, record, flags=None, mode=None, capacity=None, max_subscribers=None,
        policy=None, history=None, stall_timeout=None, replace_stale=false),
        text_signature = "(name, record, flags=0, mode=0o600, capacity=16, max_subscribers=32, \
        policy=POLICY_BLOCK, history=0, stall_timeout=0.5, replace_stale=False)")]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        name: &Bound<'_, PyAny>,
        record: &RecordType,
        flags: Option<&Bound<'_, PyAny>>,
        mode: Option<&Bound<'_, PyAny>>,
        capacity: Option<&Bound<'_, PyAny>>,
        max_subscribers: Option<&Bound<'_, PyAny>>,
        policy: Option<&Bound<'_, PyAny>>,
        history: Option<&Bound<'_, PyAny>>,
        stall_timeout: Option<&Bound<'_, PyAny>>,
        replace_stale: bool,
    ) -> PyResult<Publisher> {
        let name = required_name(name, "topic")?;
        let how = disposition(flags)?;
        let options = topic_options(
            mode,
            capacity,
            max_subscribers,
            policy,
            history,
            stall_timeout,
            replace_stale,
        )?;
        let rec = &record.inner;
        let layout = record.layout.as_ref();
        let end = py
            .detach(|| match how {
                Disposition::Open => RecordPublisher::open(&name, rec).map(PubEnd::Plain),
                Disposition::Create => {
                    RecordPublisher::create(&name, rec, layout, &options).map(PubEnd::Plain)
                }
                Disposition::CreateOrTakeOver => {
                    RecordPublisher::create_or_take_over(&name, rec, layout, &options)
                        .map(PubEnd::Owned)
                }
            })
            .topic()?;
        Ok(Publisher {
            inner: PubInner::new(end, name, Some(record)),
        })
    }

    /// Publishes a copy of one record (bytes or any C-contiguous bytes-like object of exactly
    /// `record.size` bytes). With `POLICY_BLOCK` it waits as `timeout` says for the slowest
    /// subscriber to leave room (None: as long as it takes; 0: BusyError at once; Ctrl-C raises
    /// KeyboardInterrupt).
    #[pyo3(signature = (record, timeout=None))]
    fn send(
        &self,
        py: Python<'_>,
        record: &Bound<'_, PyAny>,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let timeout = args::timeout(timeout)?;
        self.inner.send(py, record, None, timeout)
    }

    /// Publishes many records: `records` is a whole number of records back to back (bytes, or
    /// a numpy array of the record's dtype), each sent in order, waiting as `send` does.
    #[pyo3(signature = (records, timeout=None))]
    fn send_many(
        &self,
        py: Python<'_>,
        records: &Bound<'_, PyAny>,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<usize> {
        let timeout = args::timeout(timeout)?;
        let all = args::record_bytes(records, "the records")?;
        let all: &[u8] = &all;
        let size = self.inner.max_len;
        if all.len() % size != 0 {
            let name = self.inner.record.as_ref().map_or("", |r| &r.inner.name);
            return Err(PyValueError::new_err(format!(
                "{} bytes are not a whole number of {size}-byte {name} records ({} records and \
                 {} bytes over): nothing was sent",
                all.len(),
                all.len() / size,
                all.len() % size
            )));
        }
        let total = all.len() / size;
        let mut sent = 0;
        while sent < total {
            // As many as fit now, under one lock.
            let stopped = {
                let mut st = lock(&self.inner.state);
                PubInner::settle_loan(&mut st)?;
                let end = st.end().topic()?;
                loop {
                    if sent == total {
                        break None;
                    }
                    let rec = &all[sent * size..(sent + 1) * size];
                    match end.send_with(rec, None, Timeout::Immediate) {
                        Ok(()) => sent += 1,
                        Err(e) => break Some(e),
                    }
                }
            };
            match stopped {
                None => break,
                Some(e) if e.kind() == ErrorKind::WouldBlock && timeout != Timeout::Immediate => {}
                Some(e) if e.kind() == ErrorKind::WouldBlock => {
                    return Err(rename_calls(core::Error::new(
                        ErrorKind::WouldBlock,
                        core::Operation::Send,
                        core::error::Object {
                            kind: core::ObjectKind::Topic,
                            name: Some(self.inner.name.clone()),
                        },
                        format!("the topic is full: {sent} of {total} records sent"),
                    )))
                }
                Some(e) => return Err(rename_calls(e)),
            }
            // Full: wait for room for the next one, then go on.
            let rec = &all[sent * size..(sent + 1) * size];
            let state = Arc::clone(&self.inner.state);
            wait_topic(py, timeout, |slice| {
                let mut st = lock(&state);
                st.hold.current = 0;
                st.end()?.send_with(rec, None, slice)
            })?;
            sent += 1;
        }
        Ok(all.len() / size)
    }

    /// Loans the next record in the segment (`Loan` of `record.size` bytes, zeroed, writable in
    /// place), waiting as `send` does; `loan.send()` publishes it without a copy.
    #[pyo3(signature = (timeout=None))]
    fn loan(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Loan> {
        let timeout = args::timeout(timeout)?;
        self.inner.loan(py, self.inner.max_len, true, timeout)
    }

    /// Closes this end (a loan still alive keeps it open until it goes). A topic this object
    /// created with `O_CREAT` is removed.
    fn close(&self) {
        self.inner.close();
    }

    /// Removes the topic's name; connected ends keep working.
    fn unlink(&self) -> PyResult<()> {
        self.inner.unlink()
    }

    /// Returns the publisher itself.
    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// Closes the publisher.
    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, _exc: &Bound<'_, PyTuple>) -> bool {
        self.close();
        false
    }

    /// The topic's name.
    #[getter]
    fn name(&self) -> &str {
        &self.inner.name
    }

    /// The record type, with the layout the topic stores, or the one it was given.
    #[getter]
    fn record(&self) -> Option<RecordType> {
        self.inner.record.clone()
    }

    /// Records the topic keeps.
    #[getter]
    fn capacity(&self) -> usize {
        self.inner.capacity
    }

    /// Most subscribers at once.
    #[getter]
    fn max_subscribers(&self) -> usize {
        self.inner.max_subscribers
    }

    /// POLICY_BLOCK or POLICY_OVERWRITE.
    #[getter]
    fn policy(&self) -> u32 {
        policy_code(self.inner.policy)
    }

    /// Records published on the topic so far.
    #[getter]
    fn published(&self) -> PyResult<u64> {
        Ok(self.inner.counters()?.0)
    }

    /// Subscribers connected and alive now.
    #[getter]
    fn subscribers(&self) -> PyResult<usize> {
        Ok(self.inner.counters()?.1)
    }

    /// This publisher's generation.
    #[getter]
    fn generation(&self) -> PyResult<u64> {
        Ok(self.inner.counters()?.2)
    }

    fn __repr__(&self) -> String {
        let r = self.inner.record.as_ref();
        format!(
            "posix_ipc_rs.Publisher({}, {:?} of {} bytes)",
            crate::py_str_repr(&self.inner.name),
            r.map_or("", |r| &r.inner.name),
            self.inner.max_len
        )
    }
}
