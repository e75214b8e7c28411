//! The subscribing classes: `FrameSubscriber` and `Subscriber`, over one `SubInner`.

use super::*;

/// A subscriber's `wait`: how long to wait for the topic to exist. Not given: not at all (0);
/// None: as long as it takes (Ctrl-C stops it); seconds otherwise, as every `timeout`.
pub(super) struct Wait(Timeout);

impl<'a, 'py> FromPyObject<'a, 'py> for Wait {
    type Error = PyErr;
    fn extract(obj: pyo3::Borrowed<'a, 'py, PyAny>) -> PyResult<Wait> {
        args::timeout(Some(&obj)).map(Wait)
    }
}

const NO_WAIT: Wait = Wait(Timeout::Immediate);

/// Opens a subscriber end, waiting as `wait` says for the topic to exist (Ctrl-C stops it).
fn open_subscriber(
    py: Python<'_>,
    wait: Timeout,
    follow: bool,
    open: impl Fn(&SubscribeOptions) -> Result<RecordSubscriber, core::Error> + Sync,
) -> PyResult<RecordSubscriber> {
    let options = SubscribeOptions::new().follow_restarts(follow);
    if wait == Timeout::Immediate {
        return open(&options).topic();
    }
    let end =
        wait_in_slices(py, wait, |slice| open(&options.clone().wait(slice))).map_err(|e| {
            Python::attach(|py| {
                // The last slice's timeout names the slice; say what was asked.
                if e.is_instance_of::<crate::errors::BusyError>(py) {
                    crate::errors::BusyError::new_err(format!(
                        "topic does not exist yet: gave up waiting for it ({})",
                        e.value(py)
                    ))
                } else {
                    e
                }
            })
        })?;
    Ok(end)
}

/// The common part of the two subscriber classes.
struct SubInner {
    state: Arc<Mutex<SubState>>,
    name: String,
    record: Option<RecordType>,
    max_len: usize,
}

/// A frame just taken and kept: its hold number, index, header and bytes, publication time.
type Taken = (u64, u64, Span, Span, u64);

impl SubInner {
    fn new(end: RecordSubscriber, name: String, given: Option<&RecordType>) -> SubInner {
        let record = end
            .record_type()
            .map(|r| record_for_py(&r, end.layout(), given));
        SubInner {
            record,
            max_len: end.max_len(),
            state: State::new(end, &name, "subscriber"),
            name,
        }
    }

    /// Releases the frame held before a receive; `BufferError` if a view of it is alive.
    fn settle_frame(st: &mut SubState) -> PyResult<()> {
        if st.hold.current != 0 {
            if st.hold.exports > 0 {
                return Err(views_alive(
                    "the frame received before",
                    st.hold.exports,
                    "or copy it (bytes(frame)), before receiving the next",
                ));
            }
            if let Some(end) = st.end.as_mut() {
                end.release();
            }
            st.hold.current = 0;
        }
        Ok(())
    }

    /// One attempt at the next frame, held: `(seq, index, header, bytes)`, or `None` if a frame
    /// still viewed is held (another thread received it meanwhile).
    fn take_frame(st: &mut SubState, slice: Timeout) -> CoreResult<Option<Taken>> {
        if st.hold.current != 0 {
            if st.hold.exports > 0 {
                return Ok(None);
            }
            st.hold.current = 0;
        }
        let sample = st.end()?.recv_with(slice)?;
        let published = sample.published_ns();
        sample.keep();
        let seq = st.hold.begin();
        let (index, header, bytes) = st.end()?.held().expect("a sample was just kept");
        Ok(Some((
            seq,
            index,
            Span {
                addr: header.as_ptr() as usize,
                len: header.len(),
            },
            Span {
                addr: bytes.as_ptr() as usize,
                len: bytes.len(),
            },
            published,
        )))
    }

