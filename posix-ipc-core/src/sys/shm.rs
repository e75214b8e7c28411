//! Shared-memory segments and their mappings ([`MapRegion`]).

use std::ffi::{c_int, c_void, CStr};
use std::os::fd::{BorrowedFd, OwnedFd};
use std::ptr::NonNull;

use super::*;
use std::sync::atomic::Ordering as AtomicOrdering;

/// `shm_open(name, oflag, mode)`; the descriptor is close-on-exec.
pub(crate) fn shm_open(name: &CStr, oflag: c_int, mode: u32) -> SysResult<OwnedFd> {
    let flags = nix::fcntl::OFlag::from_bits_retain(oflag);
    let mode = nix::sys::stat::Mode::from_bits_retain(mode as libc::mode_t);
    nix::sys::mman::shm_open(name, flags, mode).map_err(nix_err)
}

/// `shm_unlink(name)`.
pub(crate) fn shm_unlink(name: &CStr) -> SysResult<()> {
    nix::sys::mman::shm_unlink(name).map_err(nix_err)
}

/// `ftruncate(fd, len)`.
pub(crate) fn ftruncate(fd: BorrowedFd<'_>, len: u64) -> SysResult<()> {
    let len = libc::off_t::try_from(len).map_err(|_| libc::EFBIG)?;
    nix::unistd::ftruncate(fd, len).map_err(nix_err)
}

/// `posix_fallocate(fd, offset, len)`: reserve the pages now, so a full `/dev/shm` is `ENOSPC`
/// here rather than `SIGBUS` on first touch.
pub(crate) fn fallocate(fd: BorrowedFd<'_>, offset: u64, len: u64) -> SysResult<()> {
    let offset = libc::off_t::try_from(offset).map_err(|_| libc::EFBIG)?;
    let len = libc::off_t::try_from(len).map_err(|_| libc::EFBIG)?;
    if len == 0 {
        return Ok(());
    }
    nix::fcntl::posix_fallocate(fd, offset, len).map_err(nix_err)
}

/// `fstat(fd)`: (size, mode bits, owner uid, link count).
pub(crate) fn fstat(fd: BorrowedFd<'_>) -> SysResult<(u64, u32, u32, u64, u64)> {
    let st = nix::sys::stat::fstat(fd).map_err(nix_err)?;
    Ok((
        st.st_size.max(0) as u64,
        st.st_mode & 0o7777,
        st.st_uid,
        st.st_nlink,
        (st.st_blocks.max(0) as u64).saturating_mul(512),
    ))
}

/// Bytes still free for unprivileged users on the file system of `fd` (`fstatvfs`:
/// available blocks × fragment size), `None` if it cannot be asked.
pub(crate) fn free_bytes(fd: BorrowedFd<'_>) -> Option<u64> {
    let st = nix::sys::statvfs::fstatvfs(fd).ok()?;
    Some((st.blocks_available() as u64).saturating_mul(st.fragment_size() as u64))
}

/// Device and inode of an open descriptor (`fstat`): what identifies the object behind it.
pub(crate) fn fstat_id(fd: BorrowedFd<'_>) -> SysResult<(u64, u64)> {
    let st = nix::sys::stat::fstat(fd).map_err(nix_err)?;
    Ok((st.st_dev, st.st_ino))
}

/// Device and inode of a path (`stat`, following links).
pub(crate) fn stat_id(path: &std::path::Path) -> SysResult<(u64, u64)> {
    let st = nix::sys::stat::stat(path).map_err(nix_err)?;
    Ok((st.st_dev, st.st_ino))
}

/// `mount("none", dir, "mqueue", 0, NULL)`.
pub(crate) fn mount_mqueue(dir: &str) -> SysResult<()> {
    let dir = std::ffi::CString::new(dir).map_err(|_| libc::EINVAL)?;
    // SAFETY: every pointer is a valid NUL-terminated string or NULL for the data argument,
    // which the mqueue filesystem does not need.
    check(unsafe {
        libc::mount(
            c"none".as_ptr(),
            dir.as_ptr(),
            c"mqueue".as_ptr(),
            0,
            std::ptr::null(),
        )
    })
}

/// The effective user id of this process.
pub(crate) fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions, cannot fail and touches no memory of ours.
    unsafe { libc::geteuid() }
}

/// A `MAP_SHARED` mapping of a descriptor, unmapped on drop.
#[derive(Debug)]
pub(crate) struct MapRegion {
    ptr: NonNull<u8>,
    len: usize,
    writable: bool,
    /// Its slot in the truncation guard.
    guard: usize,
}

/// "Errno" of a mapping refused because the truncation guard tracks [`GUARD_SLOTS`] already.
pub(crate) const GUARD_FULL: i32 = -1;

