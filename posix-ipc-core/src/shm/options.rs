//! [`SharedMemoryOptions`]: opening and creating a segment, and the errors an open can meet.

use std::os::fd::{AsFd, OwnedFd};

use crate::error::{self, Error, ErrorKind, Object, Operation, Result};
use crate::name::Name;
use crate::open::{self, Disposition};
use crate::sys::{self};
use crate::verify::{verify_methods, Verify};

use super::*;

/// Options for opening or creating a segment, in the style of `std::fs::OpenOptions`.
///
/// ```
/// # let name = format!("/doc-shmopt-{}", std::process::id());
/// let shm = posix_ipc_core::SharedMemory::options()
///     .create(true)
///     .size(8192)
///     .open(&name)?;
/// assert_eq!(shm.size()?, 8192);
/// shm.unlink()?;
/// # Ok::<(), posix_ipc_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct SharedMemoryOptions {
    pub(super) disposition: Disposition,
    pub(super) mode: u32,
    pub(super) size: u64,
    pub(super) read_only: bool,
    pub(super) truncate: bool,
    pub(super) verify: Verify,
    pub(super) reserve: bool,
}

impl Default for SharedMemoryOptions {
    fn default() -> Self {
        SharedMemoryOptions {
            disposition: Disposition::Open,
            mode: 0o600,
            size: 0,
            read_only: false,
            truncate: false,
            verify: Verify::default(),
            reserve: true,
        }
    }
}

impl SharedMemoryOptions {
    /// Open an existing segment, read-write, size unchanged (the defaults).
    pub fn new() -> Self {
        Self::default()
    }

    /// Create the segment if it does not exist (`O_CREAT`).
    pub fn create(&mut self, create: bool) -> &mut Self {
        self.disposition = self.disposition.with_create(create);
        self
    }

    /// Create a new segment; fail with [`ErrorKind::AlreadyExists`] if the name is taken
    /// (`O_CREAT | O_EXCL`).
    pub fn create_new(&mut self, create_new: bool) -> &mut Self {
        self.disposition = Disposition::with_create_new(create_new);
        self
    }