    fn receive_frame(&self, py: Python<'_>, timeout: Timeout) -> PyResult<Frame> {
        // The fast path: one lock.
        let first = {
            let mut st = lock(&self.state);
            Self::settle_frame(&mut st)?;
            Self::take_frame(&mut st, Timeout::Immediate)
        };
        let got = match first {
            Ok(v) => v,
            Err(e) if e.kind() == ErrorKind::WouldBlock && timeout != Timeout::Immediate => {
                let state = Arc::clone(&self.state);
                wait_topic(py, timeout, |slice| {
                    Self::take_frame(&mut lock(&state), slice)
                })?
            }
            Err(e) => return Err(rename_calls(e)),
        };
        let Some((seq, index, header, bytes, published)) = got else {
            let n = lock(&self.state).hold.exports;
            return Err(views_alive(
                "the frame received by another thread",
                n,
                "before receiving the next",
            ));
        };
        Ok(Frame {
            owner: Owner::Sub(Arc::clone(&self.state)),
            seq,
            index,
            published,
            header: (header.len > 0).then_some(header),
            bytes,
            header_type: self.record.clone(),
        })
    }

    /// The next record copied into a new bytes object.
    fn receive_record<'py>(
        &self,
        py: Python<'py>,
        timeout: Timeout,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let size = self.max_len;
        let mut failed = None;
        // The fast path: one lock, straight into the bytes object.
        let got = PyBytes::new_with(py, size, |out| {
            let mut st = lock(&self.state);
            let r = match st.pending.take() {
                Some(e) => Err(e),
                None => st
                    .end()
                    .and_then(|end| end.recv_copy_into(out, Timeout::Immediate)),
            };
            if let Err(e) = r {
                failed = Some(e);
            }
            Ok(())
        })?;
        match failed {
            None => return Ok(got),
            Some(e) if e.kind() == ErrorKind::WouldBlock && timeout != Timeout::Immediate => {}
            Some(e) => return Err(rename_calls(e)),
        }
        let state = Arc::clone(&self.state);
        let buf = wait_topic(py, timeout, |slice| {
            let mut out = vec![0u8; size];
            lock(&state).end()?.recv_copy_into(&mut out, slice)?;
            Ok(out)
        })?;
        Ok(PyBytes::new(py, &buf))
    }

    /// Copies the records that are ready into `out` from record `n` on, without waiting;
    /// returns how many `out` then holds. An error after the first record is kept for the
    /// next receive (the records before it are returned); one before it is returned.
    fn drain(st: &mut SubState, out: &mut [u8], mut n: usize, size: usize) -> CoreResult<usize> {
        let max = out.len() / size;
        while n < max {
            let slot = &mut out[n * size..(n + 1) * size];
            match st
                .end()
                .and_then(|end| end.recv_copy_into(slot, Timeout::Immediate))
            {
                Ok(_) => n += 1,
                Err(e) if n == 0 => return Err(e),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => {
                    st.pending = Some(e);
                    break;
                }
            }
        }
        Ok(n)
    }

    /// Whole records into `out`: those that are ready, or, if none is, the first to come
    /// (waiting as `timeout` says) and those ready after it.
    fn receive_records(&self, py: Python<'_>, out: &mut [u8], timeout: Timeout) -> PyResult<usize> {
        let size = self.max_len;
        let first = {
            let mut st = lock(&self.state);
            match st.pending.take() {
                Some(e) => Err(e),
                None => Self::drain(&mut st, out, 0, size),
            }
        };
        match first {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == ErrorKind::WouldBlock && timeout != Timeout::Immediate => {}
            Err(e) => return Err(rename_calls(e)),
        }
        let state = Arc::clone(&self.state);
        let rec = wait_topic(py, timeout, |slice| {
            let mut rec = vec![0u8; size];
            lock(&state).end()?.recv_copy_into(&mut rec, slice)?;
            Ok(rec)
        })?;
        out[..size].copy_from_slice(&rec);
        let mut st = lock(&self.state);
        Self::drain(&mut st, out, 1, size).map_err(rename_calls)
    }

    fn close(&self) {
        lock(&self.state).close();
    }

    fn counters(&self) -> PyResult<(u64, u64)> {
        let mut st = lock(&self.state);
        let end = st.end().topic()?;
        Ok((end.pending(), end.generation()))
    }
}

