//! The mqueue filesystem: whether it is mounted, mounting it, and what it says of a queue.

use std::fs;
use std::path::Path;

use crate::error::{Object, ObjectKind, Operation, Result};
use crate::sys;

use super::*;

/// Whether the mqueue filesystem is mounted at [`MQUEUE_DIR`] (from `/proc/self/mountinfo`).
pub fn mqueue_mounted() -> bool {
    let Ok(info) = fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    info.lines().any(|line| {
        let mut halves = line.splitn(2, " - ");
        let (Some(left), Some(right)) = (halves.next(), halves.next()) else {
            return false;
        };
        left.split(' ').nth(4) == Some(MQUEUE_DIR) && right.split(' ').next() == Some("mqueue")
    })
}

/// Mounts the mqueue filesystem at [`MQUEUE_DIR`] if it is not mounted (creating the
/// directory), so queues can be listed.
///
/// # Errors
///
/// [`ErrorKind::PermissionDenied`] (or another kind) if this process may not mount it; the
/// message says how to do it as root.
pub fn mount_mqueue() -> Result<()> {
    if mqueue_mounted() {
        return Ok(());
    }
    let _ = fs::create_dir_all(MQUEUE_DIR);
    match sys::mount_mqueue(MQUEUE_DIR) {
        Ok(()) => Ok(()),
        Err(e) => Err(crate::error::os(
            e,
            Operation::Open,
            Object {
                kind: ObjectKind::MessageQueue,
                name: None,
            },
        )
        .reframed(
            Object {
                kind: ObjectKind::MessageQueue,
                name: None,
            },
            &format!(
                "message queues cannot be listed: the mqueue filesystem is not mounted at \
                 {MQUEUE_DIR} and mounting it failed (as root run `mkdir -p {MQUEUE_DIR} && \
                 mount -t mqueue none {MQUEUE_DIR}`, or add `none {MQUEUE_DIR} mqueue defaults \
                 0 0` to /etc/fstab)"
            ),
        )),
    }
}

/// `QSIZE` of a queue's file in the mqueue filesystem: bytes of message data queued now.
pub fn queue_bytes(name: &str) -> Option<u64> {
    let text = fs::read_to_string(Path::new(MQUEUE_DIR).join(name.trim_start_matches('/'))).ok()?;
    let rest = text.trim_start().strip_prefix("QSIZE:")?;
    rest.split_whitespace().next()?.parse().ok()
}
