//! The only module that calls libc or nix.
//!
//! Every function here either is safe to call with any argument, or owns the resource it acts on
//! (`SemHandle`, `MqHandle`, `MapRegion`) so that the rest of the crate needs no `unsafe`. Errors
//! come back as the raw `errno`; the calling module turns them into an [`Error`](crate::Error)
//! that names the object and the operation.

use std::ffi::c_int;

/// The outcome of a system call: the value, or the `errno` it failed with.
pub(crate) type SysResult<T> = std::result::Result<T, i32>;

fn last_errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

mod guard;
mod mq;
mod mutex;
mod process;
mod sem;
mod shm;
mod signal;

pub(crate) use guard::*;
pub(crate) use mq::*;
pub(crate) use mutex::*;
pub(crate) use process::*;
pub(crate) use sem::*;
pub(crate) use shm::*;
pub(crate) use signal::*;

#[inline]
fn check(rc: c_int) -> SysResult<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(last_errno())
    }
}

fn nix_err(e: nix::errno::Errno) -> i32 {
    e as i32
}
