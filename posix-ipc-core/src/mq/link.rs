//! The link between a queue and its typed companion segment, as far as the queue must know it.
//!
//! A typed queue ([`Sender`](crate::Sender)/[`Receiver`](crate::Receiver)) keeps a companion
//! shared-memory segment named after the queue, that records the message type and the peers
//! (`typed::companion` owns its layout). Removing the queue removes that companion too, but
//! only the one that describes this very queue: the companion starts with
//! [`COMPANION_MAGIC`] and stores the queue's device and inode at [`QUEUE_DEV`] and
//! [`QUEUE_INO`]. That contract is all this layer knows of it.

use crate::shm::SharedMemory;

/// Magic bytes of a typed queue's companion segment.
pub const COMPANION_MAGIC: [u8; 8] = *b"PIPCTYPQ";
/// What the companion's name adds to its queue's name.
pub const COMPANION_SUFFIX: &str = ".pipc-q";
/// Offset of the queue's device number (`u64`) in the companion.
pub(crate) const QUEUE_DEV: usize = 32;
/// Offset of the queue's inode number (`u64`) in the companion.
pub(crate) const QUEUE_INO: usize = 40;
/// Bytes of the companion's header, which holds all of the above.
pub(crate) const LINK_LEN: usize = 48;

/// The name of the companion of the queue `queue`.
pub(crate) fn companion_name(queue: &str) -> String {
    format!("{queue}{COMPANION_SUFFIX}")
}

/// Removes the companion of the queue `queue` if it describes the queue of identity `id`
/// (device, inode); leaves any other segment of that name alone. Best effort: a companion that
/// cannot be read is left.
pub(crate) fn unlink_companion(queue: &str, id: (u64, u64)) {
    let cname = companion_name(queue);
    let Ok(shm) = SharedMemory::options().read_only(true).open(&cname) else {
        return;
    };
    let Ok(map) = shm.map_range(0, LINK_LEN) else {
        return;
    };
    let Ok(bytes) = map.read_vec(0, LINK_LEN) else {
        return;
    };
    let u64_at = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[at..at + 8]);
        u64::from_ne_bytes(b)
    };
    if bytes[..8] == COMPANION_MAGIC && (u64_at(QUEUE_DEV), u64_at(QUEUE_INO)) == id {
        let _ = shm.unlink();
    }
}
