//! [`Mapping`]: a mapping of a segment, with checked copies in and out and the atomic views the
//! typed layer builds on.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::{self, Error, ErrorKind, Operation, Result};
use crate::name::Name;
use crate::sys::MapRegion;

use super::*;

/// A mapping of (part of) a segment, unmapped on drop. It does not borrow the
/// [`SharedMemory`]: it stays valid after the handle is closed or the name unlinked.
///
/// Safe access copies bytes in and out. Another process may write the same bytes at the same
/// moment; a copy then sees some mix of old and new bytes (a "torn" read), never undefined
/// behaviour in this process. Synchronise with a [`Semaphore`](crate::Semaphore) or a
/// higher-level typed structure when that matters.
pub struct Mapping {
    pub(super) region: MapRegion,
    pub(super) skip: usize,
    pub(super) len: usize,
    pub(super) name: Name,
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