/// Receives the frames of a frame topic in place (`Frame`: zero-copy, read-only), from a
/// `FramePublisher` in Python or Rust.
///
/// `FrameSubscriber(name, header=None, follow_restarts=False, wait=0)`: `header` must be the
/// topic's header type (None for a topic without one); `wait` is how long to wait for the topic
/// to exist (None: as long as it takes, Ctrl-C stops it; 0: not at all). With
/// `follow_restarts`, a restarted publisher's frames keep coming (`RestartedError` once);
/// without, the publisher's end is `DisconnectedError` once everything it sent was received.
#[pyclass(module = "posix_ipc_rs", subclass, frozen)]
pub struct FrameSubscriber {
    inner: SubInner,
}

#[pymethods]
impl FrameSubscriber {
    #[new]
    #[pyo3(signature = (name, header=None, follow_restarts=false, wait=NO_WAIT),
        text_signature = "(name, header=None, follow_restarts=False, wait=0)")]
    fn new(
        py: Python<'_>,
        name: &Bound<'_, PyAny>,
        header: Option<&RecordType>,
        follow_restarts: bool,
        wait: Wait,
    ) -> PyResult<FrameSubscriber> {
        let name = required_name(name, "frame topic")?;
        let Wait(wait) = wait;
        let head = header.map(|h| h.inner.clone());
        let end = open_subscriber(py, wait, follow_restarts, |o| {
            RecordSubscriber::open_frames(&name, head.as_ref(), o)
        })?;
        Ok(FrameSubscriber {
            inner: SubInner::new(end, name, header),
        })
    }

    /// The next frame, held in place (`Frame`). Waits as `timeout` says (None: until one comes;
    /// 0: BusyError at once if none; seconds: BusyError when they expire; Ctrl-C raises
    /// KeyboardInterrupt). The frame received before is released first (`BufferError` if a
    /// view of it is still alive). `LaggedError` (with `missed`) if frames were overwritten
    /// before this subscriber received them; `DisconnectedError` once the publisher has gone
    /// and every frame it sent was received; `RestartedError` when following restarts.
    #[pyo3(signature = (timeout=None))]
    fn receive(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Frame> {
        let timeout = args::timeout(timeout)?;
        self.inner.receive_frame(py, timeout)
    }

    /// Closes this end (a frame still alive keeps it open until it goes).
    fn close(&self) {
        self.inner.close();
    }

    /// Returns the subscriber itself.
    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// Closes the subscriber.
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

    /// The header's record type, with the layout the topic stores (`header.dtype` reads it), or
    /// None.
    #[getter]
    fn header(&self) -> Option<RecordType> {
        self.inner.record.clone()
    }

    /// The largest frame, in bytes (the header not counted).
    #[getter]
    fn max_frame_len(&self) -> usize {
        self.inner.max_len
    }

    /// Frames published that this subscriber has not received yet.
    #[getter]
    fn pending(&self) -> PyResult<u64> {
        Ok(self.inner.counters()?.0)
    }

    /// The generation of the publisher whose frames it receives.
    #[getter]
    fn generation(&self) -> PyResult<u64> {
        Ok(self.inner.counters()?.1)
    }

    fn __repr__(&self) -> String {
        format!(
            "posix_ipc_rs.FrameSubscriber({})",
            crate::py_str_repr(&self.inner.name)
        )
    }
}

/// Receives the records of a topic, copied out (a seqlock read: it never holds the publisher
/// back), from a `Publisher` in Python or Rust.
///
/// `Subscriber(name, record, follow_restarts=False, wait=0)`: `record` must be the topic's
/// record type (size and fingerprint); `wait` and `follow_restarts` as for `FrameSubscriber`.
#[pyclass(module = "posix_ipc_rs", subclass, frozen)]
pub struct Subscriber {
    inner: SubInner,
}

