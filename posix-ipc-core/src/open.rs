//! The open/create protocol shared by the three kinds of object.
//!
//! `O_CREAT` alone cannot tell the caller whether it created the object or adopted an existing
//! one, and this crate needs to know (a failed resize may only unlink a segment this handle
//! created; queue attributes only apply to a new queue). So a non-exclusive create is done as
//! glibc does for `sem_open`: try `O_CREAT|O_EXCL`; on `EEXIST` open without `O_CREAT`; on
//! `ENOENT` (the object vanished in between) start again, a bounded number of times.

use crate::error::Operation;
use crate::name::Name;
use crate::sys::SysResult;

/// How an object is to be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Disposition {
    /// Open an existing object only.
    Open,
    /// Open it, or create it if missing.
    OpenOrCreate,
    /// Create it; fail if it exists.
    CreateNew,
}

impl Disposition {
    /// The builders' `create(bool)`: `true` turns "open" into "open or create" (and leaves an
    /// exclusive create alone); `false` means "open only".
    pub(crate) fn with_create(self, create: bool) -> Disposition {
        match (create, self) {
            (false, _) => Disposition::Open,
            (true, Disposition::Open) => Disposition::OpenOrCreate,
            (true, other) => other,
        }
    }

    /// The builders' `create_new(bool)`.
    pub(crate) fn with_create_new(create_new: bool) -> Disposition {
        if create_new {
            Disposition::CreateNew
        } else {
            Disposition::Open
        }
    }

    /// From posix_ipc-style flags. `Err` carries the message for an invalid combination.
    pub(crate) fn from_flags(flags: i32) -> Result<Disposition, &'static str> {
        let creat = flags & libc::O_CREAT != 0;
        let excl = flags & libc::O_EXCL != 0;
        match (creat, excl) {
            (false, true) => Err("O_EXCL must be combined with O_CREAT"),
            (false, false) => Ok(Disposition::Open),
            (true, false) => Ok(Disposition::OpenOrCreate),
            (true, true) => Ok(Disposition::CreateNew),
        }
    }
}

const RACE_RETRIES: usize = 64;
const RANDOM_NAME_RETRIES: usize = 128;

/// A failed open: the errno and whether the failing step was a create or an open.
pub(crate) type OpenError = (i32, Operation);

/// Runs `attempt(extra_flags)` per `disposition`. Returns the handle and whether it was created.
pub(crate) fn open_object<T>(
    disposition: Disposition,
    mut attempt: impl FnMut(i32) -> SysResult<T>,
) -> Result<(T, bool), OpenError> {
    let crex = libc::O_CREAT | libc::O_EXCL;
    match disposition {
        Disposition::Open => attempt(0)
            .map(|t| (t, false))
            .map_err(|e| (e, Operation::Open)),
        Disposition::CreateNew => attempt(crex)
            .map(|t| (t, true))
            .map_err(|e| (e, Operation::Create)),
        Disposition::OpenOrCreate => {
            for _ in 0..RACE_RETRIES {
                match attempt(crex) {
                    Ok(t) => return Ok((t, true)),
                    Err(libc::EEXIST) => {}
                    Err(e) => return Err((e, Operation::Create)),
                }
                match attempt(0) {
                    Ok(t) => return Ok((t, false)),
                    Err(libc::ENOENT) => {}
                    Err(e) => return Err((e, Operation::Open)),
                }
            }
            // Another process keeps creating and removing the name faster than we can open it.
            Err((libc::EAGAIN, Operation::Create))
        }
    }
}

/// Creates an object under a fresh random name (posix_ipc's `name=None`), retrying on `EEXIST`.
pub(crate) fn create_random<T>(
    mut attempt: impl FnMut(&Name, i32) -> SysResult<T>,
) -> Result<(T, Name), OpenError> {
    let crex = libc::O_CREAT | libc::O_EXCL;
    let mut last = libc::EEXIST;
    for _ in 0..RANDOM_NAME_RETRIES {
        let name = Name::random();
        match attempt(&name, crex) {
            Ok(t) => return Ok((t, name)),
            Err(libc::EEXIST) => last = libc::EEXIST,
            Err(e) => return Err((e, Operation::Create)),
        }
    }
    Err((last, Operation::Create))
}
