//! The ends whose record type is known at run time ([`RecordType`]).

use super::*;

/// The sending end of a ring whose record type is known at run time ([`RecordType`]): records
/// go in as byte slices of exactly the record size. It interoperates with a
/// [`RingReceiver<T>`] (or [`RecordReceiver`]) of the same size and fingerprint; the header is
/// checked as for a typed end. This is what the Python module's `RingSender` uses.
pub struct RecordSender(pub(super) RingSender<Bytes>);

/// The receiving end of a ring whose record type is known at run time. See [`RecordSender`].
pub struct RecordReceiver(pub(super) RingReceiver<Bytes>);

/// The methods both record ends have, forwarded to the ring end inside.
macro_rules! record_end_methods {
    ($end:ident, $inner:ident) => {
        impl $end {
            /// Creates the ring segment (exclusive) with `capacity` slots (a power of two) for
            /// records of `record`, and registers on it.
            ///
            /// A [`RecordType`] carries no layout, so the ring stores none (see the segment
            /// layout in the [module docs](super)): [`layout`](Self::layout) and tools report
            /// `None` for it.
            pub fn create(
                name: &str,
                capacity: usize,
                mode: RingMode,
                record: &RecordType,
            ) -> Result<Self> {
                let ring = Ring::create(name, capacity, mode, record, None, DEFAULT_PERMISSIONS)
                    .map_err(|e| exists_in(e, stringify!($end)))?;
                $inner::with(ring).map($end)
            }

            /// Creates the ring for records of `record`, or takes over the one under `name`
            /// whose owner is gone, and owns it, as the typed ends'
            /// [`create_or_take_over`](RingSender::create_or_take_over) do: the record type
            /// (size and fingerprint), capacity and mode must match, the messages in it stay.
            ///
            /// # Errors
            ///
            /// [`ErrorKind::AlreadyExists`] naming the owner if it is alive;
            /// [`ErrorKind::Mismatch`] naming both if what is there is of another record
            /// type, capacity or mode.
            pub fn create_or_take_over(
                name: &str,
                capacity: usize,
                mode: RingMode,
                record: &RecordType,
            ) -> Result<crate::Owned<Self>> {
                let end = stringify!($end);
                let ring = Ring::create_or_take_over(name, capacity, mode, record, None, end)?;
                $inner::with(ring).map(|end| crate::Owned::new($end(end)))
            }

            /// Opens an existing ring, checking its header against `record`, and registers on
            /// it.
            ///
            /// # Errors
            ///
            /// [`ErrorKind::Mismatch`] for a ring of another record size or fingerprint, as
            /// for a typed end.
            pub fn open(name: &str, record: &RecordType) -> Result<Self> {
                $inner::with(Ring::open(name, DEFAULT_OPEN_WAIT, record)?).map($end)
            }

            /// As [`open`](Self::open), waiting up to `timeout` for the ring to exist and be
            /// initialised: see [`open_wait`](crate::open_wait), which this is.
            pub fn open_wait(
                name: &str,
                record: &RecordType,
                timeout: impl Into<crate::Timeout>,
            ) -> Result<Self> {
                crate::cancel::open_wait(timeout, None, || Self::open(name, record))
            }

            /// As [`open`](Self::open), also requiring this capacity and mode.
            pub fn open_checked(
                name: &str,
                record: &RecordType,
                capacity: usize,
                mode: RingMode,
            ) -> Result<Self> {
                let ring = Ring::open(name, DEFAULT_OPEN_WAIT, record)?;
                check_shape(&ring, capacity, mode)?;
                $inner::with(ring).map($end)
            }

            /// The record type this end carries.
            pub fn record(&self) -> &RecordType {
                &self.0.ring.record
            }

            /// The full layout of the record type that the ring stores, as the typed ends'
            /// [`layout`](RingSender::layout): present when a typed end made the ring, `None`
            /// when a record end (which has no layout to store) or an earlier release made it.
            pub fn layout(&self) -> Option<crate::typed::LayoutDesc> {
                self.0.layout()
            }

            /// Attaches a [`CancelToken`] (see the typed ends).
            pub fn with_cancel(self, token: &CancelToken) -> Self {
                $end(self.0.with_cancel(token))
            }

            /// Another end on the same ring (MPMC only), as for the typed ends.
            pub fn try_clone(&self) -> Result<Self> {
                self.0.try_clone().map($end)
            }

            /// Whether this handle created the ring.
            pub fn created(&self) -> bool {
                self.0.created()
            }

            /// The ring's capacity in records.
            pub fn capacity(&self) -> usize {
                self.0.capacity()
            }

            /// The ring's mode.
            pub fn mode(&self) -> RingMode {
                self.0.mode()
            }

            /// The segment's name.
            pub fn name(&self) -> &str {
                self.0.name()
            }

            /// Owner, mode and size of the segment (`fstat` of this handle's descriptor).
            pub fn stat(&self) -> Result<crate::SegmentStat> {
                self.0.stat()
            }

            /// Removes the segment's name; connected peers keep working.
            pub fn unlink(&self) -> Result<()> {
                self.0.unlink()
            }

            fn check_len(&self, op: Operation, len: usize) -> Result<()> {
                let record = &self.0.ring.record;
                if len == record.size {
                    Ok(())
                } else {
                    Err(record.wrong_length(op, object(self.name()), len))
                }
            }
        }

        impl crate::owned::sealed::Sealed for $end {}
        impl crate::owned::Removable for $end {
            fn created_object(&self) -> bool {
                self.0.ring.shm.created()
            }
            fn owned_names(&self) -> Vec<crate::owned::OwnedName> {
                crate::owned::Removable::owned_names(&self.0.ring.shm)
            }
        }

        impl std::fmt::Debug for $end {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(
                    f,
                    "{}({:?}, {} of {} bytes, {:?}, capacity {})",
                    stringify!($end),
                    self.name(),
                    self.0.ring.record.name,
                    self.0.ring.record.size,
                    self.0.ring.mode,
                    self.0.ring.capacity
                )
            }
        }
    };
}