#[pymethods]
impl Subscriber {
    #[new]
    #[pyo3(signature = (name, record, follow_restarts=false, wait=NO_WAIT),
        text_signature = "(name, record, follow_restarts=False, wait=0)")]
    fn new(
        py: Python<'_>,
        name: &Bound<'_, PyAny>,
        record: &RecordType,
        follow_restarts: bool,
        wait: Wait,
    ) -> PyResult<Subscriber> {
        let name = required_name(name, "topic")?;
        let Wait(wait) = wait;
        let rec = record.inner.clone();
        let end = open_subscriber(py, wait, follow_restarts, |o| {
            RecordSubscriber::open_with(&name, &rec, o)
        })?;
        Ok(Subscriber {
            inner: SubInner::new(end, name, Some(record)),
        })
    }

    /// The next record, copied into a new bytes object of `record.size`. Waits as `timeout`
    /// says (None: until one comes; 0: BusyError at once if none; Ctrl-C raises
    /// KeyboardInterrupt); `LaggedError`, `DisconnectedError` and `RestartedError` as for
    /// `FrameSubscriber.receive`.
    #[pyo3(signature = (timeout=None))]
    fn receive<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let timeout = args::timeout(timeout)?;
        self.inner.receive_record(py, timeout)
    }

    /// Up to `max_records` records at once, back to back in one bytes object
    /// (`numpy.frombuffer(got, record.dtype)` reads them): waits as `timeout` says for the
    /// first, then takes what is there.
    #[pyo3(signature = (max_records, timeout=None))]
    fn receive_many<'py>(
        &self,
        py: Python<'py>,
        max_records: &Bound<'py, PyAny>,
        timeout: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let max = args::int(max_records, "max_records", 1, 1 << 30, "1 to 2**30")? as usize;
        let timeout = args::timeout(timeout)?;
        let size = self.inner.max_len;
        let mut out = vec![0u8; max.min(1 << 16) * size];
        let n = self.inner.receive_records(py, &mut out, timeout)?;
        Ok(PyBytes::new(py, &out[..n * size]))
    }

    /// Fills `buffer` (a writable C-contiguous bytes-like object: a numpy array of the record's
    /// dtype, a bytearray) with as many whole records as fit and are there, waiting as
    /// `timeout` says for the first; returns how many it wrote. No allocation per record.
    #[pyo3(signature = (buffer, timeout=None))]
    fn receive_into(
        &self,
        py: Python<'_>,
        buffer: &Bound<'_, PyAny>,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<usize> {
        let timeout = args::timeout(timeout)?;
        let size = self.inner.max_len;
        let mut out = args::Writable::new(buffer, "the buffer")?;
        let bytes: &mut [u8] = &mut out;
        if bytes.len() < size || bytes.len() % size != 0 {
            return Err(PyValueError::new_err(format!(
                "the buffer is {} bytes, not a whole number (at least one) of {size}-byte \
                 records",
                bytes.len()
            )));
        }
        self.inner.receive_records(py, bytes, timeout)
    }

    /// Closes this end.
    fn close(&self) {
        self.inner.close();
    }

    /// Returns the subscriber itself.
    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// Closes the subscriber.
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

    /// The record type, with the layout the topic stores (`record.dtype` reads records).
    #[getter]
    fn record(&self) -> Option<RecordType> {
        self.inner.record.clone()
    }

    /// Records published that this subscriber has not received yet.
    #[getter]
    fn pending(&self) -> PyResult<u64> {
        Ok(self.inner.counters()?.0)
    }

    /// The generation of the publisher whose records it receives.
    #[getter]
    fn generation(&self) -> PyResult<u64> {
        Ok(self.inner.counters()?.1)
    }

    fn __repr__(&self) -> String {
        format!(
            "posix_ipc_rs.Subscriber({})",
            crate::py_str_repr(&self.inner.name)
        )
    }
}
