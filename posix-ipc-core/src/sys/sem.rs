//! Named semaphores: [`SemHandle`] (`sem_open` and friends).

use std::ffi::{c_int, CStr};
use std::ptr::NonNull;
use std::time::Duration;

use super::*;

extern "C" {
    // glibc >= 2.30; libc 0.2 does not declare it.
    fn sem_clockwait(
        sem: *mut libc::sem_t,
        clockid: libc::clockid_t,
        abstime: *const libc::timespec,
    ) -> c_int;
}

/// An open named semaphore (`sem_t *` from `sem_open`), closed on drop.
#[derive(Debug)]
pub(crate) struct SemHandle {
    ptr: NonNull<libc::sem_t>,
}

// SAFETY: a `sem_t` from sem_open is a process-shared object designed for concurrent use; every
// sem_* function is thread-safe, and the pointer stays valid until `sem_close`, which only
// `Drop`/`close` call, with exclusive access.
unsafe impl Send for SemHandle {}
// SAFETY: as above: all operations through `&SemHandle` are thread-safe sem_* calls.
unsafe impl Sync for SemHandle {}

impl SemHandle {
    /// `sem_open(name, oflag, mode, value)`.
    pub(crate) fn open(name: &CStr, oflag: c_int, mode: u32, value: u32) -> SysResult<SemHandle> {
        // SAFETY: `name` is a valid NUL-terminated string. The variadic arguments are the
        // mode_t and unsigned int sem_open reads when O_CREAT is set; passing them always is
        // harmless (they are ignored otherwise). Both are promoted to c_uint as C requires.
        let ptr = unsafe {
            libc::sem_open(
                name.as_ptr(),
                oflag,
                mode as libc::c_uint,
                value as libc::c_uint,
            )
        };
        if ptr == libc::SEM_FAILED {
            return Err(last_errno());
        }
        NonNull::new(ptr)
            .map(|ptr| SemHandle { ptr })
            .ok_or(libc::EINVAL)
    }

    /// `sem_wait`.
    #[inline]
    pub(crate) fn wait(&self) -> SysResult<()> {
        // SAFETY: `ptr` came from a successful sem_open and is not closed while `self` lives.
        check(unsafe { libc::sem_wait(self.ptr.as_ptr()) })
    }

    /// `sem_trywait`.
    #[inline]
    pub(crate) fn try_wait(&self) -> SysResult<()> {
        // SAFETY: as in `wait`.
        check(unsafe { libc::sem_trywait(self.ptr.as_ptr()) })
    }

    /// `sem_clockwait(CLOCK_MONOTONIC, at)`: wait until the monotonic clock reads `at`.
    #[inline]
    pub(crate) fn wait_until(&self, at: Duration) -> SysResult<()> {
        let ts = timespec_of(at);
        // SAFETY: as in `wait`; `ts` is a valid, normalised timespec (nanoseconds < 1e9).
        check(unsafe { sem_clockwait(self.ptr.as_ptr(), libc::CLOCK_MONOTONIC, &ts) })
    }

    /// `sem_post`.
    #[inline]
    pub(crate) fn post(&self) -> SysResult<()> {
        // SAFETY: as in `wait`.
        check(unsafe { libc::sem_post(self.ptr.as_ptr()) })
    }

    /// `sem_getvalue`.
    #[inline]
    pub(crate) fn value(&self) -> SysResult<i32> {
        let mut v: c_int = 0;
        // SAFETY: as in `wait`; `v` is a valid, writable int.
        check(unsafe { libc::sem_getvalue(self.ptr.as_ptr(), &mut v) })?;
        Ok(v)
    }

    /// `sem_close`, reporting its result.
    pub(crate) fn close(self) -> SysResult<()> {
        let ptr = self.ptr;
        std::mem::forget(self);
        // SAFETY: `ptr` came from sem_open; `self` was forgotten, so nothing uses or closes it
        // again.
        check(unsafe { libc::sem_close(ptr.as_ptr()) })
    }
}

impl Drop for SemHandle {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from sem_open and this is its only close.
        unsafe { libc::sem_close(self.ptr.as_ptr()) };
    }
}

/// `sem_unlink(name)`.
pub(crate) fn sem_unlink(name: &CStr) -> SysResult<()> {
    // SAFETY: `name` is a valid NUL-terminated string.
    check(unsafe { libc::sem_unlink(name.as_ptr()) })
}

/// Why [`sem_owner_mode`] could not vouch for a semaphore.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SemLookup {
    /// The name no longer refers to the semaphore this handle holds (removed, or replaced).
    Gone,
    /// `/proc/self/maps` could not be read (this errno), so the mapping cannot be matched.
    NoMaps(i32),
    /// `stat` of the semaphore's file failed with this errno (other than `ENOENT`).
    Stat(i32),
}

/// Owner and permission bits of the semaphore `handle` opened as `name`: `stat` of the file
/// glibc maps for it (`/dev/shm/sem.<name>`), accepted only if that file's device and inode are
/// the ones of the mapping that holds the semaphore (from `/proc/self/maps`). So a name removed
/// or swapped after `sem_open` is caught ([`SemLookup::Gone`]) instead of vouching for an
/// object we do not hold.
pub(crate) fn sem_owner_mode(handle: &SemHandle, name: &CStr) -> Result<(u32, u32), SemLookup> {
    let bare = name
        .to_bytes()
        .strip_prefix(b"/")
        .unwrap_or(name.to_bytes());
    let mut path = b"/dev/shm/sem.".to_vec();
    path.extend_from_slice(bare);
    let path = <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(&path);
    let st = match nix::sys::stat::stat(path) {
        Ok(st) => st,
        Err(nix::errno::Errno::ENOENT) => return Err(SemLookup::Gone),
        Err(e) => return Err(SemLookup::Stat(nix_err(e))),
    };
    let maps = std::fs::read_to_string("/proc/self/maps")
        .map_err(|e| SemLookup::NoMaps(e.raw_os_error().unwrap_or(libc::EIO)))?;
    let addr = handle.ptr.as_ptr() as usize;
    let mapped = maps.lines().find_map(|line| {
        let mut fields = line.split_ascii_whitespace();
        let (start, end) = fields.next()?.split_once('-')?;
        let (start, end) = (
            usize::from_str_radix(start, 16).ok()?,
            usize::from_str_radix(end, 16).ok()?,
        );
        if !(start..end).contains(&addr) {
            return None;
        }
        let (major, minor) = fields.nth(2)?.split_once(':')?;
        let inode = fields.next()?.parse::<u64>().ok()?;
        Some((
            u32::from_str_radix(major, 16).ok()?,
            u32::from_str_radix(minor, 16).ok()?,
            inode,
        ))
    });
    if mapped != Some((libc::major(st.st_dev), libc::minor(st.st_dev), st.st_ino)) {
        return Err(SemLookup::Gone);
    }
    Ok((st.st_uid, st.st_mode & 0o7777))
}