record_end_methods!(RecordSender, RingSender);
record_end_methods!(RecordReceiver, RingReceiver);

impl RecordSender {
    /// Sends one record, waiting while the ring is full.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] if `record` is not exactly one record long;
    /// [`ErrorKind::Disconnected`] if the ring is full and every consumer has gone.
    pub fn send(&self, record: &[u8]) -> Result<()> {
        self.check_len(Operation::Send, record.len())?;
        self.0.send_bytes(record)
    }

    /// Sends without waiting: [`ErrorKind::WouldBlock`] if the ring is full.
    pub fn try_send(&self, record: &[u8]) -> Result<()> {
        self.send_with(record, Timeout::Immediate)
    }

    /// Sends with any [`Timeout`].
    pub fn send_with(&self, record: &[u8], timeout: impl Into<Timeout>) -> Result<()> {
        self.check_len(Operation::Send, record.len())?;
        self.0.send_bytes_with(record, timeout.into())
    }
}

impl RecordSender {
    /// Sends as many records of `records` (a whole number of records, back to back) as fit
    /// now, in order, with one wake-up; returns how many.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] if `records` is not a whole number of records.
    pub fn try_send_many(&self, records: &[u8]) -> Result<usize> {
        let size = self.0.ring.record.size;
        if records.len() % size != 0 {
            let record = &self.0.ring.record;
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                Operation::Send,
                object(self.name()),
                format!(
                    "{} bytes are not a whole number of {}-byte {} records ({} records and {} \
                     bytes over): nothing was sent",
                    records.len(),
                    size,
                    record.name,
                    records.len() / size,
                    records.len() % size
                ),
            ));
        }
        let n = self.0.push_many_by(records.len() / size, |r, index, i| {
            r.write_slot(index, &records[i * size..(i + 1) * size])
        });
        if n > 0 {
            self.0.ring.wake(Side::Consumer);
        }
        Ok(n)
    }

    /// Sends every record of `records` (a whole number of records, back to back), in order,
    /// waking receivers once per run that fits rather than once per record; waits as
    /// `timeout` says whenever the ring is full.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] if `records` is not a whole number of records; as
    /// [`send_with`](Self::send_with) otherwise (records sent before the error stay sent).
    pub fn send_many(&self, records: &[u8], timeout: impl Into<Timeout>) -> Result<()> {
        let size = self.0.ring.record.size;
        if records.len() % size != 0 {
            return Err(self.0.ring.record.wrong_length(
                Operation::Send,
                object(self.name()),
                records.len() % size,
            ));
        }
        let timeout = timeout.into();
        let mut rest = records;
        while !rest.is_empty() {
            let n = self.0.push_many_by(rest.len() / size, |r, index, i| {
                r.write_slot(index, &rest[i * size..(i + 1) * size])
            });
            if n > 0 {
                self.0.ring.wake(Side::Consumer);
                rest = &rest[n * size..];
                continue;
            }
            self.0.send_bytes_with(&rest[..size], timeout)?;
            rest = &rest[size..];
        }
        Ok(())
    }
}

