//! POSIX shared memory (`shm_open`), posix_ipc's `SharedMemory`, plus a safe [`Mapping`].
//!
//! ```
//! use posix_ipc_core::SharedMemory;
//!
//! # let name = format!("/doc-shm-{}", std::process::id());
//! let shm = SharedMemory::create(&name, 4096)?;    // O_CREX, 4096 bytes reserved, mode 0600
//! let map = shm.map()?;                             // checks the real size first
//! map.write_at(0, b"hello")?;
//! let mut buf = [0u8; 5];
//! map.read_at(0, &mut buf)?;
//! assert_eq!(&buf, b"hello");
//! let closed = shm.close_fd()?;                     // the mapping stays valid
//! assert_eq!(map.read_vec(0, 5)?, b"hello");
//! closed.unlink()?;
//! # Ok::<(), posix_ipc_core::Error>(())
//! ```
//!
//! Creating with a size reserves the pages (`posix_fallocate`), so a full `/dev/shm` is a
//! [`ErrorKind::NoSpace`] error at creation, not a `SIGBUS` on first touch. A failed resize
//! never removes a segment this handle did not create (posix_ipc does).
//!
//! Safe access to a mapping is by copy: [`Mapping::read_at`] and [`Mapping::write_at`]. No safe
//! `&[u8]` or `&mut [u8]` into memory another process may write is ever handed out; the raw
//! views are `unsafe`, with their contract written on them.
//!
//! **Truncation hazard:** if another process shrinks the segment while it is mapped here,
//! touching the lost pages raises `SIGBUS`, for every library and language (the kernel cannot
//! prevent it for `shm_open` objects). Share segments only with processes you trust (the default
//! mode 0600 limits that to your user).

use std::fmt;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::{self, Error, ErrorKind, Object, ObjectKind, Operation, Result};
use crate::name::Name;
use crate::open::{self, Disposition};
use crate::sys::{self, MapRegion};
use crate::verify::{verify_methods, Verify};

const KIND: ObjectKind = ObjectKind::SharedMemory;