    /// Permission bits for a new segment (default `0o600`; the umask applies).
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.mode = mode;
        self
    }

    /// Size to give the segment after opening. 0 (the default) leaves the size as it is; any
    /// other value resizes the segment, new or existing, growing **or shrinking** it, as
    /// posix_ipc does. Growth is reserved with `posix_fallocate`.
    pub fn size(&mut self, size: u64) -> &mut Self {
        self.size = size;
        self
    }

    /// Whether growth to [`size`](Self::size) is reserved (`posix_fallocate`, the default: a
    /// full `/dev/shm` is then [`ErrorKind::NoSpace`](crate::ErrorKind::NoSpace) here) or only
    /// set (`ftruncate`, as posix_ipc does: pages are found when first written, and a write to
    /// one that a full `/dev/shm` cannot supply kills the process with `SIGBUS`).
    pub fn reserve(&mut self, reserve: bool) -> &mut Self {
        self.reserve = reserve;
        self
    }

    /// Open for reading only (`O_RDONLY`); such a handle can neither resize nor map writable.
    pub fn read_only(&mut self, read_only: bool) -> &mut Self {
        self.read_only = read_only;
        self
    }

    /// Truncate an existing segment to 0 bytes on open (`O_TRUNC`).
    pub fn truncate(&mut self, truncate: bool) -> &mut Self {
        self.truncate = truncate;
        self
    }

    verify_methods!("segment");

    fn validate(&self, object: &dyn Fn() -> Object) -> Result<()> {
        let op = match self.disposition {
            Disposition::Open => Operation::Open,
            _ => Operation::Create,
        };
        if self.size > i64::MAX as u64 {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                op,
                object(),
                format!(
                    "size {} exceeds the largest file size ({})",
                    self.size,
                    i64::MAX
                ),
            ));
        }
        if self.read_only && self.size > 0 {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                op,
                object(),
                "a read-only handle cannot set the size: open it read-write, or pass size 0",
            ));
        }
        if self.read_only && self.truncate {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                op,
                object(),
                "a read-only handle cannot truncate (O_TRUNC needs write access)",
            ));
        }
        Ok(())
    }

    fn oflag(&self) -> i32 {
        let access = if self.read_only {
            libc::O_RDONLY
        } else {
            libc::O_RDWR
        };
        // With a verify_* check, O_TRUNC would wipe an object before it is checked: truncate
        // after the check instead (`finish`).
        let truncate = self.truncate && self.verify.is_empty();
        access | if truncate { libc::O_TRUNC } else { 0 }
    }

    /// Opens (or creates) the segment `name` (`shm_open`), then applies the size.
    ///
    /// # Errors
    ///
    /// | kind | when |
    /// |---|---|
    /// | [`ErrorKind::InvalidName`] | the name is malformed (checked first) |
    /// | [`ErrorKind::InvalidArgument`] | size too large; size or truncate on a read-only handle |
    /// | [`ErrorKind::NotFound`] | opening without create, and no such segment |
    /// | [`ErrorKind::AlreadyExists`] | `create_new`, and the name is taken |
    /// | [`ErrorKind::PermissionDenied`] | the segment belongs to someone else |
    /// | [`ErrorKind::NoSpace`] | `/dev/shm` cannot hold the requested size (nothing is left behind) |
    /// | [`ErrorKind::Untrusted`] | the owner or mode fails a `verify_*` check |
    pub fn open(&self, name: &str) -> Result<SharedMemory> {
        let op = match self.disposition {
            Disposition::Open => Operation::Open,
            _ => Operation::Create,
        };
        let name = Name::new(KIND, name, op)?;
        self.validate(&|| name.object(KIND))?;
        let oflag = self.oflag();
        let (fd, created) = open::open_object(self.disposition, |extra| {
            sys::shm_open(name.as_c_str(), oflag | extra, self.mode)
        })
        .map_err(|(errno, op)| open_error(errno, op, &name, self.truncate))?;
        self.finish(fd, name, created)
    }

    /// Creates a segment under a new random name, as posix_ipc does for `name=None`.
    pub fn open_random(&self) -> Result<SharedMemory> {
        let anonymous = || Object {
            kind: KIND,
            name: None,
        };
        self.validate(&anonymous)?;
        let oflag = self.oflag();
        let (fd, name) = open::create_random(|name, extra| {
            sys::shm_open(name.as_c_str(), oflag | extra, self.mode)
        })
        .map_err(|(errno, op)| error::os(errno, op, anonymous()))?;
        self.finish(fd, name, true)
    }

    fn finish(&self, fd: OwnedFd, name: Name, created: bool) -> Result<SharedMemory> {
        let shm = SharedMemory {
            fd,
            name,
            mode: self.mode,
            read_only: self.read_only,
            created,
        };
        if !self.verify.is_empty() {
            let op = Verify::operation(created);
            let checked = shm.stat().and_then(|st| {
                self.verify
                    .check(st.uid, st.mode, shm.name.object(KIND), op, created)
            });
            if let Err(err) = checked {
                if created {
                    let _ = sys::shm_unlink(shm.name.as_c_str());
                }
                return Err(err);
            }
            if self.truncate {
                sys::ftruncate(shm.fd.as_fd(), 0)
                    .map_err(|e| error::os(e, Operation::Resize, shm.name.object(KIND)))?;
            }
        }
        if self.size > 0 {
            if let Err(err) = shm.resize_with(self.size, self.reserve) {
                if created {
                    // Only a segment this call created is removed; never one we merely opened
                    // (posix_ipc 1.3.2 removes it either way).
                    let _ = sys::shm_unlink(shm.name.as_c_str());
                }
                return Err(err);
            }
        }
        Ok(shm)
    }
}

fn open_error(errno: i32, op: Operation, name: &Name, truncate: bool) -> Error {
    match errno {
        libc::EACCES => Error::new(
            ErrorKind::PermissionDenied,
            op,
            name.object(KIND),
            if truncate {
                "no permission to truncate this segment"
            } else {
                "no permission to access this segment (it belongs to another user, or its mode \
                 forbids this access)"
            },
        )
        .with_errno(errno),
        libc::ENOENT if op == Operation::Open => Error::new(
            ErrorKind::NotFound,
            op,
            name.object(KIND),
            "no shared memory exists with the specified name",
        )
        .with_errno(errno),
        libc::EEXIST => Error::new(
            ErrorKind::AlreadyExists,
            op,
            name.object(KIND),
            format!(
                "shared memory with the specified name already exists{}",
                error::LEFTOVER_HINT
            ),
        )
        .with_errno(errno),
        _ => error::os(errno, op, name.object(KIND)),
    }
}
