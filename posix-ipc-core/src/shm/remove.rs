//! Removing a segment's name, also after its descriptor was closed ([`ClosedSharedMemory`]).

use std::os::fd::AsFd;

use crate::error::{self, Error, ErrorKind, Operation, Result};
use crate::name::Name;
use crate::sys::{self};

use super::*;

/// How an owner removes and identifies a segment's name.
pub(crate) static REMOVER: crate::owned::Remover = crate::owned::Remover {
    unlink: unlink_name,
    identify: identity_of,
};

/// Device and inode of the segment `name` names now (its file in `/dev/shm`).
fn identity_of(name: &Name) -> Option<(u64, u64)> {
    sys::stat_id(&crate::name::segment_path(name)).ok()
}

impl crate::owned::sealed::Sealed for ClosedSharedMemory {}
impl crate::owned::sealed::Sealed for SharedMemory {}

impl crate::owned::Removable for ClosedSharedMemory {
    fn created_object(&self) -> bool {
        self.created
    }
    fn owned_names(&self) -> Vec<crate::owned::OwnedName> {
        vec![crate::owned::OwnedName::new(&self.name, self.id, &REMOVER)]
    }
}

impl crate::owned::Removable for SharedMemory {
    fn created_object(&self) -> bool {
        self.created
    }
    fn owned_names(&self) -> Vec<crate::owned::OwnedName> {
        vec![crate::owned::OwnedName::new(
            &self.name,
            sys::fstat_id(self.fd.as_fd()).ok(),
            &REMOVER,
        )]
    }
}

/// A segment whose descriptor was closed by [`SharedMemory::close_fd`]: it can still be
/// unlinked by name.
///
/// An owner of it ([`Owned::new`](crate::Owned::new)) removes the name when dropped, as for an
/// open segment: `Owned::new(owned_shm.into_inner().close_fd()?)`.
#[derive(Debug, Clone)]
pub struct ClosedSharedMemory {
    pub(super) name: Name,
    pub(super) created: bool,
    /// Device and inode of the segment, read before the descriptor was closed.
    pub(super) id: Option<(u64, u64)>,
}

impl ClosedSharedMemory {
    /// The name, with its leading slash.
    pub fn name(&self) -> &str {
        self.name.as_str()
    }

    /// Whether the closed handle had created the segment.
    pub fn created(&self) -> bool {
        self.created
    }

    /// Removes the name (`shm_unlink`).
    pub fn unlink(&self) -> Result<()> {
        unlink_name(&self.name)
    }
}

pub(super) fn unlink_name(name: &Name) -> Result<()> {
    sys::shm_unlink(name.as_c_str()).map_err(|e| match e {
        libc::ENOENT => Error::new(
            ErrorKind::NotFound,
            Operation::Unlink,
            name.object(KIND),
            "no shared memory exists with the specified name",
        )
        .with_errno(e),
        _ => error::os(e, Operation::Unlink, name.object(KIND)),
    })
}

/// Removes the segment `name` (`shm_unlink`), posix_ipc's `unlink_shared_memory`.
#[doc(alias = "shm_unlink")]
pub fn unlink_shared_memory(name: &str) -> Result<()> {
    unlink_name(&Name::new(KIND, name, Operation::Unlink)?)
}