/// An open POSIX shared-memory segment: a descriptor, closed on drop.
pub struct SharedMemory {
    fd: OwnedFd,
    name: Name,
    mode: u32,
    read_only: bool,
    created: bool,
}

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
    disposition: Disposition,
    mode: u32,
    size: u64,
    read_only: bool,
    truncate: bool,
    verify: Verify,
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
            if let Err(err) = shm.resize(self.size) {
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

impl SharedMemory {
    /// posix_ipc's constructor: `SharedMemory(name, flags=0, mode=0o600, size=0,
    /// read_only=False)`.
    ///
    /// `name = None` creates a segment with a random name and requires `O_EXCL`. `flags` may
    /// combine [`O_CREAT`](crate::O_CREAT), [`O_EXCL`](crate::O_EXCL) and
    /// [`O_TRUNC`](crate::O_TRUNC). A `size` above 0 resizes the segment, new or existing.
    pub fn new(
        name: Option<&str>,
        flags: i32,
        mode: u32,
        size: u64,
        read_only: bool,
    ) -> Result<SharedMemory> {
        let bad = |detail: &str| {
            Error::new(
                ErrorKind::InvalidArgument,
                Operation::Open,
                Object {
                    kind: KIND,
                    name: name.map(str::to_owned),
                },
                detail,
            )
        };
        let disposition = Disposition::from_flags(flags).map_err(bad)?;
        let mut options = SharedMemory::options();
        options
            .mode(mode)
            .size(size)
            .read_only(read_only)
            .truncate(flags & libc::O_TRUNC != 0);
        options.disposition = disposition;
        match name {
            Some(name) => options.open(name),
            None if disposition == Disposition::CreateNew => options.open_random(),
            None => Err(bad("the name can only be None if O_EXCL is set")),
        }
    }

    /// A builder for the less common cases.
    pub fn options() -> SharedMemoryOptions {
        SharedMemoryOptions::new()
    }

    /// Opens an existing segment read-write, leaving its size alone.
    pub fn open(name: &str) -> Result<SharedMemory> {
        SharedMemory::options().open(name)
    }

    /// Creates a new segment of `size` bytes (reserved now), failing if the name exists.
    pub fn create(name: &str, size: u64) -> Result<SharedMemory> {
        SharedMemory::options()
            .create_new(true)
            .size(size)
            .open(name)
    }

    /// Opens the segment, creating it if missing; then gives it `size` bytes if `size > 0`.
    pub fn open_or_create(name: &str, size: u64) -> Result<SharedMemory> {
        SharedMemory::options().create(true).size(size).open(name)
    }

    /// As [`create`](Self::create), owned: the segment is removed when the owner is dropped
    /// (see [`Owned`](crate::Owned)).
    pub fn create_owned(name: &str, size: u64) -> Result<crate::Owned<SharedMemory>> {
        Self::create(name, size).map(crate::Owned::new)
    }

    /// Creates a segment of `size` bytes under a random unused name.
    pub fn create_random(size: u64) -> Result<SharedMemory> {
        SharedMemory::options()
            .create_new(true)
            .size(size)
            .open_random()
    }

    fn err(&self, errno: i32, op: Operation) -> Error {
        error::os(errno, op, self.name.object(KIND))
    }

    /// The segment's current size in bytes, read live (`fstat`): another process may have
    /// resized it.
    pub fn size(&self) -> Result<u64> {
        sys::fstat(self.fd.as_fd())
            .map(|st| st.0)
            .map_err(|e| self.err(e, Operation::Stat))
    }

    /// The segment's real permission bits, owner uid and whether its name still exists
    /// (`fstat`: link count above 0).
    pub fn stat(&self) -> Result<SegmentStat> {
        sys::fstat(self.fd.as_fd())
            .map(|(size, mode, uid, nlink)| SegmentStat {
                size,
                mode,
                uid,
                linked: nlink > 0,
            })
            .map_err(|e| self.err(e, Operation::Stat))
    }

    /// Sets the size (`ftruncate`), growing or shrinking. Growth is reserved with
    /// `posix_fallocate`, so a full `/dev/shm` fails here with [`ErrorKind::NoSpace`].
    ///
    /// A failure never unlinks the segment.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::PermissionDenied`] on a read-only handle; [`ErrorKind::NoSpace`] when
    /// `/dev/shm` is full (the size is then put back); [`ErrorKind::InvalidArgument`] for a
    /// size above `i64::MAX`.
    #[doc(alias = "ftruncate")]
    pub fn resize(&self, size: u64) -> Result<()> {
        let object = || self.name.object(KIND);
        if self.read_only {
            return Err(Error::new(
                ErrorKind::PermissionDenied,
                Operation::Resize,
                object(),
                "the memory is read-only: this handle was opened with read_only",
            ));
        }
        if size > i64::MAX as u64 {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                Operation::Resize,
                object(),
                format!("size {size} exceeds the largest file size ({})", i64::MAX),
            ));
        }
        let old = self.size()?;
        sys::ftruncate(self.fd.as_fd(), size).map_err(|e| match e {
            libc::EFBIG => Error::new(
                ErrorKind::InvalidArgument,
                Operation::Resize,
                object(),
                format!("size {size} is too large"),
            )
            .with_errno(e),
            libc::EINVAL => Error::new(
                ErrorKind::InvalidArgument,
                Operation::Resize,
                object(),
                "the size is invalid or the memory is read-only",
            )
            .with_errno(e),
            _ => self.err(e, Operation::Resize),
        })?;
        if size > old {
            let mut r = sys::fallocate(self.fd.as_fd(), old, size - old);
            while r == Err(libc::EINTR) {
                r = sys::fallocate(self.fd.as_fd(), old, size - old);
            }
            if let Err(e) = r {
                // Put the size back so that nobody maps pages that do not exist.
                let _ = sys::ftruncate(self.fd.as_fd(), old);
                let detail = if e == libc::ENOSPC {
                    format!(
                        "/dev/shm cannot hold {size} bytes (posix_fallocate: no space left); \
                         free space in /dev/shm or enlarge it \
                         (`mount -o remount,size=N /dev/shm`)"
                    )
                } else {
                    format!(
                        "could not reserve {} bytes: {}",
                        size - old,
                        std::io::Error::from_raw_os_error(e)
                    )
                };
                let kind = if e == libc::ENOSPC {
                    ErrorKind::NoSpace
                } else {
                    error::os(e, Operation::Resize, object()).kind()
                };
                return Err(Error::new(kind, Operation::Resize, object(), detail).with_errno(e));
            }
        }
        Ok(())
    }

    /// Maps the whole segment (`mmap`, `MAP_SHARED`), writable unless the handle is read-only.
    ///
    /// The size is read first (`fstat`) and the mapping is exactly that size.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] if the segment is empty (size 0).
    #[doc(alias = "mmap")]
    pub fn map(&self) -> Result<Mapping> {
        let size = self.size()?;
        if size == 0 {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                Operation::Map,
                self.name.object(KIND),
                "the segment is empty (size 0): give it a size before mapping it",
            ));
        }
        self.map_range(0, usize::try_from(size).unwrap_or(usize::MAX))
    }

    /// Maps `len` bytes starting at `offset`, after checking that the segment really is that
    /// large (a mapping past the end would raise `SIGBUS` when touched).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Mismatch`] if the segment is smaller than `offset + len`;
    /// [`ErrorKind::InvalidArgument`] if `len` is 0.
    pub fn map_range(&self, offset: u64, len: usize) -> Result<Mapping> {
        self.map_range_as(offset, len, !self.read_only)
    }

    /// As [`map_range`](Self::map_range), read-only even through a read-write handle when
    /// `writable` is false (a subscriber maps a topic's payload so).
    pub(crate) fn map_range_as(&self, offset: u64, len: usize, writable: bool) -> Result<Mapping> {
        let writable = writable && !self.read_only;
        let object = || self.name.object(KIND);
        if len == 0 {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                Operation::Map,
                object(),
                "cannot map 0 bytes",
            ));
        }
        let size = self.size()?;
        let end = offset.checked_add(len as u64);
        if end.is_none_or(|end| end > size) {
            return Err(Error::new(
                ErrorKind::Mismatch,
                Operation::Map,
                object(),
                format!(
                    "the segment is {size} bytes; mapping {len} bytes at offset {offset} needs \
                     {}",
                    offset as u128 + len as u128
                ),
            ));
        }
        let page = crate::limits::page_size() as u64;
        let aligned = offset - offset % page;
        let skip = (offset - aligned) as usize;
        let region = match MapRegion::map(self.fd.as_fd(), aligned, len + skip, writable) {
            Ok(region) => region,
            Err(crate::sys::GUARD_FULL) => {
                return Err(Error::new(
                    ErrorKind::LimitExceeded,
                    Operation::Map,
                    object(),
                    format!(
                        "this process already has {} shared-memory mappings open, the most \
                         posix-ipc tracks (each is guarded against a peer truncating its \
                         segment): drop mappings that are no longer used",
                        crate::sys::GUARD_SLOTS
                    ),
                ))
            }
            Err(e) => return Err(self.err(e, Operation::Map)),
        };
        Ok(Mapping {
            region,
            skip,
            len,
            name: self.name.clone(),
        })
    }

    /// The descriptor number (posix_ipc's `fd`).
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// The descriptor number (posix_ipc's `fileno()`, for selectors).
    pub fn fileno(&self) -> RawFd {
        self.fd()
    }

    /// The name, with its leading slash.
    pub fn name(&self) -> &str {
        self.name.as_str()
    }

    /// The mode given when opening (posix_ipc's `mode`); [`stat`](Self::stat) has the real one.
    pub fn mode(&self) -> u32 {
        self.mode
    }

    /// Whether the handle is read-only.
    pub fn read_only(&self) -> bool {
        self.read_only
    }

    /// Whether this handle created the segment.
    pub fn created(&self) -> bool {
        self.created
    }

    /// Removes the name (`shm_unlink`); mappings and open handles keep working.
    #[doc(alias = "shm_unlink")]
    pub fn unlink(&self) -> Result<()> {
        unlink_name(&self.name)
    }

    /// A second handle on the same segment (`fcntl(F_DUPFD_CLOEXEC)`): its own descriptor, the
    /// same name and access; it did not create the segment.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::LimitExceeded`] if the process has no descriptor left.
    pub fn try_clone(&self) -> Result<SharedMemory> {
        let fd = self
            .fd
            .try_clone()
            .map_err(|e| self.err(e.raw_os_error().unwrap_or(libc::EMFILE), Operation::Open))?;
        Ok(SharedMemory {
            fd,
            name: self.name.clone(),
            mode: self.mode,
            read_only: self.read_only,
            created: false,
        })
    }

    /// Closes the descriptor (posix_ipc's `close_fd()`), keeping what is needed to unlink.
    /// Mappings stay valid. Dropping the handle also closes it.
    pub fn close_fd(self) -> Result<ClosedSharedMemory> {
        let id = sys::fstat_id(self.fd.as_fd()).ok();
        let r = sys::close(self.fd);
        let closed = ClosedSharedMemory {
            name: self.name,
            created: self.created,
            id,
        };
        match r {
            Ok(()) => Ok(closed),
            Err(e) => Err(error::os(e, Operation::Close, closed.name.object(KIND))),
        }
    }
}

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

