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

use crate::error::{self, Error, ErrorKind, Object, ObjectKind, Operation, Result};
use crate::name::Name;
use crate::open::Disposition;
use crate::sys::{self, MapRegion};

mod mapping;
mod options;
mod remove;

pub use mapping::Mapping;
pub use options::SharedMemoryOptions;
use remove::unlink_name;
pub(crate) use remove::REMOVER;
pub use remove::{unlink_shared_memory, ClosedSharedMemory};

const KIND: ObjectKind = ObjectKind::SharedMemory;

/// An open POSIX shared-memory segment: a descriptor, closed on drop.
pub struct SharedMemory {
    fd: OwnedFd,
    name: Name,
    mode: u32,
    read_only: bool,
    created: bool,
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
        Self::new_reserving(name, flags, mode, size, read_only, true)
    }

    /// [`new`](Self::new), choosing whether growth is reserved (see
    /// [`SharedMemoryOptions::reserve`]): `false` is exactly posix_ipc, which creates a segment
    /// of any size `ftruncate` accepts and finds its pages as they are written.
    pub fn new_reserving(
        name: Option<&str>,
        flags: i32,
        mode: u32,
        size: u64,
        read_only: bool,
        reserve: bool,
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
            .reserve(reserve)
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

    /// As [`open`](Self::open), waiting up to `timeout` for the segment to exist and be
    /// initialised (its creator may start later): see [`open_wait`](crate::open_wait), which
    /// this is, for how it waits and stops (Ctrl-C, SIGTERM with
    /// [`signals`](crate::signals) on; a [`CancelToken`](crate::CancelToken) through
    /// `posix_ipc::open_wait` itself).
    pub fn open_wait(name: &str, timeout: impl Into<crate::Timeout>) -> Result<SharedMemory> {
        crate::cancel::open_wait(timeout, None, || SharedMemory::open(name))
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
            .map(|(size, mode, uid, nlink, allocated)| SegmentStat {
                size,
                mode,
                uid,
                linked: nlink > 0,
                allocated,
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
        self.resize_with(size, true)
    }

    /// [`resize`](Self::resize), reserving growth or not (see [`SharedMemoryOptions::reserve`]).
    pub(crate) fn resize_with(&self, size: u64, reserve: bool) -> Result<()> {
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
        if size > old && reserve {
            let mut r = sys::fallocate(self.fd.as_fd(), old, size - old);
            while r == Err(libc::EINTR) {
                r = sys::fallocate(self.fd.as_fd(), old, size - old);
            }
            if let Err(e) = r {
                // Put the size back so that nobody maps pages that do not exist.
                let _ = sys::ftruncate(self.fd.as_fd(), old);
                let detail = if e == libc::ENOSPC {
                    let left = sys::free_bytes(self.fd.as_fd())
                        .map(|b| format!(" ({b} bytes are left)"))
                        .unwrap_or_default();
                    format!(
                        "/dev/shm cannot hold {size} bytes{left} (posix_fallocate: no space \
                         left); free space in /dev/shm (`posix-ipc clean --stale` removes \
                         leftovers) or enlarge it (`mount -o remount,size=N /dev/shm`)"
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

    /// Whether this handle created the segment (or took it over: see the typed kinds'
    /// `create_or_take_over`).
    pub fn created(&self) -> bool {
        self.created
    }

    /// Makes this handle the segment's creator: a typed kind that took a stale segment over
    /// owns it from now on (an [`Owned`](crate::Owned) around it removes it).
    pub(crate) fn take_over(&mut self) {
        self.created = true;
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
    /// Bytes of memory `/dev/shm` holds for it (`st_blocks × 512`): pages reserved at creation
    /// or written since. Shared-memory pages are RAM (or swap), whoever maps them.
    pub allocated: u64,
}

impl SegmentStat {
    /// Whether this process's effective user owns the segment and nobody else may read or
    /// write it (no group or other bits): what `verify_private` checks at open.
    pub fn is_private(&self) -> bool {
        self.uid == sys::effective_uid() && self.mode & 0o077 == 0
    }
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
