//! [`RecordType`]: the shape of a fixed-size record when the type is known only at run time.
//!
//! The typed rings and [`Shared`](super::Shared) take their record size and layout fingerprint
//! from a Rust type (`T: IpcMessage`). A Python program (the `posix_ipc_rs` module) or a C
//! peer has no Rust type: it names the same three facts at run time, and the segment's header is
//! checked against them exactly as against a Rust type's. [`RecordSender`](super::RecordSender),
//! [`RecordReceiver`](super::RecordReceiver) and [`RecordShared`](super::RecordShared) carry
//! such records as bytes, interoperating with `RingSender<T>`, `RingReceiver<T>` and
//! `Shared<T>` of a Rust type with that size and fingerprint.

use std::borrow::Cow;

use super::IpcMessage;
use crate::error::{Error, ErrorKind, Object, Operation, Result};

/// Largest record a ring or a shared struct holds: 1 GiB.
pub const RECORD_SIZE_MAX: usize = 1 << 30;

/// The shape of a fixed-size record: its name (for messages), its size and its layout
/// fingerprint. [`RecordType::of`] gives a Rust type's; a peer in another language gets them
/// from the Rust side (`IpcMessage::FINGERPRINT`, `size_of::<T>()`, or the Python snippet of
/// [`Layout::python_module`](super::Layout::python_module)).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordType {
    /// A name for error messages: the Rust type's name, or what the peer calls it.
    pub name: Cow<'static, str>,
    /// Bytes per record.
    pub size: usize,
    /// The layout fingerprint both sides must agree on.
    pub fingerprint: u64,
}

impl RecordType {
    /// A record type from its three facts.
    pub fn new(name: impl Into<Cow<'static, str>>, size: usize, fingerprint: u64) -> RecordType {
        RecordType {
            name: name.into(),
            size,
            fingerprint,
        }
    }

    /// The record type of a Rust type.
    #[inline]
    pub fn of<T: IpcMessage>() -> RecordType {
        RecordType {
            name: Cow::Borrowed(T::LAYOUT.name),
            size: std::mem::size_of::<T>(),
            fingerprint: T::FINGERPRINT,
        }
    }

    /// Whether a segment can carry it: 1 byte to [`RECORD_SIZE_MAX`].
    pub(crate) fn check(&self, op: Operation, object: impl FnOnce() -> Object) -> Result<()> {
        if self.size == 0 || self.size > RECORD_SIZE_MAX {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                op,
                object(),
                format!(
                    "record type {} is {} bytes; a record is 1 byte to {RECORD_SIZE_MAX} bytes \
                     (1 GiB)",
                    self.name, self.size
                ),
            ));
        }
        Ok(())
    }

    /// The error for a buffer of the wrong length.
    pub(crate) fn wrong_length(&self, op: Operation, object: Object, len: usize) -> Error {
        Error::new(
            ErrorKind::InvalidArgument,
            op,
            object,
            format!(
                "a record of type {} is {} bytes, not {len}",
                self.name, self.size
            ),
        )
    }
}

/// Marks the handles that carry records as bytes ([`RecordSender`](super::RecordSender),
/// [`RecordReceiver`](super::RecordReceiver), [`RecordShared`](super::RecordShared)).
pub(crate) enum Bytes {}