/// What `fstat` says about a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SegmentStat {
    /// Size in bytes.
    pub size: u64,
    /// Permission bits (after the umask).
    pub mode: u32,
    /// Owner's user id.
    pub uid: u32,
    /// Whether the name still refers to this segment (false after `shm_unlink`).
    pub linked: bool,
}

impl SegmentStat {
    /// Whether this process's effective user owns the segment and nobody else may read or
    /// write it (no group or other bits): what `verify_private` checks at open.
    pub fn is_private(&self) -> bool {
        self.uid == sys::effective_uid() && self.mode & 0o077 == 0
    }
}

/// A segment whose descriptor was closed by [`SharedMemory::close_fd`]: it can still be
/// unlinked by name.
///
/// An owner of it ([`Owned::new`](crate::Owned::new)) removes the name when dropped, as for an
/// open segment: `Owned::new(owned_shm.into_inner().close_fd()?)`.
#[derive(Debug, Clone)]
pub struct ClosedSharedMemory {
    name: Name,
    created: bool,
    /// Device and inode of the segment, read before the descriptor was closed.
    id: Option<(u64, u64)>,
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

fn unlink_name(name: &Name) -> Result<()> {
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

impl AsFd for SharedMemory {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for SharedMemory {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Gives up the descriptor without closing it: the caller now owns it. This is how a wrapper
/// that lets its users close the descriptor themselves (posix_ipc programs call
/// `os.close(shm.fd)`) keeps a handle from closing a number that may already belong to another
/// file.
impl IntoRawFd for SharedMemory {
    fn into_raw_fd(self) -> RawFd {
        self.fd.into_raw_fd()
    }
}

impl fmt::Debug for SharedMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "posix_ipc.SharedMemory({:?}, mode={:04o})",
            self.name.as_str(),
            self.mode
        )
    }
}

impl fmt::Display for SharedMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name.as_str())
    }
}

