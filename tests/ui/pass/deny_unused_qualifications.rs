#![deny(unused_qualifications, unused_imports, missing_docs)]
//! The generated code must not trip the user's lints.

use posix_ipc::IpcMessage;

/// A documented message.
#[derive(Clone, Copy, IpcMessage)]
#[repr(C)]
#[ipc(priority = 1)]
pub struct Reading {
    /// Sequence number.
    pub seq: u64,
}

fn main() {
    assert_eq!(Reading::PRIORITY, 1);
}