impl RecordReceiver {
    /// Appends up to `max` records that are ready now to `out`, back to back; returns how many.
    pub fn try_recv_many(&self, out: &mut Vec<u8>, max: usize) -> usize {
        let size = self.0.ring.record.size;
        self.0.pop_many_by(max, |taken| {
            let at = out.len();
            out.resize(at + size, 0);
            taken.read(&mut out[at..]);
        })
    }

    /// Copies the records that are ready now, up to as many as `out` holds, into `out`, back
    /// to back from its start; returns how many. Nothing is allocated per record (an MPMC
    /// ring copies each through one buffer per call), and producers are woken once.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] if `out` is not a whole number of records long (nothing
    /// is taken).
    pub fn try_recv_many_into(&self, out: &mut [u8]) -> Result<usize> {
        let record = &self.0.ring.record;
        let size = record.size;
        if out.len() % size != 0 {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                Operation::Receive,
                object(self.name()),
                format!(
                    "a buffer of {} bytes is not a whole number of {}-byte {} records ({} \
                     records and {} bytes over): nothing was taken",
                    out.len(),
                    size,
                    record.name,
                    out.len() / size,
                    out.len() % size
                ),
            ));
        }
        let mut slots = out.chunks_exact_mut(size);
        Ok(self.0.pop_many_by(slots.len(), |taken| {
            if let Some(slot) = slots.next() {
                taken.read(slot);
            }
        }))
    }

    /// Receives one record into `out` (exactly one record long), waiting as `timeout` says.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] if `out` is not one record long; as the typed
    /// receiver otherwise.
    pub fn recv_into(&self, out: &mut [u8], timeout: impl Into<Timeout>) -> Result<()> {
        self.check_len(Operation::Receive, out.len())?;
        self.0.recv_bytes_with(out, timeout.into())
    }

    /// Receives one record, waiting as `timeout` says.
    pub fn recv_with(&self, timeout: impl Into<Timeout>) -> Result<Vec<u8>> {
        let mut out = vec![0; self.0.ring.record.size];
        self.0.recv_bytes_with(&mut out, timeout.into())?;
        Ok(out)
    }

    /// Receives one record, waiting as long as it takes.
    pub fn recv(&self) -> Result<Vec<u8>> {
        self.recv_with(Timeout::Infinite)
    }

    /// Receives without waiting: [`ErrorKind::WouldBlock`] if the ring is empty.
    pub fn try_recv(&self) -> Result<Vec<u8>> {
        self.recv_with(Timeout::Immediate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Removes the segment even when the test fails.
    struct Unlink(String);
    impl Drop for Unlink {
        fn drop(&mut self) {
            let _ = crate::shm::unlink_shared_memory(&self.0);
        }
    }

    fn ends(tag: &str, mode: RingMode) -> (RecordSender, RecordReceiver, Unlink) {
        let name = format!("/pit-{}-{tag}", std::process::id());
        let guard = Unlink(name.clone());
        let record = RecordType::new("Pair", 4, 0x7061_6972);
        let rx = RecordReceiver::create(&name, 8, mode, &record).unwrap();
        let tx = RecordSender::open(&name, &record).unwrap();
        (tx, rx, guard)
    }

    #[test]
    fn try_recv_many_into_fills_whole_records_from_the_start_up_to_what_is_ready() {
        for mode in [RingMode::Spsc, RingMode::Mpmc] {
            let (tx, rx, _g) = ends(&format!("record-into-{mode:?}"), mode);
            tx.try_send_many(&[1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3])
                .unwrap();
            let mut out = [0u8; 8];
            assert_eq!(rx.try_recv_many_into(&mut out).unwrap(), 2, "{mode:?}");
            assert_eq!(out, [1, 1, 1, 1, 2, 2, 2, 2]);
            assert_eq!(rx.try_recv_many_into(&mut out).unwrap(), 1, "{mode:?}");
            assert_eq!(out[..4], [3, 3, 3, 3]);
            assert_eq!(rx.try_recv_many_into(&mut out).unwrap(), 0, "{mode:?}");
        }
    }

    #[test]
    fn try_recv_many_into_refuses_a_buffer_that_is_not_whole_records_and_takes_nothing() {
        let (tx, rx, _g) = ends("record-into-partial", RingMode::Spsc);
        tx.send(&[9; 4]).unwrap();
        let err = rx.try_recv_many_into(&mut [0u8; 6]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert!(err.to_string().contains("6 bytes"), "{err}");
        assert_eq!(rx.try_recv().unwrap(), [9; 4], "the record is still there");
    }
}