/// A mapping of (part of) a segment, unmapped on drop. It does not borrow the
/// [`SharedMemory`]: it stays valid after the handle is closed or the name unlinked.
///
/// Safe access copies bytes in and out. Another process may write the same bytes at the same
/// moment; a copy then sees some mix of old and new bytes (a "torn" read), never undefined
/// behaviour in this process. Synchronise with a [`Semaphore`](crate::Semaphore) or a
/// higher-level typed structure when that matters.
pub struct Mapping {
    region: MapRegion,
    skip: usize,
    len: usize,
    name: Name,
}

impl Mapping {
    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the mapping is empty (never true: empty mappings are refused).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the mapping is writable (the handle was not read-only).
    pub fn is_writable(&self) -> bool {
        self.region.writable()
    }

    fn check(&self, offset: usize, len: usize, write: bool) -> Result<usize> {
        let object = || self.name.object(KIND);
        if write && !self.region.writable() {
            return Err(Error::new(
                ErrorKind::PermissionDenied,
                Operation::Access,
                object(),
                "the mapping is read-only",
            ));
        }
        match offset.checked_add(len) {
            Some(end) if end <= self.len => Ok(self.skip + offset),
            _ => Err(Error::new(
                ErrorKind::InvalidArgument,
                Operation::Access,
                object(),
                format!(
                    "{len} bytes at offset {offset} reach past the end of the {}-byte mapping",
                    self.len
                ),
            )),
        }
    }

    /// Copies `buf.len()` bytes starting at `offset` out of the mapping.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] if the range reaches past the end;
    /// [`ErrorKind::Mismatch`] if another process truncated the segment below the mapped range
    /// (see [`is_truncated`](Self::is_truncated)).
    pub fn read_at(&self, offset: usize, buf: &mut [u8]) -> Result<()> {
        let at = self.check(offset, buf.len(), false)?;
        self.region.read(at, buf);
        self.check_truncation()
    }

    /// Copies `len` bytes starting at `offset` into a new vector.
    pub fn read_vec(&self, offset: usize, len: usize) -> Result<Vec<u8>> {
        let at = self.check(offset, len, false)?;
        let mut v = vec![0; len];
        self.region.read(at, &mut v);
        self.check_truncation()?;
        Ok(v)
    }

    /// Whether another process truncated the segment below this mapping while it was in use.
    ///
    /// Touching a mapped page past the end of a segment would kill the process with `SIGBUS`.
    /// posix-ipc catches that fault for its own mappings, puts a page of zeros in place of the
    /// missing one and marks the mapping, so the access completes; from then on every checked
    /// access ([`read_at`](Self::read_at), [`read_vec`](Self::read_vec),
    /// [`write_at`](Self::write_at), and the typed layers built on mappings) reports
    /// [`ErrorKind::Mismatch`]. The mark stays even if the segment grows again: map it anew.
    pub fn is_truncated(&self) -> bool {
        self.region.truncated()
    }