// SAFETY: the region is plain memory owned by this value until munmap; moving it to another
// thread moves that ownership. All accesses are by raw copies.
unsafe impl Send for MapRegion {}
// SAFETY: `&MapRegion` only allows copies in and out of the region (see `read`/`write`), which
// are as thread-safe as the same copies between processes, the case the region exists for.
unsafe impl Sync for MapRegion {}

impl MapRegion {
    /// `mmap(NULL, len, PROT_READ[|PROT_WRITE], MAP_SHARED, fd, offset)`.
    pub(crate) fn map(
        fd: BorrowedFd<'_>,
        offset: u64,
        len: usize,
        writable: bool,
    ) -> SysResult<MapRegion> {
        use nix::sys::mman::{MapFlags, ProtFlags};
        let nz = std::num::NonZeroUsize::new(len).ok_or(libc::EINVAL)?;
        let offset = libc::off_t::try_from(offset).map_err(|_| libc::EOVERFLOW)?;
        let prot = if writable {
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE
        } else {
            ProtFlags::PROT_READ
        };
        // SAFETY: a fresh mapping at an address the kernel picks (addr = None) cannot overlap
        // any Rust object; `fd` is a valid open descriptor for the duration of the call.
        let ptr = unsafe { nix::sys::mman::mmap(None, nz, prot, MapFlags::MAP_SHARED, fd, offset) }
            .map_err(nix_err)?;
        let Some(guard) = guard_register(ptr.as_ptr() as usize, len) else {
            // SAFETY: exactly the mapping just created, not yet shared with anything.
            let _ = unsafe { nix::sys::mman::munmap(ptr, len) };
            return Err(GUARD_FULL);
        };
        Ok(MapRegion {
            ptr: ptr.cast::<u8>(),
            len,
            writable,
            guard,
        })
    }

    /// Whether a page of the region was found past the end of its segment (a peer truncated
    /// it) and replaced by zeros: the data seen since is not the segment's.
    #[inline]
    pub(crate) fn truncated(&self) -> bool {
        GUARD[self.guard].truncated.load(AtomicOrdering::Acquire)
    }

    pub(crate) fn writable(&self) -> bool {
        self.writable
    }

    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Copies `buf.len()` bytes from `offset` into `buf`. The caller checked the range.
    pub(crate) fn read(&self, offset: usize, buf: &mut [u8]) {
        debug_assert!(offset
            .checked_add(buf.len())
            .is_some_and(|end| end <= self.len));
        // SAFETY:
        // - the source range [offset, offset+len) lies inside the mapping (checked by the only
        //   callers, `Mapping::read_at` and friends, and debug-asserted above);
        // - the mapping is readable (PROT_READ is always set) and stays mapped while `self`
        //   lives;
        // - `buf` is a distinct Rust allocation, so the ranges do not overlap.
        // Another process may write the same bytes concurrently; the copy then yields some mix
        // of old and new bytes, which is a valid `[u8]` (documented on `Mapping`).
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.ptr.as_ptr().add(offset),
                buf.as_mut_ptr(),
                buf.len(),
            )
        }
    }

    /// Copies `data` to `offset`. The caller checked the range and that the region is writable.
    pub(crate) fn write(&self, offset: usize, data: &[u8]) {
        debug_assert!(self.writable);
        debug_assert!(offset
            .checked_add(data.len())
            .is_some_and(|end| end <= self.len));
        // SAFETY:
        // - the destination range lies inside the mapping (checked by the callers, debug-asserted
        //   above), which was mapped PROT_WRITE (callers check `writable` first);
        // - no Rust reference into the mapping exists (safe code only copies in and out), so
        //   writing through the raw pointer aliases nothing;
        // - `data` is a distinct allocation: no overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(data.as_ptr(), self.ptr.as_ptr().add(offset), data.len())
        }
    }

    /// `msync(MS_SYNC)` over the whole region.
    pub(crate) fn flush(&self) -> SysResult<()> {
        // SAFETY: the range is exactly the live mapping created by `map`.
        unsafe {
            nix::sys::mman::msync(
                self.ptr.cast::<c_void>(),
                self.len,
                nix::sys::mman::MsFlags::MS_SYNC,
            )
        }
        .map_err(nix_err)
    }
}

impl Drop for MapRegion {
    fn drop(&mut self) {
        // Unregister first: nothing touches the region any more, and a later mapping at the
        // same address must not inherit the slot.
        guard_release(self.guard);
        // SAFETY: `ptr`/`len` describe exactly the mapping created in `map`, unmapped only here.
        // Safe code holds no references into it (all access is by copy), and `unsafe` views
        // handed out by `Mapping` borrow the `Mapping`, so they cannot outlive this drop.
        let _ = unsafe { nix::sys::mman::munmap(self.ptr.cast::<c_void>(), self.len) };
    }
}
