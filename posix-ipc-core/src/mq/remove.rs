//! Removing a queue's name (with its typed companion) and telling which queue a name refers to.

use crate::error::{self, Error, ErrorKind, Operation, Result};
use crate::name::Name;
use crate::sys::{self};

use super::*;

/// How an owner removes and identifies a queue's name.
pub(crate) static REMOVER: crate::owned::Remover = crate::owned::Remover {
    unlink: unlink_name,
    identify: identity_of,
};

impl crate::owned::sealed::Sealed for MessageQueue {}

impl crate::owned::Removable for MessageQueue {
    fn created_object(&self) -> bool {
        self.created
    }
    fn owned_names(&self) -> Vec<crate::owned::OwnedName> {
        vec![crate::owned::OwnedName::new(
            &self.name,
            self.identity().ok(),
            &REMOVER,
        )]
    }
}

pub(super) fn unlink_name(name: &Name) -> Result<()> {
    // A typed queue's companion goes with it (only the one that describes this queue).
    let id = identity_of(name);
    sys::mq_unlink(name.as_c_str()).map_err(|e| match e {
        libc::ENOENT => Error::new(
            ErrorKind::NotFound,
            Operation::Unlink,
            name.object(KIND),
            "no queue exists with the specified name",
        )
        .with_errno(e),
        _ => error::os(e, Operation::Unlink, name.object(KIND)),
    })?;
    if let Some(id) = id {
        super::link::unlink_companion(name.as_str(), id);
    }
    Ok(())
}

/// Device and inode of the queue `name` names now (opened without blocking, for reading or
/// else for writing), `None` if there is none or it cannot be opened.
pub(crate) fn identity_of(name: &Name) -> Option<(u64, u64)> {
    // The mqueue filesystem, where it is mounted, tells without opening (no descriptor or
    // permission needed).
    let path = crate::name::queue_path(name);
    if let Ok(id) = sys::stat_id(&path) {
        return Some(id);
    }
    let open = |read: bool| {
        MessageQueue::options()
            .read(read)
            .write(!read)
            .nonblocking(true)
            .open(name.as_str())
    };
    let mq = match open(true) {
        Err(e) if e.kind() == ErrorKind::PermissionDenied => open(false),
        other => other,
    };
    mq.ok().and_then(|mq| mq.identity().ok())
}

/// Removes the queue `name` (`mq_unlink`), posix_ipc's `unlink_message_queue`.
#[doc(alias = "mq_unlink")]
pub fn unlink_message_queue(name: &str) -> Result<()> {
    unlink_name(&Name::new(KIND, name, Operation::Unlink)?)
}