    fn check_truncation(&self) -> Result<()> {
        if self.region.truncated() {
            return Err(Error::new(
                ErrorKind::Mismatch,
                Operation::Access,
                self.name.object(KIND),
                format!(
                    "another process truncated the segment below this {}-byte mapping while it \
                     was in use; the bytes past its new end read as zeros and writes there are \
                     lost: map it again",
                    self.len
                ),
            ));
        }
        Ok(())
    }

    /// Loads the 4-byte word at `offset` with `Acquire` ordering: the "ready" flags of the typed
    /// layers, which their creators store with `Release` after writing everything else.
    pub(crate) fn load_u32_acquire(&self, offset: usize) -> Result<u32> {
        let at = self.check(offset, 4, false)?;
        let ptr = self.region.as_ptr().wrapping_add(at);
        if ptr as usize % std::mem::align_of::<AtomicU32>() != 0 {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                Operation::Access,
                self.name.object(KIND),
                format!("offset {offset} is not 4-aligned for an atomic load"),
            ));
        }
        // SAFETY: `check` proved `at..at + 4` lies inside the mapped region, which stays mapped
        // while `&self` lives; the address was just checked to be 4-aligned, and any initialised
        // 4 bytes are a valid u32. The only callers load the typed layers' ready words, which
        // their creators leave out of every plain header write (`ftruncate` zeroed them) and
        // store only atomically, so this load races with no non-atomic access in this process;
        // a page lost to truncation reads as zeros (the SIGBUS guard).
        let word = unsafe { &*ptr.cast::<AtomicU32>() }.load(Ordering::Acquire);
        self.check_truncation()?;
        Ok(word)
    }

    /// Copies the whole mapping into a new vector. Parts a peer truncated away read as zeros
    /// (check [`is_truncated`](Self::is_truncated), or use [`read_vec`](Self::read_vec)).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = vec![0; self.len];
        self.region.read(self.skip, &mut v);
        v
    }

    /// Copies `data` into the mapping at `offset`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::PermissionDenied`] on a read-only mapping; [`ErrorKind::InvalidArgument`] if
    /// the range reaches past the end.
    pub fn write_at(&self, offset: usize, data: &[u8]) -> Result<()> {
        let at = self.check(offset, data.len(), true)?;
        self.region.write(at, data);
        self.check_truncation()
    }

    /// Writes the mapping back to the segment now (`msync(MS_SYNC)`). Not needed for other
    /// processes to see writes (they share the pages); useful before unmapping on some systems.
    pub fn flush(&self) -> Result<()> {
        self.region
            .flush()
            .map_err(|e| error::os(e, Operation::Access, self.name.object(KIND)))
    }

    /// Address of the first byte. Dereferencing it is up to the caller (see
    /// [`as_slice`](Self::as_slice) for the contract).
    pub fn as_ptr(&self) -> *const u8 {
        self.region.as_ptr().wrapping_add(self.skip)
    }

    /// Mutable address of the first byte (writing through it on a read-only mapping faults).
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        self.region.as_ptr().wrapping_add(self.skip)
    }

    /// The mapping as a byte slice.
    ///
    /// # Safety
    ///
    /// While the returned slice lives, no process (this one through `write_at` or a raw
    /// pointer, or any other that maps the segment) may write to the mapped bytes, and no
    /// process may shrink the segment below the mapping (that raises `SIGBUS`). Rust assumes the
    /// bytes behind a `&[u8]` do not change.
    pub unsafe fn as_slice(&self) -> &[u8] {
        // SAFETY: the region is mapped, readable and `skip + len` bytes long for the lifetime of
        // `&self`; the caller guarantees no concurrent writes and no truncation.
        unsafe { std::slice::from_raw_parts(self.as_ptr(), self.len) }
    }

    /// The mapping as a mutable byte slice.
    ///
    /// # Safety
    ///
    /// As for [`as_slice`](Self::as_slice), and additionally no other process may read or write
    /// the bytes while the slice lives (Rust assumes a `&mut [u8]` is exclusive), and the
    /// mapping must be writable ([`is_writable`](Self::is_writable)): writing to a read-only
    /// mapping raises `SIGSEGV`.
    pub unsafe fn as_mut_slice(&mut self) -> &mut [u8] {
        let len = self.len;
        let ptr = self.as_mut_ptr();
        // SAFETY: the region is mapped for `len` bytes from `ptr` while `&mut self` lives;
        // `&mut self` excludes other views from this process; the caller guarantees exclusivity
        // across processes and writability.
        unsafe { std::slice::from_raw_parts_mut(ptr, len) }
    }
}

impl fmt::Debug for Mapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mapping")
            .field("name", &self.name)
            .field("len", &self.len)
            .field("writable", &self.region.writable())
            .finish()
    }
}
