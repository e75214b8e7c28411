//! [`RecordShared`]: a `Shared` of records whose type is known only at run time.

use std::time::Duration;

use crate::cancel::CancelToken;
use crate::error::{Operation, Result};
use crate::timeout::Timeout;
use crate::typed::record::{Bytes, RecordType};

use super::*;

/// A shared struct whose record type is known only at run time ([`RecordType`]): values go in
/// and out as bytes of exactly the record size, under the same seqlock protocol and header
/// checks as [`Shared<T>`], with which it interoperates (same size and fingerprint). This is
/// what the Python module's `Shared` uses.
pub struct RecordShared(Shared<Bytes>);

impl RecordShared {
    /// Creates the segment (exclusive) holding `initial`, one record of `record`.
    ///
    /// A [`RecordType`] carries no layout, so the segment stores none (see the layout table of
    /// [`Shared`]): [`layout`](Self::layout) and tools report `None` for it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] if `initial` is not one record long; otherwise as
    /// [`Shared::create`].
    pub fn create(name: &str, record: &RecordType, initial: &[u8]) -> Result<Self> {
        Shared::create_record(name, record.clone(), None, initial)
            .map(RecordShared)
            .map_err(|e| exists_in(e, "RecordShared"))
    }

    /// Creates the segment holding `initial`, or takes over the one under `name` whose owner
    /// is gone, and owns it, as [`Shared::create_or_take_over`] does: on a take-over the
    /// segment must hold records of `record` (size and fingerprint), and `initial` is stored
    /// in it, so that the result is as if it had been created.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] if `initial` is not one record long;
    /// [`ErrorKind::AlreadyExists`] naming the owner if it is alive; [`ErrorKind::Mismatch`]
    /// naming both if the segment holds another record type or is not a shared struct.
    pub fn create_or_take_over(
        name: &str,
        record: &RecordType,
        initial: &[u8],
    ) -> Result<crate::Owned<Self>> {
        Shared::create_or_take_over_record(name, record.clone(), None, initial, "RecordShared")
            .map(|shared| crate::Owned::new(RecordShared(shared)))
    }

    /// Opens an existing segment, checking its header against `record` (waiting up to one
    /// second for its creator).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Mismatch`] for a segment of another record size or fingerprint, or not a
    /// shared struct; otherwise as [`Shared::open`].
    pub fn open(name: &str, record: &RecordType) -> Result<Self> {
        Self::open_timeout(name, record, DEFAULT_OPEN_WAIT)
    }

    /// As [`open`](Self::open), waiting up to `timeout` for the segment to exist and be
    /// initialised (its creator may start later): see [`open_wait`](crate::open_wait), which
    /// this is, for how it waits and stops (Ctrl-C, SIGTERM with
    /// [`signals`](crate::signals) on; a [`CancelToken`](crate::CancelToken) through
    /// `posix_ipc::open_wait` itself).
    pub fn open_wait(
        name: &str,
        record: &RecordType,
        timeout: impl Into<crate::Timeout>,
    ) -> Result<Self> {
        crate::cancel::open_wait(timeout, None, || Self::open(name, record))
    }

    /// As [`open`](Self::open), waiting at most `wait` for the creator.
    pub fn open_timeout(name: &str, record: &RecordType, wait: Duration) -> Result<Self> {
        Shared::open_record(name, wait, record.clone()).map(RecordShared)
    }

    /// The record type it holds.
    pub fn record(&self) -> &RecordType {
        &self.0.record
    }

    /// The full layout of the record type that the segment stores, as
    /// [`Shared::layout`]: present when a `Shared<T>` made the segment, `None` when a
    /// `RecordShared` (which has no layout to store) or an earlier release made it.
    pub fn layout(&self) -> Option<crate::typed::LayoutDesc> {
        self.0.layout()
    }

    /// A consistent copy of the current value and its version.
    pub fn load_versioned(&self) -> (Vec<u8>, u64) {
        let mut out = vec![0; self.0.record.size];
        let version = self.0.load_into(&mut out);
        (out, version)
    }

    /// Copies a consistent value into `out` (exactly one record long, so nothing is allocated)
    /// and returns its version, the number of stores that produced it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) if `out` is not one
    /// record long (it is left as it was).
    pub fn load_into(&self, out: &mut [u8]) -> Result<u64> {
        self.check_len(Operation::Load, out.len())?;
        Ok(self.0.load_into(out))
    }

    /// A consistent copy of the current value.
    pub fn load(&self) -> Vec<u8> {
        self.load_versioned().0
    }

    /// Number of stores completed so far.
    pub fn version(&self) -> u64 {
        self.0.version()
    }

    /// Stores one record (under the cross-process write lock).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] if `value` is not one record long; otherwise as
    /// [`Shared::store`].
    pub fn store(&self, value: &[u8]) -> Result<()> {
        self.check_len(Operation::Store, value.len())?;
        self.0.store_bytes(value)
    }

    /// Waits until a store newer than version `since`, as [`Shared::wait_change`].
    pub fn wait_change(&self, since: u64, timeout: impl Into<Timeout>) -> Result<(Vec<u8>, u64)> {
        let mut out = vec![0; self.0.record.size];
        let version = self.0.wait_change_into(since, timeout.into(), &mut out)?;
        Ok((out, version))
    }

    /// Attaches a [`CancelToken`], as [`Shared::with_cancel`].
    pub fn with_cancel(self, token: &CancelToken) -> Self {
        RecordShared(self.0.with_cancel(token))
    }

    /// Whether this handle created the segment.
    pub fn created(&self) -> bool {
        self.0.created()
    }

    /// The segment's name.
    pub fn name(&self) -> &str {
        self.0.name()
    }

    /// Owner, mode and size of the segment (`fstat` of this handle's descriptor).
    pub fn stat(&self) -> Result<crate::SegmentStat> {
        self.0.stat()
    }

    /// Removes the segment's name; mapped users keep working.
    pub fn unlink(&self) -> Result<()> {
        self.0.unlink()
    }

    pub(super) fn check_len(&self, op: Operation, len: usize) -> Result<()> {
        if len == self.0.record.size {
            Ok(())
        } else {
            Err(self
                .0
                .record
                .wrong_length(op, Shared::<Bytes>::object(self.name()), len))
        }
    }
}

impl std::fmt::Debug for RecordShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RecordShared({:?}, {} of {} bytes)",
            self.name(),
            self.0.record.name,
            self.0.record.size
        )
    }
}

impl crate::owned::sealed::Sealed for RecordShared {}
impl crate::owned::Removable for RecordShared {
    fn created_object(&self) -> bool {
        self.0.shm.created()
    }
    fn owned_names(&self) -> Vec<crate::owned::OwnedName> {
        crate::owned::Removable::owned_names(&self.0.shm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_into_copies_the_value_and_returns_its_version_and_refuses_another_length() {
        let name = format!("/pit-{}-record-shared-load-into", std::process::id());
        let record = RecordType::new("Pair", 4, 0x7061_6972);
        let shared = crate::Owned::new(RecordShared::create(&name, &record, &[1; 4]).unwrap());
        shared.store(&[2; 4]).unwrap();
        let mut out = [0u8; 4];
        assert_eq!(shared.load_into(&mut out).unwrap(), 1);
        assert_eq!(out, [2; 4]);
        let mut short = [7u8; 3];
        let err = shared.load_into(&mut short).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument);
        assert_eq!(short, [7; 3], "left as it was");
    }
}
